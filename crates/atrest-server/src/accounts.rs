//! Wiring of the accounts service: settings from the `[accounts]` table and the data dir, the
//! co-located vault as key provider, and its background work (key revalidation, vault and
//! directory event listeners, platform-key rewrap).

use std::net::SocketAddr;

use atrest_accounts::{Accounts, AccountsConfig, AccountsDeps};
use atrest_crypto::SecretKey;
use atrest_identity::Directory;
use atrest_store::{AuditLog, Db};
use atrest_vault::Vaults;

use crate::serve::StartError;
use crate::{DataDir, Settings};

/// Opens the accounts service and starts its background jobs.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start(
    settings: &Settings,
    data: &DataDir,
    addr: SocketAddr,
    db: Db,
    audit: AuditLog,
    directory: &Directory,
    root: SecretKey,
    vaults: &Vaults,
) -> Result<Accounts, StartError> {
    let mut config = AccountsConfig::from_raw(
        settings.accounts.clone(),
        settings.key_check_interval,
        data.path().join("blobs"),
    )
    .map_err(|e| StartError::Accounts(e.to_string()))?;
    config.default_ca_file = Some(data.ca_cert());
    config.public_base = format!("https://localhost:{}", addr.port());
    let accounts = Accounts::open(AccountsDeps {
        db,
        audit,
        directory: directory.clone(),
        root,
        vaults: Some(vaults.clone()),
        config,
    })
    .await
    .map_err(|e| StartError::Accounts(format!("{e:?}")))?;
    accounts.start_background(Some(vaults.subscribe()));
    Ok(accounts)
}
