//! The Event recorder against the Kubernetes API simulator: a repeat within the series window
//! becomes a series count on one Event; a different note is a new Event.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use auth0_domain_operator::telemetry::events::Recorder;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::ListParams;
use kube::runtime::events::{Event, EventType, Reporter};
use kube::{Api, Client};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn sim() -> Result<(kube_sim::KubeSim, Client), common::BoxError> {
    common::kube_sim().await
}

fn warning(note: &str) -> Event {
    Event {
        type_: EventType::Warning,
        reason: "DnsRecordMissing".into(),
        note: Some(note.into()),
        action: "Verify".into(),
        secondary: None,
    }
}

#[tokio::test]
async fn repeats_become_a_series_and_new_notes_new_events() -> Result<(), BoxError> {
    let (_sim, client) = sim().await?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "auth0-domain-operator".into(),
            instance: Some("pod-1".into()),
        },
    );
    let regarding = ObjectReference {
        api_version: Some("auth0.domain-operator.dev/v1alpha1".into()),
        kind: Some("CustomDomain".into()),
        namespace: Some("default".into()),
        name: Some("login".into()),
        uid: Some("uid-1".into()),
        ..ObjectReference::default()
    };
    for _ in 0..3 {
        recorder
            .publish(&warning("TXT record missing"), &regarding)
            .await?;
    }
    recorder
        .publish(&warning("CNAME record missing"), &regarding)
        .await?;
    let api: Api<K8sEvent> = Api::namespaced(client, "default");
    let mut events = api.list(&ListParams::default()).await?.items;
    events.sort_by_key(|e| e.note.clone());
    assert_eq!(events.len(), 2, "{events:?}");
    let (cname, txt) = (&events[0], &events[1]);
    assert_eq!(txt.note.as_deref(), Some("TXT record missing"));
    assert_eq!(txt.series.as_ref().map(|s| s.count), Some(3));
    assert!(cname.series.is_none());
    for e in &events {
        assert_eq!(e.reason.as_deref(), Some("DnsRecordMissing"));
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(e.reporting_controller.as_deref(), Some("auth0-domain-operator"));
        assert_eq!(e.reporting_instance.as_deref(), Some("pod-1"));
        assert_eq!(
            e.regarding.as_ref().and_then(|r| r.name.as_deref()),
            Some("login")
        );
        assert!(
            e.metadata
                .name
                .as_deref()
                .unwrap_or_default()
                .starts_with("login.")
        );
    }
    assert_eq!(recorder.remembered(), 2);
    Ok(())
}

#[tokio::test]
async fn a_deleted_event_is_published_again() -> Result<(), BoxError> {
    let (_sim, client) = sim().await?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "auth0-domain-operator".into(),
            instance: None,
        },
    );
    let regarding = ObjectReference {
        kind: Some("Auth0Tenant".into()),
        namespace: Some("default".into()),
        name: Some("prod".into()),
        ..ObjectReference::default()
    };
    recorder.publish(&warning("x"), &regarding).await?;
    let api: Api<K8sEvent> = Api::namespaced(client, "default");
    api.delete_collection(&Default::default(), &ListParams::default())
        .await?;
    recorder.publish(&warning("x"), &regarding).await?;
    let events = api.list(&ListParams::default()).await?.items;
    assert_eq!(events.len(), 1);
    assert!(
        events[0].series.is_none(),
        "a fresh Event, not a series of a deleted one"
    );
    Ok(())
}
