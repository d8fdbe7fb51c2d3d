//! The HTTP error: Key Vault / ARM's `{"error":{"code","message"}}` with the right status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::Error;

/// An error response.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    inner_code: Option<&'static str>,
    challenge: Option<HeaderValue>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            inner_code: None,
            challenge: None,
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadParameter", message)
    }

    /// 401 with a `WWW-Authenticate` challenge.
    pub(crate) fn unauthorized(
        code: &'static str,
        message: impl Into<String>,
        challenge: String,
    ) -> Self {
        let mut err = Self::new(StatusCode::UNAUTHORIZED, code, message);
        err.challenge = HeaderValue::from_str(&challenge).ok();
        err
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "An internal error occurred; see the server log",
        )
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        if err.is_internal() {
            tracing::error!(error = ?err, "vault operation failed");
            return Self::internal();
        }
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut api = Self::new(status, err.code(), err.to_string());
        if matches!(err, Error::AccessDenied { .. }) {
            api.inner_code = Some("AccessDenied");
        }
        api
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(inner) = self.inner_code {
            body["error"]["innererror"] = json!({ "code": inner });
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(challenge) = self.challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}
