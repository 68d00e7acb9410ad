//! The engine: the compiled model behind an atomic pointer, the record
//! operations every path (API, UI, imports, rules) goes through, and the
//! release pipeline that swaps the model while requests are served.
//!
//! Nothing here knows about HTTP.

pub mod attachments;
pub mod auth;
mod compiled;
mod conditions;
pub mod demo;
mod hierarchy;
mod openapi;
pub mod payload;
mod picklist_admin;
pub mod picklists;
pub mod promotion;
pub mod query;
mod records;
mod release;
mod release_watch;
pub mod rules;
mod saving;
mod search;
mod views;
mod writes;

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::{Mutex, RwLock, RwLockReadGuard};

pub use attachments::{AttachmentError, AttachmentInfo, AttachmentSettings, Upload};
pub use auth::{AuthError, AuthService, AuthSettings, CurrentUser, Locale, Preferences};
pub use compiled::{CompileError, CompiledEntity, CompiledModel};
pub use openapi::{ADMIN_BASE, API_BASE};
pub use payload::FieldError;
pub use picklist_admin::{LabelInput, NewPicklistValue, PicklistError, PicklistValuePatch, MAX_LABEL_CHARS};
pub use picklists::{CodeStatus, EffectiveList, EffectiveValue, PicklistValues};
pub use promotion::{PromoteRequest, PromotionError, ReleaseExport};
pub use query::ListParams;
pub use records::{ListResult, ReadOptions};
pub use release::{unconfirmed, validate_package, ApplyError, ApplyOutcome, ApplyRequest, Promotion, UnconfirmedStep};
pub use rules::{CommandOutcome, RuleError};
pub use search::{SearchGroup, SearchHit, DEFAULT_PER_ENTITY, MAX_PER_ENTITY, MAX_TOTAL};
pub use views::Views;

use crate::model::zone::Zone;
use crate::store::bm::BmStore;
use crate::store::ed::attachments::AttachmentRows;
use crate::store::ed::picklists::PicklistStore;
use crate::store::ed::records::Record;
use crate::store::files::{DirFileStore, FileStore};
use crate::store::{Databases, StoreError};

/// Errors of record operations. The web layer maps each to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No entity of that name in the active release.
    #[error("unknown entity `{0}`")]
    UnknownEntity(String),
    /// No live record with that id.
    #[error("no {entity} with id {id}")]
    NotFound {
        /// The entity.
        entity: String,
        /// The id asked for.
        id: String,
    },
    /// The payload is invalid; one error per offending field.
    #[error("the {entity} is not valid")]
    Invalid {
        /// The entity.
        entity: String,
        /// What is wrong, field by field.
        errors: Vec<FieldError>,
    },
    /// The record changed since the version the caller read.
    #[error("the record changed since version {expected} was read; it is now at version {}", current.get("row_version").and_then(|v| v.as_i64()).unwrap_or_default())]
    Conflict {
        /// The version the caller sent.
        expected: i64,
        /// The record as stored now.
        current: Box<Record>,
    },
    /// An update needs the version read, in `If-Match`.
    #[error("send the row_version you read in an If-Match header")]
    PreconditionRequired,
    /// The entity has no command of that name.
    #[error("{entity} has no command `{command}`")]
    UnknownCommand {
        /// The entity.
        entity: String,
        /// The command asked for.
        command: String,
    },
    /// A business rule failed (threw, or went past a sandbox limit); the
    /// save was rolled back.
    #[error(transparent)]
    Rule(#[from] rules::RuleError),
    /// A malformed request (query parameters, cursor, id).
    #[error("{0}")]
    BadRequest(String),
    /// The database failed; details go to the logs only.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Limits of the record API.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Page size when none is asked for.
    pub default_page_size: u64,
    /// Largest page size accepted.
    pub max_page_size: u64,
    /// A requested total stops counting here.
    pub count_cap: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            default_page_size: 50,
            max_page_size: 500,
            count_cap: 10_000,
        }
    }
}

