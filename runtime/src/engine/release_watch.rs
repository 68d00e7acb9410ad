//! Releases made by another process reach this one: `relata apply` or
//! `relata releases rollback` run against the databases of a running
//! server, or another node of a cluster promoting. Each node compares the
//! business model's live release (one single-row read) with the one it
//! serves, on PostgreSQL at once through `LISTEN relata_releases` (the
//! activating transaction sends a `NOTIFY`), and on every backend every
//! `every` as a fallback; when they differ it loads the live release. The
//! process that applied a release has built the tables already: loading
//! is compiling the model and swapping it in, as at start.

use std::sync::Arc;
use std::time::Duration;

use super::release::ApplyError;
use super::Engine;

impl Engine {
    /// Loads the live release if another process made a different one live
    /// since this engine loaded its own; `Ok(true)` when it did. Serialised
    /// with this node's releases and pick-list changes.
    pub async fn sync_release(&self) -> Result<bool, ApplyError> {
        if !self.release_moved().await? {
            return Ok(false);
        }
        let _one_at_a_time = self.applying.lock().await;
        // Read again under the lock: this node may have applied it meanwhile.
        let Some(number) = self.bm.active().await?.filter(|n| *n != self.model.load().release) else {
            return Ok(false);
        };
        let compiled = self.compile_release(number).await?;
        let lists = self.read_picklists(&compiled.model).await?;
        {
            // Requests in flight finish on the old model; new ones see the new
            // one. Connections that cached statements of the old tables retire.
            let _exclusive = self.gate.write().await;
            self.dbs.mark_schema_changed();
            self.model.store(Arc::new(compiled));
        }
        self.publish_picklists(lists);
        tracing::info!(release = number, "loaded a release another process made live");
        Ok(true)
    }

    /// Whether the business model's live release is not the one served.
    async fn release_moved(&self) -> Result<bool, ApplyError> {
        let live = self.bm.active().await?;
        Ok(live.is_some_and(|n| n != self.model.load().release))
    }

    /// Keeps this node on the live release: see the module documentation.
    /// Runs until the engine is dropped or its databases closed.
    pub fn watch_releases(self: &Arc<Self>, every: Duration) {
        let weak = Arc::downgrade(self);
        let bm = self.bm.clone();
        tokio::spawn(async move {
            let mut notices = match bm.listen().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for new releases; polling only");
                    None
                }
            };
            loop {
                let Some(engine) = weak.upgrade() else { return };
                if bm.is_closed() {
                    return;
                }
                if let Err(e) = engine.sync_release().await {
                    tracing::warn!(error = %e, "cannot load the release another process made live");
                }
                drop(engine);
                match notices.as_mut() {
                    Some(n) => {
                        tokio::select! {
                            got = n.next() => match got {
                                Ok(true) => {}
                                Ok(false) => return,
                                Err(e) => {
                                    tracing::warn!(error = %e, "release notices failed; polling until they come back");
                                    tokio::time::sleep(every).await;
                                }
                            },
                            () = tokio::time::sleep(every) => {}
                        }
                    }
                    None => tokio::time::sleep(every).await,
                }
            }
        });
    }
}
