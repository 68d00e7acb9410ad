//! The host side of the script API: the functions that reach the record
//! being saved, other records (through the engine, in the save's
//! transaction), the user, and what a command returns.
//!
//! A script runs on a blocking thread; its [`Host`] (the call's Rhai tag)
//! sends each database request over a channel to the async task that owns
//! the transaction and waits for the answer.

use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, Map, NativeCallContext};
use serde_json::Value as Json;
use tokio::sync::{mpsc, oneshot};

use super::api::fail;
use super::value::{record_to_dynamic, to_dynamic, to_json};
use crate::engine::compiled::CompiledModel;
use crate::engine::payload::FieldError;
use crate::model::zone::Zone;

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// What a script asks of the database.
#[derive(Debug)]
pub enum HostRequest {
    /// `find(entity, id)`.
    Find {
        /// The entity.
        entity: String,
        /// The id.
        id: String,
    },
    /// `query(entity, params)`: the record API's list parameters.
    Query {
        /// The entity.
        entity: String,
        /// `key=value` parameters, as in `GET /api/v1/records/{entity}`.
        params: Vec<(String, String)>,
    },
    /// `create(entity, values)`.
    Create {
        /// The entity.
        entity: String,
        /// The values.
        values: Json,
    },
    /// `update(entity, id, values)`.
    Update {
        /// The entity.
        entity: String,
        /// The id.
        id: String,
        /// The changed values.
        values: Json,
    },
    /// `delete(entity, id)`.
    Delete {
        /// The entity.
        entity: String,
        /// The id.
        id: String,
    },
    /// `user()`.
    User,
}

/// A refused request. `fatal` ones (a failed write) fail the whole save
/// even if the script catches them: the transaction may be unusable.
#[derive(Debug, Clone)]
pub struct HostFailure {
    /// What went wrong, for the script (and the user).
    pub message: String,
    /// The save cannot go on.
    pub fatal: bool,
}

/// One request and where to answer it.
#[derive(Debug)]
pub struct Call {
    /// The request.
    pub request: HostRequest,
    /// The answer: JSON (a record, a list of records, a user, or null).
    pub reply: oneshot::Sender<Result<Json, HostFailure>>,
}

/// Where a command sends the user afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CommandOutcome {
    /// A message to show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A record (`{entity, id}`) or a URL (`{url}`) to open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<Json>,
}

/// The state of one script call, shared with the host functions.
#[derive(Debug)]
pub struct HostState {
    /// The model the save runs on.
    pub model: Arc<CompiledModel>,
    /// The channel to the transaction's owner; `None` where the database is
    /// out of reach (computed fields evaluated on read).
    pub link: Option<mpsc::UnboundedSender<Call>>,
    /// The record's values before the save (`()` for a new record).
    pub old: Dynamic,
    /// The fields the save changes.
    pub changed: Vec<String>,
    /// `error(field, message)` calls.
    pub errors: Mutex<Vec<FieldError>>,
    /// `message()` / `open()` calls of a command.
    pub outcome: Mutex<CommandOutcome>,
    /// A write that failed: the save fails with it.
    pub failure: Mutex<Option<String>>,
    user: Mutex<Option<Json>>,
    /// Run inline (no database link): a database request stops the script
    /// and marks it to be run again on a thread with a link.
    inline: bool,
    wanted_database: std::sync::atomic::AtomicBool,
}

/// The tag of a script call: a handle on its [`HostState`].
#[derive(Debug, Clone)]
pub struct Host(pub Arc<HostState>);

