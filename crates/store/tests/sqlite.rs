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
    assert_eq!(versions, shipped_migrations());
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
        end_user: None,
        tags: None,
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
        usage_invalid: false,
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

/// The first column of every row `sql` selects, as text.
fn texts(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Requests counted by each rollup table, read from the rollups' file
/// beside the main file at `path`: a `*_day` table counts the days before
/// the open day, its `*_hour` table the days from it on.
fn on_disk(path: &std::path::Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(tally_store::sqlite::rollups_path(path)).unwrap();
    let tables = texts(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'usage_rollups' OR name GLOB 'rollup_*_hour' OR name GLOB 'rollup_*_day') ORDER BY name",
    );
    assert_eq!(tables.len(), 1 + 2 * tally_store::rollup::shape::SHAPES.len());
    let open: i64 = conn
        .query_row("SELECT open_day FROM rollup_state", [], |r| r.get(0))
        .unwrap();
    let sum = |sql: &str| -> i64 { conn.query_row(sql, [open * 24], |r| r.get(0)).unwrap() };
    tables
        .into_iter()
        .map(|t| {
            let n = match t.strip_suffix("_day") {
                Some(shape) => {
                    let days = sum(&format!(
                        "SELECT COALESCE(SUM(requests), 0) FROM {t} WHERE bucket < ?1 / 24"
                    ));
                    days + sum(&format!(
                        "SELECT COALESCE(SUM(requests), 0) FROM {shape}_hour WHERE bucket >= ?1"
                    ))
                }
                None => sum(&format!("SELECT COALESCE(SUM(requests), 0) FROM {t} WHERE ?1 = ?1")),
            };
            (t, n)
        })
        .collect()
}

fn all(n: i64) -> Vec<i64> {
    vec![n; 1 + 2 * tally_store::rollup::shape::SHAPES.len()]
}

fn counts(rows: Vec<(String, i64)>) -> Vec<i64> {
    rows.into_iter().map(|(_, n)| n).collect()
}

#[tokio::test]
async fn events_are_seen_at_once_and_counted_into_the_rollups_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    assert!(dir.path().join("tally.rollups.db").exists());
    let org = OrgId::new();
    store.record((0..50).map(|i| event(org, i)).collect()).await.unwrap();
    store.record((50..60).map(|i| event(org, i)).collect()).await.unwrap();
    // Counted or not yet, every event is in every answer, once.
    assert_eq!(analytics(&store, org).await, (60, (0..60).sum()));
    store.flush().await.unwrap();
    assert_eq!(counts(on_disk(store.path())), all(60));
    assert_eq!(analytics(&store, org).await, (60, (0..60).sum()));
    // Closing the store counts what is left.
    store.record(vec![event(org, 1000)]).await.unwrap();
    let path = store.path().to_owned();
    drop(store);
    assert_eq!(counts(on_disk(&path)), all(61));
}

#[tokio::test]
async fn two_stores_on_one_file_count_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let one = SqliteStore::open(dir.path()).unwrap();
    let other = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    for round in 0..5 {
        one.record((0..10).map(|i| event(org, round * 20 + i)).collect())
            .await
            .unwrap();
        other
            .record((10..20).map(|i| event(org, round * 20 + i)).collect())
            .await
            .unwrap();
    }
    assert_eq!(analytics(&one, org).await, (100, (0..100).sum()));
    assert_eq!(analytics(&other, org).await, (100, (0..100).sum()));
    let (a, b) = tokio::join!(one.flush(), other.flush());
    a.unwrap();
    b.unwrap();
    assert_eq!(counts(on_disk(one.path())), all(100));
    assert_eq!(analytics(&other, org).await, (100, (0..100).sum()));
}

#[tokio::test]
async fn a_rebuild_recounts_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    store.record((0..10).map(|i| event(org, i)).collect()).await.unwrap();
    store.flush().await.unwrap();
    store.record((10..20).map(|i| event(org, i)).collect()).await.unwrap();
    // By another store on the file, with events not counted yet.
    let other = SqliteStore::open(dir.path()).unwrap();
    // A row per event in usage_rollups and each hour table; today is the
    // open day, which the day tables do not have yet.
    let per_event = 1 + tally_store::rollup::shape::SHAPES.len() as u64;
    assert_eq!(other.rebuild_rollups().await.unwrap(), 20 * per_event);
    assert_eq!(counts(on_disk(store.path())), all(20));
    assert_eq!(analytics(&store, org).await, (20, (0..20).sum()));
    store.record((20..30).map(|i| event(org, i)).collect()).await.unwrap();
    assert_eq!(store.rebuild_rollups().await.unwrap(), 30 * per_event);
    store.flush().await.unwrap();
    assert_eq!(counts(on_disk(store.path())), all(30));
    assert_eq!(analytics(&other, org).await, (30, (0..30).sum()));
}

