//! The directory facade: every operation takes the caller and checks what it may do.

use std::net::IpAddr;
use std::sync::Arc;

use atrest_crypto::SecretKey;
use atrest_store::directory::{
    DirectoryStore, NewPrincipalRow, PrincipalRow, SqlDirectoryStore, SubscriptionRow, TenantRow,
};
use atrest_store::{unix_now, Db, RowCache};
use serde::Serialize;
use tokio::sync::{broadcast, Semaphore};

use crate::secret::{self, Verified};
use crate::throttle::{Throttle, TokenEndpointLimits};
use crate::tokens::TokenService;
use crate::{AuthError, Error, Principal, PrincipalKind, Role, Subscription, Tenant};

mod lifecycle;

/// A service principal just created, with its secret (shown once, never stored).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewServicePrincipal {
    /// The directory entry.
    #[serde(flatten)]
    pub principal: Principal,
    /// The client secret, in clear, this one time.
    pub client_secret: String,
}

/// Something that changed in the directory that other parts react to at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryEvent {
    /// A principal was disabled or deleted: tokens it holds stop working.
    PrincipalDisabled {
        /// Its object id.
        object_id: String,
    },
}

/// How the directory is set up.
#[derive(Debug, Clone)]
pub struct DirectoryOptions {
    /// The public base URL of this server, e.g. `https://atrest.example.com:8443`, without a
    /// trailing slash. Tokens are issued with `iss = {public_url}/{tenant}/v2.0`, discovery
    /// documents are built from it, and tokens naming another issuer are refused.
    pub public_url: String,
    /// Limits on failed sign-ins at the token endpoint.
    pub token_endpoint: TokenEndpointLimits,
}

impl Default for DirectoryOptions {
    fn default() -> Self {
        Self {
            public_url: "https://localhost".into(),
            token_endpoint: TokenEndpointLimits::default(),
        }
    }
}

/// The directory. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

struct Inner {
    /// For units of work ([`Db::begin_write`]) only; every query goes through `store`.
    db: Db,
    store: Arc<dyn DirectoryStore>,
    tokens: TokenService,
    events: broadcast::Sender<DirectoryEvent>,
    /// Principals by object id, read on every authenticated request. Exact, not merely
    /// fresh: every write to `principals` here calls [`Directory::principals_changed`] before
    /// it returns.
    principals: RowCache<String, Principal>,
    /// The key client secrets are hashed under (derived from the root key).
    secret_key: Arc<aws_lc_rs::hmac::Key>,
    /// Secret checks run on blocking threads, this many at once.
    secret_checks: Arc<Semaphore>,
    /// Failed sign-ins per client id and per address.
    throttle: Throttle,
    /// See [`DirectoryOptions::public_url`].
    public_url: String,
}

/// How many principals stay in memory.
const PRINCIPAL_CACHE_ENTRIES: usize = 16_384;

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").finish_non_exhaustive()
    }
}

impl Directory {
    /// Opens the directory with [`DirectoryOptions::default`] (issuer `https://localhost`),
    /// creating the token signing key on first start.
    pub async fn open(db: Db, root: &SecretKey) -> Result<Self, Error> {
        Self::open_with(db, root, DirectoryOptions::default()).await
    }

