//! The HTTPS accept loop: TLS by tokio-rustls, HTTP/1.1 and HTTP/2 by hyper-util, and a
//! graceful shutdown that closes idle keep-alive connections at once and gives in-flight
//! requests a grace period.

use std::net::TcpListener as StdTcpListener;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower_http::metrics::in_flight_requests::{InFlightRequests, InFlightRequestsCounter};

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` turns true, then drains for at most `grace`.
pub(crate) async fn serve_tls(
    listener: StdTcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) -> std::io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let acceptor = TlsAcceptor::from(tls);
    let graceful = GracefulShutdown::new();
    // Requests count as in flight until their response body is sent (streaming downloads too).
    // One wrapper around the whole router: `Router::layer` would wrap every route instead,
    // which measurably slows each request (unwrapKey throughput -7 %).
    let in_flight = InFlightRequestsCounter::new();
    let app = InFlightRequests::new(router, in_flight.clone());
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let builder = Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Every connection has been told to finish (HTTP/1 closes when idle, HTTP/2 gets GOAWAY).
    // Done when they have all closed or, sooner, when no request is left in flight: an HTTP/2
    // client may keep its idle connection open after GOAWAY, and that must not hold us up.
    let drained = async {
        tokio::select! {
            () = graceful.shutdown() => {}
            () = no_request_in_flight(&in_flight) => {}
        }
    };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!("requests still running after {grace:?}; closing them");
    }
    Ok(())
}

async fn no_request_in_flight(in_flight: &InFlightRequestsCounter) {
    while in_flight.get() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