/// Copies a database's files as a killed process would leave them.
fn copy_files(from: &std::path::Path, to: &std::path::Path, names: &[&str]) {
    for name in names {
        let source = from.join(name);
        if source.exists() {
            std::fs::copy(source, to.join(name)).unwrap();
        }
    }
}

#[tokio::test]
async fn events_not_counted_at_a_crash_are_counted_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    store.record((0..30).map(|i| event(org, i)).collect()).await.unwrap();
    store.flush().await.unwrap();
    // The rollups' file as it was when 30 events were counted, the main
    // file with 15 more: a crash before the rollup writer caught up.
    let crashed = tempfile::tempdir().unwrap();
    copy_files(
        dir.path(),
        crashed.path(),
        &["tally.rollups.db", "tally.rollups.db-wal"],
    );
    store.record((30..40).map(|i| event(org, i)).collect()).await.unwrap();
    store.record((40..45).map(|i| event(org, i)).collect()).await.unwrap();
    copy_files(dir.path(), crashed.path(), &["tally.db", "tally.db-wal"]);
    let main = crashed.path().join("tally.db");
    assert_eq!(counts(on_disk(&main)), all(30));
    let reopened = SqliteStore::open(crashed.path()).unwrap();
    assert_eq!(analytics(&reopened, org).await, (45, (0..45).sum()));
    reopened.flush().await.unwrap();
    assert_eq!(counts(on_disk(&main)), all(45));
    // Counted once: opening again adds nothing.
    drop(reopened);
    let again = SqliteStore::open(crashed.path()).unwrap();
    again.flush().await.unwrap();
    assert_eq!(counts(on_disk(&main)), all(45));
    assert_eq!(analytics(&again, org).await, (45, (0..45).sum()));
}

#[tokio::test]
async fn a_missing_rollups_file_is_recounted_from_the_raw_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    store.record((0..12).map(|i| event(org, i)).collect()).await.unwrap();
    drop(store);
    for name in ["tally.rollups.db", "tally.rollups.db-wal", "tally.rollups.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(analytics(&store, org).await, (12, (0..12).sum()));
    store.flush().await.unwrap();
    assert_eq!(counts(on_disk(store.path())), all(12));
}

#[tokio::test]
async fn a_corrupt_rollups_file_is_set_aside_and_recounted_from_the_raw_events() {
    for damage in ["garbage", "truncated"] {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let org = OrgId::new();
        store.record((0..12).map(|i| event(org, i)).collect()).await.unwrap();
        store.flush().await.unwrap();
        drop(store);
        let file = dir.path().join("tally.rollups.db");
        let bytes = std::fs::read(&file).unwrap();
        let damaged = match damage {
            "garbage" => vec![0xa5; bytes.len()],
            _ => bytes[..bytes.len() / 3].to_vec(),
        };
        std::fs::write(&file, damaged).unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(analytics(&store, org).await, (12, (0..12).sum()), "{damage}");
        store.flush().await.unwrap();
        assert_eq!(counts(on_disk(store.path())), all(12), "{damage}");
        let aside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("tally.rollups.db.corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1, "{damage}: the damaged file is kept aside: {aside:?}");
    }
}

#[tokio::test]
async fn a_raw_event_the_rollup_writer_cannot_read_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    store.record(vec![event(org, 1)]).await.unwrap();
    store.flush().await.unwrap();
    // Written under the store, as a damaged row or another tool would:
    // its provider is not UTF-8, so it cannot be counted.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.execute_batch(
        "CREATE TEMP TABLE poison AS SELECT * FROM activity_events LIMIT 1;
         UPDATE poison SET id = randomblob(16), provider = CAST(x'ff' AS TEXT);
         INSERT INTO activity_events SELECT * FROM poison;",
    )
    .unwrap();
    drop(conn);
    for batch in 0..10 {
        let events = (0..1_000).map(|i| event(org, batch * 1_000 + i)).collect();
        store.record(events).await.unwrap();
    }
    store.flush().await.unwrap();
    assert_eq!(store.rollup_backlog().await.unwrap(), 0, "the watermark moved past it");
    assert_eq!(store.rollup_skipped(), 1);
    assert_eq!(analytics(&store, org).await, (10_001, 1 + (0..10_000).sum::<i64>()));
}

