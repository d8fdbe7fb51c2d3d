//! Command-line definition.

use clap::{Parser, Subcommand};

use crate::serve::ServeArgs;

/// atrest: encryption at rest with customer-managed keys.
///
/// `atrest serve` runs an Azure Key Vault–compatible vault and the encrypting service on one
/// HTTPS origin, on embedded defaults (SQLite and local files under one data directory).
#[derive(Debug, Parser)]
#[command(name = "atrest", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    ///
    /// Example: atrest serve --data-dir ./atrest-data --listen 127.0.0.1:8443
    Serve(ServeArgs),
}

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => crate::serve::run(args).await,
    }
}
