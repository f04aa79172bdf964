//! A static estimate of a rule's worst-case cost, standing in for cel-go's cost estimator as
//! apiextensions uses it when a CRD is created or updated.
//!
//! The model follows cel-go's shape, not its every constant: identifiers and field selections
//! cost 1, string traversals cost a tenth of the string's length (`matches` multiplies that by a
//! quarter of the regex length, `contains` by a tenth of the needle's), comprehensions (`all`,
//! `exists`, `map`, `filter`, ...) cost their body times the number of elements, `in` on a list
//! its length. Sizes come from the schema: `maxLength` (times 4: a character is up to 4 bytes),
//! `maxItems`, `maxProperties`, the longest `enum` value, else as many as fit in a 3 MiB request.

use cel_parser::ast::{EntryExpr, Expr, IdedExpr};
use cel_parser::reference::Val;

use crate::schema::Node;

/// kube-apiserver's largest request body; unbounded sizes are what could fit in one.
const MAX_REQUEST_BYTES: u64 = 3 * 1024 * 1024;

/// What an expression is known to be: its schema node (when it is data from the object) and its
/// largest size (string length, list or map size), when it is a sized value.
#[derive(Clone, Copy, Default)]
struct Info<'a> {
    node: Option<&'a Node>,
    size: Option<f64>,
    /// Known to be a string (traversals cost by length).
    string: bool,
}

/// The smallest JSON text a value of this schema can have (`estimateMinSizeJSON`).
fn min_size(n: &Node) -> u64 {
    if n.int_or_string {
        return 1;
    }
    match n.type_.as_deref() {
        Some("boolean") => 4,
        Some("number" | "integer") => 1,
        Some("string" | "array" | "object") => 2,
        _ => 0,
    }
}

fn positive(v: Option<i64>) -> Option<u64> {
    v.map(|x| u64::try_from(x).unwrap_or(0))
}

/// The most elements a list or map of this schema can hold in one request.
pub(crate) fn max_elements(n: &Node) -> u64 {
    match n.type_.as_deref() {
        Some("array") => positive(n.max_items).unwrap_or_else(|| {
            let item = n.items.as_deref().map(min_size).unwrap_or(0);
            (MAX_REQUEST_BYTES - 2) / (item + 1)
        }),
        Some("object") => positive(n.max_properties).unwrap_or_else(|| match n.additional_schema() {
            // `"":v,` per entry.
            Some(v) => (MAX_REQUEST_BYTES - 2) / (min_size(v) + 4),
            None => n.properties.len() as u64,
        }),
        _ => 1,
    }
}

/// The largest size (in bytes for strings) a value of this schema can have.
fn max_size(n: &Node) -> Option<f64> {
    match n.type_.as_deref() {
        Some("string") => Some(match (positive(n.max_length), &n.enum_values) {
            (Some(l), _) => (l * 4) as f64,
            (None, Some(values)) if !values.is_empty() => values
                .iter()
                .filter_map(|v| v.as_str().map(str::len))
                .max()
                .unwrap_or(0) as f64,
            _ => (MAX_REQUEST_BYTES - 2) as f64,
        }),
        Some("array" | "object") => Some(max_elements(n) as f64),
        _ if n.int_or_string => Some((MAX_REQUEST_BYTES - 2) as f64),
        _ => None,
    }
}

fn of(node: &Node) -> Info<'_> {
    Info {
        node: Some(node),
        size: max_size(node),
        string: node.type_.as_deref() == Some("string") || node.int_or_string,
    }
}

fn sized(size: f64) -> Info<'static> {
    Info {
        node: None,
        size: Some(size),
        string: false,
    }
}

fn string(size: Option<f64>) -> Info<'static> {
    Info {
        node: None,
        size,
        string: true,
    }
}

/// A string traversal: a tenth of the length, at least 1.
fn traverse(size: Option<f64>) -> f64 {
    (size.unwrap_or(1.0) * 0.1).ceil().max(1.0)
}

struct Estimator<'a> {
    self_node: &'a Node,
    scopes: Vec<(String, Info<'a>)>,
}

/// The estimated worst-case cost of one evaluation of `expr`, a rule on `node`.
pub(crate) fn estimate(expr: &IdedExpr, node: &Node) -> f64 {
    let mut e = Estimator {
        self_node: node,
        scopes: Vec::new(),
    };
    e.walk(expr).0
}

