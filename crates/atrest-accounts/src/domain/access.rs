//! Data-plane access: who may call (an API key or a Contributor's token), and the account key
//! every data operation needs — from the cache, or unwrapped on demand, or refused with the
//! reason (403 KeyInaccessible, 503 when the vault has been unreachable past the hard limit).

use std::sync::Arc;

use atrest_identity::{Principal, Role};
use zeroize::Zeroizing;

use super::Accounts;
use crate::error::Error;
use crate::keys::locked::LockedKey;
use crate::model::{rfc3339, Account, KeyState};
use crate::repo;

/// A data-plane caller.
#[derive(Debug, Clone)]
pub enum DataCaller {
    /// `Ocp-Apim-Subscription-Key`.
    ApiKey(Zeroizing<String>),
    /// A bearer token for `https://cognitiveservices.azure.com`.
    Principal(Principal),
}

impl DataCaller {
    /// Object id for the audit log.
    pub fn audit_id(&self) -> String {
        match self {
            Self::ApiKey(_) => "api-key".into(),
            Self::Principal(p) => p.object_id.clone(),
        }
    }
}

impl Accounts {
    /// Authorizes a data-plane caller for account `name` and returns the account with its key.
    pub(super) async fn open_data(
        &self,
        name: &str,
        caller: &DataCaller,
    ) -> Result<(Account, Arc<LockedKey>), Error> {
        let account = self.authorize_data(name, caller).await?;
        let key = self.data_key(&account).await?;
        Ok((account, key))
    }

    /// Authorizes without needing the key (listing deployments, deleting).
    pub(super) async fn authorize_data(
        &self,
        name: &str,
        caller: &DataCaller,
    ) -> Result<Account, Error> {
        let found = repo::by_name(self.store(), name).await?;
        let denied = || {
            Error::Unauthenticated(format!(
                "Access denied due to invalid subscription key or wrong API endpoint for account '{name}'. Use a key from listKeys or a token for https://cognitiveservices.azure.com from a Contributor."
            ))
        };
        let Some(account) = found else {
            return Err(match caller {
                DataCaller::ApiKey(_) => denied(),
                DataCaller::Principal(_) => Error::NotFound {
                    what: "account",
                    name: name.to_owned(),
                },
            });
        };
        match caller {
            DataCaller::ApiKey(key) => {
                if self.api_key_matches(&account, key).await? {
                    Ok(account)
                } else {
                    Err(denied())
                }
            }
            DataCaller::Principal(p) => {
                let same_tenant = p.tenant_id.eq_ignore_ascii_case(&account.tenant_id);
                let role = self
                    .inner
                    .directory
                    .role_of(p, &account.subscription_id)
                    .await?;
                if same_tenant && role.is_some_and(|r| r >= Role::Contributor) {
                    Ok(account)
                } else {
                    Err(Error::Forbidden(format!(
                        "principal '{}' needs the Contributor or Owner role on subscription '{}' to use account '{name}'",
                        p.object_id, account.subscription_id
                    )))
                }
            }
        }
    }

    /// The account key, or why it cannot be had.
    pub(super) async fn data_key(&self, account: &Account) -> Result<Arc<LockedKey>, Error> {
        for attempt in 0..2 {
            if account.key_state == KeyState::KeyInaccessible && attempt == 0 {
                // The stored state may be older than this node's cache; trust the row.
                return Err(self.inaccessible(account));
            }
            let (key, outage) = self.inner.cache.get(&account.id);
            let limit = self.inner.config.vault_outage_limit;
            match (key, outage) {
                (Some(key), None) => return Ok(key),
                (Some(key), Some(o)) if o.elapsed() <= limit => return Ok(key),
                (_, Some(o)) if o.elapsed() > limit || attempt == 1 => {
                    self.inner.cache.evict(&account.id);
                    return Err(self.unavailable(account, o.since));
                }
                _ if attempt == 1 => {
                    let fresh = repo::by_id(self.store(), &account.id).await?;
                    return Err(match fresh {
                        Some(a) if a.key_state == KeyState::KeyInaccessible => {
                            self.inaccessible(&a)
                        }
                        _ => self.unavailable(account, self.now()),
                    });
                }
                _ => {
                    self.revalidate(&account.id).await?;
                }
            }
        }
        Err(self.unavailable(account, self.now()))
    }

    /// Since when this node has not reached the account's vault, if it has not.
    pub fn availability(&self, account: &Account) -> Option<i64> {
        self.inner.cache.get(&account.id).1.map(|o| o.since)
    }

    fn inaccessible(&self, account: &Account) -> Error {
        Error::KeyInaccessible {
            key: key_label(account),
            reason: account
                .key_state_reason
                .clone()
                .unwrap_or_else(|| "cannot be used".into()),
            since: rfc3339(account.key_state_since.unwrap_or_default()),
        }
    }

    fn unavailable(&self, account: &Account, since: i64) -> Error {
        Error::KeyUnavailable {
            key: key_label(account),
            since: rfc3339(since),
            limit_secs: self.inner.config.vault_outage_limit.as_secs(),
        }
    }
}

/// `'https://vault/keys/name'` for messages (or the platform key).
pub(super) fn key_label(account: &Account) -> String {
    match account.cmk() {
        Some(c) => format!("'{}'", c.key_id()),
        None => "(platform-managed key)".into(),
    }
}
