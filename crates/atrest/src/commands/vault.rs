//! `atrest vault`: key vaults through the ARM-shaped management API
//! (`/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}`).

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use super::lookup::{items, principal_id, subscription, subscription_id};
use super::{split_list, Context};
use crate::api::{Api, Resource};
use crate::error::{Error, Kind, Result};
use crate::output::{col, Column};

/// The ARM api-version sent with vault management calls.
const API_VERSION: &str = "2023-07-01";

/// Every key permission an access policy can grant (what `--all` means).
pub(crate) const ALL_KEY_PERMISSIONS: [&str; 19] = [
    "get",
    "list",
    "create",
    "import",
    "update",
    "delete",
    "recover",
    "backup",
    "restore",
    "purge",
    "wrapKey",
    "unwrapKey",
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "rotate",
    "getrotationpolicy",
    "setrotationpolicy",
];

const COLUMNS: &[Column] = &[
    col("Name", "/name"),
    col("Location", "/location"),
    col("Vault URI", "/properties/vaultUri"),
    col("Tenant id", "/properties/tenantId"),
    col("Retention days", "/properties/softDeleteRetentionInDays"),
    col("Purge protection", "/properties/enablePurgeProtection"),
];

const POLICY_COLUMNS: &[Column] = &[
    col("Object id", "/objectId"),
    col("Tenant id", "/tenantId"),
    col("Key permissions", "/permissions/keys"),
];

const DELETED_COLUMNS: &[Column] = &[
    col("Name", "/name"),
    col("Location", "/properties/location"),
    col("Deleted", "/properties/deletionDate"),
    col("Purge after", "/properties/scheduledPurgeDate"),
];

/// `atrest vault …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a vault with soft delete and purge protection (what customer-managed keys
    /// need), giving you every key permission.
    ///
    /// Example: atrest vault create demo --location westeurope
    Create(CreateArgs),
    /// Show a vault and its access policies.
    ///
    /// Example: atrest vault show demo
    Show {
        /// Vault name.
        name: String,
    },
    /// List the vaults in the resource group (with --deleted: the soft-deleted vaults of the
    /// subscription).
    ///
    /// Example: atrest vault list --deleted
    List {
        /// List soft-deleted vaults instead.
        #[arg(long)]
        deleted: bool,
    },
    /// Delete a vault (soft delete: it can be recovered until its retention period ends).
    ///
    /// Example: atrest vault delete demo
    Delete {
        /// Vault name.
        name: String,
    },
    /// Recover a soft-deleted vault with its keys and access policies.
    ///
    /// Example: atrest vault recover demo
    Recover {
        /// Vault name.
        name: String,
    },
    /// Purge a soft-deleted vault for good (refused under purge protection).
    ///
    /// Example: atrest vault purge demo
    Purge {
        /// Vault name.
        name: String,
    },
    /// Set a principal's key permissions on a vault (replacing the ones it had, unless
    /// --add).
    ///
    /// Example: atrest vault set-policy demo --object-id 0f1e… --key-permissions get,wrapKey,unwrapKey
    SetPolicy(SetPolicyArgs),
    /// Remove a principal's access policy from a vault.
    ///
    /// Example: atrest vault delete-policy demo --object-id 0f1e…
    DeletePolicy {
        /// Vault name.
        name: String,
        /// The principal: object id, or display name of a service principal.
        #[arg(long, value_name = "ID")]
        object_id: String,
    },
}

/// Flags of `atrest vault create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// Vault name: 3–24 letters, digits and hyphens, unique on the server.
    name: String,
    /// Region.
    #[arg(long, short = 'l')]
    location: String,
    /// Days a deleted vault or key stays recoverable (7–90).
    #[arg(long, default_value_t = 90)]
    retention_days: u32,
    /// Create without purge protection (then deleted keys can be purged at once, and the
    /// vault cannot hold customer-managed keys for accounts).
    #[arg(long)]
    no_purge_protection: bool,
    /// Pricing tier.
    #[arg(long, default_value = "standard")]
    sku: String,
    /// Do not give the signed-in principal an access policy.
    #[arg(long)]
    no_self_access: bool,
}

