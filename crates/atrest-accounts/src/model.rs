//! Domain types of accounts: what an account is and how its key is held.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Service kinds.
pub(crate) const KINDS: [&str; 5] = [
    "TextTranslation",
    "TextAnalytics",
    "ContentSafety",
    "SpeechServices",
    "CognitiveServices",
];

/// `keySource` for platform-managed keys.
pub const KEY_SOURCE_MMK: &str = "Microsoft.CognitiveServices";
/// `keySource` for customer-managed keys.
pub const KEY_SOURCE_CMK: &str = "Microsoft.KeyVault";

/// Where the account's key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// Platform-managed (MMK).
    Platform,
    /// Customer-managed (CMK) in a key vault.
    Customer(CmkSettings),
}

/// `keyVaultProperties`, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CmkSettings {
    /// `https://host[:port]/`.
    pub key_vault_uri: String,
    /// Key name.
    pub key_name: String,
    /// Pinned version; `None` follows the newest version.
    pub key_version: Option<String>,
    /// `identityClientId` as given (only system-assigned identities are supported).
    pub identity_client_id: Option<String>,
}

impl CmkSettings {
    /// `https://host/keys/name[/version]`, for messages.
    pub fn key_id(&self) -> String {
        let mut id = format!(
            "{}/keys/{}",
            self.key_vault_uri.trim_end_matches('/'),
            self.key_name
        );
        if let Some(v) = &self.key_version {
            id.push('/');
            id.push_str(v);
        }
        id
    }
}

/// Whether the account's key can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Usable.
    Active,
    /// Revoked or lost: data operations are refused until access returns.
    KeyInaccessible,
}

impl KeyState {
    /// Stored/shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::KeyInaccessible => "KeyInaccessible",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Self {
        if value == "KeyInaccessible" {
            Self::KeyInaccessible
        } else {
            Self::Active
        }
    }
}

/// What happens to data when the key is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnKeyLoss {
    /// Keep everything; refuse access (default).
    Block,
    /// Delete uploaded data after the grace period.
    Delete,
}

impl OnKeyLoss {
    /// Stored/shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Delete => "delete",
        }
    }

    /// Parses a name.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "block" => Some(Self::Block),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// An account as stored (without the wrapped key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Internal id (UUID), bound into the wrapped key and every object.
    pub id: String,
    /// Name, globally unique (it is the data-plane address).
    pub name: String,
    /// Subscription.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Tenant of the subscription.
    pub tenant_id: String,
    /// Region, normalized.
    pub location: String,
    /// Kind.
    pub kind: String,
    /// SKU name.
    pub sku: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// System-assigned identity: (principal id, client id).
    pub identity: Option<(String, String)>,
    /// Key source.
    pub encryption: Encryption,
    /// The vault name when the vault is co-located.
    pub key_vault_name: Option<String>,
    /// Key version that wrapped the AK (CMK).
    pub cmk_wrapped_version: Option<String>,
    /// The identity principal that last validated the CMK.
    pub cmk_principal: Option<String>,
    /// MMK version that wrapped the AK (MMK).
    pub mmk_version: Option<i64>,
    /// Key state.
    pub key_state: KeyState,
    /// Why the key is inaccessible.
    pub key_state_reason: Option<String>,
    /// Since when (unix seconds).
    pub key_state_since: Option<i64>,
    /// A warning (e.g. key expired).
    pub key_warning: Option<String>,
    /// Key-loss behaviour.
    pub on_key_loss: OnKeyLoss,
    /// Whether stored objects get a second layer under the platform infrastructure key
    /// (`requireInfrastructureEncryption`, fixed at creation).
    pub infrastructure_encryption: bool,
    /// `userOwnedStorage[0].resourceId`: new objects go to this registered container (BYOS).
    pub user_owned_storage: Option<String>,
    /// When `onKeyLoss: delete` removed the data.
    pub data_deleted_at: Option<i64>,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds; also the optimistic-concurrency token.
    pub updated: i64,
}

impl Account {
    /// ARM resource id.
    pub fn resource_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }

    /// Audit-log resource name.
    pub fn audit_resource(&self) -> String {
        format!("account/{}", self.name.to_ascii_lowercase())
    }

    /// The CMK settings, if the account uses CMK.
    pub fn cmk(&self) -> Option<&CmkSettings> {
        match &self.encryption {
            Encryption::Customer(c) => Some(c),
            Encryption::Platform => None,
        }
    }
}

/// Account names: 2–64 letters, digits and hyphens, starting and ending alphanumeric.
pub(crate) fn valid_account_name(name: &str) -> bool {
    let b = name.as_bytes();
    (2..=64).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Resource names below an account (deployments, blocklists, endpoints): 1–64 of letters,
/// digits, `-`, `_`, `.`.
pub(crate) fn valid_child_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Unix seconds as RFC 3339.
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_account_name("my-acct1"));
        assert!(!valid_account_name("-x"));
        assert!(!valid_account_name("a"));
        assert!(!valid_account_name("a_b"));
        assert!(valid_child_name("glossary_v1.2"));
        assert!(!valid_child_name("a/b"));
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
