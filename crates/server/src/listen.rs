//! Serving connections from untrusted clients: HTTP/1.1 over TCP with a
//! deadline for every request head (which also closes idle keep-alive
//! connections), an idle timeout on request bodies, and a cap on open
//! connections that stops accepting new ones while established ones keep
//! being served.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use futures_util::FutureExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// What a client connection may cost the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest wait for a complete request head, counted from the moment
    /// the connection opens or its previous answer ends: slow or half-sent
    /// headers and idle keep-alive connections are closed after it.
    pub header_timeout: Duration,
    /// Longest silence inside a request body.
    pub body_idle_timeout: Duration,
    /// Connections served at once; beyond it new connections wait in the
    /// kernel's backlog until one closes.
    pub max_connections: usize,
}

/// 15 s: longer than the keep-alive expiry of common client pools (httpx
/// and Node keep idle connections 5 s), far below the 75 s a silent
/// connection could hold a slot before.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// 30 s between two pieces of a request body: a client on a slow link
/// sends far more often; one that stopped has left.
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Used when the open-file limit cannot be read.
const FALLBACK_MAX_CONNECTIONS: usize = 1024;
/// Files kept open besides client connections: databases, logs, the pool.
const RESERVED_FILES: u64 = 64;
/// After a failed accept (the open-file limit reached), the next one waits
/// this long instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            max_connections: default_max_connections(),
        }
    }
}

/// Half of the open files the process may hold beyond a reserve (a client
/// connection may hold an upstream connection too), so that the cap, not
/// the file limit, is what a connection flood meets.
pub fn default_max_connections() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| open_files_limit(&text));
    match soft {
        Some(n) => usize::try_from(n.saturating_sub(RESERVED_FILES) / 2)
            .unwrap_or(usize::MAX)
            .clamp(16, 65_536),
        None => FALLBACK_MAX_CONNECTIONS,
    }
}

/// The soft "Max open files" of a `/proc/<pid>/limits` text.
fn open_files_limit(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next()?;
    match soft {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    }
}

/// Accepts and serves connections until `shutdown` completes, then stops
/// accepting (serving what the kernel had already accepted) and waits for
/// every open connection to finish its answer.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let server = Server {
        http,
        router,
        body_idle: limits.body_idle_timeout,
        stopping: tokio::sync::watch::Sender::new(false),
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        server.spawn(tcp, peer, slot);
    }
    server.stopping.send_replace(true);
    // Connections the kernel completed before the stop are served too:
    // their clients have sent requests the gateway owes an answer (and an
    // event). The backlog bounds this loop.
    while let Ok(slot) = slots.clone().try_acquire_owned() {
        match listener.accept().now_or_never() {
            Some(Ok((tcp, peer))) => server.spawn(tcp, peer, slot),
            _ => break,
        }
    }
    drop(listener);
    // Every connection task holds a receiver: closed when all have ended.
    server.stopping.closed().await;
    Ok(())
}

/// What every connection task shares.
struct Server {
    http: hyper::server::conn::http1::Builder,
    router: Router,
    body_idle: Duration,
    /// Becomes `true` when the server stops.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Server {
    fn spawn(&self, tcp: TcpStream, peer: SocketAddr, slot: OwnedSemaphorePermit) {
        // Responses and stream chunks go out as soon as they are written,
        // not held back by Nagle's algorithm waiting for the client's ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let router = self.router.clone();
        let body_idle = self.body_idle;
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(|body| Body::new(TimeoutBody::new(body_idle, body)));
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = self.http.serve_connection(TokioIo::new(tcp), service);
        let mut stopping = self.stopping.subscribe();
        tokio::spawn(async move {
            tokio::pin!(connection);
            // The connection is polled first, so a request already sent is
            // read before a stop closes connections that are idle.
            let ended = tokio::select! {
                biased;
                ended = connection.as_mut() => Some(ended),
                _ = stopping.wait_for(|stop| *stop) => None,
            };
            let ended = match ended {
                Some(ended) => ended,
                None => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "connection closed with an error");
            }
            drop(slot);
            drop(stopping);
        });
    }
}

/// Whether a request body failed because the client fell silent (the idle
/// timeout of [`ConnectionLimits::body_idle_timeout`]).
pub fn is_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_soft_open_files_limit() {
        let text = "Limit                     Soft Limit           Hard Limit           Units\n\
                    Max cpu time              unlimited            unlimited            seconds\n\
                    Max open files            1024                 524288               files\n";
        assert_eq!(open_files_limit(text), Some(1024));
        let unlimited = "Max open files            unlimited            unlimited            files\n";
        assert_eq!(open_files_limit(unlimited), Some(u64::MAX));
        assert_eq!(open_files_limit("Max processes 10 10\n"), None);
    }
}
