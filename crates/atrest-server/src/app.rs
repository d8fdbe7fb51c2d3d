//! The router: every domain's routes on one origin, with the cross-cutting layers.

use std::time::Duration;

use atrest_accounts::AccountsState;
use atrest_identity::Directory;
use atrest_store::AuditLog;
use atrest_vault::VaultState;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Shared state handed to every router.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The directory (tenants, principals, tokens).
    pub directory: Directory,
    /// The vault service.
    pub vaults: VaultState,
    /// The accounts service.
    pub accounts: AccountsState,
    /// The hash-chained audit log (for the operator's verify endpoint).
    pub audit: AuditLog,
}

impl FromRef<AppState> for AuditLog {
    fn from_ref(state: &AppState) -> Self {
        state.audit.clone()
    }
}

impl FromRef<AppState> for AccountsState {
    fn from_ref(state: &AppState) -> Self {
        state.accounts.clone()
    }
}

impl FromRef<AppState> for Directory {
    fn from_ref(state: &AppState) -> Self {
        state.directory.clone()
    }
}

impl FromRef<AppState> for VaultState {
    fn from_ref(state: &AppState) -> Self {
        state.vaults.clone()
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");

/// Builds the application: all routes plus request ids, tracing and the body limit.
///
/// The middleware wraps the routes once, as a whole, rather than through `Router::layer`,
/// which wraps every route: that measurably slowed each request on the vault's hot path.
pub fn app(state: AppState, max_body_bytes: usize) -> Router {
    let routes = Router::new()
        .route("/healthz", get(health))
        .merge(atrest_identity::router())
        .merge(atrest_identity::audit_router())
        .merge(atrest_vault::data_plane_router())
        .merge(atrest_vault::management_router())
        .merge(atrest_accounts::router())
        .fallback(not_found)
        .with_state(state);
    let middleware = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), id)
            }),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(300),
        ))
        .layer(axum::middleware::map_request(host_from_authority))
        .layer(axum::middleware::map_response(errors_as_json))
        .layer(DefaultBodyLimit::max(max_body_bytes));
    Router::new().fallback_service(middleware.service(routes))
}

/// HTTP/2 requests carry the host in the `:authority` pseudo-header, not in `Host`. Copy it
/// into `Host` so every handler can echo the host the client used (key ids). Token issuers
/// and discovery documents never use it: they come from the configured public URL.
async fn host_from_authority(mut req: axum::extract::Request) -> axum::extract::Request {
    if !req.headers().contains_key(axum::http::header::HOST) {
        if let Some(value) = req
            .uri()
            .authority()
            .and_then(|a| axum::http::HeaderValue::from_str(a.as_str()).ok())
        {
            req.headers_mut().insert(axum::http::header::HOST, value);
        }
    }
    req
}

/// Framework rejections (malformed JSON, wrong method, oversized body…) come back as plain
/// text; rewrite every non-JSON error into the Azure shape `{"error":{"code","message"}}`.
/// JSON that parses but has the wrong shape is a client mistake: 400, as Azure answers.
async fn errors_as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => String::new(),
    };
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "BadParameter",
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
        StatusCode::PAYLOAD_TOO_LARGE => "RequestTooLarge",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        StatusCode::REQUEST_TIMEOUT => "RequestTimeout",
        s if s.is_server_error() => "InternalError",
        _ => "BadRequest",
    };
    let message = if status.is_server_error() || text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.trim().to_owned()
    };
    let mut out = (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

async fn health() -> Response {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") })).into_response()
}

async fn not_found(uri: axum::http::Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": {
            "code": "NotFound",
            "message": format!("no such endpoint: {}; see docs/API.md for the routes atrest serves", uri.path()),
        }})),
    )
        .into_response()
}
