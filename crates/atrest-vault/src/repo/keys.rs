//! Key and key-version rows.

use sqlx::{AnyConnection, AnyPool};

use atrest_store::SqlBool;

use crate::Error;

/// A key name in a vault.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct KeyRow {
    pub(crate) vault_id: String,
    pub(crate) name: String,
    pub(crate) current_version: String,
    pub(crate) created: i64,
    pub(crate) deleted_at: Option<i64>,
    pub(crate) scheduled_purge: Option<i64>,
    pub(crate) rotation_policy: Option<String>,
    pub(crate) policy_created: Option<i64>,
    pub(crate) policy_updated: Option<i64>,
}

/// A key version; the private key is sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct VersionRow {
    pub(crate) vault_id: String,
    pub(crate) key_name: String,
    pub(crate) version: String,
    pub(crate) seq: i64,
    pub(crate) kty: String,
    pub(crate) key_ops: String,
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
    pub(crate) sealed_private: Vec<u8>,
    #[sqlx(try_from = "SqlBool")]
    pub(crate) enabled: bool,
    pub(crate) nbf: Option<i64>,
    pub(crate) exp: Option<i64>,
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) tags: String,
    #[sqlx(try_from = "SqlBool")]
    pub(crate) near_expiry_sent: bool,
    #[sqlx(try_from = "SqlBool")]
    pub(crate) expired_sent: bool,
}

pub(crate) async fn key(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
) -> Result<Option<KeyRow>, Error> {
    Ok(
        sqlx::query_as("SELECT * FROM vault_keys WHERE vault_id = $1 AND name = $2")
            .bind(vault_id)
            .bind(name)
            .fetch_optional(conn)
            .await?,
    )
}

pub(crate) async fn version(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
    version: &str,
) -> Result<Option<VersionRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT * FROM vault_key_versions WHERE vault_id = $1 AND key_name = $2 AND version = $3",
    )
    .bind(vault_id)
    .bind(name)
    .bind(version)
    .fetch_optional(conn)
    .await?)
}

/// A version of a live (not deleted) key in one query: `version`, or the key's current one
/// when `None`. `None` when either is missing (ask [`key`] and [`version`] which).
pub(crate) async fn live_version(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
    version: Option<&str>,
) -> Result<Option<VersionRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT v.* FROM vault_key_versions v JOIN vault_keys k \
         ON k.vault_id = v.vault_id AND k.name = v.key_name \
         WHERE v.vault_id = $1 AND v.key_name = $2 AND k.deleted_at IS NULL \
         AND v.version = COALESCE($3, k.current_version)",
    )
    .bind(vault_id)
    .bind(name)
    .bind(version)
    .fetch_optional(conn)
    .await?)
}

pub(crate) async fn insert_key(conn: &mut AnyConnection, key: &KeyRow) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO vault_keys (vault_id, name, current_version, created, deleted_at, scheduled_purge, \
         rotation_policy, policy_created, policy_updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&key.vault_id)
    .bind(&key.name)
    .bind(&key.current_version)
    .bind(key.created)
    .bind(key.deleted_at)
    .bind(key.scheduled_purge)
    .bind(&key.rotation_policy)
    .bind(key.policy_created)
    .bind(key.policy_updated)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn insert_version(conn: &mut AnyConnection, v: &VersionRow) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO vault_key_versions (vault_id, key_name, version, seq, kty, key_ops, n, e, \
         sealed_private, enabled, nbf, exp, created, updated, tags, near_expiry_sent, expired_sent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&v.vault_id)
    .bind(&v.key_name)
    .bind(&v.version)
    .bind(v.seq)
    .bind(&v.kty)
    .bind(&v.key_ops)
    .bind(&v.n)
    .bind(&v.e)
    .bind(&v.sealed_private)
    .bind(SqlBool::from(v.enabled))
    .bind(v.nbf)
    .bind(v.exp)
    .bind(v.created)
    .bind(v.updated)
    .bind(&v.tags)
    .bind(SqlBool::from(v.near_expiry_sent))
    .bind(SqlBool::from(v.expired_sent))
    .execute(conn)
    .await?;
    Ok(())
}

/// The next version sequence number of a key.
pub(crate) async fn next_seq(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
) -> Result<i64, Error> {
    let (max,): (Option<i64>,) = sqlx::query_as(
        "SELECT MAX(seq) FROM vault_key_versions WHERE vault_id = $1 AND key_name = $2",
    )
    .bind(vault_id)
    .bind(name)
    .fetch_one(conn)
    .await?;
    Ok(max.unwrap_or(0) + 1)
}

