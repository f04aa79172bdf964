//! The 422 `Status` kube-apiserver returns for invalid objects (`apierrors.NewInvalid`).

use serde_json::{Value, json};

use crate::FieldError;

/// The `Status` object of a 422 `Invalid` response, as `k8s.io/apimachinery/pkg/api/errors.NewInvalid`
/// builds it: one cause per error (not de-duplicated) and a message that joins the de-duplicated
/// `field: body` texts (brackets only when there is more than one).
///
/// `kind` is the resource kind (`CustomDomain`), `group` its API group (empty for the core group).
pub fn invalid_status(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> Value {
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| json!({"reason": e.reason, "message": e.message, "field": e.field}))
        .collect();
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": invalid_message(kind, group, name, errors),
        "reason": "Invalid",
        "details": {"name": name, "group": group, "kind": kind, "causes": causes},
        "code": 422,
    })
}

/// `Status.message` of [`invalid_status`]: `Kind.group "name" is invalid: <aggregate>`.
pub fn invalid_message(kind: &str, group: &str, name: &str, errors: &[FieldError]) -> String {
    let qualified = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let name_q = crate::field_error::go_quote(name);
    match aggregate(errors) {
        None => format!("{qualified} {name_q} is invalid"),
        Some(agg) => format!("{qualified} {name_q} is invalid: {agg}"),
    }
}

/// `ErrorList.ToAggregate().Error()`: duplicates dropped, one message bare, several in `[a, b]`.
pub fn aggregate(errors: &[FieldError]) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let msgs: Vec<String> = errors
        .iter()
        .map(ToString::to_string)
        .filter(|m| seen.insert(m.clone()))
        .collect();
    match msgs.len() {
        0 => None,
        1 => msgs.into_iter().next(),
        _ => Some(format!("[{}]", msgs.join(", "))),
    }
}

/// What `kubectl` (create, apply, replace, edit) prints on stderr for a 422 `Invalid` built by
/// [`invalid_status`]: kubectl's `CheckErr` renders `details.causes` itself
/// (`The <Kind> "<name>" is invalid: <field>: <message>`, or one `* ` line per cause when there are
/// several, duplicates dropped), ending with a newline.
pub fn kubectl_invalid_text(kind: &str, name: &str, errors: &[FieldError]) -> String {
    let prefix = format!("The {kind} {} is invalid: ", crate::field_error::go_quote(name));
    let mut seen = std::collections::HashSet::new();
    let lines: Vec<String> = errors
        .iter()
        .map(ToString::to_string)
        .filter(|m| seen.insert(m.clone()))
        .collect();
    match lines.as_slice() {
        [] => format!("{prefix}\n"),
        [one] => format!("{prefix}{one}\n"),
        many => {
            let mut out = format!("{prefix}\n");
            for l in many {
                out.push_str(&format!("* {l}\n"));
            }
            out
        }
    }
}
