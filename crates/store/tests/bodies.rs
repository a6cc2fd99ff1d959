//! Captured bodies on both stores: the project setting, bodies written with
//! their events and read back, and retention by each project's days.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::*;
use tally_core::*;
use tally_store::*;

conformance!(
    a_project_captures_nothing_until_changed,
    bodies_are_written_with_their_events,
    bodies_are_kept_for_their_projects_retention,
);

/// 2026-03-01T00:00:00Z
const START: i64 = 1_772_323_200_000;
const DAY: i64 = 86_400_000;

/// An organization with one project, and a key reference for its events.
async fn project(store: &dyn Store, name: &str) -> (Project, KeyRef) {
    let user = store
        .create_user(&email(&format!("{name}@example.com")), &common::name("Ann"), "hash")
        .await
        .unwrap();
    let org = store
        .create_org(&common::name("Org"), Plan::Pro, user.id)
        .await
        .unwrap();
    let project = store.create_project(org.id, &common::name(name)).await.unwrap();
    let key = KeyRef {
        org: org.id,
        project: project.id,
        key: ApiKeyId::new(),
        creator: user.id,
    };
    (project, key)
}

fn bodies_of(e: &ActivityEvent, request: &[u8]) -> RequestBodies {
    RequestBodies {
        event_id: e.id,
        project_id: e.project_id,
        started_at: e.started_at,
        request: request.to_vec(),
        // Not UTF-8: stored as bytes, whatever they are.
        response: vec![b'{', 0xff, 0xfe, b'}'],
        request_truncated: true,
        response_truncated: false,
    }
}

async fn a_project_captures_nothing_until_changed(store: Arc<dyn Store>) {
    let (p, _) = project(store.as_ref(), "Search").await;
    assert!(!p.capture_bodies);
    assert_eq!(p.body_retention, RetentionDays::DEFAULT);
    assert_eq!(store.project(p.id).await.unwrap(), p);

    let on = ProjectChange {
        capture_bodies: Some(true),
        ..ProjectChange::default()
    };
    let changed = store.update_project(p.id, on).await.unwrap();
    assert!(changed.capture_bodies);
    assert_eq!(changed.body_retention, RetentionDays::DEFAULT, "left as it was");
    assert_eq!(changed.name, p.name, "left as it was");

    let days = RetentionDays::new(30).unwrap();
    let longer = ProjectChange {
        body_retention: Some(days),
        ..ProjectChange::default()
    };
    let changed = store.update_project(p.id, longer).await.unwrap();
    assert!(changed.capture_bodies, "left as it was");
    assert_eq!(changed.body_retention, days);

    let renamed = store.rename_project(p.id, &name("Search 2")).await.unwrap();
    assert_eq!((renamed.capture_bodies, renamed.body_retention), (true, days));
    assert_eq!(store.projects(p.org_id).await.unwrap(), vec![renamed]);

    store.delete_project(p.id, jiff::Timestamp::now()).await.unwrap();
    let again = store.update_project(p.id, ProjectChange::default()).await;
    assert!(matches!(again, Err(StoreError::NotFound)), "{again:?}");
}

async fn bodies_are_written_with_their_events(store: Arc<dyn Store>) {
    let (_, key) = project(store.as_ref(), "Search").await;
    let all = events(7, &[key], START, DAY, 3);
    let bodies = vec![bodies_of(&all[0], b"{\"model\":\"gpt-4o\"}")];
    store.record_with_bodies(all.clone(), bodies.clone()).await.unwrap();
    assert_eq!(store.bodies(all[0].id).await.unwrap(), Some(bodies[0].clone()));
    assert_eq!(store.bodies(all[1].id).await.unwrap(), None, "nothing captured");
    assert_eq!(store.bodies(EventId::new()).await.unwrap(), None);
    // Written with their events: both or neither.
    assert_eq!(store.event(all[0].id).await.unwrap(), all[0]);
}

async fn bodies_are_kept_for_their_projects_retention(store: Arc<dyn Store>) {
    let (short, short_key) = project(store.as_ref(), "Short").await;
    let (_, long_key) = project(store.as_ref(), "Long").await;
    let one_day = ProjectChange {
        body_retention: Some(RetentionDays::new(1).unwrap()),
        ..ProjectChange::default()
    };
    store.update_project(short.id, one_day).await.unwrap();
    // Each project: one request at START, one 20 hours later.
    let mut all = Vec::new();
    for key in [short_key, long_key] {
        for offset in [0, 20 * 3_600_000] {
            let mut e = events(all.len() as u64, &[key], START + offset, 1, 1).remove(0);
            e.started_at = at(START + offset);
            all.push(e);
        }
    }
    let bodies: Vec<RequestBodies> = all.iter().map(|e| bodies_of(e, b"{}")).collect();
    store.record_with_bodies(all.clone(), bodies).await.unwrap();
    // More old ones than the store deletes at a time.
    let old = events(99, &[short_key], START, 1000, 300);
    let bodies: Vec<RequestBodies> = old.iter().map(|e| bodies_of(e, b"{}")).collect();
    store.record_with_bodies(old, bodies).await.unwrap();

    // A deleted project's bodies go by its retention all the same.
    store.delete_project(short.id, at(START)).await.unwrap();
    // A day and a half after START: the short project's first body is older
    // than its one day; the long project keeps both for seven.
    assert_eq!(store.prune_bodies(at(START + DAY + DAY / 2)).await.unwrap(), 301);
    assert_eq!(kept(store.as_ref(), &all).await, [false, true, true, true]);
    // Exactly at the end of a retention the body still is within it.
    assert_eq!(store.prune_bodies(at(START + 7 * DAY)).await.unwrap(), 1);
    assert_eq!(kept(store.as_ref(), &all).await, [false, false, true, true]);
    assert_eq!(store.prune_bodies(at(START + 7 * DAY + 1)).await.unwrap(), 1);
    assert_eq!(kept(store.as_ref(), &all).await, [false, false, false, true]);
    // The events stay: retention of bodies is not retention of events.
    for e in &all {
        assert_eq!(&store.event(e.id).await.unwrap(), e);
    }
    // Pruning raw events takes their bodies with them.
    store.prune_events(at(START + DAY)).await.unwrap();
    assert_eq!(store.bodies(all[3].id).await.unwrap(), None);
}

/// Which of `events` still have their bodies.
async fn kept(store: &dyn Store, events: &[ActivityEvent]) -> Vec<bool> {
    let mut kept = Vec::new();
    for e in events {
        kept.push(store.bodies(e.id).await.unwrap().is_some());
    }
    kept
}
