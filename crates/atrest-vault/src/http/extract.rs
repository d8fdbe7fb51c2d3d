//! Extractors: the authenticated data-plane caller (vault by host, bearer token, api-version),
//! the authenticated management caller, and a JSON body whose rejections use the Key Vault
//! error shape.
//!
//! Authentication comes first: the SDKs' first request to a host carries no token and an
//! empty body, and must get the 401 challenge, never a 400.

use std::collections::HashMap;

use atrest_identity::{AuthError, Principal, MANAGEMENT_AUDIENCE, VAULT_AUDIENCE};
use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::VaultState;

/// An authenticated data-plane request.
pub(crate) struct KvCaller {
    pub(crate) principal: Principal,
    /// Vault name the host resolved to.
    pub(crate) vault: String,
    /// `https://{host}` as the client sent it, for key ids and links.
    pub(crate) base: String,
    pub(crate) api_version: String,
    pub(crate) query: HashMap<String, String>,
}

impl<S> FromRequestParts<S> for KvCaller
where
    VaultState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = VaultState::from_ref(state);
        let vaults = &state.vaults;
        let host =
            request_host(parts).ok_or_else(|| ApiError::bad("The request has no Host header"))?;
        let not_found = || {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "VaultNotFound",
                format!("No vault is served at host '{host}'"),
            )
        };
        let vault_name = vaults.hosts().resolve(&host).ok_or_else(not_found)?;
        let vault = vaults
            .live_vault(&vault_name)
            .await?
            .ok_or_else(not_found)?;
        let base = format!("https://{host}");
        let challenge = format!(
            "Bearer authorization=\"{base}/{}\", resource=\"{VAULT_AUDIENCE}\"",
            vault.tenant_id
        );
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let principal = match vaults
            .directory()
            .authenticate(authorization, VAULT_AUDIENCE)
            .await
        {
            Ok(p) if p.tenant_id.eq_ignore_ascii_case(&vault.tenant_id) => p,
            Ok(_) => {
                return Err(ApiError::unauthorized(
                    "Unauthorized",
                    format!(
                        "AKV10032: Invalid issuer. The token must be issued by tenant '{}'",
                        vault.tenant_id
                    ),
                    challenge,
                ))
            }
            Err(AuthError::Missing) => {
                return Err(ApiError::unauthorized(
                    "Unauthorized",
                    "AKV10000: Request is missing a Bearer or PoP token.",
                    challenge,
                ))
            }
            Err(AuthError::Unavailable(err)) => {
                tracing::error!(error = %err, "directory unavailable");
                return Err(ApiError::internal());
            }
            Err(err) => {
                return Err(ApiError::unauthorized(
                    "Unauthorized",
                    err.to_string(),
                    challenge,
                ))
            }
        };
        let query = query_map(parts)?;
        let api_version = query.get("api-version").cloned().unwrap_or_default();
        if !supported_api_version(&api_version) {
            return Err(ApiError::bad(format!(
                "The api-version '{api_version}' is not supported; use 7.0 to 7.6 or 2025-07-01"
            )));
        }
        Ok(Self {
            principal,
            vault: vault.name,
            base,
            api_version,
            query,
        })
    }
}

/// An authenticated management-plane request.
pub(crate) struct ArmCaller {
    pub(crate) principal: Principal,
    pub(crate) query: HashMap<String, String>,
}

impl<S> FromRequestParts<S> for ArmCaller
where
    VaultState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = VaultState::from_ref(state);
        let host = request_host(parts).unwrap_or_default();
        let challenge = format!(
            "Bearer authorization_uri=\"https://{host}/\", error=\"invalid_token\", resource=\"{MANAGEMENT_AUDIENCE}\""
        );
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let principal = match state
            .vaults
            .directory()
            .authenticate(authorization, MANAGEMENT_AUDIENCE)
            .await
        {
            Ok(p) => p,
            Err(AuthError::Unavailable(err)) => {
                tracing::error!(error = %err, "directory unavailable");
                return Err(ApiError::internal());
            }
            Err(err) => {
                return Err(ApiError::unauthorized(
                    "AuthenticationFailed",
                    err.to_string(),
                    challenge,
                ))
            }
        };
        Ok(Self {
            principal,
            query: query_map(parts)?,
        })
    }
}

/// A JSON body: unknown fields ignored, any JSON content type (or none) accepted; a bad,
/// empty or oversized body is a Key Vault error, not axum's plain-text rejection.
pub(crate) struct KvJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for KvJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    format!(
                        "The request body is larger than the {} KiB limit",
                        super::MAX_BODY / 1024
                    ),
                )
            } else {
                ApiError::bad("The request body could not be read")
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad(
                "The request body is required and must be a JSON object",
            ));
        }
        serde_json::from_slice(&bytes)
            .map(KvJson)
            .map_err(|err| ApiError::bad(json_message(&err)))
    }
}

/// A serde error message that never echoes request content (it could be key material).
fn json_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let detail = if err.is_data()
        && (text.starts_with("missing field") || text.starts_with("unknown variant"))
    {
        text.split(" at line").next().unwrap_or("").to_owned()
    } else if err.is_data() {
        "a field has the wrong type or value".to_owned()
    } else {
        "malformed JSON".to_owned()
    };
    format!(
        "The request body is not valid for this operation: {detail} (line {}, column {})",
        err.line(),
        err.column()
    )
}

fn request_host(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.as_str().to_owned()))
        .filter(|h| !h.is_empty() && h.len() <= 255 && !h.contains(['/', '"', ',', ' ', '@']))
}

fn query_map(parts: &Parts) -> Result<HashMap<String, String>, ApiError> {
    Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
        .map(|Query(q)| q)
        .map_err(|_| ApiError::bad("The query string is malformed"))
}

/// Key Vault api-versions 7.0–7.6 and 2025-07-01, preview variants included.
pub(crate) fn supported_api_version(version: &str) -> bool {
    let base = version.split("-preview").next().unwrap_or("");
    matches!(
        base,
        "7.0" | "7.1" | "7.2" | "7.3" | "7.4" | "7.5" | "7.6" | "2025-07-01"
    )
}
