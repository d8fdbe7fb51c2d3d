//! `atrest role`: management roles on subscriptions.

use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::json;

use super::lookup::{principal_id, subscription};
use super::Context;
use crate::api::Resource;
use crate::error::Result;
use crate::output::{col, Column};

const COLUMNS: &[Column] = &[
    col("Principal", "/properties/principalId"),
    col("Role", "/properties/roleDefinitionName"),
    col("Scope", "/properties/scope"),
];

/// A management role.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleName {
    /// Read resources.
    Reader,
    /// Create, change and delete resources.
    Contributor,
    /// Contributor, plus assigning roles.
    Owner,
}

impl RoleName {
    fn as_str(self) -> &'static str {
        match self {
            Self::Reader => "Reader",
            Self::Contributor => "Contributor",
            Self::Owner => "Owner",
        }
    }
}

/// `atrest role …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Give a principal a role on a subscription (replaces its earlier role there). Needs
    /// Owner on the subscription, or the operator.
    ///
    /// Example: atrest role assign --subscription dev --object-id app1 --role Contributor
    Assign {
        /// The principal: object id, or display name of a service principal.
        #[arg(long, value_name = "ID")]
        object_id: String,
        /// The role.
        #[arg(long, value_enum, ignore_case = true)]
        role: RoleName,
    },
}

/// Runs `atrest role …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    let api = ctx.api()?;
    match command {
        Command::Assign { object_id, role } => {
            let sub = subscription(ctx, None).await?;
            let sub_id = sub["subscriptionId"].as_str().unwrap_or_default();
            let tenant = sub["tenantId"].as_str();
            let principal = principal_id(ctx, tenant, &object_id).await?;
            let url = api.url(&format!(
                "/subscriptions/{sub_id}/providers/Microsoft.Authorization/roleAssignments/{principal}"
            ));
            let body = json!({ "properties": { "roleDefinitionName": role.as_str() } });
            let assignment = api
                .call(Method::PUT, Resource::Management, &url, Some(&body))
                .await?;
            ctx.out.object(&assignment, COLUMNS);
        }
    }
    Ok(())
}
