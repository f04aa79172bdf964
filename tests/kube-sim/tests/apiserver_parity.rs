//! Behaviours where kube-sim once differed from kube-apiserver 1.32 in ways that let a controller
//! pass here and fail on a cluster: each test pins the real server's status code and text.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchParams};
use kube::core::{ApiResource, GroupVersionKind, ObjectMeta, WatchEvent};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

async fn sim() -> Result<(kube_sim::KubeSim, Client), Box<dyn std::error::Error + Send + Sync>> {
    let sim = kube_sim::start(kube_sim::Config::default()).await?;
    let kc = kube::config::Kubeconfig::read_from(sim.kubeconfig_path())?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?;
    Ok((sim, Client::try_from(config)?))
}

async fn raw(
    client: &Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Value,
) -> Result<(u16, Value), Box<dyn std::error::Error + Send + Sync>> {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(kube::client::Body::from(bytes))?;
    let resp = client.send(req).await?;
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((code, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

fn cm(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.parity.dev"},
        "spec": {"group": "parity.dev", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas", "labelSelectorPath": ".status.selector"}},
                "selectableFields": [{"jsonPath": ".spec.color"}],
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "replicas": {"type": "integer"}, "color": {"type": "string"}}},
                    "status": {"type": "object", "properties": {
                        "replicas": {"type": "integer"}, "selector": {"type": "string"}}}}}}}]}
    })
}

async fn widgets(client: &Client) -> Result<Api<DynamicObject>, Box<dyn std::error::Error + Send + Sync>> {
    let (code, body) = raw(
        client,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "application/json",
        widget_crd(),
    )
    .await?;
    assert_eq!(code, 201, "{body}");
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("parity.dev", "v1", "Widget"), "widgets");
    Ok(Api::namespaced_with(client.clone(), "default", &ar))
}

fn widget(name: &str, color: &str, replicas: i64) -> Result<DynamicObject, serde_json::Error> {
    serde_json::from_value(json!({"apiVersion": "parity.dev/v1", "kind": "Widget",
        "metadata": {"name": name}, "spec": {"color": color, "replicas": replicas}}))
}

fn api_error(r: Result<impl Sized, kube::Error>) -> (u16, String, String) {
    match r {
        Err(kube::Error::Api(s)) => (s.code, s.reason.clone(), s.message.clone()),
        Err(e) => (0, String::new(), e.to_string()),
        Ok(_) => (0, String::new(), "request succeeded".into()),
    }
}

