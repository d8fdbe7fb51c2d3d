//! The atrest server: configuration, the data directory, TLS, routing and background jobs.
//!
//! It composes the domain crates' routers into one HTTPS origin and holds no domain logic
//! itself. [`serve`] runs it; [`Settings`] says how.

mod accounts;
mod app;
mod config;
mod datadir;
mod listener;
mod serve;
mod tls;

pub use app::{app, AppState};
pub use config::{ConnectionLimits, RawConfig, RawConnectionLimits, Settings, SettingsError};
pub use datadir::{DataDir, OperatorCredentials};
pub use serve::{install_crypto_provider, serve, start, RunningServer};
