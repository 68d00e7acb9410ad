//! The promotion client: the live runtime's `/admin/api/v1` API, with an
//! admin's API token.

use relata::model::SourceFile;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Why a call to the live runtime failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The runtime could not be reached.
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        /// The URL called.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The runtime refused: its status and error envelope.
    #[error("{} from {}: {}", .0.status, .0.url, .0.message)]
    Refused(Box<Refusal>),
    /// The answer was not the JSON expected.
    #[error("unexpected answer from {url}: {message}")]
    Unexpected {
        /// The URL called.
        url: String,
        /// What was wrong.
        message: String,
    },
}

/// What the runtime said when it refused.
#[derive(Debug)]
pub struct Refusal {
    /// The URL called.
    pub url: String,
    /// The status.
    pub status: StatusCode,
    /// The error's `code` (`stale_base`, `invalid_metadata`, ...).
    pub code: String,
    /// The error's message.
    pub message: String,
    /// The whole error body (metadata errors, unconfirmed steps ...).
    pub body: Value,
}

/// A release, as the runtime lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReleaseInfo {
    /// Its number.
    pub number: i64,
    /// Who made it.
    #[serde(default)]
    pub author: String,
    /// Why.
    #[serde(default)]
    pub comment: String,
    /// Its checksum.
    #[serde(default)]
    pub checksum: String,
    /// Whether it is the live one.
    #[serde(default)]
    pub active: bool,
    /// `applied`, `failed` or `pending`.
    #[serde(default)]
    pub status: String,
    /// Why it failed, for a failed release.
    #[serde(default)]
    pub failure: Option<String>,
    /// When it was made.
    #[serde(default)]
    pub created_at: String,
    /// The release that was live when it was made.
    #[serde(default)]
    pub parent: Option<i64>,
}

impl ReleaseInfo {
    /// Where its content comes from, for merges.
    pub fn lineage(&self) -> crate::merge::Lineage {
        crate::merge::Lineage {
            number: self.number,
            parent: self.parent,
            checksum: self.checksum.clone(),
            applied: self.status == "applied",
        }
    }
}

#[derive(Debug, Deserialize)]
struct ReleaseItems {
    items: Vec<ReleaseItem>,
}

#[derive(Debug, Deserialize)]
struct ReleaseItem {
    path: String,
    source: String,
}

#[derive(Debug, Serialize)]
struct FileBody<'a> {
    path: &'a str,
    text: &'a str,
}

/// A client of one live runtime.
#[derive(Debug, Clone)]
pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client of the runtime at `url` (`http://host:port`), signed in
    /// with an admin's API `token`.
    pub fn new(url: &str, token: &str) -> AdminClient {
        AdminClient {
            base: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// The runtime's URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let url = format!("{}/admin/api/v1{path}", self.base);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|source| ClientError::Unreachable {
            url: url.clone(),
            source,
        })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|source| ClientError::Unreachable {
            url: url.clone(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let error = &value["error"];
            return Err(ClientError::Refused(Box::new(Refusal {
                url,
                status,
                code: error["code"].as_str().unwrap_or_default().to_owned(),
                message: error["message"].as_str().map_or_else(|| text.clone(), str::to_owned),
                body: value,
            })));
        }
        Ok(value)
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, path: &str, value: Value) -> Result<T, ClientError> {
        serde_json::from_value(value).map_err(|e| ClientError::Unexpected {
            url: format!("{}/admin/api/v1{path}", self.base),
            message: e.to_string(),
        })
    }

    /// The releases, newest first.
    pub async fn releases(&self) -> Result<Vec<ReleaseInfo>, ClientError> {
        let v = self.call(reqwest::Method::GET, "/releases", None).await?;
        let list = v.get("data").cloned().unwrap_or(v);
        self.parse("/releases", list)
    }

    /// The live release, if any.
    pub async fn live(&self) -> Result<Option<ReleaseInfo>, ClientError> {
        Ok(self.releases().await?.into_iter().find(|r| r.active))
    }

    /// The files of release `number`.
    pub async fn release_files(&self, number: i64) -> Result<Vec<SourceFile>, ClientError> {
        let path = format!("/releases/{number}");
        let v = self.call(reqwest::Method::GET, &path, None).await?;
        let r: ReleaseItems = self.parse(&path, v)?;
        Ok(r.items
            .into_iter()
            .map(|i| SourceFile {
                path: i.path,
                text: i.source,
            })
            .collect())
    }

    /// What promoting `files` would change: item diff and schema plan.
    pub async fn plan(&self, files: &[SourceFile], base_release: Option<i64>) -> Result<Value, ClientError> {
        let body = json!({ "files": file_bodies(files), "base_release": base_release });
        self.call(reqwest::Method::POST, "/plan", Some(&body)).await
    }

    /// Makes release `number`'s items live again as a new release (the same
    /// pipeline and confirmation rule as a promotion).
    pub async fn rollback(&self, number: i64, comment: &str, confirm: &[String]) -> Result<Value, ClientError> {
        let body = json!({ "comment": comment, "confirm": confirm });
        let path = format!("/releases/{number}/rollback");
        self.call(reqwest::Method::POST, &path, Some(&body)).await
    }

    /// What rolling back to release `number` would do (a plan, as
    /// [`AdminClient::plan`] answers). Changes nothing.
    pub async fn rollback_plan(&self, number: i64) -> Result<Value, ClientError> {
        let path = format!("/releases/{number}/rollback?plan=true");
        self.call(reqwest::Method::POST, &path, Some(&json!({}))).await
    }

    /// Promotes `files` as the new live release.
    pub async fn promote(&self, req: &Promotion<'_>) -> Result<Value, ClientError> {
        let body = json!({
            "files": file_bodies(req.files),
            "comment": req.comment,
            "base_release": req.base_release,
            "confirm": req.confirm,
        });
        self.call(reqwest::Method::POST, "/promote", Some(&body)).await
    }
}

/// A promotion request.
#[derive(Debug, Clone)]
pub struct Promotion<'a> {
    /// The package.
    pub files: &'a [SourceFile],
    /// Why.
    pub comment: &'a str,
    /// The live release the package is based on.
    pub base_release: Option<i64>,
    /// The destructive steps the admin confirms.
    pub confirm: &'a [String],
}

fn file_bodies(files: &[SourceFile]) -> Vec<FileBody<'_>> {
    files
        .iter()
        .map(|f| FileBody {
            path: &f.path,
            text: &f.text,
        })
        .collect()
}
