//! Management-plane handlers (`/subscriptions/{sub}/...Microsoft.KeyVault/vaults`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::arm_models::{
    deleted_vault_json, policies, policies_json, vault_json, AccessPolicyBody, ListWire,
    VaultPatchBody, VaultPutBody,
};
use super::error::ApiError;
use super::extract::{ArmCaller, KvJson};
use super::VaultState;
use crate::PolicyEdit;

type Result<T = Response> = std::result::Result<T, ApiError>;

pub(crate) async fn put(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
    KvJson(body): KvJson<VaultPutBody>,
) -> Result {
    let spec = body.into_domain()?;
    let (vault, created) = s
        .vaults
        .put_vault(&c.principal, &sub, &rg, &name, spec)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(vault_json(&vault, &s.vaults.vault_uri(&vault))),
    )
        .into_response())
}

pub(crate) async fn get(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
) -> Result {
    let vault = s.vaults.get_vault(&c.principal, &sub, &rg, &name).await?;
    Ok(Json(vault_json(&vault, &s.vaults.vault_uri(&vault))).into_response())
}

pub(crate) async fn patch(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
    KvJson(body): KvJson<VaultPatchBody>,
) -> Result {
    let patch = body.into_domain()?;
    let vault = s
        .vaults
        .patch_vault(&c.principal, &sub, &rg, &name, patch)
        .await?;
    Ok(Json(vault_json(&vault, &s.vaults.vault_uri(&vault))).into_response())
}

pub(crate) async fn delete(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
) -> Result {
    let existed = s
        .vaults
        .delete_vault(&c.principal, &sub, &rg, &name)
        .await?;
    Ok(if existed {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    }
    .into_response())
}

pub(crate) async fn list(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, rg)): Path<(String, String)>,
) -> Result {
    let vaults = s.vaults.list_vaults(&c.principal, &sub, &rg).await?;
    let value = vaults
        .iter()
        .map(|v| vault_json(v, &s.vaults.vault_uri(v)))
        .collect();
    Ok(Json(ListWire {
        value,
        next_link: None,
    })
    .into_response())
}

pub(crate) async fn list_deleted(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path(sub): Path<String>,
) -> Result {
    let vaults = s.vaults.list_deleted_vaults(&c.principal, &sub).await?;
    let value = vaults.iter().map(deleted_vault_json).collect();
    Ok(Json(ListWire {
        value,
        next_link: None,
    })
    .into_response())
}

pub(crate) async fn get_deleted(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, location, name)): Path<(String, String, String)>,
) -> Result {
    let vault = s
        .vaults
        .get_deleted_vault(&c.principal, &sub, &location, &name)
        .await?;
    Ok(Json(deleted_vault_json(&vault)).into_response())
}

pub(crate) async fn purge_deleted(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, location, name)): Path<(String, String, String)>,
) -> Result {
    s.vaults
        .purge_deleted_vault(&c.principal, &sub, &location, &name)
        .await?;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn access_policies(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, rg, name, op)): Path<(String, String, String, String)>,
    KvJson(body): KvJson<AccessPolicyBody>,
) -> Result {
    let edit = PolicyEdit::parse(&op).ok_or_else(|| {
        ApiError::bad(format!(
            "Unknown access policy operation '{op}': use add, replace or remove"
        ))
    })?;
    let list = policies(body.properties.access_policies)?;
    let now = s
        .vaults
        .edit_access_policies(&c.principal, &sub, &rg, &name, edit, list)
        .await?;
    Ok(Json(json!({
        "id": format!(
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}/accessPolicies/{}",
            op.to_ascii_lowercase()
        ),
        "type": "Microsoft.KeyVault/vaults/accessPolicies",
        "properties": { "accessPolicies": policies_json(&now) },
    }))
    .into_response())
}

pub(crate) async fn audit_records(
    State(s): State<VaultState>,
    c: ArmCaller,
    Path((sub, rg, name)): Path<(String, String, String)>,
) -> Result {
    let number = |key: &str| -> Result<Option<i64>> {
        c.query
            .get(key)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::bad(format!("'{key}' must be a number")))
            })
            .transpose()
    };
    let after = number("after")?;
    let top = number("top")?.map(|t| u32::try_from(t).unwrap_or(0));
    let records = s
        .vaults
        .audit_records(&c.principal, &sub, &rg, &name, after, top)
        .await?;
    Ok(Json(json!({ "value": records })).into_response())
}