impl<'a> Estimator<'a> {
    fn walk(&mut self, e: &IdedExpr) -> (f64, Info<'a>) {
        match &e.expr {
            Expr::Ident(name) => {
                if let Some((_, t)) = self.scopes.iter().rev().find(|(s, _)| s == name) {
                    return (1.0, *t);
                }
                match name.as_str() {
                    "self" | "oldSelf" => (1.0, of(self.self_node)),
                    _ => (1.0, Info::default()),
                }
            }
            Expr::Select(sel) => {
                let (c, t) = self.walk(&sel.operand);
                let child = t
                    .node
                    .and_then(|n| n.property(&sel.field).or_else(|| n.additional_schema()));
                let info = if sel.test {
                    Info::default()
                } else {
                    child.map(of).unwrap_or_default()
                };
                (c + 1.0, info)
            }
            Expr::Literal(v) => (
                0.0,
                match v {
                    Val::String(s) => string(Some(s.len() as f64)),
                    Val::Bytes(b) => string(Some(b.len() as f64)),
                    _ => Info::default(),
                },
            ),
            Expr::List(l) => {
                let c: f64 = l.elements.iter().map(|el| self.walk(el).0).sum();
                (10.0 + c, sized(l.elements.len() as f64))
            }
            Expr::Map(m) => {
                let mut c = 30.0;
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        c += self.walk(&me.key).0 + self.walk(&me.value).0;
                    }
                }
                (c, sized(m.entries.len() as f64))
            }
            Expr::Struct(_) | Expr::Unspecified => (1.0, Info::default()),
            Expr::Comprehension(c) => {
                let (range_cost, range) = self.walk(&c.iter_range);
                let n = range.size.unwrap_or(1.0);
                // A list binds its items; a map binds its keys (strings).
                let item = match range.node {
                    Some(r) if r.type_.as_deref() == Some("array") => {
                        r.items.as_deref().map(of).unwrap_or_default()
                    }
                    Some(_) => string(Some((MAX_REQUEST_BYTES - 2) as f64)),
                    None => Info::default(),
                };
                let (init, _) = self.walk(&c.accu_init);
                self.scopes.push((c.iter_var.clone(), item));
                if let Some(v2) = &c.iter_var2 {
                    self.scopes.push((v2.clone(), Info::default()));
                }
                self.scopes.push((c.accu_var.clone(), sized(n)));
                let per_item = self.walk(&c.loop_cond).0 + self.walk(&c.loop_step).0;
                let (result, _) = self.walk(&c.result);
                let pushed = 2 + usize::from(c.iter_var2.is_some());
                for _ in 0..pushed {
                    self.scopes.pop();
                }
                (range_cost + init + n * per_item + result, sized(n))
            }
            Expr::Call(call) => {
                let (target_cost, target) = match &call.target {
                    Some(t) => self.walk(t),
                    None => (0.0, Info::default()),
                };
                let mut args_cost = 0.0;
                let mut args = Vec::new();
                for a in &call.args {
                    let (c, i) = self.walk(a);
                    args_cost += c;
                    args.push(i);
                }
                let base = target_cost + args_cost;
                // The receiver of a method, or the first argument of a global function.
                let recv = if call.target.is_some() {
                    target
                } else {
                    args.first().copied().unwrap_or_default()
                };
                let arg = |i: usize| args.get(i).copied().unwrap_or_default();
                let (cost, info) = match call.func_name.as_str() {
                    "_[_]" => {
                        let container = arg(0);
                        let node = container
                            .node
                            .and_then(|n| n.items.as_deref().or_else(|| n.additional_schema()));
                        (1.0, node.map(of).unwrap_or_default())
                    }
                    "matches" => {
                        let (s, re) = if call.target.is_some() {
                            (recv, arg(0))
                        } else {
                            (arg(0), arg(1))
                        };
                        (
                            1.0 + traverse(s.size) * (re.size.unwrap_or(1.0) * 0.25).ceil().max(1.0),
                            Info::default(),
                        )
                    }
                    "contains" | "indexOf" | "lastIndexOf" => {
                        (1.0 + traverse(recv.size) * traverse(arg(0).size), Info::default())
                    }
                    "startsWith" | "endsWith" => (1.0 + traverse(arg(0).size), Info::default()),
                    "lowerAscii" | "upperAscii" | "trim" | "reverse" | "substring" | "charAt" | "replace"
                    | "format" | "quantity" | "isQuantity" | "url" | "isURL" | "ip" | "isIP" | "cidr"
                    | "isCIDR" | "validate" | "string" | "bytes" => {
                        (1.0 + traverse(recv.size), string(recv.size))
                    }
                    "split" | "find" | "findAll" => {
                        (1.0 + traverse(recv.size), sized(recv.size.unwrap_or(1.0)))
                    }
                    "join" | "isSorted" | "sum" | "min" | "max" => {
                        (1.0 + recv.size.unwrap_or(1.0), Info::default())
                    }
                    "@in" => (1.0 + arg(1).size.unwrap_or(1.0), Info::default()),
                    "_==_" | "_!=_" => {
                        let (l, r) = (arg(0), arg(1));
                        let small = match (l.size, r.size) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        };
                        let strings = l.string || r.string;
                        let c = if strings {
                            traverse(small)
                        } else {
                            small.unwrap_or(1.0)
                        };
                        (1.0 + c, Info::default())
                    }
                    "_+_" => {
                        let (l, r) = (arg(0), arg(1));
                        let size = match (l.size, r.size) {
                            (Some(a), Some(b)) => Some(a + b),
                            _ => None,
                        };
                        if l.string || r.string {
                            (1.0 + traverse(size), string(size))
                        } else {
                            // List concatenation is constant time (the size is still tracked).
                            (
                                1.0,
                                Info {
                                    node: None,
                                    size,
                                    string: false,
                                },
                            )
                        }
                    }
                    "size" => (1.0, Info::default()),
                    "_&&_" | "_||_" | "_?_:_" | "!_" | "@not_strictly_false" => (0.0, Info::default()),
                    _ => (1.0, Info::default()),
                };
                (base + cost, info)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Node;

    fn node(schema: serde_json::Value) -> Node {
        let mut errs = Vec::new();
        Node::compile(&schema, "x", false, &mut errs)
    }

    fn cost(rule: &str, n: &Node) -> f64 {
        let ast = cel_parser::Parser::default().parse(rule).unwrap_or_default();
        estimate(&ast, n)
    }

    #[test]
    fn bounded_collections_are_cheap_unbounded_are_not() {
        let bounded = node(serde_json::json!({"type": "array", "maxItems": 10,
            "items": {"type": "string", "maxLength": 64}}));
        let unbounded = node(serde_json::json!({"type": "array", "items": {"type": "string"}}));
        let rule = "self.all(x, x.matches('^[a-z]+$'))";
        assert!(cost(rule, &bounded) < 1_000.0);
        assert!(cost(rule, &unbounded) > 1e11);
        assert!(cost("size(self) < 5", &unbounded) < 10.0);
    }
}
