//! The directory's rows: tenants, subscriptions, principals, role assignments and token
//! signing keys, behind [`DirectoryStore`]. The rules (who may do what, which names are
//! acceptable) live in `atrest-identity`; this module only reads and writes rows.

use crate::{Error, WriteTx};

mod sql;

pub use sql::SqlDirectoryStore;

/// A row of `tenants`.
#[derive(Debug, Clone)]
pub struct TenantRow {
    /// Tenant id (a UUID).
    pub id: String,
    /// Human-readable name.
    pub display_name: String,
}

/// A row of `subscriptions`.
#[derive(Debug, Clone)]
pub struct SubscriptionRow {
    /// Subscription id (a UUID).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Human-readable name.
    pub display_name: String,
    /// Whether the operator approved customer-managed keys for it.
    pub cmk_approved: bool,
}

/// A row of `principals`, without its secret hash.
#[derive(Debug, Clone)]
pub struct PrincipalRow {
    /// Stable object id.
    pub object_id: String,
    /// Home tenant.
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// Kind, as stored (`operator`, `servicePrincipal`, `managedIdentity`, `user`).
    pub kind: String,
    /// Human-readable name.
    pub display_name: String,
    /// Whether it may get and use tokens.
    pub enabled: bool,
    /// For a managed identity: the resource id that owns it.
    pub owner_resource: Option<String>,
}

/// A principal with its stored secret hash, for checking client credentials.
#[derive(Debug, Clone)]
pub struct PrincipalCredentialsRow {
    /// The principal.
    pub principal: PrincipalRow,
    /// Its client secret's hash, if it has a secret.
    pub secret_hash: Option<String>,
}

/// A principal to insert (enabled).
#[derive(Debug, Clone)]
pub struct NewPrincipalRow {
    /// Stable object id.
    pub object_id: String,
    /// Home tenant.
    pub tenant_id: String,
    /// Kind, as stored.
    pub kind: String,
    /// Application (client) id.
    pub client_id: String,
    /// Human-readable name.
    pub display_name: String,
    /// The client secret's hash.
    pub secret_hash: String,
    /// For a managed identity: the resource id that owns it.
    pub owner_resource: Option<String>,
    /// Creation time (unix seconds).
    pub created: i64,
}

/// A row of `signing_keys`.
#[derive(Debug, Clone)]
pub struct SigningKeyRow {
    /// Key id (the JWT `kid`).
    pub kid: String,
    /// The private key, sealed under the root key.
    pub sealed_key: Vec<u8>,
}

/// How much a subscription still holds in other services' tables.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionHoldings {
    /// Vaults in it, soft-deleted ones included.
    pub vaults: i64,
    /// Accounts in it.
    pub accounts: i64,
}

/// An account of a subscription and where its encryption key comes from.
#[derive(Debug, Clone)]
pub struct AccountKeySourceRow {
    /// The account's name.
    pub name: String,
    /// Its key source (`Microsoft.CognitiveServices` or `Microsoft.KeyVault`).
    pub key_source: String,
}

/// The directory's queries. Methods taking a [`WriteTx`] run inside the caller's unit of work;
/// the others run on their own. Methods returning `bool` say whether a row matched.
#[async_trait::async_trait]
pub trait DirectoryStore: Send + Sync + std::fmt::Debug {
    // ----- tenants -----------------------------------------------------------------------

    /// Inserts a tenant.
    async fn insert_tenant(&self, id: &str, display_name: &str, created: i64) -> Result<(), Error>;

    /// Every tenant, oldest first.
    async fn tenants(&self) -> Result<Vec<TenantRow>, Error>;

    /// A tenant by id.
    async fn tenant_by_id(&self, id: &str) -> Result<Option<TenantRow>, Error>;

    /// How many subscriptions a tenant has.
    async fn subscription_count_of_tenant(
        &self,
        tx: &mut WriteTx,
        tenant_id: &str,
    ) -> Result<i64, Error>;

    /// Deletes a tenant (its principals go with it).
    async fn delete_tenant(&self, tx: &mut WriteTx, id: &str) -> Result<bool, Error>;

    // ----- subscriptions -----------------------------------------------------------------

    /// Inserts a subscription (customer-managed keys not approved).
    async fn insert_subscription(
        &self,
        tx: &mut WriteTx,
        id: &str,
        tenant_id: &str,
        display_name: &str,
        created: i64,
    ) -> Result<(), Error>;

    /// A subscription by id.
    async fn subscription_by_id(&self, id: &str) -> Result<Option<SubscriptionRow>, Error>;

