//! Soft delete, recover and purge of keys.

use atrest_identity::Principal;
use atrest_store::vault::KeyRow;

use super::keys::bundle;
use super::Vaults;
use crate::clock::DAY;
use crate::events::VaultEventKind;
use crate::model::{DeletedKey, KeyBundle, Operation, Page, Vault};
use crate::Error;

impl Vaults {
    /// Soft-deletes a key with all its versions (`DELETE /keys/{name}`).
    pub async fn delete_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
    ) -> Result<DeletedKey, Error> {
        let access = self
            .begin(caller, vault, Operation::Delete, Some(name))
            .await?;
        let result = async {
            let vault = &access.vault;
            let now = self.now();
            let purge_at = now + vault.retention_days * DAY;
            let mut tx = self.write_tx().await?;
            let mut key = self.live_key(Some(&mut tx), vault, name).await?;
            self.store()
                .set_key_deleted(&mut tx, &vault.id, &key.name, Some(now), Some(purge_at))
                .await?;
            key.deleted_at = Some(now);
            key.scheduled_purge = Some(purge_at);
            let deleted = self.deleted_view(Some(&mut tx), vault, &key).await?;
            tx.commit().await?;
            self.emit(VaultEventKind::KeyDeleted, vault, Some(&key.name), None);
            Ok(deleted)
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Reads a deleted key (`GET /deletedkeys/{name}`).
    pub async fn get_deleted_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
    ) -> Result<DeletedKey, Error> {
        let access = self
            .begin(caller, vault, Operation::GetDeleted, Some(name))
            .await?;
        let result = async {
            let key = self.deleted_key(None, &access.vault, name).await?;
            self.deleted_view(None, &access.vault, &key).await
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Lists deleted keys.
    pub async fn list_deleted_keys(
        &self,
        caller: &Principal,
        vault: &str,
        max: Option<u32>,
        skip_token: Option<&str>,
    ) -> Result<Page<DeletedKey>, Error> {
        let access = self
            .begin(caller, vault, Operation::ListDeleted, None)
            .await?;
        let result = async {
            let (page, keys) = self
                .list_current(&access.vault, true, max, skip_token)
                .await?;
            let items = page
                .items
                .into_iter()
                .zip(keys.iter())
                .map(|(bundle, key)| DeletedKey {
                    bundle,
                    deleted_date: key.deleted_at.unwrap_or_default(),
                    scheduled_purge_date: key.scheduled_purge.unwrap_or_default(),
                })
                .collect();
            Ok(Page {
                items,
                next: page.next,
            })
        }
        .await;
        self.end(&access, None, None, result).await
    }

    /// Recovers a deleted key (`POST /deletedkeys/{name}/recover`).
    pub async fn recover_deleted_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
    ) -> Result<KeyBundle, Error> {
        let access = self
            .begin(caller, vault, Operation::Recover, Some(name))
            .await?;
        let result = async {
            let vault = &access.vault;
            let mut tx = self.write_tx().await?;
            let key = self.deleted_key(Some(&mut tx), vault, name).await?;
            self.store()
                .set_key_deleted(&mut tx, &vault.id, &key.name, None, None)
                .await?;
            let current = self
                .store()
                .version(Some(&mut tx), &vault.id, &key.name, &key.current_version)
                .await?
                .ok_or_else(|| Error::KeyNotFound {
                    name: name.to_owned(),
                    version: None,
                })?;
            tx.commit().await?;
            self.emit(VaultEventKind::KeyRecovered, vault, Some(&key.name), None);
            bundle(vault, &current)
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Purges a deleted key for good (`DELETE /deletedkeys/{name}`). Refused under purge
    /// protection: such keys are purged by [`Vaults::run_due_purges`] after the retention.
    pub async fn purge_deleted_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
    ) -> Result<(), Error> {
        let access = self
            .begin(caller, vault, Operation::Purge, Some(name))
            .await?;
        let result = async {
            let vault = &access.vault;
            let mut tx = self.write_tx().await?;
            let key = self.deleted_key(Some(&mut tx), vault, name).await?;
            if vault.purge_protection && key.scheduled_purge.is_some_and(|at| at > self.now()) {
                return Err(Error::PurgeProtected { name: key.name });
            }
            self.store()
                .purge_key(&mut tx, &vault.id, &key.name)
                .await?;
            tx.commit().await?;
            self.emit(VaultEventKind::KeyPurged, vault, Some(&key.name), None);
            Ok(())
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// A deleted key with its current version; read inside `tx` when given.
    pub(super) async fn deleted_view(
        &self,
        tx: Option<&mut atrest_store::WriteTx>,
        vault: &Vault,
        key: &KeyRow,
    ) -> Result<DeletedKey, Error> {
        let current = self
            .store()
            .version(tx, &vault.id, &key.name, &key.current_version)
            .await?
            .ok_or_else(|| Error::KeyNotFound {
                name: key.name.clone(),
                version: None,
            })?;
        Ok(DeletedKey {
            bundle: bundle(vault, &current)?,
            deleted_date: key.deleted_at.unwrap_or_default(),
            scheduled_purge_date: key.scheduled_purge.unwrap_or_default(),
        })
    }

    /// The deleted key `name`, or DeletedKeyNotFound; read inside `tx` when given.
    async fn deleted_key(
        &self,
        tx: Option<&mut atrest_store::WriteTx>,
        vault: &Vault,
        name: &str,
    ) -> Result<KeyRow, Error> {
        match self.store().key(tx, &vault.id, name).await? {
            Some(key) if key.deleted_at.is_some() => Ok(key),
            _ => Err(Error::DeletedKeyNotFound {
                name: name.to_owned(),
            }),
        }
    }
}
