//! The release pipeline: validate -> compile -> plan -> apply the DDL and
//! record the release -> swap the model. A failure at any step leaves the
//! live release and its tables as they were.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::compiled::{CompileError, CompiledModel};
use super::rules::{self, RuleSet};
use super::Engine;
use crate::model::diff::ItemDiff;
use crate::model::{load_files, MetadataErrors, Model, SourceFile, SourcedItem, SCRIPTS_DIR};
use crate::store::bm::{AuditAction, NewAudit, NewRelease, StoredItem};
use crate::store::ed::schema::{self, Action, Plan, SchemaError, SchemaState};
use crate::store::StoreError;

/// A package to apply.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// The package's files.
    pub files: Vec<SourceFile>,
    /// Who applies it.
    pub author: String,
    /// Why.
    pub comment: String,
    /// Only compute and return the plan; change nothing.
    pub plan_only: bool,
}

/// What applying did (or, for a plan, would do).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApplyOutcome {
    /// The new release's number; `None` for a plan or an unchanged package.
    pub release: Option<i64>,
    /// The schema steps.
    pub plan: Plan,
    /// The package is the active release already.
    pub unchanged: bool,
    /// The items added, removed and changed against the live release.
    pub diff: ItemDiff,
}

/// Why a release was not applied. Nothing changed in either database.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The package has errors.
    #[error(transparent)]
    Metadata(#[from] MetadataErrors),
    /// The schema change was refused or failed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Compiling failed.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The package was made on a release that is no longer the live one.
    #[error("the package is based on release {base}, but release {live} is live now")]
    StaleBase {
        /// The release the package was based on (0: none).
        base: i64,
        /// The live release (0: none).
        live: i64,
    },
    /// Destructive steps were not confirmed; nothing was written.
    #[error("{} destructive step(s) need confirmation: {}", .0.len(), .0.iter().map(|s| s.description.as_str()).collect::<Vec<_>>().join("; "))]
    Unconfirmed(Vec<UnconfirmedStep>),
}

/// SHA-256 over the canonical items, sorted by kind and name.
pub fn checksum(items: &[StoredItem]) -> String {
    let mut sorted: Vec<&StoredItem> = items.iter().collect();
    sorted.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    let mut h = Sha256::new();
    for i in sorted {
        h.update(i.kind.as_bytes());
        h.update([0]);
        h.update(i.name.as_bytes());
        h.update([0]);
        h.update(i.body.as_bytes());
        h.update([b'\n']);
    }
    hex::encode(h.finalize())
}

/// The items of a release as stored: one row per YAML item, and one per
/// script (kind `script`, named by its path under `scripts/`, its text as
/// the body), so scripts are versioned, checksummed and diffed like the rest.
pub(super) fn stored(items: &[SourcedItem], model: &Model) -> Vec<StoredItem> {
    let mut out: Vec<StoredItem> = items
        .iter()
        .map(|si| StoredItem {
            kind: si.item.kind().to_owned(),
            name: si.item.name().to_owned(),
            path: si.path.clone(),
            body: serde_json::to_string(&si.item).unwrap_or_default(),
            source: si.source.clone(),
        })
        .collect();
    for (name, text) in &model.scripts {
        out.push(StoredItem {
            kind: "script".to_owned(),
            name: name.clone(),
            path: format!("{SCRIPTS_DIR}/{name}"),
            body: serde_json::to_string(text).unwrap_or_default(),
            source: text.clone(),
        });
    }
    out
}

/// Checks a package whole: every file, every cross reference, and the
/// business rules (scripts compiled, bound functions present with the right
/// number of parameters). Returns the model and its compiled rules.
pub fn validate_package(files: &[SourceFile]) -> Result<(Model, RuleSet), MetadataErrors> {
    let (model, items) = load_files(files)?;
    let rules = compile_rules(&model, &items)?;
    Ok((model, rules))
}

/// The business rules of a loaded package, compiled (scripts named by the
/// files of their entities in errors).
pub(super) fn compile_rules(model: &Model, items: &[SourcedItem]) -> Result<RuleSet, MetadataErrors> {
    let paths = items
        .iter()
        .filter(|si| si.item.kind() == "entity")
        .map(|si| (si.item.name().to_owned(), si.path.clone()))
        .collect();
    rules::compile(model, &paths)
}

