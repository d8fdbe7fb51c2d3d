//! Data-plane handlers under `/accounts/{account}`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::TryStreamExt;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{AppJson, DataAuth};
use super::{AccountsState, ApiError};
use crate::model::rfc3339;
use crate::DatasetInfo;

type Result<T> = std::result::Result<T, ApiError>;

fn dataset_wire(d: &DatasetInfo) -> Value {
    json!({"name": d.name, "size": d.size, "sha256": d.sha256, "created": rfc3339(d.created)})
}

pub(crate) async fn upload(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, dataset)): Path<(String, String)>,
    request: Request,
) -> Result<Response> {
    let body = request
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let info = state
        .accounts
        .upload_dataset(&account, &caller, &dataset, body)
        .await?;
    Ok((StatusCode::CREATED, Json(dataset_wire(&info))).into_response())
}

pub(crate) async fn download(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, dataset)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response> {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let download = state
        .accounts
        .download_dataset(&account, &caller, &dataset, range)
        .await?;
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::ACCEPT_RANGES, "bytes")
        .header("x-ms-content-sha256", &download.sha256);
    match download.range {
        Some((first, last)) => {
            builder = builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header(
                    header::CONTENT_RANGE,
                    format!("bytes {first}-{last}/{}", download.size),
                )
                .header(header::CONTENT_LENGTH, last - first + 1);
        }
        None => builder = builder.header(header::CONTENT_LENGTH, download.size),
    }
    builder
        .body(Body::from_stream(download.body))
        .map_err(|e| ApiError::from(crate::Error::internal(e)))
}

pub(crate) async fn list_datasets(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path(account): Path<String>,
) -> Result<Response> {
    let list = state.accounts.list_datasets(&account, &caller).await?;
    Ok(Json(json!({"value": list.iter().map(dataset_wire).collect::<Vec<_>>()})).into_response())
}

pub(crate) async fn delete_dataset(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, dataset)): Path<(String, String)>,
) -> Result<Response> {
    state
        .accounts
        .delete_dataset(&account, &caller, &dataset)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct ModelBody {
    name: String,
    datasets: Vec<String>,
}

pub(crate) async fn create_model(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path(account): Path<String>,
    AppJson(body): AppJson<ModelBody>,
) -> Result<Response> {
    let m = state
        .accounts
        .create_model(&account, &caller, &body.name, &body.datasets)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"name": m.name, "kind": "glossary", "entries": m.entries, "created": rfc3339(m.created)}))).into_response())
}

pub(crate) async fn list_models(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path(account): Path<String>,
) -> Result<Response> {
    let list = state.accounts.list_models(&account, &caller).await?;
    let value: Vec<Value> = list.iter().map(|m| json!({"name": m.name, "kind": "glossary", "entries": m.entries, "created": rfc3339(m.created)})).collect();
    Ok(Json(json!({ "value": value })).into_response())
}

pub(crate) async fn delete_model(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, model)): Path<(String, String)>,
) -> Result<Response> {
    state
        .accounts
        .delete_model(&account, &caller, &model)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeployBody {
    model: String,
}

pub(crate) async fn deploy(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, deployment)): Path<(String, String)>,
    AppJson(body): AppJson<DeployBody>,
) -> Result<Response> {
    let d = state
        .accounts
        .deploy(&account, &caller, &deployment, &body.model)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": d.name, "status": d.status})),
    )
        .into_response())
}

pub(crate) async fn list_deployments(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path(account): Path<String>,
) -> Result<Response> {
    let list = state.accounts.list_deployments(&account, &caller).await?;
    let value: Vec<Value> = list
        .iter()
        .map(|d| json!({"name": d.name, "status": d.status, "created": rfc3339(d.created)}))
        .collect();
    Ok(Json(json!({ "value": value })).into_response())
}

pub(crate) async fn delete_deployment(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path((account, deployment)): Path<(String, String)>,
) -> Result<Response> {
    state
        .accounts
        .delete_deployment(&account, &caller, &deployment)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct TextItem {
    #[serde(alias = "Text")]
    pub(crate) text: String,
}

pub(crate) async fn translate(
    State(state): State<AccountsState>,
    DataAuth(caller): DataAuth,
    Path(account): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    AppJson(body): AppJson<Vec<TextItem>>,
) -> Result<Response> {
    let deployment = query
        .get("deployment")
        .or_else(|| query.get("category"))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "name the deployment: ?deployment=NAME",
            )
        })?;
    let texts: Vec<String> = body.into_iter().map(|t| t.text).collect();
    let out = state
        .accounts
        .translate(&account, &caller, deployment, &texts)
        .await?;
    let value: Vec<Value> = out
        .into_iter()
        .map(|t| json!({"translations": [{"text": t}]}))
        .collect();
    Ok(Json(value).into_response())
}
