//! ES256 access tokens: issuing, verifying, and publishing the public key as a JWKS.

use atrest_crypto::{seal, SecretKey};
use atrest_store::directory::{DirectoryStore, SqlDirectoryStore};
use atrest_store::{unix_now, Db};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{AuthError, Error, Principal};

/// Lifetime of an access token. At least 600 s: MSAL treats shorter tokens as expired.
pub(crate) const TOKEN_LIFETIME_SECS: i64 = 3600;
const SEAL_AAD: &[u8] = b"atrest/token-signing-key";

/// The claims atrest puts in (and requires of) an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Resource the token is for, e.g. `https://vault.azure.net`.
    pub aud: String,
    /// `{public_url}/{tenant}/v2.0`: this server's issuer for the tenant.
    pub iss: String,
    /// Subject: the principal's object id.
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    /// Object id of the principal.
    pub oid: String,
    /// Client (application) id.
    pub appid: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
}

/// Signs and verifies access tokens with one P-256 key kept sealed in the database.
pub struct TokenService {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    x: String,
    y: String,
    /// `{public_url}` of this server, without a trailing slash.
    issuer_base: String,
    /// Tokens whose signature already verified, with their claims: an ES256 verification
    /// costs more than the rest of authenticating a request. A hit needs the exact token
    /// string, and its audience and dates are checked again on every use.
    verified: quick_cache::sync::Cache<String, Claims>,
}

/// How many verified tokens [`TokenService`] remembers.
const VERIFIED_TOKENS: usize = 16_384;

/// Seconds of clock skew allowed on `nbf` and `exp`.
const LEEWAY: i64 = 60;

impl TokenService {
    /// Loads the signing key, creating and sealing one on first start. Tokens are issued by
    /// (and must name as their issuer) `{issuer_base}/{tenant}/v2.0`.
    pub async fn load_or_create(
        db: &Db,
        root: &SecretKey,
        issuer_base: &str,
    ) -> Result<Self, Error> {
        Self::load_or_create_in(&SqlDirectoryStore::new(db.clone()), root, issuer_base).await
    }

    /// [`load_or_create`](Self::load_or_create) on the directory's store.
    pub(crate) async fn load_or_create_in(
        store: &dyn DirectoryStore,
        root: &SecretKey,
        issuer_base: &str,
    ) -> Result<Self, Error> {
        let (kid, pkcs8) = match store.latest_signing_key().await? {
            Some(row) => {
                let pkcs8 =
                    seal::open(root, SEAL_AAD, &row.sealed_key).map_err(|_| Error::SigningKey)?;
                (row.kid, pkcs8)
            }
            None => {
                let doc = EcdsaKeyPair::generate_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    &SystemRandom::new(),
                )
                .map_err(|_| Error::SigningKey)?;
                let pkcs8 = Zeroizing::new(doc.as_ref().to_vec());
                let kid = uuid::Uuid::new_v4().simple().to_string();
                let sealed = seal::seal(root, SEAL_AAD, &pkcs8).map_err(|_| Error::SigningKey)?;
                store.insert_signing_key(&kid, &sealed, unix_now()).await?;
                (kid, pkcs8)
            }
        };
        Self::from_pkcs8(kid, &pkcs8, issuer_base)
    }

    fn from_pkcs8(kid: String, pkcs8: &[u8], issuer_base: &str) -> Result<Self, Error> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .map_err(|_| Error::SigningKey)?;
        let point = pair.public_key().as_ref();
        // Uncompressed SEC1 point: 0x04 ‖ x(32) ‖ y(32).
        let (x, y) = (B64.encode(&point[1..33]), B64.encode(&point[33..65]));
        let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|_| Error::SigningKey)?;
        Ok(Self {
            kid,
            encoding: EncodingKey::from_ec_der(pkcs8),
            decoding,
            x,
            y,
            issuer_base: issuer_base.trim_end_matches('/').to_owned(),
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS),
        })
    }

    /// Issues a token for `principal` to call `audience`; returns it with its lifetime.
    pub fn issue(&self, principal: &Principal, audience: &str) -> Result<(String, i64), Error> {
        let issuer = issuer(&self.issuer_base, &principal.tenant_id);
        self.issue_at(principal, audience, &issuer, unix_now())
    }

    /// Issues a token as if it were `now` (unix seconds).
    fn issue_at(
        &self,
        principal: &Principal,
        audience: &str,
        issuer: &str,
        now: i64,
    ) -> Result<(String, i64), Error> {
        let claims = Claims {
            aud: audience.to_owned(),
            iss: issuer.to_owned(),
            sub: principal.object_id.clone(),
            tid: principal.tenant_id.clone(),
            oid: principal.object_id.clone(),
            appid: principal.client_id.clone(),
            iat: now,
            nbf: now - 60,
            exp: now + TOKEN_LIFETIME_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|_| Error::SigningKey)?;
        Ok((token, TOKEN_LIFETIME_SECS))
    }

    /// Checks signature, expiry, audience and issuer (this server's, for the token's tenant).
    /// Does not look the principal up.
    pub fn verify(&self, token: &str, audience: &str) -> Result<Claims, AuthError> {
        if let Some(claims) = self.verified.get(token) {
            let now = unix_now();
            if claims.aud == audience && claims.nbf - LEEWAY <= now && now < claims.exp + LEEWAY {
                return Ok(claims);
            }
            // Expired, not yet valid or for another audience: let the full check say which.
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[audience]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY.unsigned_abs();
        validation.set_required_spec_claims(&["exp", "aud", "nbf"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::Invalid(describe(&e)))?;
        let expected = issuer(&self.issuer_base, &claims.tid);
        if claims.iss != expected {
            return Err(AuthError::Invalid(format!(
                "the token's issuer (iss) is not this server's issuer for its tenant; expected '{expected}'"
            )));
        }
        self.verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    /// The public key set, as served at the `jwks_uri`.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256",
                "kid": self.kid, "x": self.x, "y": self.y,
            }]
        })
    }
}

