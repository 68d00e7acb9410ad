//! The one mapping from errors to HTTP: a stable JSON envelope
//! `{"error": {"code", "message", "details"?, "current"?}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::engine::{ApplyError, AuthError, EngineError, PicklistError, PromotionError, RuleError};
use crate::store::ed::schema::SchemaError;
use crate::store::StoreError;

/// The `Retry-After` (seconds) of a 503 answered because the database was
/// busy: a lock wait already took up to the configured lock wait, so a
/// client should not come straight back.
pub const BUSY_RETRY_AFTER_SECS: u32 = 1;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<Box<Value>>,
    current: Option<Box<Value>>,
    /// Seconds for a `Retry-After` header.
    retry_after: Option<u32>,
}

impl ApiError {
    /// An error with a status, a stable code and a message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            current: None,
            retry_after: None,
        }
    }

    /// 503 with `Retry-After`: the database was too busy to do it now
    /// (a lock not obtained within the lock wait, no connection free in
    /// time). Nothing was written; the same request may be sent again.
    pub fn busy(detail: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "database busy: answered 503");
        let mut err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the database is busy; nothing was changed, try again in a moment",
        );
        err.retry_after = Some(BUSY_RETRY_AFTER_SECS);
        err
    }

    /// Adds the per-field (or per-file) details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable error code (`too_large`, `validation_failed`, ...).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// 404 for a route that does not exist.
    pub fn no_route() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 401: no valid session or API token.
    pub fn unauthenticated() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in, or send an API token as `Authorization: Bearer <token>`",
        )
    }

    /// 403: a state-changing request made with the session cookie lacks the
    /// session's CSRF token.
    pub fn csrf_failed() -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_failed",
            "send the session's CSRF token (`csrf_token` of GET /api/v1/me) in the X-CSRF-Token header",
        )
    }

    /// 403: signed in, but not allowed to do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 500, with the detail kept for the logs only.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.details {
            error["details"] = *d;
        }
        if let Some(c) = self.current {
            error["current"] = *c;
        }
        let mut resp = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

/// The one mapping of store failures: busy (see [`StoreError::is_busy`])
/// is a 503 with `Retry-After`, anything else a logged 500.
impl From<StoreError> for ApiError {
    fn from(s: StoreError) -> Self {
        if s.is_busy() {
            ApiError::busy(&s)
        } else {
            ApiError::internal(&s)
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        match e {
            EngineError::UnknownEntity(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_entity", message),
            EngineError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
            EngineError::Invalid { errors, .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message)
                    .with_details(serde_json::to_value(errors).unwrap_or_default())
            }
            EngineError::Conflict { current, .. } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, "version_conflict", message);
                err.current = Some(Box::new(Value::Object(current.to_map())));
                err
            }
            EngineError::PreconditionRequired => {
                ApiError::new(StatusCode::PRECONDITION_REQUIRED, "if_match_required", message)
            }
            EngineError::BadRequest(_) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message),
            EngineError::UnknownCommand { .. } => ApiError::new(StatusCode::NOT_FOUND, "unknown_command", message),
            // A rule that threw or went past a limit: the user's request
            // met a rule that refused it, never a server error.
            EngineError::Rule(r) => {
                let detail = match &r {
                    RuleError::Script { rule, file, line, .. } | RuleError::Limit { rule, file, line, .. } => {
                        json!({ "rule": rule, "file": file, "line": line })
                    }
                    RuleError::BadValue { rule, field, .. } => json!({ "rule": rule, "field": field }),
                    RuleError::TooDeep(depth) => json!({ "depth": depth }),
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "rule_failed", message).with_details(detail)
            }
            EngineError::Store(s) => ApiError::from(s),
        }
    }
}

impl From<ApplyError> for ApiError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Metadata(errs) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_metadata",
                format!("the metadata has {} error(s)", errs.0.len()),
            )
            .with_details(serde_json::to_value(&errs.0).unwrap_or_default()),
            ApplyError::Schema(SchemaError::Refused(refusals)) => {
                let message = format!(
                    "the schema change was refused: {} problem(s) in the stored data",
                    refusals.len()
                );
                ApiError::new(StatusCode::CONFLICT, "schema_change_refused", message)
                    .with_details(serde_json::to_value(refusals).unwrap_or_default())
            }
            ApplyError::Schema(s @ SchemaError::LockTimeout { .. }) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "schema_locked", s.to_string())
            }
            ApplyError::StaleBase { base, live } => {
                let message = ApplyError::StaleBase { base, live }.to_string();
                ApiError::new(StatusCode::CONFLICT, "stale_base", message)
                    .with_details(json!({ "base_release": base, "live_release": live }))
            }
            ApplyError::Unconfirmed(steps) => ApiError::new(
                StatusCode::CONFLICT,
                "confirmation_required",
                format!(
                    "{} destructive step(s) must be confirmed by id or description in `confirm`",
                    steps.len()
                ),
            )
            .with_details(serde_json::to_value(steps).unwrap_or_default()),
            ApplyError::Store(s) | ApplyError::Schema(SchemaError::Store(s)) => ApiError::from(s),
            other => ApiError::internal(&other),
        }
    }
}

impl From<PromotionError> for ApiError {
    fn from(e: PromotionError) -> Self {
        let message = e.to_string();
        match e {
            PromotionError::Apply(a) => ApiError::from(a),
            PromotionError::UnknownRelease(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
            PromotionError::NotApplied(..) => ApiError::new(StatusCode::CONFLICT, "not_applied", message),
            PromotionError::BadExport(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_export", message),
            PromotionError::Tampered(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "checksum_mismatch", message)
            }
            PromotionError::Store(s) => ApiError::from(s),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let message = e.to_string();
        match e {
            // One answer for unknown users and wrong passwords.
            AuthError::BadCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message),
            AuthError::Invalid { field, message } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("the {field} is not valid"),
            )
            .with_details(json!([{ "field": field, "code": "invalid", "message": message }])),
            AuthError::UsernameTaken(_) => ApiError::new(StatusCode::CONFLICT, "username_taken", message),
            AuthError::UnknownUser(_) | AuthError::TokenNotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            AuthError::Store(s) => ApiError::from(s),
            AuthError::Internal(detail) => ApiError::internal(&detail),
        }
    }
}

impl From<PicklistError> for ApiError {
    fn from(e: PicklistError) -> Self {
        let message = e.to_string();
        match e {
            PicklistError::Forbidden => ApiError::forbidden(message),
            PicklistError::UnknownPicklist(_) | PicklistError::UnknownValue { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
            }
            PicklistError::Invalid(errors) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", message)
                    .with_details(serde_json::to_value(errors).unwrap_or_default())
            }
            PicklistError::Store(s) => ApiError::from(s),
        }
    }
}
