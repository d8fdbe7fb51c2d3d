-- PostgreSQL twin of migrations/sqlite/0003_vault.sql. Names are global and case-insensitive
-- (collation `nocase`, see 0001), and stay taken while a vault is soft-deleted.
CREATE TABLE vaults (
    id                   TEXT PRIMARY KEY,
    name                 TEXT COLLATE nocase NOT NULL UNIQUE,
    subscription_id      TEXT NOT NULL,
    resource_group       TEXT NOT NULL,
    location             TEXT NOT NULL,
    tenant_id            TEXT NOT NULL,
    sku                  TEXT NOT NULL,
    retention_days       BIGINT NOT NULL,
    purge_protection     BIGINT NOT NULL DEFAULT 0,
    access_policies      TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    created              BIGINT NOT NULL,
    updated              BIGINT NOT NULL,
    deleted_at           BIGINT,
    scheduled_purge      BIGINT
);
CREATE INDEX vaults_group ON vaults (subscription_id, resource_group);

-- A key name in a vault, live or soft-deleted (deleted_at set), with its rotation policy.
CREATE TABLE vault_keys (
    vault_id         TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    name             TEXT COLLATE nocase NOT NULL,
    current_version  TEXT NOT NULL,
    created          BIGINT NOT NULL,
    deleted_at       BIGINT,
    scheduled_purge  BIGINT,
    rotation_policy  TEXT,
    policy_created   BIGINT,
    policy_updated   BIGINT,
    PRIMARY KEY (vault_id, name)
);

-- Key versions. The private key (PKCS#8) is sealed under the root key with
-- AAD = vault id | key name | version.
CREATE TABLE vault_key_versions (
    vault_id        TEXT NOT NULL,
    key_name        TEXT COLLATE nocase NOT NULL,
    version         TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    kty             TEXT NOT NULL,
    key_ops         TEXT NOT NULL,
    n               BYTEA NOT NULL,
    e               BYTEA NOT NULL,
    sealed_private  BYTEA NOT NULL,
    enabled         BIGINT NOT NULL,
    nbf             BIGINT,
    exp             BIGINT,
    created         BIGINT NOT NULL,
    updated         BIGINT NOT NULL,
    tags            TEXT NOT NULL,
    near_expiry_sent BIGINT NOT NULL DEFAULT 0,
    expired_sent    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (vault_id, key_name, version),
    FOREIGN KEY (vault_id, key_name) REFERENCES vault_keys (vault_id, name) ON DELETE CASCADE
);
CREATE INDEX vault_key_versions_seq ON vault_key_versions (vault_id, key_name, seq);