#[tokio::test]
async fn no_new_finalizers_on_an_object_being_deleted() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut c = cm("doomed");
    c.metadata.finalizers = Some(vec!["example.com/keep".into()]);
    api.create(&PostParams::default(), &c).await?;
    api.delete("doomed", &DeleteParams::default()).await?;
    let patch = json!({"metadata": {"finalizers": ["example.com/keep", "example.com/late", "b"]}});
    let (code, reason, message) = api_error(
        api.patch("doomed", &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert_eq!(
        message,
        "ConfigMap \"doomed\" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"b\", \"example.com/late\"}"
    );
    // Removing finalizers is still fine and completes the deletion.
    let patch = json!({"metadata": {"finalizers": null}});
    api.patch("doomed", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    assert!(api.get_opt("doomed").await?.is_none());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn invalid_label_and_annotation_keys_and_values() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut c = cm("labels");
    c.metadata.labels = Some(BTreeMap::from([("bad key".to_string(), "v".repeat(64))]));
    let (code, reason, message) = api_error(api.create(&PostParams::default(), &c).await);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert_eq!(
        message,
        format!(
            "ConfigMap \"labels\" is invalid: [metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), metadata.labels: Invalid value: \"{}\": must be no more than 63 characters]",
            "v".repeat(64)
        )
    );
    let mut c = cm("annotations");
    c.metadata.annotations = Some(BTreeMap::from([
        ("Example.COM/Fine".to_string(), "x".to_string()),
        ("a/b/c".to_string(), "x".to_string()),
    ]));
    let (code, _, message) = api_error(api.create(&PostParams::default(), &c).await);
    assert_eq!(code, 422);
    assert_eq!(
        message,
        "ConfigMap \"annotations\" is invalid: metadata.annotations: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
    );
    // Updates are checked too.
    api.create(&PostParams::default(), &cm("later")).await?;
    let patch = json!({"metadata": {"labels": {"app": "-x"}}});
    let (code, _, message) = api_error(
        api.patch("later", &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );
    assert_eq!(code, 422);
    assert!(
        message.contains("metadata.labels: Invalid value: \"-x\": a valid label must be an empty string"),
        "{message}"
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn resource_version_on_create_is_refused() -> TestResult {
    let (sim, client) = sim().await?;
    let (code, st) = raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "resourceVersion": "5"}}),
    )
    .await?;
    assert_eq!(code, 500);
    assert_eq!(
        st["message"],
        "resourceVersion should not be set on objects to be created"
    );
    assert!(st.get("reason").is_none(), "StatusReasonUnknown is omitted: {st}");
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn unsupported_field_selectors_are_400() -> TestResult {
    let (sim, client) = sim().await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.create(&PostParams::default(), &cm("one")).await?;
    let found = cms
        .list(&ListParams::default().fields("metadata.name=one"))
        .await?;
    assert_eq!(found.items.len(), 1);
    cms.list(&ListParams::default().fields("metadata.namespace=default"))
        .await?;
    let (code, reason, message) = api_error(cms.list(&ListParams::default().fields("data.k=v")).await);
    assert_eq!((code, reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        message,
        "\"data.k\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );
    let (code, _, message) = api_error(
        Api::<k8s_openapi::api::core::v1::Secret>::default_namespaced(client.clone())
            .list(&ListParams::default().fields("data.k=v"))
            .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (400, "field label not supported: data.k")
    );
    Api::<k8s_openapi::api::core::v1::Secret>::default_namespaced(client.clone())
        .list(&ListParams::default().fields("type=Opaque"))
        .await?;
    let w = widgets(&client).await?;
    w.create(&PostParams::default(), &widget("red", "red", 1)?)
        .await?;
    w.create(&PostParams::default(), &widget("blue", "blue", 1)?)
        .await?;
    let red = w.list(&ListParams::default().fields("spec.color=red")).await?;
    assert_eq!(
        red.items.iter().map(|o| o.name_any()).collect::<Vec<_>>(),
        vec!["red"]
    );
    let (code, _, message) = api_error(w.list(&ListParams::default().fields("spec.replicas=1")).await);
    assert_eq!(
        (code, message.as_str()),
        (400, "field label not supported: spec.replicas")
    );
    // Watches check the selector the same way.
    let (code, _, message) = api_error(
        w.watch(&WatchParams::default().fields("status.replicas=1"), "0")
            .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (400, "field label not supported: status.replicas")
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn label_selected_watch_sees_objects_enter_and_leave() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let created = api.create(&PostParams::default(), &cm("mover")).await?;
    let rv = created.resource_version().unwrap_or_default();
    let mut stream = api
        .watch(&WatchParams::default().labels("app=web"), &rv)
        .await?
        .boxed();
    let label = |v: Option<&str>| json!({"metadata": {"labels": {"app": v}}});
    api.patch(
        "mover",
        &PatchParams::default(),
        &Patch::Merge(&label(Some("web"))),
    )
    .await?;
    api.patch(
        "mover",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"k": "v"}})),
    )
    .await?;
    let left = api
        .patch(
            "mover",
            &PatchParams::default(),
            &Patch::Merge(&label(Some("db"))),
        )
        .await?;
    api.patch("mover", &PatchParams::default(), &Patch::Merge(&label(None)))
        .await?;
    api.patch(
        "mover",
        &PatchParams::default(),
        &Patch::Merge(&label(Some("web"))),
    )
    .await?;
    api.delete("mover", &DeleteParams::default()).await?;
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await?
            .ok_or("watch ended")??;
        match ev {
            WatchEvent::Added(o) => {
                seen.push(("ADDED", o.labels().get("app").cloned(), o.resource_version()))
            }
            WatchEvent::Modified(o) => {
                seen.push(("MODIFIED", o.labels().get("app").cloned(), o.resource_version()))
            }
            WatchEvent::Deleted(o) => {
                seen.push(("DELETED", o.labels().get("app").cloned(), o.resource_version()))
            }
            WatchEvent::Bookmark(_) => {}
            WatchEvent::Error(e) => return Err(format!("watch error {e:?}").into()),
        }
    }
    let kinds: Vec<&str> = seen.iter().map(|s| s.0).collect();
    assert_eq!(kinds, vec!["ADDED", "MODIFIED", "DELETED", "ADDED", "DELETED"]);
    // Leaving the selection: the previous content, at the change's resourceVersion.
    assert_eq!(seen[2].1.as_deref(), Some("web"));
    assert_eq!(seen[2].2, left.resource_version());
    // Replaying history from the start gives the same answer.
    let replay: Vec<String> = api
        .watch(&WatchParams::default().labels("app=web").timeout(1), &rv)
        .await?
        .filter_map(|e| async move {
            match e {
                Ok(WatchEvent::Added(_)) => Some("ADDED".to_string()),
                Ok(WatchEvent::Modified(_)) => Some("MODIFIED".to_string()),
                Ok(WatchEvent::Deleted(_)) => Some("DELETED".to_string()),
                _ => None,
            }
        })
        .collect()
        .await;
    assert_eq!(replay, vec!["ADDED", "MODIFIED", "DELETED", "ADDED", "DELETED"]);
    sim.shutdown().await;
    Ok(())
}

