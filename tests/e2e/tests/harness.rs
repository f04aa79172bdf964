//! Harness self-tests and admission checks: no operator needed.

use e2e::error::{Result, ensure};
use e2e::{World, resources};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn world_starts_and_kubectl_sees_the_tenant() -> Result<()> {
    let w = World::builder().without_operator().start().await?;
    let out = w.kubectl.ok(&["get", "auth0tenants", "-o", "name"], None).await?;
    ensure(
        out.stdout
            .contains(&format!("auth0tenant.auth0.domain-operator.dev/{}", w.tenant)),
        || format!("tenant not listed: {}", out.stdout),
    )?;
    // Defaults applied by admission are visible.
    let rl = w
        .kubectl
        .ok(
            &[
                "get",
                "a0t",
                &w.tenant,
                "-o",
                "jsonpath={.spec.allowedNamespaces.from}",
            ],
            None,
        )
        .await?;
    ensure(rl.stdout == "All", || {
        format!("allowedNamespaces default: {:?}", rl.stdout)
    })?;

    // A CustomDomain is accepted and shows in the table with the columns of docs/design.md#customdomain.
    let cd = w.custom_domain("login", &w.domain("login"), "SelfManagedCerts", json!({}));
    w.apply_json(&cd).await?;
    let table = w.kubectl(&["get", "customdomains"]).await?;
    ensure(table.success(), || {
        format!("kubectl get failed: {}", table.stderr)
    })?;
    let header = table.stdout.lines().next().unwrap_or_default().to_string();
    for col in ["NAME", "DOMAIN", "TYPE", "STATE", "READY", "AGE"] {
        ensure(header.contains(col), || {
            format!("column {col} missing in {header:?}")
        })?;
    }
    ensure(table.stdout.contains(&w.domain("login")), || {
        format!("row missing: {}", table.stdout)
    })?;
    let obj = w.get_cd("login").await?;
    ensure(
        obj.is_some_and(|o| resources::str_at(&o, "/spec/deletionPolicy") == Some("Delete")),
        || "deletionPolicy default not applied".into(),
    )?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_and_sim_are_wired() -> Result<()> {
    let w = World::builder().without_operator().start().await?;
    w.dns().add_txt("_probe.example.com", "v");
    ensure(w.counters().calls.is_empty(), || {
        "sim counted calls before any client".into()
    })?;
    // The sim's edge refuses an unknown host: the edge helper reaches it over TLS.
    let status = w.edge_request(&w.domain("nothing"), "wrong-key").await?;
    ensure(status == 404, || {
        format!("edge answered {status} for an unknown host")
    })?;
    ensure(
        w.known_secrets().iter().any(|(l, _)| l == "client secret"),
        || "no client secret".into(),
    )?;
    Ok(())
}

/// One rejected manifest: its spec change and the text kubectl must print.
struct Bad {
    what: &'static str,
    name: &'static str,
    manifest: serde_json::Value,
    expect: Vec<String>,
}

/// The validation rule of the CustomDomain CRD whose `message` contains `marker`, as the cluster
/// has it from `crds/`: `(fieldPath, message)`. The expected kubectl text follows the CRD's
/// wording, while its shape (`<field path>: Invalid value: "<type>": <message>`) is checked
/// exactly.
fn crd_rule(marker: &str) -> (Option<String>, String) {
    let path = e2e::binary::workspace_root().join("crds/customdomains.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let message_of = |l: &str| {
        let t = l.trim_start();
        t.strip_prefix("- message: ")
            .or_else(|| t.strip_prefix("message: "))
            .map(yaml_scalar)
    };
    let Some(at) = lines
        .iter()
        .position(|l| message_of(l).is_some_and(|m| m.contains(marker)))
    else {
        return (
            None,
            format!("<no rule message containing {marker:?} in {}>", path.display()),
        );
    };
    // The rule is the list item around the message line: from its `- ` to the next line that is
    // not indented deeper than that dash.
    let start = (0..=at)
        .rev()
        .find(|&i| lines[i].trim_start().starts_with("- "))
        .unwrap_or(at);
    let dash = indent(lines[start]);
    let end = (start + 1..lines.len())
        .find(|&i| indent(lines[i]) <= dash)
        .unwrap_or(lines.len());
    let field_path = lines[start..end].iter().find_map(|l| {
        let t = l.trim_start();
        t.strip_prefix("- fieldPath: ")
            .or_else(|| t.strip_prefix("fieldPath: "))
            .map(yaml_scalar)
    });
    (field_path, message_of(lines[at]).unwrap_or_default())
}

/// `<field path>: Invalid value: "<type>": <message>` as kubectl prints a failed rule of the field
/// at `base` (the rule's `fieldPath`, if any, is appended to it).
fn rule_error(base: &str, type_: &str, marker: &str) -> String {
    let (field_path, message) = crd_rule(marker);
    format!(
        "{base}{}: Invalid value: \"{type_}\": {message}",
        field_path.unwrap_or_default()
    )
}

/// Whether kubectl's `stderr` holds `expected`. On a real kube-apiserver (`real`), a CEL rule's
/// error names the rejected value itself (`spec.domain: Invalid value: "UPPER.example.com": …`)
/// or, for an object, no value (`spec: Invalid value: …`), where kube-sim writes the type
/// (`Invalid value: "string": …`, as Kubernetes before 1.3x did): there a line with the same
/// field path and message counts.
fn stderr_has(stderr: &str, expected: &str, real: bool) -> bool {
    if stderr.contains(expected) {
        return true;
    }
    if !real {
        return false;
    }
    for type_ in ["\"string\"", "\"object\""] {
        let marker = format!(": Invalid value: {type_}: ");
        if let Some((path, message)) = expected.split_once(&marker) {
            // One error: `The CustomDomain "x" is invalid: <path>: …`; several: `* <path>: …` lines.
            let head = format!(" {path}: Invalid value: ");
            return stderr
                .lines()
                .any(|l| format!(" {}", l.trim()).contains(&head) && l.trim().ends_with(message));
        }
    }
    false
}

/// A one-line YAML scalar: single-quoted (`''` is a quote), double-quoted, or plain.
fn yaml_scalar(s: &str) -> String {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else if let Some(inner) = s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        inner.replace("\\\"", "\"")
    } else {
        s.to_string()
    }
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_manifests_are_rejected_with_the_message() -> Result<()> {
    let w = World::builder().without_operator().start().await?;
    // A good one first, so the immutable-field change has something to change.
    let good = w.custom_domain("keep", &w.domain("keep"), "Auth0ManagedCerts", json!({}));
    w.apply_json(&good).await?;
    let ten: serde_json::Map<String, serde_json::Value> =
        (0..10).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases = [
        Bad {
            what: "wildcard domain",
            name: "wild",
            manifest: w.custom_domain(
                "wild",
                &format!("*.{}", w.domain("wild")),
                "Auth0ManagedCerts",
                json!({}),
            ),
            expect: vec![
                "The CustomDomain \"wild\" is invalid".into(),
                rule_error("spec.domain", "string", "wildcard domains are not supported"),
            ],
        },
        Bad {
            what: "upper-case domain",
            name: "upper",
            manifest: w.custom_domain("upper", &w.domain("UPPER"), "Auth0ManagedCerts", json!({})),
            expect: vec![
                "The CustomDomain \"upper\" is invalid".into(),
                rule_error(
                    "spec.domain",
                    "string",
                    "must be lower-case: write it in lower-case letters",
                ),
            ],
        },
        Bad {
            what: "changed domain",
            name: "keep",
            manifest: w.custom_domain("keep", &w.domain("other"), "Auth0ManagedCerts", json!({})),
            expect: vec![
                "The CustomDomain \"keep\" is invalid".into(),
                rule_error(
                    "spec.domain",
                    "string",
                    "is immutable: create a new CustomDomain to use a different domain",
                ),
            ],
        },
        Bad {
            what: "10 metadata keys",
            name: "meta",
            manifest: w.custom_domain(
                "meta",
                &w.domain("meta"),
                "Auth0ManagedCerts",
                json!({"metadata": ten}),
            ),
            expect: owned(&[
                "The CustomDomain \"meta\" is invalid",
                "spec.metadata: Too many: 10: must have at most 9 items",
            ]),
        },
        Bad {
            what: "verificationMethod on Auth0-managed",
            name: "vm",
            manifest: w.custom_domain(
                "vm",
                &w.domain("vm"),
                "Auth0ManagedCerts",
                json!({"verificationMethod": "TXT"}),
            ),
            expect: vec![
                "The CustomDomain \"vm\" is invalid".into(),
                // A rule on spec (reported at spec, or at its fieldPath under spec).
                rule_error(
                    "spec",
                    "object",
                    "verificationMethod is only valid for SelfManagedCerts",
                ),
            ],
        },
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let out = w.try_apply_yaml(&c.manifest.to_string()).await?;
        println!("{}: exit {:?}, stderr: {}", c.what, out.code, out.stderr.trim());
        if out.success() {
            failures.push(format!("{}: accepted (stdout {:?})", c.what, out.stdout));
            continue;
        }
        for e in &c.expect {
            if !stderr_has(&out.stderr, e, w.kube_sim().is_none()) {
                failures.push(format!("{}: stderr lacks {e:?}: {}", c.what, out.stderr.trim()));
            }
        }
        if c.name != "keep" && w.get_cd(c.name).await?.is_some() {
            failures.push(format!("{}: object was stored anyway", c.what));
        }
    }
    // The rejected update left the stored domain unchanged.
    let kept = w.get_cd("keep").await?;
    let kept_domain = kept
        .as_ref()
        .and_then(|o| resources::str_at(o, "/spec/domain"))
        .map(str::to_string);
    if kept_domain.as_deref() != Some(w.domain("keep").as_str()) {
        failures.push(format!("immutable domain changed to {kept_domain:?}"));
    }
    ensure(failures.is_empty(), || failures.join("\n"))?;
    Ok(())
}

/// The operator's `/readyz` waits for kube-rs reflector stores to be ready; check that part of
/// kube-sim on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_reflector_store_becomes_ready() -> Result<()> {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, reflector, watcher};
    let w = World::builder().without_operator().start().await?;
    let writer = reflector::store::Writer::new(resources::tenant_resource());
    let store = writer.as_reader();
    let api: kube::Api<kube::core::DynamicObject> =
        kube::Api::all_with(w.client.clone(), &resources::tenant_resource());
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default().any_semantic()))
        .applied_objects()
        .for_each(|_| futures::future::ready(()));
    let task = tokio::spawn(stream);
    let ready = tokio::time::timeout(std::time::Duration::from_secs(10), store.wait_until_ready()).await;
    task.abort();
    ensure(matches!(ready, Ok(Ok(()))), || {
        format!("store not ready after 10s: {ready:?}")
    })?;
    // kube-sim is this world's alone; a real cluster (E2E_KUBECONFIG) also holds the tenants of
    // the worlds running beside it (Auth0Tenant is cluster-scoped).
    let names: Vec<String> = store
        .state()
        .iter()
        .filter_map(|t| t.metadata.name.clone())
        .collect();
    ensure(names.contains(&w.tenant), || {
        format!("store lacks tenant {}: {names:?}", w.tenant)
    })?;
    ensure(w.kube_sim().is_none() || names.len() == 1, || {
        format!("store holds {} tenants: {names:?}", names.len())
    })?;
    Ok(())
}
