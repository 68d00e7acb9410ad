//! A designer workspace: a folder an analyst keeps in git.
//!
//! ```text
//! DIR/metadata/...        the package's YAML, one item per file (as metadata/ of the repository)
//! DIR/scripts/...         its Rhai scripts
//! DIR/.relata/workspace.json   where it came from: the live runtime and the base release
//! DIR/.relata/base.json        the base release's files, for three-way merges
//! DIR/.relata/sandbox/         the offline sandbox's databases (not for git)
//! ```

use std::path::{Component, Path, PathBuf};

use relata::model::{read_package, SourceFile, SCRIPTS_DIR};
use serde::{Deserialize, Serialize};

/// The folder of the workspace's own state.
const STATE_DIR: &str = ".relata";
/// The version of `workspace.json` this designer writes and reads.
const STATE_VERSION: u32 = 1;

/// Why a workspace could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The folder is not a workspace.
    #[error(
        "{0} is not a Relata workspace (no .relata/workspace.json); create one with `relata-designer new` or `pull`"
    )]
    NotAWorkspace(PathBuf),
    /// The folder already is one.
    #[error("{0} already holds a workspace")]
    Exists(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The workspace state is not valid JSON of the expected shape.
    #[error("{path}: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file's path would leave the workspace.
    #[error("`{0}` is not a package path (expected a relative path inside the package)")]
    BadPath(String),
    /// The package's files could not be read.
    #[error(transparent)]
    Package(#[from] relata::model::MetadataErrors),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WorkspaceError + '_ {
    move |source| WorkspaceError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Where the workspace came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// The format version of this file.
    pub version: u32,
    /// The live runtime it was pulled from or last promoted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_url: Option<String>,
    /// The live release the workspace's changes are based on (`None`: a new
    /// application, never promoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_release: Option<i64>,
}

/// An open workspace.
#[derive(Debug)]
pub struct Workspace {
    root: PathBuf,
    /// Its state.
    pub state: State,
}

impl Workspace {
    /// Creates a workspace in `dir` (created if missing) holding `files`,
    /// based on `state`.
    pub fn create(dir: &Path, files: &[SourceFile], state: State) -> Result<Workspace, WorkspaceError> {
        if dir.join(STATE_DIR).join("workspace.json").exists() {
            return Err(WorkspaceError::Exists(dir.to_owned()));
        }
        let mut ws = Workspace {
            root: dir.to_owned(),
            state,
        };
        std::fs::create_dir_all(ws.metadata_dir()).map_err(io(dir))?;
        let sandbox = dir.join(STATE_DIR).join("sandbox");
        std::fs::create_dir_all(&sandbox).map_err(io(&sandbox))?;
        let ignore = dir.join(STATE_DIR).join(".gitignore");
        std::fs::write(&ignore, "sandbox/\n").map_err(io(&ignore))?;
        ws.replace_files(files)?;
        ws.set_base(ws.state.base_release, files)?;
        Ok(ws)
    }

    /// Opens the workspace in `dir`.
    pub fn open(dir: &Path) -> Result<Workspace, WorkspaceError> {
        let path = dir.join(STATE_DIR).join("workspace.json");
        if !path.is_file() {
            return Err(WorkspaceError::NotAWorkspace(dir.to_owned()));
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let state: State = serde_json::from_str(&text).map_err(|e| WorkspaceError::State {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if state.version != STATE_VERSION {
            return Err(WorkspaceError::State {
                path,
                message: format!("version {} is not supported (expected {STATE_VERSION})", state.version),
            });
        }
        Ok(Workspace {
            root: dir.to_owned(),
            state,
        })
    }

    /// The workspace folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the YAML items are.
    pub fn metadata_dir(&self) -> PathBuf {
        self.root.join("metadata")
    }

    /// Where the offline sandbox keeps its databases.
    pub fn sandbox_dir(&self) -> PathBuf {
        self.root.join(STATE_DIR).join("sandbox")
    }

    /// The package as it is in the workspace now (YAML and scripts).
    pub fn files(&self) -> Result<Vec<SourceFile>, WorkspaceError> {
        let scripts = self.root.join(SCRIPTS_DIR);
        let scripts = scripts.is_dir().then_some(scripts);
        Ok(read_package(&self.metadata_dir(), scripts.as_deref())?)
    }

    /// The files of the base release, as pulled (empty for a new application).
    pub fn base_files(&self) -> Result<Vec<SourceFile>, WorkspaceError> {
        let path = self.root.join(STATE_DIR).join("base.json");
        if !path.is_file() {
            return Ok(Vec::new());
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let files: Vec<StoredFile> = serde_json::from_str(&text).map_err(|e| WorkspaceError::State {
            path,
            message: e.to_string(),
        })?;
        Ok(files
            .into_iter()
            .map(|f| SourceFile {
                path: f.path,
                text: f.text,
            })
            .collect())
    }

    /// Records `files` as the base release `number` (after a pull or a
    /// promotion) and saves the state.
    pub fn set_base(&mut self, number: Option<i64>, files: &[SourceFile]) -> Result<(), WorkspaceError> {
        let stored: Vec<StoredFile> = files
            .iter()
            .map(|f| StoredFile {
                path: f.path.clone(),
                text: f.text.clone(),
            })
            .collect();
        let path = self.root.join(STATE_DIR).join("base.json");
        write_json(&path, &stored)?;
        let state = State {
            base_release: number,
            ..self.state.clone()
        };
        self.save_state(state)
    }

    /// Sets the base text of one file (`None`: not in the base), keeping the
    /// base release's number: how a settled conflict is remembered, so the
    /// next merge sees the live text as the file's starting point.
    pub fn set_base_file(&mut self, path: &str, text: Option<&str>) -> Result<(), WorkspaceError> {
        let mut files = self.base_files()?;
        files.retain(|f| f.path != path);
        if let Some(text) = text {
            files.push(SourceFile {
                path: path.to_owned(),
                text: text.to_owned(),
            });
            files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        self.set_base(self.state.base_release, &files)
    }

    /// Saves the state (the live URL after a pull or promotion).
    pub fn save_state(&mut self, state: State) -> Result<(), WorkspaceError> {
        write_json(&self.root.join(STATE_DIR).join("workspace.json"), &state)?;
        self.state = state;
        Ok(())
    }

    /// Makes the workspace's package exactly `files`: writes each, and
    /// removes the package files (YAML, scripts) that are not among them.
    pub fn replace_files(&self, files: &[SourceFile]) -> Result<(), WorkspaceError> {
        let mut targets = Vec::with_capacity(files.len());
        for f in files {
            targets.push((self.location(&f.path)?, &f.text));
        }
        for old in self.files()? {
            let at = self.location(&old.path)?;
            if !targets.iter().any(|(p, _)| *p == at) {
                std::fs::remove_file(&at).map_err(io(&at))?;
            }
        }
        for (at, text) in targets {
            if let Some(parent) = at.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::write(&at, text).map_err(io(&at))?;
        }
        Ok(())
    }

    /// Writes one package file (`sales/lead.yaml`, `scripts/lead.rhai`),
    /// creating its folder: the text goes to a temporary file beside it,
    /// renamed over the old one, so a failed write leaves the old file whole.
    pub fn write_file(&self, path: &str, text: &str) -> Result<(), WorkspaceError> {
        let at = self.location(path)?;
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut tmp = at.clone().into_os_string();
        tmp.push(".designer-tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, text).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &at).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            WorkspaceError::Io {
                path: at.clone(),
                source: e,
            }
        })
    }

    /// Removes one package file.
    pub fn remove_file(&self, path: &str) -> Result<(), WorkspaceError> {
        let at = self.location(path)?;
        std::fs::remove_file(&at).map_err(io(&at))
    }

    /// Whether a package file exists (`false` for a path outside the package).
    pub fn has_file(&self, path: &str) -> bool {
        self.location(path).is_ok_and(|p| p.exists())
    }

    /// Where a package path lives: `scripts/x.rhai` in the scripts folder,
    /// anything else under `metadata/`. Refuses paths that would leave it.
    fn location(&self, path: &str) -> Result<PathBuf, WorkspaceError> {
        let rel = Path::new(path);
        let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
        if path.is_empty() || !plain {
            return Err(WorkspaceError::BadPath(path.to_owned()));
        }
        Ok(match rel.strip_prefix(SCRIPTS_DIR) {
            Ok(rest) if !rest.as_os_str().is_empty() => self.root.join(SCRIPTS_DIR).join(rest),
            _ => self.metadata_dir().join(rel),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredFile {
    path: String,
    text: String,
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), WorkspaceError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| WorkspaceError::State {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    std::fs::write(path, text + "\n").map_err(io(path))
}

/// A new workspace's state.
pub fn new_state(live_url: Option<String>, base_release: Option<i64>) -> State {
    State {
        version: STATE_VERSION,
        live_url,
        base_release,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    #[test]
    fn files_round_trip_and_removed_files_go() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let files = vec![
            file("sales/deal.yaml", "version: 1\n"),
            file("scripts/deal.rhai", "fn f() {}\n"),
        ];
        let ws = Workspace::create(dir.path(), &files, new_state(None, Some(3)))?;
        assert!(dir.path().join("metadata/sales/deal.yaml").is_file());
        assert!(dir.path().join("scripts/deal.rhai").is_file());
        let read: Vec<(String, String)> = ws.files()?.into_iter().map(|f| (f.path, f.text)).collect();
        assert_eq!(
            read,
            [
                ("sales/deal.yaml".to_owned(), "version: 1\n".to_owned()),
                ("scripts/deal.rhai".to_owned(), "fn f() {}\n".to_owned())
            ]
        );
        let again = Workspace::open(dir.path())?;
        assert_eq!(again.state.base_release, Some(3));
        assert_eq!(again.base_files()?.len(), 2);
        again.replace_files(&[file("sales/deal.yaml", "version: 1\n# changed\n")])?;
        assert!(
            !dir.path().join("scripts/deal.rhai").exists(),
            "a file not in the package is removed"
        );
        assert_eq!(again.files()?.len(), 1);
        Ok(())
    }

    #[test]
    fn paths_that_leave_the_workspace_are_refused() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let ws = Workspace::create(dir.path(), &[], new_state(None, None))?;
        for bad in ["../x.yaml", "/etc/x.yaml", "a/../../x.yaml", ""] {
            let err = ws.replace_files(&[file(bad, "x")]);
            assert!(
                matches!(err, Err(WorkspaceError::BadPath(ref p)) if p == bad),
                "{bad}: {err:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn a_folder_without_state_is_not_a_workspace() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let err = Workspace::open(dir.path());
        assert!(matches!(err, Err(WorkspaceError::NotAWorkspace(_))), "{err:?}");
        Ok(())
    }
}
