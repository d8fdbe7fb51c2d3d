//! Service accounts — Translator, Language, Content Safety, Speech — whose stored data is
//! encrypted at rest: under platform-managed keys by default, and on request under a
//! customer-managed key held in a key vault.
//!
//! * Key hierarchy: every account has a random 32-byte account key (AK), stored only wrapped —
//!   by the current platform key version ([`keys::ring`]) or by the customer's RSA key through
//!   a [`keys::KeyProvider`] (the co-located vault, or any Key Vault–compatible service over
//!   HTTPS). Every object's key is derived from the AK, so changing keys rewraps one AK.
//! * [`Accounts`] is the domain facade; [`router`] serves the ARM management API and the data
//!   plane under `/accounts/{name}/…` (see `docs/API.md`).
//! * Revocation: the key cache is revalidated every `key_check_interval` and at once on vault
//!   and directory events; a revoked key makes the account KeyInaccessible (403 on every data
//!   operation, deployments unloaded); a vault outage is bridged from the cache up to a hard
//!   limit, then 503 — never deletion.

mod blob;
mod config;
mod domain;
mod durable_file;
mod error;
mod http;
pub mod keys;
mod model;
mod repo;
mod user_store;

pub use config::{
    normalize_location, AccountsConfig, ConfigError, RawAccountsConfig, RemoteVault, UserStorage,
};
pub use domain::{
    AccountPatch, AccountSpec, Accounts, AccountsDeps, ApiKeys, BlocklistItem, BlocklistMatch,
    DataCaller, DatasetInfo, DeploymentInfo, Download, EncryptionSpec, IdentityType, KeyVaultSpec,
    LogInfo, ModelInfo,
};
pub use error::{CmkError, Error};
pub use http::{router, AccountsState};
pub use model::{
    Account, CmkSettings, Encryption, KeyState, OnKeyLoss, KEY_SOURCE_CMK, KEY_SOURCE_MMK,
};