    /// Every subscription, oldest first.
    async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>, Error>;

    /// The subscriptions a principal has a role on, oldest first.
    async fn subscriptions_of_principal(
        &self,
        principal_id: &str,
    ) -> Result<Vec<SubscriptionRow>, Error>;

    /// Sets a subscription's customer-managed-key approval.
    async fn set_cmk_approved(&self, id: &str, approved: bool) -> Result<bool, Error>;

    /// How many vaults (soft-deleted ones included) and accounts a subscription holds.
    async fn subscription_holdings(
        &self,
        tx: &mut WriteTx,
        subscription_id: &str,
    ) -> Result<SubscriptionHoldings, Error>;

    /// The accounts of a subscription with their key sources, by name.
    async fn account_key_sources(
        &self,
        tx: &mut WriteTx,
        subscription_id: &str,
    ) -> Result<Vec<AccountKeySourceRow>, Error>;

    /// Moves a subscription to another tenant.
    async fn set_subscription_tenant(
        &self,
        tx: &mut WriteTx,
        id: &str,
        tenant_id: &str,
    ) -> Result<bool, Error>;

    /// Deletes a subscription (its role assignments go with it).
    async fn delete_subscription(&self, tx: &mut WriteTx, id: &str) -> Result<bool, Error>;

    // ----- role assignments --------------------------------------------------------------

    /// A principal's role on a subscription, as stored.
    async fn role_assignment(
        &self,
        principal_id: &str,
        subscription_id: &str,
    ) -> Result<Option<String>, Error>;

    /// Makes a principal Owner of a new subscription.
    async fn insert_owner_assignment(
        &self,
        tx: &mut WriteTx,
        principal_id: &str,
        subscription_id: &str,
    ) -> Result<(), Error>;

    /// Grants `role`, replacing an earlier role of the principal on the subscription.
    async fn save_role_assignment(
        &self,
        principal_id: &str,
        subscription_id: &str,
        role: &str,
    ) -> Result<(), Error>;

    /// Removes every role assignment on a subscription.
    async fn delete_role_assignments_of_subscription(
        &self,
        tx: &mut WriteTx,
        subscription_id: &str,
    ) -> Result<(), Error>;

    // ----- principals --------------------------------------------------------------------

    /// The operator principal's object id, once it exists.
    async fn operator_principal_id(&self) -> Result<Option<String>, Error>;

    /// Inserts an enabled principal.
    async fn insert_principal(&self, principal: &NewPrincipalRow) -> Result<(), Error>;

    /// A principal by object id.
    async fn principal_by_id(&self, object_id: &str) -> Result<Option<PrincipalRow>, Error>;

    /// A principal's home tenant, read inside a unit of work.
    async fn principal_tenant(
        &self,
        tx: &mut WriteTx,
        object_id: &str,
    ) -> Result<Option<String>, Error>;

    /// The principals of a tenant, oldest first.
    async fn principals_of_tenant(&self, tenant_id: &str) -> Result<Vec<PrincipalRow>, Error>;

    /// The object ids of a tenant's principals, read inside a unit of work.
    async fn principal_ids_of_tenant(
        &self,
        tx: &mut WriteTx,
        tenant_id: &str,
    ) -> Result<Vec<String>, Error>;

    /// A principal and its secret hash by client id, within a tenant.
    async fn principal_credentials(
        &self,
        tenant_id: &str,
        client_id: &str,
    ) -> Result<Option<PrincipalCredentialsRow>, Error>;

    /// Replaces a principal's secret hash (a re-hash of the same secret in a newer format).
    async fn set_secret_hash(&self, object_id: &str, secret_hash: &str) -> Result<bool, Error>;

    /// Enables or disables a principal other than the operator.
    async fn set_principal_enabled(&self, object_id: &str, enabled: bool) -> Result<bool, Error>;

    /// Deletes a service principal.
    async fn delete_service_principal(&self, object_id: &str) -> Result<bool, Error>;

    /// Deletes a managed identity.
    async fn delete_managed_identity(&self, object_id: &str) -> Result<bool, Error>;

    // ----- token signing keys ------------------------------------------------------------

    /// The newest token signing key.
    async fn latest_signing_key(&self) -> Result<Option<SigningKeyRow>, Error>;

    /// Stores a token signing key.
    async fn insert_signing_key(
        &self,
        kid: &str,
        sealed_key: &[u8],
        created: i64,
    ) -> Result<(), Error>;
}
