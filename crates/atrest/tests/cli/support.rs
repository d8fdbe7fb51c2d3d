//! A user of the CLI: the real `atrest` binary with a config directory of its own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::Server;

/// A user: a config directory of their own, talking to one server.
pub(crate) struct User {
    pub(crate) config: tempfile::TempDir,
    pub(crate) server: String,
    pub(crate) data_dir: PathBuf,
}

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

impl User {
    pub(crate) fn new(server: &Server) -> Self {
        Self {
            config: tempfile::tempdir().unwrap(),
            server: server.url(),
            data_dir: server.data_dir.clone(),
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    /// Runs with extra environment variables (set after the ones cleared for isolation).
    pub(crate) fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let out: Output = Command::new(env!("CARGO_BIN_EXE_atrest"))
            .args(args)
            .env("ATREST_CONFIG_DIR", self.config.path())
            .env("ATREST_SERVER", &self.server)
            .env_remove("ATREST_PROFILE")
            .env_remove("ATREST_SUBSCRIPTION")
            .env_remove("ATREST_OUTPUT")
            .env_remove("ATREST_DATA_DIR")
            .env_remove("ATREST_CLIENT_SECRET")
            .envs(vars.iter().copied())
            .output()
            .expect("run atrest");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and expects success; returns the JSON output.
    pub(crate) fn ok(&self, args: &[&str]) -> Value {
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
    pub(crate) fn fails(&self, args: &[&str], code: i32) -> String {
        let run = self.run(args);
        assert_eq!(
            run.code, code,
            "atrest {args:?}: {}{}",
            run.stdout, run.stderr
        );
        run.stderr
    }

    pub(crate) fn login_operator(&self) {
        let dir = self.data_dir.to_str().unwrap();
        self.ok(&["login", "--data-dir", dir]);
    }

    pub(crate) fn file(&self, path: &str) -> PathBuf {
        self.config.path().join(path)
    }
}

pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A customer: tenant `contoso`, its admin principal (credentials in `admin.json`) owning
/// subscription `dev` (approved for CMK), signed in as the default profile.
pub(crate) fn customer(server: &Server) -> User {
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
    user
}

/// [`customer`] with a vault `demo` and an RSA key `cmk` in it.
pub(crate) fn customer_with_key(server: &Server) -> User {
    let user = customer(server);
    user.ok(&["vault", "create", "demo", "--location", "westeurope"]);
    user.ok(&["key", "create", "cmk", "--vault", "demo"]);
    user
}

pub(crate) fn fast_key_checks() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("atrest.toml");
    std::fs::write(&path, "key_check_interval_secs = 2\n").unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

/// Runs `atrest ARGS` on a pseudo-terminal (util-linux `script`), as a person would; returns
/// everything the terminal showed.
pub(crate) fn on_terminal(user: &User, args: &[&str]) -> String {
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
