//! `atrest account encryption`: Microsoft-managed keys or a customer-managed key.

use clap::{ArgGroup, Args, Subcommand};
use serde_json::{json, Value};

use super::account::{get, patch, set_identity};
use super::key::parse_kid;
use super::lookup::items;
use super::vault::{edit_policy, vault_uri};
use super::Context;
use crate::api::Resource;
use crate::error::{Error, Result};
use crate::output::{col, Column};

const COLUMNS: &[Column] = &[
    col("Account", "/name"),
    col("Key source", "/properties/encryption/keySource"),
    col(
        "Vault URI",
        "/properties/encryption/keyVaultProperties/keyVaultUri",
    ),
    col("Key", "/properties/encryption/keyVaultProperties/keyName"),
    col(
        "Version",
        "/properties/encryption/keyVaultProperties/keyVersion",
    ),
    col("Identity", "/identity/principalId"),
    col("Key state", "/properties/encryption/status/keyState"),
    col("Reason", "/properties/encryption/status/reason"),
    col("Since", "/properties/encryption/status/since"),
];

/// The permissions an account's identity needs on its key.
const CMK_PERMISSIONS: [&str; 3] = ["get", "wrapKey", "unwrapKey"];

/// `atrest account encryption …`.
#[derive(Debug, Subcommand)]
pub(crate) enum EncryptionCommand {
    /// Show which key protects the account's data.
    ///
    /// Example: atrest account encryption show translator
    Show {
        /// Account name.
        name: String,
    },
    /// Switch the account to a customer-managed key (by URI, or vault + key [+ version]),
    /// or back to Microsoft-managed keys. Only the account key is rewrapped: no data is
    /// re-encrypted.
    ///
    /// Example: atrest account encryption set translator --vault demo --key cmk --grant-access
    ///
    /// Example: atrest account encryption set translator --microsoft-managed
    Set(SetArgs),
}

/// Flags of `atrest account encryption set`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["key_uri", "key", "microsoft_managed"])))]
pub(crate) struct SetArgs {
    /// Account name.
    name: String,
    /// Key URI: https://host/keys/NAME (follows new versions) or …/keys/NAME/VERSION (pinned).
    #[arg(long, value_name = "URI", conflicts_with_all = ["vault", "key", "version"])]
    key_uri: Option<String>,
    /// Vault (name in --subscription/--resource-group, or URI) holding --key.
    #[arg(long, requires = "key")]
    vault: Option<String>,
    /// Key name in --vault.
    #[arg(long, requires = "vault")]
    key: Option<String>,
    /// Key version (default: none, so the account follows the newest version).
    #[arg(long, requires = "key")]
    version: Option<String>,
    /// Use Microsoft-managed keys again.
    #[arg(long, conflicts_with_all = ["grant_access", "vault"])]
    microsoft_managed: bool,
    /// First give the account's identity get, wrapKey and unwrapKey on the vault (enabling
    /// the identity if needed). The vault must be in --subscription/--resource-group.
    #[arg(long)]
    grant_access: bool,
}

/// Runs `atrest account encryption …`.
pub(crate) async fn run(command: EncryptionCommand, ctx: &Context) -> Result<()> {
    match command {
        EncryptionCommand::Show { name } => ctx.out.object(&get(ctx, &name).await?, COLUMNS),
        EncryptionCommand::Set(args) => {
            let account = set(ctx, args).await?;
            ctx.out.object(&account, COLUMNS);
        }
    }
    Ok(())
}