/// What a promotion asks of the pipeline beyond [`ApplyRequest`], checked
/// under the one-at-a-time lock before anything is written.
#[derive(Debug, Clone)]
pub struct Promotion {
    /// How the release is made, for the audit trail.
    pub action: AuditAction,
    /// Refuse unless this release (0: none) is the active one.
    pub base_release: Option<i64>,
    /// The destructive steps the administrator confirmed, by id or
    /// description; `None` asks for no confirmation (`relata apply`).
    pub confirm: Option<Vec<String>>,
}

impl Promotion {
    /// A plain apply: no base check, no confirmation.
    pub fn apply() -> Self {
        Promotion {
            action: AuditAction::Apply,
            base_release: None,
            confirm: None,
        }
    }
}

/// A step that needs a confirmation it did not get.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnconfirmedStep {
    /// The step's id ([`schema::Step::id`]).
    pub id: String,
    /// What it does.
    pub description: String,
}

/// The destructive steps of `plan` that `confirmed` names neither by id nor
/// by description.
pub fn unconfirmed(plan: &Plan, confirmed: &[String]) -> Vec<UnconfirmedStep> {
    plan.steps
        .iter()
        .filter(|s| s.safety == schema::Safety::Destructive)
        .map(|s| UnconfirmedStep {
            id: s.id(),
            description: s.description.clone(),
        })
        .filter(|s| !confirmed.iter().any(|c| *c == s.id || *c == s.description))
        .collect()
}

fn outcome(release: Option<i64>, plan: Plan, unchanged: bool, diff: ItemDiff) -> ApplyOutcome {
    ApplyOutcome {
        release,
        plan,
        unchanged,
        diff,
    }
}

/// A validated package: its model, compiled rules, items as stored and
/// checksum.
struct Package {
    model: Model,
    rules: RuleSet,
    items: Vec<StoredItem>,
    sum: String,
}

impl Package {
    fn load(files: &[SourceFile]) -> Result<Package, ApplyError> {
        // Parsed once: parsing is most of the validation's cost.
        let (model, items) = load_files(files)?;
        let rules = compile_rules(&model, &items)?;
        let items = stored(&items, &model);
        let sum = checksum(&items);
        Ok(Package {
            model,
            rules,
            items,
            sum,
        })
    }
}

/// A release about to be activated.
struct Activation<'a> {
    number: i64,
    sum: &'a str,
    by: &'a str,
    audit: NewAudit<'a>,
}

impl Engine {
    /// Compiles a checked model for this engine's backend, on the
    /// installation's calendar (see [`CompiledModel::time_zone`]).
    fn compile(
        &self,
        model: Model,
        number: i64,
        checksum: String,
        rules: RuleSet,
    ) -> Result<CompiledModel, CompileError> {
        let mut compiled = CompiledModel::compile(model, number, checksum, self.dbs.backend(), rules)?;
        compiled.time_zone = self.time_zone.clone();
        Ok(compiled)
    }

    /// Validates, plans and (unless `plan_only`) applies a package as the new
    /// active release, swapping the live model without a restart.
    pub async fn apply(&self, req: ApplyRequest) -> Result<ApplyOutcome, ApplyError> {
        self.apply_as(req, &Promotion::apply()).await
    }

