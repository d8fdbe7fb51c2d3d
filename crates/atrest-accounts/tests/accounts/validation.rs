//! Every CMK validation failure: a distinct code and a message that says what to do, and the
//! account left exactly as it was.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{start, Env};

async fn expect_refused(env: &Env, account: &str, kv: Value, code: &str, needle: &str) {
    let (_, before) = env.mgmt(Method::GET, &env.account_url(account), None).await;
    let (status, err) = env.set_cmk(account, kv).await;
    assert_eq!(status, 400, "{needle}: {err}");
    assert_eq!(err["error"]["code"], code, "{err}");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(needle),
        "expected '{needle}' in: {message}"
    );
    let (_, after) = env.mgmt(Method::GET, &env.account_url(account), None).await;
    assert_eq!(
        before, after,
        "a refused change leaves the account as it was"
    );
}

fn kv(env: &Env, vault: &str, key: &str) -> Value {
    json!({"keyVaultUri": format!("https://{vault}.vault.atrest.localhost:{}/", env.port()), "keyName": key})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_validation_failure_is_named() {
    let env = start(|raw| {
        raw.accounts.require_cmk_approval = Some(true);
    })
    .await;
    env.create_vault("demo", "westeurope", true).await;
    env.create_vault("east", "eastus", true).await;
    env.create_vault("nopurge", "westeurope", false).await;
    env.create_key("demo", "good", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    env.create_key("demo", "big", json!({"kty": "RSA", "key_size": 3072}))
        .await;
    env.create_key(
        "demo",
        "signonly",
        json!({"kty": "RSA", "key_size": 2048, "key_ops": ["sign", "verify"]}),
    )
    .await;
    env.create_key(
        "demo",
        "off",
        json!({"kty": "RSA", "key_size": 2048, "attributes": {"enabled": false}}),
    )
    .await;
    env.create_key(
        "demo",
        "old",
        json!({"kty": "RSA", "key_size": 2048, "attributes": {"exp": 1_000_000}}),
    )
    .await;
    env.create_key("east", "good", json!({"kty": "RSA", "key_size": 2048}))
        .await;
    env.create_key("nopurge", "good", json!({"kty": "RSA", "key_size": 2048}))
        .await;

    // CMK in the create call.
    let body = json!({"location": "westeurope", "kind": "TextTranslation", "sku": {"name": "S0"},
        "properties": {"encryption": {"keySource": "Microsoft.KeyVault", "keyVaultProperties": kv(&env, "demo", "good")}}});
    let (status, err) = env
        .mgmt(
            Method::PUT,
            &env.account_url("created-with-cmk"),
            Some(body),
        )
        .await;
    assert_eq!(
        (status, err["error"]["code"].as_str().unwrap()),
        (400, "CmkNotAllowedAtCreation"),
        "{err}"
    );

    let (principal, _) = env.create_account("acct", "westeurope", "S0").await;
    for vault in ["demo", "east", "nopurge"] {
        env.grant(vault, &principal, "add").await;
    }
    expect_refused(
        &env,
        "acct",
        kv(&env, "demo", "good"),
        "SubscriptionNotApprovedForCmk",
        "cmkApproval",
    )
    .await;
    let url = format!("{}/admin/subscriptions/{}/cmkApproval", env.base, env.sub);
    assert_eq!(
        crate::common::call(
            &env.client,
            Method::PATCH,
            &url,
            &env.operator,
            Some(json!({"approved": true}))
        )
        .await
        .0,
        200
    );

    expect_refused(
        &env,
        "acct",
        kv(&env, "east", "good"),
        "KeyVaultNotEligible",
        "region 'eastus'",
    )
    .await;
    // A vault of another tenant (the operator makes the tenant, a subscription and the vault).
    let operator_call = |method: Method, url: String, body: Value| {
        let env = &env;
        async move { crate::common::call(&env.client, method, &url, &env.operator, Some(body)).await }
    };
    let (_, fabrikam) = operator_call(
        Method::POST,
        format!("{}/admin/tenants", env.base),
        json!({"displayName": "fabrikam"}),
    )
    .await;
    let fabrikam = fabrikam["tenantId"].as_str().unwrap().to_owned();
    let (_, foreign_sub) = operator_call(
        Method::POST,
        format!("{}/admin/tenants/{fabrikam}/subscriptions", env.base),
        json!({"displayName": "theirs"}),
    )
    .await;
    let foreign_vault = format!(
        "{}/subscriptions/{}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/foreign",
        env.base,
        foreign_sub["subscriptionId"].as_str().unwrap()
    );
    let (status, v) = operator_call(
        Method::PUT,
        foreign_vault,
        json!({"location": "westeurope", "properties": {"tenantId": fabrikam, "sku": {"family": "A", "name": "standard"}, "enablePurgeProtection": true, "accessPolicies": []}}),
    )
    .await;
    assert!(status == 200 || status == 201, "{v}");
    expect_refused(
        &env,
        "acct",
        kv(&env, "foreign", "good"),
        "KeyVaultNotEligible",
        &format!("belongs to tenant '{fabrikam}'"),
    )
    .await;
    expect_refused(
        &env,
        "acct",
        kv(&env, "nopurge", "good"),
        "InvalidKeyVaultProperties",
        "purge protection",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        kv(&env, "demo", "missing"),
        "InvalidKeyVaultProperties",
        "was not found",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        kv(&env, "demo", "off"),
        "InvalidKeyVaultProperties",
        "is disabled",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        kv(&env, "demo", "old"),
        "InvalidKeyVaultProperties",
        "has expired",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        kv(&env, "demo", "big"),
        "InvalidKeyVaultProperties",
        "RSA-3072",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        kv(&env, "demo", "signonly"),
        "InvalidKeyVaultProperties",
        "wrapKey",
    )
    .await;
    let mut other_identity = kv(&env, "demo", "good");
    other_identity["identityClientId"] = json!("00000000-0000-0000-0000-000000000001");
    expect_refused(
        &env,
        "acct",
        other_identity,
        "InvalidKeyVaultProperties",
        "not this account's system-assigned identity",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        kv(&env, "novault", "good"),
        "InvalidKeyVaultProperties",
        "does not exist",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        json!({"keyVaultUri": "https://elsewhere.example/", "keyName": "k"}),
        "InvalidKeyVaultProperties",
        "remote_vaults",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        json!({"keyVaultUri": "http://demo/", "keyName": "k"}),
        "InvalidKeyVaultProperties",
        "https://",
    )
    .await;
    expect_refused(
        &env,
        "acct",
        json!({"keyName": "good"}),
        "InvalidKeyVaultProperties",
        "keyVaultUri is required",
    )
    .await;

    // Access: the identity lacks unwrapKey → the round trip names it.
    let body = json!({"properties": {"accessPolicies": [{"tenantId": env.tenant, "objectId": principal, "permissions": {"keys": ["unwrapKey"]}}]}});
    assert_eq!(
        env.mgmt(
            Method::PUT,
            &format!("{}/accessPolicies/remove", env.vault_url("demo")),
            Some(body)
        )
        .await
        .0,
        200
    );
    expect_refused(
        &env,
        "acct",
        kv(&env, "demo", "good"),
        "KeyVaultAccessDenied",
        "lacks the 'unwrapKey' key permission",
    )
    .await;
    env.grant("demo", &principal, "add").await;

    // identity None together with CMK.
    let body = json!({"identity": {"type": "None"}, "properties": {"encryption": {"keySource": "Microsoft.KeyVault", "keyVaultProperties": kv(&env, "demo", "good")}}});
    let (status, err) = env
        .mgmt(Method::PATCH, &env.account_url("acct"), Some(body))
        .await;
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("SystemAssigned"));

    // A free SKU cannot use CMK; the global region cannot either.
    env.create_account("free", "westeurope", "F0").await;
    expect_refused(
        &env,
        "free",
        kv(&env, "demo", "good"),
        "SkuNotEligibleForCmk",
        "'F0'",
    )
    .await;
    env.create_account("world", "global", "S0").await;
    expect_refused(
        &env,
        "world",
        kv(&env, "demo", "good"),
        "InvalidKeyVaultProperties",
        "'global'",
    )
    .await;

    let (status, ok) = env.set_cmk("acct", kv(&env, "demo", "good")).await;
    assert_eq!(status, 200, "finally valid: {ok}");

    // Unknown SKU, bad names, bad JSON: clear 400s, never 500.
    let (status, err) = env
        .mgmt(
            Method::PATCH,
            &env.account_url("acct"),
            Some(json!({"sku": {"name": "P9"}})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, _) = env
        .mgmt(
            Method::PUT,
            &env.account_url("bad_name"),
            Some(
                json!({"location": "westeurope", "kind": "TextTranslation", "sku": {"name": "S0"}}),
            ),
        )
        .await;
    assert_eq!(status, 400);
    let resp = env
        .client
        .patch(env.account_url("acct"))
        .bearer_auth(&env.mgmt)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (status, _) = env
        .mgmt(
            Method::PUT,
            &env.account_url("k2"),
            Some(json!({"location": "westeurope", "kind": "Nope", "sku": {"name": "S0"}})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_tenants_are_enforced() {
    let env = start(|_| {}).await;
    env.create_account("mine", "westeurope", "S0").await;
    // The operator's own tenant has no role on this subscription except as operator; a
    // principal of another tenant gets 403.
    let url = format!("{}/admin/tenants", env.base);
    let (_, t2) = crate::common::call(
        &env.client,
        Method::POST,
        &url,
        &env.operator,
        Some(json!({"displayName": "fabrikam"})),
    )
    .await;
    let t2 = t2["tenantId"].as_str().unwrap();
    let (_, sp) = crate::common::call(
        &env.client,
        Method::POST,
        &format!("{}/admin/tenants/{t2}/servicePrincipals", env.base),
        &env.operator,
        Some(json!({"displayName": "mallory"})),
    )
    .await;
    let token = crate::common::token(
        &env.client,
        &env.base,
        t2,
        sp["clientId"].as_str().unwrap(),
        sp["clientSecret"].as_str().unwrap(),
        "https://management.azure.com",
    )
    .await;
    let (status, err) = crate::common::call(
        &env.client,
        Method::GET,
        &env.account_url("mine"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 403, "{err}");
    assert_eq!(err["error"]["code"], "AuthorizationFailed");
    let (status, _) = crate::common::call(
        &env.client,
        Method::GET,
        &env.account_url("mine"),
        "garbage",
        None,
    )
    .await;
    assert_eq!(status, 401);
    // The account's audit records are for Owners: a Contributor is refused.
    let audit_url = format!("{}/auditRecords", env.account_url("mine"));
    let (status, records) = env.mgmt(Method::GET, &audit_url, None).await;
    assert_eq!(status, 200, "{records}");
    assert_eq!(
        records["value"][0]["operation"], "AccountCreate",
        "{records}"
    );
    let contributor = crate::common::principal_with_role(&env, "Contributor").await;
    let (status, err) =
        crate::common::call(&env.client, Method::GET, &audit_url, &contributor, None).await;
    assert_eq!(status, 403, "{err}");
    assert!(
        err["error"]["message"].as_str().unwrap().contains("Owner"),
        "{err}"
    );
    // Data plane: a wrong key is 401; a Contributor's service token works.
    let resp = env
        .data(Method::GET, "mine", "datasets", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = env
        .client
        .get(format!("{}/accounts/mine/datasets", env.base))
        .bearer_auth(&env.service_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Regenerating key1 invalidates it at once.
    let (_, keys) = env
        .mgmt(
            Method::POST,
            &format!("{}/listKeys", env.account_url("mine")),
            None,
        )
        .await;
    let old = keys["key1"].as_str().unwrap().to_owned();
    let (status, fresh) = env
        .mgmt(
            Method::POST,
            &format!("{}/regenerateKey", env.account_url("mine")),
            Some(json!({"keyName": "Key1"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(fresh["key1"], old);
    assert_eq!(
        env.data(Method::GET, "mine", "datasets", &old)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        env.data(
            Method::GET,
            "mine",
            "datasets",
            fresh["key1"].as_str().unwrap()
        )
        .send()
        .await
        .unwrap()
        .status(),
        200
    );
}
