//! The JSONPath subset used by `additionalPrinterColumns` (`.a.b`, `[0]`, `[*]`, `[?(@.k=="v")]`).

use serde_json::Value;

#[derive(Debug, Clone)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter {
        path: Vec<String>,
        eq: bool,
        value: Value,
    },
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let p = path.trim().trim_start_matches('{').trim_end_matches('}');
    let mut steps = Vec::new();
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                i += 1;
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if !name.is_empty() {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let mut depth = 0;
                let start = i + 1;
                while i < chars.len() {
                    if chars[i] == '[' {
                        depth += 1;
                    } else if chars[i] == ']' {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    i += 1;
                }
                let inner: String = chars[start..i.min(chars.len())].iter().collect();
                i += 1;
                let inner = inner.trim();
                if inner == "*" {
                    steps.push(Step::All);
                } else if let Some(f) = inner.strip_prefix("?(").and_then(|s| s.strip_suffix(')')) {
                    let (lhs, eq, rhs) = if let Some((l, r)) = f.split_once("==") {
                        (l, true, r)
                    } else if let Some((l, r)) = f.split_once("!=") {
                        (l, false, r)
                    } else {
                        return None;
                    };
                    let path = lhs
                        .trim()
                        .trim_start_matches('@')
                        .split('.')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect();
                    let rhs = rhs.trim();
                    let value = if let Some(s) = rhs.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                        Value::String(s.into())
                    } else if let Some(s) = rhs.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                        Value::String(s.into())
                    } else {
                        serde_json::from_str(rhs).unwrap_or(Value::String(rhs.into()))
                    };
                    steps.push(Step::Filter { path, eq, value });
                } else if let Some(s) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    steps.push(Step::Field(s.into()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
            }
            _ => {
                // Tolerate a missing leading dot (`spec.domain`).
                let start = i;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                steps.push(Step::Field(chars[start..i].iter().collect()));
            }
        }
    }
    Some(steps)
}

/// All values selected by `path` in `obj`.
pub fn select<'a>(obj: &'a Value, path: &str) -> Vec<&'a Value> {
    let Some(steps) = parse(path) else {
        return Vec::new();
    };
    let mut cur = vec![obj];
    for s in &steps {
        let mut next = Vec::new();
        for v in cur {
            match s {
                Step::Field(f) => next.extend(v.get(f)),
                Step::Index(i) => next.extend(v.get(*i)),
                Step::All => match v {
                    Value::Array(a) => next.extend(a.iter()),
                    Value::Object(m) => next.extend(m.values()),
                    _ => {}
                },
                Step::Filter { path, eq, value } => {
                    if let Value::Array(a) = v {
                        for item in a {
                            let got = path.iter().try_fold(item, |c, k| c.get(k));
                            if (got == Some(value)) == *eq {
                                next.push(item);
                            }
                        }
                    }
                }
            }
        }
        cur = next;
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filter_expression() {
        let o = json!({"status": {"conditions": [{"type": "Verified", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(
            select(&o, ".status.conditions[?(@.type==\"Ready\")].status"),
            vec![&json!("True")]
        );
        assert_eq!(select(&o, ".status.conditions[0].type"), vec![&json!("Verified")]);
        assert_eq!(select(&o, ".status.conditions[*].type").len(), 2);
        assert!(select(&o, ".spec.domain").is_empty());
    }
}
