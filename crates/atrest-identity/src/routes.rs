//! HTTP surface of the directory: OpenID discovery, the token endpoint, the JWKS, and the
//! operator's management endpoints.

use std::collections::HashMap;
use std::net::SocketAddr;

use atrest_store::{AuditLog, ChainBreak};
use axum::extract::{ConnectInfo, FromRef, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Extension, Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::{AuthError, Directory, Error, Principal, Role, AUDIENCES, MANAGEMENT_AUDIENCE};

/// Routes served at the root of the HTTPS origin.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Directory: FromRef<S>,
{
    Router::new()
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(openid_configuration))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/admin/tenants", post(create_tenant).get(list_tenants))
        .route("/admin/tenants/{tenant}", delete(delete_tenant))
        .route("/admin/tenants/{tenant}/subscriptions", post(create_subscription))
        .route(
            "/admin/tenants/{tenant}/servicePrincipals",
            post(create_service_principal).get(list_principals),
        )
        .route(
            "/admin/principals/{object_id}",
            get(show_principal).patch(update_principal).delete(delete_principal),
        )
        .route(
            "/admin/subscriptions/{subscription}",
            delete(delete_subscription).patch(move_subscription),
        )
        .route("/admin/subscriptions/{subscription}/cmkApproval", patch(set_cmk_approval))
        .route("/subscriptions", get(list_subscriptions))
        .route("/subscriptions/{subscription}", get(show_subscription))
        .route(
            "/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments/{principal}",
            put(assign_role),
        )
}

/// The operator's check of the whole audit chain: `GET /admin/audit/verify` answers
/// `{"verified", "records"}` and, when the chain is broken, `brokenAt` and `reason`.
pub fn audit_router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Directory: FromRef<S>,
    AuditLog: FromRef<S>,
{
    Router::new().route("/admin/audit/verify", get(verify_audit))
}

async fn verify_audit(
    State(d): State<Directory>,
    State(audit): State<AuditLog>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    if !caller.is_operator() {
        return Err(Error::Forbidden(
            "only the operator can verify the audit chain: sign in with the operator credentials (atrest login --data-dir …)".into(),
        )
        .into());
    }
    let answer = match audit.verify().await.map_err(Error::from)? {
        Ok(records) => json!({ "verified": true, "records": records }),
        Err(ChainBreak { seq, reason }) => json!({
            "verified": false,
            "records": seq - 1,
            "brokenAt": seq,
            "reason": reason,
        }),
    };
    Ok(Json(answer).into_response())
}

async fn openid_configuration(
    State(directory): State<Directory>,
    Path(tenant): Path<String>,
) -> Response {
    // From the configured public URL, never from the request's Host.
    let base = format!("{}/{tenant}", directory.public_url());
    Json(json!({
        "issuer": directory.issuer(&tenant),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["token"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "tenant_region_scope": null,
    }))
    .into_response()
}

async fn jwks(State(directory): State<Directory>) -> Response {
    Json(directory.jwks()).into_response()
}

/// OAuth2 error in Azure AD's shape.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn token(
    State(directory): State<Directory>,
    Path(tenant): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let address = peer.map(|Extension(ConnectInfo(addr))| addr.ip());
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only grant_type=client_credentials is supported",
        );
    }
    let scope = field("scope");
    let Some(audience) = scope
        .split_whitespace()
        .find_map(|s| s.strip_suffix("/.default"))
        .map(|a| a.trim_end_matches('/'))
        .filter(|a| AUDIENCES.contains(a))
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!(
                "scope '{scope}' is not valid: use one of {}",
                AUDIENCES.map(|a| format!("{a}/.default")).join(", ")
            ),
        );
    };
    if field("client_id").is_empty() || field("client_secret").is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required (client_secret_post)",
        );
    }
    let principal = match directory
        .authenticate_client(&tenant, field("client_id"), field("client_secret"), address)
        .await
    {
        Ok(p) => p,
        Err(AuthError::Unavailable(e)) => {
            tracing::error!(error = %e, "token endpoint: directory unavailable");
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again",
            );
        }
        Err(AuthError::Throttled(wait)) => {
            let seconds = crate::error::retry_after_secs(&wait);
            let mut response = oauth_error(
                StatusCode::TOO_MANY_REQUESTS,
                "temporarily_unavailable",
                &AuthError::Throttled(wait).to_string(),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
            return response;
        }
        // One answer for an unknown tenant, an unknown client id and a wrong secret.
        Err(e) => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &e.to_string()),
    };
    match directory.issue_token(&principal, audience) {
        Ok((access_token, expires_in)) => Json(json!({
            "token_type": "Bearer",
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": access_token,
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "token endpoint: signing failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the token could not be issued",
            )
        }
    }
}

// ----- management ------------------------------------------------------------------------

