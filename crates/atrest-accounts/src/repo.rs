//! Account rows ↔ [`Account`]s, over the [`AccountStore`]. No business rules here.

use atrest_store::accounts::{AccountRow, AccountStore};
use atrest_store::WriteTx;

use crate::error::Error;
use crate::model::{
    Account, CmkSettings, Encryption, KeyState, OnKeyLoss, KEY_SOURCE_CMK, KEY_SOURCE_MMK,
};

/// The wrapped account key and what wraps it.
pub(crate) use atrest_store::accounts::WrappedKeyRow as Wrapped;

/// Loads an account by (case-insensitive) name.
pub(crate) async fn by_name(
    store: &dyn AccountStore,
    name: &str,
) -> Result<Option<Account>, Error> {
    Ok(store.account_by_name(name).await?.map(from_row))
}

/// Loads an account by id.
pub(crate) async fn by_id(store: &dyn AccountStore, id: &str) -> Result<Option<Account>, Error> {
    Ok(store.account_by_id(id).await?.map(from_row))
}

/// Accounts in a resource group.
pub(crate) async fn in_group(
    store: &dyn AccountStore,
    sub: &str,
    group: &str,
) -> Result<Vec<Account>, Error> {
    Ok(store
        .accounts_in_group(sub, group)
        .await?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Ids of accounts on customer-managed keys, optionally only those of one co-located vault or
/// one identity.
pub(crate) async fn cmk_ids(
    store: &dyn AccountStore,
    vault: Option<&str>,
    identity: Option<&str>,
) -> Result<Vec<String>, Error> {
    Ok(store
        .account_ids_by_key_source(KEY_SOURCE_CMK, vault, identity)
        .await?)
}

/// Inserts a new account.
pub(crate) async fn insert(
    store: &dyn AccountStore,
    tx: &mut WriteTx,
    account: &Account,
    wrapped: &Wrapped,
    key_hashes: (&str, &str),
) -> Result<(), Error> {
    store
        .insert_account(tx, &to_row(account), wrapped, key_hashes.0, key_hashes.1)
        .await?;
    Ok(())
}

/// Saves every mutable field and, when given, the wrapped key — only if nobody changed the
/// row since `expected_updated` (else `false`).
pub(crate) async fn save(
    store: &dyn AccountStore,
    tx: &mut WriteTx,
    account: &Account,
    expected_updated: i64,
    wrapped: Option<&Wrapped>,
) -> Result<bool, Error> {
    Ok(store
        .save_account(tx, &to_row(account), expected_updated, wrapped)
        .await?)
}

fn to_row(account: &Account) -> AccountRow {
    let (source, uri, name, version, client) = match &account.encryption {
        Encryption::Platform => (KEY_SOURCE_MMK, None, None, None, None),
        Encryption::Customer(c) => (
            KEY_SOURCE_CMK,
            Some(c.key_vault_uri.clone()),
            Some(c.key_name.clone()),
            c.key_version.clone(),
            c.identity_client_id.clone(),
        ),
    };
    AccountRow {
        id: account.id.clone(),
        name: account.name.clone(),
        subscription_id: account.subscription_id.clone(),
        resource_group: account.resource_group.clone(),
        tenant_id: account.tenant_id.clone(),
        location: account.location.clone(),
        kind: account.kind.clone(),
        sku: account.sku.clone(),
        tags: serde_json::to_string(&account.tags).unwrap_or_else(|_| "{}".into()),
        identity_principal: account.identity.as_ref().map(|i| i.0.clone()),
        identity_client: account.identity.as_ref().map(|i| i.1.clone()),
        key_source: source.to_owned(),
        key_vault_uri: uri,
        key_vault_name: account.key_vault_name.clone(),
        key_name: name,
        key_version: version,
        identity_client_req: client,
        mmk_version: account.mmk_version,
        cmk_wrapped_version: account.cmk_wrapped_version.clone(),
        cmk_principal: account.cmk_principal.clone(),
        key_state: account.key_state.as_str().to_owned(),
        key_state_reason: account.key_state_reason.clone(),
        key_state_since: account.key_state_since,
        key_warning: account.key_warning.clone(),
        on_key_loss: account.on_key_loss.as_str().to_owned(),
        data_deleted_at: account.data_deleted_at,
        created: account.created,
        updated: account.updated,
        user_owned_storage: account.user_owned_storage.clone(),
        infrastructure_encryption: account.infrastructure_encryption,
    }
}

fn from_row(row: AccountRow) -> Account {
    let encryption = if row.key_source == KEY_SOURCE_CMK {
        Encryption::Customer(CmkSettings {
            key_vault_uri: row.key_vault_uri.unwrap_or_default(),
            key_name: row.key_name.unwrap_or_default(),
            key_version: row.key_version,
            identity_client_id: row.identity_client_req,
        })
    } else {
        Encryption::Platform
    };
    Account {
        id: row.id,
        name: row.name,
        subscription_id: row.subscription_id,
        resource_group: row.resource_group,
        tenant_id: row.tenant_id,
        location: row.location,
        kind: row.kind,
        sku: row.sku,
        tags: serde_json::from_str(&row.tags).unwrap_or_default(),
        identity: row.identity_principal.zip(row.identity_client),
        encryption,
        key_vault_name: row.key_vault_name,
        cmk_wrapped_version: row.cmk_wrapped_version,
        cmk_principal: row.cmk_principal,
        mmk_version: row.mmk_version,
        key_state: KeyState::parse(&row.key_state),
        key_state_reason: row.key_state_reason,
        key_state_since: row.key_state_since,
        key_warning: row.key_warning,
        on_key_loss: OnKeyLoss::parse(&row.on_key_loss).unwrap_or(OnKeyLoss::Block),
        data_deleted_at: row.data_deleted_at,
        user_owned_storage: row.user_owned_storage,
        infrastructure_encryption: row.infrastructure_encryption,
        created: row.created,
        updated: row.updated,
    }
}
