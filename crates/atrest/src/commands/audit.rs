//! `atrest audit`: the hash-chained audit log.
//!
//! `list` reads a vault's records (`GET …/Microsoft.KeyVault/vaults/{name}/auditRecords`) or an
//! account's (`GET …/Microsoft.CognitiveServices/accounts/{name}/auditRecords`).
//! `verify` asks the server to check the whole chain: `GET /admin/audit/verify` (operator),
//! answering `{"verified": bool, "records": N, "brokenAt"?: SEQ, "reason"?: "…"}`.

use clap::Subcommand;
use serde_json::Value;

use super::lookup::{items, subscription_id};
use super::Context;
use crate::api::Resource;
use crate::error::{Error, Result};
use crate::output::{col, time_col, Column};

const COLUMNS: &[Column] = &[
    col("Seq", "/seq"),
    time_col("Time", "/time"),
    col("Principal", "/principalId"),
    col("Operation", "/operation"),
    col("Key", "/keyName"),
    col("Version", "/keyVersion"),
    col("Result", "/result"),
    col("Status", "/status"),
    col("Detail", "/detail"),
];

const VERIFY_COLUMNS: &[Column] = &[
    col("Verified", "/verified"),
    col("Records", "/records"),
    col("Broken at", "/brokenAt"),
    col("Reason", "/reason"),
];

/// `atrest audit …`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List a vault's audit records (who did what to which key version, with what result)
    /// or an account's (its key changes, key checks and revocations).
    ///
    /// Example: atrest audit list --vault demo --top 20
    /// Example: atrest audit list --account translator
    List {
        /// Vault name.
        #[arg(long, required_unless_present = "account", conflicts_with = "account")]
        vault: Option<String>,
        /// Account name.
        #[arg(long)]
        account: Option<String>,
        /// Only records after this sequence number.
        #[arg(long, value_name = "SEQ")]
        after: Option<i64>,
        /// At most this many records (1–1000).
        #[arg(long, value_name = "N")]
        top: Option<u32>,
    },
    /// Verify the whole audit chain on the server (operator only): proves no record was
    /// changed, removed or reordered. Exits 1 if the chain is broken.
    ///
    /// Example: atrest audit verify
    Verify,
}

/// Runs `atrest audit …`.
pub(crate) async fn run(command: Command, ctx: &Context) -> Result<()> {
    let api = ctx.api()?;
    match command {
        Command::List {
            vault,
            account,
            after,
            top,
        } => {
            let sub = subscription_id(ctx).await?;
            let resource = match (vault, account) {
                (Some(vault), _) => format!("Microsoft.KeyVault/vaults/{vault}"),
                (None, Some(account)) => {
                    format!("Microsoft.CognitiveServices/accounts/{account}")
                }
                (None, None) => return Err(Error::usage("give --vault NAME or --account NAME")),
            };
            let mut url = api.url(&format!(
                "/subscriptions/{sub}/resourceGroups/{}/providers/{resource}/auditRecords?api-version=2023-07-01",
                ctx.resource_group
            ));
            if let Some(after) = after {
                url.push_str(&format!("&after={after}"));
            }
            if let Some(top) = top {
                url.push_str(&format!("&top={top}"));
            }
            let records = items(api.get(Resource::Management, &url).await?);
            ctx.out.list(&records, COLUMNS);
        }
        Command::Verify => {
            let answer = api
                .get(Resource::Management, &api.url("/admin/audit/verify"))
                .await?;
            ctx.out.object(&answer, VERIFY_COLUMNS);
            if answer["verified"] != Value::Bool(true) {
                return Err(Error::failed(format!(
                    "the audit chain is broken at record {}: {}",
                    answer["brokenAt"],
                    answer["reason"].as_str().unwrap_or("no reason given")
                ))
                .with_hint("records from there on were changed, removed or reordered: restore the database from a backup and investigate"));
            }
        }
    }
    Ok(())
}
