//! [`KeyProvider`] over the Key Vault REST API (api-version 7.4) with HTTPS, so accounts can
//! use any Key Vault–compatible service. The managed identity's bearer token is minted by the
//! directory for `https://vault.azure.net`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use atrest_crypto::SecretKey;
use atrest_identity::{Directory, Principal, VAULT_AUDIENCE};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{KeyInfo, KeyProvider, KeyRef, ProviderError, VaultInfo, VaultRef};
use crate::config::RemoteVault;

const API_VERSION: &str = "7.4";

/// A remote vault reached over HTTPS.
#[derive(Debug, Clone)]
pub struct RemoteProvider {
    config: RemoteVault,
    client: reqwest::Client,
    directory: Directory,
}

impl RemoteProvider {
    /// Builds the HTTPS client for one remote vault. `ca_pem` is the CA to trust.
    pub fn new(config: RemoteVault, ca_pem: &[u8], directory: Directory) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            let cert = cert.map_err(|e| format!("CA file: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA certificate: {e}"))?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let timeout = Duration::from_millis(config.timeout_ms.unwrap_or(5000));
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(addr) = config.connect_to {
            let bare = config
                .host
                .rsplit_once(':')
                .map_or(config.host.as_str(), |(h, _)| h);
            builder = builder.resolve(bare, addr);
        }
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(Self {
            config,
            client,
            directory,
        })
    }

    fn url(&self, key: &KeyRef, op: Option<&str>) -> String {
        let mut url = format!("https://{}/keys/{}", self.config.host, key.name);
        match (&key.version, op) {
            (Some(v), Some(op)) => url.push_str(&format!("/{v}/{op}")),
            (None, Some(op)) => url.push_str(&format!("//{op}")),
            (Some(v), None) => url.push_str(&format!("/{v}")),
            (None, None) => {}
        }
        url.push_str(&format!("?api-version={API_VERSION}"));
        url
    }

    async fn call(
        &self,
        identity: &Principal,
        url: String,
        body: Option<Value>,
    ) -> Result<Value, ProviderError> {
        // Issued by this server's directory, so with its issuer (the configured public URL),
        // whatever host the remote vault has.
        let (token, _) = self
            .directory
            .issue_token(identity, VAULT_AUDIENCE)
            .map_err(|_| ProviderError::Transient("cannot mint a token".into()))?;
        let token = Zeroizing::new(token);
        let request = match body {
            Some(b) => self.client.post(url).json(&b),
            None => self.client.get(url),
        };
        let response = request
            .bearer_auth(token.as_str())
            .send()
            .await
            .map_err(|e| ProviderError::Transient(transport(&e)))?;
        let status = response.status().as_u16();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        classify(status, &value)
    }
}

/// What a Key Vault answer means. Only a Key Vault error body (`{"error":{"code",…}}`) with
/// a code that names one of the revocation causes is taken as revocation, since revocation can
/// end in deletion (`onKeyLoss: delete`); an answer without such a body (a proxy's error page,
/// a gateway) is an outage, and anything else unexpected is [`ProviderError::Invalid`].
fn classify(status: u16, value: &Value) -> Result<Value, ProviderError> {
    let code = value["error"]["code"].as_str();
    let message = value["error"]["message"].as_str().unwrap_or("").to_owned();
    match (status, code) {
        (200..=299, _) => Ok(value.clone()),
        (408 | 429 | 500..=599, _) => Err(ProviderError::Transient(format!("HTTP {status}"))),
        (_, None) => Err(ProviderError::Transient(format!(
            "HTTP {status} without a Key Vault error body"
        ))),
        _ if message.contains("disabled key") => Err(ProviderError::KeyDisabled),
        (403, Some(_)) if message.contains("key_ops") || message.contains("not permitted") => {
            Err(ProviderError::OperationNotPermitted(message))
        }
        (403, Some(_)) => Err(ProviderError::Forbidden {
            permission: permission_in(&message),
        }),
        (404, Some("VaultNotFound")) => Err(ProviderError::VaultNotFound),
        (404, Some("KeyNotFound")) => Err(ProviderError::KeyNotFound),
        (401, Some(_)) => Err(ProviderError::Invalid(format!(
            "the vault did not accept the identity's token (HTTP 401: {message})"
        ))),
        (_, Some(code)) => Err(ProviderError::Invalid(format!(
            "HTTP {status} {code}: {message}"
        ))),
    }
}

fn transport(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".into()
    } else if err.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

