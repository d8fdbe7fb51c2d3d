//! The key hierarchy's outside edge: [`KeyProvider`] (the customer's key in a vault, reached
//! in-process or over HTTPS), the platform key ring ([`ring::PlatformKeys`]) and the cache of
//! unwrapped account keys ([`cache::KeyCache`]).

pub mod cache;
pub mod inprocess;
pub mod locked;
pub mod remote;
pub mod ring;

use std::sync::Arc;

use async_trait::async_trait;
use atrest_crypto::SecretKey;
use atrest_identity::Principal;

use crate::config::RemoteVault;
use crate::error::CmkError;

/// Where a vault is and how the account reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultRef {
    /// `https://host[:port]/` as configured on the account.
    pub uri: String,
    /// `host[:port]`.
    pub host: String,
    /// The vault name, when the vault is co-located.
    pub name: Option<String>,
}

impl VaultRef {
    /// A short label for messages.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.uri.clone())
    }
}

/// A key in a vault; `version: None` means the newest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    /// The vault.
    pub vault: VaultRef,
    /// Key name.
    pub name: String,
    /// Version.
    pub version: Option<String>,
}

/// What the vault says about itself (fields it cannot report are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultInfo {
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Region.
    pub location: Option<String>,
    /// Soft delete (`None`: judge from the key's recoveryLevel).
    pub soft_delete: Option<bool>,
    /// Purge protection (`None`: judge from the key's recoveryLevel).
    pub purge_protection: Option<bool>,
}

/// Public facts about a key version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Version id.
    pub version: String,
    /// `RSA` or `RSA-HSM` (or something unusable).
    pub kty: String,
    /// Modulus bits.
    pub bits: usize,
    /// Enabled.
    pub enabled: bool,
    /// Expiry (unix seconds).
    pub exp: Option<i64>,
    /// Permitted operations.
    pub key_ops: Vec<String>,
    /// Key Vault's recoveryLevel.
    pub recovery_level: String,
}

/// Why a vault call failed, classified for revalidation: everything but `Transient` means the
/// key is not usable now; `Transient` never locks or deletes anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The identity lacks a permission (or the vault refused it).
    #[error("access denied ({permission})")]
    Forbidden {
        /// The permission named by the vault, or `unknown`.
        permission: String,
    },
    /// The vault does not exist or was deleted.
    #[error("vault not found")]
    VaultNotFound,
    /// The key (or version) does not exist or was deleted.
    #[error("key not found")]
    KeyNotFound,
    /// The key is disabled.
    #[error("key disabled")]
    KeyDisabled,
    /// The key's own `key_ops` no longer allow the operation (the customer changed them).
    #[error("{0}")]
    OperationNotPermitted(String),
    /// The vault answered with something unusable or unexpected. Never taken as revocation:
    /// only the causes above are, because revocation can end in deletion (`onKeyLoss`).
    #[error("vault error: {0}")]
    Invalid(String),
    /// Timeout, connection failure or 5xx: try again later.
    #[error("vault unreachable: {0}")]
    Transient(String),
}

/// Access to customer keys in a vault, on behalf of an account's managed identity.
///
/// Implementations: [`inprocess::InProcessProvider`] (the co-located vault's facade, same
/// authorization and audit as its REST surface) and [`remote::RemoteProvider`] (any Key
/// Vault–compatible service over HTTPS).
#[async_trait]
pub trait KeyProvider: Send + Sync + std::fmt::Debug {
    /// Vault properties for validation.
    async fn vault_info(&self, vault: &VaultRef) -> Result<VaultInfo, ProviderError>;
    /// Reads a key version's public attributes (needs `get`).
    async fn get_key(&self, identity: &Principal, key: &KeyRef) -> Result<KeyInfo, ProviderError>;
    /// wrapKey with RSA-OAEP-256 under a specific version (needs `wrapKey`).
    async fn wrap(
        &self,
        identity: &Principal,
        key: &KeyRef,
        ak: &SecretKey,
    ) -> Result<Vec<u8>, ProviderError>;
    /// unwrapKey with RSA-OAEP-256 (needs `unwrapKey`).
    async fn unwrap(
        &self,
        identity: &Principal,
        key: &KeyRef,
        wrapped: &[u8],
    ) -> Result<SecretKey, ProviderError>;
}

