//! The accounts service's errors, each with the status and Azure error code it answers with.

use std::sync::Arc;

/// Why a customer-managed key cannot be used (validation before saving, or revalidation).
///
/// Every message names the key, vault or principal involved and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmkError {
    /// The key URI or vault properties do not parse.
    #[error("keyVaultProperties are incomplete or invalid: {0}")]
    BadKeyReference(String),
    /// No vault answers at that URI (neither co-located nor configured as a remote vault).
    #[error("no key vault is reachable at '{uri}': use the vaultUri of an atrest vault, or ask the operator to configure it under [accounts.remote_vaults]")]
    VaultUnknown {
        /// The vault URI given.
        uri: String,
    },
    /// The vault does not exist (or was deleted).
    #[error(
        "the key vault '{vault}' does not exist or was deleted; recover it or choose another vault"
    )]
    VaultNotFound {
        /// Vault name or URI.
        vault: String,
    },
    /// The vault belongs to another directory.
    #[error("the key vault '{vault}' belongs to tenant '{vault_tenant}', but the account belongs to tenant '{account_tenant}'; customer-managed keys must come from a vault of the account's own tenant")]
    VaultTenant {
        /// Vault.
        vault: String,
        /// Vault's tenant.
        vault_tenant: String,
        /// Account's tenant.
        account_tenant: String,
    },
    /// The vault sits in another region.
    #[error("the key vault '{vault}' is in region '{vault_location}', but the account is in '{account_location}'; use a vault in the account's region")]
    VaultRegion {
        /// Vault.
        vault: String,
        /// Vault region.
        vault_location: String,
        /// Account region.
        account_location: String,
    },
    /// Accounts in the `global` region cannot use customer-managed keys.
    #[error("accounts in the 'global' region cannot use customer-managed keys; create the account in a specific region")]
    GlobalRegion,
    /// Soft delete is off on the vault.
    #[error("the key vault '{vault}' does not have soft delete enabled; turn on enableSoftDelete")]
    SoftDeleteOff {
        /// Vault.
        vault: String,
    },
    /// Purge protection is off on the vault.
    #[error("the key vault '{vault}' does not have purge protection enabled; set enablePurgeProtection to true (it cannot be turned off again)")]
    PurgeProtectionOff {
        /// Vault.
        vault: String,
    },
    /// The key does not exist in the vault.
    #[error(
        "the key '{key}' was not found in vault '{vault}'; create it or check keyName/keyVersion"
    )]
    KeyNotFound {
        /// Vault.
        vault: String,
        /// Key (name or name/version).
        key: String,
    },
    /// The key version is disabled.
    #[error("the key '{key}' in vault '{vault}' is disabled; enable it or choose another key")]
    KeyDisabled {
        /// Vault.
        vault: String,
        /// Key.
        key: String,
    },
    /// The key has expired (only refused when it is newly chosen).
    #[error("the key '{key}' in vault '{vault}' has expired; choose an unexpired key or extend its expiry")]
    KeyExpired {
        /// Vault.
        vault: String,
        /// Key.
        key: String,
    },
    /// The key is not an RSA key.
    #[error("the key '{key}' is of type '{kty}'; customer-managed keys must be RSA keys")]
    KeyNotRsa {
        /// Key.
        key: String,
        /// Its type.
        kty: String,
    },
    /// The key size is not allowed by the operator.
    #[error("the key '{key}' is RSA-{bits}; this service accepts RSA keys of {allowed} bits")]
    KeySize {
        /// Key.
        key: String,
        /// Its size.
        bits: usize,
        /// The allowed sizes.
        allowed: String,
    },
    /// The key's key_ops lack wrapKey or unwrapKey.
    #[error("the key '{key}' does not permit '{op}' (key_ops); update the key to allow wrapKey and unwrapKey")]
    KeyOps {
        /// Key.
        key: String,
        /// The missing operation.
        op: &'static str,
    },
    /// The account's identity may not use the key.
    #[error("the account's managed identity (principal id '{principal_id}') lacks the '{permission}' key permission on vault '{vault}'; grant it get, wrapKey and unwrapKey in the vault's access policies{hint}")]
    AccessDenied {
        /// Vault.
        vault: String,
        /// The identity's object id.
        principal_id: String,
        /// The missing permission.
        permission: String,
        /// Extra advice (a re-created identity has a new principal id).
        hint: String,
    },
    /// The SKU does not offer customer-managed keys.
    #[error("the SKU '{sku}' does not support customer-managed keys; change to one of: {allowed}")]
    SkuNoCmk {
        /// The SKU.
        sku: String,
        /// SKUs that do.
        allowed: String,
    },
    /// The operator requires approval and the subscription does not have it.
    #[error("subscription '{subscription}' is not approved for customer-managed keys; ask the operator to approve it (PATCH /admin/subscriptions/{subscription}/cmkApproval)")]
    NotApproved {
        /// Subscription.
        subscription: String,
    },
    /// identity.type None together with customer-managed keys.
    #[error("customer-managed keys need the account's system-assigned identity; set identity.type to SystemAssigned")]
    IdentityRequired,
    /// The round trip through the vault did not return the account key.
    #[error("a wrapKey/unwrapKey round trip with key '{key}' did not return the same key; the vault is not usable")]
    RoundTrip {
        /// Key.
        key: String,
    },
}

