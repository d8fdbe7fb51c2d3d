//! Extractors: the management caller (a management-audience token), the data-plane caller
//! (an API key or a service-audience token), and JSON bodies whose rejections use the Azure
//! error shape.

use atrest_identity::{AuthError, Principal, MANAGEMENT_AUDIENCE, SERVICE_AUDIENCE};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::{AccountsState, ApiError};
use crate::DataCaller;

/// An authenticated management-plane caller.
pub(crate) struct MgmtCaller(pub(crate) Principal);

fn auth_error(err: AuthError) -> ApiError {
    match err {
        AuthError::Unavailable(e) => {
            tracing::error!(error = %e, "directory unavailable");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the directory is unavailable; try again",
            )
        }
        AuthError::Missing => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            err.to_string(),
        ),
        other => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            other.to_string(),
        ),
    }
}

impl<S> FromRequestParts<S> for MgmtCaller
where
    AccountsState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AccountsState::from_ref(state);
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        state
            .directory
            .authenticate(authorization, MANAGEMENT_AUDIENCE)
            .await
            .map(MgmtCaller)
            .map_err(auth_error)
    }
}

/// An authenticated data-plane caller.
pub(crate) struct DataAuth(pub(crate) DataCaller);

impl<S> FromRequestParts<S> for DataAuth
where
    AccountsState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(key) = parts.headers.get("ocp-apim-subscription-key") {
            let key = key.to_str().map_err(|_| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "the subscription key is not valid",
                )
            })?;
            return Ok(Self(DataCaller::ApiKey(Zeroizing::new(
                key.trim().to_owned(),
            ))));
        }
        let state = AccountsState::from_ref(state);
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if authorization.is_none() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "send the header Ocp-Apim-Subscription-Key with a key from listKeys, or Authorization: Bearer <token for https://cognitiveservices.azure.com>",
            ));
        }
        state
            .directory
            .authenticate(authorization, SERVICE_AUDIENCE)
            .await
            .map(|p| Self(DataCaller::Principal(p)))
            .map_err(auth_error)
    }
}

/// A JSON body; malformed or mistyped JSON is a 400 in the Azure shape.
pub(crate) struct AppJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "BadRequest", e.body_text()))?;
        if bytes.is_empty() {
            return serde_json::from_slice(b"{}").map(AppJson).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("a JSON body is required: {e}"),
                )
            });
        }
        serde_json::from_slice(&bytes).map(AppJson).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("the request body is not valid: {e}"),
            )
        })
    }
}
