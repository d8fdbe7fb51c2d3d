//! SQL for account rows. No business rules here.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::error::Error;
use crate::model::{
    Account, CmkSettings, Encryption, KeyState, OnKeyLoss, KEY_SOURCE_CMK, KEY_SOURCE_MMK,
};

const COLUMNS: &str = "id, name, subscription_id, resource_group, tenant_id, location, kind, sku, \
    tags, identity_principal, identity_client, key_source, key_vault_uri, key_vault_name, key_name, \
    key_version, identity_client_req, mmk_version, cmk_wrapped_version, cmk_principal, key_state, \
    key_state_reason, key_state_since, key_warning, on_key_loss, data_deleted_at, created, updated, \
    user_owned_storage, infrastructure_encryption";

/// The wrapped account key and what wraps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wrapped {
    /// Wrapped AK bytes.
    pub bytes: Vec<u8>,
    /// MMK version, when MMK wraps it.
    pub mmk_version: Option<i64>,
    /// CMK key version, when the customer's key wraps it.
    pub cmk_version: Option<String>,
}

/// Loads an account by (case-insensitive) name.
pub(crate) async fn by_name(pool: &AnyPool, name: &str) -> Result<Option<Account>, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM accounts WHERE name = $1"))
        .bind(name)
        .fetch_optional(pool)
        .await?;
    row.map(|r| from_row(&r)).transpose()
}

/// Loads an account by id.
pub(crate) async fn by_id(pool: &AnyPool, id: &str) -> Result<Option<Account>, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    row.map(|r| from_row(&r)).transpose()
}

/// Accounts in a resource group.
pub(crate) async fn in_group(
    pool: &AnyPool,
    sub: &str,
    group: &str,
) -> Result<Vec<Account>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM accounts WHERE subscription_id = $1 AND resource_group = $2 COLLATE NOCASE ORDER BY name"
    ))
    .bind(sub)
    .bind(group)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Ids of accounts on customer-managed keys, optionally only those of one co-located vault or
/// one identity.
pub(crate) async fn cmk_ids(
    pool: &AnyPool,
    vault: Option<&str>,
    identity: Option<&str>,
) -> Result<Vec<String>, Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM accounts WHERE key_source = $1 \
         AND ($2 IS NULL OR key_vault_name = $2 COLLATE NOCASE) AND ($3 IS NULL OR identity_principal = $3)",
    )
    .bind(KEY_SOURCE_CMK)
    .bind(vault)
    .bind(identity)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The wrapped AK of an account.