#[tokio::test]
async fn pruning_keeps_the_rollups_and_the_newest_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    store.record((0..8).map(|i| event(org, i)).collect()).await.unwrap();
    // Every event is older than the cutoff; the newest stays, so the next
    // event cannot take a rowid the rollups already count.
    let deleted = store
        .prune_events(Timestamp::now() + jiff::SignedDuration::from_hours(1))
        .await
        .unwrap();
    assert_eq!(deleted, 7);
    assert_eq!(store.event_count(org).await.unwrap(), 1);
    store.record((8..10).map(|i| event(org, i)).collect()).await.unwrap();
    assert_eq!(analytics(&store, org).await, (10, (0..10).sum()));
    store.flush().await.unwrap();
    assert_eq!(counts(on_disk(store.path())), all(10));
}

/// How many migrations of the main file ship (the build lists the folder).
fn shipped_migrations() -> i64 {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/sqlite/migrations"))
        .unwrap()
        .count() as i64
}

/// The main file's migrations up to version 9, as shipped.
const MIGRATIONS: [&str; 9] = [
    include_str!("../src/sqlite/migrations/0001_initial.sql"),
    include_str!("../src/sqlite/migrations/0002_model_settings.sql"),
    include_str!("../src/sqlite/migrations/0003_rollups.sql"),
    include_str!("../src/sqlite/migrations/0004_rollup_shapes.sql"),
    include_str!("../src/sqlite/migrations/0005_local_days.sql"),
    include_str!("../src/sqlite/migrations/0006_deferred_rollups.sql"),
    include_str!("../src/sqlite/migrations/0007_rollups_in_their_own_file.sql"),
    include_str!("../src/sqlite/migrations/0008_usage_invalid.sql"),
    include_str!("../src/sqlite/migrations/0009_invitations.sql"),
];

/// Writes `tally.db` in `dir` as a tally that stopped at schema `version`
/// left it (WAL mode, migrations 1 to `version` noted), with no rollups file.
fn main_file_at(dir: &std::path::Path, version: usize) -> std::path::PathBuf {
    let path = dir.join("tally.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;",
    )
    .unwrap();
    for (v, sql) in MIGRATIONS.iter().enumerate().take(version) {
        conn.execute_batch(sql).unwrap();
        conn.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [v + 1])
            .unwrap();
    }
    drop(conn);
    path
}

fn schema_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_main_file_of_schema_version_1_to_6_is_refused_and_left_as_it_was() {
    for version in 1..=6 {
        let dir = tempfile::tempdir().unwrap();
        let path = main_file_at(dir.path(), version);
        let before = std::fs::read(&path).unwrap();
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let refused = SqliteStore::open(dir.path()).err();
        match &refused {
            Some(StoreError::Outdated { version: v, .. }) => assert_eq!(*v, version as i64),
            other => panic!("version {version}: {other:?}"),
        }
        let message = refused.unwrap().to_string();
        for says in [&format!("schema version {version}"), "28f8d39", "was not changed"] {
            assert!(message.contains(says), "{message}");
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "version {version}: the file changed"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified);
        assert_eq!(schema_version(&path), version as i64);
        let rollups = tally_store::sqlite::rollups_path(&path);
        assert!(!rollups.exists(), "version {version}: a rollups file was created");
    }
}

#[tokio::test]
async fn a_main_file_of_schema_version_7_or_later_is_brought_up_to_date() {
    for version in 7..=8 {
        let dir = tempfile::tempdir().unwrap();
        let path = main_file_at(dir.path(), version);
        let store = SqliteStore::open(dir.path()).unwrap();
        let org = OrgId::new();
        record_and_count(&store, (0..3).map(|i| event(org, i)).collect()).await;
        assert_eq!(analytics(&store, org).await, (3, 3));
        drop(store);
        assert_eq!(schema_version(&path), shipped_migrations());
    }
}

/// Records `events` and lets the rollups count them.
async fn record_and_count(store: &SqliteStore, events: Vec<ActivityEvent>) {
    store.record(events).await.unwrap();
    store.flush().await.unwrap();
}

/// An event of `org` at `at`, costing `i` nanos.
fn event_at(org: OrgId, i: u64, at: &str) -> ActivityEvent {
    ActivityEvent {
        started_at: at.parse().unwrap(),
        ..event(org, i)
    }
}

