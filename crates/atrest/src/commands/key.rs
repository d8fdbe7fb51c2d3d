//! `atrest key`: keys through the Key Vault keys API at the vault's own URI.

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use super::key_policy::{self, PolicyCommand};
use super::lookup::items;
use super::vault::vault_uri;
use super::{jwk, split_list, Context};
use crate::api::Resource;
use crate::error::{Error, Result};
use crate::output::{col, time_col, Column};

/// The Key Vault api-version the client sends.
pub(crate) const API_VERSION: &str = "7.5";

const COLUMNS: &[Column] = &[
    col("Name", "/name"),
    col("Version", "/version"),
    col("Type", "/key/kty"),
    col("Enabled", "/attributes/enabled"),
    col("Operations", "/key/key_ops"),
    time_col("Created", "/attributes/created"),
    time_col("Updated", "/attributes/updated"),
    time_col("Expires", "/attributes/exp"),
    col("Key id", "/key/kid"),
];

const LIST_COLUMNS: &[Column] = &[
    col("Name", "/name"),
    col("Version", "/version"),
    col("Enabled", "/attributes/enabled"),
    time_col("Created", "/attributes/created"),
    time_col("Updated", "/attributes/updated"),
    time_col("Expires", "/attributes/exp"),
];

const DELETED_COLUMNS: &[Column] = &[
    col("Name", "/name"),
    time_col("Deleted", "/deletedDate"),
    time_col("Purge after", "/scheduledPurgeDate"),
    col("Recovery id", "/recoveryId"),
];

/// Where the key lives: `--vault NAME` (looked up in the subscription) or `--vault URI`.
#[derive(Debug, Clone, Args)]
pub(crate) struct VaultArg {
    /// Vault name (looked up in --subscription/--resource-group) or vault URI
    /// (https://host[:port]).
    #[arg(long, short = 'v', env = "ATREST_VAULT")]
    pub(crate) vault: String,
}

/// A key in a vault.
#[derive(Debug, Clone, Args)]
pub(crate) struct KeyArgs {
    /// Key name.
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) vault: VaultArg,
}

/// `atrest key …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a key (or a new version of an existing key).
    ///
    /// Example: atrest key create cmk --vault demo --kty RSA --size 2048
    Create(CreateArgs),
    /// Import an RSA private key from a PEM file (PKCS#1 or PKCS#8) or a JWK JSON file.
    ///
    /// Example: atrest key import byok --vault demo --file ./private.pem
    Import {
        #[command(flatten)]
        key: KeyArgs,
        /// PEM or JWK file holding the private key.
        #[arg(long)]
        file: PathBuf,
        /// Comma-separated operations the key allows (default: all the key type supports).
        #[arg(long, value_name = "LIST")]
        ops: Option<String>,
    },
    /// List the keys of a vault (with --deleted: its soft-deleted keys).
    ///
    /// Example: atrest key list --vault demo
    List {
        #[command(flatten)]
        vault: VaultArg,
        /// List soft-deleted keys instead.
        #[arg(long)]
        deleted: bool,
    },
    /// Show a key (its newest version, or --version).
    ///
    /// Example: atrest key show cmk --vault demo
    Show {
        #[command(flatten)]
        key: KeyArgs,
        /// A specific version.
        #[arg(long)]
        version: Option<String>,
    },
    /// List a key's versions.
    ///
    /// Example: atrest key versions cmk --vault demo
    Versions(KeyArgs),
    /// Create a new version of a key now (accounts on a versionless key URI follow it).
    ///
    /// Example: atrest key rotate cmk --vault demo
    Rotate(KeyArgs),
    /// Disable a key: every operation on it is refused, so data under it is locked.
    ///
    /// Example: atrest key disable cmk --vault demo
    Disable(KeyVersionArgs),
    /// Enable a disabled key again.
    ///
    /// Example: atrest key enable cmk --vault demo
    Enable(KeyVersionArgs),
    /// Delete a key (soft delete: recoverable until the vault's retention period ends).
    ///
    /// Example: atrest key delete cmk --vault demo
    Delete(KeyArgs),
    /// Recover a soft-deleted key.
    ///
    /// Example: atrest key recover cmk --vault demo
    Recover(KeyArgs),
    /// Purge a soft-deleted key for good (refused under purge protection).
    ///
    /// Example: atrest key purge cmk --vault demo
    Purge(KeyArgs),
    /// Save a key's protected backup blob to a file.
    ///
    /// Example: atrest key backup cmk --vault demo --file cmk.backup
    Backup {
        #[command(flatten)]
        key: KeyArgs,
        /// File to write the backup to (mode 0600).
        #[arg(long)]
        file: PathBuf,
    },
    /// Restore a key from a backup file (into a vault of the same tenant).
    ///
    /// Example: atrest key restore --vault demo --file cmk.backup
    Restore {
        #[command(flatten)]
        vault: VaultArg,
        /// Backup file written by `atrest key backup`.
        #[arg(long)]
        file: PathBuf,
    },
    /// A key's rotation policy: when it is rotated and when you are notified.
    #[command(subcommand)]
    RotationPolicy(PolicyCommand),
}

