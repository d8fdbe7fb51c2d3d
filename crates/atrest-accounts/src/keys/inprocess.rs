//! [`KeyProvider`] over the co-located vault service: the same facade methods, access-policy
//! checks and audit records as the vault's REST surface, without a network hop.

use async_trait::async_trait;
use atrest_crypto::SecretKey;
use atrest_identity::Principal;
use atrest_vault::{EncryptionAlgorithm, Vaults};

use super::{KeyInfo, KeyProvider, KeyRef, ProviderError, VaultInfo, VaultRef};

/// The co-located vault service as a key provider.
#[derive(Debug, Clone)]
pub struct InProcessProvider {
    vaults: Vaults,
}

impl InProcessProvider {
    /// Wraps the vault facade.
    pub fn new(vaults: Vaults) -> Self {
        Self { vaults }
    }

    /// The vault a host names, if it is one of ours.
    pub fn vault_for_host(&self, host: &str) -> Option<String> {
        self.vaults.hosts().resolve(host)
    }

    fn vault_name(vault: &VaultRef) -> Result<&str, ProviderError> {
        vault.name.as_deref().ok_or(ProviderError::VaultNotFound)
    }
}

#[async_trait]
impl KeyProvider for InProcessProvider {
    async fn vault_info(&self, vault: &VaultRef) -> Result<VaultInfo, ProviderError> {
        let name = Self::vault_name(vault)?;
        let found = self
            .vaults
            .live_vault(name)
            .await
            .map_err(classify)?
            .ok_or(ProviderError::VaultNotFound)?;
        Ok(VaultInfo {
            tenant_id: Some(found.tenant_id),
            location: Some(found.location),
            // atrest vaults always soft-delete.
            soft_delete: Some(true),
            purge_protection: Some(found.purge_protection),
        })
    }

    async fn get_key(&self, identity: &Principal, key: &KeyRef) -> Result<KeyInfo, ProviderError> {
        let name = Self::vault_name(&key.vault)?;
        let bundle = self
            .vaults
            .get_key(identity, name, &key.name, key.version.as_deref())
            .await
            .map_err(classify)?;
        Ok(KeyInfo {
            version: bundle.version.clone(),
            kty: bundle.kty.as_str().to_owned(),
            bits: bundle.key_size_bits(),
            enabled: bundle.attributes.enabled,
            exp: bundle.attributes.exp,
            key_ops: bundle
                .key_ops
                .iter()
                .map(|op| op.as_str().to_owned())
                .collect(),
            recovery_level: bundle.recovery.level.to_owned(),
        })
    }

    async fn wrap(
        &self,
        identity: &Principal,
        key: &KeyRef,
        ak: &SecretKey,
    ) -> Result<Vec<u8>, ProviderError> {
        let name = Self::vault_name(&key.vault)?;
        let out = self
            .vaults
            .wrap_key(
                identity,
                name,
                &key.name,
                key.version.as_deref(),
                EncryptionAlgorithm::RsaOaep256,
                ak.expose_secret(),
            )
            .await
            .map_err(classify)?;
        Ok(out.value.to_vec())
    }

    async fn unwrap(
        &self,
        identity: &Principal,
        key: &KeyRef,
        wrapped: &[u8],
    ) -> Result<SecretKey, ProviderError> {
        let name = Self::vault_name(&key.vault)?;
        let out = self
            .vaults
            .unwrap_key(
                identity,
                name,
                &key.name,
                key.version.as_deref(),
                EncryptionAlgorithm::RsaOaep256,
                wrapped,
            )
            .await
            .map_err(classify)?;
        SecretKey::try_from_slice(&out.value)
            .map_err(|_| ProviderError::Invalid("unwrapped key has the wrong length".into()))
    }
}

fn classify(err: atrest_vault::Error) -> ProviderError {
    use atrest_vault::Error as E;
    match err {
        E::AccessDenied { permission, .. } => ProviderError::Forbidden {
            permission: permission.map_or("any", |p| p.as_str()).to_owned(),
        },
        E::WrongTenant { .. } => ProviderError::Forbidden {
            permission: "tenant".into(),
        },
        E::VaultNotFound { .. } | E::ResourceNotFound { .. } => ProviderError::VaultNotFound,
        E::KeyNotFound { .. } | E::DeletedKeyNotFound { .. } => ProviderError::KeyNotFound,
        E::KeyDisabled { .. } => ProviderError::KeyDisabled,
        e @ E::OperationNotPermitted { .. } => ProviderError::OperationNotPermitted(e.to_string()),
        E::Database(_) | E::Store(_) | E::Other(_) => {
            ProviderError::Transient("the vault service failed".into())
        }
        other => ProviderError::Invalid(other.to_string()),
    }
}
