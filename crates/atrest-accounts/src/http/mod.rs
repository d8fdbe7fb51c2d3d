//! The REST surface: ARM management of accounts and the data plane under `/accounts/{name}`.
//! Handlers extract, call one [`Accounts`] method, and map the result to the wire.

mod arm;
mod data;
mod extract;
mod kinds;

use atrest_identity::Directory;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::json;

use crate::{Accounts, Error};

/// Router state.
#[derive(Clone, Debug)]
pub struct AccountsState {
    accounts: Accounts,
    directory: Directory,
}

impl AccountsState {
    /// Wraps the service.
    pub fn new(accounts: Accounts, directory: Directory) -> Self {
        Self {
            accounts,
            directory,
        }
    }
}

/// Largest JSON body.
const MAX_JSON: usize = 1024 * 1024;

/// Routes of accounts (management and data plane).
pub fn router<S>() -> Router<S>
where
    AccountsState: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    const ACCOUNTS: &str =
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts";
    const DATA: &str = "/accounts/{account}";
    let management = Router::new()
        .route(ACCOUNTS, get(arm::list))
        .route(
            &format!("{ACCOUNTS}/{{name}}"),
            put(arm::put)
                .get(arm::get)
                .patch(arm::patch)
                .delete(arm::delete),
        )
        .route(
            &format!("{ACCOUNTS}/{{name}}/listKeys"),
            post(arm::list_keys),
        )
        .route(
            &format!("{ACCOUNTS}/{{name}}/regenerateKey"),
            post(arm::regenerate_key),
        )
        .route(
            &format!("{ACCOUNTS}/{{name}}/auditRecords"),
            get(arm::audit_records),
        )
        .route("/admin/platformKeys", get(arm::platform_key_status))
        .route("/admin/platformKeys/rotate", post(arm::rotate_platform_key))
        .route(
            &format!("{DATA}/models"),
            get(data::list_models).post(data::create_model),
        )
        .route(
            &format!("{DATA}/models/{{model}}"),
            axum::routing::delete(data::delete_model),
        )
        .route(&format!("{DATA}/deployments"), get(data::list_deployments))
        .route(
            &format!("{DATA}/deployments/{{deployment}}"),
            put(data::deploy).delete(data::delete_deployment),
        )
        .route(&format!("{DATA}/translate"), post(data::translate))
        .route(&format!("{DATA}/blocklists"), get(kinds::list_blocklists))
        .route(
            &format!("{DATA}/blocklists/{{list}}"),
            put(kinds::put_blocklist).delete(kinds::delete_blocklist),
        )
        .route(
            &format!("{DATA}/blocklists/{{list}}/items"),
            get(kinds::list_items).post(kinds::add_items),
        )
        .route(&format!("{DATA}/text:analyze"), post(kinds::analyze))
        .route(&format!("{DATA}/datasets"), get(data::list_datasets))
        .route(
            &format!("{DATA}/speech/endpoints/{{endpoint}}"),
            put(kinds::put_endpoint),
        )
        .route(
            &format!("{DATA}/speech/endpoints/{{endpoint}}/recognize"),
            post(kinds::recognize),
        )
        .route(
            &format!("{DATA}/speech/endpoints/{{endpoint}}/logs"),
            get(kinds::list_logs),
        )
        .route(
            &format!("{DATA}/speech/endpoints/{{endpoint}}/logs/{{id}}"),
            get(kinds::get_log),
        )
        .layer(DefaultBodyLimit::max(MAX_JSON));
    // Uploads stream their body: no size limit, constant memory.
    let uploads = Router::new()
        .route(
            &format!("{DATA}/datasets/{{dataset}}"),
            put(data::upload)
                .get(data::download)
                .delete(data::delete_dataset),
        )
        .layer(DefaultBodyLimit::disable());
    management.merge(uploads)
}

/// An error in Azure's shape. 5xx bodies are generic; details are logged.
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// For 416: the object's length, sent as `Content-Range: bytes */LEN` (RFC 9110 §15.5.17)
    /// so a client resuming a download can tell a complete file from a foreign one.
    unsatisfied_range_of: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            unsatisfied_range_of: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() && err.status() == 500 {
            tracing::error!(error = ?err, "accounts: internal error");
            return Self::new(
                status,
                err.code(),
                "The service failed to process the request; it was not applied. Try again.",
            );
        }
        if let Error::StorageUnavailable { region, source } = &err {
            tracing::warn!(%region, error = %source, "accounts: platform storage unavailable");
        }
        let unsatisfied_range_of = match err {
            Error::RangeNotSatisfiable { len } => Some(len),
            _ => None,
        };
        Self {
            unsatisfied_range_of,
            ..Self::new(status, err.code(), err.to_string())
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response();
        if let Some(len) = self.unsatisfied_range_of {
            if let Ok(value) = axum::http::HeaderValue::from_str(&format!("bytes */{len}")) {
                response
                    .headers_mut()
                    .insert(axum::http::header::CONTENT_RANGE, value);
            }
        }
        response
    }
}