/// Flags of `atrest vault set-policy`.
#[derive(Debug, Args)]
pub(crate) struct SetPolicyArgs {
    /// Vault name.
    name: String,
    /// The principal: object id, or display name of a service principal.
    #[arg(long, value_name = "ID")]
    object_id: String,
    /// Comma-separated key permissions: get, list, create, import, update, delete, recover,
    /// backup, restore, purge, wrapKey, unwrapKey, encrypt, decrypt, sign, verify, rotate,
    /// getrotationpolicy, setrotationpolicy.
    #[arg(
        long,
        value_name = "LIST",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    key_permissions: Option<String>,
    /// Grant every key permission.
    #[arg(long)]
    all: bool,
    /// Add the permissions to those the principal already has instead of replacing them.
    #[arg(long)]
    add: bool,
    /// Tenant of the principal. Default: the vault's tenant.
    #[arg(long)]
    tenant: Option<String>,
}

/// Runs `atrest vault …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    let api = ctx.api()?;
    match command {
        Command::Create(args) => create(ctx, args).await?,
        Command::Show { name } => {
            let vault = get(ctx, &name).await?;
            show(ctx, &vault);
        }
        Command::List { deleted: false } => {
            let sub = subscription_id(ctx).await?;
            let url = format!(
                "{}?api-version={API_VERSION}",
                vaults_url(api, &sub, &ctx.resource_group)
            );
            let list = items(api.get(Resource::Management, &url).await?);
            ctx.out.list(&list, COLUMNS);
        }
        Command::List { deleted: true } => {
            let sub = subscription_id(ctx).await?;
            ctx.out
                .list(&deleted_vaults(api, &sub).await?, DELETED_COLUMNS);
        }
        Command::Delete { name } => {
            let sub = subscription_id(ctx).await?;
            let url = vault_url(api, &sub, &ctx.resource_group, &name);
            api.call(Method::DELETE, Resource::Management, &url, None)
                .await?;
            ctx.out.done(
                &json!({ "name": name, "deleted": true }),
                &format!("Deleted vault {name}; it can be recovered with `atrest vault recover {name}` until its retention period ends."),
            );
        }
        Command::Recover { name } => {
            let sub = subscription(ctx, None).await?;
            let sub_id = sub["subscriptionId"].as_str().unwrap_or_default();
            let deleted = find_deleted(api, sub_id, &name).await?;
            let body = json!({
                "location": deleted["properties"]["location"],
                "properties": { "tenantId": sub["tenantId"], "createMode": "recover" },
            });
            let url = vault_url(api, sub_id, &ctx.resource_group, &name);
            let vault = api
                .call(Method::PUT, Resource::Management, &url, Some(&body))
                .await?;
            show(ctx, &vault);
        }
        Command::Purge { name } => {
            let sub = subscription_id(ctx).await?;
            let deleted = find_deleted(api, &sub, &name).await?;
            let location = deleted["properties"]["location"]
                .as_str()
                .unwrap_or_default();
            let url = api.url(&format!(
                "/subscriptions/{sub}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}/purge?api-version={API_VERSION}"
            ));
            api.call(Method::POST, Resource::Management, &url, None)
                .await?;
            ctx.out.done(
                &json!({ "name": name, "purged": true }),
                &format!("Purged vault {name}."),
            );
        }
        Command::SetPolicy(args) => {
            let permissions = if args.all {
                ALL_KEY_PERMISSIONS
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect()
            } else {
                split_list(args.key_permissions.as_deref().unwrap_or_default())
            };
            let edit = if args.add { "add" } else { "replace" };
            let vault = edit_policy(
                ctx,
                &args.name,
                &args.object_id,
                args.tenant.as_deref(),
                edit,
                &permissions,
            )
            .await?;
            ctx.out.list(&policies(&vault), POLICY_COLUMNS);
        }
        Command::DeletePolicy { name, object_id } => {
            let all: Vec<String> = ALL_KEY_PERMISSIONS
                .iter()
                .map(|p| (*p).to_owned())
                .collect();
            let vault = edit_policy(ctx, &name, &object_id, None, "remove", &all).await?;
            ctx.out.list(&policies(&vault), POLICY_COLUMNS);
        }
    }
    Ok(())
}

async fn create(ctx: &Context, args: CreateArgs) -> Result<()> {
    let api = ctx.api()?;
    let sub = subscription(ctx, None).await?;
    let sub_id = sub["subscriptionId"].as_str().unwrap_or_default();
    let tenant = sub["tenantId"].as_str().unwrap_or_default();
    let url = vault_url(api, sub_id, &ctx.resource_group, &args.name);
    match api.get(Resource::Management, &url).await {
        Ok(_) => {
            return Err(
                Error::failed(format!("vault '{}' already exists", args.name))
                    .with_hint(format!("see it with `atrest vault show {}`", args.name)),
            )
        }
        Err(e) if e.kind() == Kind::NotFound => {}
        Err(e) => return Err(e),
    }
    let me = api.profile();
    let mut policies = Vec::new();
    if !args.no_self_access && me.tenant_id.eq_ignore_ascii_case(tenant) {
        policies.push(json!({
            "tenantId": tenant,
            "objectId": me.object_id,
            "permissions": { "keys": ALL_KEY_PERMISSIONS },
        }));
    }
    let body = json!({
        "location": args.location,
        "properties": {
            "tenantId": tenant,
            "sku": { "family": "A", "name": args.sku },
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": args.retention_days,
            "enablePurgeProtection": !args.no_purge_protection,
            "accessPolicies": policies,
        },
    });
    let vault = api
        .call(Method::PUT, Resource::Management, &url, Some(&body))
        .await?;
    show(ctx, &vault);
    Ok(())
}

