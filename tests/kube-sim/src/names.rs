//! Name and metadata checks with kube-apiserver 1.32's texts: qualified names (label and
//! annotation keys, finalizers, `reportingController`), label values, DNS-1123 names, and the
//! update rule that no finalizer may be added once an object is being deleted.

use serde_json::Value;

/// One field error: (field, reason, message).
pub type Cause = (String, String, String);

const SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const SUBDOMAIN_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const QUALIFIED_ERR: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";

/// apimachinery's `RegexError`: the message, examples and the regex.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let mut out = format!("{msg} (e.g. ");
    for (i, e) in examples.iter().enumerate() {
        if i > 0 {
            out.push_str(" or ");
        }
        out.push_str(&format!("'{e}', "));
    }
    out.push_str(&format!("regex used for validation is '{fmt}')"));
    out
}

fn max_len_error(n: usize) -> String {
    format!("must be no more than {n} characters")
}

/// Go `%q` for the ASCII-ish strings these checks see.
pub fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Messages of `IsDNS1123Subdomain` (empty when valid).
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push(max_len_error(253));
    }
    if !s.split('.').all(is_dns_label) {
        errs.push(regex_error(SUBDOMAIN_ERR, SUBDOMAIN_FMT, &["example.com"]));
    }
    errs
}

fn is_qualified_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Messages of `IsQualifiedName` (label keys, annotation keys, finalizers).
pub fn qualified_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_string());
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(QUALIFIED_ERR, QUALIFIED_FMT, &["MyName", "my.name", "123-abc"])
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else if name.len() > 63 {
        errs.push(format!("name part {}", max_len_error(63)));
    }
    if !is_qualified_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(QUALIFIED_ERR, QUALIFIED_FMT, &["MyName", "my.name", "123-abc"])
        ));
    }
    errs
}

/// Messages of `IsValidLabelValue`.
pub fn label_value(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push(max_len_error(63));
    }
    if !s.is_empty() && !is_qualified_part(s) {
        errs.push(regex_error(
            LABEL_VALUE_ERR,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

fn invalid(field: &str, value: &str, msg: &str) -> Cause {
    (
        field.to_string(),
        "FieldValueInvalid".to_string(),
        format!("Invalid value: {}: {msg}", q(value)),
    )
}

fn string_map(meta: &Value, key: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = meta
        .get(key)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    // Go ranges over maps in random order; sorted is one of the orders it could print.
    out.sort();
    out
}

/// `metadata.labels`, `metadata.annotations` and `metadata.finalizers` checks (create and update).
pub fn metadata_causes(obj: &Value) -> Vec<Cause> {
    let Some(meta) = obj.get("metadata") else {
        return Vec::new();
    };
    let mut causes = Vec::new();
    for (k, v) in string_map(meta, "labels") {
        for m in qualified_name(&k) {
            causes.push(invalid("metadata.labels", &k, &m));
        }
        for m in label_value(&v) {
            causes.push(invalid("metadata.labels", &v, &m));
        }
    }
    let annotations = string_map(meta, "annotations");
    for (k, _) in &annotations {
        // Annotation keys are qualified names in any letter case.
        for m in qualified_name(&k.to_lowercase()) {
            causes.push(invalid("metadata.annotations", k, &m));
        }
    }
    let total: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total > 256 * 1024 {
        causes.push((
            "metadata.annotations".into(),
            "FieldValueTooLong".into(),
            format!("Too long: may not be more than {} bytes", 256 * 1024),
        ));
    }
    for f in finalizers(obj) {
        for m in qualified_name(&f) {
            causes.push(invalid("metadata.finalizers", &f, &m));
        }
    }
    causes
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// Go `%#v` of a `[]string`.
fn go_string_slice(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| q(s)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// The update rule of `ValidateObjectMetaUpdate`: once `deletionTimestamp` is set, the finalizer
/// set may only shrink.
pub fn no_new_finalizers(old: &Value, new: &Value) -> Option<Cause> {
    old.pointer("/metadata/deletionTimestamp")?;
    let before = finalizers(old);
    let mut extra: Vec<String> = finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    extra.sort();
    extra.dedup();
    if extra.is_empty() {
        return None;
    }
    Some((
        "metadata.finalizers".into(),
        "FieldValueForbidden".into(),
        format!(
            "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {}",
            go_string_slice(&extra)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn qualified_names() {
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert!(qualified_name("Name_1").is_empty());
        assert_eq!(
            qualified_name("bad key"),
            vec!["name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string()]
        );
        assert_eq!(
            qualified_name("/x"),
            vec!["prefix part must be non-empty".to_string()]
        );
        assert!(qualified_name("a/b/c")[0].starts_with("a qualified name must consist"));
        assert_eq!(
            qualified_name(&"x".repeat(64)),
            vec!["name part must be no more than 63 characters".to_string()]
        );
    }

    #[test]
    fn label_values() {
        assert!(label_value("").is_empty());
        assert!(label_value("v1.2_3-x").is_empty());
        assert_eq!(
            label_value(&"v".repeat(64)),
            vec!["must be no more than 63 characters".to_string()]
        );
        assert!(label_value("-x")[0].starts_with("a valid label must be an empty string"));
    }

    #[test]
    fn finalizers_may_only_shrink_while_deleting() {
        let old = json!({"metadata": {"deletionTimestamp": "t", "finalizers": ["a"]}});
        let new = json!({"metadata": {"finalizers": ["a", "z/b", "c"]}});
        let c = no_new_finalizers(&old, &new).map(|c| c.2);
        assert_eq!(
            c.as_deref(),
            Some(
                "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"c\", \"z/b\"}"
            )
        );
        assert!(no_new_finalizers(&old, &json!({"metadata": {}})).is_none());
        assert!(no_new_finalizers(&json!({"metadata": {}}), &new).is_none());
    }
}