    /// Opens the directory, creating the token signing key on first start.
    pub async fn open_with(
        db: Db,
        root: &SecretKey,
        options: DirectoryOptions,
    ) -> Result<Self, Error> {
        let public_url = options.public_url.trim_end_matches('/').to_owned();
        let store: Arc<dyn DirectoryStore> = Arc::new(SqlDirectoryStore::new(db.clone()));
        let tokens = TokenService::load_or_create_in(store.as_ref(), root, &public_url).await?;
        let (events, _) = broadcast::channel(1024);
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                store,
                tokens,
                events,
                principals: RowCache::new(PRINCIPAL_CACHE_ENTRIES),
                secret_key: Arc::new(secret::hash_key(root)),
                secret_checks: Arc::new(Semaphore::new(
                    options.token_endpoint.concurrent_secret_checks.max(1),
                )),
                throttle: Throttle::new(&options.token_endpoint),
                public_url,
            }),
        })
    }

    /// The public base URL (see [`DirectoryOptions::public_url`]).
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// The issuer of this directory's tokens for `tenant_id`: `{public_url}/{tenant}/v2.0`.
    pub fn issuer(&self, tenant_id: &str) -> String {
        crate::tokens::issuer(&self.inner.public_url, tenant_id)
    }

    fn db(&self) -> &Db {
        &self.inner.db
    }

    fn store(&self) -> &dyn DirectoryStore {
        self.inner.store.as_ref()
    }

    /// Forgets cached principals; call once a write to `principals` has committed.
    fn principals_changed(&self) {
        self.inner.principals.invalidate();
    }

    /// Subscribes to directory events.
    pub fn subscribe(&self) -> broadcast::Receiver<DirectoryEvent> {
        self.inner.events.subscribe()
    }

    /// Creates the operator tenant and principal on first start; returns its credentials then,
    /// and `None` on every later start.
    pub async fn bootstrap_operator(&self) -> Result<Option<NewServicePrincipal>, Error> {
        if self.store().operator_principal_id().await?.is_some() {
            return Ok(None);
        }
        let tenant = self.insert_tenant("operator").await?;
        self.insert_principal(&tenant.tenant_id, PrincipalKind::Operator, "operator", None)
            .await
            .map(Some)
    }

    // ----- tenants and subscriptions -------------------------------------------------------

    /// Creates a tenant (operator only).
    pub async fn create_tenant(
        &self,
        caller: &Principal,
        display_name: &str,
    ) -> Result<Tenant, Error> {
        require_operator(caller)?;
        validate_display_name(display_name)?;
        self.insert_tenant(display_name).await
    }

    async fn insert_tenant(&self, display_name: &str) -> Result<Tenant, Error> {
        let tenant = Tenant {
            tenant_id: uuid::Uuid::new_v4().to_string(),
            display_name: display_name.to_owned(),
        };
        self.store()
            .insert_tenant(&tenant.tenant_id, &tenant.display_name, unix_now())
            .await?;
        Ok(tenant)
    }

    /// Lists tenants: all for the operator, the caller's own otherwise.
    pub async fn list_tenants(&self, caller: &Principal) -> Result<Vec<Tenant>, Error> {
        let rows = if caller.is_operator() {
            self.store().tenants().await?
        } else {
            self.store()
                .tenant_by_id(&caller.tenant_id)
                .await?
                .into_iter()
                .collect()
        };
        Ok(rows.into_iter().map(tenant_from_row).collect())
    }

    /// Looks a tenant up.
    pub async fn tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, Error> {
        Ok(self
            .store()
            .tenant_by_id(tenant_id)
            .await?
            .map(tenant_from_row))
    }

    /// Creates a subscription in a tenant (operator only); `owner` gets the Owner role on it.
    pub async fn create_subscription(
        &self,
        caller: &Principal,
        tenant_id: &str,
        display_name: &str,
        owner: Option<&str>,
    ) -> Result<Subscription, Error> {
        require_operator(caller)?;
        validate_display_name(display_name)?;
        self.tenant(tenant_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("tenant '{tenant_id}'")))?;
        let subscription = Subscription {
            subscription_id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant_id.to_owned(),
            display_name: display_name.to_owned(),
            cmk_approved: false,
        };
        let mut tx = self.db().begin_write().await?;
        self.store()
            .insert_subscription(
                &mut tx,
                &subscription.subscription_id,
                tenant_id,
                display_name,
                unix_now(),
            )
            .await?;
        if let Some(owner) = owner {
            match self.store().principal_tenant(&mut tx, owner).await? {
                Some(t) if t == tenant_id => {}
                Some(_) => {
                    return Err(Error::Invalid(format!(
                        "principal '{owner}' belongs to another tenant"
                    )))
                }
                None => return Err(Error::NotFound(format!("principal '{owner}'"))),
            }
            self.store()
                .insert_owner_assignment(&mut tx, owner, &subscription.subscription_id)
                .await?;
        }
        tx.commit().await?;
        Ok(subscription)
    }

    /// Looks a subscription up.
    pub async fn subscription(&self, id: &str) -> Result<Option<Subscription>, Error> {
        Ok(self
            .store()
            .subscription_by_id(id)
            .await?
            .map(subscription_from_row))
    }

    /// Subscriptions the caller can see (all of them for the operator).
    pub async fn list_subscriptions(&self, caller: &Principal) -> Result<Vec<Subscription>, Error> {
        let rows = if caller.is_operator() {
            self.store().subscriptions().await?
        } else {
            self.store()
                .subscriptions_of_principal(&caller.object_id)
                .await?
        };
        Ok(rows.into_iter().map(subscription_from_row).collect())
    }

    /// Approves (or withdraws approval for) customer-managed keys in a subscription (operator only).
    pub async fn set_cmk_approved(
        &self,
        caller: &Principal,
        id: &str,
        approved: bool,
    ) -> Result<Subscription, Error> {
        require_operator(caller)?;
        if !self.store().set_cmk_approved(id, approved).await? {
            return Err(Error::NotFound(format!("subscription '{id}'")));
        }
        self.subscription(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("subscription '{id}'")))
    }

    // ----- roles ---------------------------------------------------------------------------

    /// The caller's role on a subscription. The operator is Owner everywhere.
    pub async fn role_of(
        &self,
        principal: &Principal,
        subscription_id: &str,
    ) -> Result<Option<Role>, Error> {
        if principal.is_operator() {
            return Ok(Some(Role::Owner));
        }
        let role = self
            .store()
            .role_assignment(&principal.object_id, subscription_id)
            .await?;
        Ok(role.and_then(|role| Role::parse(&role)))
    }

    /// Grants `role` on a subscription (operator or an Owner of it); replaces an earlier role.
    pub async fn assign_role(
        &self,
        caller: &Principal,
        subscription_id: &str,
        principal_id: &str,
        role: Role,
    ) -> Result<(), Error> {
        if self.role_of(caller, subscription_id).await? != Some(Role::Owner) {
            return Err(Error::Forbidden(format!(
                "only an Owner of subscription '{subscription_id}' can assign roles"
            )));
        }
        let subscription = self
            .subscription(subscription_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("subscription '{subscription_id}'")))?;
        let target = self
            .principal(principal_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("principal '{principal_id}'")))?;
        if target.tenant_id != subscription.tenant_id {
            return Err(Error::Invalid(format!(
                "principal '{principal_id}' belongs to another tenant than subscription '{subscription_id}'"
            )));
        }
        self.store()
            .save_role_assignment(principal_id, subscription_id, role.as_str())
            .await?;
        Ok(())
    }

    // ----- principals ----------------------------------------------------------------------

    /// Creates a service principal with a fresh secret (operator only).
    pub async fn create_service_principal(
        &self,
        caller: &Principal,
        tenant_id: &str,
        display_name: &str,
    ) -> Result<NewServicePrincipal, Error> {
        require_operator(caller)?;
        validate_display_name(display_name)?;
        self.tenant(tenant_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("tenant '{tenant_id}'")))?;
        self.insert_principal(
            tenant_id,
            PrincipalKind::ServicePrincipal,
            display_name,
            None,
        )
        .await
    }

    /// Creates a system-assigned managed identity for a resource. Called by the resource's
    /// own domain logic, which has already authorized the caller.
    pub async fn create_managed_identity(
        &self,
        tenant_id: &str,
        owner_resource: &str,
    ) -> Result<Principal, Error> {
        let name = owner_resource.rsplit('/').next().unwrap_or(owner_resource);
        Ok(self
            .insert_principal(
                tenant_id,
                PrincipalKind::ManagedIdentity,
                name,
                Some(owner_resource),
            )
            .await?
            .principal)
    }

    async fn insert_principal(
        &self,
        tenant_id: &str,
        kind: PrincipalKind,
        display_name: &str,
        owner_resource: Option<&str>,
    ) -> Result<NewServicePrincipal, Error> {
        let client_secret = secret::generate()?;
        let object_id = uuid::Uuid::new_v4().to_string();
        let secret_hash = secret::hash(&self.inner.secret_key, &object_id, &client_secret);
        let principal = Principal {
            object_id,
            tenant_id: tenant_id.to_owned(),
            client_id: uuid::Uuid::new_v4().to_string(),
            kind,
            display_name: display_name.to_owned(),
            enabled: true,
            owner_resource: owner_resource.map(str::to_owned),
        };
        self.store()
            .insert_principal(&NewPrincipalRow {
                object_id: principal.object_id.clone(),
                tenant_id: tenant_id.to_owned(),
                kind: kind.as_str().to_owned(),
                client_id: principal.client_id.clone(),
                display_name: display_name.to_owned(),
                secret_hash,
                owner_resource: owner_resource.map(str::to_owned),
                created: unix_now(),
            })
            .await?;
        Ok(NewServicePrincipal {
            principal,
            client_secret,
        })
    }

    /// Looks a principal up by object id.
    pub async fn principal(&self, object_id: &str) -> Result<Option<Principal>, Error> {
        self.inner
            .principals
            .get_or_load(&object_id.to_owned(), || async {
                self.store()
                    .principal_by_id(object_id)
                    .await?
                    .map(principal_from_row)
                    .transpose()
            })
            .await
    }

    /// Principals of a tenant (operator, or a member of that tenant).
    pub async fn list_principals(
        &self,
        caller: &Principal,
        tenant_id: &str,
    ) -> Result<Vec<Principal>, Error> {
        if !caller.is_operator() && caller.tenant_id != tenant_id {
            return Err(Error::Forbidden(
                "principals of another tenant are not visible".into(),
            ));
        }
        self.store()
            .principals_of_tenant(tenant_id)
            .await?
            .into_iter()
            .map(principal_from_row)
            .collect()
    }

    /// Enables or disables a principal (operator only). Disabling takes effect at once.
    pub async fn set_principal_enabled(
        &self,
        caller: &Principal,
        object_id: &str,
        enabled: bool,
    ) -> Result<Principal, Error> {
        require_operator(caller)?;
        let found = self
            .store()
            .set_principal_enabled(object_id, enabled)
            .await?;
        self.principals_changed();
        if !found {
            return Err(Error::NotFound(format!("principal '{object_id}'")));
        }
        if !enabled {
            let _ = self.inner.events.send(DirectoryEvent::PrincipalDisabled {
                object_id: object_id.to_owned(),
            });
        }
        self.principal(object_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("principal '{object_id}'")))
    }

    /// Deletes a service principal (operator only).
    pub async fn delete_principal(&self, caller: &Principal, object_id: &str) -> Result<(), Error> {
        require_operator(caller)?;
        let found = self.store().delete_service_principal(object_id).await?;
        self.principals_changed();
        if !found {
            return Err(Error::NotFound(format!("service principal '{object_id}'")));
        }
        let _ = self.inner.events.send(DirectoryEvent::PrincipalDisabled {
            object_id: object_id.to_owned(),
        });
        Ok(())
    }

    /// Deletes a managed identity when its resource turns it off or is deleted. A later
    /// re-enable creates a new principal with a new object id (Azure's behaviour).
    pub async fn delete_managed_identity(&self, object_id: &str) -> Result<(), Error> {
        self.store().delete_managed_identity(object_id).await?;
        self.principals_changed();
        let _ = self.inner.events.send(DirectoryEvent::PrincipalDisabled {
            object_id: object_id.to_owned(),
        });
        Ok(())
    }

    // ----- tokens --------------------------------------------------------------------------

    /// Checks client credentials for the token endpoint, from a client at `address`.
    ///
    /// An unknown tenant, an unknown client id and a wrong secret all fail alike, as
    /// [`AuthError::BadCredentials`], after the same work. Failures count against the client
    /// id and the address; past their limits every attempt fails with
    /// [`AuthError::Throttled`] before any secret is checked. Secrets are checked on blocking
    /// threads, a bounded number at once, never on the async runtime.
    pub async fn authenticate_client(
        &self,
        tenant_id: &str,
        client_id: &str,
        client_secret: &str,
        address: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        let throttle = &self.inner.throttle;
        if let Some(retry_after) = throttle.blocked(tenant_id, client_id, address) {
            return Err(AuthError::Throttled(retry_after));
        }
        let row = self
            .store()
            .principal_credentials(tenant_id, client_id)
            .await
            .map_err(Error::from)?;
        let (object_id, stored) = match &row {
            Some(row) => (row.principal.object_id.clone(), row.secret_hash.clone()),
            None => (String::new(), None),
        };
        let verified = {
            let _permit = self
                .inner
                .secret_checks
                .acquire()
                .await
                .map_err(|_| AuthError::Unavailable(Error::SigningKey))?;
            let key = self.inner.secret_key.clone();
            let secret = zeroize::Zeroizing::new(client_secret.to_owned());
            let oid = object_id.clone();
            tokio::task::spawn_blocking(move || {
                secret::verify(&key, &oid, &secret, stored.as_deref())
            })
            .await
            .unwrap_or(Verified::No)
        };
        let Some(row) = row.filter(|_| verified != Verified::No) else {
            throttle.failed(tenant_id, client_id, address);
            return Err(AuthError::BadCredentials);
        };
        if verified == Verified::YesLegacy {
            // Replace the earlier version's PBKDF2 hash with the keyed hash.
            let rehashed = secret::hash(&self.inner.secret_key, &object_id, client_secret);
            if let Err(e) = self.store().set_secret_hash(&object_id, &rehashed).await {
                tracing::warn!(error = %e, %object_id, "could not re-hash a client secret");
            }
        }
        let principal = principal_from_row(row.principal)?;
        if !principal.enabled {
            return Err(AuthError::PrincipalGone(principal.object_id));
        }
        Ok(principal)
    }

    /// Issues an access token for `principal` and `audience`, with this directory's issuer
    /// for the principal's tenant.
    pub fn issue_token(
        &self,
        principal: &Principal,
        audience: &str,
    ) -> Result<(String, i64), Error> {
        self.inner.tokens.issue(principal, audience)
    }

    /// The token signing keys, as a JWKS document.
    pub fn jwks(&self) -> serde_json::Value {
        self.inner.tokens.jwks()
    }

    /// Verifies `Authorization: Bearer <jwt>` for `audience` and re-reads the principal, which
    /// must still exist and be enabled.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        audience: &str,
    ) -> Result<Principal, AuthError> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Missing)?;
        let claims = self.inner.tokens.verify(token, audience)?;
        match self.principal(&claims.oid).await? {
            Some(p) if p.enabled && p.tenant_id == claims.tid => Ok(p),
            _ => Err(AuthError::PrincipalGone(claims.oid)),
        }
    }
}

fn require_operator(caller: &Principal) -> Result<(), Error> {
    if caller.is_operator() {
        Ok(())
    } else {
        Err(Error::Forbidden("only the operator can do this".into()))
    }
}

fn validate_display_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty() && name.len() <= 128 && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(
            "display names must be 1–128 printable characters".into(),
        ))
    }
}

fn tenant_from_row(row: TenantRow) -> Tenant {
    Tenant {
        tenant_id: row.id,
        display_name: row.display_name,
    }
}

fn principal_from_row(row: PrincipalRow) -> Result<Principal, Error> {
    Ok(Principal {
        kind: PrincipalKind::parse(&row.kind)
            .ok_or_else(|| Error::Invalid(format!("unknown principal kind {}", row.kind)))?,
        object_id: row.object_id,
        tenant_id: row.tenant_id,
        client_id: row.client_id,
        display_name: row.display_name,
        enabled: row.enabled,
        owner_resource: row.owner_resource,
    })
}

fn subscription_from_row(row: SubscriptionRow) -> Subscription {
    Subscription {
        subscription_id: row.id,
        tenant_id: row.tenant_id,
        display_name: row.display_name,
        cmk_approved: row.cmk_approved,
    }
}
