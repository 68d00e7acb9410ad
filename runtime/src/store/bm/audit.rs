//! The audit trail of release changes (table `release_audit`): who changed
//! the live release, when, how, from which release to which, and what.

use serde::Serialize;
use sqlx::Row;

use super::{BmStore, StoreError};
use crate::store::Pool;

/// How a release became the active one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// `relata apply` or the engine's own apply.
    Apply,
    /// A promotion over the admin API.
    Promote,
    /// A rollback to an earlier release's items.
    Rollback,
    /// An imported release file.
    Import,
    /// A promotion cut after its tables were built, finished at start-up.
    Recovery,
}

impl AuditAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Apply => "apply",
            AuditAction::Promote => "promote",
            AuditAction::Rollback => "rollback",
            AuditAction::Import => "import",
            AuditAction::Recovery => "recovery",
        }
    }
}

/// An audit entry to write with an activation.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    /// How.
    pub action: AuditAction,
    /// The release active before, if any.
    pub from_release: Option<i64>,
    /// Why (the release's comment).
    pub comment: &'a str,
    /// What changed: counts and item names (JSON).
    pub summary: serde_json::Value,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Sequence number, in order of writing.
    pub id: i64,
    /// `apply`, `promote`, `rollback` or `import`.
    pub action: String,
    /// Who.
    pub actor: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The release active before.
    pub from_release: Option<i64>,
    /// The release activated.
    pub to_release: i64,
    /// Why.
    pub comment: String,
    /// Counts and names of the added, removed and changed items.
    pub summary: serde_json::Value,
}

impl BmStore {
    pub(super) fn audit_insert_sql(&self) -> String {
        let summary = match self.pool {
            Pool::Sqlite(_) => "$7",
            Pool::Postgres(_) => "$7::jsonb",
        };
        format!(
            "INSERT INTO release_audit (action, actor, at, from_release, to_release, comment, summary) \
             VALUES ($1, $2, $3, $4, $5, $6, {summary})"
        )
    }

    /// The audit trail, newest first.
    pub async fn audit(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let (at, summary) = match self.pool {
            Pool::Sqlite(_) => ("at", "summary"),
            Pool::Postgres(_) => (
                "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
                "summary::text",
            ),
        };
        let sql = format!(
            "SELECT id, action, actor, {at} AS at, from_release, to_release, comment, {summary} AS summary \
             FROM release_audit ORDER BY id DESC"
        );
        on_pool!(&self.pool, |p| {
            let rows = sqlx::query(&sql).fetch_all(p).await?;
            rows.iter()
                .map(|r| {
                    let summary: String = r.try_get("summary")?;
                    Ok(AuditEntry {
                        id: r.try_get("id")?,
                        action: r.try_get("action")?,
                        actor: r.try_get("actor")?,
                        at: r.try_get("at")?,
                        from_release: r.try_get("from_release")?,
                        to_release: r.try_get("to_release")?,
                        comment: r.try_get("comment")?,
                        summary: serde_json::from_str(&summary)
                            .map_err(|e| StoreError::Corrupt(format!("audit summary: {e}")))?,
                    })
                })
                .collect()
        })
    }
}
