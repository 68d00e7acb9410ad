//! A load generator for tests of changes made while the runtime serves:
//! contacts created one after another through the API the whole time.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::TestApp;

/// What the load generator saw.
#[derive(Debug)]
pub struct Load {
    /// Contacts created.
    pub written: usize,
    /// Each failed request: status and body.
    pub failed: Vec<String>,
}

/// Runs `during` while contacts are being created (from 200 ms before it
/// until 200 ms after it); its output and what the load saw.
pub async fn under_contact_load<T>(app: &TestApp, during: impl Future<Output = T>) -> anyhow::Result<(T, Load)> {
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_contacts(
        app.client.clone(),
        app.url("/api/v1/records/contact"),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let out = during.await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let load = writer.await??;
    Ok((out, load))
}

async fn write_contacts(client: reqwest::Client, url: String, stop: Arc<AtomicBool>) -> anyhow::Result<Load> {
    let mut load = Load {
        written: 0,
        failed: Vec::new(),
    };
    while !stop.load(Ordering::Relaxed) {
        let body = json!({"full_name": format!("Load {}", load.written), "city": "Hangzhou"});
        let r = client.post(&url).json(&body).send().await?;
        match r.status() {
            StatusCode::CREATED => load.written += 1,
            s => load.failed.push(format!("{s}: {}", r.text().await.unwrap_or_default())),
        }
    }
    Ok(load)
}
