//! Attachments: the files of `attachment` fields. Upload (checked for size
//! and type while it streams to the file store), list, download, delete.
//!
//! Consistency: the file is written (and flushed) first, then its row is
//! inserted; if the row cannot be inserted, the file is removed. A row thus
//! never points to a missing file, and a file without a row is at worst an
//! orphan a purge can collect. Deleting marks the row deleted and keeps the
//! file (recycle-bin semantics); moving a record to the recycle bin leaves
//! its files as they are, so restoring it brings them back.

use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::compiled::CompiledEntity;
use super::openapi::API_BASE;
use super::Engine;
use crate::model::FieldDef;
use crate::store::ed::attachments::{AttachedFile, AttachmentRow};
use crate::store::files::{BoxFuture, ChunkSource, FileError, SourceStopped, StoredFile};
use crate::store::StoreError;

/// Where attachment files go and the server's own size ceiling, from the
/// configuration.
#[derive(Debug, Clone)]
pub struct AttachmentSettings {
    /// The directory of the file store (`<data-dir>/attachments` by default).
    pub dir: PathBuf,
    /// No file is ever accepted above this many bytes, whatever the metadata says.
    pub max_bytes: u64,
}

impl AttachmentSettings {
    /// The default ceiling: 100 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

    /// Files under `data_dir/attachments`, with the default ceiling.
    pub fn under(data_dir: &std::path::Path) -> Self {
        AttachmentSettings {
            dir: data_dir.join("attachments"),
            max_bytes: Self::DEFAULT_MAX_BYTES,
        }
    }
}

/// What an upload or a download was refused for.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// No entity of that name.
    #[error("unknown entity `{0}`")]
    UnknownEntity(String),
    /// No live record with that id.
    #[error("no {entity} with id {id}")]
    RecordNotFound {
        /// The entity.
        entity: String,
        /// The id asked for.
        id: String,
    },
    /// The entity has no attachment field of that name.
    #[error("{entity} has no attachment field `{field}`")]
    UnknownField {
        /// The entity.
        entity: String,
        /// The field asked for.
        field: String,
    },
    /// No live attachment with that id.
    #[error("no attachment with id {0}")]
    NotFound(String),
    /// The file is larger than the field (or the server) allows.
    #[error("the file is larger than {}, the limit of {field}", format_size(*.limit))]
    TooLarge {
        /// `entity.field`.
        field: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file's type is not among the field's types.
    #[error("{field} accepts {}; this file is {found}", .allowed.join(", "))]
    TypeRefused {
        /// `entity.field`.
        field: String,
        /// The type found (sniffed from the bytes, else as declared).
        found: String,
        /// The accepted types.
        allowed: Vec<String>,
    },
    /// The declared type claims a format the bytes do not have.
    #[error("the file was sent as {declared} but its content is not")]
    TypeMismatch {
        /// The type the client declared.
        declared: String,
    },
    /// An empty file, or no file at all.
    #[error("the file is empty; choose a file to upload")]
    Empty,
    /// The upload itself broke off or was malformed.
    #[error("the upload could not be read: {0}")]
    Upload(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file store failed.
    #[error(transparent)]
    Files(#[from] FileError),
}

/// A stored file as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachmentInfo {
    /// Id.
    pub id: Uuid,
    /// The attachment field.
    pub field: String,
    /// The file's name.
    pub file_name: String,
    /// The media type it is served with.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// When it was uploaded (RFC 3339, UTC).
    pub created_at: String,
    /// Where to download it.
    pub url: String,
}

impl AttachmentInfo {
    /// The descriptor of a stored file.
    pub(super) fn of(f: &AttachedFile) -> Self {
        AttachmentInfo {
            id: f.id,
            field: f.field.clone(),
            file_name: f.file_name.clone(),
            content_type: f.content_type.clone(),
            size: f.size_bytes,
            created_at: crate::model::values::format_datetime(f.created_at),
            url: format!("{API_BASE}/attachments/{}", f.id),
        }
    }
}

/// The files of a record grouped by attachment field, every attachment
/// field of `e` present (empty when it has no file), in display order.
pub(super) fn by_field(e: &CompiledEntity, files: &[AttachedFile]) -> Vec<(String, Vec<AttachmentInfo>)> {
    e.attachments
        .iter()
        .map(|f| {
            let infos = files
                .iter()
                .filter(|file| file.field == f.name)
                .map(AttachmentInfo::of)
                .collect();
            (f.name.clone(), infos)
        })
        .collect()
}

/// An upload to an attachment field.
pub struct Upload<'a> {
    /// The entity.
    pub entity: &'a str,
    /// The record's id.
    pub record_id: &'a str,
    /// The attachment field.
    pub field: &'a str,
    /// The file name the client sent (sanitised here).
    pub file_name: &'a str,
    /// The media type the client declared, if any.
    pub declared_type: Option<&'a str>,
    /// The bytes.
    pub source: &'a mut dyn ChunkSource,
    /// Who uploads.
    pub actor: Option<Uuid>,
}

