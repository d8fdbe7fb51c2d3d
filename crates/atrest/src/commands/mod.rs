//! The client subcommands, one module per feature. Each parses nothing itself: it turns its
//! flags into calls of the public HTTPS APIs through [`Api`] and prints with [`Output`].

pub(crate) mod account;
mod account_encryption;
pub(crate) mod audit;
pub(crate) mod completions;
pub(crate) mod data;
mod jwk;
pub(crate) mod key;
mod key_policy;
pub(crate) mod login;
mod lookup;
pub(crate) mod role;
pub(crate) mod sp;
pub(crate) mod subscription;
pub(crate) mod tenant;
pub(crate) mod vault;

use std::sync::OnceLock;

use crate::api::Api;
use crate::cli::{Command, Global};
use crate::config::ConfigStore;
use crate::error::{Error, Result};
use crate::output::Output;

/// What every command needs: where to print, which profile, which subscription.
#[derive(Debug)]
pub(crate) struct Context {
    /// Where results go.
    pub(crate) out: Output,
    /// Profiles and tokens.
    pub(crate) store: ConfigStore,
    /// The profile's name.
    pub(crate) profile: String,
    /// `--subscription`, if given.
    pub(crate) subscription: Option<String>,
    /// `--resource-group`.
    pub(crate) resource_group: String,
    api: OnceLock<Api>,
}

impl Context {
    /// The context for the global flags.
    pub(crate) fn new(global: &Global) -> Result<Self> {
        Ok(Self {
            out: Output::new(global.output),
            store: ConfigStore::new(global.config_dir.clone())?,
            profile: global.profile.clone(),
            subscription: global.subscription.clone(),
            resource_group: global.resource_group.clone(),
            api: OnceLock::new(),
        })
    }

    /// The signed-in client (fails with a hint to `atrest login` when there is none).
    pub(crate) fn api(&self) -> Result<&Api> {
        if let Some(api) = self.api.get() {
            return Ok(api);
        }
        let api = Api::open(&self.store, &self.profile)?;
        Ok(self.api.get_or_init(|| api))
    }
}

/// Runs a client subcommand (everything but `serve`).
pub(crate) async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve(_) => Err(Error::usage("`serve` is not a client command")),
        Command::Login(args) => login::login(args).await,
        Command::Logout(args) => login::logout(args),
        Command::Tenant(g) => tenant::run(g.command, &Context::new(&g.global)?).await,
        Command::Subscription(g) => subscription::run(g.command, &Context::new(&g.global)?).await,
        Command::Sp(g) => sp::run(g.command, &Context::new(&g.global)?).await,
        Command::Role(g) => role::run(g.command, &Context::new(&g.global)?).await,
        Command::Vault(g) => vault::run(g.command, &Context::new(&g.global)?).await,
        Command::Key(g) => key::run(g.command, &Context::new(&g.global)?).await,
        Command::Account(g) => account::run(g.command, &Context::new(&g.global)?).await,
        Command::Data(g) => data::run(g.command, &Context::new(&g.global)?).await,
        Command::Audit(g) => audit::run(g.command, &Context::new(&g.global)?).await,
        Command::Completions(args) => completions::run(&args),
    }
}

/// Splits a comma-separated flag value (`get,list,wrapKey`) into its non-empty parts.
pub(crate) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}
