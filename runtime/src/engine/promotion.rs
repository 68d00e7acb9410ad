//! Promotion as administrators drive it: list and show releases, plan a
//! package (item diff and schema plan with the rows at stake), promote with
//! a base-release check and confirmed destructive steps, roll back, export
//! and import a release as one file, and the audit trail. Every change goes
//! through the release pipeline ([`Engine::apply_as`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::release::{self, checksum, stored, ApplyError, Promotion};
use super::Engine;
use crate::model::diff::{diff_items, DiffItem, ItemDiff};
use crate::model::{load_files, MetadataErrors, SourceFile};
use crate::store::bm::{AuditAction, AuditEntry, ReleaseInfo, StoredItem};
use crate::store::ed::schema::{self, Action, Refusal, SchemaError};
use crate::store::StoreError;

/// The `format` of a release export file.
pub const EXPORT_FORMAT: &str = "relata-release";
/// The version of the export file layout.
pub const EXPORT_VERSION: u32 = 1;

/// Why a promotion request failed. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum PromotionError {
    /// The pipeline refused or failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// No release with that number.
    #[error("no release {0}")]
    UnknownRelease(i64),
    /// A release that was never applied (failed or pending) cannot be rolled back to.
    #[error("release {0} was never applied ({1}); roll back to an applied release")]
    NotApplied(i64, String),
    /// An export file that is not one, or of an unknown version.
    #[error("not a release export: {0}")]
    BadExport(String),
    /// An export file whose content does not match its checksums.
    #[error("the export file was changed after export: {0}")]
    Tampered(String),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SchemaError> for PromotionError {
    fn from(e: SchemaError) -> Self {
        PromotionError::Apply(ApplyError::Schema(e))
    }
}

impl From<MetadataErrors> for PromotionError {
    fn from(e: MetadataErrors) -> Self {
        PromotionError::Apply(ApplyError::Metadata(e))
    }
}

/// A release as listed, with whether it is the live one.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseSummary {
    /// Everything stored about it but its items.
    #[serde(flatten)]
    pub info: ReleaseInfo,
    /// It is the active release.
    pub active: bool,
}

/// One item of a release as shown to administrators.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseItem {
    /// The kind.
    pub kind: String,
    /// The name.
    pub name: String,
    /// The file, relative to the package root.
    pub path: String,
    /// The item as JSON (a script's text for a script); absent in exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// The source as authored (YAML, or the script).
    pub source: String,
}

/// A release with its items.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseDetail {
    /// The release.
    #[serde(flatten)]
    pub summary: ReleaseSummary,
    /// Its items, by kind and name.
    pub items: Vec<ReleaseItem>,
}

/// One step of a schema plan as shown to administrators.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    /// Stable id, to confirm it by.
    pub id: String,
    /// What it does.
    pub description: String,
    /// It can archive data or reject stored values: it must be confirmed.
    pub destructive: bool,
    /// The operation and its table (`{"op": "create_table", "table": ...}`).
    pub action: Action,
    /// Rows at stake: the rows of a table or stored values of a column to
    /// archive, or the rows that stop a narrowing change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_rows: Option<i64>,
}

/// What promoting a package would do. Nothing was changed to compute it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// The live release (0: none).
    pub live_release: i64,
    /// The base release the caller gave, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_release: Option<i64>,
    /// The base release is not the live one: promoting needs a merge.
    pub stale: bool,
    /// The package is the live release already.
    pub unchanged: bool,
    /// Items added, removed and changed against the live release.
    pub diff: ItemDiff,
    /// The schema steps, in the order they would run.
    pub steps: Vec<PlannedStep>,
    /// Stored values that would stop the change, named.
    pub refusals: Vec<Refusal>,
}

/// A package to promote.
#[derive(Debug, Clone)]
pub struct PromoteRequest {
    /// The package's files.
    pub files: Vec<SourceFile>,
    /// Who promotes (the signed-in administrator).
    pub author: String,
    /// Why.
    pub comment: String,
    /// The release the package was made from (0: none).
    pub base_release: Option<i64>,
    /// The destructive steps confirmed, by id or description.
    pub confirm: Vec<String>,
}

