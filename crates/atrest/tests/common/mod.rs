//! A real `atrest serve` process on a free port with a fresh data directory, and an HTTPS
//! client that trusts its CA.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub data_dir: PathBuf,
    pub banner: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

/// `ATREST_TEST_PLATFORM_STORAGE` (set by `scripts/test-engines` for the second pass: a TOML
/// inline table for `[accounts] platform_storage`) as a configuration file for a server on
/// `data_dir`, merged into the test's own `--config` file when it has one. The objects go
/// under a prefix derived from the data directory, so a restarted server finds its objects.
fn test_platform_storage_config(data_dir: &Path, base: Option<&str>) -> Option<PathBuf> {
    let value = std::env::var("ATREST_TEST_PLATFORM_STORAGE").ok()?;
    if value.trim().is_empty() {
        return None;
    }
    let prefix = atrest_store::testing::postgres_url_for("x", data_dir);
    let prefix = prefix.rsplit('/').next().unwrap_or("server");
    // `url = "s3://bucket/run"` → `url = "s3://bucket/run/{prefix}"`.
    let (head, rest) = value.split_once("url")?;
    let open = rest.find('"')? + 1;
    let close = open + rest[open..].find('"')?;
    let url = rest[open..close].trim_end_matches('/');
    let table = format!("{head}url{}{url}/{prefix}{}", &rest[..open], &rest[close..]);
    let line = format!("platform_storage = {table}");
    let mut config = base
        .map(|path| std::fs::read_to_string(path).expect("the test's config file"))
        .unwrap_or_default();
    match config.find("[accounts]") {
        Some(at) => {
            let end = at + "[accounts]".len();
            config.insert_str(end, &format!("\n{line}"));
        }
        None => config.push_str(&format!("\n[accounts]\n{line}\n")),
    }
    let path = data_dir.with_extension("test-storage.toml");
    std::fs::create_dir_all(path.parent()?).ok()?;
    std::fs::write(&path, config).ok()?;
    Some(path)
}

/// `extra` with the test's `--config` file merged with the platform storage of the second pass.
fn with_test_platform_storage(data_dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    if let Some(i) = args.iter().position(|a| a == "--config") {
        if let Some(merged) =
            test_platform_storage_config(data_dir, args.get(i + 1).map(String::as_str))
        {
            args[i + 1] = merged.display().to_string();
        }
    }
    args
}

impl Server {
    /// Starts `atrest serve` with the given extra arguments in a fresh data directory.
    pub fn start(extra: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let mut server = Self::start_in(&data_dir, extra);
        server._tmp = Some(tmp);
        server
    }

    /// Starts `atrest serve` on an existing (or new) data directory, on a free port.
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_on(data_dir, "127.0.0.1:0", extra)
    }

    /// Starts `atrest serve` on an existing (or new) data directory and the given address.
    pub fn start_on(data_dir: &Path, listen: &str, extra: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_atrest"));
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", listen])
            .args(with_test_platform_storage(data_dir, extra));
        Self::spawn(command, data_dir)
    }

    /// Starts `atrest serve` with its data directory given only by `ATREST_DATA_DIR`.
    pub fn start_with_data_dir_env(data_dir: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_atrest"));
        command
            .arg("serve")
            .env("ATREST_DATA_DIR", data_dir)
            .args(["--listen", "127.0.0.1:0"]);
        Self::spawn(command, data_dir)
    }

    fn spawn(mut command: Command, data_dir: &Path) -> Self {
        if !command.get_args().any(|a| a == "--config") {
            if let Some(config) = test_platform_storage_config(data_dir, None) {
                command.arg("--config").arg(config);
            }
        }
        if let Some(database) = atrest_store::testing::database_setting(data_dir) {
            command.env("ATREST_DATABASE_URL", database);
        }
        let mut child = command
            .args(["--log", "warn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn atrest serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut port = None;
        while Instant::now() < deadline {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(url) = line.strip_prefix("atrest is serving at https://localhost:") {
                port = Some(url.trim().parse().unwrap());
            }
            let done = line.trim_start().starts_with("try:");
            banner.push(line);
            if done {
                break;
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let port = port.unwrap_or_else(|| panic!("server did not print its URL; got {banner:?}"));
        Self {
            child,
            port,
            data_dir: data_dir.to_owned(),
            banner,
            _tmp: None,
        }
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    pub fn ca_path(&self) -> PathBuf {
        self.data_dir.join("tls/ca.pem")
    }

    pub fn client(&self) -> reqwest::Client {
        atrest_server::install_crypto_provider();
        let ca = reqwest::Certificate::from_pem(&std::fs::read(self.ca_path()).unwrap()).unwrap();
        reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap()
    }

    pub fn operator(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.data_dir.join("operator.json")).unwrap())
            .unwrap()
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(self) -> std::process::ExitStatus {
        self.stop_with("TERM")
    }

    /// Sends `signal` (`TERM`, `INT` as Ctrl-C does) and waits for the process to exit.
    pub fn stop_with(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not stop after SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Obtains a token with client credentials, as azure-identity does.
pub async fn token(
    server: &Server,
    client: &reqwest::Client,
    tenant: &str,
    client_id: &str,
    secret: &str,
    resource: &str,
) -> String {
    let response = client
        .post(format!("{}/{tenant}/oauth2/v2.0/token", server.url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", &format!("{resource}/.default")),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "token request failed: {status} {body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// The operator's management token.
pub async fn operator_token(server: &Server, client: &reqwest::Client) -> String {
    let op = server.operator();
    token(
        server,
        client,
        op["tenantId"].as_str().unwrap(),
        op["clientId"].as_str().unwrap(),
        op["clientSecret"].as_str().unwrap(),
        "https://management.azure.com",
    )
    .await
}

/// Sends a JSON request with a bearer token and returns (status, body).
pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        json!(null)
    } else {
        serde_json::from_str(&text).unwrap_or(json!({ "raw": text }))
    };
    (status, value)
}