fn new_event(name: &str) -> Value {
    json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name, "namespace": "default"},
        "eventTime": "2026-01-01T00:00:00.000000Z", "type": "Normal", "reason": "Verified",
        "action": "Verify", "note": "ok", "reportingController": "example.com/operator",
        "reportingInstance": "pod-a",
        "regarding": {"kind": "ConfigMap", "namespace": "default", "name": "x", "apiVersion": "v1"}})
}

#[tokio::test]
async fn events_k8s_io_validation() -> TestResult {
    let (sim, client) = sim().await?;
    let path = "/apis/events.k8s.io/v1/namespaces/default/events";
    let (code, body) = raw(&client, "POST", path, "application/json", new_event("good")).await?;
    assert_eq!(code, 201, "{body}");
    let mut bad = new_event("bad");
    if let Some(m) = bad.as_object_mut() {
        m.remove("eventTime");
        m.remove("action");
    }
    bad["type"] = json!("Info");
    bad["series"] = json!({"count": 1, "lastObservedTime": "2026-01-01T00:00:00.000000Z"});
    let (code, st) = raw(&client, "POST", path, "application/json", bad).await?;
    assert_eq!((code, st["reason"].as_str()), (422, Some("Invalid")));
    assert_eq!(
        st["message"],
        "Event.events.k8s.io \"bad\" is invalid: [series.count: Invalid value: \"\": should be at least 2, eventTime: Required value, type: Invalid value: \"\": has invalid value: Info]"
    );
    let mut bad = new_event("bad2");
    bad["reportingController"] = json!("");
    bad["action"] = json!("");
    bad["reason"] = json!("r".repeat(129));
    bad["deprecatedCount"] = json!(3);
    let (code, st) = raw(&client, "POST", path, "application/json", bad).await?;
    assert_eq!(code, 422);
    let fields: Vec<&str> = st["details"]["causes"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        fields,
        vec![
            "reportingController",
            "reportingController",
            "reportingController",
            "action",
            "reason",
            "count"
        ]
    );
    let messages: Vec<&str> = st["details"]["causes"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["message"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(messages[0], "Required value");
    assert_eq!(
        messages[4],
        "Invalid value: \"\": can have at most 128 characters"
    );
    assert_eq!(messages[5], "Invalid value: \"\": needs to be unset");
    // A series update with count 1 is refused; count 2 is fine.
    let ev = format!("{path}/good");
    let (code, st) = raw(
        &client,
        "PATCH",
        &ev,
        "application/merge-patch+json",
        json!({"series": {"count": 1, "lastObservedTime": "2026-01-01T00:00:01.000000Z"}}),
    )
    .await?;
    assert_eq!(
        (code, st["message"].as_str()),
        (
            422,
            Some(
                "Event.events.k8s.io \"good\" is invalid: series.count: Invalid value: \"\": should be at least 2"
            )
        )
    );
    let (code, _) = raw(
        &client,
        "PATCH",
        &ev,
        "application/merge-patch+json",
        json!({"series": {"count": 2, "lastObservedTime": "2026-01-01T00:00:01.000000Z"}}),
    )
    .await?;
    assert_eq!(code, 200);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn self_subject_access_review_is_always_allowed() -> TestResult {
    let (sim, client) = sim().await?;
    let (code, st) = raw(
        &client,
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        "application/json",
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
               "spec": {"resourceAttributes": {"verb": "create", "resource": "pods", "namespace": "default"}}}),
    )
    .await?;
    assert_eq!(code, 201);
    assert_eq!(st["status"]["allowed"], true);
    assert!(
        st["status"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no RBAC")
    );
    assert_eq!(st["spec"]["resourceAttributes"]["verb"], "create");
    let (code, _) = raw(
        &client,
        "GET",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        "",
        Value::Null,
    )
    .await?;
    assert_eq!(code, 405);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn custom_resource_scale_subresource() -> TestResult {
    let (sim, client) = sim().await?;
    let w = widgets(&client).await?;
    w.create(&PostParams::default(), &widget("scaled", "red", 2)?)
        .await?;
    let status = json!({"status": {"replicas": 1, "selector": "app=scaled"}});
    w.patch_status("scaled", &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    let scale = w.get_scale("scaled").await?;
    assert_eq!(scale.spec.as_ref().and_then(|s| s.replicas), Some(2));
    let st = scale.status.as_ref();
    assert_eq!(st.map(|s| s.replicas), Some(1));
    assert_eq!(st.and_then(|s| s.selector.as_deref()), Some("app=scaled"));
    let patched = w
        .patch_scale(
            "scaled",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"replicas": 5}})),
        )
        .await?;
    assert_eq!(patched.spec.and_then(|s| s.replicas), Some(5));
    let obj = w.get("scaled").await?;
    assert_eq!(obj.data["spec"]["replicas"], 5);
    assert_eq!(obj.metadata.generation, Some(2));
    let (code, reason, message) = api_error(
        w.patch_scale(
            "scaled",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"replicas": -1}})),
        )
        .await,
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert_eq!(
        message,
        "Scale.autoscaling \"scaled\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    // A CRD without subresources.scale has no scale endpoint.
    let (code, _) = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps/x/scale",
        "",
        Value::Null,
    )
    .await?;
    assert_eq!(code, 404);
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn crds_with_rules_over_the_cost_budget_are_refused() -> TestResult {
    let (sim, client) = sim().await?;
    let crd = |hosts: Value| {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.parity.dev"},
            "spec": {"group": "parity.dev", "scope": "Namespaced",
                "names": {"kind": "Gadget", "plural": "gadgets"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {"hosts": hosts},
                            "x-kubernetes-validations": [{"rule": "self.hosts.all(h, h.matches('^[a-z.]+$'))"}]}}}}}]}
        })
    };
    let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let unbounded = json!({"type": "array", "items": {"type": "string"}});
    let (code, st) = raw(&client, "POST", path, "application/json", crd(unbounded.clone())).await?;
    assert_eq!((code, st["reason"].as_str()), (422, Some("Invalid")));
    let rule = "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule";
    assert_eq!(st["details"]["causes"][0]["field"], rule);
    assert_eq!(
        st["details"]["causes"][0]["message"],
        "Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    );
    assert!(
        st["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("CustomResourceDefinition.apiextensions.k8s.io \"gadgets.parity.dev\" is invalid: [{rule}: Forbidden: estimated rule cost exceeds budget")),
        "{st}"
    );
    // Bounded, the same rule is affordable; an update back to unbounded is refused again.
    let bounded = json!({"type": "array", "maxItems": 16, "items": {"type": "string", "maxLength": 253}});
    let (code, body) = raw(&client, "POST", path, "application/json", crd(bounded)).await?;
    assert_eq!(code, 201, "{body}");
    let (code, _) = raw(
        &client,
        "PUT",
        &format!("{path}/gadgets.parity.dev"),
        "application/json",
        crd(unbounded),
    )
    .await?;
    assert_eq!(code, 422);
    sim.shutdown().await;
    Ok(())
}