/// `{base}/{tenant}/v2.0`.
pub(crate) fn issuer(base: &str, tenant_id: &str) -> String {
    format!("{base}/{tenant_id}/v2.0")
}

fn describe(err: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match err.kind() {
        ErrorKind::ExpiredSignature => "the token has expired; request a new one".into(),
        ErrorKind::InvalidAudience => "the token was issued for another resource (audience)".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet".into(),
        ErrorKind::InvalidSignature => "the token signature does not verify".into(),
        _ => "the token is malformed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PrincipalKind;

    async fn service() -> (tempfile::TempDir, TokenService) {
        let dir = tempfile::tempdir().unwrap();
        let db = atrest_store::testing::fresh_database(dir.path()).await;
        let root = SecretKey::generate().unwrap();
        let tokens = TokenService::load_or_create(&db, &root, "https://localhost")
            .await
            .unwrap();
        (dir, tokens)
    }

    fn principal() -> Principal {
        Principal {
            object_id: "oid".into(),
            tenant_id: "tid".into(),
            client_id: "cid".into(),
            kind: PrincipalKind::ServicePrincipal,
            display_name: "app".into(),
            enabled: true,
            owner_resource: None,
        }
    }

    #[tokio::test]
    async fn expired_and_future_tokens_are_refused_with_the_reason() {
        let (_dir, tokens) = service().await;
        let (aud, iss) = ("https://vault.azure.net", "https://localhost/tid/v2.0");
        assert_eq!(iss, issuer("https://localhost", "tid"));
        let now = unix_now();
        let (fresh, _) = tokens.issue_at(&principal(), aud, iss, now).unwrap();
        assert_eq!(tokens.verify(&fresh, aud).unwrap().oid, "oid");
        // Issued two lifetimes ago: expired well past the leeway.
        let (old, _) = tokens
            .issue_at(&principal(), aud, iss, now - 2 * TOKEN_LIFETIME_SECS)
            .unwrap();
        match tokens.verify(&old, aud) {
            Err(AuthError::Invalid(message)) => assert!(message.contains("expired"), "{message}"),
            other => panic!("an expired token was not refused: {other:?}"),
        }
        // Issued for an hour from now: not valid yet.
        let (early, _) = tokens
            .issue_at(&principal(), aud, iss, now + TOKEN_LIFETIME_SECS)
            .unwrap();
        match tokens.verify(&early, aud) {
            Err(AuthError::Invalid(message)) => {
                assert!(message.contains("not valid yet"), "{message}")
            }
            other => panic!("a future token was not refused: {other:?}"),
        }
        // A cached token is checked for its audience again.
        assert!(tokens
            .verify(&fresh, "https://management.azure.com")
            .is_err());
    }

    #[tokio::test]
    async fn tokens_name_this_server_as_issuer_and_others_are_refused() {
        let (_dir, tokens) = service().await;
        let aud = "https://vault.azure.net";
        let (token, _) = tokens.issue(&principal(), aud).unwrap();
        assert_eq!(
            tokens.verify(&token, aud).unwrap().iss,
            "https://localhost/tid/v2.0"
        );
        // Signed by this very key, but naming another issuer, or this issuer for another tenant.
        for foreign in [
            "https://evil.example/tid/v2.0",
            "https://localhost/other-tenant/v2.0",
            "https://localhost:8443/tid/v2.0",
        ] {
            let (forged, _) = tokens
                .issue_at(&principal(), aud, foreign, unix_now())
                .unwrap();
            match tokens.verify(&forged, aud) {
                Err(AuthError::Invalid(message)) => {
                    assert!(message.contains("issuer"), "{message}")
                }
                other => panic!("a token of issuer {foreign} was accepted: {other:?}"),
            }
            // Not remembered as verified either.
            assert!(tokens.verify(&forged, aud).is_err());
        }
    }
}
