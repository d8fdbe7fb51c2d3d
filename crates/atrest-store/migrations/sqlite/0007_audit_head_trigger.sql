-- The chain head follows every appended record inside the appending statement itself, so a
-- group commit is one multi-row INSERT (one round trip, atomic on its own) instead of a
-- transaction of several statements.
CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_log
BEGIN
    INSERT INTO audit_head (id, seq, mac) VALUES (1, NEW.seq, NEW.mac)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac
    WHERE excluded.seq > audit_head.seq;
END;
