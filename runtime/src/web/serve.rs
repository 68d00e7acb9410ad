//! Serving connections: the router on each accepted HTTP/1.1 connection,
//! with a bound on how long a client may take to send a request head and
//! on how many connections are open at once.
//!
//! `axum::serve` sets neither (hyper's header read timeout needs a timer,
//! which it does not give), so a client that opens connections and sends
//! half a request head each could hold them, and the server's memory and
//! file descriptors, for ever. The loop here is `axum::serve`'s, with
//! hyper's own `header_read_timeout` and a semaphore around `accept`.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The default [`ConnectionLimits::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`ConnectionLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Bounds on the connections clients open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client has to send a whole request head (request line
    /// and headers), counted from when the server is ready to read it: on
    /// a kept-alive connection, from the end of the previous response. The
    /// connection is closed when it runs out. Bodies are not covered (an
    /// upload may take long).
    pub header_read_timeout: Duration,
    /// The most connections served at once. Further ones are not accepted
    /// until one closes: they wait in the listen backlog (the kernel's
    /// queue), and are served in turn.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops
/// accepting and waits for the connections open to finish their requests.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut shutdown = pin!(shutdown);
    loop {
        // A slot before `accept`: over the cap, new connections stay in
        // the backlog rather than being accepted and left unserved.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break }; // never closed
        let (stream, peer) = tokio::select! {
            // Retries by itself on errors (too many open files: after a pause).
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // A client that went away or ran out of time: nothing to
                // report above debug level.
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