/// What a promotion, rollback or import did.
#[derive(Debug, Clone, Serialize)]
pub struct PromoteOutcome {
    /// The new release; `None` when the package was live already.
    pub release: Option<i64>,
    /// The package was the live release already: nothing was done.
    pub unchanged: bool,
    /// The schema steps that ran.
    pub steps: Vec<PlannedStep>,
    /// The items added, removed and changed.
    pub diff: ItemDiff,
}

/// A release as one self-contained file, for moving it between environments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseExport {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// The layout version, [`EXPORT_VERSION`].
    pub format_version: u32,
    /// The release's number where it was exported.
    pub release: i64,
    /// The release's checksum (over kinds, names and canonical bodies).
    pub checksum: String,
    /// SHA-256 over every item's path and source text, in order.
    pub content_sha256: String,
    /// Who made the release.
    pub author: String,
    /// Its comment.
    pub comment: String,
    /// When it was made.
    pub created_at: String,
    /// The items with their paths and source text.
    pub items: Vec<ReleaseItem>,
}

/// The item diff of two stored item sets.
pub fn diff_stored(old: &[StoredItem], new: &[StoredItem]) -> ItemDiff {
    let conv = |items: &[StoredItem]| -> Vec<DiffItem> {
        items
            .iter()
            .map(|i| DiffItem {
                kind: i.kind.clone(),
                name: i.name.clone(),
                body: serde_json::from_str(&i.body).unwrap_or_else(|_| serde_json::Value::String(i.body.clone())),
            })
            .collect()
    };
    diff_items(&conv(old), &conv(new))
}

/// SHA-256 over the items' paths and sources, as an export file lists them.
pub fn content_sha256(items: &[ReleaseItem]) -> String {
    let mut h = Sha256::new();
    for i in items {
        for part in [&i.kind, &i.name, &i.path, &i.source] {
            h.update(part.as_bytes());
            h.update([0]);
        }
    }
    hex::encode(h.finalize())
}

fn source_files(items: &[StoredItem]) -> Vec<SourceFile> {
    items.iter().map(StoredItem::to_source_file).collect()
}

impl Engine {
    /// Every release, newest first, the active one flagged.
    pub async fn releases(&self) -> Result<Vec<ReleaseSummary>, PromotionError> {
        let active = self.bm.active().await?;
        let list = self.bm.list().await?;
        Ok(list
            .into_iter()
            .map(|info| ReleaseSummary {
                active: Some(info.number) == active,
                info,
            })
            .collect())
    }

    /// One release with its items.
    pub async fn release_detail(&self, number: i64) -> Result<ReleaseDetail, PromotionError> {
        let info = self
            .bm
            .get(number)
            .await?
            .ok_or(PromotionError::UnknownRelease(number))?;
        let active = self.bm.active().await? == Some(number);
        let items = self.bm.items(number).await?;
        let items = items
            .into_iter()
            .map(|i| ReleaseItem {
                body: serde_json::from_str(&i.body).ok(),
                kind: i.kind,
                name: i.name,
                path: i.path,
                source: i.source,
            })
            .collect();
        Ok(ReleaseDetail {
            summary: ReleaseSummary { info, active },
            items,
        })
    }

    /// The audit trail of release changes, newest first.
    pub async fn release_audit(&self) -> Result<Vec<AuditEntry>, PromotionError> {
        Ok(self.bm.audit().await?)
    }

