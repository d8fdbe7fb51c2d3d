//! Key handlers: extract, call one domain method, map to the wire model.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::extract::{KvCaller, KvJson};
use super::models::{
    b64, b64_decode, deleted_bundle, deleted_item, key_bundle, key_item, CreateKeyRequest,
    ImportKeyRequest, PageWire, UpdateKeyRequest, ValueRequest, ValueResult,
};
use super::VaultState;

type Result<T = Response> = std::result::Result<T, ApiError>;

pub(crate) async fn create(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
    KvJson(body): KvJson<CreateKeyRequest>,
) -> Result {
    let request = body.into_domain()?;
    let bundle = s
        .vaults
        .create_key(&c.principal, &c.vault, &name, request)
        .await?;
    Ok(Json(key_bundle(&c.base, &bundle)).into_response())
}

pub(crate) async fn import(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
    KvJson(body): KvJson<ImportKeyRequest>,
) -> Result {
    let (request, components) = body.into_domain()?;
    let bundle = s
        .vaults
        .import_key(&c.principal, &c.vault, &name, request, components)
        .await?;
    Ok(Json(key_bundle(&c.base, &bundle)).into_response())
}

pub(crate) async fn get_latest(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    get(&s, &c, &name, None).await
}

pub(crate) async fn get_version(
    State(s): State<VaultState>,
    c: KvCaller,
    Path((name, version)): Path<(String, String)>,
) -> Result {
    get(&s, &c, &name, Some(&version)).await
}

async fn get(s: &VaultState, c: &KvCaller, name: &str, version: Option<&str>) -> Result {
    let bundle = s
        .vaults
        .get_key(&c.principal, &c.vault, name, version)
        .await?;
    Ok(Json(key_bundle(&c.base, &bundle)).into_response())
}

pub(crate) async fn update_latest(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
    KvJson(body): KvJson<UpdateKeyRequest>,
) -> Result {
    update(&s, &c, &name, None, body).await
}

pub(crate) async fn update_version(
    State(s): State<VaultState>,
    c: KvCaller,
    Path((name, version)): Path<(String, String)>,
    KvJson(body): KvJson<UpdateKeyRequest>,
) -> Result {
    update(&s, &c, &name, Some(&version), body).await
}

async fn update(
    s: &VaultState,
    c: &KvCaller,
    name: &str,
    version: Option<&str>,
    body: UpdateKeyRequest,
) -> Result {
    let update = body.into_domain()?;
    let bundle = s
        .vaults
        .update_key(&c.principal, &c.vault, name, version, update)
        .await?;
    Ok(Json(key_bundle(&c.base, &bundle)).into_response())
}

pub(crate) async fn list(State(s): State<VaultState>, c: KvCaller) -> Result {
    let (max, token) = paging(&c)?;
    let page = s
        .vaults
        .list_keys(&c.principal, &c.vault, max, token.as_deref())
        .await?;
    Ok(Json(PageWire {
        value: page
            .items
            .iter()
            .map(|b| key_item(&c.base, b, false))
            .collect(),
        next_link: page.next.map(|t| next_link(&c, "/keys", max, &t)),
    })
    .into_response())
}

pub(crate) async fn list_versions(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    let (max, token) = paging(&c)?;
    let page = s
        .vaults
        .list_key_versions(&c.principal, &c.vault, &name, max, token.as_deref())
        .await?;
    Ok(Json(PageWire {
        value: page
            .items
            .iter()
            .map(|b| key_item(&c.base, b, true))
            .collect(),
        next_link: page
            .next
            .map(|t| next_link(&c, &format!("/keys/{name}/versions"), max, &t)),
    })
    .into_response())
}

pub(crate) async fn delete(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    let deleted = s.vaults.delete_key(&c.principal, &c.vault, &name).await?;
    Ok(Json(deleted_bundle(&c.base, &deleted)).into_response())
}

pub(crate) async fn get_deleted(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    let deleted = s
        .vaults
        .get_deleted_key(&c.principal, &c.vault, &name)
        .await?;
    Ok(Json(deleted_bundle(&c.base, &deleted)).into_response())
}

pub(crate) async fn list_deleted(State(s): State<VaultState>, c: KvCaller) -> Result {
    let (max, token) = paging(&c)?;
    let page = s
        .vaults
        .list_deleted_keys(&c.principal, &c.vault, max, token.as_deref())
        .await?;
    Ok(Json(PageWire {
        value: page
            .items
            .iter()
            .map(|d| deleted_item(&c.base, d))
            .collect(),
        next_link: page.next.map(|t| next_link(&c, "/deletedkeys", max, &t)),
    })
    .into_response())
}

pub(crate) async fn recover(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    let bundle = s
        .vaults
        .recover_deleted_key(&c.principal, &c.vault, &name)
        .await?;
    Ok(Json(key_bundle(&c.base, &bundle)).into_response())
}

pub(crate) async fn purge(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    s.vaults
        .purge_deleted_key(&c.principal, &c.vault, &name)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn backup(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    let blob = s.vaults.backup_key(&c.principal, &c.vault, &name).await?;
    Ok(Json(ValueResult { value: b64(&blob) }).into_response())
}

pub(crate) async fn restore(
    State(s): State<VaultState>,
    c: KvCaller,
    KvJson(body): KvJson<ValueRequest>,
) -> Result {
    let blob = b64_decode(&body.value, "value")?;
    let bundle = s.vaults.restore_key(&c.principal, &c.vault, &blob).await?;
    Ok(Json(key_bundle(&c.base, &bundle)).into_response())
}

pub(crate) async fn rotate(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    let bundle = s.vaults.rotate_key(&c.principal, &c.vault, &name).await?;
    Ok(Json(key_bundle(&c.base, &bundle)).into_response())
}

fn paging(c: &KvCaller) -> Result<(Option<u32>, Option<String>)> {
    let max = match c
        .query
        .get("maxresults")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => Some(
            v.parse::<u32>()
                .map_err(|_| ApiError::bad("maxresults must be a number from 1 to 25"))?,
        ),
    };
    Ok((max, c.query.get("$skiptoken").cloned()))
}

fn next_link(c: &KvCaller, path: &str, max: Option<u32>, token: &str) -> String {
    let mut link = format!(
        "{}{path}?api-version={}&$skiptoken={token}",
        c.base, c.api_version
    );
    if let Some(max) = max {
        link.push_str(&format!("&maxresults={max}"));
    }
    link
}