/// `2 MB`, `512 KB`, `10 bytes`: sizes in binary units, as limits are set.
pub fn format_size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB && bytes % MB == 0 {
        format!("{} MB", bytes / MB)
    } else if bytes >= 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

/// A file name without a path, control characters or characters that file
/// systems refuse, at most 200 characters; Unicode letters stay as they are.
pub fn sanitize_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if "<>:\"|?*".contains(c) { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim().trim_matches('.').trim();
    let cut: String = trimmed.chars().take(200).collect();
    if cut.is_empty() {
        "file".to_owned()
    } else {
        cut
    }
}

/// The lower-case essence of a media type (`Image/PNG; x=y` -> `image/png`).
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// How many first bytes are sniffed for the file's type.
const SNIFF_BYTES: usize = 8192;

/// Wraps the client's bytes: counts them against the limit, hashes them and
/// decides the type from the first bytes, stopping the write as soon as the
/// file is refused (so a refused file is never stored whole, nor kept).
struct Checked<'a> {
    inner: &'a mut dyn ChunkSource,
    limit: u64,
    qualified: String,
    field: &'a FieldDef,
    declared: Option<String>,
    size: u64,
    hash: Sha256,
    head: Vec<u8>,
    held: Option<bytes::Bytes>,
    content_type: Option<String>,
    refusal: Option<AttachmentError>,
}

impl Checked<'_> {
    fn refuse(&mut self, why: AttachmentError) -> SourceStopped {
        let stopped = SourceStopped(why.to_string());
        self.refusal = Some(why);
        stopped
    }

    /// Settles the type once the first bytes are in. The bytes win over the
    /// client's word: a declared type is used only when sniffing cannot tell
    /// (plain text, CSV, ...), and not for formats sniffing knows, so a
    /// program cannot pass as a picture by its name or its declared type.
    fn decide_type(&mut self) -> Result<(), SourceStopped> {
        let sniffed = infer::get(&self.head).map(|t| t.mime_type().to_owned());
        let declared = self
            .declared
            .clone()
            .filter(|d| !d.is_empty() && d != "application/octet-stream");
        let found = match (sniffed, declared) {
            (Some(s), _) => s,
            (None, Some(d)) if infer::is_mime_supported(&d) => {
                return Err(self.refuse(AttachmentError::TypeMismatch { declared: d }))
            }
            (None, Some(d)) => d,
            (None, None) => "application/octet-stream".to_owned(),
        };
        let limits = self.field.attachment_limits();
        if !limits.accepts(&found) {
            return Err(self.refuse(AttachmentError::TypeRefused {
                field: self.qualified.clone(),
                found,
                allowed: limits.types.clone(),
            }));
        }
        self.content_type = Some(found);
        Ok(())
    }

    async fn next(&mut self) -> Result<Option<bytes::Bytes>, SourceStopped> {
        loop {
            if self.content_type.is_some() {
                if let Some(held) = self.held.take() {
                    return Ok(Some(held));
                }
            }
            let chunk = match self.inner.next_chunk().await {
                Ok(c) => c,
                Err(e) => return Err(self.refuse(AttachmentError::Upload(e.0))),
            };
            let Some(chunk) = chunk else {
                if self.size == 0 {
                    return Err(self.refuse(AttachmentError::Empty));
                }
                if self.content_type.is_none() {
                    self.decide_type()?;
                    if let Some(held) = self.held.take() {
                        return Ok(Some(held));
                    }
                }
                return Ok(None);
            };
            self.size += chunk.len() as u64;
            if self.size > self.limit {
                let why = AttachmentError::TooLarge {
                    field: self.qualified.clone(),
                    limit: self.limit,
                };
                return Err(self.refuse(why));
            }
            self.hash.update(&chunk);
            if self.content_type.is_some() {
                return Ok(Some(chunk));
            }
            // Hold the first bytes back until the type is known.
            let want = SNIFF_BYTES.saturating_sub(self.head.len());
            self.head.extend_from_slice(&chunk[..chunk.len().min(want)]);
            self.held = Some(match self.held.take() {
                Some(h) => [h, chunk].concat().into(),
                None => chunk,
            });
            if self.head.len() >= SNIFF_BYTES {
                self.decide_type()?;
            }
        }
    }
}

