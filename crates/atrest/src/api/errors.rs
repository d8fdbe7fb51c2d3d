//! Server errors (`{"error":{"code","message"}}`) turned into client errors that say what to
//! do next.

use reqwest::Response;
use serde_json::Value;

use crate::error::{Error, Kind};

/// Reads an error response.
pub(crate) async fn from_response(response: Response) -> Error {
    let status = response.status().as_u16();
    let url = response.url().clone();
    let request_id = response
        .headers()
        .get("x-ms-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = match response.text().await {
        Ok(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Err(_) => Value::Null,
    };
    let (code, message) = match &body {
        Value::Object(_) if body["error"].is_object() => (
            body["error"]["code"].as_str().unwrap_or(""),
            body["error"]["message"].as_str().unwrap_or(""),
        ),
        Value::String(text) => ("", text.as_str()),
        _ => ("", ""),
    };
    let inner = body["error"]["innererror"]["code"].as_str().unwrap_or("");
    let mut err = classify(status, code, inner, message);
    if status >= 500 {
        let id = request_id.as_deref().unwrap_or("-");
        err = err.with_hint(format!(
            "the server failed on {} {url}; its log has the details (request id {id})",
            status
        ));
    }
    err
}

/// The error for a status, code and message, with a hint where one is known.
pub(crate) fn classify(status: u16, code: &str, inner: &str, message: &str) -> Error {
    let text = if message.is_empty() {
        format!("the server answered {status} {code}")
    } else if code.is_empty() {
        format!("{message} ({status})")
    } else {
        format!("{message} ({status} {code})")
    };
    if is_key_inaccessible(code, inner, message) {
        return Error::new(Kind::KeyInaccessible, text).with_hint(
            "the account's customer-managed key cannot be used, so its data is locked: enable the \
             key again (`atrest key enable NAME --vault VAULT`), restore the account identity's \
             access (`atrest vault set-policy VAULT --object-id ID --key-permissions \
             get,wrapKey,unwrapKey`) or recover a deleted key or vault; nothing was deleted",
        );
    }
    if let Some(hint) = account_hint(code) {
        return Error::failed(text).with_hint(hint);
    }
    match status {
        401 => unauthenticated(text, message),
        403 => forbidden(text, message),
        404 => {
            let err = Error::new(Kind::NotFound, text);
            if message.starts_with("no such endpoint") {
                err.with_hint(
                    "this server does not offer that API yet: is it an older `atrest serve`?",
                )
            } else {
                err
            }
        }
        409 => conflict(text, message),
        _ => Error::failed(text),
    }
}

fn is_key_inaccessible(code: &str, inner: &str, message: &str) -> bool {
    [code, inner]
        .iter()
        .any(|c| c.contains("KeyInaccessible") || c.contains("KeyVaultKeyNotAccessible"))
        || message.contains("KeyInaccessible")
}

/// What to do about the accounts service's refusals of an encryption change.
fn account_hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "KeyVaultAccessDenied" => {
            "the account's identity needs get, wrapKey and unwrapKey on the vault: add \
             --grant-access, or run `atrest vault set-policy VAULT --object-id IDENTITY \
             --key-permissions get,wrapKey,unwrapKey`"
        }
        "SubscriptionNotApprovedForCmk" => {
            "the operator must approve customer-managed keys for the subscription first: \
             `atrest subscription approve-cmk SUBSCRIPTION`"
        }
        "SkuNotEligibleForCmk" => {
            "this SKU does not allow customer-managed keys: use an account created with --sku S0 \
             (or S, S1–S4)"
        }
        "KeyVaultNotEligible" => {
            "the vault must be in the account's tenant and region: create one there with \
             `atrest vault create NAME --location REGION`"
        }
        "CmkNotAllowedAtCreation" => {
            "create the account first, then `atrest account encryption set NAME --vault V --key K`"
        }
        _ => return None,
    })
}

fn unauthenticated(text: String, message: &str) -> Error {
    let err = Error::new(Kind::Unauthenticated, text);
    if let Some(tenant) = between(message, "token of tenant '", "'") {
        return err.with_hint(format!(
            "this vault belongs to tenant {tenant}: sign in with a principal of that tenant \
             (`atrest login --profile NAME --credentials sp.json --cacert ca.pem`)"
        ));
    }
    if message.contains("disabled") || message.contains("no longer exists") {
        let oid = between(message, "principal '", "'").unwrap_or("OBJECT_ID");
        return err.with_hint(format!(
            "the signed-in principal was disabled or deleted: the operator can re-enable it with \
             `atrest sp enable {oid}`"
        ));
    }
    err.with_hint("sign in again: `atrest login`")
}