impl Host {
    /// A host for one save.
    pub fn new(
        model: Arc<CompiledModel>,
        link: Option<mpsc::UnboundedSender<Call>>,
        old: Dynamic,
        changed: Vec<String>,
    ) -> Host {
        Host(Arc::new(HostState {
            model,
            link,
            old,
            changed,
            errors: Mutex::default(),
            outcome: Mutex::default(),
            failure: Mutex::default(),
            user: Mutex::default(),
            inline: false,
            wanted_database: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// A host for a first, inline run of rules that may never reach the
    /// database: if they do, the run stops and [`Host::wanted_database`] says so.
    pub fn inline(model: Arc<CompiledModel>, old: Dynamic, changed: Vec<String>) -> Host {
        let mut h = Host::new(model, None, old, changed);
        if let Some(state) = Arc::get_mut(&mut h.0) {
            state.inline = true;
        }
        h
    }

    /// Whether an inline run stopped at a database request.
    pub fn wanted_database(&self) -> bool {
        self.0.wanted_database.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn call(&self, what: &str, request: HostRequest) -> Fallible<Json> {
        if let Some(why) = self.failure() {
            return fail(why);
        }
        let Some(link) = &self.0.link else {
            if self.0.inline {
                self.0.wanted_database.store(true, std::sync::atomic::Ordering::Relaxed);
                return fail("relata: this rule needs the database; running it again on a thread");
            }
            return fail(format!("{what}() is not available in a computed field"));
        };
        let (reply, answer) = oneshot::channel();
        if link.send(Call { request, reply }).is_err() {
            return fail("the save this rule belongs to has ended");
        }
        // Waiting, this call computes nothing: its slot goes to the
        // nested save's scripts (which could not run without one).
        match super::budget::without_slot(|| answer.blocking_recv()) {
            Ok(Ok(json)) => Ok(json),
            Ok(Err(f)) => {
                if f.fatal {
                    if let Ok(mut slot) = self.0.failure.lock() {
                        slot.get_or_insert_with(|| f.message.clone());
                    }
                }
                fail(f.message)
            }
            Err(_) => fail("the save this rule belongs to has ended"),
        }
    }

    /// The failure that ends the save, if a write failed.
    pub fn failure(&self) -> Option<String> {
        self.0.failure.lock().ok().and_then(|f| f.clone())
    }

    /// The field errors reported with `error()`.
    pub fn take_errors(&self) -> Vec<FieldError> {
        self.0
            .errors
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }

    /// What a command asked to show or open.
    pub fn outcome(&self) -> CommandOutcome {
        self.0.outcome.lock().map(|o| o.clone()).unwrap_or_default()
    }

    fn record(&self, entity: &str, json: &Json) -> Dynamic {
        match (json, self.0.model.entity(entity)) {
            (Json::Object(o), Some(e)) => Dynamic::from_map(record_to_dynamic(&e.def, o)),
            _ => to_dynamic(json, false),
        }
    }

    fn user(&self) -> Fallible<Json> {
        if let Some(u) = self.0.user.lock().ok().and_then(|u| u.clone()) {
            return Ok(u);
        }
        let u = self.call("user", HostRequest::User)?;
        if let Ok(mut slot) = self.0.user.lock() {
            *slot = Some(u.clone());
        }
        Ok(u)
    }

    fn locale(&self) -> String {
        self.user()
            .ok()
            .and_then(|u| u.get("locale").and_then(Json::as_str).map(str::to_owned))
            .unwrap_or_else(|| "en".into())
    }
}

/// The calendar of the running script: the installation's zone in a rule,
/// UTC outside one.
pub(super) fn zone_of(ctx: &NativeCallContext<'_>) -> Zone {
    ctx.tag()
        .and_then(|t| t.clone().try_cast::<Host>())
        .map(|h| h.0.model.time_zone.clone())
        .unwrap_or_default()
}

fn host(ctx: &NativeCallContext<'_>) -> Fallible<Host> {
    match ctx.tag().and_then(|t| t.clone().try_cast::<Host>()) {
        Some(h) => Ok(h),
        None => fail("this function is only available in a business rule"),
    }
}

fn values(map: Map) -> Fallible<Json> {
    match to_json(&Dynamic::from_map(map)) {
        Ok(j) => Ok(j),
        Err(e) => fail(e),
    }
}

fn params(map: &Map) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            let v = if v.is_string() {
                v.to_string()
            } else {
                to_json(v).map(|j| j.to_string()).unwrap_or_default()
            };
            (k.to_string(), v)
        })
        .collect()
}

/// Registers the host functions on `e`.
pub(super) fn register(e: &mut Engine) {
    e.register_fn("old", |ctx: NativeCallContext<'_>| -> Fallible<Dynamic> {
        Ok(host(&ctx)?.0.old.clone())
    });
    e.register_fn("changed", |ctx: NativeCallContext<'_>, field: &str| -> Fallible<bool> {
        Ok(host(&ctx)?.0.changed.iter().any(|f| f == field))
    });
    e.register_fn(
        "error",
        |ctx: NativeCallContext<'_>, field: &str, message: &str| -> Fallible<()> {
            push_error(&host(&ctx)?, field, message.to_owned());
            Ok(())
        },
    );
    e.register_fn(
        "error",
        |ctx: NativeCallContext<'_>, field: &str, message: Map| -> Fallible<()> {
            let h = host(&ctx)?;
            let text = in_language(&h, &message);
            push_error(&h, field, text);
            Ok(())
        },
    );
    e.register_fn(
        "find",
        |ctx: NativeCallContext<'_>, entity: &str, id: &str| -> Fallible<Dynamic> {
            let h = host(&ctx)?;
            let found = h.call(
                "find",
                HostRequest::Find {
                    entity: entity.into(),
                    id: id.into(),
                },
            )?;
            Ok(h.record(entity, &found))
        },
    );
    e.register_fn(
        "query",
        |ctx: NativeCallContext<'_>, entity: &str, q: Map| -> Fallible<Dynamic> {
            let h = host(&ctx)?;
            let found = h.call(
                "query",
                HostRequest::Query {
                    entity: entity.into(),
                    params: params(&q),
                },
            )?;
            let rows = found
                .as_array()
                .map(|a| a.iter().map(|r| h.record(entity, r)).collect())
                .unwrap_or_default();
            Ok(Dynamic::from_array(rows))
        },
    );
    e.register_fn(
        "create",
        |ctx: NativeCallContext<'_>, entity: &str, v: Map| -> Fallible<Dynamic> {
            let h = host(&ctx)?;
            let made = h.call(
                "create",
                HostRequest::Create {
                    entity: entity.into(),
                    values: values(v)?,
                },
            )?;
            Ok(h.record(entity, &made))
        },
    );
    e.register_fn(
        "update",
        |ctx: NativeCallContext<'_>, entity: &str, id: &str, v: Map| -> Fallible<Dynamic> {
            let h = host(&ctx)?;
            let request = HostRequest::Update {
                entity: entity.into(),
                id: id.into(),
                values: values(v)?,
            };
            let saved = h.call("update", request)?;
            Ok(h.record(entity, &saved))
        },
    );
    e.register_fn(
        "delete",
        |ctx: NativeCallContext<'_>, entity: &str, id: &str| -> Fallible<()> {
            host(&ctx)?.call(
                "delete",
                HostRequest::Delete {
                    entity: entity.into(),
                    id: id.into(),
                },
            )?;
            Ok(())
        },
    );
    e.register_fn(
        "picklist_data",
        |ctx: NativeCallContext<'_>, list: &str, code: &str| -> Fallible<Dynamic> {
            let h = host(&ctx)?;
            let Some(p) = h.0.model.model.picklists.get(list) else {
                return fail(format!("picklist_data: there is no pick list `{list}`"));
            };
            Ok(p.values.iter().find(|v| v.code == code).map_or(Dynamic::UNIT, |v| {
                let data: serde_json::Map<String, Json> = v.data.clone().into_iter().collect();
                to_dynamic(&Json::Object(data), false)
            }))
        },
    );
    e.register_fn(
        "picklist_data",
        |ctx: NativeCallContext<'_>, list: &str, _code: ()| -> Fallible<Dynamic> {
            let h = host(&ctx)?;
            if h.0.model.model.picklists.contains_key(list) {
                Ok(Dynamic::UNIT)
            } else {
                fail(format!("picklist_data: there is no pick list `{list}`"))
            }
        },
    );
    e.register_fn("user", |ctx: NativeCallContext<'_>| -> Fallible<Dynamic> {
        Ok(to_dynamic(&host(&ctx)?.user()?, false))
    });
    e.register_fn("message", |ctx: NativeCallContext<'_>, text: &str| -> Fallible<()> {
        if let Ok(mut o) = host(&ctx)?.0.outcome.lock() {
            o.message = Some(text.to_owned());
        }
        Ok(())
    });
    e.register_fn("message", |ctx: NativeCallContext<'_>, texts: Map| -> Fallible<()> {
        let h = host(&ctx)?;
        let text = in_language(&h, &texts);
        if let Ok(mut o) = h.0.outcome.lock() {
            o.message = Some(text);
        }
        Ok(())
    });
    e.register_fn(
        "open",
        |ctx: NativeCallContext<'_>, entity: &str, id: &str| -> Fallible<()> {
            if let Ok(mut o) = host(&ctx)?.0.outcome.lock() {
                o.open = Some(serde_json::json!({ "entity": entity, "id": id }));
            }
            Ok(())
        },
    );
    e.register_fn("open_url", |ctx: NativeCallContext<'_>, url: &str| -> Fallible<()> {
        if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) {
            return fail(format!(
                "open_url(\"{url}\"): expected an http(s) URL or a path starting with /"
            ));
        }
        if let Ok(mut o) = host(&ctx)?.0.outcome.lock() {
            o.open = Some(serde_json::json!({ "url": url }));
        }
        Ok(())
    });
}

/// The text of a map by language (`#{ en: .., "zh-CN": .. }`) in the
/// user's language, else the English one, else empty.
fn in_language(h: &Host, texts: &Map) -> String {
    let locale = h.locale();
    texts
        .get(locale.as_str())
        .or_else(|| texts.get("en"))
        .map(ToString::to_string)
        .unwrap_or_default()
}

fn push_error(h: &Host, field: &str, message: String) {
    if let Ok(mut errs) = h.0.errors.lock() {
        errs.push(FieldError::new(
            if field.is_empty() { "_" } else { field },
            "rule",
            message,
        ));
    }
}
