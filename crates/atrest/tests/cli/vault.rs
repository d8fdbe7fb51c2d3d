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

/// The rest of the key and vault lifecycle: sign-in with flags and ATREST_CLIENT_SECRET,
/// a vault without purge protection, import of your own RSA key (PEM), backup, purge and
/// restore, and purging a deleted vault.
#[test]
fn import_purge_restore_and_login_with_flags() {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine as _;
    let server = Server::start(&[]);
    let user = customer(&server);
    let creds: serde_json::Value =
        serde_json::from_slice(&std::fs::read(user.file("admin.json")).unwrap()).unwrap();
    let ca = server.ca_path();
    let login = user.run_with(
        &[
            "login",
            "--profile",
            "flags",
            "--tenant",
            creds["tenantId"].as_str().unwrap(),
            "--client-id",
            creds["clientId"].as_str().unwrap(),
            "--cacert",
            ca.to_str().unwrap(),
        ],
        &[(
            "ATREST_CLIENT_SECRET",
            creds["clientSecret"].as_str().unwrap(),
        )],
    );
    assert_eq!(login.code, 0, "{}{}", login.stdout, login.stderr);
    fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend(["--profile", "flags"]);
        all
    }

    let vault = user.ok(&with(&[
        "vault",
        "create",
        "scratch",
        "--location",
        "westeurope",
        "--no-purge-protection",
    ]));
    assert_eq!(vault["properties"]["enablePurgeProtection"], false);

    // Bring your own key: a PKCS#8 PEM made here.
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(der.as_ref())
    );
    let pem_file = user.file("byok.pem");
    std::fs::write(&pem_file, pem).unwrap();
    let imported = user.ok(&with(&[
        "key",
        "import",
        "byok",
        "--vault",
        "scratch",
        "--file",
        pem_file.to_str().unwrap(),
    ]));
    assert_eq!(imported["key"]["kty"], "RSA", "{imported}");

    let backup = user.file("byok.backup");
    user.ok(&with(&[
        "key",
        "backup",
        "byok",
        "--vault",
        "scratch",
        "--file",
        backup.to_str().unwrap(),
    ]));
    user.ok(&with(&["key", "delete", "byok", "--vault", "scratch"]));
    user.ok(&with(&["key", "purge", "byok", "--vault", "scratch"]));
    let listed = user.ok(&with(&["key", "list", "--vault", "scratch", "--deleted"]));
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
    let restored = user.ok(&with(&[
        "key",
        "restore",
        "--vault",
        "scratch",
        "--file",
        backup.to_str().unwrap(),
    ]));
    assert_eq!(
        restored["key"]["n"], imported["key"]["n"],
        "the same key came back"
    );

    user.ok(&with(&["vault", "delete", "scratch"]));
    user.ok(&with(&["vault", "purge", "scratch"]));
    let deleted = user.ok(&with(&["vault", "list", "--deleted"]));
    assert_eq!(deleted.as_array().unwrap().len(), 0, "{deleted}");
}
