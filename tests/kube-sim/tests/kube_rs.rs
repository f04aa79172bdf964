//! kube-rs (kube 5) against kube-sim: CRUD, watcher/reflector, SSA, Controller, finalizers, GC,
//! conflicts, concurrency and bad input.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind, ObjectMeta};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

async fn sim() -> Result<(kube_sim::KubeSim, Client), Box<dyn std::error::Error + Send + Sync>> {
    let cfg = kube_sim::Config {
        bookmark_interval: Duration::from_millis(200),
        ..Default::default()
    };
    let sim = kube_sim::start(cfg).await?;
    let kc = kube::config::Kubeconfig::read_from(sim.kubeconfig_path())?;
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?;
    let client = Client::try_from(config)?;
    Ok((sim, client))
}

fn cm(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        ..Default::default()
    }
}

fn api_error(e: &kube::Error) -> Option<(u16, String, String)> {
    match e {
        kube::Error::Api(s) => Some((s.code, s.reason.clone(), s.message.clone())),
        _ => None,
    }
}

async fn eventually<F, Fut>(what: &str, mut f: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if f().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(format!("timed out waiting for {what}").into())
}

const CRD_YAML: &str = include_str!("../kubectl/fixtures/crd-customdomain.yaml");

async fn install_crd(
    client: &Client,
) -> Result<Api<DynamicObject>, Box<dyn std::error::Error + Send + Sync>> {
    let crd: Value = serde_yaml_ng::from_str(CRD_YAML)?;
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    );
    let crds: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    crds.create(&PostParams::default(), &serde_json::from_value(crd)?)
        .await?;
    let cd = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("auth0.domain-operator.dev", "v1alpha1", "CustomDomain"),
        "customdomains",
    );
    Ok(Api::namespaced_with(client.clone(), "default", &cd))
}

fn custom_domain(name: &str, domain: &str) -> Result<DynamicObject, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "CustomDomain",
        "metadata": {"name": name},
        "spec": {"domain": domain, "type": "Auth0ManagedCerts"},
    }))
}