fn forbidden(text: String, message: &str) -> Error {
    let err = Error::new(Kind::Forbidden, text);
    // Key Vault: "... 'appid=..;oid=OID;iss=..' does not have keys PERM permission on key vault 'VAULT'..."
    if let (Some(oid), Some(permission), Some(vault)) = (
        between(message, "oid=", ";"),
        between(message, "does not have keys ", " permission"),
        between(message, "on key vault '", "'"),
    ) {
        let grant = if ["get", "wrapKey", "unwrapKey", "any"].contains(&permission) {
            "--key-permissions get,wrapKey,unwrapKey".to_owned()
        } else {
            format!("--add --key-permissions {permission}")
        };
        return Error::new(
            Kind::Forbidden,
            format!("the principal {oid} has no {permission} permission on vault {vault}"),
        )
        .with_hint(format!(
            "run `atrest vault set-policy {vault} --object-id {oid} {grant}` (as a Contributor of \
             the vault's subscription)"
        ));
    }
    if message.contains("disabled key") {
        return err.with_hint("the key is disabled: `atrest key enable NAME --vault VAULT`");
    }
    if message.contains("expired key") || message.contains("not yet valid") {
        return err.with_hint(
            "the key is outside its nbf–exp window: rotate it (`atrest key rotate NAME --vault \
             VAULT`) or create a new one",
        );
    }
    if message.contains("not in the key's key_ops") {
        return err
            .with_hint("the key does not allow that operation: create a key with it in --ops");
    }
    if message.contains("purge protection") {
        return err.with_hint(
            "purge protection is on: the object is purged automatically when its retention \
             period ends",
        );
    }
    if message.contains("only the operator") {
        return err.with_hint("sign in as the operator: `atrest login --data-dir ./atrest-data`");
    }
    if let (Some(oid), Some(scope)) = (
        between(message, "with object id '", "'"),
        between(message, "over scope '", "'"),
    ) {
        let subscription = scope
            .strip_prefix("/subscriptions/")
            .and_then(|s| s.split('/').next())
            .unwrap_or(scope);
        return err.with_hint(format!(
            "ask an Owner of the subscription (or the operator) to run `atrest role assign \
             --subscription {subscription} --object-id {oid} --role Contributor`"
        ));
    }
    err
}

fn conflict(text: String, message: &str) -> Error {
    let err = Error::failed(text);
    if message.contains("deleted but recoverable") {
        return err.with_hint(
            "recover it with `atrest key recover NAME --vault VAULT`, or purge it with `atrest key \
             purge NAME --vault VAULT` to reuse the name",
        );
    }
    if message.contains("exists in the deleted state") {
        return err.with_hint(
            "recover it with `atrest vault recover NAME`, or purge it with `atrest vault purge \
             NAME` to reuse the name",
        );
    }
    err
}

/// The text between `start` and the next `end` in `haystack`.
fn between<'a>(haystack: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = haystack.find(start)? + start.len();
    let len = haystack[from..].find(end)?;
    Some(&haystack[from..from + len]).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_vault_permission_names_the_fix() {
        let message = "The user, group or application 'appid=c1;oid=o-9;iss=https://sts.windows.net/t1/' does not have keys unwrapKey permission on key vault 'demo'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287";
        let err = classify(403, "Forbidden", "AccessDenied", message);
        assert_eq!(err.kind(), Kind::Forbidden);
        assert_eq!(
            err.to_string(),
            "the principal o-9 has no unwrapKey permission on vault demo"
        );
        assert_eq!(
            err.hint().unwrap(),
            "run `atrest vault set-policy demo --object-id o-9 --key-permissions get,wrapKey,unwrapKey` (as a Contributor of the vault's subscription)"
        );
        let other = classify(
            403,
            "Forbidden",
            "AccessDenied",
            &message.replace("unwrapKey", "purge"),
        );
        assert!(other
            .hint()
            .unwrap()
            .contains("--add --key-permissions purge"));
    }

    #[test]
    fn role_failures_name_role_assign() {
        let message = "the client 'o-1' with object id 'o-1' does not have authorization to perform action 'Microsoft.KeyVault/vaults/write' over scope '/subscriptions/s-1/resourceGroups/rg' or the scope is invalid";
        let err = classify(403, "AuthorizationFailed", "", message);
        assert!(err
            .hint()
            .unwrap()
            .contains("atrest role assign --subscription s-1 --object-id o-1"));
    }

    #[test]
    fn statuses_map_to_exit_kinds() {
        assert_eq!(classify(404, "KeyNotFound", "", "x").kind(), Kind::NotFound);
        assert_eq!(
            classify(401, "AuthenticationFailed", "", "x").kind(),
            Kind::Unauthenticated
        );
        assert_eq!(
            classify(403, "KeyInaccessible", "", "x").kind(),
            Kind::KeyInaccessible
        );
        assert_eq!(classify(409, "Conflict", "", "x").kind(), Kind::Failed);
        assert_eq!(classify(400, "BadParameter", "", "x").kind(), Kind::Failed);
        let err = classify(
            409,
            "Conflict",
            "",
            "Key k is currently in a deleted but recoverable state",
        );
        assert!(err.hint().unwrap().contains("atrest key recover"));
    }
}
