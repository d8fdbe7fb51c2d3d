//! `atrest key rotation-policy`: `GET/PUT {vault}/keys/{name}/rotationpolicy`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use super::key::{call, KeyArgs};
use super::Context;
use crate::error::{Error, Result};
use crate::output::{col, time_col, Column};

const COLUMNS: &[Column] = &[col("Trigger", "/trigger"), col("Action", "/action")];

const ATTRIBUTES: &[Column] = &[
    col("Policy id", "/id"),
    col("Expiry time", "/attributes/expiryTime"),
    time_col("Created", "/attributes/created"),
    time_col("Updated", "/attributes/updated"),
];

/// `atrest key rotation-policy …`.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Show a key's rotation policy.
    ///
    /// Example: atrest key rotation-policy show cmk --vault demo
    Show(KeyArgs),
    /// Replace a key's rotation policy. Durations are ISO 8601 (P90D, P1Y, P6M).
    ///
    /// Example: atrest key rotation-policy set cmk --vault demo --rotate-after-create P90D --notify-before-expiry P30D --expires-after P1Y
    Set(SetArgs),
}

/// Flags of `atrest key rotation-policy set`.
#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Rotate this long after each version is created (at least P7D).
    #[arg(long, value_name = "DURATION")]
    rotate_after_create: Option<String>,
    /// Rotate this long before each version expires.
    #[arg(long, value_name = "DURATION")]
    rotate_before_expiry: Option<String>,
    /// Send a KeyNearExpiry event this long before each version expires.
    #[arg(long, value_name = "DURATION")]
    notify_before_expiry: Option<String>,
    /// New versions expire this long after they are created (at least P28D).
    #[arg(long, value_name = "DURATION")]
    expires_after: Option<String>,
    /// Take the whole policy from a JSON file ({lifetimeActions, attributes}) instead.
    #[arg(long, conflicts_with_all = ["rotate_after_create", "rotate_before_expiry", "notify_before_expiry", "expires_after"])]
    file: Option<PathBuf>,
}

/// Runs `atrest key rotation-policy …`.
pub(crate) async fn run(command: PolicyCommand, ctx: &Context) -> Result<()> {
    let (key, body) = match command {
        PolicyCommand::Show(key) => (key, None),
        PolicyCommand::Set(args) => {
            let body = policy_body(&args)?;
            (args.key, Some(body))
        }
    };
    let method = if body.is_some() {
        Method::PUT
    } else {
        Method::GET
    };
    let policy = call(ctx, &key, method, "/rotationpolicy", body.as_ref()).await?;
    if ctx.out.is_json() {
        ctx.out.object(&policy, ATTRIBUTES);
    } else {
        ctx.out.object(&policy, ATTRIBUTES);
        ctx.out.list(&actions(&policy), COLUMNS);
    }
    Ok(())
}

fn policy_body(args: &SetArgs) -> Result<Value> {
    if let Some(file) = &args.file {
        let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
        return serde_json::from_slice(&bytes).map_err(|e| {
            Error::usage(format!("{} is not a JSON rotation policy", file.display())).with_source(e)
        });
    }
    let mut actions = Vec::new();
    if let Some(d) = &args.rotate_after_create {
        actions
            .push(json!({ "trigger": { "timeAfterCreate": d }, "action": { "type": "Rotate" } }));
    }
    if let Some(d) = &args.rotate_before_expiry {
        actions
            .push(json!({ "trigger": { "timeBeforeExpiry": d }, "action": { "type": "Rotate" } }));
    }
    if let Some(d) = &args.notify_before_expiry {
        actions
            .push(json!({ "trigger": { "timeBeforeExpiry": d }, "action": { "type": "Notify" } }));
    }
    let mut body = json!({ "lifetimeActions": actions, "attributes": {} });
    if let Some(d) = &args.expires_after {
        body["attributes"]["expiryTime"] = json!(d);
    }
    Ok(body)
}

/// One row per lifetime action: `trigger` ("after create P90D") and `action`.
fn actions(policy: &Value) -> Vec<Value> {
    let Some(list) = policy["lifetimeActions"].as_array() else {
        return Vec::new();
    };
    list.iter()
        .map(|a| {
            let trigger = &a["trigger"];
            let text = if let Some(d) = trigger["timeAfterCreate"].as_str() {
                format!("{d} after create")
            } else if let Some(d) = trigger["timeBeforeExpiry"].as_str() {
                format!("{d} before expiry")
            } else {
                trigger.to_string()
            };
            json!({ "trigger": text, "action": a["action"]["type"] })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        set: SetArgs,
    }

    #[test]
    fn flags_build_the_policy() {
        let w = Wrap::parse_from([
            "x",
            "cmk",
            "--vault",
            "demo",
            "--rotate-after-create",
            "P90D",
            "--notify-before-expiry",
            "P30D",
            "--expires-after",
            "P1Y",
        ]);
        let body = policy_body(&w.set).unwrap();
        assert_eq!(body["attributes"]["expiryTime"], "P1Y");
        assert_eq!(
            body["lifetimeActions"][0]["trigger"]["timeAfterCreate"],
            "P90D"
        );
        assert_eq!(body["lifetimeActions"][1]["action"]["type"], "Notify");
        let rows = actions(&body);
        assert_eq!(rows[0]["trigger"], "P90D after create");
    }
}
