//! Operator settings for accounts: a raw TOML form ([`RawAccountsConfig`], the `[accounts]`
//! table) validated into [`AccountsConfig`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use atrest_store::blob::{BlobBackend, BlobStoreConfig};
use serde::Deserialize;

/// The `[accounts]` table as written; every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RawAccountsConfig {
    /// SKU name → whether it allows customer-managed keys. Default: F0 no; S, S0–S4 yes.
    #[serde(default)]
    pub skus: BTreeMap<String, bool>,
    /// RSA key sizes accepted for CMK. Default `[2048]`; 3072 and 4096 may be added.
    pub rsa_key_sizes: Option<Vec<usize>>,
    /// Whether a subscription needs the operator's CMK approval. Default false.
    pub require_cmk_approval: Option<bool>,
    /// How long cached account keys outlive an unreachable vault, in seconds. Default 3600.
    pub vault_outage_limit_secs: Option<u64>,
    /// Grace period before `onKeyLoss: delete` deletes data, in seconds. Default 86400.
    pub key_loss_grace_secs: Option<u64>,
    /// Allowed regions (empty: any). Each gets its own blob store (see `platform_storage`).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Where account data lives ("platform storage") in every region without an entry in
    /// `region_storage`: local files, Azure Blob or S3, as `{url, options}`. Objects of
    /// region R go to `{prefix}/R/` of the bucket or container, or to `{dir}/R/` for
    /// `file:///dir`. Default: local files in the data dir's `blobs/`.
    pub platform_storage: Option<BlobStoreConfig>,
    /// Region → its own store, in place of `platform_storage`.
    #[serde(default)]
    pub region_storage: BTreeMap<String, BlobStoreConfig>,
    /// Remote Key Vault–compatible services, by the host accounts name in `keyVaultUri`.
    #[serde(default)]
    pub remote_vaults: Vec<RemoteVault>,
    /// Customers' own blob containers that accounts may name in `userOwnedStorage` (BYOS).
    #[serde(default)]
    pub storage_accounts: Vec<UserStorage>,
}

/// A customer's Azure Blob container registered for bring-your-own-storage. atrest's managed
/// identities are not Azure AD identities that Azure Storage (or Azurite) would accept, so the
/// operator registers the container with its storage account's shared key.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct UserStorage {
    /// Short name (`a-z`, `0-9`, `-`); part of every object's key, so never change it.
    pub name: String,
    /// What accounts write in `userOwnedStorage[].resourceId`:
    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}`.
    pub resource_id: String,
    /// Region of the storage account; only accounts of that region may use it.
    pub location: String,
    /// Blob endpoint, e.g. `https://{account}.blob.core.windows.net` or Azurite's
    /// `http://127.0.0.1:10000/devstoreaccount1`.
    pub endpoint: String,
    /// Storage account name.
    pub account: String,
    /// Storage account shared key (base64).
    pub access_key: String,
    /// Container the objects go to (must exist).
    pub container: String,
}

impl std::fmt::Debug for UserStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStorage")
            .field("name", &self.name)
            .field("resource_id", &self.resource_id)
            .field("location", &self.location)
            .field("endpoint", &self.endpoint)
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}

