//! `spec.allowedNamespaces`: which namespaces may use a tenant.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::resources::tenant::{AllowedNamespaces, NamespacesFrom};

/// Whether a namespace with these labels may use the tenant.
pub fn namespace_allowed(allowed: &AllowedNamespaces, labels: &BTreeMap<String, String>) -> bool {
    match allowed.from {
        NamespacesFrom::All => true,
        // `Selector` without a selector is refused at admission; treat it as matching nothing.
        NamespacesFrom::Selector => allowed
            .selector
            .as_ref()
            .is_some_and(|s| selector_matches(s, labels)),
    }
}

/// The selector in `kubectl`'s selector syntax (`team=a,env in (prod,stage),!legacy`), for
/// messages that tell a person which labels a namespace needs; `None` when every namespace may.
pub fn describe_fence(allowed: &AllowedNamespaces) -> Option<String> {
    if allowed.from == NamespacesFrom::All {
        return None;
    }
    let Some(selector) = allowed.selector.as_ref() else {
        return Some("(no selector: no namespace matches)".to_owned());
    };
    Some(describe_selector(selector))
}

/// A label selector in `kubectl`'s selector syntax; `{}` (every namespace) reads "(everything)".
pub fn describe_selector(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or_default().join(",");
        parts.push(match e.operator.as_str() {
            "In" => format!("{} in ({values})", e.key),
            "NotIn" => format!("{} notin ({values})", e.key),
            "Exists" => e.key.clone(),
            "DoesNotExist" => format!("!{}", e.key),
            other => format!("{} {other} ({values})", e.key),
        });
    }
    if parts.is_empty() {
        return "(everything)".to_owned();
    }
    parts.join(",")
}

/// Kubernetes label-selector semantics: every `matchLabels` pair and every expression must hold.
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let pairs_hold = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_hold = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let got = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => got.is_some_and(|v| values.contains(v)),
            "NotIn" => got.is_none_or(|v| !values.contains(v)),
            "Exists" => got.is_some(),
            "DoesNotExist" => got.is_none(),
            // Unknown operators match nothing, as the API server would refuse them.
            _ => false,
        }
    });
    pairs_hold && exprs_hold
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn fences_are_described_in_selector_syntax() {
        let all = AllowedNamespaces::default();
        assert_eq!(describe_fence(&all), None);
        let fenced = AllowedNamespaces {
            from: NamespacesFrom::Selector,
            selector: Some(LabelSelector {
                match_labels: Some([("team".to_string(), "a".to_string())].into()),
                match_expressions: Some(vec![
                    expr("env", "In", &["prod", "stage"]),
                    expr("legacy", "DoesNotExist", &[]),
                ]),
            }),
        };
        assert_eq!(
            describe_fence(&fenced).as_deref(),
            Some("team=a,env in (prod,stage),!legacy")
        );
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    fn matching(key: &str, op: &str, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_expressions: Some(vec![expr(key, op, values)]),
            ..Default::default()
        }
    }

    #[test]
    fn selector_rows() {
        let team_a = labels(&[("team", "a"), ("env", "prod")]);
        let none = labels(&[]);
        let by_labels = LabelSelector {
            match_labels: Some(labels(&[("team", "a")])),
            ..Default::default()
        };
        let rows: Vec<(&str, LabelSelector, &BTreeMap<String, String>, bool)> = vec![
            ("matchLabels hit", by_labels.clone(), &team_a, true),
            ("matchLabels miss", by_labels, &none, false),
            ("In hit", matching("env", "In", &["prod", "stg"]), &team_a, true),
            (
                "In miss on absent key",
                matching("env", "In", &["prod"]),
                &none,
                false,
            ),
            (
                "NotIn on absent key",
                matching("env", "NotIn", &["prod"]),
                &none,
                true,
            ),
            ("NotIn hit", matching("env", "NotIn", &["prod"]), &team_a, false),
            ("Exists", matching("team", "Exists", &[]), &team_a, true),
            (
                "DoesNotExist",
                matching("team", "DoesNotExist", &[]),
                &team_a,
                false,
            ),
            (
                "empty selector matches all",
                LabelSelector::default(),
                &none,
                true,
            ),
        ];
        for (name, sel, l, want) in rows {
            assert_eq!(selector_matches(&sel, l), want, "{name}");
        }
    }

    #[test]
    fn from_all_and_selector_without_selector() {
        let all = AllowedNamespaces::default();
        assert!(namespace_allowed(&all, &BTreeMap::new()));
        let broken = AllowedNamespaces {
            from: NamespacesFrom::Selector,
            selector: None,
        };
        assert!(!namespace_allowed(&broken, &BTreeMap::new()));
    }
}
