//! Revalidation: checking an account's key against its vault — every `key_check_interval`,
//! and at once on a vault or directory event — and acting on the answer:
//!
//! * usable → cache the key; a versionless key that gained a version is rewrapped under it;
//!   an account that was KeyInaccessible becomes Active (deployments stay undeployed);
//! * revoked (disabled, deleted, access removed, identity gone, vault deleted) →
//!   KeyInaccessible with the reason and time, key evicted and wiped, deployments undeployed;
//! * vault unreachable (timeout, 5xx) → keep serving from the cache until the hard limit, then
//!   fail closed (503); never KeyInaccessible, never deletion.

use std::sync::Arc;

use atrest_crypto::SecretKey;
use tokio::sync::broadcast::error::RecvError;

use super::validate::new_principal_hint;
use super::Accounts;
use crate::error::Error;
use crate::keys::{KeyRef, ProviderError};
use crate::model::{Account, KeyState, OnKeyLoss};
use crate::repo::{self, Wrapped};

/// The result of asking the vault.
enum Check {
    Usable {
        key: SecretKey,
        rewrapped: Option<Wrapped>,
        warning: Option<String>,
    },
    Revoked(String),
    Unreachable(String),
}

impl Accounts {
    /// Revalidates one account now (one check at a time per account).
    pub async fn revalidate(&self, account_id: &str) -> Result<(), Error> {
        let lock = {
            let mut map = self.inner.checking.lock().await;
            map.entry(account_id.to_owned()).or_default().clone()
        };
        let _guard = lock.lock().await;
        let Some(account) = repo::by_id(self.store(), account_id).await? else {
            self.inner.cache.forget(account_id);
            return Ok(());
        };
        let wrapped = self.store().wrapped_key(account_id).await?;
        let check = match account.mmk_version {
            Some(version) if account.cmk().is_none() => {
                let key = self
                    .inner
                    .ring
                    .unwrap(version, &wrapped.wrapped_ak, &account.id)?;
                Check::Usable {
                    key,
                    rewrapped: None,
                    warning: None,
                }
            }
            _ => self.check_cmk(&account, &wrapped).await?,
        };
        match check {
            Check::Usable {
                key,
                rewrapped,
                warning,
            } => self.on_usable(account, key, rewrapped, warning).await,
            Check::Revoked(reason) => self.on_revoked(account, reason).await,
            Check::Unreachable(detail) => {
                let outage = self.inner.cache.note_outage(&account.id, self.now());
                if outage.elapsed() > self.inner.config.vault_outage_limit {
                    self.inner.cache.evict(&account.id);
                }
                tracing::warn!(account = %account.name, %detail, "key vault unreachable; serving from the key cache");
                Ok(())
            }
        }
    }

