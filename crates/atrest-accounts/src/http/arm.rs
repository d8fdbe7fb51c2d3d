//! ARM management handlers and wire models (camelCase, Azure shapes).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{AppJson, MgmtCaller};
use super::{AccountsState, ApiError};
use crate::model::{rfc3339, Account, Encryption};
use crate::{AccountPatch, AccountSpec, EncryptionSpec, IdentityType, KeyVaultSpec, OnKeyLoss};

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountBody {
    location: Option<String>,
    kind: Option<String>,
    sku: Option<SkuBody>,
    tags: Option<BTreeMap<String, String>>,
    identity: Option<IdentityBody>,
    #[serde(default)]
    properties: PropertiesBody,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SkuBody {
    name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdentityBody {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PropertiesBody {
    encryption: Option<EncryptionBody>,
    on_key_loss: Option<String>,
    user_owned_storage: Option<Vec<UserOwnedStorageBody>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserOwnedStorageBody {
    resource_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EncryptionBody {
    key_source: Option<String>,
    key_vault_properties: Option<KeyVaultBody>,
    require_infrastructure_encryption: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyVaultBody {
    key_name: Option<String>,
    key_version: Option<String>,
    key_vault_uri: Option<String>,
    identity_client_id: Option<String>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

impl AccountBody {
    fn identity(&self) -> Result<Option<IdentityType>> {
        match self.identity.as_ref().map(|i| i.kind.as_str()) {
            None => Ok(None),
            Some(t) if t.eq_ignore_ascii_case("None") => Ok(Some(IdentityType::None)),
            Some(t) if t.eq_ignore_ascii_case("SystemAssigned") => {
                Ok(Some(IdentityType::SystemAssigned))
            }
            Some(t) => Err(bad(format!(
                "identity.type '{t}' is not supported: use None or SystemAssigned"
            ))),
        }
    }

    fn encryption(&self) -> Result<Option<EncryptionSpec>> {
        let Some(e) = &self.properties.encryption else {
            return Ok(None);
        };
        let key_source = match (&e.key_source, &e.key_vault_properties) {
            (Some(s), _) => s.clone(),
            (None, Some(_)) => crate::KEY_SOURCE_CMK.to_owned(),
            (None, None) => return Err(bad("properties.encryption.keySource is required")),
        };
        Ok(Some(EncryptionSpec {
            key_source,
            key_vault: e.key_vault_properties.as_ref().map(|k| KeyVaultSpec {
                key_vault_uri: k.key_vault_uri.clone(),
                key_name: k.key_name.clone(),
                key_version: k.key_version.clone(),
                identity_client_id: k.identity_client_id.clone(),
            }),
        }))
    }

    fn infrastructure_encryption(&self) -> Option<bool> {
        self.properties
            .encryption
            .as_ref()
            .and_then(|e| e.require_infrastructure_encryption)
    }

    fn user_owned_storage(&self) -> Option<Vec<String>> {
        self.properties
            .user_owned_storage
            .as_ref()
            .map(|list| list.iter().map(|s| s.resource_id.clone()).collect())
    }

    fn on_key_loss(&self) -> Result<Option<OnKeyLoss>> {
        self.properties
            .on_key_loss
            .as_deref()
            .map(|v| {
                OnKeyLoss::parse(v).ok_or_else(|| {
                    bad(format!(
                        "properties.onKeyLoss '{v}' is not valid: use block or delete"
                    ))
                })
            })
            .transpose()
    }
}

/// The ARM representation of an account.
fn wire(state: &AccountsState, account: &Account) -> Value {
    let mut encryption = json!({
        "keySource": match account.encryption { Encryption::Platform => crate::KEY_SOURCE_MMK, Encryption::Customer(_) => crate::KEY_SOURCE_CMK },
        "requireInfrastructureEncryption": account.infrastructure_encryption,
    });
    if let Some(c) = account.cmk() {
        encryption["keyVaultProperties"] = json!({
            "keyVaultUri": c.key_vault_uri, "keyName": c.key_name,
            "keyVersion": c.key_version.clone().unwrap_or_default(),
            "identityClientId": c.identity_client_id,
            "currentVersionedKeyIdentifier": format!("{}/keys/{}/{}", c.key_vault_uri.trim_end_matches('/'), c.key_name, account.cmk_wrapped_version.clone().unwrap_or_default()),
        });
    }
    let availability = state.accounts.availability(account);
    let mut status = json!({"keyState": account.key_state.as_str()});
    if let Some(reason) = &account.key_state_reason {
        status["reason"] = json!(reason);
        status["since"] = json!(rfc3339(account.key_state_since.unwrap_or_default()));
    }
    if let Some(since) = availability {
        status["vaultUnreachableSince"] = json!(rfc3339(since));
    }
    if let Some(w) = &account.key_warning {
        let (code, message) = match w.split_once(": ") {
            Some(("keyNearExpiry", m)) => ("KeyNearExpiry", m),
            Some(("keyExpired", m)) => ("KeyExpired", m),
            _ => ("KeyWarning", w.as_str()),
        };
        status["warnings"] = json!([{"code": code, "message": message}]);
    }
    encryption["status"] = status;
    let identity = match &account.identity {
        Some((principal, _)) => {
            json!({"type": "SystemAssigned", "principalId": principal, "tenantId": account.tenant_id})
        }
        None => json!({"type": "None"}),
    };
    let mut properties = json!({
        "provisioningState": "Succeeded",
        "endpoint": format!("{}/accounts/{}/", state.accounts.config().public_base, account.name),
        "encryption": encryption,
        "onKeyLoss": account.on_key_loss.as_str(),
        "dateCreated": rfc3339(account.created),
    });
    if let Some(at) = account.data_deleted_at {
        properties["dataDeletedAt"] = json!(rfc3339(at));
    }
    if let Some(resource_id) = &account.user_owned_storage {
        properties["userOwnedStorage"] = json!([{ "resourceId": resource_id }]);
    }
    json!({
        "id": account.resource_id(), "name": account.name, "type": "Microsoft.CognitiveServices/accounts",
        "location": account.location, "kind": account.kind, "sku": {"name": account.sku},
        "tags": account.tags, "identity": identity, "properties": properties,
    })
}

pub(crate) async fn put(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
    AppJson(body): AppJson<AccountBody>,
) -> Result<Response> {
    let spec = AccountSpec {
        location: body.location.clone().ok_or_else(|| bad("location is required"))?,
        kind: body.kind.clone().ok_or_else(|| bad("kind is required (TextTranslation, TextAnalytics, ContentSafety, SpeechServices, CognitiveServices)"))?,
        sku: body.sku.as_ref().map(|s| s.name.clone()).ok_or_else(|| bad("sku.name is required"))?,
        tags: body.tags.clone(),
        identity: body.identity()?,
        encryption: body.encryption()?,
        on_key_loss: body.on_key_loss()?,
        user_owned_storage: body.user_owned_storage(),
        infrastructure_encryption: body.infrastructure_encryption(),
    };
    let (account, created) = state
        .accounts
        .put_account(&caller, &sub, &rg, &name, spec)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(wire(&state, &account))).into_response())
}

pub(crate) async fn patch(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
    AppJson(body): AppJson<AccountBody>,
) -> Result<Response> {
    let patch = AccountPatch {
        sku: body.sku.as_ref().map(|s| s.name.clone()),
        tags: body.tags.clone(),
        identity: body.identity()?,
        encryption: body.encryption()?,
        on_key_loss: body.on_key_loss()?,
        user_owned_storage: body.user_owned_storage(),
        infrastructure_encryption: body.infrastructure_encryption(),
    };
    let account = state
        .accounts
        .patch_account(&caller, &sub, &rg, &name, patch)
        .await?;
    Ok(Json(wire(&state, &account)).into_response())
}

pub(crate) async fn get(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
) -> Result<Response> {
    let account = state
        .accounts
        .get_account(&caller, &sub, &rg, &name)
        .await?;
    Ok(Json(wire(&state, &account)).into_response())
}

pub(crate) async fn list(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
    Path((sub, rg)): Path<(String, String)>,
) -> Result<Response> {
    let accounts = state.accounts.list_accounts(&caller, &sub, &rg).await?;
    let value: Vec<Value> = accounts.iter().map(|a| wire(&state, a)).collect();
    Ok(Json(json!({ "value": value })).into_response())
}

pub(crate) async fn delete(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
) -> Result<Response> {
    let existed = state
        .accounts
        .delete_account(&caller, &sub, &rg, &name)
        .await?;
    Ok(if existed {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    }
    .into_response())
}

fn keys_wire(keys: crate::ApiKeys) -> Response {
    Json(json!({"key1": keys.key1.as_str(), "key2": keys.key2.as_str()})).into_response()
}

pub(crate) async fn list_keys(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
) -> Result<Response> {
    Ok(keys_wire(
        state.accounts.list_keys(&caller, &sub, &rg, &name).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegenerateBody {
    key_name: Option<String>,
}

pub(crate) async fn regenerate_key(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
    AppJson(body): AppJson<RegenerateBody>,
) -> Result<Response> {
    let which = body
        .key_name
        .ok_or_else(|| bad("keyName (Key1 or Key2) is required"))?;
    Ok(keys_wire(
        state
            .accounts
            .regenerate_key(&caller, &sub, &rg, &name, &which)
            .await?,
    ))
}

pub(crate) async fn rotate_platform_key(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
) -> Result<Response> {
    let version = state.accounts.rotate_platform_key(&caller).await?;
    let location = "/admin/platformKeys";
    Ok((
        StatusCode::ACCEPTED,
        [(axum::http::header::LOCATION, location)],
        Json(json!({"version": version, "status": location})),
    )
        .into_response())
}

/// `GET /admin/platformKeys`: the current version and the rewrap still to do.
pub(crate) async fn platform_key_status(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
) -> Result<Response> {
    let (version, pending) = state.accounts.platform_key_status(&caller).await?;
    Ok(Json(json!({"version": version, "pendingRewraps": pending})).into_response())
}

/// `GET …/accounts/{name}/auditRecords?after=&top=`: the account's audit records (Owner).
pub(crate) async fn audit_records(
    State(state): State<AccountsState>,
    MgmtCaller(caller): MgmtCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
    Query(query): Query<AuditRecordsQuery>,
) -> Result<Response> {
    let records = state
        .accounts
        .audit_records(&caller, &sub, &rg, &name, query.after, query.top)
        .await?;
    Ok(Json(json!({ "value": records })).into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct AuditRecordsQuery {
    after: Option<i64>,
    top: Option<u32>,
}