    /// What promoting `files` would do: the item diff against the live
    /// release and the schema plan, with the rows each destructive step
    /// touches and the stored values that would stop it. Changes nothing.
    pub async fn plan_package(
        &self,
        files: &[SourceFile],
        base_release: Option<i64>,
    ) -> Result<PlanReport, PromotionError> {
        let (model, items) = load_files(files)?;
        release::compile_rules(&model, &items)?;
        let items = stored(&items, &model);
        let current = self.model.load_full();
        let live_items = match current.release {
            0 => Vec::new(),
            n => self.bm.items(n).await?,
        };
        let old = (current.release > 0).then_some(&current.model);
        let catalog = schema::read_catalog(&self.dbs.ed).await?;
        let plan = schema::plan(old, &model, &catalog, self.bm.next_number().await?);
        let picklists = self.picklist_store.all().await?;
        let refusals = match schema::check_data(&self.dbs.ed, &plan, &model, &picklists).await {
            Ok(()) => Vec::new(),
            Err(SchemaError::Refused(r)) => r,
            Err(e) => return Err(e.into()),
        };
        let affected = schema::affected_rows(&self.dbs.ed, &plan).await?;
        Ok(PlanReport {
            live_release: current.release,
            base_release,
            stale: base_release.is_some_and(|b| b != current.release),
            unchanged: checksum(&items) == current.checksum,
            diff: diff_stored(&live_items, &items),
            steps: planned_steps(&plan, &affected, &refusals),
            refusals,
        })
    }

    /// Promotes a package: refused with nothing changed when the base
    /// release is not the live one or a destructive step is not confirmed.
    pub async fn promote(&self, req: PromoteRequest) -> Result<PromoteOutcome, PromotionError> {
        let how = Promotion {
            action: AuditAction::Promote,
            base_release: req.base_release,
            confirm: Some(req.confirm),
        };
        self.run(req.files, req.author, req.comment, &how).await
    }

    /// What rolling back to release `number` would do (item diff, schema
    /// plan with the rows each destructive step touches, refusals), as for
    /// a promotion of its items. Changes nothing.
    pub async fn plan_rollback(&self, number: i64) -> Result<PlanReport, PromotionError> {
        let files = self.rollback_files(number).await?;
        self.plan_package(&files, None).await
    }

    /// The items of an applied release, as a package to make live again.
    async fn rollback_files(&self, number: i64) -> Result<Vec<SourceFile>, PromotionError> {
        let info = self
            .bm
            .get(number)
            .await?
            .ok_or(PromotionError::UnknownRelease(number))?;
        if info.status != "applied" {
            return Err(PromotionError::NotApplied(number, info.status));
        }
        Ok(source_files(&self.bm.items(number).await?))
    }

    /// Makes release `number`'s items live again as a new release, through
    /// the same pipeline and confirmations as a promotion.
    pub async fn rollback(
        &self,
        number: i64,
        author: String,
        comment: Option<String>,
        confirm: Vec<String>,
    ) -> Result<PromoteOutcome, PromotionError> {
        let files = self.rollback_files(number).await?;
        let comment = comment.unwrap_or_else(|| format!("roll back to release {number}"));
        let how = Promotion {
            action: AuditAction::Rollback,
            base_release: None,
            confirm: Some(confirm),
        };
        self.run(files, author, comment, &how).await
    }

    /// Release `number` as one self-contained export file.
    pub async fn export_release(&self, number: i64) -> Result<ReleaseExport, PromotionError> {
        let info = self
            .bm
            .get(number)
            .await?
            .ok_or(PromotionError::UnknownRelease(number))?;
        let items: Vec<ReleaseItem> = self
            .bm
            .items(number)
            .await?
            .into_iter()
            .map(|i| ReleaseItem {
                kind: i.kind,
                name: i.name,
                path: i.path,
                body: None,
                source: i.source,
            })
            .collect();
        Ok(ReleaseExport {
            format: EXPORT_FORMAT.to_owned(),
            format_version: EXPORT_VERSION,
            release: info.number,
            checksum: info.checksum,
            content_sha256: content_sha256(&items),
            author: info.author,
            comment: info.comment,
            created_at: info.created_at,
            items,
        })
    }

