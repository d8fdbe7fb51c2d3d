//! Help, sign-in, tokens, tenants, subscriptions, principals and the audit chain.

use serde_json::Value;

use crate::common::Server;
use crate::support::*;

#[test]
fn help_documents_examples_and_exit_codes() {
    let server = Server::start(&[]);
    let user = User::new(&server);
    let top = user.run(&["--help"]);
    assert_eq!(top.code, 0);
    for line in [
        "3  not found",
        "4  forbidden",
        "5  key inaccessible",
        "2  usage",
    ] {
        assert!(
            top.stdout.contains(line),
            "exit code '{line}' missing:\n{}",
            top.stdout
        );
    }
    for cmd in [
        &["vault", "set-policy"][..],
        &["key", "rotation-policy", "set"],
        &["account", "encryption", "set"],
        &["data", "download"],
        &["sp", "create"],
        &["login"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let run = user.run(&args);
        assert_eq!(run.code, 0, "{cmd:?}");
        assert!(
            run.stdout.contains("Example: atrest"),
            "{cmd:?} --help has no example:\n{}",
            run.stdout
        );
    }
    assert_eq!(user.run(&["vault", "frobnicate"]).code, 2);
    assert_eq!(
        user.run(&["vault", "set-policy", "demo"]).code,
        2,
        "missing --object-id is a usage error"
    );
    for shell in ["bash", "zsh", "fish"] {
        let run = user.run(&["completions", shell]);
        assert_eq!(run.code, 0);
        assert!(
            run.stdout.contains("atrest") && run.stdout.contains("set-policy"),
            "{shell}"
        );
    }
}

#[test]
fn operator_and_customer_manage_the_directory() {
    let server = Server::start(&[]);
    let user = User::new(&server);

    // Not signed in yet: exit 6 and what to do.
    let err = user.fails(&["tenant", "list"], 6);
    assert!(err.contains("atrest login"), "{err}");

    user.login_operator();
    let profile = user.file("profiles/default.json");
    assert_eq!(mode(&profile), 0o600);
    assert_eq!(mode(&user.file("tokens/default.json")), 0o600);
    assert_eq!(mode(&user.file("profiles")), 0o700);

    let tenant = user.ok(&["tenant", "create", "contoso"]);
    let tenant_id = tenant["tenantId"].as_str().unwrap().to_owned();
    let listed = user.ok(&["tenant", "list"]);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["displayName"] == "contoso"));
    assert_eq!(
        user.ok(&["tenant", "show", "contoso"])["tenantId"],
        tenant_id.as_str()
    );
    let table = user.run(&["tenant", "list", "--output", "table"]);
    assert!(
        table.stdout.contains("Tenant id") && table.stdout.contains("contoso"),
        "{}",
        table.stdout
    );

    // The secret is printed once, with a warning.
    let created = user.run(&[
        "sp",
        "create",
        "contoso-admin",
        "--tenant",
        "contoso",
        "-o",
        "json",
    ]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert!(
        created.stderr.contains("shown only this once"),
        "{}",
        created.stderr
    );
    let admin = created.json();
    assert!(admin["clientSecret"].as_str().is_some_and(|s| s.len() > 20));
    let admin_oid = admin["objectId"].as_str().unwrap().to_owned();
    let creds = user.file("contoso-admin.json");
    std::fs::write(&creds, &created.stdout).unwrap();
    let listed = user.ok(&["sp", "list", "--tenant", "contoso"]);
    assert!(listed.to_string().contains(&admin_oid));
    assert!(
        !listed.to_string().contains("clientSecret"),
        "list must not show secrets"
    );
    assert_eq!(
        user.ok(&["sp", "show", "contoso-admin", "--tenant", "contoso"])["objectId"],
        admin_oid.as_str()
    );

    let sub = user.ok(&[
        "subscription",
        "create",
        "dev",
        "--tenant",
        "contoso",
        "--owner",
        "contoso-admin",
    ]);
    assert_eq!(sub["tenantId"], tenant_id.as_str());
    assert_eq!(sub["cmkApproved"], false);
    assert_eq!(
        user.ok(&["subscription", "approve-cmk", "dev"])["cmkApproved"],
        true
    );
    assert_eq!(
        user.ok(&["subscription", "show", "dev"])["cmkApproved"],
        true
    );

    // The customer signs in with the saved credentials.
    let ca = server.ca_path();
    let login = user.ok(&[
        "login",
        "--profile",
        "contoso",
        "--credentials",
        creds.to_str().unwrap(),
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(login["objectId"], admin_oid.as_str());
    let subs = user.ok(&["subscription", "list", "--profile", "contoso"]);
    assert_eq!(subs.as_array().unwrap().len(), 1);
    // Their only subscription is the default.
    assert_eq!(
        user.ok(&["subscription", "show", "--profile", "contoso"])["displayName"],
        "dev"
    );

    // They are not the operator: exit 4 with the way forward.
    let err = user.fails(&["tenant", "create", "evil", "--profile", "contoso"], 4);
    assert!(
        err.contains("only the operator") && err.contains("hint:"),
        "{err}"
    );

    // The Owner gives a second principal a role.
    let app = user.ok(&["sp", "create", "app1", "--tenant", "contoso"]);
    let app_oid = app["objectId"].as_str().unwrap().to_owned();
    let assigned = user.ok(&[
        "role",
        "assign",
        "--profile",
        "contoso",
        "--subscription",
        "dev",
        "--object-id",
        "app1",
        "--role",
        "contributor",
    ]);
    assert_eq!(assigned["properties"]["roleDefinitionName"], "Contributor");
    assert_eq!(assigned["properties"]["principalId"], app_oid.as_str());

    // Not found: exit 3.
    user.fails(&["tenant", "show", "nowhere"], 3);
    user.fails(&["sp", "show", "00000000-0000-0000-0000-000000000000"], 3);
    user.fails(&["subscription", "show", "nowhere"], 3);

    // Disabling stops the customer's cached token at once (exit 6), enabling restores it.
    assert_eq!(user.ok(&["sp", "disable", &admin_oid])["enabled"], false);
    let err = user.fails(&["subscription", "list", "--profile", "contoso"], 6);
    assert!(
        err.contains(&format!("atrest sp enable {admin_oid}")),
        "{err}"
    );
    assert_eq!(
        user.ok(&["sp", "enable", "contoso-admin", "--tenant", "contoso"])["enabled"],
        true
    );
    user.ok(&["subscription", "list", "--profile", "contoso"]);

    user.ok(&["sp", "delete", "app1", "--tenant", "contoso"]);
    user.fails(&["sp", "show", &app_oid], 3);

    // Logout removes the profile and its tokens.
    assert_eq!(
        user.ok(&["logout", "--profile", "contoso"])["removed"],
        true
    );
    assert!(!user.file("profiles/contoso.json").exists());
    assert!(!user.file("tokens/contoso.json").exists());
    user.fails(&["subscription", "list", "--profile", "contoso"], 6);

    // A tenant goes only after its subscriptions; then its principals go with it.
    let err = user.fails(&["tenant", "delete", "contoso"], 1);
    assert!(err.contains("subscription"), "{err}");
    user.ok(&["subscription", "delete", "dev"]);
    user.fails(&["subscription", "show", "dev"], 3);
    user.ok(&["tenant", "delete", "contoso"]);
    user.fails(&["tenant", "show", "contoso"], 3);
    user.fails(&["sp", "show", &admin_oid], 3);
}

#[test]
fn tokens_are_cached_and_renewed_near_expiry() {
    let server = Server::start(&[]);
    let user = User::new(&server);
    user.login_operator();
    let path = user.file("tokens/default.json");
    let first: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mgmt = "https://management.azure.com";
    let expires = first[mgmt]["expiresOn"].as_i64().unwrap();
    user.ok(&["tenant", "list"]);
    let again: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        again[mgmt]["accessToken"], first[mgmt]["accessToken"],
        "cached token reused"
    );

    // A token about to expire is replaced before use.
    let mut near = again;
    near[mgmt]["expiresOn"] = serde_json::json!(expires - 3500);
    near[mgmt]["accessToken"] = serde_json::json!("stale");
    std::fs::write(&path, near.to_string()).unwrap();
    user.ok(&["tenant", "list"]);
    let renewed: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_ne!(renewed[mgmt]["accessToken"], "stale");
    assert!(renewed[mgmt]["expiresOn"].as_i64().unwrap() >= expires);
    assert_eq!(mode(&path), 0o600);

    // Wrong credentials: exit 6 at login, nothing saved.
    let bad = user.file("bad.json");
    let op = server.operator();
    std::fs::write(
        &bad,
        serde_json::json!({"tenantId": op["tenantId"], "clientId": op["clientId"], "clientSecret": "wrong"}).to_string(),
    )
    .unwrap();
    let ca = server.ca_path();
    let err = user.fails(
        &[
            "login",
            "--profile",
            "bad",
            "--credentials",
            bad.to_str().unwrap(),
            "--cacert",
            ca.to_str().unwrap(),
        ],
        6,
    );
    assert!(
        err.contains("invalid_client") || err.contains("refused"),
        "{err}"
    );
    assert!(!user.file("profiles/bad.json").exists());
}

#[test]
fn audit_verify_is_for_the_operator_and_covers_every_record() {
    let server = Server::start(&[]);
    let operator = User::new(&server);
    operator.login_operator();
    let empty = operator.ok(&["audit", "verify"]);
    assert_eq!(empty["verified"], true);
    let before = empty["records"].as_i64().unwrap();

    let customer = customer_with_key(&server);
    customer.ok(&["key", "show", "cmk", "--vault", "demo"]);
    let after = operator.ok(&["audit", "verify"]);
    assert_eq!(after["verified"], true, "{after}");
    assert!(
        after["records"].as_i64().unwrap() >= before + 2,
        "key create and show were audited: {after}"
    );
    let err = customer.fails(&["audit", "verify"], 4);
    assert!(err.contains("operator"), "{err}");
}

#[test]
fn a_subscription_holding_a_vault_cannot_be_deleted() {
    let server = Server::start(&[]);
    let customer = customer_with_key(&server);
    let operator = User::new(&server);
    operator.login_operator();
    let err = operator.fails(&["subscription", "delete", "dev"], 1);
    assert!(err.contains("1 vault"), "{err}");
    customer.ok(&["vault", "delete", "demo"]);
    let err = operator.fails(&["subscription", "delete", "dev"], 1);
    assert!(
        err.contains("1 vault"),
        "a soft-deleted vault still counts: {err}"
    );
    customer.ok(&["subscription", "show", "dev"]);
}
