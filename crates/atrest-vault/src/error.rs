//! The vault's errors, each with the Key Vault / ARM status and code it answers with.

use std::sync::Arc;

use crate::model::{KeyPermission, Operation};

/// Everything a vault operation can refuse or fail with.
///
/// Client mistakes carry what the message needs (names, the missing permission); internal
/// failures ([`Error::Database`], [`Error::Store`], [`Error::Crypto`], [`Error::Other`]) are
/// answered with a generic 500 and never shown to the caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No live vault of that name.
    #[error("vault '{name}' was not found")]
    VaultNotFound {
        /// Vault name.
        name: String,
    },
    /// An ARM resource (a vault in a resource group) does not exist.
    #[error("The Resource '{resource}' was not found.")]
    ResourceNotFound {
        /// `Microsoft.KeyVault/vaults/{name}` under its resource group.
        resource: String,
    },
    /// No soft-deleted vault of that name.
    #[error("deleted vault '{name}' was not found")]
    DeletedVaultNotFound {
        /// Vault name.
        name: String,
    },
    /// The name belongs to another vault.
    #[error("the vault name '{name}' is already in use")]
    VaultNameTaken {
        /// Vault name.
        name: String,
    },
    /// The name belongs to a soft-deleted vault.
    #[error("a vault named '{name}' exists in the deleted state; recover or purge it before reusing the name")]
    VaultNameDeleted {
        /// Vault name.
        name: String,
    },
    /// The subscription does not exist.
    #[error("subscription '{id}' was not found")]
    SubscriptionNotFound {
        /// Subscription id.
        id: String,
    },
    /// The caller lacks the management role an action needs.
    #[error("the client '{object_id}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid")]
    RoleRequired {
        /// Caller's object id.
        object_id: String,
        /// ARM action, e.g. `Microsoft.KeyVault/vaults/write`.
        action: &'static str,
        /// Resource scope.
        scope: String,
    },
    /// The caller's token is from another tenant than the vault's.
    #[error("AKV10032: Invalid issuer. Expected a token of tenant '{expected}'")]
    WrongTenant {
        /// The vault's tenant.
        expected: String,
    },
    /// No such key (or version).
    #[error("A key with (name/id) {name}{} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command.", .version.as_deref().map(|v| format!("/{v}")).unwrap_or_default())]
    KeyNotFound {
        /// Key name.
        name: String,
        /// Version, if one was asked for.
        version: Option<String>,
    },
    /// No deleted key of that name.
    #[error("Deleted Key not found: {name}")]
    DeletedKeyNotFound {
        /// Key name.
        name: String,
    },
    /// Create, import or restore over a soft-deleted key.
    #[error("Key {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.")]
    KeyDeletedButRecoverable {
        /// Key name.
        name: String,
    },
    /// Restore over an existing key.
    #[error("Key {name} already exists in this vault; a backup can only be restored under a name that is not in use.")]
    KeyExists {
        /// Key name.
        name: String,
    },
    /// The access policies do not grant the permission.
    #[error("The user, group or application 'appid={app_id};oid={object_id};iss=https://sts.windows.net/{tenant_id}/' does not have keys {} permission on key vault '{vault}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287", .permission.map_or("any", KeyPermission::as_str))]
    AccessDenied {
        /// Caller's application (client) id.
        app_id: String,
        /// Caller's object id.
        object_id: String,
        /// Caller's tenant.
        tenant_id: String,
        /// The missing permission (`None`: no access policy at all).
        permission: Option<KeyPermission>,
        /// Vault name.
        vault: String,
    },
    /// A crypto operation on a disabled key.
    #[error("Operation {} is not allowed on a disabled key.", .operation.verb())]
    KeyDisabled {
        /// The refused operation.
        operation: Operation,
    },
    /// A crypto operation past the key's `exp`.
    #[error("Operation {} is not allowed on an expired key (the key's exp has passed).", .operation.verb())]
    KeyExpired {
        /// The refused operation.
        operation: Operation,
    },
    /// A crypto operation before the key's `nbf`.
    #[error("Operation {} is not allowed on a key that is not yet valid (the key's nbf is in the future).", .operation.verb())]
    KeyNotYetValid {
        /// The refused operation.
        operation: Operation,
    },
    /// The key's `key_ops` do not include the operation.
    #[error("Operation {} is not permitted on this key: it is not in the key's key_ops.", .operation.verb())]
    OperationNotPermitted {
        /// The refused operation.
        operation: Operation,
    },
    /// Purge refused under purge protection.
    #[error("Operation 'purge' is not allowed on '{name}' because purge protection is enabled for this vault; it will be purged automatically after the retention period.")]
    PurgeProtected {
        /// What was to be purged.
        name: String,
    },
    /// A malformed or invalid request.
    #[error("{0}")]
    BadParameter(String),
    /// A ciphertext, wrapped key or backup did not decrypt or authenticate.
    #[error("{0}")]
    Undecryptable(&'static str),
    /// The metadata database failed.
    #[error("database error")]
    Database(atrest_store::Error),
    /// The store failed otherwise (the audit log).
    #[error("storage error")]
    Store(atrest_store::Error),
    /// A cryptographic primitive failed unexpectedly.
    #[error("cryptographic failure")]
    Crypto(#[from] atrest_crypto::Error),
    /// Anything else internal.
    #[error("internal error")]
    Other(Arc<dyn std::error::Error + Send + Sync>),
}

impl From<atrest_store::Error> for Error {
    /// A failed query is [`Error::Database`], anything else of the store [`Error::Store`].
    fn from(err: atrest_store::Error) -> Self {
        match err {
            atrest_store::Error::Database(_) => Self::Database(err),
            _ => Self::Store(err),
        }
    }
}

impl Error {
    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::VaultNotFound { .. }
            | Self::ResourceNotFound { .. }
            | Self::DeletedVaultNotFound { .. }
            | Self::SubscriptionNotFound { .. }
            | Self::KeyNotFound { .. }
            | Self::DeletedKeyNotFound { .. } => 404,
            Self::VaultNameTaken { .. }
            | Self::VaultNameDeleted { .. }
            | Self::KeyDeletedButRecoverable { .. }
            | Self::KeyExists { .. } => 409,
            Self::RoleRequired { .. }
            | Self::AccessDenied { .. }
            | Self::KeyDisabled { .. }
            | Self::KeyExpired { .. }
            | Self::KeyNotYetValid { .. }
            | Self::OperationNotPermitted { .. }
            | Self::PurgeProtected { .. } => 403,
            Self::WrongTenant { .. } => 401,
            Self::BadParameter(_) | Self::Undecryptable(_) => 400,
            Self::Database(_) | Self::Store(_) | Self::Crypto(_) | Self::Other(_) => 500,
        }
    }

    /// Key Vault / ARM error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::VaultNotFound { .. } => "VaultNotFound",
            Self::DeletedVaultNotFound { .. } | Self::ResourceNotFound { .. } => "ResourceNotFound",
            Self::SubscriptionNotFound { .. } => "SubscriptionNotFound",
            Self::KeyNotFound { .. } | Self::DeletedKeyNotFound { .. } => "KeyNotFound",
            Self::VaultNameTaken { .. } => "VaultAlreadyExists",
            Self::VaultNameDeleted { .. }
            | Self::KeyDeletedButRecoverable { .. }
            | Self::KeyExists { .. } => "Conflict",
            Self::RoleRequired { .. } => "AuthorizationFailed",
            Self::AccessDenied { .. }
            | Self::KeyDisabled { .. }
            | Self::KeyExpired { .. }
            | Self::KeyNotYetValid { .. }
            | Self::OperationNotPermitted { .. }
            | Self::PurgeProtected { .. } => "Forbidden",
            Self::WrongTenant { .. } => "Unauthorized",
            Self::BadParameter(_) | Self::Undecryptable(_) => "BadParameter",
            Self::Database(_) | Self::Store(_) | Self::Crypto(_) | Self::Other(_) => {
                "InternalError"
            }
        }
    }

    /// Whether this is the server's fault (its details must not reach the caller).
    pub fn is_internal(&self) -> bool {
        self.status() >= 500
    }

    /// The audit `result` for this error: `denied` for 401/403, else `failed`.
    pub(crate) fn audit_result(&self) -> &'static str {
        match self.status() {
            401 | 403 => "denied",
            _ => "failed",
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::BadParameter(message.into())
    }

    /// An internal failure of anything else (a row that does not parse, a task that died).
    pub(crate) fn other(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Other(Arc::new(err))
    }
}
