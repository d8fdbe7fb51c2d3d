//! `atrest serve`: first start, restart, shutdown, and the directory's HTTP surface.

mod common;

use common::{call, operator_token, token, Server};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn first_start_prints_what_to_do_and_creates_secrets_0600() {
    let server = Server::start(&[]);
    let banner = server.banner.join("\n");
    assert!(banner.contains(&server.url()), "{banner}");
    assert!(banner.contains("REQUESTS_CA_BUNDLE="), "{banner}");
    assert!(banner.contains("NODE_EXTRA_CA_CERTS="), "{banner}");
    assert!(banner.contains("operator.json"), "{banner}");
    #[cfg(unix)]
    for secret in ["root.key", "operator.json", "tls/ca.key", "tls/server.key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(server.data_dir.join(secret))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{secret}");
    }
    let client = server.client();
    let health: serde_json::Value = client
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    // Stop from a blocking thread so this runtime keeps serving the client's connection (which
    // must see the server's GOAWAY and close) while we wait.
    let status = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

#[tokio::test]
async fn restart_keeps_operator_and_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let first = Server::start_in(&dir, &[]);
    let operator = first.operator();
    let ca = std::fs::read(first.ca_path()).unwrap();
    tokio::task::spawn_blocking(move || first.stop())
        .await
        .unwrap();
    let second = Server::start_in(&dir, &[]);
    assert!(
        second.banner.join("\n").contains("credentials in"),
        "no new operator on restart"
    );
    assert_eq!(second.operator(), operator);
    assert_eq!(std::fs::read(second.ca_path()).unwrap(), ca);
    let client = second.client();
    operator_token(&second, &client).await;
}

#[tokio::test]
async fn operator_builds_a_tenant_whose_principal_gets_tokens() {
    let server = Server::start(&[]);
    let client = server.client();
    let op = operator_token(&server, &client).await;
    let base = server.url();

    let (status, tenant) = call(
        &client,
        Method::POST,
        &format!("{base}/admin/tenants"),
        &op,
        Some(json!({"displayName": "contoso"})),
    )
    .await;
    assert_eq!(status, 201, "{tenant}");
    let tenant_id = tenant["tenantId"].as_str().unwrap();
    let (status, sp) = call(
        &client,
        Method::POST,
        &format!("{base}/admin/tenants/{tenant_id}/servicePrincipals"),
        &op,
        Some(json!({"displayName": "app"})),
    )
    .await;
    assert_eq!(status, 201, "{sp}");
    let sp_token = token(
        &server,
        &client,
        tenant_id,
        sp["clientId"].as_str().unwrap(),
        sp["clientSecret"].as_str().unwrap(),
        "https://management.azure.com",
    )
    .await;

    // A service principal is not the operator.
    let (status, err) = call(
        &client,
        Method::POST,
        &format!("{base}/admin/tenants"),
        &sp_token,
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_eq!(status, 403, "{err}");
    assert_eq!(err["error"]["code"], "AuthorizationFailed");

    // Wrong secret: Azure AD's error shape.
    let response = client
        .post(format!("{base}/{tenant_id}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sp["clientId"].as_str().unwrap()),
            ("client_secret", "wrong"),
            ("scope", "https://vault.azure.net/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");

    // Disabling the principal stops its existing token at once.
    let oid = sp["objectId"].as_str().unwrap();
    let (status, _) = call(
        &client,
        Method::PATCH,
        &format!("{base}/admin/principals/{oid}"),
        &op,
        Some(json!({"accountEnabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, err) = call(
        &client,
        Method::GET,
        &format!("{base}/subscriptions"),
        &sp_token,
        None,
    )
    .await;
    assert_eq!(status, 401, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{err}"
    );

    // Unknown routes and malformed bodies get JSON errors, not 500s.
    let (status, err) = call(&client, Method::GET, &format!("{base}/nope"), &op, None).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (404, Some("NotFound"))
    );
    let response = client
        .post(format!("{base}/admin/tenants"))
        .bearer_auth(&op)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadParameter", "{body}");
    let (status, err) = call(
        &client,
        Method::POST,
        &format!("{base}/admin/tenants"),
        &op,
        Some(json!({"displayName": 7})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (400, Some("BadParameter")),
        "{err}"
    );
    let (status, err) = call(
        &client,
        Method::DELETE,
        &format!("{base}/admin/tenants"),
        &op,
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (405, Some("MethodNotAllowed")),
        "{err}"
    );
}

#[tokio::test]
async fn data_dir_from_the_environment_and_ctrl_c_stops_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("from-env");
    let server = Server::start_with_data_dir_env(&data_dir);
    assert!(data_dir.join("operator.json").exists());
    assert!(
        server
            .banner
            .iter()
            .any(|line| line.contains(data_dir.to_str().unwrap())),
        "the banner names the data directory: {:?}",
        server.banner
    );
    // The client keeps its (HTTP/2) connection open and idle while the server stops.
    let client = server.client();
    operator_token(&server, &client).await;
    let asked = std::time::Instant::now();
    let status = server.stop_with("INT");
    assert!(status.success(), "Ctrl-C is a clean exit: {status:?}");
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(5),
        "an idle connection must not hold shutdown for the 10 s grace period (took {:?})",
        asked.elapsed()
    );
    drop(client);
}
