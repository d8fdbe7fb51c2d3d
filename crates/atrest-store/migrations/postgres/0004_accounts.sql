-- PostgreSQL twin of migrations/sqlite/0004_accounts.sql.
-- Platform key ring (MMK versions), each sealed under the root key (AAD = "atrest/mmk/{version}").
CREATE TABLE platform_keys (
    version BIGINT PRIMARY KEY,
    sealed  BYTEA    NOT NULL,
    created BIGINT NOT NULL
);

-- Service accounts. The account key (AK) is stored only wrapped: by an MMK version
-- (mmk_version set) or by the customer's key in a vault (cmk_wrapped_version set).
CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    name                TEXT COLLATE nocase NOT NULL UNIQUE,
    subscription_id     TEXT NOT NULL,
    resource_group      TEXT NOT NULL,
    tenant_id           TEXT NOT NULL,
    location            TEXT NOT NULL,
    kind                TEXT NOT NULL,
    sku                 TEXT NOT NULL,
    tags                TEXT NOT NULL DEFAULT '{}',
    identity_principal  TEXT,
    identity_client     TEXT,
    key_source          TEXT NOT NULL,
    key_vault_uri       TEXT,
    key_vault_name      TEXT,
    key_name            TEXT,
    key_version         TEXT,
    identity_client_req TEXT,
    wrapped_ak          BYTEA NOT NULL,
    mmk_version         BIGINT,
    cmk_wrapped_version TEXT,
    cmk_principal       TEXT,
    key_state           TEXT NOT NULL DEFAULT 'Active',
    key_state_reason    TEXT,
    key_state_since     BIGINT,
    key_warning         TEXT,
    on_key_loss         TEXT NOT NULL DEFAULT 'block',
    data_deleted_at     BIGINT,
    key1_hash           TEXT NOT NULL,
    key2_hash           TEXT NOT NULL,
    created             BIGINT NOT NULL,
    updated             BIGINT NOT NULL
);
CREATE INDEX accounts_group ON accounts (subscription_id, resource_group);
CREATE INDEX accounts_mmk ON accounts (mmk_version);
CREATE INDEX accounts_vault ON accounts (key_vault_name);
CREATE INDEX accounts_identity ON accounts (identity_principal);

-- Stored objects (datasets, models, endpoint logs). Names are customer content: stored
-- encrypted (name_sealed) with a keyed index (name_index) for lookups.
CREATE TABLE account_objects (
    account_id  TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    name_index  TEXT    NOT NULL,
    name_sealed BYTEA    NOT NULL,
    blob_key    TEXT    NOT NULL,
    size        BIGINT NOT NULL,
    stored_size BIGINT NOT NULL,
    sha256      TEXT    NOT NULL,
    meta        BYTEA,
    created     BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX account_objects_name ON account_objects (account_id, kind, name_index);

CREATE TABLE deployments (
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    model_id   TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    created    BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);

-- Content Safety blocklists: names under the platform key ring, items under the account key.
CREATE TABLE blocklists (
    account_id  TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name_index  TEXT    NOT NULL,
    name_sealed BYTEA    NOT NULL,
    mmk_version BIGINT NOT NULL,
    created     BIGINT NOT NULL,
    PRIMARY KEY (account_id, name_index)
);

CREATE TABLE blocklist_items (
    account_id  TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    blocklist   TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    text_sealed BYTEA    NOT NULL,
    created     BIGINT NOT NULL,
    PRIMARY KEY (account_id, blocklist, id)
);

CREATE TABLE speech_endpoints (
    account_id TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL,
    logging    BIGINT NOT NULL,
    created    BIGINT NOT NULL,
    PRIMARY KEY (account_id, name)
);