/// Chooses the provider for a vault URI: a configured remote vault by host, else the
/// co-located vault service when the host names one of its vaults.
#[derive(Debug, Clone)]
pub struct Providers {
    in_process: Option<Arc<inprocess::InProcessProvider>>,
    remotes: Vec<(RemoteVault, Arc<remote::RemoteProvider>)>,
}

impl Providers {
    /// Builds the table.
    pub fn new(
        in_process: Option<Arc<inprocess::InProcessProvider>>,
        remotes: Vec<(RemoteVault, Arc<remote::RemoteProvider>)>,
    ) -> Self {
        Self {
            in_process,
            remotes,
        }
    }

    /// Parses a vault URI (or a key URI) and finds its provider.
    pub fn resolve(&self, uri: &str) -> Result<(Arc<dyn KeyProvider>, VaultRef), CmkError> {
        let host = parse_host(uri)?;
        let vault_uri = format!("https://{host}/");
        if let Some((_, provider)) = self
            .remotes
            .iter()
            .find(|(r, _)| r.host.eq_ignore_ascii_case(&host))
        {
            let provider: Arc<dyn KeyProvider> = provider.clone();
            return Ok((
                provider,
                VaultRef {
                    uri: vault_uri,
                    host,
                    name: None,
                },
            ));
        }
        if let Some(local) = &self.in_process {
            if let Some(name) = local.vault_for_host(&host) {
                let provider: Arc<dyn KeyProvider> = local.clone();
                return Ok((
                    provider,
                    VaultRef {
                        uri: vault_uri,
                        host,
                        name: Some(name),
                    },
                ));
            }
        }
        Err(CmkError::VaultUnknown { uri: vault_uri })
    }
}

/// `https://host[:port]/…` → `host[:port]` (lower case).
pub fn parse_host(uri: &str) -> Result<String, CmkError> {
    let rest = uri.strip_prefix("https://").ok_or_else(|| {
        CmkError::BadKeyReference(format!("keyVaultUri '{uri}' must start with https://"))
    })?;
    let host = rest.split('/').next().unwrap_or_default();
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if ok {
        Ok(host.to_ascii_lowercase())
    } else {
        Err(CmkError::BadKeyReference(format!(
            "keyVaultUri '{uri}' has no valid host"
        )))
    }
}

/// Splits a key URI `https://host/keys/{name}[/{version}]` into (vault uri, name, version);
/// a plain vault URI gives no name.
pub fn split_key_uri(uri: &str) -> Result<(String, Option<String>, Option<String>), CmkError> {
    let host = parse_host(uri)?;
    let path = uri
        .strip_prefix("https://")
        .and_then(|r| r.split_once('/'))
        .map(|(_, p)| p)
        .unwrap_or("");
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let vault = format!("https://{host}/");
    match parts.as_slice() {
        [] => Ok((vault, None, None)),
        ["keys", name] => Ok((vault, Some((*name).to_owned()), None)),
        ["keys", name, version] => Ok((
            vault,
            Some((*name).to_owned()),
            Some((*version).to_owned()),
        )),
        _ => Err(CmkError::BadKeyReference(format!(
            "'{uri}' is neither a vault URI (https://host/) nor a key URI (https://host/keys/name[/version])"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_uris() {
        assert_eq!(
            split_key_uri("https://Demo.vault.x:8443/keys/k1/abc").unwrap(),
            (
                "https://demo.vault.x:8443/".into(),
                Some("k1".into()),
                Some("abc".into())
            )
        );
        assert_eq!(
            split_key_uri("https://demo.vault.x/").unwrap(),
            ("https://demo.vault.x/".into(), None, None)
        );
        assert!(split_key_uri("http://x/").is_err());
        assert!(split_key_uri("https://x/secrets/a").is_err());
    }
}