pub(crate) async fn set_current(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
    version: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE vault_keys SET current_version = $1 WHERE vault_id = $2 AND name = $3")
        .bind(version)
        .bind(vault_id)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes a version's mutable fields (attributes, ops, tags, notification flags).
pub(crate) async fn update_version(conn: &mut AnyConnection, v: &VersionRow) -> Result<(), Error> {
    sqlx::query(
        "UPDATE vault_key_versions SET key_ops = $1, enabled = $2, nbf = $3, exp = $4, updated = $5, tags = $6, \
         near_expiry_sent = $7, expired_sent = $8 WHERE vault_id = $9 AND key_name = $10 AND version = $11",
    )
    .bind(&v.key_ops)
    .bind(SqlBool::from(v.enabled))
    .bind(v.nbf)
    .bind(v.exp)
    .bind(v.updated)
    .bind(&v.tags)
    .bind(SqlBool::from(v.near_expiry_sent))
    .bind(SqlBool::from(v.expired_sent))
    .bind(&v.vault_id)
    .bind(&v.key_name)
    .bind(&v.version)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn set_deleted(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
    deleted_at: Option<i64>,
    scheduled_purge: Option<i64>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE vault_keys SET deleted_at = $1, scheduled_purge = $2 WHERE vault_id = $3 AND name = $4",
    )
    .bind(deleted_at)
    .bind(scheduled_purge)
    .bind(vault_id)
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn set_policy(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
    policy: &str,
    created: i64,
    updated: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE vault_keys SET rotation_policy = $1, policy_created = $2, policy_updated = $3 \
         WHERE vault_id = $4 AND name = $5",
    )
    .bind(policy)
    .bind(created)
    .bind(updated)
    .bind(vault_id)
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Destroys a key and all its versions.
pub(crate) async fn purge(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM vault_key_versions WHERE vault_id = $1 AND key_name = $2")
        .bind(vault_id)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM vault_keys WHERE vault_id = $1 AND name = $2")
        .bind(vault_id)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Keys of a vault in name order after `after`, live or deleted.
pub(crate) async fn list(
    pool: &AnyPool,
    vault_id: &str,
    deleted: bool,
    after: &str,
    limit: i64,
) -> Result<Vec<KeyRow>, Error> {
    let state = if deleted { "IS NOT NULL" } else { "IS NULL" };
    Ok(sqlx::query_as(&format!(
        "SELECT * FROM vault_keys WHERE vault_id = $1 AND deleted_at {state} AND name > $2 \
         ORDER BY name LIMIT $3"
    ))
    .bind(vault_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Versions of a key in creation order after sequence number `after`.
pub(crate) async fn versions(
    conn: &mut AnyConnection,
    vault_id: &str,
    name: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<VersionRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT * FROM vault_key_versions WHERE vault_id = $1 AND key_name = $2 AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(vault_id)
    .bind(name)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// Live keys (in live vaults) with a rotation policy or an expiry on their current version:
/// the scheduler's candidates, as (vault name, key, current version).
pub(crate) async fn scheduler_candidates(
    pool: &AnyPool,
) -> Result<Vec<(String, KeyRow, VersionRow)>, Error> {
    let keys: Vec<KeyRow> = sqlx::query_as(
        "SELECT k.* FROM vault_keys k JOIN vaults v ON v.id = k.vault_id \
         JOIN vault_key_versions kv ON kv.vault_id = k.vault_id AND kv.key_name = k.name \
           AND kv.version = k.current_version \
         WHERE k.deleted_at IS NULL AND v.deleted_at IS NULL \
           AND (k.rotation_policy IS NOT NULL OR kv.exp IS NOT NULL)",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(keys.len());
    let mut conn = pool.acquire().await?;
    for key in keys {
        let (vault_name,): (String,) = sqlx::query_as("SELECT name FROM vaults WHERE id = $1")
            .bind(&key.vault_id)
            .fetch_one(&mut *conn)
            .await?;
        if let Some(current) =
            version(&mut conn, &key.vault_id, &key.name, &key.current_version).await?
        {
            out.push((vault_name, key, current));
        }
    }
    Ok(out)
}

/// Deleted keys (in any vault) whose purge date has come.
pub(crate) async fn due_for_purge(pool: &AnyPool, now: i64) -> Result<Vec<KeyRow>, Error> {
    Ok(sqlx::query_as(
        "SELECT * FROM vault_keys WHERE deleted_at IS NOT NULL AND scheduled_purge <= $1",
    )
    .bind(now)
    .fetch_all(pool)
    .await?)
}
