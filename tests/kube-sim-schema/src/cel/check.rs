//! A light static check of rules, standing in for cel-go's type checker at CRD-create time:
//! unknown identifiers (`undeclared reference to 'x'`) and fields a structural schema does not
//! declare (`undefined field 'x'`) are compile errors, as on the real server.

use cel_parser::ast::{EntryExpr, Expr, IdedExpr};

use crate::schema::Node;

const GLOBALS: [&str; 3] = ["optional", "format", "sets"];

struct Checker<'a> {
    /// Bound variables (macro and comprehension variables), typed when known.
    scopes: Vec<(String, Option<Typed<'a>>)>,
    self_node: &'a Node,
    is_root: bool,
    /// `oldSelf` is an optional when `optionalOldSelf` is set: its fields are not checked.
    old_self_optional: bool,
}

/// What an expression refers to: a schema node (and whether it is the resource root), or unknown.
#[derive(Clone, Copy)]
struct Typed<'a> {
    node: &'a Node,
    is_root: bool,
}

/// Checks `expr` (a rule on `node`); `Err` holds cel-go's error text.
pub(crate) fn check(
    expr: &IdedExpr,
    node: &Node,
    is_root: bool,
    old_self_optional: bool,
) -> Result<(), String> {
    let mut c = Checker {
        scopes: Vec::new(),
        self_node: node,
        is_root,
        old_self_optional,
    };
    c.walk(expr).map(|_| ())
}

fn object_like(n: &Node) -> bool {
    n.type_.as_deref() == Some("object") && !n.preserve_unknown
}

impl<'a> Checker<'a> {
    fn walk(&mut self, e: &IdedExpr) -> Result<Option<Typed<'a>>, String> {
        match &e.expr {
            Expr::Ident(name) => {
                if let Some((_, t)) = self.scopes.iter().rev().find(|(s, _)| s == name) {
                    return Ok(*t);
                }
                match name.as_str() {
                    "self" => Ok(Some(Typed {
                        node: self.self_node,
                        is_root: self.is_root,
                    })),
                    "oldSelf" if self.old_self_optional => Ok(None),
                    "oldSelf" => Ok(Some(Typed {
                        node: self.self_node,
                        is_root: self.is_root,
                    })),
                    n if GLOBALS.contains(&n) => Ok(None),
                    n => Err(format!("undeclared reference to '{n}' (in container '')")),
                }
            }
            Expr::Select(sel) => {
                let Some(t) = self.walk(&sel.operand)? else {
                    return Ok(None);
                };
                self.field(t, &sel.field)
            }
            Expr::Call(call) => {
                if let Some(t) = &call.target {
                    self.walk(t)?;
                }
                if call.func_name == "_[_]" && call.args.len() == 2 {
                    let container = self.walk(&call.args[0])?;
                    self.walk(&call.args[1])?;
                    return Ok(container.and_then(|t| {
                        let node = t.node.items.as_deref().or_else(|| t.node.additional_schema())?;
                        Some(Typed { node, is_root: false })
                    }));
                }
                if matches!(call.func_name.as_str(), "optMap" | "optFlatMap")
                    && let [var, body] = call.args.as_slice()
                    && let Expr::Ident(var) = &var.expr
                {
                    // optMap(var, body): var is bound in body.
                    self.scopes.push((var.clone(), None));
                    let r = self.walk(body);
                    self.scopes.pop();
                    r?;
                    return Ok(None);
                }
                for a in &call.args {
                    self.walk(a)?;
                }
                Ok(None)
            }
            Expr::Comprehension(c) => {
                let range = self.walk(&c.iter_range)?;
                self.walk(&c.accu_init)?;
                // Iterating a list binds its items (typed by `items`); a map binds its keys.
                let item = range.and_then(|t| {
                    let node = t.node.items.as_deref()?;
                    (t.node.type_.as_deref() == Some("array")).then_some(Typed { node, is_root: false })
                });
                let pushed = 2 + usize::from(c.iter_var2.is_some());
                self.scopes.push((c.iter_var.clone(), item));
                self.scopes.push((c.accu_var.clone(), None));
                if let Some(v2) = &c.iter_var2 {
                    self.scopes.push((v2.clone(), None));
                }
                let r = (|| {
                    self.walk(&c.loop_cond)?;
                    self.walk(&c.loop_step)?;
                    self.walk(&c.result)
                })();
                for _ in 0..pushed {
                    self.scopes.pop();
                }
                r?;
                Ok(None)
            }
            Expr::List(l) => {
                for el in &l.elements {
                    self.walk(el)?;
                }
                Ok(None)
            }
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        self.walk(&me.key)?;
                        self.walk(&me.value)?;
                    }
                }
                Ok(None)
            }
            Expr::Struct(s) => Err(format!(
                "undeclared reference to '{}' (in container '')",
                s.type_name
            )),
            Expr::Literal(_) | Expr::Unspecified => Ok(None),
        }
    }

    fn field(&self, t: Typed<'a>, name: &str) -> Result<Option<Typed<'a>>, String> {
        if t.is_root && matches!(name, "apiVersion" | "kind" | "metadata") {
            return Ok(None);
        }
        if let Some(p) = t.node.property(name) {
            return Ok(Some(Typed {
                node: p,
                is_root: false,
            }));
        }
        if let Some(a) = t.node.additional_schema() {
            return Ok(Some(Typed {
                node: a,
                is_root: false,
            }));
        }
        if object_like(t.node) && t.node.additional.is_none() {
            return Err(format!("undefined field '{name}'"));
        }
        Ok(None)
    }
}