/// Key Vault names the missing permission as "does not have keys X permission".
fn permission_in(message: &str) -> String {
    message
        .split("keys ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("unknown")
        .to_owned()
}

#[async_trait]
impl KeyProvider for RemoteProvider {
    async fn vault_info(&self, _vault: &VaultRef) -> Result<VaultInfo, ProviderError> {
        Ok(VaultInfo {
            tenant_id: self.config.tenant_id.clone(),
            location: Some(crate::config::normalize_location(&self.config.location)),
            soft_delete: None,
            purge_protection: None,
        })
    }

    async fn get_key(&self, identity: &Principal, key: &KeyRef) -> Result<KeyInfo, ProviderError> {
        let v = self.call(identity, self.url(key, None), None).await?;
        let kid = v["key"]["kid"].as_str().unwrap_or_default();
        let version = kid.rsplit('/').next().unwrap_or_default().to_owned();
        let n = v["key"]["n"]
            .as_str()
            .and_then(|n| B64.decode(n).ok())
            .unwrap_or_default();
        let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
        Ok(KeyInfo {
            version,
            kty: v["key"]["kty"].as_str().unwrap_or_default().to_owned(),
            bits,
            enabled: v["attributes"]["enabled"].as_bool().unwrap_or(false),
            exp: v["attributes"]["exp"].as_i64(),
            key_ops: v["key"]["key_ops"]
                .as_array()
                .map(|ops| {
                    ops.iter()
                        .filter_map(|o| o.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            recovery_level: v["attributes"]["recoveryLevel"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    async fn wrap(
        &self,
        identity: &Principal,
        key: &KeyRef,
        ak: &SecretKey,
    ) -> Result<Vec<u8>, ProviderError> {
        let body = json!({"alg": "RSA-OAEP-256", "value": B64.encode(ak.expose_secret())});
        let v = self
            .call(identity, self.url(key, Some("wrapkey")), Some(body))
            .await?;
        v["value"]
            .as_str()
            .and_then(|s| B64.decode(s).ok())
            .ok_or_else(|| ProviderError::Invalid("wrapKey answer has no value".into()))
    }

    async fn unwrap(
        &self,
        identity: &Principal,
        key: &KeyRef,
        wrapped: &[u8],
    ) -> Result<SecretKey, ProviderError> {
        let body = json!({"alg": "RSA-OAEP-256", "value": B64.encode(wrapped)});
        let v = self
            .call(identity, self.url(key, Some("unwrapkey")), Some(body))
            .await?;
        let bytes = Zeroizing::new(
            v["value"]
                .as_str()
                .and_then(|s| B64.decode(s).ok())
                .ok_or_else(|| ProviderError::Invalid("unwrapKey answer has no value".into()))?,
        );
        SecretKey::try_from_slice(&bytes)
            .map_err(|_| ProviderError::Invalid("unwrapped key has the wrong length".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_is_found_in_key_vault_messages() {
        let m = "The user, group or application 'appid=x' does not have keys unwrapKey permission on key vault 'v'.";
        assert_eq!(permission_in(m), "unwrapKey");
        assert_eq!(permission_in("nope"), "unknown");
    }

    fn kv_error(code: &str, message: &str) -> Value {
        json!({"error": {"code": code, "message": message}})
    }

    #[test]
    fn only_key_vault_errors_that_name_a_revocation_cause_are_revocation() {
        let revocations = [
            (404, kv_error("KeyNotFound", "A key with (name/id) k1 was not found in this key vault.")),
            (404, kv_error("VaultNotFound", "No vault is served at host 'kv'")),
            (403, kv_error("Forbidden", "The user, group or application 'appid=…' does not have keys unwrapKey permission on key vault 'kv'")),
            (403, kv_error("Forbidden", "Operation unwrapKey is not allowed on a disabled key.")),
            (403, kv_error("Forbidden", "Operation unwrapKey is not permitted on this key: it is not in the key's key_ops.")),
        ];
        for (status, body) in revocations {
            let err = classify(status, &body).unwrap_err();
            assert!(
                !matches!(err, ProviderError::Invalid(_) | ProviderError::Transient(_)),
                "{status} {body}: {err:?}"
            );
        }
        let missing_permission = kv_error(
            "Forbidden",
            "The user, group or application does not have keys unwrapKey permission on key vault 'kv'",
        );
        assert!(matches!(
            classify(403, &missing_permission).unwrap_err(),
            ProviderError::Forbidden { permission } if permission == "unwrapKey"
        ));
    }

    #[test]
    fn anything_else_is_an_outage_or_unexpected_never_revocation() {
        let html = Value::Null; // a body that is not JSON reads as Null
        let outages = [
            (404, html.clone()),
            (403, html.clone()),
            (401, html.clone()),
            (502, html),
            (503, kv_error("ServiceUnavailable", "busy")),
            (429, kv_error("Throttled", "slow down")),
        ];
        for (status, body) in outages {
            assert!(
                matches!(classify(status, &body), Err(ProviderError::Transient(_))),
                "{status} {body}"
            );
        }
        let unexpected = [
            (401, kv_error("Unauthorized", "AKV10032: Invalid issuer.")),
            (404, kv_error("NotFound", "no such route")),
            (400, kv_error("BadParameter", "bad")),
            (409, kv_error("Conflict", "conflict")),
        ];
        for (status, body) in unexpected {
            assert!(
                matches!(classify(status, &body), Err(ProviderError::Invalid(_))),
                "{status} {body}"
            );
        }
    }
}
