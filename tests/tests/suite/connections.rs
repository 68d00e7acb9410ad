//! Bounds on client connections: a client that sends half a request head
//! is cut off after the header read timeout, and no more connections than
//! the cap are served at once (the next one is served once one closes).
//! The HTTP edge is the same on both backends: these run on SQLite.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use relata_tests::{TestApp, TestBackend};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HALF_HEAD: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: relata\r\nX-Slow: ";
const WHOLE_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: relata\r\nConnection: close\r\n\r\n";

async fn app(header_read_timeout: Duration, max_connections: usize) -> Result<TestApp> {
    TestApp::spawn_with(TestBackend::Sqlite, None, |c| {
        c.connections.header_read_timeout = header_read_timeout;
        c.connections.max_connections = max_connections;
    })
    .await?
    .context("SQLite is never skipped")
}

fn addr(app: &TestApp) -> &str {
    app.base.trim_start_matches("http://")
}

/// Opens a connection and sends half a request head.
async fn half_sent(app: &TestApp) -> Result<TcpStream> {
    let mut s = TcpStream::connect(addr(app)).await?;
    s.write_all(HALF_HEAD).await?;
    Ok(s)
}

/// Reads until the server closes the connection; what it sent.
async fn read_to_close(s: &mut TcpStream) -> Result<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return Ok(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_head_is_cut_off() -> Result<()> {
    let timeout = Duration::from_millis(500);
    let app = app(timeout, 64).await?;
    let started = Instant::now();
    let mut slow = half_sent(&app).await?;
    // A margin for a busy machine; without the timeout it never ends.
    let answer = tokio::time::timeout(timeout + Duration::from_secs(10), read_to_close(&mut slow))
        .await
        .context("the half-sent request's connection was still open 10 s after the header read timeout")??;
    ensure!(
        started.elapsed() >= timeout,
        "closed after {:?}, before the timeout",
        started.elapsed()
    );
    ensure!(!answer.contains("200 OK"), "a half-sent request was answered: {answer}");

    // A whole request on a new connection is served as usual.
    let mut s = TcpStream::connect(addr(&app)).await?;
    s.write_all(WHOLE_REQUEST).await?;
    let answer = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut s)).await??;
    ensure!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_connections_than_the_cap_are_served() -> Result<()> {
    const CAP: usize = 4;
    // A long header timeout: the slow clients hold their slots.
    let app = app(Duration::from_secs(60), CAP).await?;
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(half_sent(&app).await?);
    }
    // The connection over the cap is not served while the others hold
    // every slot ...
    let mut next = TcpStream::connect(addr(&app)).await?;
    next.write_all(WHOLE_REQUEST).await?;
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(700), next.read(&mut buf)).await;
    ensure!(
        early.is_err(),
        "a connection over the cap was served (or closed): {early:?}"
    );
    // ... and is served as soon as one of them goes.
    drop(held.pop());
    let answer = tokio::time::timeout(Duration::from_secs(10), read_to_close(&mut next))
        .await
        .context("the waiting connection was not served after a slot freed")??;
    ensure!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Still serving after the slow clients go.
    drop(held);
    let r = app.anonymous()?.get(app.url("/healthz")).send().await?;
    ensure!(r.status() == reqwest::StatusCode::OK, "{}", r.status());
    Ok(())
}
