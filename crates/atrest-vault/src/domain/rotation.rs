//! On-demand rotation and rotation policies.

use atrest_identity::Principal;
use atrest_store::vault::{KeyRow, VersionRow};

use super::access::Audited;
use super::keys::bundle;
use super::Vaults;
use crate::crypto;
use crate::model::{KeyBundle, KeyType, NewKey, Operation, RotationPolicy, Vault};
use crate::Error;

impl Audited for RotationPolicy {}

impl Vaults {
    /// Creates a new version now, like the existing one (`POST /keys/{name}/rotate`).
    pub async fn rotate_key(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
    ) -> Result<KeyBundle, Error> {
        let access = self
            .begin(caller, vault, Operation::Rotate, Some(name))
            .await?;
        let result = async {
            let (key, current) = self.resolve(None, &access.vault, name, None).await?;
            self.rotate_now(&access.vault, &key, &current).await
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Reads a key's rotation policy (the default policy if none was set).
    pub async fn get_rotation_policy(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
    ) -> Result<RotationPolicy, Error> {
        let access = self
            .begin(caller, vault, Operation::GetRotationPolicy, Some(name))
            .await?;
        let result = async {
            let key = self.live_key(None, &access.vault, name).await?;
            policy_of(&key)
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Replaces a key's rotation policy (after validating it).
    pub async fn set_rotation_policy(
        &self,
        caller: &Principal,
        vault: &str,
        name: &str,
        mut policy: RotationPolicy,
    ) -> Result<RotationPolicy, Error> {
        let access = self
            .begin(caller, vault, Operation::SetRotationPolicy, Some(name))
            .await?;
        let result = async {
            policy.validate()?;
            let now = self.now();
            let mut tx = self.write_tx().await?;
            let key = self.live_key(Some(&mut tx), &access.vault, name).await?;
            let created = key.policy_created.unwrap_or(now);
            self.store()
                .set_rotation_policy(
                    &mut tx,
                    &access.vault.id,
                    &key.name,
                    &policy.to_json(),
                    created,
                    now,
                )
                .await?;
            tx.commit().await?;
            policy.created = Some(created);
            policy.updated = Some(now);
            Ok(policy)
        }
        .await;
        self.end(&access, Some(name), None, result).await
    }

    /// Creates a new version like `current` (same type, size, operations and tags), with the
    /// policy's expiryTime applied.
    pub(super) async fn rotate_now(
        &self,
        vault: &Vault,
        key: &KeyRow,
        current: &VersionRow,
    ) -> Result<KeyBundle, Error> {
        let policy = policy_of(key)?;
        let template = bundle(vault, current)?;
        let bits = u32::try_from(template.key_size_bits()).unwrap_or(2048);
        let material = tokio::task::spawn_blocking(move || crypto::generate(bits))
            .await
            .map_err(|err| Error::Other(std::sync::Arc::new(err)))??;
        let exp = policy
            .expiry_time
            .as_ref()
            .map(|d| self.now() + d.seconds());
        let request = NewKey {
            kty: KeyType::parse(&current.kty).unwrap_or(KeyType::Rsa),
            key_size: Some(bits),
            public_exponent: None,
            key_ops: Some(template.key_ops.clone()),
            enabled: Some(true),
            nbf: None,
            exp,
            tags: template.tags.clone(),
        };
        self.store_new_version(vault, &key.name, &request, &material)
            .await
    }
}

/// The stored policy, or the default one.
pub(super) fn policy_of(key: &KeyRow) -> Result<RotationPolicy, Error> {
    match &key.rotation_policy {
        Some(json) => RotationPolicy::from_json(json, key.policy_created, key.policy_updated),
        None => Ok(RotationPolicy::default_policy()),
    }
}