/// An error in the Azure management shape `{"error":{"code","message"}}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static(
                    "Bearer resource=\"https://management.azure.com\"",
                ),
            );
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        let (status, code) = match &err {
            Error::Invalid(_) => (StatusCode::BAD_REQUEST, "BadRequest"),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            Error::Conflict(_) | Error::InUse(_) => (StatusCode::CONFLICT, "Conflict"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "AuthorizationFailed"),
            _ => {
                tracing::error!(error = %err, "directory failure");
                return Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "InternalError",
                    message: "internal error; see the server log".into(),
                };
            }
        };
        Self {
            status,
            code,
            message: err.to_string(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unavailable(e) => e.into(),
            other => Self {
                status: StatusCode::UNAUTHORIZED,
                code: "AuthenticationFailed",
                message: other.to_string(),
            },
        }
    }
}

async fn caller(directory: &Directory, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    Ok(directory.authenticate(auth, MANAGEMENT_AUDIENCE).await?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NameBody {
    display_name: String,
    #[serde(default)]
    owner_object_id: Option<String>,
}

async fn create_tenant(
    State(d): State<Directory>,
    headers: HeaderMap,
    Json(body): Json<NameBody>,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    let tenant = d.create_tenant(&caller, &body.display_name).await?;
    Ok((StatusCode::CREATED, Json(tenant)).into_response())
}

async fn list_tenants(
    State(d): State<Directory>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    Ok(Json(json!({ "value": d.list_tenants(&caller).await? })).into_response())
}

async fn delete_tenant(
    State(d): State<Directory>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    d.delete_tenant(&caller, &tenant).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_subscription(
    State(d): State<Directory>,
    Path(subscription): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    d.delete_subscription(&caller, &subscription).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoveBody {
    tenant_id: String,
}

async fn move_subscription(
    State(d): State<Directory>,
    Path(subscription): Path<String>,
    headers: HeaderMap,
    Json(body): Json<MoveBody>,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    let moved = d
        .move_subscription(&caller, &subscription, &body.tenant_id)
        .await?;
    Ok(Json(moved).into_response())
}

async fn create_subscription(
    State(d): State<Directory>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NameBody>,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    let sub = d
        .create_subscription(
            &caller,
            &tenant,
            &body.display_name,
            body.owner_object_id.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(sub)).into_response())
}

async fn create_service_principal(
    State(d): State<Directory>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Json(body): Json<NameBody>,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    let created = d
        .create_service_principal(&caller, &tenant, &body.display_name)
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list_principals(
    State(d): State<Directory>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    Ok(Json(json!({ "value": d.list_principals(&caller, &tenant).await? })).into_response())
}

async fn show_principal(
    State(d): State<Directory>,
    Path(object_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    match d.principal(&object_id).await? {
        Some(p) if caller.is_operator() || p.tenant_id == caller.tenant_id => {
            Ok(Json(p).into_response())
        }
        _ => Err(Error::NotFound(format!("principal '{object_id}'")).into()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrincipalPatch {
    account_enabled: bool,
}

async fn update_principal(
    State(d): State<Directory>,
    Path(object_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<PrincipalPatch>,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    Ok(Json(
        d.set_principal_enabled(&caller, &object_id, body.account_enabled)
            .await?,
    )
    .into_response())
}

async fn delete_principal(
    State(d): State<Directory>,
    Path(object_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    d.delete_principal(&caller, &object_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct CmkApproval {
    approved: bool,
}

async fn set_cmk_approval(
    State(d): State<Directory>,
    Path(subscription): Path<String>,
    headers: HeaderMap,
    Json(body): Json<CmkApproval>,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    Ok(Json(
        d.set_cmk_approved(&caller, &subscription, body.approved)
            .await?,
    )
    .into_response())
}

async fn list_subscriptions(
    State(d): State<Directory>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    Ok(Json(json!({ "value": d.list_subscriptions(&caller).await? })).into_response())
}

async fn show_subscription(
    State(d): State<Directory>,
    Path(subscription): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    if d.role_of(&caller, &subscription).await?.is_none() {
        return Err(Error::NotFound(format!("subscription '{subscription}'")).into());
    }
    let sub = d
        .subscription(&subscription)
        .await?
        .ok_or_else(|| Error::NotFound(format!("subscription '{subscription}'")))?;
    Ok(Json(sub).into_response())
}

#[derive(Deserialize)]
struct RoleAssignment {
    properties: RoleAssignmentProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleAssignmentProperties {
    role_definition_name: String,
}

async fn assign_role(
    State(d): State<Directory>,
    Path((subscription, principal)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<RoleAssignment>,
) -> Result<Response, ApiError> {
    let caller = caller(&d, &headers).await?;
    let role = Role::parse(&body.properties.role_definition_name).ok_or_else(|| {
        Error::Invalid(format!(
            "unknown role '{}': use Owner, Contributor or Reader",
            body.properties.role_definition_name
        ))
    })?;
    d.assign_role(&caller, &subscription, &principal, role)
        .await?;
    Ok(Json(json!({
        "id": format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments/{principal}"),
        "properties": { "principalId": principal, "roleDefinitionName": role.as_str(), "scope": format!("/subscriptions/{subscription}") }
    }))
    .into_response())
}
