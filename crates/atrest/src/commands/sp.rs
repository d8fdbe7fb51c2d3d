//! `atrest sp`: service principals.

use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::lookup::{items, principal_id, tenant_id};
use super::Context;
use crate::api::Resource;
use crate::error::Result;
use crate::output::{col, Column};

const COLUMNS: &[Column] = &[
    col("Object id", "/objectId"),
    col("Name", "/displayName"),
    col("Client id", "/clientId"),
    col("Tenant id", "/tenantId"),
    col("Kind", "/kind"),
    col("Enabled", "/enabled"),
];

const CREATED: &[Column] = &[
    col("Object id", "/objectId"),
    col("Name", "/displayName"),
    col("Client id", "/clientId"),
    col("Tenant id", "/tenantId"),
    col("Client secret", "/clientSecret"),
];

/// `atrest sp …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a service principal in a tenant (operator only). Its client secret is printed
    /// once and cannot be retrieved again.
    ///
    /// Example: atrest sp create contoso-admin --tenant contoso --output json > contoso-admin.json
    Create {
        /// Display name of the new principal.
        name: String,
        /// Tenant (id or name) to create it in.
        #[arg(long)]
        tenant: String,
    },
    /// List the principals of a tenant (or of every tenant you can see).
    ///
    /// Example: atrest sp list --tenant contoso
    List {
        /// Tenant id or name. Default: every tenant you can see.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show a principal.
    ///
    /// Example: atrest sp show contoso-admin --tenant contoso
    Show {
        /// Object id, or display name.
        principal: String,
        /// Tenant (id or name) to look the name up in.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Delete a service principal (operator only); its tokens stop working at once.
    ///
    /// Example: atrest sp delete app1 --tenant contoso
    Delete {
        /// Object id, or display name.
        principal: String,
        /// Tenant (id or name) to look the name up in.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Disable a principal (operator only): it can no longer get or use tokens.
    ///
    /// Example: atrest sp disable app1 --tenant contoso
    Disable {
        /// Object id, or display name.
        principal: String,
        /// Tenant (id or name) to look the name up in.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Enable a disabled principal again (operator only).
    ///
    /// Example: atrest sp enable app1 --tenant contoso
    Enable {
        /// Object id, or display name.
        principal: String,
        /// Tenant (id or name) to look the name up in.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Runs `atrest sp …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    let api = ctx.api()?;
    match command {
        Command::Create { name, tenant } => {
            let tenant = tenant_id(ctx, &tenant).await?;
            let url = api.url(&format!("/admin/tenants/{tenant}/servicePrincipals"));
            let sp = api
                .call(
                    Method::POST,
                    Resource::Management,
                    &url,
                    Some(&json!({ "displayName": name })),
                )
                .await?;
            ctx.out.object(&sp, CREATED);
            eprintln!(
                "warning: the client secret is shown only this once and cannot be retrieved again; \
                 keep it safe (e.g. `--output json > {name}.json`, then `atrest login --credentials {name}.json`)"
            );
        }
        Command::List { tenant } => {
            let tenants = match tenant {
                Some(t) => vec![tenant_id(ctx, &t).await?],
                None => items(
                    api.get(Resource::Management, &api.url("/admin/tenants"))
                        .await?,
                )
                .iter()
                .filter_map(|t| t["tenantId"].as_str().map(str::to_owned))
                .collect(),
            };
            let mut all = Vec::new();
            for t in tenants {
                let url = api.url(&format!("/admin/tenants/{t}/servicePrincipals"));
                all.extend(items(api.get(Resource::Management, &url).await?));
            }
            ctx.out.list(&all, COLUMNS);
        }
        Command::Show { principal, tenant } => {
            let id = principal_id(ctx, tenant.as_deref(), &principal).await?;
            let sp = api
                .get(
                    Resource::Management,
                    &api.url(&format!("/admin/principals/{id}")),
                )
                .await?;
            ctx.out.object(&sp, COLUMNS);
        }
        Command::Delete { principal, tenant } => {
            let id = principal_id(ctx, tenant.as_deref(), &principal).await?;
            let url = api.url(&format!("/admin/principals/{id}"));
            api.call(Method::DELETE, Resource::Management, &url, None)
                .await?;
            ctx.out.done(
                &json!({ "objectId": id, "deleted": true }),
                &format!("Deleted principal {id}."),
            );
        }
        Command::Disable { principal, tenant } => {
            set_enabled(ctx, &principal, tenant.as_deref(), false).await?;
        }
        Command::Enable { principal, tenant } => {
            set_enabled(ctx, &principal, tenant.as_deref(), true).await?;
        }
    }
    Ok(())
}

async fn set_enabled(
    ctx: &Context,
    principal: &str,
    tenant: Option<&str>,
    enabled: bool,
) -> Result<()> {
    let api = ctx.api()?;
    let id = principal_id(ctx, tenant, principal).await?;
    let url = api.url(&format!("/admin/principals/{id}"));
    let sp = api
        .call(
            Method::PATCH,
            Resource::Management,
            &url,
            Some(&json!({ "accountEnabled": enabled })),
        )
        .await?;
    ctx.out.object(&sp, COLUMNS);
    Ok(())
}