impl ChunkSource for Checked<'_> {
    fn next_chunk(&mut self) -> BoxFuture<'_, Result<Option<bytes::Bytes>, SourceStopped>> {
        Box::pin(self.next())
    }
}

fn entity_of(
    engine_model: &super::CompiledModel,
    name: &str,
) -> Result<std::sync::Arc<CompiledEntity>, AttachmentError> {
    engine_model
        .entity(name)
        .cloned()
        .ok_or_else(|| AttachmentError::UnknownEntity(name.to_owned()))
}

fn parse_attachment_id(id: &str) -> Result<Uuid, AttachmentError> {
    Uuid::parse_str(id).map_err(|_| AttachmentError::NotFound(id.to_owned()))
}

impl Engine {
    /// The largest upload accepted by any field, whatever the metadata says.
    pub fn attachment_ceiling(&self) -> u64 {
        self.attachment_settings.max_bytes
    }

    /// The size limit of an attachment field, in bytes (its own, capped by
    /// the server's ceiling).
    pub fn attachment_limit(&self, f: &FieldDef) -> u64 {
        f.attachment_limits()
            .max_bytes()
            .min(self.attachment_settings.max_bytes)
    }

    /// Stores a file in an attachment field of a live record. A single-file
    /// field's previous file is marked deleted in the same transaction.
    pub async fn upload(&self, up: Upload<'_>) -> Result<AttachmentInfo, AttachmentError> {
        let snap = self.snapshot().await;
        let e = entity_of(&snap.model, up.entity)?;
        let f = e.attachment(up.field).ok_or_else(|| AttachmentError::UnknownField {
            entity: up.entity.to_owned(),
            field: up.field.to_owned(),
        })?;
        let not_found = || AttachmentError::RecordNotFound {
            entity: up.entity.to_owned(),
            id: up.record_id.to_owned(),
        };
        let record_id = Uuid::parse_str(up.record_id).map_err(|_| not_found())?;
        if !e.table.is_live(&self.dbs.ed, record_id).await? {
            return Err(not_found());
        }
        let mut checked = Checked {
            inner: up.source,
            limit: self.attachment_limit(f),
            qualified: format!("{}.{}", up.entity, f.name),
            field: f,
            declared: up.declared_type.map(essence),
            size: 0,
            hash: Sha256::new(),
            head: Vec::new(),
            held: None,
            content_type: None,
            refusal: None,
        };
        let id = Uuid::now_v7();
        let key = id.to_string();
        match self.files.put(&key, &mut checked).await {
            Ok(_) => {}
            Err(FileError::Stopped(stopped)) => {
                return Err(checked.refusal.take().unwrap_or(AttachmentError::Upload(stopped.0)))
            }
            Err(other) => return Err(other.into()),
        }
        let row = AttachmentRow {
            id,
            entity: up.entity.to_owned(),
            record_id,
            field: f.name.clone(),
            file_name: sanitize_file_name(up.file_name),
            content_type: checked
                .content_type
                .take()
                .unwrap_or_else(|| "application/octet-stream".into()),
            size_bytes: i64::try_from(checked.size).unwrap_or(i64::MAX),
            sha256: hex::encode(checked.hash.finalize()),
            created_at: OffsetDateTime::now_utc(),
            created_by: up.actor,
            deleted_at: None,
        };
        let multiple = f.attachment_limits().multiple;
        if let Err(err) = self.attachment_rows.insert(&row, !multiple).await {
            // No row, no file: the upload failed as a whole.
            if let Err(rm) = self.files.remove(&key).await {
                tracing::error!(key, error = %rm, "cannot remove the file of a failed upload");
            }
            return Err(err.into());
        }
        Ok(AttachmentInfo::of(&row.file()))
    }