    async fn check_cmk(&self, account: &Account, wrapped: &Wrapped) -> Result<Check, Error> {
        let Some(settings) = account.cmk() else {
            return Ok(Check::Revoked("has no key configured".into()));
        };
        let Some((principal_id, _)) = &account.identity else {
            return Ok(Check::Revoked(
                "cannot be used: the account's system-assigned identity was disabled; enable it (identity.type SystemAssigned) and grant the new principal id get, wrapKey and unwrapKey".into(),
            ));
        };
        let identity = match self.inner.directory.principal(principal_id).await? {
            Some(p) if p.enabled => p,
            _ => {
                return Ok(Check::Revoked(format!(
                    "cannot be used: the account's managed identity (principal id '{principal_id}') is disabled or deleted"
                )))
            }
        };
        let (provider, vault) = match self.inner.providers.resolve(&settings.key_vault_uri) {
            Ok(found) => found,
            // The server's configuration changed (a remote vault entry removed): an operator
            // matter, never a reason to treat the key as revoked.
            Err(e) => {
                return Ok(Check::Unreachable(format!(
                    "its vault is not configured here: {e}"
                )))
            }
        };
        let revoked = |err: ProviderError| -> Check {
            match err {
                ProviderError::Transient(m) => Check::Unreachable(m),
                ProviderError::KeyDisabled => Check::Revoked("is disabled in its vault".into()),
                ProviderError::KeyNotFound => Check::Revoked("was deleted from its vault".into()),
                ProviderError::VaultNotFound => Check::Revoked(format!("is unreachable because its vault '{}' was deleted", vault.label())),
                ProviderError::Forbidden { permission } => Check::Revoked(format!(
                    "cannot be used: access was revoked — the account's identity (principal id '{}') lacks the '{permission}' permission on the vault{}",
                    identity.object_id,
                    new_principal_hint(account, &identity)
                )),
                ProviderError::OperationNotPermitted(m) => Check::Revoked(format!("cannot be used: {m}")),
                ProviderError::Invalid(m) => Check::Unreachable(m),
            }
        };
        let mut key = KeyRef {
            vault: vault.clone(),
            name: settings.key_name.clone(),
            version: settings.key_version.clone(),
        };
        let info = match provider.get_key(&identity, &key).await {
            Ok(info) => info,
            Err(e) => return Ok(revoked(e)),
        };
        if !info.enabled {
            return Ok(Check::Revoked("is disabled in its vault".into()));
        }
        let warning = info.exp.and_then(|exp| expiry_warning(exp, self.now()));
        let wrapped_version = account.cmk_wrapped_version.clone().unwrap_or_default();
        key.version = Some(wrapped_version);
        let ak = match provider.unwrap(&identity, &key, &wrapped.wrapped_ak).await {
            Ok(ak) => ak,
            Err(e) => return Ok(revoked(e)),
        };
        let mut rewrapped = None;
        if settings.key_version.is_none()
            && Some(&info.version) != account.cmk_wrapped_version.as_ref()
        {
            // A versionless key gained a version: move the account key under it.
            key.version = Some(info.version.clone());
            match provider.wrap(&identity, &key, &ak).await {
                Ok(bytes) => {
                    rewrapped = Some(Wrapped {
                        wrapped_ak: bytes,
                        mmk_version: None,
                        cmk_wrapped_version: Some(info.version.clone()),
                    })
                }
                Err(e) => return Ok(revoked(e)),
            }
        }
        Ok(Check::Usable {
            key: ak,
            rewrapped,
            warning,
        })
    }

    async fn on_usable(
        &self,
        account: Account,
        key: SecretKey,
        rewrapped: Option<Wrapped>,
        warning: Option<String>,
    ) -> Result<(), Error> {
        let restored = account.key_state == KeyState::KeyInaccessible;
        let principal = account.identity.as_ref().map(|(oid, _)| oid.clone());
        let needs_save = restored
            || rewrapped.is_some()
            || warning != account.key_warning
            || (account.cmk().is_some() && principal != account.cmk_principal);
        if needs_save {
            let mut next = account.clone();
            next.key_state = KeyState::Active;
            next.key_state_reason = None;
            next.key_state_since = None;
            next.key_warning = warning;
            if account.cmk().is_some() {
                next.cmk_principal = principal;
            }
            if let Some(w) = &rewrapped {
                next.cmk_wrapped_version = w.cmk_wrapped_version.clone();
            }
            next.updated = self.now().max(account.updated + 1);
            let mut tx = self.inner.db.begin_write().await?;
            if !repo::save(
                self.store(),
                &mut tx,
                &next,
                account.updated,
                rewrapped.as_ref(),
            )
            .await?
            {
                return Ok(()); // changed meanwhile; the next check sees the new row
            }
            tx.commit().await?;
            if restored {
                self.audit_system(
                    "",
                    Some(&next),
                    "KeyAccessRestored",
                    "data readable again; deployments stay undeployed",
                )
                .await?;
            }
            if let Some(w) = &rewrapped {
                let detail = format!(
                    "account key rewrapped under new key version {}",
                    w.cmk_wrapped_version.as_deref().unwrap_or("")
                );
                self.audit_system("", Some(&next), "KeyVersionFollowed", &detail)
                    .await?;
            }
        }
        self.inner.cache.put(&account.id, key);
        Ok(())
    }

