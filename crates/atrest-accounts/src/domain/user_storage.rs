//! Bring-your-own-storage (BYOS) for Speech: which registered container an account writes its
//! objects to, checked before it is saved.

use super::Accounts;
use crate::error::Error;
use crate::model::Account;

/// Kinds whose data may live in the customer's own storage (Speech, and the multi-service
/// kind that includes Speech).
const BYOS_KINDS: [&str; 2] = ["SpeechServices", "CognitiveServices"];

impl Accounts {
    /// Validates `userOwnedStorage` for `account`: empty means platform storage; otherwise one
    /// registered storage account of the account's region that atrest can write, read and
    /// delete in. Returns the resource id to store.
    pub(super) async fn check_user_storage(
        &self,
        account: &Account,
        resource_ids: &[String],
    ) -> Result<Option<String>, Error> {
        let resource_id = match resource_ids {
            [] => return Ok(None),
            [one] => one,
            _ => {
                return Err(Error::BadRequest(
                    "userOwnedStorage takes one storage account".into(),
                ))
            }
        };
        if !BYOS_KINDS.contains(&account.kind.as_str()) {
            return Err(Error::BadRequest(format!(
                "userOwnedStorage is for SpeechServices (and CognitiveServices) accounts; '{}' is {}",
                account.name, account.kind
            )));
        }
        let store = self.inner.blobs.user_store(resource_id).ok_or_else(|| {
            Error::BadRequest(format!(
                "storage account '{resource_id}' is not registered with this service: ask the operator to add it under [[accounts.storage_accounts]]"
            ))
        })?;
        if store.config.location != account.location {
            return Err(Error::CrossRegion {
                account: account.location.clone(),
                store: store.config.location.clone(),
            });
        }
        store.probe().await.map_err(|e| match e {
            Error::UserStorage { .. } => Error::BadRequest(e.to_string()),
            other => other,
        })?;
        Ok(Some(store.config.resource_id.clone()))
    }
}
