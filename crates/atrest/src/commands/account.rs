//! `atrest account`: the encrypting service's resources, through the ARM-shaped API
//! `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}`.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use super::account_encryption::{self, EncryptionCommand};
use super::lookup::{items, subscription_id};
use super::Context;
use crate::api::{Api, Resource};
use crate::error::{Error, Kind, Result};
use crate::output::{col, Column};

/// The ARM api-version sent with account calls.
const API_VERSION: &str = "2024-10-01";

const COLUMNS: &[Column] = &[
    col("Name", "/name"),
    col("Kind", "/kind"),
    col("Location", "/location"),
    col("SKU", "/sku/name"),
    col("Identity", "/identity/principalId"),
    col("Key source", "/properties/encryption/keySource"),
    col("State", "/properties/provisioningState"),
    col("Endpoint", "/properties/endpoint"),
];

/// `atrest account …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create an account. New accounts always start on Microsoft-managed keys; switch to
    /// your own key with `atrest account encryption set`.
    ///
    /// Example: atrest account create translator --kind TextTranslation --location westeurope --sku S0
    Create(CreateArgs),
    /// Show an account.
    ///
    /// Example: atrest account show translator
    Show {
        /// Account name.
        name: String,
    },
    /// List the accounts in the resource group.
    ///
    /// Example: atrest account list
    List,
    /// Delete an account and its data.
    ///
    /// Example: atrest account delete translator
    Delete {
        /// Account name.
        name: String,
    },
    /// The account's system-assigned managed identity (what a vault's access policy names).
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Encryption at rest: Microsoft-managed keys or your own key in a vault.
    #[command(subcommand)]
    Encryption(EncryptionCommand),
}

/// Flags of `atrest account create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Account name.
    name: String,
    /// Kind: TextTranslation, TextAnalytics, ContentSafety, SpeechServices or
    /// CognitiveServices.
    #[arg(long)]
    kind: String,
    /// Region.
    #[arg(long, short = 'l')]
    location: String,
    /// Pricing tier: F0 (free, no customer-managed keys), S, S0–S4.
    #[arg(long, default_value = "S0")]
    sku: String,
    /// Give the account a system-assigned identity at once.
    #[arg(long)]
    identity: bool,
}

/// `atrest account identity …`.
#[derive(Debug, Subcommand)]
pub(crate) enum IdentityCommand {
    /// Give the account a system-assigned identity.
    ///
    /// Example: atrest account identity enable translator
    Enable {
        /// Account name.
        name: String,
    },
    /// Remove the account's identity (a later enable creates a new principal, so access
    /// policies naming the old one no longer apply).
    ///
    /// Example: atrest account identity disable translator
    Disable {
        /// Account name.
        name: String,
    },
}

/// Runs `atrest account …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    let api = ctx.api()?;
    match command {
        Command::Create(args) => {
            let url = account_url(ctx, &args.name).await?;
            let mut body = json!({
                "location": args.location,
                "kind": args.kind,
                "sku": { "name": args.sku },
                "properties": {},
            });
            if args.identity {
                body["identity"] = json!({ "type": "SystemAssigned" });
            }
            let account = api
                .call(Method::PUT, Resource::Management, &url, Some(&body))
                .await?;
            ctx.out.object(&account, COLUMNS);
        }
        Command::Show { name } => ctx.out.object(&get(ctx, &name).await?, COLUMNS),
        Command::List => {
            let sub = subscription_id(ctx).await?;
            let url = format!(
                "{}?api-version={API_VERSION}",
                accounts_url(api, &sub, &ctx.resource_group)
            );
            let list = items(api.get(Resource::Management, &url).await?);
            ctx.out.list(&list, COLUMNS);
        }
        Command::Delete { name } => {
            let url = account_url(ctx, &name).await?;
            api.call(Method::DELETE, Resource::Management, &url, None)
                .await?;
            ctx.out.done(
                &json!({ "name": name, "deleted": true }),
                &format!("Deleted account {name}."),
            );
        }
        Command::Identity(IdentityCommand::Enable { name }) => {
            let account = set_identity(ctx, &name, true).await?;
            ctx.out.object(&account, COLUMNS);
        }
        Command::Identity(IdentityCommand::Disable { name }) => {
            let account = set_identity(ctx, &name, false).await?;
            ctx.out.object(&account, COLUMNS);
        }
        Command::Encryption(command) => account_encryption::run(command, ctx).await?,
    }
    Ok(())
}

/// Turns the system-assigned identity on or off; returns the account.
pub(crate) async fn set_identity(ctx: &Context, name: &str, enabled: bool) -> Result<Value> {
    let kind = if enabled { "SystemAssigned" } else { "None" };
    patch(ctx, name, &json!({ "identity": { "type": kind } })).await
}

/// `PATCH` of the account.
pub(crate) async fn patch(ctx: &Context, name: &str, body: &Value) -> Result<Value> {
    let url = account_url(ctx, name).await?;
    ctx.api()?
        .call(Method::PATCH, Resource::Management, &url, Some(body))
        .await
}

/// The account `name` in the current subscription and resource group.
pub(crate) async fn get(ctx: &Context, name: &str) -> Result<Value> {
    let url = account_url(ctx, name).await?;
    ctx.api()?.get(Resource::Management, &url).await.map_err(|e| {
        if e.kind() == Kind::NotFound && !e.to_string().contains("no such endpoint") {
            Error::new(Kind::NotFound, format!("account '{name}' not found in resource group '{}'", ctx.resource_group))
                .with_hint("list accounts with `atrest account list` (or pass --resource-group / --subscription)")
        } else {
            e
        }
    })
}

fn accounts_url(api: &Api, sub: &str, rg: &str) -> String {
    api.url(&format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts"
    ))
}

async fn account_url(ctx: &Context, name: &str) -> Result<String> {
    let api = ctx.api()?;
    let sub = subscription_id(ctx).await?;
    Ok(format!(
        "{}/{name}?api-version={API_VERSION}",
        accounts_url(api, &sub, &ctx.resource_group)
    ))
}