#[tokio::test]
async fn api_crud_selectors_and_stale_update() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut a = cm("a", &[("k", "1")]);
    a.metadata.labels = Some(BTreeMap::from([("app".to_string(), "web".to_string())]));
    let created = api.create(&PostParams::default(), &a).await?;
    assert!(created.uid().is_some());
    api.create(&PostParams::default(), &cm("b", &[])).await?;
    let dup = api.create(&PostParams::default(), &cm("b", &[])).await.err();
    assert_eq!(
        dup.as_ref().and_then(api_error).map(|e| (e.0, e.1)),
        Some((409, "AlreadyExists".into()))
    );
    assert_eq!(
        api.list(&ListParams::default().labels("app=web"))
            .await?
            .items
            .len(),
        1
    );
    assert_eq!(
        api.list(&ListParams::default().labels("app!=web"))
            .await?
            .items
            .len(),
        1
    );
    assert_eq!(
        api.list(&ListParams::default().labels("app in (web,db)"))
            .await?
            .items
            .len(),
        1
    );
    assert_eq!(
        api.list(&ListParams::default().labels("!app")).await?.items.len(),
        1
    );
    assert_eq!(
        api.list(&ListParams::default().fields("metadata.name=b"))
            .await?
            .items
            .len(),
        1
    );
    // Pagination.
    let page = api.list(&ListParams::default().limit(1)).await?;
    assert_eq!(page.items.len(), 1);
    let token = page.metadata.continue_.clone().unwrap_or_default();
    assert!(!token.is_empty());
    let rest = api
        .list(&ListParams::default().limit(1).continue_token(&token))
        .await?;
    assert_eq!(rest.items.len(), 1);
    assert_ne!(page.items[0].name_any(), rest.items[0].name_any());
    // Stale update.
    let mut stale = created.clone();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await?;
    stale.data = Some(BTreeMap::from([("k".to_string(), "3".to_string())]));
    let err = api.replace("a", &PostParams::default(), &stale).await.err();
    let (code, reason, message) = err.as_ref().and_then(api_error).unwrap_or_default();
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // Dry run changes nothing.
    api.patch(
        "a",
        &PatchParams::default().dry_run(),
        &Patch::Merge(json!({"data": {"k": "dry"}})),
    )
    .await?;
    assert_eq!(
        api.get("a").await?.data.and_then(|d| d.get("k").cloned()),
        Some("2".to_string())
    );
    api.delete("a", &DeleteParams::default()).await?;
    let gone = api.get("a").await.err();
    assert_eq!(
        gone.as_ref().and_then(api_error).map(|e| e.2),
        Some("configmaps \"a\" not found".to_string())
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn watcher_bookmarks_and_410_relist() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &cm("first", &[])).await?;
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .default_backoff()
        .applied_objects();
    let task = tokio::spawn(async move {
        let mut s = std::pin::pin!(stream);
        while s.next().await.is_some() {}
    });
    reader.wait_until_ready().await?;
    assert_eq!(reader.state().len(), 1);
    api.create(&PostParams::default(), &cm("second", &[])).await?;
    eventually("reflector sees second", || async {
        reader
            .get(&reflector::ObjectRef::new("second").within("default"))
            .is_some()
    })
    .await?;
    // Bookmarks flow on watches that asked for them.
    let watches = sim
        .control()
        .requests()
        .iter()
        .filter(|r| r.verb == "watch" && r.resource == "configmaps")
        .count();
    assert!(watches >= 1);
    // Force 410 Gone on the next watch and drop the current one: kube-rs must relist.
    let lists_before = sim
        .control()
        .requests()
        .iter()
        .filter(|r| r.verb == "list" && r.resource == "configmaps")
        .count();
    sim.control().gone_next_watches(1);
    sim.control().close_watches();
    api.create(&PostParams::default(), &cm("third", &[])).await?;
    eventually("reflector sees third after relist", || async {
        reader
            .get(&reflector::ObjectRef::new("third").within("default"))
            .is_some()
    })
    .await?;
    eventually("a relist", || async {
        sim.control()
            .requests()
            .iter()
            .filter(|r| r.verb == "list" && r.resource == "configmaps")
            .count()
            > lists_before
    })
    .await?;
    // Deletions reach the store.
    api.delete("first", &DeleteParams::default()).await?;
    eventually("reflector drops first", || async {
        reader
            .get(&reflector::ObjectRef::new("first").within("default"))
            .is_none()
    })
    .await?;
    task.abort();
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn watcher_streaming_list_uses_send_initial_events() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    for n in ["s1", "s2", "s3"] {
        api.create(&PostParams::default(), &cm(n, &[])).await?;
    }
    let (reader, writer) = reflector::store::<ConfigMap>();
    let stream = reflector(
        writer,
        watcher(api.clone(), watcher::Config::default().streaming_lists()),
    )
    .applied_objects();
    let task = tokio::spawn(async move {
        let mut s = std::pin::pin!(stream);
        while s.next().await.is_some() {}
    });
    tokio::time::timeout(Duration::from_secs(5), reader.wait_until_ready()).await??;
    assert_eq!(reader.state().len(), 3);
    let log = sim.control().requests();
    assert!(
        log.iter()
            .any(|r| r.verb == "watch" && r.resource == "configmaps")
    );
    assert!(!log.iter().any(|r| r.verb == "list" && r.resource == "configmaps"));
    api.create(&PostParams::default(), &cm("s4", &[])).await?;
    eventually("streamed store sees s4", || async { reader.state().len() == 4 }).await?;
    task.abort();
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn recorder_events_show_up_as_core_events() -> TestResult {
    use k8s_openapi::api::core::v1::Event as CoreEvent;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let obj = api.create(&PostParams::default(), &cm("subject", &[])).await?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "test-operator".into(),
            instance: Some("pod-a".into()),
        },
    );
    let ev = Event {
        type_: EventType::Normal,
        reason: "Verified".into(),
        note: Some("DNS record found".into()),
        action: "Verify".into(),
        secondary: None,
    };
    recorder.publish(&ev, &obj.object_ref(&())).await?;
    recorder.publish(&ev, &obj.object_ref(&())).await?;
    let core: Api<CoreEvent> = Api::default_namespaced(client.clone());
    let found = core
        .list(&ListParams::default().fields("involvedObject.name=subject,involvedObject.kind=ConfigMap"))
        .await?;
    assert_eq!(found.items.len(), 1);
    let e = &found.items[0];
    assert_eq!(
        (e.reason.as_deref(), e.message.as_deref(), e.count),
        (Some("Verified"), Some("DNS record found"), Some(2))
    );
    assert!(e.last_timestamp.is_some());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn metadata_watcher_and_dangling_owner() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &cm("m1", &[("secret", "value")]))
        .await?;
    let meta = api.get_metadata("m1").await?;
    assert_eq!(meta.metadata.name.as_deref(), Some("m1"));
    let listed = api.list_metadata(&ListParams::default()).await?;
    assert_eq!(listed.items.len(), 1);
    let meta_api: Api<kube::core::PartialObjectMeta<ConfigMap>> = Api::default_namespaced(client.clone());
    let mut s = std::pin::pin!(watcher(meta_api, watcher::Config::default()).applied_objects());
    let first = tokio::time::timeout(Duration::from_secs(5), s.try_next()).await??;
    assert_eq!(first.map(|m| m.name_any()), Some("m1".to_string()));
    // A dependent created for an owner that does not exist is collected.
    let ghost = cm("ghost-owner", &[]);
    let mut orphan = cm("orphan", &[]);
    orphan.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: ghost.name_any(),
        uid: "00000000-0000-4000-8000-000000000000".into(),
        ..Default::default()
    }]);
    api.create(&PostParams::default(), &orphan).await?;
    eventually("orphan collected", || async {
        api.get_opt("orphan").await.ok().flatten().is_none()
    })
    .await?;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn raw_watch_sends_bookmarks_and_gone_for_expired_versions() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let c = api.create(&PostParams::default(), &cm("x", &[])).await?;
    let rv = c.resource_version().unwrap_or_default();
    let mut wp = kube::api::WatchParams::default().timeout(5);
    wp.bookmarks = true;
    let mut s = std::pin::pin!(api.watch(&wp, &rv).await?);
    let mut saw_bookmark = false;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(3), s.try_next()).await?? {
        if let kube::api::WatchEvent::Bookmark(_) = ev {
            saw_bookmark = true;
            break;
        }
    }
    assert!(saw_bookmark);
    api.create(&PostParams::default(), &cm("y", &[])).await?;
    sim.control().expire_history();
    let mut s = std::pin::pin!(api.watch(&wp, &rv).await?);
    let first = tokio::time::timeout(Duration::from_secs(3), s.try_next()).await??;
    match first {
        Some(kube::api::WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => return Err(format!("expected 410 ERROR event, got {other:?}").into()),
    }
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn server_side_apply_conflicts_and_force() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let obj =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"k": "alice"}});
    api.patch("ssa", &PatchParams::apply("alice"), &Patch::Apply(&obj))
        .await?;
    let bob =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"k": "bob"}});
    let err = api
        .patch("ssa", &PatchParams::apply("bob"), &Patch::Apply(&bob))
        .await
        .err();
    let (code, reason, message) = err.as_ref().and_then(api_error).unwrap_or_default();
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    assert_eq!(
        message,
        "Apply failed with 1 conflict: conflict with \"alice\": .data.k"
    );
    let forced = api
        .patch("ssa", &PatchParams::apply("bob").force(), &Patch::Apply(&bob))
        .await?;
    assert_eq!(forced.data.and_then(|d| d.get("k").cloned()), Some("bob".into()));
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["bob".to_string()]);
    // alice drops a field she no longer applies (she owns nothing now, so nothing is removed).
    api.patch(
        "ssa",
        &PatchParams::apply("alice"),
        &Patch::Apply(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"j": "1"}}),
        ),
    )
    .await?;
    let now = api.get("ssa").await?;
    assert_eq!(
        now.data.unwrap_or_default(),
        BTreeMap::from([
            ("j".to_string(), "1".to_string()),
            ("k".to_string(), "bob".to_string())
        ])
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn custom_resource_status_subresource_and_generation() -> TestResult {
    let (sim, client) = sim().await?;
    let api = install_crd(&client).await?;
    let created = api
        .create(
            &PostParams::default(),
            &custom_domain("login", "login.example.com")?,
        )
        .await?;
    assert_eq!(created.metadata.generation, Some(1));
    let st = api
        .patch_status("login", &PatchParams::apply("op").force(), &Patch::Apply(json!({"apiVersion": "auth0.domain-operator.dev/v1alpha1", "kind": "CustomDomain", "status": {"state": "Ready"}})))
        .await?;
    assert_eq!(st.metadata.generation, Some(1));
    assert_eq!(st.data["status"]["state"], "Ready");
    // Status sent to the main resource is ignored; spec changes bump generation.
    let p = api
        .patch(
            "login",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"tenantRef": {"name": "other"}}, "status": {"state": "Hacked"}})),
        )
        .await?;
    assert_eq!(p.metadata.generation, Some(2));
    assert_eq!(p.data["status"]["state"], "Ready");
    // Label changes do not bump generation.
    let l = api
        .patch(
            "login",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await?;
    assert_eq!(l.metadata.generation, Some(2));
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn finalizers_block_deletion_until_removed() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let mut c = cm("f", &[]);
    c.metadata.finalizers = Some(vec!["example.dev/cleanup".into()]);
    api.create(&PostParams::default(), &c).await?;
    api.delete("f", &DeleteParams::default()).await?;
    let marked = api.get("f").await?;
    assert!(marked.metadata.deletion_timestamp.is_some());
    api.patch(
        "f",
        &PatchParams::default(),
        &Patch::Json::<()>(serde_json::from_value(
            json!([{"op": "remove", "path": "/metadata/finalizers"}]),
        )?),
    )
    .await?;
    assert_eq!(
        api.get("f").await.err().as_ref().and_then(api_error).map(|e| e.0),
        Some(404)
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn finalizer_helper_runs_cleanup() -> TestResult {
    use kube::runtime::finalizer::{Event as Fin, finalizer};
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &cm("h", &[])).await?;
    let cleaned = Arc::new(AtomicUsize::new(0));
    for _ in 0..2 {
        let obj = Arc::new(api.get("h").await?);
        let cleaned = cleaned.clone();
        finalizer(&api, "example.dev/cleanup", obj, |ev| async move {
            if let Fin::Cleanup(_) = ev {
                cleaned.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<_, std::convert::Infallible>(Action::await_change())
        })
        .await?;
    }
    assert_eq!(
        api.get("h").await?.finalizers(),
        &["example.dev/cleanup".to_string()]
    );
    api.delete("h", &DeleteParams::default()).await?;
    let obj = Arc::new(api.get("h").await?);
    let c2 = cleaned.clone();
    finalizer(&api, "example.dev/cleanup", obj, |ev| async move {
        if let Fin::Cleanup(_) = ev {
            c2.fetch_add(1, Ordering::SeqCst);
        }
        Ok::<_, std::convert::Infallible>(Action::await_change())
    })
    .await?;
    assert_eq!(cleaned.load(Ordering::SeqCst), 1);
    assert!(api.get_opt("h").await?.is_none());
    sim.shutdown().await;
    Ok(())
}

fn owned_secret(name: &str, owner: &ConfigMap) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                name: owner.name_any(),
                uid: owner.uid().unwrap_or_default(),
                block_owner_deletion: Some(true),
                controller: Some(true),
            }]),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn garbage_collection_background_foreground_orphan() -> TestResult {
    let (sim, client) = sim().await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    // Background.
    let o1 = cms.create(&PostParams::default(), &cm("o1", &[])).await?;
    secrets
        .create(&PostParams::default(), &owned_secret("c1", &o1))
        .await?;
    cms.delete("o1", &DeleteParams::background()).await?;
    eventually("c1 collected", || async {
        secrets.get_opt("c1").await.ok().flatten().is_none()
    })
    .await?;
    // Foreground: the owner waits for a dependent held by a finalizer.
    let o2 = cms.create(&PostParams::default(), &cm("o2", &[])).await?;
    let mut c2 = owned_secret("c2", &o2);
    c2.metadata.finalizers = Some(vec!["example.dev/hold".into()]);
    secrets.create(&PostParams::default(), &c2).await?;
    cms.delete("o2", &DeleteParams::foreground()).await?;
    let owner = cms.get("o2").await?;
    assert!(owner.metadata.deletion_timestamp.is_some());
    assert!(owner.finalizers().contains(&"foregroundDeletion".to_string()));
    assert!(secrets.get("c2").await?.metadata.deletion_timestamp.is_some());
    secrets
        .patch(
            "c2",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await?;
    eventually("o2 gone after its dependent", || async {
        cms.get_opt("o2").await.ok().flatten().is_none()
    })
    .await?;
    // Orphan.
    let o3 = cms.create(&PostParams::default(), &cm("o3", &[])).await?;
    secrets
        .create(&PostParams::default(), &owned_secret("c3", &o3))
        .await?;
    cms.delete("o3", &DeleteParams::orphan()).await?;
    eventually("o3 gone", || async {
        cms.get_opt("o3").await.ok().flatten().is_none()
    })
    .await?;
    let c3 = secrets.get("c3").await?;
    assert!(c3.metadata.owner_references.unwrap_or_default().is_empty());
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn namespace_deletion_cascades() -> TestResult {
    let (sim, client) = sim().await?;
    let nss: Api<Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &Namespace {
            metadata: ObjectMeta {
                name: Some("team".into()),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await?;
    let team: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    team.create(&PostParams::default(), &cm("x", &[])).await?;
    nss.delete("team", &DeleteParams::default()).await?;
    eventually("namespace gone", || async {
        nss.get_opt("team").await.ok().flatten().is_none()
    })
    .await?;
    assert!(team.get_opt("x").await?.is_none());
    let err = team.create(&PostParams::default(), &cm("y", &[])).await.err();
    assert_eq!(
        err.as_ref().and_then(api_error).map(|e| e.2),
        Some("namespaces \"team\" not found".into())
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn controller_owns_reacts_to_child_changes() -> TestResult {
    let (sim, client) = sim().await?;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    let runs = Arc::new(AtomicUsize::new(0));
    struct Ctx {
        client: Client,
        runs: Arc<AtomicUsize>,
    }
    #[derive(Debug, thiserror::Error)]
    #[error(transparent)]
    struct E(#[from] kube::Error);
    async fn reconcile(obj: Arc<ConfigMap>, ctx: Arc<Ctx>) -> Result<Action, E> {
        ctx.runs.fetch_add(1, Ordering::SeqCst);
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
        let mut child = Secret {
            metadata: ObjectMeta {
                name: Some(format!("{}-child", obj.name_any())),
                ..Default::default()
            },
            ..Default::default()
        };
        if let Some(oref) = obj.controller_owner_ref(&()) {
            child.metadata.owner_references = Some(vec![oref]);
        }
        child.data = None;
        secrets
            .patch(
                &child.name_any(),
                &PatchParams::apply("ctl").force(),
                &Patch::Apply(&child),
            )
            .await?;
        Ok(Action::await_change())
    }
    fn error_policy(_: Arc<ConfigMap>, _: &E, _: Arc<Ctx>) -> Action {
        Action::requeue(Duration::from_millis(100))
    }
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        runs: runs.clone(),
    });
    let ctl = Controller::new(cms.clone(), watcher::Config::default())
        .owns(secrets.clone(), watcher::Config::default())
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {});
    let task = tokio::spawn(ctl);
    cms.create(&PostParams::default(), &cm("parent", &[])).await?;
    eventually("child created", || async {
        secrets.get_opt("parent-child").await.ok().flatten().is_some()
    })
    .await?;
    let before = runs.load(Ordering::SeqCst);
    secrets
        .patch(
            "parent-child",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
        )
        .await?;
    eventually("reconcile after child change", || async {
        runs.load(Ordering::SeqCst) > before
    })
    .await?;
    task.abort();
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn concurrent_writers_get_one_resource_version_order() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &cm("counter", &[("n", "0")]))
        .await?;
    let rv0: u64 = api
        .get("counter")
        .await?
        .resource_version()
        .unwrap_or_default()
        .parse()?;
    let wp = kube::api::WatchParams::default().timeout(30);
    let watch = api.watch(&wp, &rv0.to_string()).await?;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                api.create(&PostParams::default(), &cm(&format!("w{w}-{i}"), &[]))
                    .await?;
                // Read-modify-write with retry on conflict.
                loop {
                    let mut c = api.get("counter").await?;
                    let n: u64 = c
                        .data
                        .as_ref()
                        .and_then(|d| d.get("n"))
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    c.data = Some(BTreeMap::from([("n".to_string(), (n + 1).to_string())]));
                    match api.replace("counter", &PostParams::default(), &c).await {
                        Ok(_) => break,
                        Err(kube::Error::Api(s)) if s.code == 409 => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok::<(), kube::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let c = api.get("counter").await?;
    assert_eq!(c.data.and_then(|d| d.get("n").cloned()), Some("80".into()));
    // Every change arrives once, in strictly increasing resourceVersion order.
    let mut rvs = Vec::new();
    let mut s = std::pin::pin!(watch);
    while rvs.len() < 160 {
        match tokio::time::timeout(Duration::from_secs(5), s.try_next()).await?? {
            Some(kube::api::WatchEvent::Added(o) | kube::api::WatchEvent::Modified(o)) => {
                rvs.push(o.resource_version().unwrap_or_default().parse::<u64>()?)
            }
            Some(_) => {}
            None => break,
        }
    }
    assert_eq!(rvs.len(), 160);
    assert!(rvs.windows(2).all(|w| w[0] < w[1]));
    sim.shutdown().await;
    Ok(())
}

async fn raw(
    client: &Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<(u16, Value), Box<dyn std::error::Error + Send + Sync>> {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(kube::client::Body::from(body))?;
    let resp = client.send(req).await?;
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((code, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

#[tokio::test]
async fn bad_input_gets_kube_apiserver_statuses() -> TestResult {
    let (sim, client) = sim().await?;
    let cms = "/api/v1/namespaces/default/configmaps";
    let (code, st) = raw(&client, "POST", cms, "application/json", b"{not json".to_vec()).await?;
    assert_eq!((code, st["reason"].as_str()), (400, Some("BadRequest")));
    let (code, st) = raw(
        &client,
        "POST",
        cms,
        "application/json",
        br#"{"apiVersion":"v2","kind":"ConfigMap","metadata":{"name":"x"}}"#.to_vec(),
    )
    .await?;
    assert_eq!((code, st["reason"].as_str()), (400, Some("BadRequest")));
    let (code, st) = raw(
        &client,
        "POST",
        "/apis/nope.dev/v1/namespaces/default/things",
        "application/json",
        b"{}".to_vec(),
    )
    .await?;
    assert_eq!((code, st["reason"].as_str()), (404, Some("NotFound")));
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"k":"{}"}}}}"#,
        "x".repeat(4 * 1024 * 1024)
    );
    let (code, st) = raw(&client, "POST", cms, "application/json", big.into_bytes()).await?;
    assert_eq!(
        (code, st["reason"].as_str()),
        (413, Some("RequestEntityTooLarge"))
    );
    let (code, st) = raw(
        &client,
        "PATCH",
        &format!("{cms}/x"),
        "text/plain",
        b"{}".to_vec(),
    )
    .await?;
    assert_eq!((code, st["reason"].as_str()), (415, Some("UnsupportedMediaType")));
    let (code, st) = raw(
        &client,
        "POST",
        &format!("{cms}/x"),
        "application/json",
        b"{}".to_vec(),
    )
    .await?;
    assert_eq!((code, st["reason"].as_str()), (405, Some("MethodNotAllowed")));
    let (code, st) = raw(
        &client,
        "POST",
        cms,
        "application/json",
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#.to_vec(),
    )
    .await?;
    assert_eq!((code, st["reason"].as_str()), (422, Some("Invalid")));
    assert_eq!(st["details"]["causes"][0]["field"], "metadata.name");
    let (code, st) = raw(
        &client,
        "POST",
        cms,
        "application/yaml",
        b"apiVersion: v1\nkind: [".to_vec(),
    )
    .await?;
    assert_eq!((code, st["reason"].as_str()), (400, Some("BadRequest")));
    // Unauthenticated.
    let plain = kube_sim::start(kube_sim::Config {
        tls: false,
        ..Default::default()
    })
    .await?;
    let url = format!("{}/api/v1/namespaces", plain.url());
    let resp = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut s = std::net::TcpStream::connect(addr)?;
        s.write_all(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok::<_, std::io::Error>(out)
    })
    .await??;
    assert!(resp.starts_with("HTTP/1.1 401"));
    assert!(resp.contains("\"reason\":\"Unauthorized\""));
    plain.shutdown().await;
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn fault_injection_conflicts_and_errors() -> TestResult {
    let (sim, client) = sim().await?;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    sim.control().conflict_next_writes(2);
    for _ in 0..2 {
        let e = api.create(&PostParams::default(), &cm("c", &[])).await.err();
        assert_eq!(e.as_ref().and_then(api_error).map(|e| e.0), Some(409));
    }
    api.create(&PostParams::default(), &cm("c", &[])).await?;
    sim.control().add_fault(kube_sim::FaultRule {
        verb: Some("get".into()),
        resource: Some("configmaps".into()),
        status: Some(500),
        latency_ms: 50,
        count: Some(1),
        ..kube_sim::FaultRule::default()
    });
    let started = std::time::Instant::now();
    let e = api.get("c").await.err();
    assert_eq!(e.as_ref().and_then(api_error).map(|e| e.0), Some(500));
    assert!(started.elapsed() >= Duration::from_millis(50));
    api.get("c").await?;
    // A rule for another namespace leaves this one alone.
    sim.control().add_fault(kube_sim::FaultRule {
        verb: Some("get".into()),
        resource: Some("configmaps".into()),
        namespace: Some("elsewhere".into()),
        status: Some(503),
        ..kube_sim::FaultRule::default()
    });
    api.get("c").await?;
    let elsewhere: Api<ConfigMap> = Api::namespaced(client.clone(), "elsewhere");
    let e = elsewhere.get("c").await.err();
    assert_eq!(e.as_ref().and_then(api_error).map(|e| e.0), Some(503));
    sim.control().clear_faults();
    let log = sim.control().requests();
    assert!(
        log.iter()
            .any(|r| r.verb == "get" && r.resource == "configmaps" && r.code == 500)
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn discovery_and_control_endpoints() -> TestResult {
    let (sim, client) = sim().await?;
    install_crd(&client).await?;
    let discovery = kube::Discovery::new(client.clone()).run().await?;
    let (ar, caps) = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .find(|(ar, _)| ar.plural == "customdomains")
        .ok_or("customdomains not discovered")?;
    assert_eq!(
        (ar.group.as_str(), ar.version.as_str(), ar.kind.as_str()),
        ("auth0.domain-operator.dev", "v1alpha1", "CustomDomain")
    );
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(caps.subresources.iter().any(|(s, _)| s.plural == "status"));
    let (code, _) = raw(
        &client,
        "POST",
        "/__sim/conflicts",
        "application/json",
        br#"{"count":1}"#.to_vec(),
    )
    .await?;
    assert_eq!(code, 200);
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let e = api.create(&PostParams::default(), &cm("x", &[])).await.err();
    assert_eq!(e.as_ref().and_then(api_error).map(|e| e.0), Some(409));
    api.create(&PostParams::default(), &cm("x", &[])).await?;
    let (code, log) = raw(&client, "GET", "/__sim/requests", "application/json", Vec::new()).await?;
    assert_eq!(code, 200);
    let creates = log
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["verb"] == "create" && r["resource"] == "configmaps")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(creates, 2);
    let (code, counters) = raw(&client, "GET", "/__sim/counters", "application/json", Vec::new()).await?;
    assert_eq!(code, 200);
    assert!(
        counters
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k.starts_with("create /configmaps ")))
    );
    sim.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn state_file_survives_restart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state.json");
    let cfg = kube_sim::Config {
        state_file: Some(state.clone()),
        tls: false,
        ..Default::default()
    };
    let sim = kube_sim::start(cfg.clone()).await?;
    let client = Client::try_from(
        kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(sim.kubeconfig_path())?,
            &Default::default(),
        )
        .await?,
    )?;
    let api = install_crd(&client).await?;
    api.create(
        &PostParams::default(),
        &custom_domain("keep", "keep.example.com")?,
    )
    .await?;
    let rv: u64 = api
        .get("keep")
        .await?
        .resource_version()
        .unwrap_or_default()
        .parse()?;
    sim.shutdown().await;
    let sim = kube_sim::start(cfg).await?;
    let client = Client::try_from(
        kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(sim.kubeconfig_path())?,
            &Default::default(),
        )
        .await?,
    )?;
    let cd = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("auth0.domain-operator.dev", "v1alpha1", "CustomDomain"),
        "customdomains",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &cd);
    assert_eq!(api.get("keep").await?.data["spec"]["domain"], "keep.example.com");
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let next: u64 = cms
        .create(&PostParams::default(), &cm("after", &[]))
        .await?
        .resource_version()
        .unwrap_or_default()
        .parse()?;
    assert!(next > rv);
    sim.shutdown().await;
    Ok(())
}
