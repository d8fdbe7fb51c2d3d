//! The HTTPS client: the same public APIs every other client uses (token endpoint, ARM-shaped
//! management, the Key Vault keys API, the accounts data plane), with tokens cached per
//! resource in the profile's token cache.

mod auth;
mod errors;
mod resolve;

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::config::{ConfigStore, Profile, TokenCache};
use crate::error::{Error, Result};

pub(crate) use auth::token_claims;
pub(crate) use errors::from_response;

/// What a token is for (its audience).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// The management plane: directory, subscriptions, vaults and accounts as resources.
    Management,
    /// The Key Vault keys data plane.
    Vault,
    /// The accounts data plane.
    Accounts,
}

impl Resource {
    /// The token audience.
    pub(crate) fn audience(self) -> &'static str {
        match self {
            Self::Management => "https://management.azure.com",
            Self::Vault => "https://vault.azure.net",
            Self::Accounts => "https://cognitiveservices.azure.com",
        }
    }
}

/// A signed-in client.
#[derive(Debug)]
pub(crate) struct Api {
    http: reqwest::Client,
    profile_name: String,
    profile: Profile,
    store: ConfigStore,
    tokens: Mutex<TokenCache>,
}

impl Api {
    /// The client for saved profile `name`.
    pub(crate) fn open(store: &ConfigStore, name: &str) -> Result<Self> {
        let profile = store.profile(name)?;
        let tokens = store.tokens(name);
        Self::build(store, name, profile, tokens)
    }

    /// A client for a profile that is not saved yet (login).
    pub(crate) fn for_login(store: &ConfigStore, name: &str, profile: Profile) -> Result<Self> {
        Self::build(store, name, profile, TokenCache::new())
    }

    fn build(
        store: &ConfigStore,
        name: &str,
        profile: Profile,
        tokens: TokenCache,
    ) -> Result<Self> {
        atrest_server::install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(profile.ca_cert.as_bytes()).map_err(|e| {
            Error::failed("the CA certificate of this profile is not valid PEM")
                .with_source(e)
                .with_hint("sign in again with --cacert pointing at the server's tls/ca.pem")
        })?;
        let http = reqwest::Client::builder()
            .add_root_certificate(ca)
            .dns_resolver(std::sync::Arc::new(resolve::LocalhostResolver))
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("atrest-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::failed("cannot build the HTTPS client").with_source(e))?;
        Ok(Self {
            http,
            profile_name: name.to_owned(),
            profile,
            store: store.clone(),
            tokens: Mutex::new(tokens),
        })
    }

    /// The profile in use.
    pub(crate) fn profile(&self) -> &Profile {
        &self.profile
    }

    /// `{server}{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.profile.server.trim_end_matches('/'))
    }

    /// A request with a bearer token for `resource`.
    pub(crate) async fn request(
        &self,
        method: Method,
        resource: Resource,
        url: &str,
    ) -> Result<RequestBuilder> {
        let token = self.token(resource).await?;
        Ok(self.http.request(method, url).bearer_auth(token))
    }

    /// Sends `request`; a non-success answer becomes an [`Error`] with a hint.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(from_response(response).await)
        }
    }

    /// Sends a JSON request and returns the JSON answer (`null` for an empty body).
    pub(crate) async fn call(
        &self,
        method: Method,
        resource: Resource,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut request = self.request(method, resource, url).await?;
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.send(request).await?;
        let text = response.text().await.map_err(|e| self.unreachable(e))?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| {
            Error::failed(format!("the server sent invalid JSON to {url}")).with_source(e)
        })
    }

    /// `GET` returning JSON.
    pub(crate) async fn get(&self, resource: Resource, url: &str) -> Result<Value> {
        self.call(Method::GET, resource, url, None).await
    }

    fn unreachable(&self, err: reqwest::Error) -> Error {
        Error::failed(format!("cannot reach {}", self.profile.server))
            .with_source(err)
            .with_hint("is `atrest serve` running there? (sign in to another server with `atrest login --server URL`)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_match_the_token_endpoint() {
        assert_eq!(
            Resource::Management.audience(),
            "https://management.azure.com"
        );
        assert_eq!(Resource::Vault.audience(), "https://vault.azure.net");
        assert_eq!(
            Resource::Accounts.audience(),
            "https://cognitiveservices.azure.com"
        );
    }
}
