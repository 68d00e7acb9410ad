//! A compile-time check of how functions that use `this` are called.
//!
//! Rhai binds `this` only for the function the engine calls (a handler, a
//! command, a computed field) and for method-style calls (`this.helper()`).
//! A plain call (`helper()`) runs the function with `this` unbound, and
//! every use of `this` in it fails at run time, whatever the data: so such a
//! call is refused when the package is checked, at its script and line.

use std::collections::HashSet;

use rhai::{ASTNode, Expr, Stmt, AST};

/// The functions of `ast` (name, number of parameters) whose body uses `this`.
pub fn users_of_this(ast: &AST) -> HashSet<(String, usize)> {
    ast.iter_functions()
        .filter(|f| {
            let (name, arity) = (f.name, f.params.len());
            // (Not `clone_functions_only_filtered`: into an empty library it
            // copies every function, unfiltered.)
            let mut only = ast.clone_functions_only();
            only.retain_functions(|_, _, n, a| n == name && a == arity);
            let mut uses = false;
            only.walk(&mut |path: &[ASTNode<'_>]| {
                uses |= matches!(path.last(), Some(ASTNode::Expr(Expr::ThisPtr(_))));
                !uses
            });
            uses
        })
        .map(|f| (f.name.to_owned(), f.params.len()))
        .collect()
}

/// A plain call, in `ast`, of one of `users`: the function called, and the
/// line and column of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnboundCall {
    /// The function called.
    pub function: String,
    /// The line of the call.
    pub line: Option<usize>,
    /// The column of the call.
    pub column: Option<usize>,
}

impl UnboundCall {
    /// What the analyst reads.
    pub fn message(&self) -> String {
        let f = &self.function;
        format!(
            "`{f}(..)` is called without `this`, but `{f}` uses `this` (the record): \
             call it as `this.{f}(..)`, or pass what it needs as parameters"
        )
    }
}

/// Every plain (not method-style) call in `ast` of a function of `users`.
pub fn unbound_calls(ast: &AST, users: &HashSet<(String, usize)>) -> Vec<UnboundCall> {
    let mut out = Vec::new();
    if users.is_empty() {
        return out;
    }
    ast.walk(&mut |path: &[ASTNode<'_>]| {
        // A call is an expression, or a statement of its own (`helper();`).
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) | Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => {
                Some((call, pos))
            }
            _ => None,
        };
        if let Some((call, pos)) = call {
            let key = (call.name.to_string(), call.args.len());
            if users.contains(&key) {
                out.push(UnboundCall {
                    function: key.0,
                    line: pos.line(),
                    column: pos.position(),
                });
            }
        }
        true
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(script: &str) -> Vec<(String, Option<usize>)> {
        let ast = match super::super::sandbox::engine().compile(script) {
            Ok(ast) => ast,
            Err(e) => panic!("{e}"),
        };
        let users = users_of_this(&ast);
        unbound_calls(&ast, &users)
            .into_iter()
            .map(|c| (c.function, c.line))
            .collect()
    }

    #[test]
    fn plain_calls_of_functions_that_use_this_are_found() {
        let script = "fn handler() {\n    set_total();\n    this.set_total();\n    let t = total_of(this.lines);\n    twice(2);\n}\n\
                      fn set_total() { this.total = 1; }\n\
                      fn total_of(lines) { lines.len() }\n\
                      fn twice(x) { x * 2 }\n";
        assert_eq!(calls(script), [("set_total".to_owned(), Some(2))]);
    }

    #[test]
    fn method_calls_and_parameters_are_fine() {
        assert_eq!(
            calls("fn a() { this.b(); c(this); }\nfn b() { this.x = 1; }\nfn c(r) { r.x }\n"),
            []
        );
    }
}
