//! `atrest subscription`: the scope vaults and accounts live in.

use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::lookup::{items, principal_id, subscription, tenant_id};
use super::Context;
use crate::api::Resource;
use crate::error::Result;
use crate::output::{col, Column};

const COLUMNS: &[Column] = &[
    col("Subscription id", "/subscriptionId"),
    col("Name", "/displayName"),
    col("Tenant id", "/tenantId"),
    col("CMK approved", "/cmkApproved"),
];

/// `atrest subscription …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a subscription in a tenant (operator only), optionally with an Owner.
    ///
    /// Example: atrest subscription create dev --tenant contoso --owner contoso-admin
    Create {
        /// Display name of the new subscription.
        name: String,
        /// Tenant (id or name) the subscription belongs to.
        #[arg(long)]
        tenant: String,
        /// Principal (object id or display name, of that tenant) to make its Owner.
        #[arg(long)]
        owner: Option<String>,
    },
    /// List the subscriptions you have a role on (the operator sees all).
    ///
    /// Example: atrest subscription list
    List,
    /// Show one subscription, by id or name.
    ///
    /// Example: atrest subscription show dev
    Show {
        /// Subscription id or display name. Default: --subscription, or your only one.
        subscription: Option<String>,
    },
    /// Delete a subscription (operator only). Refused while it holds vaults (soft-deleted
    /// ones too) or accounts: delete and purge those first.
    ///
    /// Example: atrest subscription delete dev
    Delete {
        /// Subscription id or display name.
        subscription: String,
    },
    /// Move a subscription to another tenant (operator only). Its role assignments are
    /// removed, as in Azure; refused while it holds accounts (those with a customer-managed key
    /// would lose their data; any account's objects are bound to its tenant).
    ///
    /// Example: atrest subscription move dev --tenant fabrikam
    Move {
        /// Subscription id or display name.
        subscription: String,
        /// Tenant (id or name) to move it to.
        #[arg(long)]
        tenant: String,
    },
    /// Approve (or revoke approval of) customer-managed keys for a subscription (operator
    /// only).
    ///
    /// Example: atrest subscription approve-cmk dev
    ApproveCmk {
        /// Subscription id or display name.
        subscription: String,
        /// Withdraw the approval instead of granting it.
        #[arg(long)]
        revoke: bool,
    },
}

/// Runs `atrest subscription …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    let api = ctx.api()?;
    match command {
        Command::Create {
            name,
            tenant,
            owner,
        } => {
            let tenant = tenant_id(ctx, &tenant).await?;
            let mut body = json!({ "displayName": name });
            if let Some(owner) = owner {
                body["ownerObjectId"] = json!(principal_id(ctx, Some(&tenant), &owner).await?);
            }
            let url = api.url(&format!("/admin/tenants/{tenant}/subscriptions"));
            let sub = api
                .call(Method::POST, Resource::Management, &url, Some(&body))
                .await?;
            ctx.out.object(&sub, COLUMNS);
        }
        Command::List => {
            let list = items(
                api.get(Resource::Management, &api.url("/subscriptions"))
                    .await?,
            );
            ctx.out.list(&list, COLUMNS);
        }
        Command::Show {
            subscription: wanted,
        } => {
            let sub = subscription(ctx, wanted.as_deref()).await?;
            ctx.out.object(&sub, COLUMNS);
        }
        Command::Delete {
            subscription: wanted,
        } => {
            let sub = subscription(ctx, Some(&wanted)).await?;
            let id = sub["subscriptionId"].as_str().unwrap_or_default();
            let url = api.url(&format!("/admin/subscriptions/{id}"));
            api.call(Method::DELETE, Resource::Management, &url, None)
                .await?;
            ctx.out.done(
                &json!({ "subscriptionId": id, "deleted": true }),
                &format!("Deleted subscription {id}."),
            );
        }
        Command::Move {
            subscription: wanted,
            tenant,
        } => {
            let sub = subscription(ctx, Some(&wanted)).await?;
            let id = sub["subscriptionId"].as_str().unwrap_or_default();
            let tenant = tenant_id(ctx, &tenant).await?;
            let url = api.url(&format!("/admin/subscriptions/{id}"));
            let moved = api
                .call(
                    Method::PATCH,
                    Resource::Management,
                    &url,
                    Some(&json!({ "tenantId": tenant })),
                )
                .await?;
            ctx.out.object(&moved, COLUMNS);
        }
        Command::ApproveCmk {
            subscription: wanted,
            revoke,
        } => {
            let sub = subscription(ctx, Some(&wanted)).await?;
            let id = sub["subscriptionId"].as_str().unwrap_or_default();
            let url = api.url(&format!("/admin/subscriptions/{id}/cmkApproval"));
            let sub = api
                .call(
                    Method::PATCH,
                    Resource::Management,
                    &url,
                    Some(&json!({ "approved": !revoke })),
                )
                .await?;
            ctx.out.object(&sub, COLUMNS);
        }
    }
    Ok(())
}
