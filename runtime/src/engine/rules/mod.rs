//! Business rules in Rhai: the scripts of a release compiled once (ASTs in
//! the compiled model), bound to entity events, commands and computed
//! fields, and run sandboxed (see [`sandbox`]).
//!
//! This module is synchronous: it compiles and calls scripts. Running them
//! around a save (threads, the transaction) is `engine::saving`'s job.

mod api;
mod budget;
pub mod host;
mod sandbox;
mod this_check;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use rhai::{CallFnOptions, Dynamic, EvalAltResult, Scope, AST};

use crate::model::{
    decimal_shape, CommandDef, EntityDef, FieldType, MetadataError, MetadataErrors, Model, SCRIPTS_DIR,
};

pub use host::{CommandOutcome, Host};
pub use sandbox::{ScriptLimits, LIMITS};

/// How deeply saves may nest (a rule saving a record whose rule saves ...).
pub const MAX_DEPTH: u32 = 8;

/// Why a rule did not let a save (or a command) through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuleError {
    /// The script threw, or called something that does not exist.
    #[error("the rule {rule} failed: {message}")]
    Script {
        /// Which rule (`opportunity before_save (compute)`).
        rule: String,
        /// The script file (`scripts/opportunity.rhai`).
        file: String,
        /// The line in the file, when known.
        line: Option<usize>,
        /// What went wrong.
        message: String,
    },
    /// The script went past a sandbox limit.
    #[error("the rule {rule} was stopped: it went past the limit on {which}")]
    Limit {
        /// Which rule.
        rule: String,
        /// The script file.
        file: String,
        /// The line in the file, when known.
        line: Option<usize>,
        /// Which limit: operations, time, call depth, string size ...
        which: String,
    },
    /// A rule gave a field a value it cannot hold.
    #[error("the rule {rule} gave {field} a value it cannot hold: {message}")]
    BadValue {
        /// Which rule.
        rule: String,
        /// The field.
        field: String,
        /// Why.
        message: String,
    },
    /// Saves nested deeper than [`MAX_DEPTH`] (rules saving each other in a loop).
    #[error("rules saved records inside each other more than {0} levels deep; is there a loop?")]
    TooDeep(u32),
}

/// A computed field, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Computed {
    /// The field.
    pub field: String,
    /// Its type and scale, to fit the value.
    pub field_type: FieldType,
    /// Digits after the point (decimal types).
    pub scale: u32,
    /// Stored (computed on save) or virtual (computed on read).
    pub stored: bool,
    /// The function computing it in the entity's AST.
    function: String,
}

/// A command, with its function's arity.
#[derive(Debug, Clone)]
pub struct Command {
    /// The definition.
    pub def: CommandDef,
    /// Whether the function takes the parameters map.
    takes_params: bool,
}

/// The rules of one entity.
#[derive(Debug)]
pub struct EntityRules {
    /// The entity.
    pub entity: String,
    /// The script file, `scripts/<name>` (empty when only expressions).
    pub file: String,
    ast: AST,
    /// `on_new` handler.
    pub on_new: Option<String>,
    /// `validate` handler.
    pub validate: Option<String>,
    /// `before_save` handler.
    pub before_save: Option<String>,
    /// `after_save` handler.
    pub after_save: Option<String>,
    /// `before_delete` handler.
    pub before_delete: Option<String>,
    /// `after_delete` handler.
    pub after_delete: Option<String>,
    /// Field-change handlers, in declaration order.
    pub on_change: Vec<(String, String)>,
    /// Computed fields, in field order.
    pub computed: Vec<Computed>,
    /// Commands by name.
    pub commands: IndexMap<String, Command>,
    /// The line each function of the script starts on, for messages about
    /// errors Rhai gives no position for (limits).
    fn_lines: HashMap<String, usize>,
}

/// The compiled rules of a release, by entity.
pub type RuleSet = HashMap<String, Arc<EntityRules>>;

fn position(line: Option<usize>, col: Option<usize>) -> String {
    match (line, col) {
        (Some(l), Some(c)) => format!("line {l}, column {c}"),
        (Some(l), None) => format!("line {l}"),
        _ => String::new(),
    }
}

/// A syntax error in a script, where Rhai found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The line, from 1, when known.
    pub line: Option<usize>,
    /// The column, from 1, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Compiles a script's text with the rules' own engine and limits: its
/// (first) syntax error, if it has one. What `compile` reports for each
/// script of a package, for one text alone (the designer's script editor).
pub fn check_syntax(text: &str) -> Result<(), SyntaxError> {
    syntax(sandbox::engine(), text).map(|_| ())
}

