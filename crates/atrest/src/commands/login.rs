//! `atrest login` and `atrest logout`.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;
use serde_json::json;

use crate::api::{token_claims, Api, Resource};
use crate::cli::Global;
use crate::config::{ConfigStore, Profile};
use crate::error::{Error, Result};
use crate::output::Output;

/// Flags of `atrest login`. Credentials come from exactly one of: `--tenant` with
/// `--client-id` and `--client-secret`; `--credentials FILE`; or the operator's files in a
/// local server's data directory (`--data-dir`, the default when nothing else is given).
#[derive(Debug, Args)]
pub(crate) struct LoginArgs {
    #[command(flatten)]
    global: Global,
    /// Sign in as the operator of a local server: read DIR/operator.json and trust
    /// DIR/tls/ca.pem. The default when no other credentials are given.
    #[arg(long, value_name = "DIR", env = "ATREST_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Sign in with a JSON file holding tenantId, clientId and clientSecret, such as the
    /// output of `atrest sp create --output json` or a server's operator.json.
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// Tenant id of the service principal (with --client-id and --client-secret).
    #[arg(long, requires = "client_id")]
    tenant: Option<String>,
    /// Client (application) id of the service principal.
    #[arg(long, requires = "tenant")]
    client_id: Option<String>,
    /// Client secret. Prefer the ATREST_CLIENT_SECRET environment variable: flags end up in
    /// the shell history.
    #[arg(long, env = "ATREST_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// Server URL.
    #[arg(long, env = "ATREST_SERVER", default_value = "https://localhost:8443")]
    server: String,
    /// PEM file of the CA that signed the server's certificate. Default with --data-dir:
    /// DIR/tls/ca.pem.
    #[arg(long, value_name = "PEM")]
    cacert: Option<PathBuf>,
}

/// Flags of `atrest logout`.
#[derive(Debug, Args)]
pub(crate) struct LogoutArgs {
    #[command(flatten)]
    global: Global,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CredentialsFile {
    tenant_id: String,
    client_id: String,
    client_secret: String,
}

/// `atrest login`.
pub(crate) async fn login(args: LoginArgs) -> Result<()> {
    let out = Output::new(args.global.output);
    let store = ConfigStore::new(args.global.config_dir.clone())?;
    let name = args.global.profile.clone();
    let (creds, default_ca) = credentials(&args)?;
    let ca_path = args.cacert.clone().or(default_ca).ok_or_else(|| {
        Error::usage("say which CA certificate to trust for the server: --cacert PEM")
            .with_hint("a local server's CA is DATA_DIR/tls/ca.pem")
    })?;
    let ca_cert = std::fs::read_to_string(&ca_path).map_err(|e| Error::io("read", &ca_path, e))?;
    let server = args.server.trim_end_matches('/').to_owned();
    if !server.starts_with("https://") {
        return Err(Error::usage(format!(
            "--server {server}: atrest speaks HTTPS only (https://host:port)"
        )));
    }
    let mut profile = Profile {
        server,
        ca_cert,
        tenant_id: creds.tenant_id,
        client_id: creds.client_id,
        client_secret: creds.client_secret,
        object_id: String::new(),
    };
    // The first token proves the credentials and tells us who we are.
    let api = Api::for_login(&store, &name, profile.clone())?;
    let token = api.token(Resource::Management).await?;
    let claims = token_claims(&token).unwrap_or_default();
    profile.object_id = claims["oid"].as_str().unwrap_or_default().to_owned();
    let path = store.save_profile(&name, &profile)?;
    let result = json!({
        "profile": name,
        "server": profile.server,
        "tenantId": profile.tenant_id,
        "clientId": profile.client_id,
        "objectId": profile.object_id,
        "profilePath": path,
    });
    out.done(
        &result,
        &format!(
            "Signed in to {} as client {} (object id {}) of tenant {}.\nProfile '{name}' saved to {} (mode 0600).",
            profile.server,
            profile.client_id,
            profile.object_id,
            profile.tenant_id,
            path.display()
        ),
    );
    Ok(())
}

/// The credentials and, for `--data-dir`, the CA certificate path.
fn credentials(args: &LoginArgs) -> Result<(CredentialsFile, Option<PathBuf>)> {
    if let Some(tenant_id) = &args.tenant {
        let client_secret = args.client_secret.clone().ok_or_else(|| {
            Error::usage("--client-secret (or ATREST_CLIENT_SECRET) is required with --tenant")
        })?;
        let creds = CredentialsFile {
            tenant_id: tenant_id.clone(),
            client_id: args.client_id.clone().unwrap_or_default(),
            client_secret,
        };
        return Ok((creds, None));
    }
    if let Some(file) = &args.credentials {
        return Ok((read_credentials(file)?, None));
    }
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("./atrest-data"));
    let file = dir.join("operator.json");
    if !file.exists() {
        return Err(Error::usage(format!("no operator credentials at {}", file.display())).with_hint(
            "start the server first (`atrest serve --data-dir DIR`), pass --data-dir DIR, or sign \
             in as a service principal with --credentials FILE or --tenant/--client-id/--client-secret",
        ));
    }
    Ok((
        read_credentials(&file)?,
        Some(dir.join("tls").join("ca.pem")),
    ))
}

fn read_credentials(path: &Path) -> Result<CredentialsFile> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::usage(format!(
            "{} is not a credentials file (JSON with tenantId, clientId, clientSecret)",
            path.display()
        ))
        .with_source(e)
    })
}

/// `atrest logout`.
pub(crate) fn logout(args: LogoutArgs) -> Result<()> {
    let out = Output::new(args.global.output);
    let store = ConfigStore::new(args.global.config_dir)?;
    let name = args.global.profile;
    let existed = store.remove_profile(&name)?;
    let text = if existed {
        format!("Signed out: profile '{name}' and its tokens removed.")
    } else {
        format!("No profile '{name}' to remove.")
    };
    out.done(&json!({ "profile": name, "removed": existed }), &text);
    Ok(())
}