/// Requests per UTC day of `org`, for the days of `days` (day numbers since 1970).
async fn daily(store: &SqliteStore, org: OrgId, days: std::ops::Range<i64>) -> Vec<u64> {
    let rows = store
        .usage(UsageQuery {
            scope: Scope::Org(org),
            from_bucket: days.start * 96,
            to_bucket: days.end * 96,
            group_by: vec![Dim::Bucket],
            cuts: days.clone().map(|d| d * 96).collect(),
        })
        .await
        .unwrap();
    days.map(|d| {
        rows.iter()
            .filter(|(k, _)| k[0] == DimValue::Bucket(d * 96))
            .map(|(_, t)| t.requests)
            .sum()
    })
    .collect()
}

/// The open day, and for each shape whether its day table has, for every
/// day before the open day, exactly the sums of that day's hours.
fn day_tables(path: &std::path::Path) -> (i64, Vec<(String, bool)>) {
    let conn = rusqlite::Connection::open(tally_store::sqlite::rollups_path(path)).unwrap();
    let open: i64 = conn
        .query_row("SELECT open_day FROM rollup_state", [], |r| r.get(0))
        .unwrap();
    let shapes = texts(
        &conn,
        "SELECT substr(name, 1, length(name) - 4) FROM sqlite_master WHERE type = 'table' AND name GLOB 'rollup_*_day' ORDER BY name",
    );
    assert_eq!(shapes.len(), tally_store::rollup::shape::SHAPES.len());
    let sums = "SUM(requests), SUM(input_tokens), SUM(cost_nanos)";
    let exact = shapes
        .into_iter()
        .map(|s| {
            let per_day = |sql: String| -> Vec<(i64, i64, i64, i64)> {
                conn.prepare(&sql)
                    .unwrap()
                    .query_map([open], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect()
            };
            let days = per_day(format!(
                "SELECT bucket, {sums} FROM {s}_day WHERE bucket < ?1 GROUP BY bucket ORDER BY bucket"
            ));
            let hours = per_day(format!(
                "SELECT bucket / 24, {sums} FROM {s}_hour WHERE bucket < ?1 * 24 GROUP BY bucket / 24 ORDER BY 1"
            ));
            (s, days == hours)
        })
        .collect();
    (open, exact)
}

#[tokio::test]
async fn days_move_into_the_day_tables_once_a_later_day_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = OrgId::new();
    // 2026-11-01 is day 20758 since 1970.
    let first = 20758;
    let exact = |(open, shapes): (i64, Vec<(String, bool)>)| {
        assert!(shapes.iter().all(|(_, ok)| *ok), "{shapes:?}");
        open
    };
    record_and_count(
        &store,
        vec![
            event_at(org, 1, "2026-11-01T00:10:00Z"),
            event_at(org, 2, "2026-11-01T12:00:00Z"),
            event_at(org, 3, "2026-11-01T23:59:59Z"),
        ],
    )
    .await;
    // The newest day written is open: its events are in the hours only.
    assert_eq!(exact(day_tables(store.path())), first);
    assert_eq!(daily(&store, org, first - 1..first + 3).await, [0, 3, 0, 0]);
    // Two days later: the first day is rolled into the day tables.
    record_and_count(
        &store,
        vec![
            event_at(org, 4, "2026-11-03T08:00:00Z"),
            event_at(org, 5, "2026-11-03T09:00:00Z"),
        ],
    )
    .await;
    assert_eq!(exact(day_tables(store.path())), first + 2);
    assert_eq!(daily(&store, org, first - 1..first + 3).await, [0, 3, 0, 2]);
    // A late event of a closed day goes to its hours and its day.
    record_and_count(&store, vec![event_at(org, 6, "2026-11-01T06:00:00Z")]).await;
    assert_eq!(exact(day_tables(store.path())), first + 2);
    assert_eq!(daily(&store, org, first - 1..first + 3).await, [0, 4, 0, 2]);
    assert_eq!(analytics(&store, org).await, (6, 21));
    assert_eq!(counts(on_disk(store.path())), all(6));
    // A recount writes every day again and ends with the same open day.
    store.rebuild_rollups().await.unwrap();
    assert_eq!(exact(day_tables(store.path())), first + 2);
    assert_eq!(daily(&store, org, first - 1..first + 3).await, [0, 4, 0, 2]);
    // Across a restart.
    let path = store.path().to_owned();
    drop(store);
    let store = SqliteStore::open_file(&path).unwrap();
    record_and_count(&store, vec![event_at(org, 7, "2026-11-04T01:00:00Z")]).await;
    assert_eq!(exact(day_tables(store.path())), first + 3);
    assert_eq!(daily(&store, org, first - 1..first + 4).await, [0, 4, 0, 2, 1]);
    assert_eq!(analytics(&store, org).await, (7, 28));

    // A day of many key ranges is rolled over several writes, and reads
    // stay exact meanwhile: 100 keys (each with its project and member).
    let many: Vec<ActivityEvent> = (0..100).map(|i| event_at(org, i, "2026-11-04T12:00:00Z")).collect();
    let first_key = many[0].clone();
    record_and_count(&store, many).await;
    record_and_count(&store, vec![event_at(org, 1, "2026-11-05T00:30:00Z")]).await;
    // More key ranges are noted than one write rolls: the day is still open.
    assert_eq!(exact(day_tables(store.path())), first + 3);
    assert_eq!(daily(&store, org, first + 2..first + 5).await, [2, 101, 1]);
    // A late event of a key range already rolled is rolled again.
    let late = ActivityEvent {
        id: EventId::new(),
        started_at: "2026-11-04T23:00:00Z".parse().unwrap(),
        ..first_key
    };
    record_and_count(&store, vec![late]).await;
    let mut writes = 2;
    while exact(day_tables(store.path())) == first + 3 {
        assert_eq!(daily(&store, org, first + 2..first + 5).await, [2, 102, 1 + writes - 2]);
        record_and_count(&store, vec![event_at(org, 1, "2026-11-05T01:00:00Z")]).await;
        writes += 1;
        assert!(writes < 20, "the day was never closed");
    }
    assert_eq!(exact(day_tables(store.path())), first + 4);
    assert_eq!(daily(&store, org, first + 2..first + 5).await, [2, 102, 1 + writes - 2]);
    assert_eq!(counts(on_disk(store.path())), all(7 + 101 + writes as i64 - 1));
}