fn syntax(engine: &rhai::Engine, text: &str) -> Result<AST, SyntaxError> {
    engine.compile(text).map_err(|e| {
        let p = e.position();
        SyntaxError {
            line: p.line(),
            column: p.position(),
            message: format!("syntax error: {}", e.err_type()),
        }
    })
}

/// Compiles every script of `model` and binds the entities' rules to them,
/// checking that each named function exists with the right number of
/// parameters. `paths` gives each entity's file, for messages. Every error
/// names its file and line (scripts) or path (YAML).
pub fn compile(model: &Model, paths: &HashMap<String, String>) -> Result<RuleSet, MetadataErrors> {
    let engine = sandbox::engine();
    let mut errors = Vec::new();
    let mut asts: HashMap<&str, AST> = HashMap::new();
    for (name, text) in &model.scripts {
        let file = format!("{SCRIPTS_DIR}/{name}");
        match syntax(engine, text) {
            Ok(mut ast) => {
                ast.set_source(file.as_str());
                asts.insert(name, ast);
            }
            Err(e) => errors.push(MetadataError::new(&file, position(e.line, e.column), e.message)),
        }
    }
    let mut set = RuleSet::new();
    for e in model.entities.values() {
        let yaml = paths
            .get(&e.name)
            .cloned()
            .unwrap_or_else(|| format!("{}.yaml", e.name));
        match bind(e, &yaml, &asts, &model.scripts, &mut errors) {
            Some(r) => {
                set.insert(e.name.clone(), Arc::new(r));
            }
            None => continue,
        }
    }
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(MetadataErrors(errors))
    }
}

/// The line of each `fn name(` of a script.
fn function_lines(text: &str) -> HashMap<String, usize> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rest = line.trim_start();
            let rest = rest.strip_prefix("private ").unwrap_or(rest).strip_prefix("fn ")?;
            let name = rest.split('(').next()?.trim();
            Some((name.to_owned(), i + 1))
        })
        .collect()
}

