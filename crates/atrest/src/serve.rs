//! `atrest serve`.

use std::path::PathBuf;

use anyhow::Context;
use atrest_server::{RawConfig, RunningServer, Settings};
use clap::Args;

/// Flags of `atrest serve`; each overrides the same setting in `--config`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Data directory (keys, certificates, database, blobs). Default: ./atrest-data
    #[arg(long, env = "ATREST_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on. Default: 127.0.0.1:8443
    #[arg(long, env = "ATREST_LISTEN")]
    listen: Option<String>,
    /// Metadata database: postgres://USER:PASSWORD@HOST:PORT/DB, or a SQLite file.
    /// Default: SQLite in the data directory.
    #[arg(long, env = "ATREST_DATABASE_URL")]
    database: Option<String>,
    /// Public base URL, https://HOST[:PORT]: the token issuer and the discovery documents are
    /// built from it. Default: https://localhost:PORT (loopback or 0.0.0.0), else https://LISTEN
    #[arg(long, env = "ATREST_PUBLIC_URL")]
    public_url: Option<String>,
    /// TOML configuration file (see docs/OPERATIONS.md for every setting).
    #[arg(long, env = "ATREST_CONFIG")]
    config: Option<PathBuf>,
    /// Serve vault VAULT at host HOST: --vault-alias localhost=demo (repeatable).
    #[arg(long = "vault-alias", value_name = "HOST=VAULT")]
    vault_aliases: Vec<String>,
    /// Log filter, e.g. info or atrest=debug.
    #[arg(long, env = "ATREST_LOG", default_value = "info")]
    log: String,
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log).context("--log")?)
        .with_writer(std::io::stderr)
        .init();
    let mut raw = match &args.config {
        Some(path) => RawConfig::from_file(path)?,
        None => RawConfig::default(),
    };
    if let Some(dir) = args.data_dir {
        raw.data_dir = Some(dir);
    }
    if let Some(database) = args.database {
        raw.database = Some(database);
    }
    if let Some(listen) = args.listen {
        raw.listen = Some(listen);
    }
    if let Some(public_url) = args.public_url {
        raw.public_url = Some(public_url);
    }
    for alias in &args.vault_aliases {
        let (host, vault) = alias.split_once('=').with_context(|| {
            format!("--vault-alias '{alias}': expected HOST=VAULT, e.g. localhost=demo")
        })?;
        raw.vault_aliases.insert(host.to_owned(), vault.to_owned());
    }
    let settings = Settings::from_raw(raw)?;
    atrest_server::serve(settings, print_banner)
        .await
        .map_err(|e| anyhow::anyhow!(e))
}

fn print_banner(server: &RunningServer) {
    let port = server.addr.port();
    let url = if server.addr.ip().is_loopback() {
        format!("https://localhost:{port}")
    } else {
        format!("https://{}", server.addr)
    };
    let ca = server.data.ca_cert();
    let creds = server.data.operator_credentials();
    println!("atrest is serving at {url}");
    println!("  data dir:  {}", server.data.path().display());
    println!("  database:  {}", server.database.redacted());
    println!("  issuer:    {}/{{tenant}}/v2.0", server.public_url);
    println!("  CA cert:   {}", ca.display());
    println!("             trust it with REQUESTS_CA_BUNDLE={0} (Python), NODE_EXTRA_CA_CERTS={0} (Node), curl --cacert {0}", ca.display());
    match &server.new_operator {
        Some(_) => println!(
            "  operator:  credentials created and written to {} (0600); keep them safe",
            creds.display()
        ),
        None => println!("  operator:  credentials in {}", creds.display()),
    }
    println!("  try:       curl --cacert {} {url}/healthz", ca.display());
}
