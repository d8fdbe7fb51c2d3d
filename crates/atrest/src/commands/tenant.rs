//! `atrest tenant`: directories.

use clap::Subcommand;
use serde_json::json;

use super::lookup::{items, tenant_id};
use super::Context;
use crate::api::Resource;
use crate::error::{Error, Kind, Result};
use crate::output::{col, Column};

const COLUMNS: &[Column] = &[col("Tenant id", "/tenantId"), col("Name", "/displayName")];

/// `atrest tenant …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a tenant (operator only).
    ///
    /// Example: atrest tenant create contoso
    Create {
        /// Display name of the new tenant.
        name: String,
    },
    /// List the tenants you can see (the operator sees all).
    ///
    /// Example: atrest tenant list --output json
    List,
    /// Show one tenant, by id or name.
    ///
    /// Example: atrest tenant show contoso
    Show {
        /// Tenant id or display name.
        tenant: String,
    },
    /// Delete a tenant and its principals (operator only). Refused while it has
    /// subscriptions: delete those first.
    ///
    /// Example: atrest tenant delete contoso
    Delete {
        /// Tenant id or display name.
        tenant: String,
    },
}

/// Runs `atrest tenant …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    let api = ctx.api()?;
    match command {
        Command::Create { name } => {
            let tenant = api
                .call(
                    reqwest::Method::POST,
                    Resource::Management,
                    &api.url("/admin/tenants"),
                    Some(&json!({ "displayName": name })),
                )
                .await?;
            ctx.out.object(&tenant, COLUMNS);
        }
        Command::List => {
            let list = items(
                api.get(Resource::Management, &api.url("/admin/tenants"))
                    .await?,
            );
            ctx.out.list(&list, COLUMNS);
        }
        Command::Show { tenant } => {
            let id = tenant_id(ctx, &tenant).await?;
            let list = items(
                api.get(Resource::Management, &api.url("/admin/tenants"))
                    .await?,
            );
            let found = list
                .into_iter()
                .find(|t| t["tenantId"].as_str() == Some(id.as_str()))
                .ok_or_else(|| {
                    Error::new(Kind::NotFound, format!("tenant '{tenant}' not found"))
                        .with_hint("list them with `atrest tenant list`")
                })?;
            ctx.out.object(&found, COLUMNS);
        }
        Command::Delete { tenant } => {
            let id = tenant_id(ctx, &tenant).await?;
            let url = api.url(&format!("/admin/tenants/{id}"));
            api.call(reqwest::Method::DELETE, Resource::Management, &url, None)
                .await?;
            ctx.out.done(
                &json!({ "tenantId": id, "deleted": true }),
                &format!("Deleted tenant {id}."),
            );
        }
    }
    Ok(())
}
