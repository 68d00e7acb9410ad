//! Pull and promote: the designer's side of the release pipeline.

use relata::engine::validate_package;
use relata::model::{MetadataErrors, SourceFile};
use serde_json::Value;

use crate::client::{AdminClient, ClientError, Promotion};
use crate::merge::{by_path, three_way, Conflict, Files};
use crate::workspace::{new_state, Workspace, WorkspaceError};

/// Why a pull or promotion did not happen. Nothing changed on the live
/// runtime.
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// The workspace could not be read or written.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The package has errors (checked before anything is sent).
    #[error(transparent)]
    Invalid(MetadataErrors),
    /// The live runtime refused or could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The live release changed the same files as the workspace.
    #[error("{} file(s) changed both here and on the live release: {}", .0.len(), conflict_paths(.0))]
    Conflicts(Vec<Conflict>),
    /// The live runtime has no release to pull.
    #[error("{0} has no release yet")]
    NoRelease(String),
}

fn conflict_paths(c: &[Conflict]) -> String {
    c.iter().map(|c| c.path.as_str()).collect::<Vec<_>>().join(", ")
}

/// Creates a workspace in `dir` from the live release of `client`'s runtime.
pub async fn pull(dir: &std::path::Path, client: &AdminClient) -> Result<Workspace, PromoteError> {
    let live = client
        .live()
        .await?
        .ok_or_else(|| PromoteError::NoRelease(client.url().to_owned()))?;
    let files = client.release_files(live.number).await?;
    let state = new_state(Some(client.url().to_owned()), Some(live.number));
    Ok(Workspace::create(dir, &files, state)?)
}

/// Checks a package with the runtime's own validator: every error of every
/// file at once.
pub fn check(files: &[SourceFile]) -> Result<(), PromoteError> {
    validate_package(files).map(|_| ()).map_err(PromoteError::Invalid)
}

/// What a promotion did.
#[derive(Debug)]
pub struct Promoted {
    /// The new live release (`None`: the package was live already).
    pub release: Option<i64>,
    /// Files taken from the live release by the merge.
    pub merged_from_live: Vec<String>,
    /// The runtime's answer (plan and diff).
    pub answer: Value,
}

/// Promotes the workspace to the live runtime: validate, merge with a live
/// release that moved on, send, and record the new base.
pub async fn promote(
    ws: &mut Workspace,
    client: &AdminClient,
    comment: &str,
    confirm: &[String],
) -> Result<Promoted, PromoteError> {
    let mine = ws.files()?;
    check(&mine)?;
    let live = client.live().await?;
    let live_number = live.as_ref().map(|r| r.number);
    let (files, merged_from_live) = if live_number == ws.state.base_release || live_number.is_none() {
        (mine, Vec::new())
    } else {
        let theirs = match live_number {
            Some(n) => client.release_files(n).await?,
            None => Vec::new(),
        };
        let merged = three_way(&by_path(&ws.base_files()?), &by_path(&mine), &by_path(&theirs));
        if !merged.conflicts.is_empty() {
            return Err(PromoteError::Conflicts(merged.conflicts));
        }
        let files = to_files(&merged.files);
        check(&files)?;
        ws.replace_files(&files)?;
        (files, merged.from_live)
    };
    let answer = client
        .promote(&Promotion {
            files: &files,
            comment,
            base_release: live_number,
            confirm,
        })
        .await?;
    let release = answer["release"].as_i64();
    ws.set_base(release.or(live_number), &files)?;
    let mut state = ws.state.clone();
    state.live_url = Some(client.url().to_owned());
    ws.save_state(state)?;
    Ok(Promoted {
        release,
        merged_from_live,
        answer,
    })
}

fn to_files(files: &Files) -> Vec<SourceFile> {
    files
        .iter()
        .map(|(path, text)| SourceFile {
            path: path.clone(),
            text: text.clone(),
        })
        .collect()
}

/// How the workspace differs from its base, file by file.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// New files.
    pub added: Vec<String>,
    /// Files removed.
    pub removed: Vec<String>,
    /// Files changed.
    pub changed: Vec<String>,
}

/// The workspace's changes since its base release.
pub fn changes(ws: &Workspace) -> Result<Changes, PromoteError> {
    let base = by_path(&ws.base_files()?);
    let mine = by_path(&ws.files()?);
    let mut out = Changes::default();
    for (path, text) in &mine {
        match base.get(path) {
            None => out.added.push(path.clone()),
            Some(b) if b != text => out.changed.push(path.clone()),
            Some(_) => {}
        }
    }
    out.removed = base.keys().filter(|p| !mine.contains_key(*p)).cloned().collect();
    Ok(out)
}
