//! Accounts, their data and customer-managed keys; transfers on a terminal.

use serde_json::Value;

use crate::common::Server;
use crate::support::*;

#[test]
fn accounts_data_and_customer_managed_keys_through_the_cli() {
    let (_cfg, config) = fast_key_checks();
    let server = Server::start(&["--config", &config]);
    let user = customer_with_key(&server);
    let account = user.ok(&[
        "account",
        "create",
        "translator",
        "--kind",
        "TextTranslation",
        "--location",
        "westeurope",
    ]);
    assert_eq!(
        account["properties"]["encryption"]["keySource"],
        "Microsoft.CognitiveServices"
    );
    assert_eq!(user.ok(&["account", "list"]).as_array().unwrap().len(), 1);

    // Upload, list, download whole and resumed.
    let original: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = user.file("big.bin");
    std::fs::write(&file, &original).unwrap();
    let up = user.ok(&[
        "data",
        "upload",
        "translator",
        file.to_str().unwrap(),
        "--name",
        "big",
    ]);
    assert_eq!(up["bytes"], 300_000);
    assert!(user
        .ok(&["data", "list", "translator"])
        .to_string()
        .contains("big"));
    let copy = user.file("copy.bin");
    user.ok(&[
        "data",
        "download",
        "translator",
        "big",
        "--file",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&copy).unwrap(), original);
    user.fails(
        &[
            "data",
            "download",
            "translator",
            "big",
            "--file",
            copy.to_str().unwrap(),
        ],
        2,
    );
    std::fs::write(&copy, &original[..1000]).unwrap();
    let resumed = user.ok(&[
        "data",
        "download",
        "translator",
        "big",
        "--file",
        copy.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(resumed["resumedFrom"], 1000);
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        original,
        "resumed download is byte-identical"
    );
    let again = user.ok(&[
        "data",
        "download",
        "translator",
        "big",
        "--file",
        copy.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(again["bytes"], 300_000, "a complete file stays as it is");

    // Without access for the identity, the switch is refused with the way forward.
    let err = user.fails(
        &[
            "account",
            "encryption",
            "set",
            "translator",
            "--vault",
            "demo",
            "--key",
            "cmk",
        ],
        1,
    );
    assert!(
        err.contains("--grant-access") || err.contains("set-policy"),
        "{err}"
    );
    let cmk = user.ok(&[
        "account",
        "encryption",
        "set",
        "translator",
        "--vault",
        "demo",
        "--key",
        "cmk",
        "--grant-access",
    ]);
    assert_eq!(
        cmk["properties"]["encryption"]["keySource"],
        "Microsoft.KeyVault"
    );
    let identity = cmk["identity"]["principalId"].as_str().unwrap().to_owned();
    let vault = user.ok(&["vault", "show", "demo"]);
    assert!(
        vault.to_string().contains(&identity),
        "the identity got an access policy"
    );
    user.ok(&[
        "data",
        "download",
        "translator",
        "big",
        "--file",
        copy.to_str().unwrap(),
        "--force",
    ]);

    // Revoke: exit 5, the error names the key; nothing is lost.
    user.ok(&["key", "disable", "cmk", "--vault", "demo"]);
    let locked = user.file("locked.bin");
    let mut err = String::new();
    for _ in 0..20 {
        let run = user.run(&[
            "data",
            "download",
            "translator",
            "big",
            "--file",
            locked.to_str().unwrap(),
            "--force",
        ]);
        if run.code == 5 {
            err = run.stderr;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(
        err.contains("KeyInaccessible") && err.contains("hint:"),
        "no lock: {err}"
    );
    user.ok(&["key", "enable", "cmk", "--vault", "demo"]);
    let mut restored = false;
    for _ in 0..40 {
        if user
            .run(&[
                "data",
                "download",
                "translator",
                "big",
                "--file",
                copy.to_str().unwrap(),
                "--force",
            ])
            .code
            == 0
        {
            restored = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(restored, "access returns after the key is enabled");
    assert_eq!(std::fs::read(&copy).unwrap(), original);

    let mmk = user.ok(&[
        "account",
        "encryption",
        "set",
        "translator",
        "--microsoft-managed",
    ]);
    assert_eq!(
        mmk["properties"]["encryption"]["keySource"],
        "Microsoft.CognitiveServices"
    );
    let off = user.ok(&["account", "identity", "disable", "translator"]);
    assert!(
        off["identity"]["principalId"].is_null() || off["identity"]["type"] == "None",
        "{off}"
    );
    // On again: a new principal. A key URI with --grant-access gives it access; then a pinned
    // version by vault and key name.
    let on = user.ok(&["account", "identity", "enable", "translator"]);
    let new_identity = on["identity"]["principalId"].as_str().unwrap().to_owned();
    assert_ne!(
        new_identity, identity,
        "a re-enabled identity is a new principal"
    );
    let vault_uri = vault["properties"]["vaultUri"].as_str().unwrap();
    let key_uri = format!("{}/keys/cmk", vault_uri.trim_end_matches('/'));
    let by_uri = user.ok(&[
        "account",
        "encryption",
        "set",
        "translator",
        "--key-uri",
        &key_uri,
        "--grant-access",
    ]);
    assert_eq!(
        by_uri["properties"]["encryption"]["keySource"], "Microsoft.KeyVault",
        "{by_uri}"
    );
    let kid = user.ok(&["key", "show", "cmk", "--vault", "demo"])["key"]["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let version = kid.rsplit('/').next().unwrap();
    let pinned = user.ok(&[
        "account",
        "encryption",
        "set",
        "translator",
        "--vault",
        "demo",
        "--key",
        "cmk",
        "--version",
        version,
    ]);
    assert_eq!(
        pinned["properties"]["encryption"]["keyVaultProperties"]["keyVersion"], version,
        "{pinned}"
    );
    // The account's own audit trail: every encryption change, with the key it chose.
    let records = user.ok(&["audit", "list", "--account", "translator"]);
    let changes: Vec<&serde_json::Value> = records
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["operation"] == "EncryptionChange")
        .collect();
    assert!(changes.len() >= 4, "{records}");
    assert!(
        changes.last().unwrap()["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(version),
        "{records}"
    );
    user.ok(&["data", "delete", "translator", "big"]);
    user.ok(&["account", "delete", "translator"]);
    user.fails(&["account", "show", "translator"], 3);
}

#[test]
fn transfers_show_progress_on_a_terminal_and_stay_quiet_in_json() {
    let server = Server::start(&[]);
    let user = customer_with_key(&server);
    user.ok(&[
        "account",
        "create",
        "lang",
        "--kind",
        "TextAnalytics",
        "--location",
        "westeurope",
    ]);
    let file = user.file("eight.bin");
    std::fs::write(&file, vec![7u8; 8 << 20]).unwrap();
    let path = file.to_str().unwrap();

    let shown = on_terminal(&user, &["data", "upload", "lang", path, "--name", "a"]);
    assert!(shown.contains("/8.00 MiB"), "no progress bar: {shown}");
    let copy = user.file("copy.bin");
    let copy = copy.to_str().unwrap();
    let shown = on_terminal(&user, &["data", "download", "lang", "a", "--file", copy]);
    assert!(shown.contains("/8.00 MiB"), "no progress bar: {shown}");

    let quiet = on_terminal(
        &user,
        &["data", "upload", "lang", path, "--name", "b", "-o", "json"],
    );
    assert!(!quiet.contains("MiB"), "progress in JSON mode: {quiet}");
    let json: Value = serde_json::from_str(quiet.trim()).expect("only JSON on the terminal");
    assert_eq!(json["bytes"], 8 << 20);
}

#[test]
fn moving_a_subscription_is_refused_while_it_holds_accounts() {
    let server = Server::start(&[]);
    let customer = customer_with_key(&server);
    customer.ok(&[
        "account",
        "create",
        "speech",
        "--kind",
        "SpeechServices",
        "--location",
        "westeurope",
    ]);
    customer.ok(&[
        "account",
        "encryption",
        "set",
        "speech",
        "--vault",
        "demo",
        "--key",
        "cmk",
        "--grant-access",
    ]);
    let operator = User::new(&server);
    operator.login_operator();
    operator.ok(&["tenant", "create", "fabrikam"]);

    let err = operator.fails(&["subscription", "move", "dev", "--tenant", "fabrikam"], 1);
    assert!(
        err.contains("customer-managed keys (speech)") && err.contains("--microsoft-managed"),
        "{err}"
    );
    let unchanged = operator.ok(&["subscription", "show", "dev"]);
    assert_ne!(
        unchanged["tenantId"],
        operator.ok(&["tenant", "show", "fabrikam"])["tenantId"]
    );

    // On platform keys it is still refused: the account's objects are bound to its tenant.
    customer.ok(&[
        "account",
        "encryption",
        "set",
        "speech",
        "--microsoft-managed",
    ]);
    let err = operator.fails(&["subscription", "move", "dev", "--tenant", "fabrikam"], 1);
    assert!(err.contains("bound to its tenant"), "{err}");
    customer.ok(&["data", "list", "speech"]);

    // Without accounts it moves, and (as in Azure) its role assignments go.
    customer.ok(&["account", "delete", "speech"]);
    let moved = operator.ok(&["subscription", "move", "dev", "--tenant", "fabrikam"]);
    assert_eq!(
        moved["tenantId"],
        operator.ok(&["tenant", "show", "fabrikam"])["tenantId"]
    );
    let err = customer.fails(&["vault", "show", "demo"], 2);
    assert!(
        err.contains("you have a role on none"),
        "the Owner role went: {err}"
    );
}
