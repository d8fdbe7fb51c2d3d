-- PostgreSQL twin of migrations/sqlite/0007_audit_head_trigger.sql: the chain head follows every
-- appended record inside the appending statement.
CREATE FUNCTION audit_head_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_head (id, seq, mac) VALUES (1, NEW.seq, NEW.mac)
    ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac
    WHERE excluded.seq > audit_head.seq;
    RETURN NULL;
END;
$$;
CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_head_follow();