    /// [`Engine::apply`] with a promotion's conditions: the base release
    /// must be the live one and every destructive step confirmed, or nothing
    /// is written. The audit entry is written with the activation.
    #[tracing::instrument(skip_all, fields(author = %req.author, plan_only = req.plan_only))]
    pub async fn apply_as(&self, req: ApplyRequest, how: &Promotion) -> Result<ApplyOutcome, ApplyError> {
        let Package {
            model,
            rules,
            items,
            sum,
        } = Package::load(&req.files)?;
        let _one_at_a_time = self.applying.lock().await;
        let current = self.model.load_full();
        if let Some(base) = how.base_release.filter(|b| *b != current.release) {
            return Err(ApplyError::StaleBase {
                base,
                live: current.release,
            });
        }
        let old = (current.release > 0).then_some(&current.model);
        let catalog = schema::read_catalog(&self.dbs.ed).await?;
        let live_items = match current.release {
            0 => Vec::new(),
            n => self.bm.items(n).await?,
        };
        let diff = super::promotion::diff_stored(&live_items, &items);
        let next = self.bm.next_number().await?;
        if req.plan_only {
            let plan = schema::plan(old, &model, &catalog, next);
            let stored = self.picklist_store.all().await?;
            schema::check_data(&self.dbs.ed, &plan, &model, &stored).await?;
            return Ok(outcome(None, plan, sum == current.checksum, diff));
        }
        if sum == current.checksum {
            let plan = schema::plan(old, &model, &catalog, current.release);
            if plan.steps.is_empty() {
                return Ok(outcome(None, plan, true, diff));
            }
        }
        if let Some(confirmed) = &how.confirm {
            let missing = unconfirmed(&schema::plan(old, &model, &catalog, next), confirmed);
            if !missing.is_empty() {
                return Err(ApplyError::Unconfirmed(missing));
            }
        }
        let parent = (current.release > 0).then_some(current.release);
        let package = Package {
            model,
            rules,
            items,
            sum,
        };
        self.record_and_activate(&req, how, package, (parent, diff), old, &catalog)
            .await
    }

    /// Records the release (pending), activates it, and marks it failed if
    /// activating fails.
    async fn record_and_activate(
        &self,
        req: &ApplyRequest,
        how: &Promotion,
        Package {
            model,
            rules,
            items,
            sum,
        }: Package,
        (parent, diff): (Option<i64>, ItemDiff),
        old: Option<&Model>,
        catalog: &schema::Catalog,
    ) -> Result<ApplyOutcome, ApplyError> {
        let new = NewRelease {
            author: &req.author,
            comment: &req.comment,
            checksum: &sum,
            parent,
            items: &items,
        };
        let number = self.bm.insert_pending(&new).await?;
        fail::fail_point!("release::pending");
        let activation = Activation {
            number,
            sum: &sum,
            by: &req.author,
            audit: NewAudit {
                action: how.action,
                from_release: parent,
                comment: &req.comment,
                summary: diff.summary(),
            },
        };
        match self.activate(activation, (model, rules), old, catalog).await {
            Ok(plan) => {
                tracing::info!(release = number, steps = plan.steps.len(), "release applied");
                Ok(outcome(Some(number), plan, false, diff))
            }
            Err(e) => {
                tracing::warn!(release = number, error = %e, "release refused");
                self.bm.mark_failed(number, &e.to_string()).await?;
                Err(e)
            }
        }
    }

    async fn activate(
        &self,
        a: Activation<'_>,
        (model, rules): (Model, RuleSet),
        old: Option<&Model>,
        catalog: &schema::Catalog,
    ) -> Result<Plan, ApplyError> {
        let plan = schema::plan(old, &model, catalog, a.number);
        let stored = self.picklist_store.all().await?;
        schema::check_data(&self.dbs.ed, &plan, &model, &stored).await?;
        let compiled = self.compile(model, a.number, a.sum.to_owned(), rules)?;
        let state = SchemaState {
            release: a.number,
            checksum: a.sum.to_owned(),
        };
        // Requests in flight finish on the old model; new ones wait the few
        // milliseconds the DDL takes and then see the new one.
        let _exclusive = self.gate.write().await;
        schema::apply(&self.dbs.ed, &plan, &compiled.model, &state).await?;
        if !plan.steps.is_empty() {
            self.dbs.mark_schema_changed();
        }
        fail::fail_point!("release::tables_built");
        // New metadata values must be writable as soon as the model is
        // live. The merge is idempotent: if anything below fails, the next
        // start redoes it.
        self.merge_picklist_defaults(&compiled.model).await?;
        let lists = self.read_picklists(&compiled.model).await?;
        fail::fail_point!("release::picklists_merged");
        self.bm.activate_audited(a.number, a.by, Some(&a.audit)).await?;
        fail::fail_point!("release::activated");
        self.model.store(Arc::new(compiled));
        self.publish_picklists(lists);
        Ok(plan)
    }

