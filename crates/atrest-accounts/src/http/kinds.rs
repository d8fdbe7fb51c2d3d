//! Data-plane handlers for Content Safety blocklists and Speech endpoint logs.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::data::TextItem;
use super::extract::{AppJson, DataAuth};
use super::{AccountsState, ApiError};
use crate::model::rfc3339;

type Result<T> = std::result::Result<T, ApiError>;

pub(crate) async fn put_blocklist(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, list)): Path<(String, String)>,
) -> Result<Response> {
    state
        .accounts
        .put_blocklist(&account, &caller, &list)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"blocklistName": list}))).into_response())
}

pub(crate) async fn list_blocklists(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path(account): Path<String>,
) -> Result<Response> {
    let names = state.accounts.list_blocklists(&account, &caller).await?;
    let value: Vec<Value> = names.iter().map(|n| json!({"blocklistName": n})).collect();
    Ok(Json(json!({ "value": value })).into_response())
}

pub(crate) async fn delete_blocklist(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, list)): Path<(String, String)>,
) -> Result<Response> {
    state
        .accounts
        .delete_blocklist(&account, &caller, &list)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemsBody {
    blocklist_items: Vec<TextItem>,
}

pub(crate) async fn add_items(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, list)): Path<(String, String)>,
    AppJson(body): AppJson<ItemsBody>,
) -> Result<Response> {
    let texts: Vec<String> = body.blocklist_items.into_iter().map(|t| t.text).collect();
    let items = state
        .accounts
        .add_blocklist_items(&account, &caller, &list, &texts)
        .await?;
    let value: Vec<Value> = items
        .iter()
        .map(|i| json!({"blocklistItemId": i.id, "text": i.text}))
        .collect();
    Ok(Json(json!({ "blocklistItems": value })).into_response())
}

pub(crate) async fn list_items(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, list)): Path<(String, String)>,
) -> Result<Response> {
    let items = state
        .accounts
        .list_blocklist_items(&account, &caller, &list)
        .await?;
    let value: Vec<Value> = items
        .iter()
        .map(|i| json!({"blocklistItemId": i.id, "text": i.text}))
        .collect();
    Ok(Json(json!({ "value": value })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnalyzeBody {
    text: String,
    #[serde(default)]
    blocklist_names: Vec<String>,
}

pub(crate) async fn analyze(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path(account): Path<String>,
    AppJson(body): AppJson<AnalyzeBody>,
) -> Result<Response> {
    let hits = state
        .accounts
        .analyze_text(&account, &caller, &body.text, &body.blocklist_names)
        .await?;
    let value: Vec<Value> = hits.iter().map(|h| json!({"blocklistName": h.blocklist, "blocklistItemId": h.item_id, "blocklistItemText": h.text})).collect();
    Ok(Json(json!({ "blocklistsMatch": value })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EndpointBody {
    #[serde(default)]
    content_logging_enabled: bool,
}

pub(crate) async fn put_endpoint(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, endpoint)): Path<(String, String)>,
    AppJson(body): AppJson<EndpointBody>,
) -> Result<Response> {
    let logging = state
        .accounts
        .put_endpoint(&account, &caller, &endpoint, body.content_logging_enabled)
        .await?;
    Ok(Json(json!({"name": endpoint, "contentLoggingEnabled": logging})).into_response())
}

pub(crate) async fn recognize(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, endpoint)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response> {
    let text = state
        .accounts
        .recognize(&account, &caller, &endpoint, body)
        .await?;
    Ok(Json(json!({"RecognitionStatus": "Success", "DisplayText": text})).into_response())
}

pub(crate) async fn list_logs(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, endpoint)): Path<(String, String)>,
) -> Result<Response> {
    let logs = state
        .accounts
        .list_logs(&account, &caller, &endpoint)
        .await?;
    let value: Vec<Value> = logs
        .iter()
        .map(|l| json!({"id": l.id, "size": l.size, "created": rfc3339(l.created)}))
        .collect();
    Ok(Json(json!({ "value": value })).into_response())
}

pub(crate) async fn get_log(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, endpoint, id)): Path<(String, String, String)>,
) -> Result<Response> {
    let download = state
        .accounts
        .get_log(&account, &caller, &endpoint, &id)
        .await?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(download.body))
        .map_err(|e| ApiError::from(crate::Error::internal(e)))
}
