//! Command-line definition: `serve` and the client subcommands. Every flag is documented
//! beside its definition; `--help` of every subcommand shows an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::{
    account, audit, completions, data, key, login, role, sp, subscription, tenant, vault,
};
use crate::error::EXIT_CODES_HELP;
use crate::output::Format;
use crate::serve::ServeArgs;

/// atrest: encryption at rest with customer-managed keys.
///
/// `atrest serve` runs an Azure Key Vault–compatible vault and the encrypting service on one
/// HTTPS origin, on embedded defaults (SQLite and local files under one data directory). The
/// other subcommands are its client: sign in with `atrest login`, then manage tenants,
/// vaults, keys, accounts and their data over the same HTTPS APIs the Azure SDKs use.
///
/// Example: atrest serve & atrest login --data-dir ./atrest-data && atrest tenant list
#[derive(Debug, Parser)]
#[command(
    name = "atrest",
    version,
    after_long_help = EXIT_CODES_HELP
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server.
    ///
    /// Example: atrest serve --data-dir ./atrest-data --listen 127.0.0.1:8443
    Serve(ServeArgs),
    /// Sign in to a server and save the login as a profile.
    ///
    /// The profile (server, CA certificate, client id and secret) and the tokens obtained
    /// with it are stored with mode 0600 under $ATREST_CONFIG_DIR (default
    /// ~/.config/atrest). Tokens are renewed automatically shortly before they expire.
    ///
    /// Example: atrest login --data-dir ./atrest-data
    ///
    /// Example: atrest login --profile contoso --credentials contoso-admin.json --cacert ./atrest-data/tls/ca.pem
    #[command(after_long_help = EXIT_CODES_HELP)]
    Login(login::LoginArgs),
    /// Forget a profile and its cached tokens.
    ///
    /// Example: atrest logout --profile contoso
    Logout(login::LogoutArgs),
    /// Directories (tenants): create, list, show. Creating needs the operator.
    ///
    /// Example: atrest tenant create contoso
    Tenant(Group<tenant::Command>),
    /// Subscriptions: the scope vaults and accounts live in.
    ///
    /// Example: atrest subscription create dev --tenant contoso --owner contoso-admin
    Subscription(Group<subscription::Command>),
    /// Service principals: applications that sign in with a client id and secret.
    ///
    /// Example: atrest sp create contoso-admin --tenant contoso
    Sp(Group<sp::Command>),
    /// Management roles (Owner, Contributor, Reader) on subscriptions.
    ///
    /// Example: atrest role assign --subscription dev --object-id 0f1e… --role Contributor
    Role(Group<role::Command>),
    /// Key vaults: create, inspect, delete, recover, and edit access policies.
    ///
    /// Example: atrest vault create demo --location westeurope
    Vault(Group<vault::Command>),
    /// Keys in a vault: create, import, rotate, disable, back up, and more.
    ///
    /// Example: atrest key create cmk --vault demo
    Key(Group<key::Command>),
    /// Accounts (the encrypting service's resources), their identity and encryption.
    ///
    /// Example: atrest account create translator --kind TextTranslation --location westeurope
    Account(Group<account::Command>),
    /// An account's stored data (datasets): upload, download, list, delete.
    ///
    /// Example: atrest data upload translator ./glossary.tsv
    Data(Group<data::Command>),
    /// The audit log: who did what to which key, and proof it was not altered.
    ///
    /// Example: atrest audit list --vault demo
    Audit(Group<audit::Command>),
    /// Print a shell completion script.
    ///
    /// Example: atrest completions bash > /etc/bash_completion.d/atrest
    Completions(completions::CompletionsArgs),
}

/// A subcommand group with the client's global flags.
#[derive(Debug, Args)]
pub(crate) struct Group<C: Subcommand> {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: C,
}

/// Flags every client subcommand takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct Global {
    /// Output format. Default: table when stdout is a terminal, json otherwise.
    #[arg(long, short = 'o', global = true, value_enum, env = "ATREST_OUTPUT")]
    pub(crate) output: Option<Format>,
    /// Profile (saved login) to use.
    #[arg(long, global = true, env = "ATREST_PROFILE", default_value = "default")]
    pub(crate) profile: String,
    /// Directory for profiles and cached tokens. Default: ~/.config/atrest
    #[arg(long, global = true, env = "ATREST_CONFIG_DIR", value_name = "DIR")]
    pub(crate) config_dir: Option<PathBuf>,
    /// Subscription (id or name) for vault, key, account and data commands. Default: the
    /// only subscription the signed-in principal has a role on.
    #[arg(long, short = 's', global = true, env = "ATREST_SUBSCRIPTION")]
    pub(crate) subscription: Option<String>,
    /// Resource group of vaults and accounts.
    #[arg(
        long,
        short = 'g',
        global = true,
        env = "ATREST_RESOURCE_GROUP",
        default_value = "default"
    )]
    pub(crate) resource_group: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every subcommand's long help has an example and every flag has documentation.
    #[test]
    fn every_subcommand_documents_an_example_and_its_flags() {
        fn walk(cmd: &clap::Command, path: &str) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_subcommands().next().is_none() {
                let about = cmd
                    .get_long_about()
                    .or(cmd.get_about())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                assert!(
                    about.contains("Example:"),
                    "`{path}` has no example in its help"
                );
            }
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if ["help", "version"].contains(&id) {
                    continue;
                }
                assert!(
                    arg.get_help().is_some(),
                    "`{path}` flag `{id}` is undocumented"
                );
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &path);
                }
            }
        }
        walk(&Cli::command(), "");
    }
}