fn bind(
    e: &EntityDef,
    yaml: &str,
    asts: &HashMap<&str, AST>,
    texts: &IndexMap<String, String>,
    errors: &mut Vec<MetadataError>,
) -> Option<EntityRules> {
    let has_computed = e.fields.iter().any(|f| f.computed.is_some());
    if e.rules.is_none() && e.commands.is_empty() && !has_computed {
        return None;
    }
    let before = errors.len();
    let script = e.rules.as_ref().map(|r| r.script.as_str());
    let file = script.map(|s| format!("{SCRIPTS_DIR}/{s}")).unwrap_or_default();
    let base = match script {
        Some(s) => asts.get(s).cloned()?, // a missing file or a syntax error is reported already
        None => AST::empty(),
    };
    // Included scripts first, so the entity's own functions win a clash.
    let mut included = AST::empty();
    for inc in e.rules.iter().flat_map(|r| &r.include) {
        included = included.merge(asts.get(inc.as_str())?);
    }
    let base = if included.iter_functions().next().is_some() {
        let mut merged = included.merge(&base);
        merged.set_source(file.as_str());
        merged
    } else {
        base
    };
    // A plain call of a function that uses `this` runs it with `this`
    // unbound: refused here, at its script and line, not on every save.
    let users = this_check::users_of_this(&base);
    let own_and_included = script
        .into_iter()
        .chain(e.rules.iter().flat_map(|r| r.include.iter().map(String::as_str)));
    for name in own_and_included {
        let Some(ast) = asts.get(name) else { continue };
        for call in this_check::unbound_calls(ast, &users) {
            let err = MetadataError::new(
                format!("{SCRIPTS_DIR}/{name}"),
                position(call.line, call.column),
                call.message(),
            );
            if !errors.contains(&err) {
                errors.push(err);
            }
        }
    }
    let arity = |name: &str| -> Vec<usize> {
        base.iter_functions()
            .filter(|f| f.name == name)
            .map(|f| f.params.len())
            .collect()
    };
    let need = |errors: &mut Vec<MetadataError>, path: String, func: &str, allowed: &[usize], what: &str| {
        let found = arity(func);
        if found.is_empty() {
            errors.push(MetadataError::new(
                yaml,
                &path,
                format!("no function `{func}` in {file}"),
            ));
        } else if !found.iter().any(|n| allowed.contains(n)) {
            errors.push(MetadataError::new(
                yaml,
                &path,
                format!(
                    "`{func}` in {file} takes {} parameter(s); {what}",
                    found.first().copied().unwrap_or_default()
                ),
            ));
        }
    };
    if let Some(rules) = &e.rules {
        for (key, func) in rules.handlers() {
            need(
                errors,
                format!("rules.{key}"),
                func,
                &[0],
                "a handler takes none (`this` is the record)",
            );
        }
    }
    for (i, c) in e.commands.iter().enumerate() {
        need(
            errors,
            format!("commands[{i}].function"),
            &c.function,
            &[0, 1],
            "a command's function takes none or one (the parameters map)",
        );
    }
    let mut ast = base.clone();
    let mut computed = Vec::new();
    for (i, f) in e.fields.iter().enumerate() {
        let Some(c) = &f.computed else { continue };
        let function = match (&c.expression, &c.function) {
            (Some(expr), _) => {
                let function = format!("relata_computed_{}", f.name);
                let path = format!("fields[{i}].computed.expression");
                // On its own line of a function, so `this` is the record
                // and the error positions are the expression's own (line - 1).
                match sandbox::engine().compile(format!("fn {function}() {{\n{expr}\n}}")) {
                    Ok(mut wrapper) => {
                        if let Some(call) = this_check::unbound_calls(&wrapper, &users).first() {
                            errors.push(MetadataError::new(yaml, &path, call.message()));
                        }
                        wrapper.set_source(format!("{yaml} ({path})"));
                        ast = ast.merge(&wrapper);
                    }
                    Err(err) => {
                        let p = err.position();
                        let last = expr.lines().count().max(1);
                        let line = p.line().map(|l| l.saturating_sub(1).clamp(1, last));
                        errors.push(MetadataError::new(
                            yaml,
                            path,
                            format!("{}: {}", position(line, p.position()), err.err_type()),
                        ));
                    }
                }
                function
            }
            (None, Some(func)) => {
                need(
                    errors,
                    format!("fields[{i}].computed.function"),
                    func,
                    &[0],
                    "a computed field's function takes none (`this` is the record) and returns the value",
                );
                func.clone()
            }
            (None, None) => continue,
        };
        computed.push(Computed {
            field: f.name.clone(),
            field_type: f.field_type,
            scale: if f.field_type.is_decimal() {
                decimal_shape(f).1
            } else {
                0
            },
            stored: c.stored,
            function,
        });
    }
    if errors.len() > before {
        return None;
    }
    let commands = e
        .commands
        .iter()
        .map(|c| {
            let takes_params = !arity(&c.function).contains(&0);
            (
                c.name.clone(),
                Command {
                    def: c.clone(),
                    takes_params,
                },
            )
        })
        .collect();
    let rules = e.rules.clone().unwrap_or_default();
    let fn_lines = script
        .and_then(|s| texts.get(s))
        .map(|t| function_lines(t))
        .unwrap_or_default();
    Some(EntityRules {
        fn_lines,
        entity: e.name.clone(),
        file,
        ast,
        on_new: rules.on_new,
        validate: rules.validate,
        before_save: rules.before_save,
        after_save: rules.after_save,
        before_delete: rules.before_delete,
        after_delete: rules.after_delete,
        on_change: rules.on_change.into_iter().collect(),
        computed,
        commands,
    })
}

impl EntityRules {
    /// Whether anything runs before a new record is written.
    pub fn runs_before_save(&self) -> bool {
        self.on_new.is_some() || self.runs_before_update()
    }

    /// Whether anything runs before a change to a stored record is written
    /// (`on_new` does not: an entity with only `on_new` updates as fast as
    /// one without rules, with no read of the stored record first).
    pub fn runs_before_update(&self) -> bool {
        self.validate.is_some()
            || self.before_save.is_some()
            || !self.on_change.is_empty()
            || self.computed.iter().any(|c| c.stored)
    }

    /// The virtual computed fields.
    pub fn virtual_fields(&self) -> impl Iterator<Item = &Computed> {
        self.computed.iter().filter(|c| !c.stored)
    }

