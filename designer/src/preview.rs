//! Preview: the runtime on the workspace's offline sandbox (its own SQLite
//! databases under `.relata/sandbox/`), with the workspace's model applied
//! as the sandbox's newest release and sample data, so the analyst clicks
//! through the generated UI before anything reaches the live system.

use std::sync::Arc;

use relata::app::{self, AppError, Config};
use relata::engine::auth::FirstAdmin;
use relata::engine::demo::{DemoReport, NoProgress};
use relata::engine::{ApplyOutcome, ApplyRequest, Engine};

use crate::promote::{check, PromoteError};
use crate::workspace::Workspace;

/// Why the sandbox could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The workspace or its package is not usable.
    #[error(transparent)]
    Package(#[from] PromoteError),
    /// The sandbox runtime failed.
    #[error(transparent)]
    Runtime(#[from] AppError),
    /// Reading the sandbox's records for sample data failed.
    #[error(transparent)]
    Sample(#[from] relata::engine::EngineError),
}

/// A sandbox ready to serve.
pub struct Sandbox {
    /// Its engine.
    pub engine: Arc<Engine>,
    /// What applying the workspace's model did (`unchanged` when it was
    /// the sandbox's release already).
    pub applied: ApplyOutcome,
    /// The sandbox's administrator, when it was created just now.
    pub first_admin: Option<FirstAdmin>,
    /// The sample data loaded, when the sandbox had none.
    pub sample: Option<DemoReport>,
    /// Entities no `demo` item covers that got a few sample records now.
    pub filled: Vec<String>,
}

/// Opens the workspace's sandbox and brings it to the workspace's model:
/// the package is checked, applied as a new sandbox release (the same
/// pipeline as a promotion: archived, never dropped, data kept), and
/// sample data is loaded into entities that have none yet.
pub async fn open_sandbox(ws: &Workspace) -> Result<Sandbox, PreviewError> {
    let files = ws.files().map_err(PromoteError::from)?;
    check(&files)?;
    let config = Config::new(ws.sandbox_dir(), None);
    let engine = app::open(&config).await?;
    let applied = engine
        .apply(ApplyRequest {
            files,
            author: "designer".into(),
            comment: "preview of the workspace".into(),
            plan_only: false,
        })
        .await
        .map_err(AppError::from)?;
    let first_admin = engine.auth().ensure_first_admin(None).await.map_err(AppError::from)?;
    let sample = match engine.model().model.demos.is_empty() {
        true => None,
        false => app::demo_on_first_start(&engine, &NoProgress).await?,
    };
    let filled = crate::sample::fill_uncovered(&engine).await?;
    Ok(Sandbox {
        engine,
        applied,
        first_admin,
        sample,
        filled,
    })
}
