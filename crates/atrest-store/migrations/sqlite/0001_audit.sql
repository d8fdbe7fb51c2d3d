-- Hash-chained audit log: mac(n) = HMAC-SHA256(audit key, mac(n-1) || record(n)).
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    time         INTEGER NOT NULL,
    tenant_id    TEXT    NOT NULL,
    principal_id TEXT    NOT NULL,
    resource     TEXT    NOT NULL,
    key_name     TEXT,
    key_version  TEXT,
    operation    TEXT    NOT NULL,
    result       TEXT    NOT NULL,
    status       INTEGER NOT NULL,
    detail       TEXT,
    mac          TEXT    NOT NULL
);
CREATE INDEX audit_log_resource ON audit_log (resource, seq);

-- The newest record's seq and mac, updated in the same transaction: removing records from the
-- end of the chain is detected against it.
CREATE TABLE audit_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    mac TEXT    NOT NULL
);
