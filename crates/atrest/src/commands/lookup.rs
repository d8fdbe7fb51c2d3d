//! Names for ids: tenants, subscriptions and principals may be given by id or by display name;
//! names are looked up through the same list endpoints a user could call.

use serde_json::Value;

use super::Context;
use crate::api::Resource;
use crate::error::{Error, Kind, Result};

/// Whether `value` is a UUID (and so an id, not a name).
pub(crate) fn is_uuid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The `value` array of a list answer.
pub(crate) fn items(list: Value) -> Vec<Value> {
    match list {
        Value::Object(mut map) => match map.remove("value") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// Picks the one item whose `id_field` or `displayName` is `wanted`.
fn pick(items: Vec<Value>, id_field: &str, wanted: &str, what: &str, list: &str) -> Result<Value> {
    let mut matches: Vec<Value> = items
        .into_iter()
        .filter(|item| {
            item[id_field]
                .as_str()
                .is_some_and(|v| v.eq_ignore_ascii_case(wanted))
                || item["displayName"].as_str() == Some(wanted)
        })
        .collect();
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(Error::new(
            Kind::NotFound,
            format!("no {what} '{wanted}' is visible to you"),
        )
        .with_hint(format!("list them with `{list}`"))),
        n => Err(Error::usage(format!("{n} {what}s are named '{wanted}'"))
            .with_hint(format!("give the id instead (see `{list}`)"))),
    }
}

/// The tenant id for an id or display name.
pub(crate) async fn tenant_id(ctx: &Context, wanted: &str) -> Result<String> {
    if is_uuid(wanted) {
        return Ok(wanted.to_owned());
    }
    let api = ctx.api()?;
    let list = items(
        api.get(Resource::Management, &api.url("/admin/tenants"))
            .await?,
    );
    let tenant = pick(list, "tenantId", wanted, "tenant", "atrest tenant list")?;
    Ok(tenant["tenantId"].as_str().unwrap_or_default().to_owned())
}

/// The subscription named by `wanted`, else by `--subscription`, else the caller's only one.
pub(crate) async fn subscription(ctx: &Context, wanted: Option<&str>) -> Result<Value> {
    let api = ctx.api()?;
    let wanted = wanted.or(ctx.subscription.as_deref());
    if let Some(id) = wanted.filter(|w| is_uuid(w)) {
        return api
            .get(
                Resource::Management,
                &api.url(&format!("/subscriptions/{id}")),
            )
            .await;
    }
    let list = items(
        api.get(Resource::Management, &api.url("/subscriptions"))
            .await?,
    );
    match wanted {
        Some(name) => pick(
            list,
            "subscriptionId",
            name,
            "subscription",
            "atrest subscription list",
        ),
        None if list.len() == 1 => Ok(list.into_iter().next().unwrap_or_default()),
        None => {
            let names: Vec<&str> = list
                .iter()
                .filter_map(|s| s["displayName"].as_str())
                .collect();
            let err = Error::usage(format!(
                "say which subscription to use: you have a role on {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ));
            Err(if names.is_empty() {
                err.with_hint(
                    "the operator creates one with `atrest subscription create NAME --tenant T --owner YOU`",
                )
            } else {
                err.with_hint("pass --subscription NAME or set ATREST_SUBSCRIPTION")
            })
        }
    }
}

/// The id of the subscription to act in.
pub(crate) async fn subscription_id(ctx: &Context) -> Result<String> {
    let sub = subscription(ctx, None).await?;
    Ok(sub["subscriptionId"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// A principal's object id for an id or display name, searched in `tenant` (id or name) or
/// every tenant visible to the caller.
pub(crate) async fn principal_id(
    ctx: &Context,
    tenant: Option<&str>,
    wanted: &str,
) -> Result<String> {
    if is_uuid(wanted) {
        return Ok(wanted.to_owned());
    }
    let api = ctx.api()?;
    let tenants = match tenant {
        Some(t) => vec![tenant_id(ctx, t).await?],
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
        match api.get(Resource::Management, &url).await {
            Ok(list) => all.extend(items(list)),
            Err(e) if e.kind() == Kind::Forbidden => {}
            Err(e) => return Err(e),
        }
    }
    let found = pick(
        all,
        "objectId",
        wanted,
        "principal",
        "atrest sp list --tenant TENANT",
    )?;
    Ok(found["objectId"].as_str().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uuids_are_ids() {
        assert!(is_uuid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));
        assert!(!is_uuid("contoso"));
        assert!(!is_uuid("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fz"));
    }

    #[test]
    fn pick_finds_one_by_id_or_name() {
        let list = vec![
            json!({"tenantId": "a", "displayName": "x"}),
            json!({"tenantId": "b", "displayName": "y"}),
            json!({"tenantId": "c", "displayName": "y"}),
        ];
        assert_eq!(
            pick(list.clone(), "tenantId", "x", "t", "l").unwrap()["tenantId"],
            "a"
        );
        assert_eq!(
            pick(list.clone(), "tenantId", "B", "t", "l").unwrap()["tenantId"],
            "b"
        );
        assert_eq!(
            pick(list.clone(), "tenantId", "y", "t", "l")
                .unwrap_err()
                .kind(),
            Kind::Usage
        );
        assert_eq!(
            pick(list, "tenantId", "z", "t", "l").unwrap_err().kind(),
            Kind::NotFound
        );
    }
}