    async fn on_revoked(&self, account: Account, reason: String) -> Result<(), Error> {
        self.inner.cache.forget(&account.id);
        self.undeploy_all(&account.id).await;
        if account.key_state == KeyState::KeyInaccessible
            && account.key_state_reason.as_deref() == Some(&reason)
        {
            return Ok(());
        }
        let mut next = account.clone();
        if account.key_state != KeyState::KeyInaccessible {
            next.key_state_since = Some(self.now());
        }
        next.key_state = KeyState::KeyInaccessible;
        next.key_state_reason = Some(reason.clone());
        next.updated = self.now().max(account.updated + 1);
        let mut tx = self.inner.db.begin_write().await?;
        if repo::save(self.store(), &mut tx, &next, account.updated, None).await? {
            tx.commit().await?;
            self.audit_system("", Some(&next), "KeyInaccessible", &reason)
                .await?;
        }
        Ok(())
    }

    /// Revalidates every account on customer-managed keys, applies `onKeyLoss: delete` after
    /// its grace period, and finishes any platform-key rewrap. Run every `key_check_interval`.
    pub async fn check_all(&self) -> Result<(), Error> {
        for id in repo::cmk_ids(self.store(), None, None).await? {
            if let Err(e) = self.revalidate(&id).await {
                tracing::error!(error = %e, "revalidation failed");
            }
        }
        self.delete_lost_data().await?;
        self.inner.ring.rewrap_all().await?;
        Ok(())
    }

    async fn delete_lost_data(&self) -> Result<(), Error> {
        let grace = self.inner.config.key_loss_grace.as_secs() as i64;
        let ids = self
            .store()
            .inaccessible_account_ids(OnKeyLoss::Delete.as_str(), self.now() - grace)
            .await?;
        for id in ids {
            if let Some(account) = repo::by_id(self.store(), &id).await? {
                self.delete_account_data(&account).await?;
            }
        }
        Ok(())
    }

    /// Starts the background work: the periodic check and the event listeners.
    pub fn start_background(
        &self,
        vault_events: Option<tokio::sync::broadcast::Receiver<atrest_vault::VaultEvent>>,
    ) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(this.inner.config.key_check_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = this.check_all().await {
                    tracing::error!(error = %e, "periodic key check failed");
                }
            }
        });
        if let Some(mut events) = vault_events {
            let this = self.clone();
            tokio::spawn(async move {
                loop {
                    let ids = match events.recv().await {
                        Ok(event) => {
                            repo::cmk_ids(this.store(), Some(&event.vault_name), None).await
                        }
                        Err(RecvError::Lagged(_)) => repo::cmk_ids(this.store(), None, None).await,
                        Err(RecvError::Closed) => return,
                    };
                    this.revalidate_spawned(ids);
                }
            });
        }
        let mut directory = self.inner.directory.subscribe();
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let ids = match directory.recv().await {
                    Ok(atrest_identity::DirectoryEvent::PrincipalDisabled { object_id }) => {
                        repo::cmk_ids(this.store(), None, Some(&object_id)).await
                    }
                    Err(RecvError::Lagged(_)) => repo::cmk_ids(this.store(), None, None).await,
                    Err(RecvError::Closed) => return,
                };
                this.revalidate_spawned(ids);
            }
        });
    }

    fn revalidate_spawned(&self, ids: Result<Vec<String>, Error>) {
        for id in ids.unwrap_or_default() {
            let this = Arc::new(self.clone());
            tokio::spawn(async move {
                if let Err(e) = this.revalidate(&id).await {
                    tracing::error!(error = %e, "event-driven revalidation failed");
                }
            });
        }
    }
}

/// How long before a key's `exp` the account warns (Key Vault's default notification time).
const NEAR_EXPIRY: i64 = 30 * 86_400;

/// The account's warning about its key's expiry, as `code: message`. An expired key does not
/// lock data (unwrapKey still works past `exp`), so this is a warning, never a revocation.
fn expiry_warning(exp: i64, now: i64) -> Option<String> {
    if exp <= now {
        Some("keyExpired: the key has passed its expiry date; data stays readable, but rotate or extend the key".to_owned())
    } else if exp - now <= NEAR_EXPIRY {
        Some(format!(
            "keyNearExpiry: the key expires at {}; rotate it or extend its expiry before then (data stays readable after, but an expired key cannot be chosen again)",
            crate::model::rfc3339(exp)
        ))
    } else {
        None
    }
}