    /// Checks an export file and plans it (`plan_only`) or applies it as a
    /// new release, with the same confirmations as a promotion.
    pub async fn import_release(
        &self,
        export: &ReleaseExport,
        author: String,
        confirm: Vec<String>,
        plan_only: bool,
    ) -> Result<ImportOutcome, PromotionError> {
        let files = verify_export(export)?;
        if plan_only {
            return Ok(ImportOutcome::Plan(Box::new(self.plan_package(&files, None).await?)));
        }
        let comment = format!("import of release {}: {}", export.release, export.comment);
        let how = Promotion {
            action: AuditAction::Import,
            base_release: None,
            confirm: Some(confirm),
        };
        let done = self.run(files, author, comment, &how).await?;
        Ok(ImportOutcome::Applied(Box::new(done)))
    }

    async fn run(
        &self,
        files: Vec<SourceFile>,
        author: String,
        comment: String,
        how: &Promotion,
    ) -> Result<PromoteOutcome, PromotionError> {
        let req = release::ApplyRequest {
            files,
            author,
            comment,
            plan_only: false,
        };
        let done = self.apply_as(req, how).await?;
        Ok(PromoteOutcome {
            release: done.release,
            unchanged: done.unchanged,
            steps: planned_steps(&done.plan, &[], &[]),
            diff: done.diff,
        })
    }
}

/// What an import did: planned or applied.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ImportOutcome {
    /// `?plan=true`: what it would do.
    Plan(Box<PlanReport>),
    /// Applied as a new release.
    Applied(Box<PromoteOutcome>),
}

/// The export's files, once its format and both checksums are verified.
fn verify_export(export: &ReleaseExport) -> Result<Vec<SourceFile>, PromotionError> {
    if export.format != EXPORT_FORMAT || export.format_version != EXPORT_VERSION {
        return Err(PromotionError::BadExport(format!(
            "expected format `{EXPORT_FORMAT}` version {EXPORT_VERSION}, found `{}` version {}",
            export.format, export.format_version
        )));
    }
    let content = content_sha256(&export.items);
    if content != export.content_sha256 {
        return Err(PromotionError::Tampered(format!(
            "content_sha256 is {} but the items hash to {content}",
            export.content_sha256
        )));
    }
    let files: Vec<SourceFile> = export
        .items
        .iter()
        .map(|i| SourceFile {
            path: i.path.clone(),
            text: i.source.clone(),
        })
        .collect();
    let (model, items) = load_files(&files)?;
    let sum = checksum(&stored(&items, &model));
    if sum != export.checksum {
        return Err(PromotionError::Tampered(format!(
            "checksum is {} but the items hash to {sum}",
            export.checksum
        )));
    }
    Ok(files)
}

/// The plan's steps for administrators, with the rows at stake: `affected`
/// (per step, from [`schema::affected_rows`]) or the refusals of its column.
fn planned_steps(plan: &schema::Plan, affected: &[Option<i64>], refusals: &[Refusal]) -> Vec<PlannedStep> {
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let refused: i64 = refusals
                .iter()
                .filter(|r| refusal_of(r, &s.action))
                .map(|r| r.count)
                .sum();
            let from_refusals = (refused > 0).then_some(refused);
            PlannedStep {
                id: s.id(),
                description: s.description.clone(),
                destructive: s.safety == schema::Safety::Destructive,
                action: s.action.clone(),
                affected_rows: affected.get(i).copied().flatten().or(from_refusals),
            }
        })
        .collect()
}

/// Whether a refusal is about the table and column a step changes.
fn refusal_of(r: &Refusal, action: &Action) -> bool {
    match action {
        Action::AlterColumn { table, column, .. } => r.entity == *table && r.field.as_deref() == Some(column),
        Action::CreateIndex { table, index, .. } => {
            r.entity == *table && r.field.as_ref().is_none_or(|f| index.columns.contains(f))
        }
        _ => false,
    }
}

/// The error of an import file that is not valid JSON or YAML.
pub fn unreadable_export(e: impl std::fmt::Display) -> PromotionError {
    PromotionError::BadExport(e.to_string())
}
