//! Tokens: client credentials at the token endpoint, cached per resource until shortly
//! before they expire.

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::{Api, Resource};
use crate::config::CachedToken;
use crate::error::{Error, Kind, Result};

/// Tokens this close to expiry (seconds) are replaced before use.
const REFRESH_MARGIN: i64 = 300;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Value,
}

impl Api {
    /// A valid access token for `resource`, from the cache or the token endpoint.
    pub(crate) async fn token(&self, resource: Resource) -> Result<String> {
        let audience = resource.audience();
        let mut tokens = self.tokens.lock().await;
        let now = now();
        if let Some(cached) = tokens.get(audience) {
            if cached.expires_on - now > REFRESH_MARGIN {
                return Ok(cached.access_token.clone());
            }
        }
        let fresh = self.fetch_token(audience).await?;
        tokens.insert(audience.to_owned(), fresh.clone());
        // Best effort: a read-only config directory must not stop the command.
        let _ = self.store.save_tokens(&self.profile_name, &tokens);
        Ok(fresh.access_token)
    }

    async fn fetch_token(&self, audience: &str) -> Result<CachedToken> {
        let p = &self.profile;
        let url = self.url(&format!("/{}/oauth2/v2.0/token", p.tenant_id));
        let scope = format!("{audience}/.default");
        let response = self
            .http
            .post(&url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", p.client_id.as_str()),
                ("client_secret", p.client_secret.as_str()),
                ("scope", scope.as_str()),
            ])
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let description = body["error_description"]
                .as_str()
                .or_else(|| body["error"]["message"].as_str())
                .unwrap_or("no reason given");
            let kind = if status.is_client_error() {
                Kind::Unauthenticated
            } else {
                Kind::Failed
            };
            return Err(Error::new(
                kind,
                format!(
                    "the token endpoint refused client '{}' of tenant '{}' ({status}): {description}",
                    p.client_id, p.tenant_id
                ),
            )
            .with_hint(format!(
                "check the credentials and sign in again: `atrest login --profile {} …`; a disabled \
                 principal is re-enabled by the operator with `atrest sp enable {}`",
                self.profile_name,
                if p.object_id.is_empty() { "OBJECT_ID" } else { &p.object_id }
            )));
        }
        let parsed: TokenResponse = serde_json::from_value(body).map_err(|e| {
            Error::failed("the token endpoint sent an answer without access_token/expires_in")
                .with_source(e)
        })?;
        let expires_in = match &parsed.expires_in {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(600);
        Ok(CachedToken {
            access_token: parsed.access_token,
            expires_on: now() + expires_in,
        })
    }
}

/// The claims of a JWT, without verifying it (the client only reads its own `oid`/`tid`).
pub(crate) fn token_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_claims_of_a_jwt() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"oid":"o-1","tid":"t-1"}"#);
        let claims = token_claims(&format!("eyJhbGciOiJFUzI1NiJ9.{payload}.sig")).unwrap();
        assert_eq!(claims["oid"], "o-1");
        assert!(token_claims("not-a-jwt").is_none());
    }
}
