//! Content Safety blocklists: names sealed under the platform key ring (always MMK), items
//! under the account key; text screening against them.

use atrest_crypto::SecretKey;
use atrest_store::accounts::{BlocklistItemRow, BlocklistRow};

use super::sealing::{open_small, seal_small};
use super::{Accounts, DataCaller};
use crate::error::Error;
use crate::keys::ring::blocklist_context;
use crate::model::{valid_child_name, Account};

/// A blocklist item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistItem {
    /// Item id.
    pub id: String,
    /// The text.
    pub text: String,
}

/// A screening hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistMatch {
    /// Blocklist name.
    pub blocklist: String,
    /// Item id.
    pub item_id: String,
    /// Item text.
    pub text: String,
}

impl Accounts {
    fn list_index(&self, account: &Account, name: &str) -> String {
        let key = self.inner.ring.index_key("blocklists");
        hex::encode(
            aws_lc_rs::hmac::sign(&key, format!("{}\0{name}", account.id).as_bytes()).as_ref(),
        )
    }

    /// Creates a blocklist (idempotent).
    pub async fn put_blocklist(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
    ) -> Result<(), Error> {
        if !valid_child_name(name) {
            return Err(Error::BadRequest(format!(
                "blocklist name '{name}' is invalid: use 1-64 letters, digits, '-', '_' or '.'"
            )));
        }
        let (account, _ak) = self.open_data(account, caller).await?;
        let index = self.list_index(&account, name);
        let (version, sealed) = self
            .inner
            .ring
            .seal_meta(&blocklist_context(&account.id, &index), name.as_bytes())?;
        self.store()
            .insert_blocklist(&BlocklistRow {
                account_id: account.id.clone(),
                name_index: index,
                name_sealed: sealed,
                mmk_version: version,
                created: self.now(),
            })
            .await?;
        Ok(())
    }

    /// Lists blocklist names (readable under MMK even while the account key is inaccessible).
    pub async fn list_blocklists(
        &self,
        account: &str,
        caller: &DataCaller,
    ) -> Result<Vec<String>, Error> {
        let account = self.authorize_data(account, caller).await?;
        let rows = self.store().blocklists(&account.id).await?;
        let mut names = Vec::new();
        for row in rows {
            let plain = self.inner.ring.open_meta(
                row.mmk_version,
                &blocklist_context(&account.id, &row.name_index),
                &row.name_sealed,
            )?;
            names.push(String::from_utf8(plain).map_err(Error::internal)?);
        }
        Ok(names)
    }

    /// Deletes a blocklist and its items.
    pub async fn delete_blocklist(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
    ) -> Result<(), Error> {
        let account = self.authorize_data(account, caller).await?;
        let index = self.list_index(&account, name);
        let mut tx = self.inner.db.begin_write().await?;
        let existed = self
            .store()
            .delete_blocklist(&mut tx, &account.id, &index)
            .await?;
        tx.commit().await?;
        if !existed {
            return Err(Error::NotFound {
                what: "blocklist",
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Adds items (each text encrypted under the account key).
    pub async fn add_blocklist_items(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
        texts: &[String],
    ) -> Result<Vec<BlocklistItem>, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        let index = self.existing_list(&account, name).await?;
        if texts.is_empty()
            || texts.len() > 100
            || texts
                .iter()
                .any(|t| t.is_empty() || t.chars().count() > 128)
        {
            return Err(Error::BadRequest(
                "send 1-100 items of 1-128 characters each".into(),
            ));
        }
        let mut tx = self.inner.db.begin_write().await?;
        let mut items = Vec::new();
        for text in texts {
            let id = uuid::Uuid::new_v4().to_string();
            let sealed = seal_small(&ak, &account, &id, "blocklist-item", text.as_bytes())?;
            let item = BlocklistItemRow {
                account_id: account.id.clone(),
                blocklist: index.clone(),
                id: id.clone(),
                text_sealed: sealed,
                created: self.now(),
            };
            self.store().insert_blocklist_item(&mut tx, &item).await?;
            items.push(BlocklistItem {
                id,
                text: text.clone(),
            });
        }
        tx.commit().await?;
        Ok(items)
    }

    /// Lists a blocklist's items.
    pub async fn list_blocklist_items(
        &self,
        account: &str,
        caller: &DataCaller,
        name: &str,
    ) -> Result<Vec<BlocklistItem>, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        let index = self.existing_list(&account, name).await?;
        self.items(&account, &ak, &index).await
    }

    /// Screens a text against the named blocklists (case-insensitive substring match).
    pub async fn analyze_text(
        &self,
        account: &str,
        caller: &DataCaller,
        text: &str,
        lists: &[String],
    ) -> Result<Vec<BlocklistMatch>, Error> {
        let (account, ak) = self.open_data(account, caller).await?;
        let haystack = text.to_lowercase();
        let mut hits = Vec::new();
        for list in lists {
            let index = self.existing_list(&account, list).await?;
            for item in self.items(&account, &ak, &index).await? {
                if haystack.contains(&item.text.to_lowercase()) {
                    hits.push(BlocklistMatch {
                        blocklist: list.clone(),
                        item_id: item.id,
                        text: item.text,
                    });
                }
            }
        }
        Ok(hits)
    }

    async fn existing_list(&self, account: &Account, name: &str) -> Result<String, Error> {
        let index = self.list_index(account, name);
        let found = self.store().blocklist_exists(&account.id, &index).await?;
        found.then_some(index).ok_or_else(|| Error::NotFound {
            what: "blocklist",
            name: name.to_owned(),
        })
    }

    async fn items(
        &self,
        account: &Account,
        ak: &SecretKey,
        index: &str,
    ) -> Result<Vec<BlocklistItem>, Error> {
        let rows = self.store().blocklist_items(&account.id, index).await?;
        rows.into_iter()
            .map(|row| {
                let sealed = open_small(ak, account, &row.id, "blocklist-item", &row.text_sealed)?;
                let text = String::from_utf8(sealed).map_err(Error::internal)?;
                Ok(BlocklistItem { id: row.id, text })
            })
            .collect()
    }
}