    /// A live attachment row whose owner is live too: its entity and
    /// attachment field are in the active release and its record is not in
    /// the recycle bin. Anything else reads as "no such attachment", so a
    /// file of a deleted record (or of a removed field) is not served nor
    /// changed until the record (or field) comes back.
    async fn live_row(&self, id: &str) -> Result<AttachmentRow, AttachmentError> {
        let not_found = || AttachmentError::NotFound(id.to_owned());
        let uid = parse_attachment_id(id)?;
        let row = self.attachment_rows.get(uid).await?.ok_or_else(not_found)?;
        let snap = self.snapshot().await;
        let e = snap.model.entity(&row.entity).ok_or_else(not_found)?;
        if e.attachment(&row.field).is_none() || !e.table.is_live(&self.dbs.ed, row.record_id).await? {
            return Err(not_found());
        }
        Ok(row)
    }

    /// A live attachment of a live record, and its bytes.
    pub async fn download(&self, id: &str) -> Result<(AttachmentInfo, StoredFile), AttachmentError> {
        let row = self.live_row(id).await?;
        let file = self.files.open(&row.id.to_string()).await?;
        Ok((AttachmentInfo::of(&row.file()), file))
    }

    /// A live attachment's descriptor (its record live too).
    pub async fn attachment(&self, id: &str) -> Result<AttachmentInfo, AttachmentError> {
        Ok(AttachmentInfo::of(&self.live_row(id).await?.file()))
    }

    /// Marks an attachment of a live record deleted; its file is kept until
    /// a purge. The attachment of a record in the recycle bin is refused
    /// (404), so restoring the record brings back all its files.
    pub async fn delete_attachment(&self, id: &str) -> Result<AttachmentInfo, AttachmentError> {
        let row = self.live_row(id).await?;
        if !self
            .attachment_rows
            .mark_deleted(row.id, OffsetDateTime::now_utc())
            .await?
        {
            return Err(AttachmentError::NotFound(id.to_owned()));
        }
        Ok(AttachmentInfo::of(&row.file()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::type_matches;

    #[test]
    fn file_names_lose_paths_and_controls_but_keep_unicode() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("C:\\Users\\me\\报价单 2026.pdf"), "报价单 2026.pdf");
        assert_eq!(sanitize_file_name("a\u{0}b\r\nc.txt"), "abc.txt");
        assert_eq!(sanitize_file_name("..."), "file");
        assert_eq!(sanitize_file_name("what?.pdf"), "what_.pdf");
        assert_eq!(sanitize_file_name(&"長".repeat(300)).chars().count(), 200);
    }

    #[test]
    fn sizes_read_as_limits_are_set() {
        assert_eq!(format_size(2 * 1024 * 1024), "2 MB");
        assert_eq!(format_size(1536), "1.5 KB");
        assert_eq!(format_size(10), "10 bytes");
    }

    #[test]
    fn type_patterns() {
        assert!(type_matches("image/*", "image/png"));
        assert!(!type_matches("image/*", "application/pdf"));
        assert!(type_matches("application/PDF", "application/pdf"));
        assert!(type_matches("*/*", "text/plain"));
    }
}