pub(crate) async fn wrapped(pool: &AnyPool, id: &str) -> Result<Wrapped, Error> {
    let row = sqlx::query(
        "SELECT wrapped_ak, mmk_version, cmk_wrapped_version FROM accounts WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await?;
    Ok(Wrapped {
        bytes: row.try_get("wrapped_ak")?,
        mmk_version: row.try_get("mmk_version")?,
        cmk_version: row.try_get("cmk_wrapped_version")?,
    })
}

/// Inserts a new account.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    account: &Account,
    wrapped: &Wrapped,
    key_hashes: (&str, &str),
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO accounts (id, name, subscription_id, resource_group, tenant_id, location, kind, sku, \
         tags, key_source, wrapped_ak, mmk_version, key1_hash, key2_hash, on_key_loss, created, updated, \
         identity_principal, identity_client, user_owned_storage, infrastructure_encryption) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
    )
    .bind(&account.id)
    .bind(&account.name)
    .bind(&account.subscription_id)
    .bind(&account.resource_group)
    .bind(&account.tenant_id)
    .bind(&account.location)
    .bind(&account.kind)
    .bind(&account.sku)
    .bind(serde_json::to_string(&account.tags).unwrap_or_else(|_| "{}".into()))
    .bind(KEY_SOURCE_MMK)
    .bind(&wrapped.bytes)
    .bind(wrapped.mmk_version)
    .bind(key_hashes.0)
    .bind(key_hashes.1)
    .bind(account.on_key_loss.as_str())
    .bind(account.created)
    .bind(account.updated)
    .bind(account.identity.as_ref().map(|i| i.0.clone()))
    .bind(account.identity.as_ref().map(|i| i.1.clone()))
    .bind(&account.user_owned_storage)
    .bind(atrest_store::SqlBool::from(account.infrastructure_encryption))
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves every mutable field and, when given, the wrapped key — only if nobody changed the
/// row since `expected_updated` (else `false`).
pub(crate) async fn save(
    conn: &mut AnyConnection,
    account: &Account,
    expected_updated: i64,
    wrapped: Option<&Wrapped>,
) -> Result<bool, Error> {
    let (source, uri, name, version, client) = match &account.encryption {
        Encryption::Platform => (KEY_SOURCE_MMK, None, None, None, None),
        Encryption::Customer(c) => (
            KEY_SOURCE_CMK,
            Some(c.key_vault_uri.clone()),
            Some(c.key_name.clone()),
            c.key_version.clone(),
            c.identity_client_id.clone(),
        ),
    };
    let done = sqlx::query(
        "UPDATE accounts SET sku = $1, tags = $2, identity_principal = $3, identity_client = $4, \
         key_source = $5, key_vault_uri = $6, key_vault_name = $7, key_name = $8, key_version = $9, \
         identity_client_req = $10, key_state = $11, key_state_reason = $12, key_state_since = $13, \
         key_warning = $14, on_key_loss = $15, data_deleted_at = $16, updated = $17, cmk_principal = $18, \
         user_owned_storage = $19, \
         wrapped_ak = COALESCE($20, wrapped_ak), \
         mmk_version = CASE WHEN $21 THEN $22 ELSE mmk_version END, \
         cmk_wrapped_version = CASE WHEN $23 THEN $24 ELSE cmk_wrapped_version END \
         WHERE id = $25 AND updated = $26",
    )
    .bind(&account.sku)
    .bind(serde_json::to_string(&account.tags).unwrap_or_else(|_| "{}".into()))
    .bind(account.identity.as_ref().map(|i| i.0.clone()))
    .bind(account.identity.as_ref().map(|i| i.1.clone()))
    .bind(source)
    .bind(uri)
    .bind(&account.key_vault_name)
    .bind(name)
    .bind(version)
    .bind(client)
    .bind(account.key_state.as_str())
    .bind(&account.key_state_reason)
    .bind(account.key_state_since)
    .bind(&account.key_warning)
    .bind(account.on_key_loss.as_str())
    .bind(account.data_deleted_at)
    .bind(account.updated)
    .bind(&account.cmk_principal)
    .bind(&account.user_owned_storage)
    .bind(wrapped.map(|w| w.bytes.clone()))
    .bind(wrapped.is_some())
    .bind(wrapped.and_then(|w| w.mmk_version))
    .bind(wrapped.is_some())
    .bind(wrapped.and_then(|w| w.cmk_version.clone()))
    .bind(&account.id)
    .bind(expected_updated)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces both data-plane key hashes (`None` keeps one).
pub(crate) async fn set_key_hashes(
    pool: &AnyPool,
    id: &str,
    key1: Option<&str>,
    key2: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE accounts SET key1_hash = COALESCE($1, key1_hash), key2_hash = COALESCE($2, key2_hash) WHERE id = $3",
    )
    .bind(key1)
    .bind(key2)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// The data-plane key hashes.
pub(crate) async fn key_hashes(pool: &AnyPool, id: &str) -> Result<(String, String), Error> {
    Ok(
        sqlx::query_as("SELECT key1_hash, key2_hash FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await?,
    )
}

fn from_row(row: &AnyRow) -> Result<Account, Error> {
    let source: String = row.try_get("key_source")?;
    let encryption = if source == KEY_SOURCE_CMK {
        Encryption::Customer(CmkSettings {
            key_vault_uri: row
                .try_get::<Option<String>, _>("key_vault_uri")?
                .unwrap_or_default(),
            key_name: row
                .try_get::<Option<String>, _>("key_name")?
                .unwrap_or_default(),
            key_version: row.try_get("key_version")?,
            identity_client_id: row.try_get("identity_client_req")?,
        })
    } else {
        Encryption::Platform
    };
    let principal: Option<String> = row.try_get("identity_principal")?;
    let client: Option<String> = row.try_get("identity_client")?;
    let tags: String = row.try_get("tags")?;
    let on_key_loss: String = row.try_get("on_key_loss")?;
    let state: String = row.try_get("key_state")?;
    Ok(Account {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        subscription_id: row.try_get("subscription_id")?,
        resource_group: row.try_get("resource_group")?,
        tenant_id: row.try_get("tenant_id")?,
        location: row.try_get("location")?,
        kind: row.try_get("kind")?,
        sku: row.try_get("sku")?,
        tags: serde_json::from_str(&tags).unwrap_or_default(),
        identity: principal.zip(client),
        encryption,
        key_vault_name: row.try_get("key_vault_name")?,
        cmk_wrapped_version: row.try_get("cmk_wrapped_version")?,
        cmk_principal: row.try_get("cmk_principal")?,
        mmk_version: row.try_get("mmk_version")?,
        key_state: KeyState::parse(&state),
        key_state_reason: row.try_get("key_state_reason")?,
        key_state_since: row.try_get("key_state_since")?,
        key_warning: row.try_get("key_warning")?,
        on_key_loss: OnKeyLoss::parse(&on_key_loss).unwrap_or(OnKeyLoss::Block),
        data_deleted_at: row.try_get("data_deleted_at")?,
        user_owned_storage: row.try_get("user_owned_storage")?,
        infrastructure_encryption: row
            .try_get::<atrest_store::SqlBool, _>("infrastructure_encryption")?
            .into(),
        created: row.try_get("created")?,
        updated: row.try_get("updated")?,
    })
}
