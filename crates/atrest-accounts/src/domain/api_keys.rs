//! The data-plane API keys: two per account, stored only as `salt:sha256(key)`; the key itself
//! is re-derived from the salt (HMAC under a root-derived key) for listKeys.

use atrest_identity::{Principal, Role};
use aws_lc_rs::{constant_time, digest, hmac};
use zeroize::Zeroizing;

use super::manage::scope;
use super::spec::ApiKeys;
use super::Accounts;
use crate::error::Error;
use crate::model::Account;

impl Accounts {
    /// The two data-plane keys.
    pub async fn list_keys(
        &self,
        caller: &Principal,
        sub: &str,
        group: &str,
        name: &str,
    ) -> Result<ApiKeys, Error> {
        self.authorize_mgmt(
            caller,
            sub,
            Role::Contributor,
            "Microsoft.CognitiveServices/accounts/listKeys/action",
            scope(sub, group, name),
        )
        .await?;
        let account = self.account_in_group(sub, group, name).await?;
        let (h1, h2) = self.store().key_hashes(&account.id).await?;
        Ok(ApiKeys {
            key1: self.key_from_hash(&h1)?,
            key2: self.key_from_hash(&h2)?,
        })
    }

    /// Replaces `Key1` or `Key2` with a new random key; the old one stops working at once.
    pub async fn regenerate_key(
        &self,
        caller: &Principal,
        sub: &str,
        group: &str,
        name: &str,
        which: &str,
    ) -> Result<ApiKeys, Error> {
        self.authorize_mgmt(
            caller,
            sub,
            Role::Contributor,
            "Microsoft.CognitiveServices/accounts/regenerateKey/action",
            scope(sub, group, name),
        )
        .await?;
        let account = self.account_in_group(sub, group, name).await?;
        let fresh = self.new_key_hash()?;
        match which.to_ascii_lowercase().as_str() {
            "key1" => {
                self.store()
                    .set_key_hashes(&account.id, Some(&fresh), None)
                    .await?
            }
            "key2" => {
                self.store()
                    .set_key_hashes(&account.id, None, Some(&fresh))
                    .await?
            }
            _ => return Err(Error::BadRequest("keyName must be Key1 or Key2".into())),
        }
        self.audit(
            &account,
            &caller.object_id,
            "RegenerateKey",
            Ok(()),
            Some(which.to_owned()),
        )
        .await?;
        self.list_keys(caller, sub, group, name).await
    }

    /// Whether `presented` is one of the account's data-plane keys (constant time).
    pub(super) async fn api_key_matches(
        &self,
        account: &Account,
        presented: &str,
    ) -> Result<bool, Error> {
        let (h1, h2) = self.store().key_hashes(&account.id).await?;
        let hash = hex::encode(digest::digest(&digest::SHA256, presented.as_bytes()));
        let mut ok = false;
        for stored in [h1, h2] {
            let stored_hash = stored.split_once(':').map_or("", |(_, h)| h);
            ok |= constant_time::verify_slices_are_equal(stored_hash.as_bytes(), hash.as_bytes())
                .is_ok();
        }
        Ok(ok)
    }

    /// `salt:sha256(key)` where key = HMAC(index key, salt): only the hash verifies requests;
    /// listKeys re-derives the key from the salt.
    pub(super) fn new_key_hash(&self) -> Result<String, Error> {
        let salt = hex::encode(atrest_crypto::random::bytes(16)?);
        let key = self.derive_api_key(&salt);
        Ok(format!(
            "{salt}:{}",
            hex::encode(digest::digest(&digest::SHA256, key.as_bytes()))
        ))
    }

    fn key_from_hash(&self, stored: &str) -> Result<Zeroizing<String>, Error> {
        let salt = stored.split_once(':').map(|(s, _)| s).unwrap_or_default();
        Ok(self.derive_api_key(salt))
    }

    fn derive_api_key(&self, salt: &str) -> Zeroizing<String> {
        let key = self.inner.ring.index_key("api-keys");
        Zeroizing::new(hex::encode(
            &hmac::sign(&key, salt.as_bytes()).as_ref()[..16],
        ))
    }
}