async fn set(ctx: &Context, args: SetArgs) -> Result<Value> {
    if args.microsoft_managed {
        let body = json!({ "properties": { "encryption": { "keySource": "Microsoft.CognitiveServices" } } });
        return patch(ctx, &args.name, &body).await;
    }
    let (vault_uri, key_name, version, vault_name) = match (&args.key_uri, &args.vault, &args.key) {
        (Some(uri), _, _) => {
            let (base, name, version) = split_key_uri(uri)?;
            (base, name, version, None)
        }
        (None, Some(vault), Some(key)) => {
            let uri = vault_uri(ctx, vault).await?;
            let name = (!vault.starts_with("https://")).then(|| vault.clone());
            (
                uri,
                key.clone(),
                args.version.clone().unwrap_or_default(),
                name,
            )
        }
        _ => {
            return Err(Error::usage(
                "give --key-uri, --vault with --key, or --microsoft-managed",
            ))
        }
    };
    if args.grant_access {
        let vault = match vault_name {
            Some(name) => name,
            None => vault_named_by_uri(ctx, &vault_uri).await?,
        };
        let mut account = get(ctx, &args.name).await?;
        if account["identity"]["principalId"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
        {
            account = set_identity(ctx, &args.name, true).await?;
        }
        let principal = account["identity"]["principalId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if principal.is_empty() {
            return Err(Error::failed(format!(
                "account '{}' has no identity to grant access to",
                args.name
            )));
        }
        let tenant = account["identity"]["tenantId"].as_str().map(str::to_owned);
        let permissions: Vec<String> = CMK_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect();
        edit_policy(
            ctx,
            &vault,
            &principal,
            tenant.as_deref(),
            "add",
            &permissions,
        )
        .await?;
        if !ctx.out.is_json() {
            eprintln!("Granted get, wrapKey, unwrapKey on vault {vault} to the identity {principal} of account {}.", args.name);
        }
    }
    let body = json!({ "properties": { "encryption": {
        "keySource": "Microsoft.KeyVault",
        "keyVaultProperties": {
            "keyName": key_name,
            "keyVersion": version,
            "keyVaultUri": format!("{}/", vault_uri.trim_end_matches('/')),
        },
    } } });
    patch(ctx, &args.name, &body).await
}

/// `(vault URI, key name, version)` of a key URI.
fn split_key_uri(uri: &str) -> Result<(String, String, String)> {
    let bad = || {
        Error::usage(format!(
            "--key-uri {uri}: expected https://host[:port]/keys/NAME[/VERSION]"
        ))
    };
    let rest = uri.strip_prefix("https://").ok_or_else(bad)?;
    let host = rest.split('/').next().unwrap_or_default();
    let (name, version) = parse_kid(uri);
    if host.is_empty() || name.is_empty() || !rest[host.len()..].starts_with("/keys/") {
        return Err(bad());
    }
    Ok((format!("https://{host}"), name, version))
}

/// The name of the vault in the current resource group served at `uri`.
async fn vault_named_by_uri(ctx: &Context, uri: &str) -> Result<String> {
    let api = ctx.api()?;
    let sub = super::lookup::subscription_id(ctx).await?;
    let url = api.url(&format!(
        "/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01",
        ctx.resource_group
    ));
    let want = uri.trim_end_matches('/').to_ascii_lowercase();
    items(api.get(Resource::Management, &url).await?)
        .into_iter()
        .find(|v| {
            v["properties"]["vaultUri"]
                .as_str()
                .is_some_and(|u| u.trim_end_matches('/').eq_ignore_ascii_case(&want))
        })
        .and_then(|v| v["name"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            Error::usage(format!("no vault in resource group '{}' is served at {uri}", ctx.resource_group))
                .with_hint("pass --vault NAME --key NAME instead of --key-uri, or --resource-group/--subscription of the vault")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_uris_split() {
        assert_eq!(
            split_key_uri("https://localhost:8443/keys/cmk/v1").unwrap(),
            ("https://localhost:8443".into(), "cmk".into(), "v1".into())
        );
        assert_eq!(
            split_key_uri("https://demo.vault.atrest.localhost/keys/cmk")
                .unwrap()
                .2,
            ""
        );
        assert!(split_key_uri("http://x/keys/k").is_err());
        assert!(split_key_uri("https://x/secrets/k").is_err());
    }
}
