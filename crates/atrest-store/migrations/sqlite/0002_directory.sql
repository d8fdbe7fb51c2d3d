CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created      INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    cmk_approved INTEGER NOT NULL DEFAULT 0,
    created      INTEGER NOT NULL
);

-- Service principals, managed identities, users and the operator.
CREATE TABLE principals (
    object_id      TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    client_id      TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    secret_hash    TEXT,
    enabled        INTEGER NOT NULL DEFAULT 1,
    owner_resource TEXT,
    created        INTEGER NOT NULL
);
CREATE INDEX principals_tenant ON principals (tenant_id);

-- Management-plane roles at subscription scope.
CREATE TABLE role_assignments (
    principal_id    TEXT NOT NULL REFERENCES principals (object_id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    PRIMARY KEY (principal_id, subscription_id)
);

-- Token signing keys (ES256), private half sealed under the root key.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    sealed_key BLOB NOT NULL,
    created    INTEGER NOT NULL
);