/// The running engine of one runtime process.
pub struct Engine {
    dbs: Databases,
    bm: BmStore,
    model: ArcSwap<CompiledModel>,
    /// The effective pick lists: run-time data that administrators change
    /// between releases, so kept apart from the release's compiled model.
    picklists: ArcSwap<PicklistValues>,
    /// The OpenAPI document of the model and pick lists above.
    openapi: openapi::Cache,
    picklist_store: PicklistStore,
    /// The change counter of the stored values the lists were built from
    /// (see [`Engine::watch_picklists`]).
    picklist_version: AtomicI64,
    /// Requests hold it shared while they use the database; applying a release
    /// holds it exclusively for the DDL and the swap, so no request runs an old
    /// model's SQL against a new schema.
    gate: RwLock<()>,
    /// One release is applied at a time; pick-list changes take it too, so
    /// that the lists are never rebuilt against a model being replaced.
    applying: Mutex<()>,
    limits: Limits,
    auth: AuthService,
    /// The bytes of attachments (a directory by default).
    files: Arc<dyn FileStore>,
    /// The rows that tie attachment files to records.
    attachment_rows: AttachmentRows,
    attachment_settings: AttachmentSettings,
    /// The installation's time zone: the calendar of requests that carry
    /// no zone of their own, of numbering periods and of scripts.
    time_zone: Zone,
}

/// What an engine is started with, besides its databases.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Limits of the record API.
    pub limits: Limits,
    /// Session lifetimes and the credential cache.
    pub auth: AuthSettings,
    /// Where attachment files go and the largest one accepted.
    pub attachments: AttachmentSettings,
    /// The installation's time zone (see [`Engine::time_zone`]).
    pub time_zone: Zone,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("release", &self.model.load().release)
            .finish()
    }
}

/// A request's view of the engine: the model it started with, and the gate
/// that keeps the schema still until it is done.
pub struct Snapshot<'a> {
    /// The compiled model.
    pub model: Arc<CompiledModel>,
    _gate: RwLockReadGuard<'a, ()>,
}

impl Engine {
    /// Starts an engine over open databases: loads the active release (after
    /// finishing an activation a crash interrupted), or an empty model.
    pub async fn start(dbs: Databases, settings: EngineSettings) -> Result<Arc<Engine>, ApplyError> {
        let EngineSettings {
            limits,
            auth,
            attachments,
            time_zone,
        } = settings;
        let bm = BmStore::new(dbs.bm.clone());
        let auth = AuthService::new(dbs.ed.clone(), auth);
        // The one place the file store is chosen; an object store would be
        // picked here from the settings.
        let files: Arc<dyn FileStore> = Arc::new(DirFileStore::new(attachments.dir.clone()));
        let attachment_rows = AttachmentRows::new(dbs.ed.clone());
        let engine = Engine {
            model: ArcSwap::from_pointee(CompiledModel::empty(dbs.backend())),
            picklists: ArcSwap::from_pointee(PicklistValues::default()),
            openapi: openapi::Cache::default(),
            picklist_store: PicklistStore::new(dbs.ed.clone()),
            picklist_version: AtomicI64::new(-1),
            dbs,
            bm,
            gate: RwLock::new(()),
            applying: Mutex::new(()),
            limits,
            auth,
            files,
            attachment_rows,
            attachment_settings: attachments,
            time_zone,
        };
        engine.recover_and_load().await?;
        Ok(Arc::new(engine))
    }

    /// The current compiled model, without holding the schema gate (for
    /// documents such as OpenAPI that touch no table).
    pub fn model(&self) -> Arc<CompiledModel> {
        self.model.load_full()
    }

    /// Takes a snapshot for one request.
    pub async fn snapshot(&self) -> Snapshot<'_> {
        let gate = self.gate.read().await;
        Snapshot {
            model: self.model.load_full(),
            _gate: gate,
        }
    }

    /// The databases.
    pub fn databases(&self) -> &Databases {
        &self.dbs
    }

    /// The business-model store.
    pub fn bm(&self) -> &BmStore {
        &self.bm
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Users, sessions and API tokens.
    pub fn auth(&self) -> &AuthService {
        &self.auth
    }

    /// The installation's time zone: "today" for requests without a zone
    /// of their own (an API call by a user who set none), numbering
    /// periods and scripts' `today()`.
    pub fn time_zone(&self) -> &Zone {
        &self.time_zone
    }
}
