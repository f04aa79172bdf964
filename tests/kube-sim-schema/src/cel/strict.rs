//! CEL semantics cel-interpreter 0.10 gets wrong, fixed by lowering the parsed AST before it is
//! evaluated with `Value::resolve`:
//!
//! - `a || b` / `a && b` absorb an error on one side when the other side decides the result
//!   (`self.x > 0 || !has(self.x)` is true when `x` is absent), as cel-go does;
//! - `list[i]` out of range and `map[k]` with a missing key are errors (cel-go's
//!   `index '3' out of range in list size '1'` and `no such key: k`), not `null`;
//! - macros taking a variable (`optMap(v, body)`) are not resolved eagerly.
//!
//! cel-interpreter resolves the first argument of every one- and two-argument call before looking
//! at the function, so the lowered calls carry a leading dummy argument to reach three.

use std::sync::Arc;

use cel_interpreter::objects::Key;
use cel_interpreter::{Context, ExecutionError, FunctionContext, Value as Cel};
use cel_parser::ast::{
    CallExpr, ComprehensionExpr, EntryExpr, Expr, IdedExpr, ListExpr, MapExpr, SelectExpr,
};
use cel_parser::reference::Val;

const OR: &str = "or__";
const AND: &str = "and__";
const INDEX: &str = "index__";

fn dummy() -> IdedExpr {
    IdedExpr {
        id: 0,
        expr: Expr::Literal(Val::Int(0)),
    }
}

#[allow(clippy::boxed_local)] // the AST owns boxed children; lowering moves them
fn boxed(e: Box<IdedExpr>) -> Box<IdedExpr> {
    Box::new(lower(*e))
}

/// Rewrites the calls listed in the module docs, recursively.
pub(crate) fn lower(e: IdedExpr) -> IdedExpr {
    let id = e.id;
    let expr = match e.expr {
        Expr::Call(call) => {
            let target = call.target.map(boxed);
            let args: Vec<IdedExpr> = call.args.into_iter().map(lower).collect();
            let renamed = match call.func_name.as_str() {
                "_||_" if args.len() == 2 && target.is_none() => Some(OR),
                "_&&_" if args.len() == 2 && target.is_none() => Some(AND),
                "_[_]" if args.len() == 2 && target.is_none() => Some(INDEX),
                _ => None,
            };
            match renamed {
                Some(name) => {
                    let mut a = vec![dummy()];
                    a.extend(args);
                    Expr::Call(CallExpr {
                        func_name: name.to_string(),
                        target,
                        args: a,
                    })
                }
                None if matches!(call.func_name.as_str(), "optMap" | "optFlatMap") && args.len() == 2 => {
                    let mut a = vec![dummy()];
                    a.extend(args);
                    Expr::Call(CallExpr {
                        func_name: call.func_name,
                        target,
                        args: a,
                    })
                }
                None => Expr::Call(CallExpr {
                    func_name: call.func_name,
                    target,
                    args,
                }),
            }
        }
        Expr::Select(s) => Expr::Select(SelectExpr {
            operand: boxed(s.operand),
            field: s.field,
            test: s.test,
        }),
        Expr::Comprehension(c) => Expr::Comprehension(ComprehensionExpr {
            iter_range: boxed(c.iter_range),
            iter_var: c.iter_var,
            iter_var2: c.iter_var2,
            accu_var: c.accu_var,
            accu_init: boxed(c.accu_init),
            loop_cond: boxed(c.loop_cond),
            loop_step: boxed(c.loop_step),
            result: boxed(c.result),
        }),
        Expr::List(l) => Expr::List(ListExpr {
            elements: l.elements.into_iter().map(lower).collect(),
        }),
        Expr::Map(m) => Expr::Map(MapExpr {
            entries: m
                .entries
                .into_iter()
                .map(|mut entry| {
                    if let EntryExpr::MapEntry(me) = &mut entry.expr {
                        me.key = lower(std::mem::take(&mut me.key));
                        me.value = lower(std::mem::take(&mut me.value));
                    }
                    entry
                })
                .collect(),
        }),
        other => other,
    };
    IdedExpr { id, expr }
}

fn arg(ftx: &FunctionContext, i: usize) -> Result<Cel, ExecutionError> {
    let e = ftx
        .args
        .get(i)
        .ok_or_else(|| ExecutionError::invalid_argument_count(i + 1, ftx.args.len()))?;
    Cel::resolve(e, ftx.ptx)
}

fn no_overload(ftx: &FunctionContext) -> ExecutionError {
    ExecutionError::function_error(ftx.name.as_str(), "no such overload")
}

/// `||` (`short` = true) and `&&` (`short` = false) with cel-go's error absorption.
fn logic(ftx: &FunctionContext, short: bool) -> Result<Cel, ExecutionError> {
    let left = arg(ftx, 1);
    if let Ok(Cel::Bool(b)) = &left
        && *b == short
    {
        return Ok(Cel::Bool(short));
    }
    let right = arg(ftx, 2);
    match (left, right) {
        (_, Ok(Cel::Bool(b))) if b == short => Ok(Cel::Bool(short)),
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Ok(Cel::Bool(_)), Ok(Cel::Bool(_))) => Ok(Cel::Bool(!short)),
        _ => Err(no_overload(ftx)),
    }
}

fn index(ftx: &FunctionContext) -> Result<Cel, ExecutionError> {
    let container = arg(ftx, 1)?;
    let i = arg(ftx, 2)?;
    match (&container, &i) {
        (Cel::List(items), Cel::Int(_) | Cel::UInt(_)) => {
            let n = match i {
                Cel::Int(n) => n,
                Cel::UInt(u) => i64::try_from(u).unwrap_or(i64::MAX),
                _ => -1,
            };
            // cel-go: "index '3' out of range in list size '1'".
            usize::try_from(n)
                .ok()
                .and_then(|n| items.get(n).cloned())
                .ok_or_else(|| {
                    ExecutionError::function_error(
                        "index",
                        format!("index '{n}' out of range in list size '{}'", items.len()),
                    )
                })
        }
        (Cel::Map(m), k) => {
            let key: Key = k.clone().try_into().map_err(|_| no_overload(ftx))?;
            m.get(&key)
                .cloned()
                .ok_or_else(|| ExecutionError::NoSuchKey(Arc::new(key.to_string())))
        }
        _ => Err(no_overload(ftx)),
    }
}

/// Registers the lowered operators.
pub(crate) fn register(ctx: &mut Context) {
    ctx.add_function(OR, |ftx: &FunctionContext| logic(ftx, true));
    ctx.add_function(AND, |ftx: &FunctionContext| logic(ftx, false));
    ctx.add_function(INDEX, index);
}
