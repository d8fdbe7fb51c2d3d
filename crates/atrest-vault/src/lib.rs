//! Azure Key Vault–compatible vaults for atrest.
//!
//! * [`Vaults`] is the domain facade. Every method takes the caller's [`Principal`], checks the
//!   vault's access policies (data plane) or the caller's subscription role (management),
//!   runs in one database transaction and appends an audit record — including for refused and
//!   failed calls — before it returns.
//! * Private key material is sealed under the root key (AAD = vault id | key name | version)
//!   and never leaves the vault: bundles carry only `n` and `e`.
//! * Vault events ([`VaultEvent`]) go out on an in-process broadcast channel
//!   ([`Vaults::subscribe`]).
//! * The scheduler entry points [`Vaults::run_due_rotations`] and [`Vaults::run_due_purges`]
//!   apply rotation policies, send expiry notifications and purge what has outlived its
//!   retention; the server calls them periodically.
//!
//! [`Principal`]: atrest_identity::Principal

mod clock;
mod crypto;
mod domain;
mod error;
mod events;
mod hosts;
mod http;
mod model;
mod repo;

pub use clock::{Clock, ManualClock, SystemClock, DAY};
pub use crypto::{EncryptionAlgorithm, SignatureAlgorithm};
pub use domain::{
    parse_key_permissions, CreateMode, CryptoOutput, PolicyEdit, SchedulerReport, VaultPatch,
    VaultSpec, Vaults, VaultsConfig, Verification,
};
pub use error::Error;
pub use events::{VaultEvent, VaultEventKind};
pub use hosts::VaultHosts;
pub use http::{data_plane_router, management_router, VaultState, MAX_BODY};
pub use model::*;
