//! Pull and promote: the designer's side of the release pipeline.

use relata::engine::validate_package;
use relata::model::{MetadataErrors, SourceFile};
use serde_json::Value;

use crate::client::{AdminClient, ClientError, Promotion, ReleaseInfo};
use crate::merge::{by_path, merge_base, three_way, Conflict, Files, Lineage};
use crate::plan::Plan;
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
    /// A conflict to settle was named, but the file merges (or the live
    /// release is the workspace's base).
    #[error("{0} is not in conflict with the live release: nothing to resolve")]
    NoConflict(String),
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
    /// Files taken from the live release by the merge, each with why.
    pub merged_from_live: Vec<String>,
    /// Notes on the merge (a rollback merged against the release it restored).
    pub notes: Vec<String>,
    /// The runtime's answer (plan and diff).
    pub answer: Value,
}

/// The package to send: the workspace's, merged with the live release when
/// that moved on since the workspace's base. Writes nothing.
struct Prepared {
    files: Vec<SourceFile>,
    live: Option<i64>,
    merged_from_live: Vec<String>,
    notes: Vec<String>,
}

/// What a three-way merge with the live release starts from.
pub struct MergeInputs {
    /// The live release.
    pub live: i64,
    /// The release both sides descend from (`None`: none in common).
    pub base: Option<i64>,
    /// Its files (the workspace's recorded base when it is the workspace's
    /// base release, so settled conflicts count; empty for `None`).
    pub base_files: Vec<SourceFile>,
    /// The live release's files.
    pub theirs: Vec<SourceFile>,
    /// Notes for the analyst on how the base was chosen.
    pub notes: Vec<String>,
}

/// The inputs of a merge with the live release, `None` when the live
/// release is the workspace's base (nothing to merge). The merge base is
/// the nearest release both descend from: after a rollback that is the
/// release rolled back to, not the workspace's base (which the rollback
/// undid), so the workspace's changes are kept, never taken for changes the
/// live release reverted.
pub async fn merge_inputs(ws: &Workspace, client: &AdminClient) -> Result<Option<MergeInputs>, PromoteError> {
    let releases = client.releases().await?;
    let Some(live) = releases.iter().find(|r| r.active).map(|r| r.number) else {
        return Ok(None);
    };
    if Some(live) == ws.state.base_release {
        return Ok(None);
    }
    let lineage: Vec<Lineage> = releases.iter().map(ReleaseInfo::lineage).collect();
    let base = merge_base(&lineage, ws.state.base_release, live);
    let mut notes = Vec::new();
    let base_files = match (base, ws.state.base_release) {
        (Some(b), Some(own)) if b == own => ws.base_files()?,
        (Some(b), own) => {
            notes.push(format!(
                "the live release {live} does not descend from this workspace's base release {} (a rollback undid it): \
                 merged from release {b}, which both descend from, so the workspace's changes since then are kept",
                own.map_or_else(|| "-".to_owned(), |n| n.to_string())
            ));
            client.release_files(b).await?
        }
        (None, Some(own)) => {
            notes.push(format!(
                "the live runtime has no release this workspace's base release {own} descends from: \
                 every file that differs from the live release is a conflict"
            ));
            Vec::new()
        }
        // A new application: its base is the package it was created from.
        (None, None) => ws.base_files()?,
    };
    let theirs = client.release_files(live).await?;
    Ok(Some(MergeInputs {
        live,
        base,
        base_files,
        theirs,
        notes,
    }))
}

/// Why a file was taken from the live release, in words.
fn why_taken(path: &str, inputs: &MergeInputs) -> String {
    let has = |files: &[SourceFile]| files.iter().any(|f| f.path == path);
    let since = inputs.base.map_or_else(String::new, |b| format!(" since release {b}"));
    let what = match (has(&inputs.base_files), has(&inputs.theirs)) {
        (false, _) => "added",
        (true, false) => "removed",
        (true, true) => "changed",
    };
    format!(
        "{path} ({what} on the live release {}{since}; unchanged in the workspace)",
        inputs.live
    )
}

async fn prepare(ws: &Workspace, client: &AdminClient) -> Result<Prepared, PromoteError> {
    let mine = ws.files()?;
    check(&mine)?;
    let Some(inputs) = merge_inputs(ws, client).await? else {
        return Ok(Prepared {
            files: mine,
            live: client.live().await?.map(|r| r.number),
            merged_from_live: Vec::new(),
            notes: Vec::new(),
        });
    };
    let merged = three_way(&by_path(&inputs.base_files), &by_path(&mine), &by_path(&inputs.theirs));
    if !merged.conflicts.is_empty() {
        return Err(PromoteError::Conflicts(merged.conflicts));
    }
    let files = to_files(&merged.files);
    check(&files)?;
    Ok(Prepared {
        files,
        live: Some(inputs.live),
        merged_from_live: merged.from_live.iter().map(|p| why_taken(p, &inputs)).collect(),
        notes: inputs.notes,
    })
}

/// What promoting the workspace would do on the live runtime (item diff,
/// schema plan with its destructive steps and the rows they touch), after
/// the same merge a promotion makes. Changes nothing, here or there.
pub async fn plan(ws: &Workspace, client: &AdminClient) -> Result<(Plan, Vec<String>), PromoteError> {
    let p = prepare(ws, client).await?;
    let answer = client.plan(&p.files, p.live).await?;
    let plan = parse_plan(client, answer)?;
    let mut merged = p.notes;
    merged.extend(p.merged_from_live);
    Ok((plan, merged))
}

/// A plan as the runtime answered it.
pub fn parse_plan(client: &AdminClient, answer: Value) -> Result<Plan, PromoteError> {
    serde_json::from_value(answer).map_err(|e| {
        PromoteError::Client(ClientError::Unexpected {
            url: client.url().to_owned(),
            message: format!("a plan: {e}"),
        })
    })
}

/// What rolling the live runtime back to release `number` would do.
pub async fn plan_rollback(client: &AdminClient, number: i64) -> Result<Plan, PromoteError> {
    let answer = client.rollback_plan(number).await?;
    parse_plan(client, answer)
}

/// Promotes the workspace to the live runtime: validate, merge with a live
/// release that moved on, send, and record the new base.
pub async fn promote(
    ws: &mut Workspace,
    client: &AdminClient,
    comment: &str,
    confirm: &[String],
) -> Result<Promoted, PromoteError> {
    let Prepared {
        files,
        live,
        merged_from_live,
        notes,
    } = prepare(ws, client).await?;
    if !merged_from_live.is_empty() {
        ws.replace_files(&files)?;
    }
    let answer = client
        .promote(&Promotion {
            files: &files,
            comment,
            base_release: live,
            confirm,
        })
        .await?;
    let release = answer["release"].as_i64();
    ws.set_base(release.or(live), &files)?;
    let mut state = ws.state.clone();
    state.live_url = Some(client.url().to_owned());
    ws.save_state(state)?;
    Ok(Promoted {
        release,
        merged_from_live,
        notes,
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
