//! Vaults, access policies and keys.

use crate::common::Server;
use crate::support::*;

#[test]
fn vault_and_keys_through_the_cli() {
    let server = Server::start(&[]);
    let user = customer(&server);
    let (creds, ca) = (user.file("admin.json"), server.ca_path());
    let vault = user.ok(&["vault", "create", "demo", "--location", "westeurope"]);
    assert_eq!(vault["properties"]["enablePurgeProtection"], true);
    let key = user.ok(&["key", "create", "cmk", "--vault", "demo"]);
    assert_eq!(key["key"]["kty"], "RSA");
    assert!(key["key"]["kid"].as_str().unwrap().contains("/keys/cmk/"));
    assert_eq!(
        user.ok(&["key", "list", "--vault", "demo"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let rotated = user.ok(&["key", "rotate", "cmk", "--vault", "demo"]);
    assert_ne!(rotated["key"]["kid"], key["key"]["kid"]);
    assert_eq!(
        user.ok(&["key", "versions", "cmk", "--vault", "demo"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        user.ok(&["key", "disable", "cmk", "--vault", "demo"])["attributes"]["enabled"],
        false
    );
    assert_eq!(
        user.ok(&["key", "enable", "cmk", "--vault", "demo"])["attributes"]["enabled"],
        true
    );
    let backup = user.file("cmk.backup");
    user.ok(&[
        "key",
        "backup",
        "cmk",
        "--vault",
        "demo",
        "--file",
        backup.to_str().unwrap(),
    ]);
    assert_eq!(mode(&backup), 0o600);
    let policy = user.ok(&[
        "key",
        "rotation-policy",
        "set",
        "cmk",
        "--vault",
        "demo",
        "--rotate-after-create",
        "P90D",
        "--expires-after",
        "P1Y",
    ]);
    assert_eq!(policy["attributes"]["expiryTime"], "P1Y");
    user.ok(&["key", "rotation-policy", "show", "cmk", "--vault", "demo"]);
    user.ok(&["key", "delete", "cmk", "--vault", "demo"]);
    user.fails(&["key", "show", "cmk", "--vault", "demo"], 3);
    assert_eq!(
        user.ok(&["key", "list", "--vault", "demo", "--deleted"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let err = user.fails(&["key", "create", "cmk", "--vault", "demo"], 1);
    assert!(err.contains("atrest key recover"), "{err}");
    user.ok(&["key", "recover", "cmk", "--vault", "demo"]);
    user.ok(&["key", "show", "cmk", "--vault", "demo"]);

    // A principal without permissions gets the set-policy command to fix it.
    user.login_operator();
    let other = user
        .run(&[
            "sp", "create", "reader", "--tenant", "contoso", "-o", "json",
        ])
        .json();
    let other_oid = other["objectId"].as_str().unwrap().to_owned();
    let other_file = user.file("reader.json");
    std::fs::write(&other_file, other.to_string()).unwrap();
    user.ok(&[
        "login",
        "--profile",
        "reader",
        "--credentials",
        other_file.to_str().unwrap(),
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    let uri = vault["properties"]["vaultUri"].as_str().unwrap();
    let err = user.fails(
        &["key", "show", "cmk", "--vault", uri, "--profile", "reader"],
        4,
    );
    assert!(
        err.contains(&format!(
            "atrest vault set-policy demo --object-id {other_oid}"
        )),
        "{err}"
    );
    let creds_profile = ["--profile", "default"];
    user.ok(&[
        "login",
        "--credentials",
        creds.to_str().unwrap(),
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    user.ok(&[
        &[
            "vault",
            "set-policy",
            "demo",
            "--object-id",
            &other_oid,
            "--key-permissions",
            "get,list",
        ][..],
        &creds_profile[..],
    ]
    .concat());
    user.ok(&["key", "show", "cmk", "--vault", uri, "--profile", "reader"]);
    user.ok(&["vault", "delete-policy", "demo", "--object-id", &other_oid]);
    user.fails(
        &["key", "show", "cmk", "--vault", uri, "--profile", "reader"],
        4,
    );
    let records = user.ok(&["audit", "list", "--vault", "demo"]);
    assert!(records.to_string().contains("cmk"));

    user.ok(&["vault", "delete", "demo"]);
    assert_eq!(
        user.ok(&["vault", "list", "--deleted"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    user.ok(&["vault", "recover", "demo"]);
    user.ok(&["vault", "show", "demo"]);
}