/// Everything an accounts operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request field is missing or invalid.
    #[error("{0}")]
    BadRequest(String),
    /// CMK in the create call.
    #[error("a new account always starts with Microsoft-managed keys (keySource Microsoft.CognitiveServices): create the account first, grant its system-assigned identity get, wrapKey and unwrapKey on your key vault, then PATCH properties.encryption")]
    CmkOnCreate,
    /// A customer-managed key cannot be used.
    #[error(transparent)]
    Cmk(#[from] CmkError),
    /// The subscription does not exist.
    #[error("subscription '{0}' was not found")]
    SubscriptionNotFound(String),
    /// The caller lacks a role.
    #[error("the client '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}': it needs the {role} role on the subscription")]
    RoleRequired {
        /// Caller.
        object_id: String,
        /// The least role that allows it.
        role: &'static str,
        /// The ARM action.
        action: &'static str,
        /// The scope.
        scope: String,
    },
    /// The data-plane caller is not authenticated.
    #[error("{0}")]
    Unauthenticated(String),
    /// The data-plane caller is authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Something does not exist.
    #[error("{what} '{name}' was not found")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// The name is in use.
    #[error("{what} '{name}' already exists")]
    Conflict {
        /// What kind of thing.
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// The account's key cannot be used: every data operation is refused.
    #[error("the account's data is inaccessible: the customer-managed key {key} {reason} (since {since}); restore access to the key — nothing was deleted")]
    KeyInaccessible {
        /// The key (vault URI and name).
        key: String,
        /// Why.
        reason: String,
        /// RFC 3339 time.
        since: String,
    },
    /// The vault has not answered for longer than the cache may bridge.
    #[error("the key vault for key {key} has not answered since {since}; the service fails closed after {limit_secs} s without the vault and recovers once it answers (nothing is deleted)")]
    KeyUnavailable {
        /// Key.
        key: String,
        /// RFC 3339 time.
        since: String,
        /// The hard limit.
        limit_secs: u64,
    },
    /// The vault did not answer while a change was being validated.
    #[error("the key vault did not answer ({0}); nothing was changed, try again")]
    VaultUnreachable(String),
    /// The account was changed by someone else meanwhile.
    #[error(
        "account '{0}' was changed concurrently; nothing was changed, read it again and retry"
    )]
    Concurrent(String),
    /// The account's own storage (BYOS) refused a request or could not be reached.
    #[error(
        "the account's own storage '{resource_id}' (container '{container}') could not be used: {reason}; \
         check that the container exists and that the storage account's registration is current"
    )]
    UserStorage {
        /// `userOwnedStorage[].resourceId`.
        resource_id: String,
        /// Container.
        container: String,
        /// What the storage service said.
        reason: String,
    },
    /// The platform store of the account's region (Azure Blob or S3) refused a request or
    /// could not be reached. The cause is logged, never sent.
    #[error("the data store of region '{region}' is unavailable; try again later")]
    StorageUnavailable {
        /// The region.
        region: String,
        /// What the store said.
        source: Arc<object_store::Error>,
    },
    /// Data would leave the account's region.
    #[error("region '{store}' cannot hold data of an account in region '{account}'")]
    CrossRegion {
        /// The account's region.
        account: String,
        /// The store's region.
        store: String,
    },
    /// A Range header that does not fit the object.
    #[error("range not satisfiable: the object holds {len} bytes")]
    RangeNotSatisfiable {
        /// Object length.
        len: u64,
    },
    /// Internal failure; details are logged, never sent.
    #[error("internal error")]
    Internal(Arc<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Wraps an internal failure.
    pub fn internal<E: std::error::Error + Send + Sync + 'static>(err: E) -> Self {
        Self::Internal(Arc::new(err))
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) | Self::CmkOnCreate | Self::Cmk(_) => 400,
            Self::Unauthenticated(_) => 401,
            Self::RoleRequired { .. }
            | Self::Forbidden(_)
            | Self::KeyInaccessible { .. }
            | Self::CrossRegion { .. } => 403,
            Self::NotFound { .. } | Self::SubscriptionNotFound(_) => 404,
            Self::Conflict { .. } => 409,
            Self::RangeNotSatisfiable { .. } => 416,
            Self::KeyUnavailable { .. }
            | Self::VaultUnreachable(_)
            | Self::StorageUnavailable { .. } => 503,
            Self::UserStorage { .. } => 502,
            Self::Concurrent(_) => 409,
            Self::Internal(_) => 500,
        }
    }

    /// Azure error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BadRequest",
            Self::CmkOnCreate => "CmkNotAllowedAtCreation",
            Self::Cmk(e) => match e {
                CmkError::AccessDenied { .. } => "KeyVaultAccessDenied",
                CmkError::SkuNoCmk { .. } => "SkuNotEligibleForCmk",
                CmkError::NotApproved { .. } => "SubscriptionNotApprovedForCmk",
                CmkError::VaultTenant { .. } | CmkError::VaultRegion { .. } => {
                    "KeyVaultNotEligible"
                }
                _ => "InvalidKeyVaultProperties",
            },
            Self::SubscriptionNotFound(_) => "SubscriptionNotFound",
            Self::RoleRequired { .. } => "AuthorizationFailed",
            Self::Unauthenticated(_) => "Unauthorized",
            Self::Forbidden(_) => "Forbidden",
            Self::NotFound { .. } => "NotFound",
            Self::Conflict { .. } => "Conflict",
            Self::KeyInaccessible { .. } => "KeyInaccessible",
            Self::KeyUnavailable { .. } | Self::VaultUnreachable(_) => "KeyVaultUnavailable",
            Self::UserStorage { .. } => "UserOwnedStorageUnavailable",
            Self::StorageUnavailable { .. } => "ServiceUnavailable",
            Self::Concurrent(_) => "Conflict",
            Self::CrossRegion { .. } => "CrossRegionNotAllowed",
            Self::RangeNotSatisfiable { .. } => "InvalidRange",
            Self::Internal(_) => "InternalError",
        }
    }
}

impl From<atrest_store::Error> for Error {
    fn from(err: atrest_store::Error) -> Self {
        Self::internal(err)
    }
}

impl From<atrest_crypto::Error> for Error {
    fn from(err: atrest_crypto::Error) -> Self {
        Self::internal(err)
    }
}

impl From<atrest_identity::Error> for Error {
    fn from(err: atrest_identity::Error) -> Self {
        Self::internal(err)
    }
}

impl From<object_store::Error> for Error {
    fn from(err: object_store::Error) -> Self {
        Self::internal(err)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Self::internal(err)
    }
}