    /// Calls `function` with `this` bound to `record`, under the sandbox's
    /// limits; `event` names the rule in messages.
    pub fn call(
        &self,
        host: &Host,
        event: &str,
        function: &str,
        record: &mut Dynamic,
        args: Vec<Dynamic>,
    ) -> Result<Dynamic, RuleError> {
        let rule = format!("{} {event} ({function})", self.entity);
        // A slot among the calls computing at once bounds their memory and
        // CPU together; a call that waits a whole time limit for one says so.
        let Some(_slot) = budget::Slot::take(LIMITS.max_time) else {
            return Err(RuleError::Limit {
                rule,
                file: self.file.clone(),
                line: None,
                which: format!(
                    "scripts running at once ({}; none finished within {} ms)",
                    LIMITS.max_concurrent,
                    LIMITS.max_time.as_millis()
                ),
            });
        };
        let result = budget::with_call(LIMITS.max_time, || {
            let options = CallFnOptions::new()
                .eval_ast(false)
                .rewind_scope(true)
                .bind_this_ptr(record)
                .with_tag(host.clone());
            sandbox::engine().call_fn_with_options::<Dynamic>(options, &mut Scope::new(), &self.ast, function, args)
        });
        let out = result.map_err(|e| self.explain(&rule, function, &e, host.wanted_database()))?;
        if let Some(why) = host.failure() {
            return Err(RuleError::Script {
                rule,
                file: self.file.clone(),
                line: None,
                message: why,
            });
        }
        Ok(out)
    }

    /// Evaluates computed field `c` on `record` (a map).
    pub fn compute(&self, host: &Host, c: &Computed, record: &mut Dynamic) -> Result<serde_json::Value, RuleError> {
        let v = self.call(host, &format!("computed {}", c.field), &c.function, record, Vec::new())?;
        value::field_json(c.field_type, c.scale, &v).map_err(|message| RuleError::BadValue {
            rule: format!("{} computed {}", self.entity, c.field),
            field: c.field.clone(),
            message,
        })
    }

    /// Runs command `name`'s function with its parameters.
    pub fn command(
        &self,
        host: &Host,
        name: &str,
        record: &mut Dynamic,
        params: rhai::Map,
    ) -> Result<Dynamic, RuleError> {
        let Some(c) = self.commands.get(name) else {
            return Ok(Dynamic::UNIT);
        };
        let args = if c.takes_params {
            vec![Dynamic::from_map(params)]
        } else {
            Vec::new()
        };
        self.call(host, &format!("command {name}"), &c.def.function, record, args)
    }

    fn explain(&self, rule: &str, function: &str, e: &EvalAltResult, quiet: bool) -> RuleError {
        let inner = e.unwrap_inner();
        let line = inner
            .position()
            .line()
            .or_else(|| e.position().line())
            .or_else(|| self.fn_lines.get(function).copied());
        let file = match inner {
            EvalAltResult::ErrorInFunctionCall(_, src, ..) if !src.is_empty() => src.clone(),
            _ => self.file.clone(),
        };
        let limit = |which: &str| RuleError::Limit {
            rule: rule.to_owned(),
            file: file.clone(),
            line,
            which: which.to_owned(),
        };
        let err = match inner {
            EvalAltResult::ErrorTooManyOperations(..) => limit(&format!("operations ({})", LIMITS.max_operations)),
            EvalAltResult::ErrorStackOverflow(..) => limit(&format!("call depth ({})", LIMITS.max_call_levels)),
            EvalAltResult::ErrorDataTooLarge(what, ..) => limit(&match what.as_str() {
                budget::CALL_DATA => format!(
                    "data size ({} MiB in all its variables and the record)",
                    LIMITS.max_data_size >> 20
                ),
                budget::TOTAL => format!(
                    "data of all scripts running at once ({} MiB)",
                    LIMITS.max_total_data >> 20
                ),
                budget::DEPTH => format!("data nesting ({} levels of arrays and maps)", LIMITS.max_data_depth),
                other => other.to_lowercase(),
            }),
            EvalAltResult::ErrorTerminated(..) => limit(&format!("time ({} ms)", LIMITS.max_time.as_millis())),
            EvalAltResult::ErrorTooManyVariables(..) => limit("variables"),
            EvalAltResult::ErrorFunctionNotFound(sig, ..) => RuleError::Script {
                rule: rule.to_owned(),
                file: file.clone(),
                line,
                message: format!("it calls a function that does not exist: {sig}"),
            },
            EvalAltResult::ErrorRuntime(v, ..) => RuleError::Script {
                rule: rule.to_owned(),
                file: file.clone(),
                line,
                message: v.to_string(),
            },
            other => RuleError::Script {
                rule: rule.to_owned(),
                file: file.clone(),
                line,
                message: other.to_string(),
            },
        };
        if !quiet {
            tracing::warn!(rule, file = %file, line = ?line, error = %e, "a business rule failed");
        }
        err
    }
}
