-- PostgreSQL twin of migrations/sqlite/0001_audit.sql (same version, same meaning).
-- `nocase` is what SQLite's built-in NOCASE collation is there: names compare and stay unique
-- without regard to case, so the same SQL (`… COLLATE NOCASE`) means the same on both engines.
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

-- Hash-chained audit log: mac(n) = HMAC-SHA256(audit key, mac(n-1) || record(n)).
CREATE TABLE audit_log (
    seq          BIGINT  PRIMARY KEY,
    time         BIGINT  NOT NULL,
    tenant_id    TEXT    NOT NULL,
    principal_id TEXT    NOT NULL,
    resource     TEXT    NOT NULL,
    key_name     TEXT,
    key_version  TEXT,
    operation    TEXT    NOT NULL,
    result       TEXT    NOT NULL,
    status       BIGINT  NOT NULL,
    detail       TEXT,
    mac          TEXT    NOT NULL
);
CREATE INDEX audit_log_resource ON audit_log (resource, seq);

-- The newest record's seq and mac. The row exists from the start (genesis: seq 0), so that
-- appenders on any node serialise on it with SELECT … FOR UPDATE.
CREATE TABLE audit_head (
    id  BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    mac TEXT   NOT NULL
);
INSERT INTO audit_head (id, seq, mac)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