    /// At start-up: finish an activation that a crash cut between the ED
    /// commit and the BM commit, then load the active release.
    pub(super) async fn recover_and_load(&self) -> Result<(), ApplyError> {
        let active = self.bm.active().await?;
        let built_for = crate::store::ed::state::schema_state(&self.dbs.ed).await?;
        let number = match (active, built_for) {
            (a, Some(b)) if Some(b) != a => {
                tracing::warn!(
                    release = b,
                    "the tables were built for a release that was never activated; activating it"
                );
                let audit = NewAudit {
                    action: AuditAction::Recovery,
                    from_release: a,
                    comment: "a promotion cut after its tables were built, finished at start-up",
                    summary: serde_json::json!({}),
                };
                self.bm.activate_audited(b, "recovery", Some(&audit)).await?;
                Some(b)
            }
            (a, _) => a,
        };
        // A release left pending was cut before its tables were built: it
        // never was, and never will be, live.
        for r in self.bm.list().await? {
            if r.status == "pending" && Some(r.number) != number {
                tracing::warn!(release = r.number, "a release was interrupted before it was applied");
                self.bm
                    .mark_failed(r.number, "interrupted before it was applied")
                    .await?;
            }
        }
        let Some(number) = number else {
            // Nothing to load; the counter is still this node's starting point.
            self.reload_picklists().await?;
            return Ok(());
        };
        self.load_release(number).await?;
        self.refresh_search_indexes().await?;
        let model = self.model.load_full();
        self.merge_picklist_defaults(&model.model).await?;
        self.reload_picklists().await?;
        Ok(())
    }

    /// Rebuilds the search indexes the live release needs that are missing
    /// or in a shape this runtime no longer builds (after an upgrade), so no
    /// release has to be applied for it. Search indexes are derived from the
    /// records: nothing is lost, and no other step of a plan is run here.
    async fn refresh_search_indexes(&self) -> Result<(), ApplyError> {
        let current = self.model.load_full();
        let catalog = schema::read_catalog(&self.dbs.ed).await?;
        let plan = schema::plan(Some(&current.model), &current.model, &catalog, current.release);
        let steps: Vec<schema::Step> = plan
            .steps
            .into_iter()
            .filter(|s| match &s.action {
                Action::DropSearch { .. } | Action::CreateSearch { .. } => true,
                // Decimal columns an older release stored as floats become
                // exact (scaled integers) before any record is written.
                Action::AlterColumn { from, .. } => from.legacy_real,
                _ => false,
            })
            .collect();
        if steps.is_empty() {
            return Ok(());
        }
        for s in &steps {
            tracing::info!(step = %s.description, "upgrading the storage at start");
        }
        let state = SchemaState {
            release: current.release,
            checksum: current.checksum.clone(),
        };
        let plan = Plan { steps };
        // A float an older release accepted beyond the precision stops the
        // start with the usual data-check report, naming it: nothing is lost.
        let stored = self.picklist_store.all().await?;
        schema::check_data(&self.dbs.ed, &plan, &current.model, &stored).await?;
        let _exclusive = self.gate.write().await;
        schema::apply(&self.dbs.ed, &plan, &current.model, &state).await?;
        self.dbs.mark_schema_changed();
        Ok(())
    }

    /// Loads and compiles a stored release and makes it the live model.
    async fn load_release(&self, number: i64) -> Result<(), ApplyError> {
        let compiled = self.compile_release(number).await?;
        self.model.store(Arc::new(compiled));
        Ok(())
    }

    /// A stored release, loaded and compiled (not made live).
    pub(super) async fn compile_release(&self, number: i64) -> Result<CompiledModel, ApplyError> {
        let info = self
            .bm
            .get(number)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("active release {number} is missing")))?;
        let files: Vec<SourceFile> = self
            .bm
            .items(number)
            .await?
            .iter()
            .map(StoredItem::to_source_file)
            .collect();
        let (model, rules) = validate_package(&files)?;
        Ok(self.compile(model, number, info.checksum, rules)?)
    }

    /// Whether any release was ever applied.
    pub async fn has_release(&self) -> Result<bool, StoreError> {
        Ok(self.bm.active().await?.is_some())
    }
}