/// Flags of `atrest key create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Key type: RSA or RSA-HSM (oct and EC where the vault supports them).
    #[arg(long, default_value = "RSA")]
    kty: String,
    /// Key size in bits (RSA: 2048, 3072 or 4096).
    #[arg(long, default_value_t = 2048)]
    size: u32,
    /// Comma-separated operations the key allows, e.g. wrapKey,unwrapKey (default: all).
    #[arg(long, value_name = "LIST")]
    ops: Option<String>,
    /// Expiry, as unix seconds.
    #[arg(long, value_name = "UNIX")]
    expires: Option<i64>,
    /// Not valid before, as unix seconds.
    #[arg(long, value_name = "UNIX")]
    not_before: Option<i64>,
    /// Create it disabled.
    #[arg(long)]
    disabled: bool,
}

/// A key, optionally one version.
#[derive(Debug, Args)]
pub(crate) struct KeyVersionArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Only this version (default: the newest).
    #[arg(long)]
    version: Option<String>,
}

/// Runs `atrest key …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    match command {
        Command::Create(args) => {
            let mut attributes = json!({ "enabled": !args.disabled });
            if let Some(exp) = args.expires {
                attributes["exp"] = json!(exp);
            }
            if let Some(nbf) = args.not_before {
                attributes["nbf"] = json!(nbf);
            }
            let mut body = json!({ "kty": args.kty, "attributes": attributes });
            if args.kty.starts_with("RSA") || args.kty.starts_with("oct") {
                body["key_size"] = json!(args.size);
            }
            if let Some(ops) = &args.ops {
                body["key_ops"] = json!(split_list(ops));
            }
            let bundle = call(ctx, &args.key, Method::POST, "/create", Some(&body)).await?;
            print_key(ctx, &bundle);
        }
        Command::Import { key, file, ops } => {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
            let mut jwk = jwk::parse(&text)
                .map_err(|why| Error::usage(format!("{}: {why}", file.display())))?;
            if let Some(ops) = &ops {
                jwk["key_ops"] = json!(split_list(ops));
            }
            let body = json!({ "key": jwk, "Hsm": false, "attributes": { "enabled": true } });
            let bundle = call(ctx, &key, Method::PUT, "", Some(&body)).await?;
            print_key(ctx, &bundle);
        }
        Command::List { vault, deleted } => {
            let base = vault_uri(ctx, &vault.vault).await?;
            let path = if deleted { "/deletedkeys" } else { "/keys" };
            let list = list_all(ctx, &format!("{base}{path}?api-version={API_VERSION}")).await?;
            if deleted {
                print_list(ctx, &list, DELETED_COLUMNS);
            } else {
                print_list(ctx, &list, LIST_COLUMNS);
            }
        }
        Command::Show { key, version } => {
            let suffix = format!("/{}", version.unwrap_or_default());
            let bundle = call(ctx, &key, Method::GET, &suffix, None).await?;
            print_key(ctx, &bundle);
        }
        Command::Versions(key) => {
            let base = vault_uri(ctx, &key.vault.vault).await?;
            let url = format!(
                "{base}/keys/{}/versions?api-version={API_VERSION}",
                key.name
            );
            print_list(ctx, &list_all(ctx, &url).await?, LIST_COLUMNS);
        }
        Command::Rotate(key) => {
            let bundle = call(ctx, &key, Method::POST, "/rotate", None).await?;
            print_key(ctx, &bundle);
        }
        Command::Disable(args) => set_enabled(ctx, args, false).await?,
        Command::Enable(args) => set_enabled(ctx, args, true).await?,
        Command::Delete(key) => {
            let deleted = call(ctx, &key, Method::DELETE, "", None).await?;
            print_key(ctx, &deleted);
        }
        Command::Recover(key) => {
            let base = vault_uri(ctx, &key.vault.vault).await?;
            let url = format!(
                "{base}/deletedkeys/{}/recover?api-version={API_VERSION}",
                key.name
            );
            let api = ctx.api()?;
            let bundle = api.call(Method::POST, Resource::Vault, &url, None).await?;
            print_key(ctx, &bundle);
        }
        Command::Purge(key) => {
            let base = vault_uri(ctx, &key.vault.vault).await?;
            let url = format!("{base}/deletedkeys/{}?api-version={API_VERSION}", key.name);
            ctx.api()?
                .call(Method::DELETE, Resource::Vault, &url, None)
                .await?;
            ctx.out.done(
                &json!({ "name": key.name, "purged": true }),
                &format!("Purged key {}.", key.name),
            );
        }
        Command::Backup { key, file } => {
            let answer = call(ctx, &key, Method::POST, "/backup", None).await?;
            let blob = answer["value"].as_str().unwrap_or_default();
            let bytes = URL_SAFE_NO_PAD
                .decode(blob.trim_end_matches('='))
                .map_err(|e| Error::failed("the backup blob is not base64url").with_source(e))?;
            write_private(&file, &bytes)?;
            ctx.out.done(
                &json!({ "name": key.name, "file": file, "bytes": bytes.len() }),
                &format!(
                    "Backed up key {} to {} ({} bytes).",
                    key.name,
                    file.display(),
                    bytes.len()
                ),
            );
        }
        Command::Restore { vault, file } => {
            let bytes = std::fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
            let base = vault_uri(ctx, &vault.vault).await?;
            let url = format!("{base}/keys/restore?api-version={API_VERSION}");
            let body = json!({ "value": URL_SAFE_NO_PAD.encode(bytes) });
            let bundle = ctx
                .api()?
                .call(Method::POST, Resource::Vault, &url, Some(&body))
                .await?;
            print_key(ctx, &bundle);
        }
        Command::RotationPolicy(command) => key_policy::run(command, ctx).await?,
    }
    Ok(())
}