/// Requests per end user of `project` over the UTC days `days`.
async fn by_end_user(store: &SqliteStore, project: ProjectId, days: std::ops::Range<i64>) -> Vec<(DimValue, u64)> {
    let mut rows: Vec<(DimValue, u64)> = store
        .usage(UsageQuery {
            scope: Scope::Project(project),
            from_bucket: days.start * 96,
            to_bucket: days.end * 96,
            group_by: vec![Dim::EndUser],
            cuts: Vec::new(),
        })
        .await
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k[0].clone(), t.requests))
        .collect();
    rows.sort_by_key(|(k, _)| format!("{k:?}"));
    rows
}

#[tokio::test]
async fn spans_of_days_are_computed_at_the_first_catch_up_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let (org, project) = (OrgId::new(), ProjectId::new());
    // 2026-01-01 is day 20454; three end users over forty days, in order.
    for d in 0..40_i64 {
        let events = (0..3_u64)
            .map(|u| ActivityEvent {
                started_at: Timestamp::from_millisecond((20_454 + d) * 86_400_000 + 3_600_000).unwrap(),
                project_id: project,
                end_user: Some(format!("user-{u}")),
                ..event(org, u + 1)
            })
            .collect();
        record_and_count(&store, events).await;
    }
    let days = 20_454..20_494;
    let want: Vec<(DimValue, u64)> = (0..3)
        .map(|u| (DimValue::Text(Some(format!("user-{u}"))), 40))
        .collect();
    // The newest day is still open: read by hour, the others by day and span.
    assert_eq!(by_end_user(&store, project, days.clone()).await, want);
    let rollups = rusqlite::Connection::open(tally_store::sqlite::rollups_path(store.path())).unwrap();
    let spans = |c: &rusqlite::Connection| -> i64 {
        c.query_row("SELECT COUNT(*) FROM rollup_project_end_user_span", [], |r| r.get(0))
            .unwrap()
    };
    assert!(spans(&rollups) > 0, "spans are kept as days close");
    drop(store);
    // As migration 0006 leaves a file counted before it: no span yet.
    rollups
        .execute_batch("DELETE FROM rollup_project_end_user_span; UPDATE rollup_state SET spans_open = 0;")
        .unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(by_end_user(&store, project, days.clone()).await, want, "read from days");
    // Without a new event: the writer's catch-up (at start, once idle) does.
    store.flush().await.unwrap();
    assert!(spans(&rollups) > 0, "the catch-up computes them");
    assert_eq!(by_end_user(&store, project, days).await, want, "read from spans");
}
