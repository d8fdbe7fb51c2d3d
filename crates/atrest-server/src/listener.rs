//! The HTTPS accept loop: TLS by tokio-rustls, HTTP/1.1 and HTTP/2 by hyper-util, and a
//! graceful shutdown that closes idle keep-alive connections at once and gives in-flight
//! requests a grace period.
//!
//! No client can hold the server: connections are capped (in all and per client address),
//! request heads must arrive within a deadline, a connection on which nothing moves for the
//! idle timeout is closed (an idle keep-alive, a half-sent head, a stalled upload alike), and
//! accept errors such as running out of file descriptors back off instead of spinning.

use std::collections::HashMap;
use std::net::{IpAddr, TcpListener as StdTcpListener};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tower_http::metrics::in_flight_requests::{InFlightRequests, InFlightRequestsCounter};

use crate::config::ConnectionLimits;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest pause of the accept loop after accept errors (e.g. out of file descriptors).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// At most one "accept failed" log line per this interval.
const ACCEPT_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` turns true, then drains for at most `grace`.
pub(crate) async fn serve_tls(
    listener: StdTcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    limits: ConnectionLimits,
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
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = PerAddress::new(limits.max_connections_per_ip);
    let builder = connection_builder(&limits);
    let mut accept_errors = AcceptErrors::default();
    loop {
        // At the cap, stop accepting: new clients wait in the listen backlog until a
        // connection closes, instead of being accepted and starved.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        let (tcp, peer) = match accepted {
            Ok(conn) => {
                accept_errors.reset();
                conn
            }
            Err(e) => {
                accept_errors.back_off(&e).await;
                continue;
            }
        };
        let Some(address_slot) = per_address.try_claim(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: too many from this address");
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        // The client's address, for handlers that need it (the token endpoint's limits).
        let service = TowerToHyperService::new(tower::Layer::layer(
            &axum::Extension(axum::extract::ConnectInfo(peer)),
            app.clone(),
        ));
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            let _slots: (OwnedSemaphorePermit, AddressSlot) = (slot, address_slot);
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            };
            let activity = Activity::new();
            let io = Tracked {
                inner: tls,
                activity: activity.clone(),
            };
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
            let connection = watcher.watch(connection.into_owned());
            tokio::select! {
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                () = activity.idle_for(idle_timeout) => {
                    tracing::debug!(%peer, "connection closed: nothing moved for {idle_timeout:?}");
                }
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

/// HTTP/1.1 and HTTP/2 settings, with hyper's timer so that its deadlines fire at all.
fn connection_builder(limits: &ConnectionLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Also bounds the wait for the next request on an idle keep-alive connection.
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    // No server PINGs: they would count as activity and keep an idle connection open past the
    // idle timeout, which also catches dead peers.
    builder
}

/// Resolves when the server is told to stop.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn no_request_in_flight(in_flight: &InFlightRequestsCounter) {
    while in_flight.get() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Accept failures in a row: each waits twice as long as the one before (up to
/// [`MAX_ACCEPT_BACKOFF`]), and the log says so at most once per [`ACCEPT_LOG_INTERVAL`].
#[derive(Default)]
struct AcceptErrors {
    in_a_row: u32,
    unlogged: u64,
    last_log: Option<Instant>,
}

impl AcceptErrors {
    async fn back_off(&mut self, error: &std::io::Error) {
        self.in_a_row = self.in_a_row.saturating_add(1);
        self.unlogged += 1;
        if self
            .last_log
            .is_none_or(|at| at.elapsed() >= ACCEPT_LOG_INTERVAL)
        {
            tracing::warn!(
                %error,
                failures = self.unlogged,
                "accept failed; pausing new connections (out of file descriptors? raise \
                 `ulimit -n` or lower [connections] max)"
            );
            self.unlogged = 0;
            self.last_log = Some(Instant::now());
        }
        let pause = Duration::from_millis(5)
            .saturating_mul(2u32.saturating_pow(self.in_a_row.min(16)))
            .min(MAX_ACCEPT_BACKOFF);
        tokio::time::sleep(pause).await;
    }

    fn reset(&mut self) {
        self.in_a_row = 0;
    }
}

/// Open connections per client address.
#[derive(Clone)]
struct PerAddress {
    limit: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's claim on its address's count, released on drop.
struct AddressSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: Arc::default(),
        }
    }

    fn try_claim(&self, ip: IpAddr) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            ip,
            open: self.open.clone(),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// When bytes last moved on a connection, in either direction.
#[derive(Clone)]
struct Activity {
    start: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
    }
}

/// An I/O stream that records activity.
struct Tracked<T> {
    inner: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
