//! What management calls ask for: the request shapes of account create and update.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::model::OnKeyLoss;

/// `identity.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityType {
    /// No identity.
    None,
    /// A system-assigned managed identity.
    SystemAssigned,
}

/// `keyVaultProperties` as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyVaultSpec {
    /// Vault URI, or a key URI (versioned or versionless).
    pub key_vault_uri: Option<String>,
    /// Key name.
    pub key_name: Option<String>,
    /// Key version (empty or absent: follow the newest).
    pub key_version: Option<String>,
    /// Identity client id (system-assigned only).
    pub identity_client_id: Option<String>,
}

/// `properties.encryption` as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionSpec {
    /// `keySource`.
    pub key_source: String,
    /// `keyVaultProperties`.
    pub key_vault: Option<KeyVaultSpec>,
}

/// The body of `PUT .../accounts/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    /// Region.
    pub location: String,
    /// Kind.
    pub kind: String,
    /// SKU.
    pub sku: String,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// Identity.
    pub identity: Option<IdentityType>,
    /// Encryption.
    pub encryption: Option<EncryptionSpec>,
    /// `properties.onKeyLoss`.
    pub on_key_loss: Option<OnKeyLoss>,
    /// `properties.userOwnedStorage[].resourceId` (an empty list: platform storage).
    pub user_owned_storage: Option<Vec<String>>,
    /// `properties.encryption.requireInfrastructureEncryption` (creation only).
    pub infrastructure_encryption: Option<bool>,
}

/// The body of `PATCH .../accounts/{name}`; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountPatch {
    /// SKU.
    pub sku: Option<String>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// Identity.
    pub identity: Option<IdentityType>,
    /// Encryption.
    pub encryption: Option<EncryptionSpec>,
    /// Key-loss behaviour.
    pub on_key_loss: Option<OnKeyLoss>,
    /// `userOwnedStorage` resource ids (an empty list: back to platform storage).
    pub user_owned_storage: Option<Vec<String>>,
    /// `requireInfrastructureEncryption` as sent: it must match the account's.
    pub infrastructure_encryption: Option<bool>,
}

/// The two data-plane keys, in clear (shown to Contributors only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeys {
    /// key1.
    pub key1: Zeroizing<String>,
    /// key2.
    pub key2: Zeroizing<String>,
}