fn show(ctx: &Context, vault: &Value) {
    ctx.out.object(vault, COLUMNS);
    if !ctx.out.is_json() {
        ctx.out.list(&policies(vault), POLICY_COLUMNS);
    }
}

fn policies(vault: &Value) -> Vec<Value> {
    let policies = vault
        .pointer("/properties/accessPolicies")
        .cloned()
        .unwrap_or(Value::Null);
    match policies {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// Adds, replaces or removes one principal's key permissions; returns the vault as it now is.
pub(crate) async fn edit_policy(
    ctx: &Context,
    vault: &str,
    principal: &str,
    tenant: Option<&str>,
    edit: &str,
    permissions: &[String],
) -> Result<Value> {
    let api = ctx.api()?;
    let current = get(ctx, vault).await?;
    let vault_tenant = current["properties"]["tenantId"]
        .as_str()
        .unwrap_or_default();
    let tenant = tenant.unwrap_or(vault_tenant);
    let object_id = principal_id(ctx, Some(tenant), principal).await?;
    let sub = subscription_id(ctx).await?;
    let url = format!(
        "{}/{vault}/accessPolicies/{edit}?api-version={API_VERSION}",
        vaults_url(api, &sub, &ctx.resource_group)
    );
    let body = json!({ "properties": { "accessPolicies": [{
        "tenantId": tenant,
        "objectId": object_id,
        "permissions": { "keys": permissions },
    }] } });
    let answer = api
        .call(Method::PUT, Resource::Management, &url, Some(&body))
        .await?;
    Ok(json!({ "name": vault, "properties": answer["properties"] }))
}

/// The vault `name` in the current subscription and resource group.
pub(crate) async fn get(ctx: &Context, name: &str) -> Result<Value> {
    let api = ctx.api()?;
    let sub = subscription_id(ctx).await?;
    api.get(
        Resource::Management,
        &vault_url(api, &sub, &ctx.resource_group, name),
    )
    .await
    .map_err(|e| {
        if e.kind() == Kind::NotFound {
            Error::new(
                Kind::NotFound,
                format!(
                    "vault '{name}' not found in resource group '{}'",
                    ctx.resource_group
                ),
            )
            .with_hint(
                "list vaults with `atrest vault list` (or pass --resource-group / --subscription)",
            )
        } else {
            e
        }
    })
}

/// The data-plane URI of a vault given by name (looked up) or by URI (as is).
pub(crate) async fn vault_uri(ctx: &Context, vault: &str) -> Result<String> {
    if vault.starts_with("https://") {
        return Ok(vault.trim_end_matches('/').to_owned());
    }
    let found = get(ctx, vault).await?;
    let uri = found["properties"]["vaultUri"].as_str().ok_or_else(|| {
        Error::failed(format!(
            "the server did not say where vault '{vault}' is served (no vaultUri)"
        ))
    })?;
    Ok(uri.trim_end_matches('/').to_owned())
}

fn vaults_url(api: &Api, sub: &str, rg: &str) -> String {
    api.url(&format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults"
    ))
}

fn vault_url(api: &Api, sub: &str, rg: &str, name: &str) -> String {
    format!(
        "{}/{name}?api-version={API_VERSION}",
        vaults_url(api, sub, rg)
    )
}

async fn deleted_vaults(api: &Api, sub: &str) -> Result<Vec<Value>> {
    let url = api.url(&format!(
        "/subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults?api-version={API_VERSION}"
    ));
    Ok(items(api.get(Resource::Management, &url).await?))
}

async fn find_deleted(api: &Api, sub: &str, name: &str) -> Result<Value> {
    deleted_vaults(api, sub)
        .await?
        .into_iter()
        .find(|v| {
            v["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| {
            Error::new(Kind::NotFound, format!("no deleted vault named '{name}'"))
                .with_hint("list deleted vaults with `atrest vault list --deleted`")
        })
}
