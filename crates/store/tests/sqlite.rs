//! The embedded store against a real database file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use tally_core::*;
use tally_store::sqlite::SqliteStore;
use tally_store::*;

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

async fn user(store: &SqliteStore, email: &str) -> User {
    store
        .create_user(&Email::parse(email).unwrap(), &name("U"), "hash")
        .await
        .unwrap()
}

fn new_key(org: OrgId, project: ProjectId, by: UserId, fill: u8) -> NewApiKey {
    NewApiKey {
        id: ApiKeyId::new(),
        org_id: org,
        project_id: project,
        name: name("k"),
        secret_hash: [fill; 32],
        last4: "abcd".into(),
        created_by: by,
        created_at: Timestamp::now(),
    }
}

#[tokio::test]
async fn reopening_keeps_data_and_does_not_reapply_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let u = user(&store, "a@example.com").await;
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.user(u.id).await.unwrap().email.as_str(), "a@example.com");
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let versions: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(versions, 5);
}

#[tokio::test]
async fn emails_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    user(&store, "a@example.com").await;
    let again = store
        .create_user(&Email::parse("A@example.com").unwrap(), &name("B"), "h")
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

#[tokio::test]
async fn an_organization_keeps_an_owner() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let a = user(&store, "a@example.com").await;
    let b = user(&store, "b@example.com").await;
    let org = store.create_org(&name("O"), Plan::Pro, a.id).await.unwrap();
    assert!(matches!(
        store.set_role(org.id, a.id, Role::Admin).await,
        Err(StoreError::LastOwner)
    ));
    assert!(matches!(
        store.remove_member(org.id, a.id).await,
        Err(StoreError::LastOwner)
    ));
    store.add_member(org.id, b.id, Role::Owner).await.unwrap();
    store.set_role(org.id, a.id, Role::Developer).await.unwrap();
    assert!(matches!(
        store.remove_member(org.id, b.id).await,
        Err(StoreError::LastOwner)
    ));
    assert_eq!(store.role_of(org.id, a.id).await.unwrap(), Some(Role::Developer));
}

#[tokio::test]
async fn keys_are_found_by_hash_until_revoked_and_project_deletion_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let a = user(&store, "a@example.com").await;
    let org = store.create_org(&name("O"), Plan::Free, a.id).await.unwrap();
    let p = store.create_project(org.id, &name("P")).await.unwrap();
    let k1 = store.create_api_key(new_key(org.id, p.id, a.id, 1)).await.unwrap();
    let k2 = store.create_api_key(new_key(org.id, p.id, a.id, 2)).await.unwrap();
    assert!(matches!(
        store.create_api_key(new_key(org.id, p.id, a.id, 2)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.active_key_by_hash(&[1; 32]).await.unwrap().id, k1.id);

    let revoked = store.revoke_api_key(k1.id, Timestamp::now()).await.unwrap();
    let again = store.revoke_api_key(k1.id, Timestamp::now()).await.unwrap();
    assert_eq!(revoked.revoked_at, again.revoked_at, "revocation time is kept");
    assert!(matches!(
        store.active_key_by_hash(&[1; 32]).await,
        Err(StoreError::NotFound)
    ));

    store.delete_project(p.id, Timestamp::now()).await.unwrap();
    assert!(matches!(store.project(p.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.active_key_by_hash(&[2; 32]).await,
        Err(StoreError::NotFound)
    ));
    assert!(!store.api_key(k2.id).await.unwrap().is_active());
}

#[tokio::test]
async fn events_are_recorded_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    let event = |i: u64| ActivityEvent {
        id: EventId::new(),
        started_at: Timestamp::now(),
        org_id: org,
        project_id: ProjectId::new(),
        api_key_id: ApiKeyId::new(),
        created_by: UserId::new(),
        requested_model: Some("gpt-4o".into()),
        provider: Some("openai".into()),
        routed_model: Some("openai/gpt-4o".into()),
        canonical_model: Some("gpt-4o".into()),
        app: None,
        endpoint: Endpoint::ChatCompletions,
        stream: i.is_multiple_of(2),
        outcome: Outcome::Success,
        http_status: 200,
        error: None,
        usage: Usage {
            input: Some(i),
            output: Some(1),
            ..Usage::default()
        },
        cost: Money::from_nanos(i as i64),
        estimated: false,
        unpriced: false,
        latency_us: 1000,
        ttft_us: None,
    };
    store.record((0..100).map(event).collect()).await.unwrap();
    store.record(vec![event(7)]).await.unwrap();
    assert_eq!(store.event_count(org).await.unwrap(), 101);
    assert_eq!(store.event_count(OrgId::new()).await.unwrap(), 0);
}
