//! Crypto operation, rotation policy and random-bytes handlers.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::ApiError;
use super::extract::{KvCaller, KvJson};
use super::models::{
    b64, b64_decode, KeyOperationRequest, KeyOperationResult, RandomRequest, RotationPolicyWire,
    ValueResult, VerifyRequest,
};
use super::VaultState;
use crate::{EncryptionAlgorithm, SignatureAlgorithm};

type Result<T = Response> = std::result::Result<T, ApiError>;

/// `POST /keys/{name}/{version}/{op}`.
pub(crate) async fn versioned(
    State(s): State<VaultState>,
    c: KvCaller,
    Path((name, version, op)): Path<(String, String, String)>,
    body: KvJson<serde_json::Value>,
) -> Result {
    operation(&s, &c, &name, Some(&version), &op, body.0).await
}

/// `POST /keys/{name}//{op}`: a version-less CryptographyClient.
pub(crate) async fn latest(
    State(s): State<VaultState>,
    c: KvCaller,
    Path((name, op)): Path<(String, String)>,
    body: KvJson<serde_json::Value>,
) -> Result {
    operation(&s, &c, &name, None, &op, body.0).await
}

async fn operation(
    s: &VaultState,
    c: &KvCaller,
    name: &str,
    version: Option<&str>,
    op: &str,
    body: serde_json::Value,
) -> Result {
    let (p, v) = (&c.principal, &c.vault);
    let parse = |body: serde_json::Value| -> Result<KeyOperationRequest> {
        serde_json::from_value(body)
            .map_err(|_| ApiError::bad("The request body needs 'alg' and 'value' strings"))
    };
    let output = match op.to_ascii_lowercase().as_str() {
        "sign" => {
            let req = parse(body)?;
            let alg = SignatureAlgorithm::parse(&req.alg)?;
            let digest = b64_decode(&req.value, "value")?;
            s.vaults.sign(p, v, name, version, alg, &digest).await?
        }
        "verify" => {
            let req: VerifyRequest = serde_json::from_value(body)
                .map_err(|_| ApiError::bad("The request body needs 'alg', 'digest' and 'value' strings"))?;
            let alg = SignatureAlgorithm::parse(&req.alg)?;
            let digest = b64_decode(&req.digest, "digest")?;
            let signature = b64_decode(&req.value, "value")?;
            let verified = s.vaults.verify(p, v, name, version, alg, &digest, &signature).await?;
            return Ok(Json(super::models::VerifyResult { value: verified.valid }).into_response());
        }
        kind @ ("wrapkey" | "unwrapkey" | "encrypt" | "decrypt") => {
            let req = parse(body)?;
            let alg = EncryptionAlgorithm::parse(&req.alg)?;
            let input = b64_decode(&req.value, "value")?;
            match kind {
                "wrapkey" => s.vaults.wrap_key(p, v, name, version, alg, &input).await?,
                "unwrapkey" => s.vaults.unwrap_key(p, v, name, version, alg, &input).await?,
                "encrypt" => s.vaults.encrypt(p, v, name, version, alg, &input).await?,
                _ => s.vaults.decrypt(p, v, name, version, alg, &input).await?,
            }
        }
        other => {
            return Err(ApiError::bad(format!(
                "Unknown key operation '{other}'; use wrapkey, unwrapkey, encrypt, decrypt, sign or verify"
            )))
        }
    };
    Ok(Json(KeyOperationResult {
        kid: format!("{}/keys/{}/{}", c.base, output.name, output.version),
        value: b64(&output.value),
    })
    .into_response())
}

pub(crate) async fn get_policy(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
) -> Result {
    let policy = s
        .vaults
        .get_rotation_policy(&c.principal, &c.vault, &name)
        .await?;
    let id = format!("{}/keys/{name}/rotationpolicy", c.base);
    Ok(Json(RotationPolicyWire::from_domain(id, &policy)).into_response())
}

pub(crate) async fn set_policy(
    State(s): State<VaultState>,
    c: KvCaller,
    Path(name): Path<String>,
    KvJson(body): KvJson<RotationPolicyWire>,
) -> Result {
    let policy = body.into_domain()?;
    let policy = s
        .vaults
        .set_rotation_policy(&c.principal, &c.vault, &name, policy)
        .await?;
    let id = format!("{}/keys/{name}/rotationpolicy", c.base);
    Ok(Json(RotationPolicyWire::from_domain(id, &policy)).into_response())
}

pub(crate) async fn random(
    State(s): State<VaultState>,
    c: KvCaller,
    KvJson(body): KvJson<RandomRequest>,
) -> Result {
    let count =
        u32::try_from(body.count).map_err(|_| ApiError::bad("count must be between 1 and 128"))?;
    let bytes = s.vaults.random_bytes(&c.principal, &c.vault, count).await?;
    Ok(Json(ValueResult { value: b64(&bytes) }).into_response())
}
