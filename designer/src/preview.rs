//! Preview: the runtime on the workspace's offline sandbox (its own SQLite
//! databases under `.relata/sandbox/`), with the workspace's model applied
//! as the sandbox's newest release and sample data, so the analyst clicks
//! through the generated UI before anything reaches the live system.

use std::path::{Path, PathBuf};
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
    /// The sandbox's files could not be set aside or put back.
    #[error("the sandbox at {path}: {source}")]
    Files {
        /// The folder.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
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
///
/// All or nothing: when any step fails (a rule that throws while the
/// sample data is saved, say), the sandbox is put back as it was before,
/// so no half-loaded sandbox is left for the next preview to build on.
pub async fn open_sandbox(ws: &Workspace) -> Result<Sandbox, PreviewError> {
    let files = ws.files().map_err(PromoteError::from)?;
    check(&files)?;
    let dir = ws.sandbox_dir();
    let kept = SetAside::take(&dir)?;
    let config = Config::new(dir, None);
    let engine = match app::open(&config).await {
        Ok(engine) => engine,
        Err(e) => {
            kept.put_back()?;
            return Err(e.into());
        }
    };
    match prepare(&engine, files).await {
        Ok(sandbox) => {
            kept.discard();
            Ok(sandbox)
        }
        Err(e) => {
            engine.databases().close().await;
            drop(engine);
            kept.put_back()?;
            Err(e)
        }
    }
}

async fn prepare(engine: &Arc<Engine>, files: Vec<relata::model::SourceFile>) -> Result<Sandbox, PreviewError> {
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
        false => app::demo_on_first_start(engine, &NoProgress).await?,
    };
    let filled = crate::sample::fill_uncovered(engine).await?;
    Ok(Sandbox {
        engine: engine.clone(),
        applied,
        first_admin,
        sample,
        filled,
    })
}

/// A copy of the sandbox's folder taken before a preview changes it (the
/// sandbox is SQLite files and attachments, closed between previews).
struct SetAside {
    dir: PathBuf,
    copy: Option<PathBuf>,
}

impl SetAside {
    fn take(dir: &Path) -> Result<SetAside, PreviewError> {
        let copy = dir.with_extension("previous");
        let failed = |source| PreviewError::Files {
            path: copy.display().to_string(),
            source,
        };
        if copy.exists() {
            std::fs::remove_dir_all(&copy).map_err(failed)?;
        }
        let copy = match dir.exists() {
            true => {
                copy_dir(dir, &copy).map_err(failed)?;
                Some(copy)
            }
            false => None,
        };
        Ok(SetAside {
            dir: dir.to_owned(),
            copy,
        })
    }

    /// Puts the sandbox back as it was (removes it when there was none).
    fn put_back(self) -> Result<(), PreviewError> {
        let failed = |source| PreviewError::Files {
            path: self.dir.display().to_string(),
            source,
        };
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir).map_err(failed)?;
        }
        if let Some(copy) = &self.copy {
            std::fs::rename(copy, &self.dir).map_err(failed)?;
        }
        Ok(())
    }

    fn discard(self) {
        if let Some(copy) = &self.copy {
            if let Err(e) = std::fs::remove_dir_all(copy) {
                tracing::warn!(path = %copy.display(), error = %e, "the sandbox's previous copy is left behind");
            }
        }
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
