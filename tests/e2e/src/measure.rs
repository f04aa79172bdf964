//! Auth0 call accounting from the simulator's counters.

use std::collections::BTreeMap;

use auth0_sim::Counters;

/// Calls by endpoint template made between two counter snapshots (all statuses summed).
pub fn calls_between(before: &Counters, after: &Counters) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (endpoint, by_status) in &after.calls {
        let now: u64 = by_status.values().sum();
        let then: u64 = before.calls.get(endpoint).map(|m| m.values().sum()).unwrap_or(0);
        if now > then {
            out.insert(endpoint.clone(), now - then);
        }
    }
    if after.tokens_issued > before.tokens_issued {
        out.insert("tokens issued".into(), after.tokens_issued - before.tokens_issued);
    }
    out
}

/// Calls to one endpoint template with one status, between two snapshots.
pub fn count_between(before: &Counters, after: &Counters, template: &str, status: u16) -> u64 {
    after
        .count(template, status)
        .saturating_sub(before.count(template, status))
}

/// A printable table of calls by endpoint.
pub fn table(title: &str, calls: &BTreeMap<String, u64>) -> String {
    let mut s = format!("{title}\n");
    let total: u64 = calls
        .iter()
        .filter(|(k, _)| !k.starts_with("tokens"))
        .map(|(_, v)| v)
        .sum();
    for (k, v) in calls {
        s.push_str(&format!("  {v:>4}  {k}\n"));
    }
    s.push_str(&format!(
        "  {total:>4}  total Management API calls (token requests excluded)\n"
    ));
    s
}