async fn set_enabled(ctx: &Context, args: KeyVersionArgs, enabled: bool) -> Result<()> {
    let suffix = format!("/{}", args.version.unwrap_or_default());
    let body = json!({ "attributes": { "enabled": enabled } });
    let bundle = call(ctx, &args.key, Method::PATCH, &suffix, Some(&body)).await?;
    print_key(ctx, &bundle);
    Ok(())
}

/// `{vault}/keys/{name}{suffix}` with a vault token.
pub(crate) async fn call(
    ctx: &Context,
    key: &KeyArgs,
    method: Method,
    suffix: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let base = vault_uri(ctx, &key.vault.vault).await?;
    let url = format!("{base}/keys/{}{suffix}?api-version={API_VERSION}", key.name);
    ctx.api()?.call(method, Resource::Vault, &url, body).await
}

/// Every page of a Key Vault list.
async fn list_all(ctx: &Context, first: &str) -> Result<Vec<Value>> {
    let api = ctx.api()?;
    let mut all = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(url) = next.take() {
        let page = api.get(Resource::Vault, &url).await?;
        next = page["nextLink"].as_str().map(str::to_owned);
        all.extend(items(page));
    }
    Ok(all)
}

/// `(name, version)` from a key id `https://host/keys/{name}[/{version}]`.
pub(crate) fn parse_kid(kid: &str) -> (String, String) {
    let path = kid.split_once("://").map_or(kid, |(_, rest)| rest);
    let mut parts = path.split('/').skip(1);
    let _collection = parts.next();
    let name = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or_default().to_owned();
    (name, version)
}

/// The item with `name` and `version` fields from its kid, for tables.
fn with_names(item: &Value) -> Value {
    let kid = item
        .pointer("/key/kid")
        .or_else(|| item.get("kid"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (name, version) = parse_kid(kid);
    let mut view = item.clone();
    if let Value::Object(map) = &mut view {
        map.insert("name".into(), json!(name));
        map.insert("version".into(), json!(version));
    }
    view
}

fn print_key(ctx: &Context, bundle: &Value) {
    if ctx.out.is_json() {
        ctx.out.object(bundle, COLUMNS);
    } else {
        ctx.out.object(&with_names(bundle), COLUMNS);
    }
}

fn print_list(ctx: &Context, list: &[Value], columns: &[Column]) {
    if ctx.out.is_json() {
        ctx.out.list(list, columns);
    } else {
        let views: Vec<Value> = list.iter().map(with_names).collect();
        ctx.out.list(&views, columns);
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::io("write", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_split_into_name_and_version() {
        assert_eq!(
            parse_kid("https://localhost:8443/keys/cmk/abc123"),
            ("cmk".to_owned(), "abc123".to_owned())
        );
        assert_eq!(
            parse_kid("https://demo.vault.atrest.localhost/keys/cmk"),
            ("cmk".to_owned(), String::new())
        );
    }
}