/// A remote Key Vault–compatible service.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RemoteVault {
    /// `host[:port]` as it appears in `keyVaultUri`.
    pub host: String,
    /// Connect here instead of resolving `host` (e.g. a proxy or a local test vault).
    pub connect_to: Option<SocketAddr>,
    /// Region of the vault (Key Vault's data plane does not report it).
    pub location: String,
    /// Tenant the vault belongs to; `None`: the account's tenant (not checked).
    pub tenant_id: Option<String>,
    /// PEM file of the CA that signs the vault's certificate; `None`: the data dir's CA.
    pub ca_file: Option<PathBuf>,
    /// Per-request timeout in milliseconds. Default 5000.
    pub timeout_ms: Option<u64>,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct AccountsConfig {
    /// SKU name (upper case) → allows CMK.
    pub skus: BTreeMap<String, bool>,
    /// Accepted RSA sizes.
    pub rsa_key_sizes: Vec<usize>,
    /// Whether CMK needs subscription approval.
    pub require_cmk_approval: bool,
    /// Revalidation interval of cached keys.
    pub key_check_interval: Duration,
    /// How long the cache bridges an unreachable vault.
    pub vault_outage_limit: Duration,
    /// Grace period for `onKeyLoss: delete`.
    pub key_loss_grace: Duration,
    /// Allowed regions (empty: any).
    pub regions: Vec<String>,
    /// Remote vaults.
    pub remote_vaults: Vec<RemoteVault>,
    /// Registered customer containers (BYOS).
    pub storage_accounts: Vec<UserStorage>,
    /// Platform storage of regions without their own (one folder or prefix per region below).
    pub platform_storage: BlobBackend,
    /// Regions (normalized) with their own platform storage.
    pub region_storage: BTreeMap<String, BlobBackend>,
    /// CA certificate PEM used for remote vaults without their own.
    pub default_ca_file: Option<PathBuf>,
    /// `https://host:port` clients reach the service at (for `endpoint`).
    pub public_base: String,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("accounts configuration: {0}")]
pub struct ConfigError(String);

impl From<atrest_store::blob::BlobConfigError> for ConfigError {
    fn from(err: atrest_store::blob::BlobConfigError) -> Self {
        Self(err.to_string())
    }
}

impl AccountsConfig {
    /// Validates the raw table; `blob_root` is where local files go by default.
    pub fn from_raw(
        raw: RawAccountsConfig,
        key_check_interval: Duration,
        blob_root: PathBuf,
    ) -> Result<Self, ConfigError> {
        let mut skus: BTreeMap<String, bool> = [
            ("F0", false),
            ("S", true),
            ("S0", true),
            ("S1", true),
            ("S2", true),
            ("S3", true),
            ("S4", true),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (sku, allowed) in raw.skus {
            skus.insert(sku.to_ascii_uppercase(), allowed);
        }
        let rsa_key_sizes = raw.rsa_key_sizes.unwrap_or_else(|| vec![2048]);
        if rsa_key_sizes.is_empty()
            || rsa_key_sizes
                .iter()
                .any(|s| ![2048, 3072, 4096].contains(s))
        {
            return Err(ConfigError(
                "rsa_key_sizes must list some of 2048, 3072, 4096".into(),
            ));
        }
        for remote in &raw.remote_vaults {
            if remote.host.is_empty() || remote.host.contains('/') {
                return Err(ConfigError(format!(
                    "remote vault host '{}' must be host[:port]",
                    remote.host
                )));
            }
        }
        let mut storage_accounts = raw.storage_accounts;
        for storage in &mut storage_accounts {
            let name_ok = !storage.name.is_empty()
                && storage
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !name_ok {
                return Err(ConfigError(format!(
                    "storage account name '{}' must be a-z, 0-9 and -",
                    storage.name
                )));
            }
            if !storage.endpoint.starts_with("https://") && !storage.endpoint.starts_with("http://")
            {
                return Err(ConfigError(format!(
                    "storage account '{}': endpoint must be an http(s) URL",
                    storage.name
                )));
            }
            storage.location = normalize_location(&storage.location);
        }
        let mut names: Vec<&str> = storage_accounts.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError("storage account names must be unique".into()));
        }
        let regions: Vec<String> = raw.regions.iter().map(|r| normalize_location(r)).collect();
        let platform_storage = match &raw.platform_storage {
            Some(store) => store.open("accounts.platform_storage")?,
            None => BlobBackend::Local(blob_root),
        };
        let mut region_storage = BTreeMap::new();
        for (region, store) in &raw.region_storage {
            let setting = format!("accounts.region_storage.{region}");
            let normalized = normalize_location(region);
            if !regions.is_empty() && !regions.contains(&normalized) {
                return Err(ConfigError(format!(
                    "{setting}: region '{region}' is not offered (regions = {regions:?}); add it to regions or remove this entry"
                )));
            }
            if region_storage
                .insert(normalized, store.open(&setting)?)
                .is_some()
            {
                return Err(ConfigError(format!(
                    "{setting}: another entry names the same region; keep one"
                )));
            }
        }
        Ok(Self {
            skus,
            rsa_key_sizes,
            require_cmk_approval: raw.require_cmk_approval.unwrap_or(false),
            key_check_interval,
            vault_outage_limit: Duration::from_secs(raw.vault_outage_limit_secs.unwrap_or(3600)),
            key_loss_grace: Duration::from_secs(raw.key_loss_grace_secs.unwrap_or(86_400)),
            regions,
            remote_vaults: raw.remote_vaults,
            storage_accounts,
            platform_storage,
            region_storage,
            default_ca_file: None,
            public_base: "https://localhost".into(),
        })
    }

    /// The platform storage of `region` (normalized).
    pub fn storage_for(&self, region: &str) -> &BlobBackend {
        self.region_storage
            .get(region)
            .unwrap_or(&self.platform_storage)
    }

    /// Whether `sku` exists, and whether it allows CMK.
    pub fn sku_allows_cmk(&self, sku: &str) -> Option<bool> {
        self.skus.get(&sku.to_ascii_uppercase()).copied()
    }

    /// SKUs that allow CMK, for messages.
    pub fn cmk_skus(&self) -> String {
        let list: Vec<&str> = self
            .skus
            .iter()
            .filter(|(_, v)| **v)
            .map(|(k, _)| k.as_str())
            .collect();
        list.join(", ")
    }
}

