//! The directory facade: every operation takes the caller and checks what it may do.

use std::sync::Arc;

use atrest_crypto::SecretKey;
use atrest_store::{unix_now, Db, RowCache};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use tokio::sync::broadcast;

use crate::tokens::TokenService;
use crate::{secret, AuthError, Error, Principal, PrincipalKind, Role, Subscription, Tenant};

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

/// The directory. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    tokens: TokenService,
    events: broadcast::Sender<DirectoryEvent>,
    /// Principals by object id, read on every authenticated request. Exact, not merely
    /// fresh: every write to `principals` here calls [`Directory::principals_changed`] before
    /// it returns.
    principals: RowCache<String, Principal>,
}

/// How many principals stay in memory.
const PRINCIPAL_CACHE_ENTRIES: usize = 16_384;

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").finish_non_exhaustive()
    }
}

const PRINCIPAL_COLUMNS: &str =
    "object_id, tenant_id, client_id, kind, display_name, enabled, owner_resource";

impl Directory {
    /// Opens the directory, creating the token signing key on first start.
    pub async fn open(db: Db, root: &SecretKey) -> Result<Self, Error> {
        let tokens = TokenService::load_or_create(&db, root).await?;
        let (events, _) = broadcast::channel(1024);
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                tokens,
                events,
                principals: RowCache::new(PRINCIPAL_CACHE_ENTRIES),
            }),
        })
    }

    fn db(&self) -> &Db {
        &self.inner.db
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
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT object_id FROM principals WHERE kind = 'operator'")
                .fetch_optional(self.db().pool())
                .await?;
        if existing.is_some() {
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
        sqlx::query("INSERT INTO tenants (id, display_name, created) VALUES ($1, $2, $3)")
            .bind(&tenant.tenant_id)
            .bind(&tenant.display_name)
            .bind(unix_now())
            .execute(self.db().pool())
            .await?;
        Ok(tenant)
    }

    /// Lists tenants: all for the operator, the caller's own otherwise.
    pub async fn list_tenants(&self, caller: &Principal) -> Result<Vec<Tenant>, Error> {
        let rows: Vec<(String, String)> = if caller.is_operator() {
            sqlx::query_as("SELECT id, display_name FROM tenants ORDER BY created")
                .fetch_all(self.db().pool())
                .await?
        } else {
            sqlx::query_as("SELECT id, display_name FROM tenants WHERE id = $1")
                .bind(&caller.tenant_id)
                .fetch_all(self.db().pool())
                .await?
        };
        Ok(rows
            .into_iter()
            .map(|(tenant_id, display_name)| Tenant {
                tenant_id,
                display_name,
            })
            .collect())
    }

    /// Looks a tenant up.
    pub async fn tenant(&self, tenant_id: &str) -> Result<Option<Tenant>, Error> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT id, display_name FROM tenants WHERE id = $1")
                .bind(tenant_id)
                .fetch_optional(self.db().pool())
                .await?;
        Ok(row.map(|(tenant_id, display_name)| Tenant {
            tenant_id,
            display_name,
        }))
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
        sqlx::query(
            "INSERT INTO subscriptions (id, tenant_id, display_name, created) VALUES ($1, $2, $3, $4)",
        )
        .bind(&subscription.subscription_id)
        .bind(tenant_id)
        .bind(display_name)
        .bind(unix_now())
        .execute(&mut *tx)
        .await?;
        if let Some(owner) = owner {
            let owner_tenant: Option<(String,)> =
                sqlx::query_as("SELECT tenant_id FROM principals WHERE object_id = $1")
                    .bind(owner)
                    .fetch_optional(&mut *tx)
                    .await?;
            match owner_tenant {
                Some((t,)) if t == tenant_id => {}
                Some(_) => {
                    return Err(Error::Invalid(format!(
                        "principal '{owner}' belongs to another tenant"
                    )))
                }
                None => return Err(Error::NotFound(format!("principal '{owner}'"))),
            }
            sqlx::query("INSERT INTO role_assignments (principal_id, subscription_id, role) VALUES ($1, $2, 'Owner')")
                .bind(owner)
                .bind(&subscription.subscription_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(subscription)
    }

    /// Looks a subscription up.
    pub async fn subscription(&self, id: &str) -> Result<Option<Subscription>, Error> {
        let row = sqlx::query(
            "SELECT id, tenant_id, display_name, cmk_approved FROM subscriptions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db().pool())
        .await?;
        row.map(|r| subscription_from_row(&r)).transpose()
    }

    /// Subscriptions the caller can see (all of them for the operator).
    pub async fn list_subscriptions(&self, caller: &Principal) -> Result<Vec<Subscription>, Error> {
        let rows = if caller.is_operator() {
            sqlx::query("SELECT id, tenant_id, display_name, cmk_approved FROM subscriptions ORDER BY created")
                .fetch_all(self.db().pool())
                .await?
        } else {
            sqlx::query(
                "SELECT s.id, s.tenant_id, s.display_name, s.cmk_approved FROM subscriptions s \
                 JOIN role_assignments r ON r.subscription_id = s.id WHERE r.principal_id = $1 ORDER BY s.created",
            )
            .bind(&caller.object_id)
            .fetch_all(self.db().pool())
            .await?
        };
        rows.iter().map(subscription_from_row).collect()
    }

    /// Approves (or withdraws approval for) customer-managed keys in a subscription (operator only).
    pub async fn set_cmk_approved(
        &self,
        caller: &Principal,
        id: &str,
        approved: bool,
    ) -> Result<Subscription, Error> {
        require_operator(caller)?;
        let done = sqlx::query("UPDATE subscriptions SET cmk_approved = $1 WHERE id = $2")
            .bind(atrest_store::SqlBool::from(approved))
            .bind(id)
            .execute(self.db().pool())
            .await?;
        if done.rows_affected() == 0 {
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
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT role FROM role_assignments WHERE principal_id = $1 AND subscription_id = $2",
        )
        .bind(&principal.object_id)
        .bind(subscription_id)
        .fetch_optional(self.db().pool())
        .await?;
        Ok(row.and_then(|(role,)| Role::parse(&role)))
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
        sqlx::query(
            "INSERT INTO role_assignments (principal_id, subscription_id, role) VALUES ($1, $2, $3) \
             ON CONFLICT (principal_id, subscription_id) DO UPDATE SET role = excluded.role",
        )
        .bind(principal_id)
        .bind(subscription_id)
        .bind(role.as_str())
        .execute(self.db().pool())
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
        let principal = Principal {
            object_id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant_id.to_owned(),
            client_id: uuid::Uuid::new_v4().to_string(),
            kind,
            display_name: display_name.to_owned(),
            enabled: true,
            owner_resource: owner_resource.map(str::to_owned),
        };
        sqlx::query(
            "INSERT INTO principals (object_id, tenant_id, kind, client_id, display_name, secret_hash, \
             enabled, owner_resource, created) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)",
        )
        .bind(&principal.object_id)
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(&principal.client_id)
        .bind(display_name)
        .bind(secret::hash(&client_secret)?)
        .bind(owner_resource)
        .bind(unix_now())
        .execute(self.db().pool())
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
                let row = sqlx::query(&format!(
                    "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE object_id = $1"
                ))
                .bind(object_id)
                .fetch_optional(self.db().pool())
                .await?;
                row.map(|r| principal_from_row(&r)).transpose()
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
        let rows = sqlx::query(&format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant_id = $1 ORDER BY created"
        ))
        .bind(tenant_id)
        .fetch_all(self.db().pool())
        .await?;
        rows.iter().map(principal_from_row).collect()
    }

    /// Enables or disables a principal (operator only). Disabling takes effect at once.
    pub async fn set_principal_enabled(
        &self,
        caller: &Principal,
        object_id: &str,
        enabled: bool,
    ) -> Result<Principal, Error> {
        require_operator(caller)?;
        let done = sqlx::query(
            "UPDATE principals SET enabled = $1 WHERE object_id = $2 AND kind != 'operator'",
        )
        .bind(atrest_store::SqlBool::from(enabled))
        .bind(object_id)
        .execute(self.db().pool())
        .await?;
        self.principals_changed();
        if done.rows_affected() == 0 {
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
        let done = sqlx::query(
            "DELETE FROM principals WHERE object_id = $1 AND kind = 'servicePrincipal'",
        )
        .bind(object_id)
        .execute(self.db().pool())
        .await?;
        self.principals_changed();
        if done.rows_affected() == 0 {
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
        sqlx::query("DELETE FROM principals WHERE object_id = $1 AND kind = 'managedIdentity'")
            .bind(object_id)
            .execute(self.db().pool())
            .await?;
        self.principals_changed();
        let _ = self.inner.events.send(DirectoryEvent::PrincipalDisabled {
            object_id: object_id.to_owned(),
        });
        Ok(())
    }

    // ----- tokens --------------------------------------------------------------------------

    /// Checks client credentials for the token endpoint.
    pub async fn authenticate_client(
        &self,
        tenant_id: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Principal, AuthError> {
        let row = sqlx::query(&format!(
            "SELECT {PRINCIPAL_COLUMNS}, secret_hash FROM principals WHERE client_id = $1 AND tenant_id = $2"
        ))
        .bind(client_id)
        .bind(tenant_id)
        .fetch_optional(self.db().pool())
        .await
        .map_err(Error::from)?;
        let Some(row) = row else {
            return Err(AuthError::Invalid(format!(
                "application '{client_id}' was not found in tenant '{tenant_id}'"
            )));
        };
        let stored: Option<String> = row.try_get("secret_hash").map_err(Error::from)?;
        let principal = principal_from_row(&row)?;
        // Hash even for principals without a secret, so timing does not reveal which exist.
        let ok = secret::verify(
            client_secret,
            stored.as_deref().unwrap_or("pbkdf2-sha256$1$AA$AA"),
        );
        if !ok || stored.is_none() {
            return Err(AuthError::Invalid("invalid client secret".into()));
        }
        if !principal.enabled {
            return Err(AuthError::PrincipalGone(principal.object_id));
        }
        Ok(principal)
    }

    /// Issues an access token for `principal` and `audience`.
    pub fn issue_token(
        &self,
        principal: &Principal,
        audience: &str,
        issuer: &str,
    ) -> Result<(String, i64), Error> {
        self.inner.tokens.issue(principal, audience, issuer)
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

fn principal_from_row(row: &AnyRow) -> Result<Principal, Error> {
    let kind: String = row.try_get("kind")?;
    Ok(Principal {
        object_id: row.try_get("object_id")?,
        tenant_id: row.try_get("tenant_id")?,
        client_id: row.try_get("client_id")?,
        kind: PrincipalKind::parse(&kind)
            .ok_or_else(|| Error::Invalid(format!("unknown principal kind {kind}")))?,
        display_name: row.try_get("display_name")?,
        enabled: row.try_get::<atrest_store::SqlBool, _>("enabled")?.into(),
        owner_resource: row.try_get("owner_resource")?,
    })
}

fn subscription_from_row(row: &AnyRow) -> Result<Subscription, Error> {
    Ok(Subscription {
        subscription_id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        display_name: row.try_get("display_name")?,
        cmk_approved: row
            .try_get::<atrest_store::SqlBool, _>("cmk_approved")?
            .into(),
    })
}
