//! The client subcommands, run as a user would (the real `atrest` binary) against a real
//! `atrest serve`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Server;
use serde_json::Value;

/// A user: a config directory of their own, talking to one server.
struct User {
    config: tempfile::TempDir,
    server: String,
    data_dir: PathBuf,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl User {
    fn new(server: &Server) -> Self {
        Self {
            config: tempfile::tempdir().unwrap(),
            server: server.url(),
            data_dir: server.data_dir.clone(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_atrest"))
            .args(args)
            .env("ATREST_CONFIG_DIR", self.config.path())
            .env("ATREST_SERVER", &self.server)
            .env_remove("ATREST_PROFILE")
            .env_remove("ATREST_SUBSCRIPTION")
            .env_remove("ATREST_OUTPUT")
            .env_remove("ATREST_DATA_DIR")
            .env_remove("ATREST_CLIENT_SECRET")
            .output()
            .expect("run atrest");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and expects success; returns the JSON output.
    fn ok(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let run = self.run(&all);
        assert_eq!(
            run.code, 0,
            "atrest {args:?} failed: {}{}",
            run.stdout, run.stderr
        );
        run.json()
    }

    /// Runs and expects exit `code`; returns stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "atrest {args:?}: {}{}",
            run.stdout, run.stderr
        );
        run.stderr
    }

    fn login_operator(&self) {
        let dir = self.data_dir.to_str().unwrap();
        self.ok(&["login", "--data-dir", dir]);
    }

    fn file(&self, path: &str) -> PathBuf {
        self.config.path().join(path)
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

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
fn vault_and_keys_through_the_cli() {
    let server = Server::start(&[]);
    let user = User::new(&server);
    user.login_operator();
    user.ok(&["tenant", "create", "contoso"]);
    let created = user.run(&["sp", "create", "admin", "--tenant", "contoso", "-o", "json"]);
    let creds = user.file("admin.json");
    std::fs::write(&creds, &created.stdout).unwrap();
    user.ok(&[
        "subscription",
        "create",
        "dev",
        "--tenant",
        "contoso",
        "--owner",
        "admin",
    ]);
    let ca = server.ca_path();
    user.ok(&[
        "login",
        "--credentials",
        creds.to_str().unwrap(),
        "--cacert",
        ca.to_str().unwrap(),
    ]);
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

/// A customer with a vault and an RSA key, signed in as the default profile.
fn customer_with_key(server: &Server) -> User {
    let user = User::new(server);
    user.login_operator();
    user.ok(&["tenant", "create", "contoso"]);
    let created = user.run(&["sp", "create", "admin", "--tenant", "contoso", "-o", "json"]);
    let creds = user.file("admin.json");
    std::fs::write(&creds, &created.stdout).unwrap();
    user.ok(&[
        "subscription",
        "create",
        "dev",
        "--tenant",
        "contoso",
        "--owner",
        "admin",
    ]);
    user.ok(&["subscription", "approve-cmk", "dev"]);
    let ca = server.ca_path();
    user.ok(&[
        "login",
        "--credentials",
        creds.to_str().unwrap(),
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    user.ok(&["vault", "create", "demo", "--location", "westeurope"]);
    user.ok(&["key", "create", "cmk", "--vault", "demo"]);
    user
}

fn fast_key_checks() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atrest.toml");
    std::fs::write(&path, "key_check_interval_secs = 2\n").unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

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
    user.ok(&["data", "delete", "translator", "big"]);
    user.ok(&["account", "delete", "translator"]);
    user.fails(&["account", "show", "translator"], 3);
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

/// Runs `atrest ARGS` on a pseudo-terminal (util-linux `script`), as a person would; returns
/// everything the terminal showed.
fn on_terminal(user: &User, args: &[&str]) -> String {
    let command = std::iter::once(env!("CARGO_BIN_EXE_atrest"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["--quiet", "--return", "--command", &command, "/dev/null"])
        .env("ATREST_CONFIG_DIR", user.config.path())
        .env("ATREST_SERVER", &user.server)
        .env_remove("ATREST_PROFILE")
        .env_remove("ATREST_OUTPUT")
        .output()
        .expect("util-linux `script` runs");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "atrest {args:?} on a terminal: {shown}"
    );
    shown
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
