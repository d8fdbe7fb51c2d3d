//! Security regressions through the public HTTPS API (issue 11): the issuer (finding 6).

mod common;

use common::{call, operator_token, Server};
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn discovery_ignores_the_host_header() {
    let server = Server::start(&[]);
    let operator = server.operator();
    let tenant = operator["tenantId"].as_str().unwrap();
    atrest_server::install_crypto_provider();
    let ca = reqwest::Certificate::from_pem(&std::fs::read(server.ca_path()).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .http1_only()
        .build()
        .unwrap();
    let response = client
        .get(format!(
            "{}/{tenant}/v2.0/.well-known/openid-configuration",
            server.url()
        ))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    let expected = format!("{}/{tenant}/v2.0", server.url());
    assert_eq!(doc["issuer"], expected.as_str(), "{doc}");
    assert!(!doc.to_string().contains("evil.example"), "{doc}");

    // Tokens asked for with a forged Host carry the configured issuer as well.
    let response = client
        .post(format!("{}/{tenant}/oauth2/v2.0/token", server.url()))
        .header("host", "evil.example")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", operator["clientId"].as_str().unwrap()),
            ("client_secret", operator["clientSecret"].as_str().unwrap()),
            ("scope", "https://management.azure.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let claims = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], expected.as_str(), "{claims}");
}

/// The (unverified) claims of a JWT.
fn claims_of(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn a_token_of_this_key_with_a_foreign_issuer_is_refused() {
    // The same data directory (so the same signing key) served at another public URL: tokens
    // the first server issued are signed by this key but name another issuer.
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let first = Server::start_in(&data_dir, &[]);
    let client = first.client();
    let old = operator_token(&first, &client).await;
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{}/subscriptions", first.url()),
        &old,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let old_issuer = claims_of(&old)["iss"].as_str().unwrap().to_owned();
    first.stop();

    let second = Server::start_in(&data_dir, &[]);
    let client = second.client();
    assert!(
        !old_issuer.starts_with(&second.url()),
        "the restarted server must have another issuer: {old_issuer}"
    );
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{}/subscriptions", second.url()),
        &old,
        None,
    )
    .await;
    assert_eq!(
        status, 401,
        "a token of a foreign issuer was accepted: {body}"
    );
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("issuer"), "{body}");
    // A fresh token from this server works.
    let fresh = operator_token(&second, &client).await;
    let (status, body) = call(
        &client,
        Method::GET,
        &format!("{}/subscriptions", second.url()),
        &fresh,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}
