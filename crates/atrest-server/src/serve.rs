//! Starting and stopping the server.

use std::net::SocketAddr;

use atrest_accounts::AccountsState;
use atrest_identity::{Directory, DirectoryOptions};
use atrest_store::{AuditLog, DatabaseLocation, Db};
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use std::time::Duration;

use std::sync::Arc;

use atrest_vault::{SystemClock, VaultHosts, VaultState, Vaults, VaultsConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{app, AppState};
use crate::datadir::{DataDir, OperatorCredentials};
use crate::listener::serve_tls;
use crate::tls;
use crate::Settings;

/// A server running in this process.
pub struct RunningServer {
    /// The bound address (useful when listening on port 0).
    pub addr: SocketAddr,
    /// The data directory in use.
    pub data: DataDir,
    /// The metadata database in use.
    pub database: DatabaseLocation,
    /// The public base URL: tokens' issuer is `{public_url}/{tenant}/v2.0`.
    pub public_url: String,
    /// Operator credentials, when this start created them.
    pub new_operator: Option<OperatorCredentials>,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Stops accepting connections, closes idle ones, lets in-flight requests finish (up to
    /// 10 s), and waits.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Waits until the server stops by itself (it does not, short of an error).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }

    /// A handle that triggers graceful shutdown when `true` is sent.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The data directory could not be prepared.
    #[error("data directory: {0}")]
    DataDir(#[source] std::io::Error),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] atrest_store::Error),
    /// The directory could not be opened.
    #[error(transparent)]
    Identity(#[from] atrest_identity::Error),
    /// The accounts service could not be configured or opened.
    #[error("accounts: {0}")]
    Accounts(String),
    /// TLS material could not be made or loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// The listen address is taken or not allowed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Starts the server and returns once it is listening.
pub async fn start(settings: Settings) -> Result<RunningServer, StartError> {
    install_crypto_provider();
    let data = DataDir::open(&settings.data_dir).map_err(StartError::DataDir)?;
    let root = data.root_key().map_err(StartError::DataDir)?;
    let location = settings
        .database
        .clone()
        .unwrap_or_else(|| DatabaseLocation::Sqlite(data.database()));
    let mut db = Db::connect(&location).await?;
    db.claim_single_node().await?;
    let audit = AuditLog::start(
        db.clone(),
        &derive_subkey(root.expose_secret(), b"atrest/audit-key/v1")[..],
    )
    .await?;
    let listener =
        std::net::TcpListener::bind(settings.listen).map_err(|source| StartError::Bind {
            addr: settings.listen,
            source,
        })?;
    listener
        .set_nonblocking(true)
        .map_err(StartError::DataDir)?;
    let addr = listener.local_addr().map_err(StartError::DataDir)?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| crate::config::default_public_url(addr));
    let directory = Directory::open_with(
        db.clone(),
        &root,
        DirectoryOptions {
            public_url: public_url.clone(),
            token_endpoint: settings.token_endpoint.clone(),
        },
    )
    .await?;
    let new_operator = match directory.bootstrap_operator().await? {
        Some(created) => {
            let creds = OperatorCredentials {
                tenant_id: created.principal.tenant_id.clone(),
                client_id: created.principal.client_id.clone(),
                client_secret: created.client_secret,
            };
            data.write_operator_credentials(&creds)
                .map_err(StartError::DataDir)?;
            Some(creds)
        }
        None => None,
    };

    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.push(format!("*.{}", settings.vault_dns_suffix));
    for (host, _) in &settings.vault_aliases {
        let bare = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
        names.push(bare.to_owned());
    }
    names.extend(settings.hosts.iter().cloned());
    names.sort();
    names.dedup();
    let tls = tls::server_config(&data, &names).map_err(|e| StartError::Tls(e.to_string()))?;

    let vaults = Vaults::new(VaultsConfig {
        db: db.clone(),
        audit: audit.clone(),
        directory: directory.clone(),
        root: root.clone(),
        hosts: VaultHosts {
            dns_suffix: settings.vault_dns_suffix.clone(),
            aliases: settings.vault_aliases.clone(),
            public_port: Some(addr.port()),
        },
        clock: Arc::new(SystemClock),
    });
    tokio::spawn(vault_jobs(vaults.clone()));
    let accounts = crate::accounts::start(
        &settings,
        &data,
        addr,
        db,
        audit.clone(),
        &directory,
        root,
        &vaults,
    )
    .await?;
    let state = AppState {
        directory: directory.clone(),
        vaults: VaultState::new(vaults),
        accounts: AccountsState::new(accounts, directory),
        audit,
    };
    let router = app(state, settings.max_body_bytes);

    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve_tls(
        listener,
        tls,
        router,
        settings.connections.clone(),
        stopped,
        Duration::from_secs(10),
    ));
    Ok(RunningServer {
        addr,
        data,
        database: location,
        public_url,
        new_operator,
        stop,
        task,
    })
}

/// Applies rotation policies and purges expired soft-deleted keys and vaults, once a minute.
async fn vault_jobs(vaults: Vaults) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = vaults.now();
        if let Err(e) = vaults.run_due_rotations(now).await {
            tracing::warn!(error = %e, "rotation scheduler");
        }
        if let Err(e) = vaults.run_due_purges(now).await {
            tracing::warn!(error = %e, "purge scheduler");
        }
    }
}

/// Runs the server until Ctrl-C or SIGTERM, then shuts down gracefully.
pub async fn serve(
    settings: Settings,
    on_ready: impl FnOnce(&RunningServer),
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let server = start(settings).await?;
    on_ready(&server);
    let stop = server.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    server.wait().await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Derives a 32-byte purpose-specific key from the root key with HKDF-SHA256.
pub(crate) fn derive_subkey(root: &[u8; 32], label: &[u8]) -> zeroize::Zeroizing<[u8; 32]> {
    struct Len32;
    impl aws_lc_rs::hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let prk = Salt::new(HKDF_SHA256, b"atrest").extract(root);
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    prk.expand(&[label], Len32)
        .and_then(|okm| okm.fill(out.as_mut()))
        .expect("HKDF can produce 32 bytes");
    out
}

/// Makes aws-lc-rs the process-wide rustls provider (for reqwest clients too). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
