-- Vaults (Azure Key Vault–compatible). Names are global and case-insensitive, and stay taken
-- while a vault is soft-deleted (until it is purged).
CREATE TABLE vaults (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE COLLATE NOCASE,
    subscription_id      TEXT NOT NULL,
    resource_group       TEXT NOT NULL,
    location             TEXT NOT NULL,
    tenant_id            TEXT NOT NULL,
    sku                  TEXT NOT NULL,
    retention_days       INTEGER NOT NULL,
    purge_protection     INTEGER NOT NULL DEFAULT 0,
    access_policies      TEXT NOT NULL,
    tags                 TEXT NOT NULL,
    created              INTEGER NOT NULL,
    updated              INTEGER NOT NULL,
    deleted_at           INTEGER,
    scheduled_purge      INTEGER
);
CREATE INDEX vaults_group ON vaults (subscription_id, resource_group);

-- A key name in a vault, live or soft-deleted (deleted_at set), with its rotation policy.
CREATE TABLE vault_keys (
    vault_id         TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    name             TEXT NOT NULL COLLATE NOCASE,
    current_version  TEXT NOT NULL,
    created          INTEGER NOT NULL,
    deleted_at       INTEGER,
    scheduled_purge  INTEGER,
    rotation_policy  TEXT,
    policy_created   INTEGER,
    policy_updated   INTEGER,
    PRIMARY KEY (vault_id, name)
);

-- Key versions. The private key (PKCS#8) is sealed under the root key with
-- AAD = vault id | key name | version.
CREATE TABLE vault_key_versions (
    vault_id        TEXT NOT NULL,
    key_name        TEXT NOT NULL COLLATE NOCASE,
    version         TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    kty             TEXT NOT NULL,
    key_ops         TEXT NOT NULL,
    n               BLOB NOT NULL,
    e               BLOB NOT NULL,
    sealed_private  BLOB NOT NULL,
    enabled         INTEGER NOT NULL,
    nbf             INTEGER,
    exp             INTEGER,
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL,
    tags            TEXT NOT NULL,
    near_expiry_sent INTEGER NOT NULL DEFAULT 0,
    expired_sent    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (vault_id, key_name, version),
    FOREIGN KEY (vault_id, key_name) REFERENCES vault_keys (vault_id, name) ON DELETE CASCADE
);
CREATE INDEX vault_key_versions_seq ON vault_key_versions (vault_id, key_name, seq);
