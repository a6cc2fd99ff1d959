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
    assert_eq!(versions, 6);
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

fn event(org: OrgId, i: u64) -> ActivityEvent {
    ActivityEvent {
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
    }
}

#[tokio::test]
async fn events_are_recorded_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    store.record((0..100).map(|i| event(org, i)).collect()).await.unwrap();
    store.record(vec![event(org, 7)]).await.unwrap();
    assert_eq!(store.event_count(org).await.unwrap(), 101);
    assert_eq!(store.event_count(OrgId::new()).await.unwrap(), 0);
}

/// (requests, cost) in an organization's analytics, over all time.
async fn analytics(store: &SqliteStore, org: OrgId) -> (u64, i64) {
    let rows = store
        .usage(UsageQuery {
            scope: Scope::Org(org),
            from_bucket: 0,
            to_bucket: i64::MAX / 2,
            group_by: vec![Dim::CanonicalModel],
            cuts: Vec::new(),
        })
        .await
        .unwrap();
    rows.iter()
        .fold((0, 0), |(n, c), (_, t)| (n + t.requests, c + t.cost.nanos()))
}

/// Requests written to each rollup table, read from the file itself.
fn on_disk(path: &std::path::Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'usage_rollups' OR name GLOB 'rollup_*_hour' OR name GLOB 'rollup_*_day') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tables.len(), 11);
    tables
        .into_iter()
        .map(|t| {
            let n: i64 = conn
                .query_row(&format!("SELECT COALESCE(SUM(requests), 0) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            (t, n)
        })
        .collect()
}

fn all(n: i64) -> Vec<i64> {
    vec![n; 11]
}

fn counts(rows: Vec<(String, i64)>) -> Vec<i64> {
    rows.into_iter().map(|(_, n)| n).collect()
}

#[tokio::test]
async fn deferred_rollups_are_seen_at_once_and_written_by_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    store.record((0..50).map(|i| event(org, i)).collect()).await.unwrap();
    store.record((50..60).map(|i| event(org, i)).collect()).await.unwrap();
    // Held in memory, not yet in the tables, yet in every answer.
    assert_eq!(counts(on_disk(store.path())), all(0));
    assert_eq!(analytics(&store, org).await, (60, (0..60).sum()));
    store.flush().await.unwrap();
    assert_eq!(counts(on_disk(store.path())), all(60));
    assert_eq!(analytics(&store, org).await, (60, (0..60).sum()));
    // Closing the store flushes too.
    store.record(vec![event(org, 1000)]).await.unwrap();
    let path = store.path().to_owned();
    drop(store);
    assert_eq!(counts(on_disk(&path)), all(61));
}

#[tokio::test]
async fn a_second_store_on_the_same_file_writes_rollups_with_each_batch() {
    let dir = tempfile::tempdir().unwrap();
    let owner = SqliteStore::open(dir.path()).unwrap();
    let other = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    owner.record((0..10).map(|i| event(org, i)).collect()).await.unwrap();
    other.record((10..15).map(|i| event(org, i)).collect()).await.unwrap();
    // The other store's batch is on disk at once; the owner's is held.
    assert_eq!(counts(on_disk(owner.path())), all(5));
    assert_eq!(analytics(&owner, org).await, (15, (0..15).sum()));
    assert_eq!(analytics(&other, org).await, (5, (10..15).sum()));
    owner.flush().await.unwrap();
    assert_eq!(analytics(&other, org).await, (15, (0..15).sum()));
}

#[tokio::test]
async fn a_rebuild_leaves_held_events_to_their_flush() {
    let dir = tempfile::tempdir().unwrap();
    let owner = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    owner.record((0..10).map(|i| event(org, i)).collect()).await.unwrap();
    owner.flush().await.unwrap();
    owner.record((10..20).map(|i| event(org, i)).collect()).await.unwrap();
    // Rebuilt by another store on the file while the owner holds the second
    // batch: it is left to the owner's flush, and counted once.
    let other = SqliteStore::open(dir.path()).unwrap();
    other.rebuild_rollups().await.unwrap();
    assert_eq!(counts(on_disk(owner.path())), all(10));
    assert_eq!(analytics(&owner, org).await, (20, (0..20).sum()));
    owner.flush().await.unwrap();
    assert_eq!(counts(on_disk(owner.path())), all(20));
    assert_eq!(analytics(&other, org).await, (20, (0..20).sum()));
    // Rebuilt by the owner while it holds a batch: written first, then rebuilt.
    owner.record((20..30).map(|i| event(org, i)).collect()).await.unwrap();
    owner.rebuild_rollups().await.unwrap();
    assert_eq!(counts(on_disk(owner.path())), all(30));
    assert_eq!(analytics(&owner, org).await, (30, (0..30).sum()));
}

#[tokio::test]
async fn sums_held_at_a_crash_are_replayed_from_the_raw_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    store.record((0..30).map(|i| event(org, i)).collect()).await.unwrap();
    store.flush().await.unwrap();
    store.record((30..40).map(|i| event(org, i)).collect()).await.unwrap();
    store.record((40..45).map(|i| event(org, i)).collect()).await.unwrap();
    // A crash now loses the held sums of the last two batches: copy the
    // files as a killed process would leave them, and open the copy.
    let crashed = tempfile::tempdir().unwrap();
    for file in ["tally.db", "tally.db-wal"] {
        std::fs::copy(dir.path().join(file), crashed.path().join(file)).unwrap();
    }
    assert_eq!(counts(on_disk(&crashed.path().join("tally.db"))), all(30));
    let reopened = SqliteStore::open(crashed.path()).unwrap();
    assert_eq!(counts(on_disk(reopened.path())), all(45));
    assert_eq!(analytics(&reopened, org).await, (45, (0..45).sum()));
    // Replayed once: opening again adds nothing.
    drop(reopened);
    let again = SqliteStore::open(crashed.path()).unwrap();
    assert_eq!(counts(on_disk(again.path())), all(45));
}