/// `West Europe` → `westeurope`.
pub fn normalize_location(location: &str) -> String {
    location.to_ascii_lowercase().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let raw: RawAccountsConfig = toml_like(&[("F0", true)]);
        let c = AccountsConfig::from_raw(raw, Duration::from_secs(30), "/tmp".into()).unwrap();
        assert_eq!(c.sku_allows_cmk("f0"), Some(true));
        assert_eq!(c.sku_allows_cmk("S0"), Some(true));
        assert_eq!(c.sku_allows_cmk("P9"), None);
        assert_eq!(c.rsa_key_sizes, vec![2048]);
        let bad = RawAccountsConfig {
            rsa_key_sizes: Some(vec![1024]),
            ..Default::default()
        };
        assert!(AccountsConfig::from_raw(bad, Duration::from_secs(1), "/".into()).is_err());
    }

    #[test]
    fn platform_storage_per_region() {
        let raw: RawAccountsConfig = toml::from_str(
            r#"
            regions = ["westeurope", "eastus", "northeurope"]
            platform_storage = { url = "s3://bucket/prod", options = { region = "eu-west-1" } }
            [region_storage."East US"]
            url = "file:///srv/atrest-blobs"
            [region_storage.northeurope]
            url = "az://data/prod"
            options = { account_name = "acct", access_key = "a2V5" }
            "#,
        )
        .unwrap();
        let c = AccountsConfig::from_raw(raw.clone(), Duration::from_secs(1), "/d/blobs".into())
            .unwrap();
        let kind = |region: &str| match c.storage_for(region) {
            BlobBackend::Local(dir) => dir.display().to_string(),
            BlobBackend::Remote(remote) => format!("{} {}", remote.kind(), remote.prefix()),
        };
        assert_eq!(kind("westeurope"), "S3 prod");
        assert_eq!(kind("eastus"), "/srv/atrest-blobs");
        assert_eq!(kind("northeurope"), "Azure Blob prod");
        assert!(
            !format!("{raw:?}").contains("a2V5"),
            "secrets stay out of Debug"
        );

        let default = AccountsConfig::from_raw(
            RawAccountsConfig::default(),
            Duration::from_secs(1),
            "/d/blobs".into(),
        )
        .unwrap();
        assert!(
            matches!(default.storage_for("any"), BlobBackend::Local(d) if d == std::path::Path::new("/d/blobs"))
        );

        let mut unknown = raw;
        unknown.region_storage.insert(
            "westus".into(),
            unknown.region_storage["northeurope"].clone(),
        );
        let err = AccountsConfig::from_raw(unknown, Duration::from_secs(1), "/d".into())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("accounts.region_storage.westus") && err.contains("not offered"),
            "{err}"
        );
    }

    fn toml_like(skus: &[(&str, bool)]) -> RawAccountsConfig {
        RawAccountsConfig {
            skus: skus.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            ..Default::default()
        }
    }
}
