//! Key backup and restore.
//!
//! A backup is `"ATRKB1" ‖ u16be(len) ‖ tenant id ‖ seal(root, "atrest/key-backup|" ‖ tenant,
//! payload)`, where the payload (JSON) holds every version with its PKCS#8 private key. The
//! tenant is in clear only so a cross-tenant restore can be refused with a clear message; it
//! is also bound into the seal, so editing it (or any other byte) makes the blob unopenable.
//! Backups open only on an installation with the same root key.

use atrest_identity::Principal;
use atrest_store::vault::{KeyRow, VersionRow};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::keys::bundle;
use super::Vaults;
use crate::events::VaultEventKind;
use crate::model::{KeyBundle, Operation};
use crate::Error;

const MAGIC: &[u8] = b"ATRKB1";

#[derive(Serialize, Deserialize)]
struct Payload {
    name: String,
    created: i64,
    current_version: String,
    rotation_policy: Option<String>,
    policy_created: Option<i64>,
    policy_updated: Option<i64>,
    versions: Vec<BackupVersion>,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct BackupVersion {
    version: String,
    seq: i64,
    kty: String,
    key_ops: String,
    n: String,
    e: String,
    pkcs8: String,
    enabled: bool,
    nbf: Option<i64>,
    exp: Option<i64>,
    created: i64,
    updated: i64,
    tags: String,
}

impl Vaults {
    /// Backs up a key with all its versions (`POST /keys/{name}/backup`).
    pub async fn backup_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
    ) -> Result<Vec<u8>, Error> {
        let access = self
            .begin(caller, vault, Operation::Backup, Some(name))
            .await?;
        let result = async {
            let vault = &access.vault;
            let key = self.live_key(None, vault, name).await?;
            let found = self
                .store()
                .versions_page(&vault.id, &key.name, 0, i64::MAX)
                .await?;
            let mut versions = Vec::with_capacity(found.len());
            for row in &found {
                let pkcs8 = self.open_private(row)?;
                versions.push(BackupVersion {
                    version: row.version.clone(),
                    seq: row.seq,
                    kty: row.kty.clone(),
                    key_ops: row.key_ops.clone(),
                    n: STANDARD.encode(&row.n),
                    e: STANDARD.encode(&row.e),
                    pkcs8: STANDARD.encode(&pkcs8[..]),
                    enabled: row.enabled,
                    nbf: row.nbf,
                    exp: row.exp,
                    created: row.created,
                    updated: row.updated,
                    tags: row.tags.clone(),
                });
            }
            let payload = Payload {
                name: key.name.clone(),
                created: key.created,
                current_version: key.current_version.clone(),
                rotation_policy: key.rotation_policy.clone(),
                policy_created: key.policy_created,
                policy_updated: key.policy_updated,
                versions,
            };
            let json = Zeroizing::new(serde_json::to_vec(&payload).map_err(Error::other)?);
            let tenant = vault.tenant_id.as_bytes();
            let sealed =
                atrest_crypto::seal::seal(&self.inner.root, &backup_aad(&vault.tenant_id), &json)?;
            let mut blob = Vec::with_capacity(MAGIC.len() + 2 + tenant.len() + sealed.len());
            blob.extend_from_slice(MAGIC);
            blob.extend_from_slice(
                &u16::try_from(tenant.len())
                    .unwrap_or(u16::MAX)
                    .to_be_bytes(),
            );
            blob.extend_from_slice(tenant);
            blob.extend_from_slice(&sealed);
            Ok(blob)
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Restores a backup into this vault (`POST /keys/restore`). The vault must be in the
    /// backup's tenant, and the key name must be free (409 otherwise).
    pub async fn restore_key(
        &self,
        caller: &Principal,
        vault: &str,
        blob: &[u8],
    ) -> Result<KeyBundle, Error> {
        let access = self.begin(caller, vault, Operation::Restore, None).await?;
        let mut restored_name = None;
        let result = async {
            let vault = &access.vault;
            let (tenant, sealed) = split_blob(blob)?;
            if !tenant.eq_ignore_ascii_case(&vault.tenant_id) {
                return Err(Error::bad(
                    "The backup was taken in another tenant; a key backup can only be restored into a vault of the same tenant",
                ));
            }
            let json = atrest_crypto::seal::open(&self.inner.root, &backup_aad(tenant), sealed)
                .map_err(|_| Error::Undecryptable("The backup blob is corrupt, was modified, or was not made by this installation"))?;
            let payload: Payload =
                serde_json::from_slice(&json).map_err(|_| Error::Undecryptable("The backup blob is corrupt"))?;
            restored_name = Some(payload.name.clone());
            let mut tx = self.write_tx().await?;
            if let Some(existing) = self.store().key(Some(&mut tx), &vault.id, &payload.name).await? {
                return Err(if existing.deleted_at.is_some() {
                    Error::KeyDeletedButRecoverable { name: existing.name }
                } else {
                    Error::KeyExists { name: existing.name }
                });
            }
            self.store().insert_key(&mut tx, &KeyRow {
                vault_id: vault.id.clone(),
                name: payload.name.clone(),
                current_version: payload.current_version.clone(),
                created: payload.created,
                deleted_at: None,
                scheduled_purge: None,
                rotation_policy: payload.rotation_policy.clone(),
                policy_created: payload.policy_created,
                policy_updated: payload.policy_updated,
            })
            .await?;
            let mut current = None;
            for v in &payload.versions {
                let corrupt = || Error::Undecryptable("The backup blob is corrupt");
                let pkcs8 = Zeroizing::new(STANDARD.decode(&v.pkcs8).map_err(|_| corrupt())?);
                let row = VersionRow {
                    vault_id: vault.id.clone(),
                    key_name: payload.name.clone(),
                    version: v.version.clone(),
                    seq: v.seq,
                    kty: v.kty.clone(),
                    key_ops: v.key_ops.clone(),
                    n: STANDARD.decode(&v.n).map_err(|_| corrupt())?,
                    e: STANDARD.decode(&v.e).map_err(|_| corrupt())?,
                    sealed_private: atrest_crypto::seal::seal(
                        &self.inner.root,
                        &Self::seal_aad(&vault.id, &payload.name, &v.version),
                        &pkcs8,
                    )?,
                    enabled: v.enabled,
                    nbf: v.nbf,
                    exp: v.exp,
                    created: v.created,
                    updated: v.updated,
                    tags: v.tags.clone(),
                    near_expiry_sent: false,
                    expired_sent: false,
                };
                self.store().insert_version(&mut tx, &row).await?;
                if row.version == payload.current_version {
                    current = Some(row);
                }
            }
            let current = current.ok_or(Error::Undecryptable("The backup blob is corrupt"))?;
            tx.commit().await?;
            self.emit(VaultEventKind::KeyNewVersionCreated, vault, Some(&payload.name), Some(&current.version));
            bundle(vault, &current)
        }
        .await;
        let name = restored_name.clone();
        self.end(&access, name.as_deref(), None, result).await
    }
}

fn backup_aad(tenant: &str) -> Vec<u8> {
    format!("atrest/key-backup|{}", tenant.to_ascii_lowercase()).into_bytes()
}

fn split_blob(blob: &[u8]) -> Result<(&str, &[u8]), Error> {
    let invalid = || Error::Undecryptable("The value is not a key backup made by this vault");
    let rest = blob.strip_prefix(MAGIC).ok_or_else(invalid)?;
    if rest.len() < 2 {
        return Err(invalid());
    }
    let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    let rest = &rest[2..];
    if rest.len() < len {
        return Err(invalid());
    }
    let tenant = std::str::from_utf8(&rest[..len]).map_err(|_| invalid())?;
    Ok((tenant, &rest[len..]))
}
