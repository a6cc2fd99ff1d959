//! What only the PostgreSQL store has to get right: migrations under
//! concurrent starts, several writers (separate pools, as separate
//! processes) adding to the same rollup rows, a retried batch, and the copy
//! from SQLite (`transfer`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use tally_core::time::bucket_of;
use tally_core::*;
use tally_store::postgres::PgStore;
use tally_store::sqlite::SqliteStore;
use tally_store::transfer::{self, TransferError};
use tally_store::*;

async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_apply_each_migration_once() {
    let db = tally_pg_harness::database().await;
    let url = db.url().to_owned();
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgStore::connect(&url, 2).await })
        })
        .collect();
    for s in starts {
        let store = s.await.unwrap().unwrap();
        assert_eq!(store.pool_size(), 2);
    }
    // And again, on a migrated database.
    PgStore::connect(&url, 1).await.unwrap();
    let rows = raw(&url)
        .await
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .await
        .unwrap();
    let versions: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let expected: Vec<i64> = tally_store::postgres::MIGRATIONS.iter().map(|m| m.0).collect();
    assert_eq!(versions, expected);
}

/// 15-minute rows as migration 7 left them, a row per latency and
/// time-to-first-token bin: migration 8 merges the rows that differed only
/// by their bins into one holding both histograms, which the analytics read.
#[tokio::test]
async fn the_histogram_migration_merges_rows_by_bin() {
    let db = tally_pg_harness::database().await;
    let client = raw(db.url()).await;
    client
        .batch_execute("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, applied_at bigint NOT NULL)")
        .await
        .unwrap();
    for (version, sql) in tally_store::postgres::MIGRATIONS.iter().filter(|m| m.0 <= 7) {
        client.batch_execute(sql).await.unwrap();
        client
            .execute("INSERT INTO schema_migrations VALUES ($1, 0)", &[version])
            .await
            .unwrap();
    }
    let (org, key, project, user) = (OrgId::new(), ApiKeyId::new(), ProjectId::new(), UserId::new());
    let bucket = bucket_of(at(1_773_000_000_000));
    for (b, bin, ttft, requests) in [
        (bucket, 30_i64, 0_i64, 3_i64),
        (bucket, 31, 20, 2),
        (bucket + 1, 30, 20, 1),
    ] {
        client
            .execute(
                "INSERT INTO usage_rollups (org_id, bucket, api_key_id, provider, routed_model, canonical_model, app,
                    end_user, tags, http_status, latency_bin, ttft_bin, project_id, created_by, requests,
                    upstream_errors, gateway_errors, client_errors, canceled, input_tokens, cached_input_tokens,
                    cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos, estimated, unpriced,
                    latency_us, ttft_us, ttft_count, usage_invalid)
                 VALUES ($1, $2, $3, 'openai', 'openai/gpt-4o', 'gpt-4o', '', '', '', 200, $4, $5, $6, $7, $8,
                    0, 0, 0, 0, 10, 0, 0, 5, 0, 700, 0, 0, 900, 0, 0, 0)",
                &[
                    org.as_uuid(),
                    &b,
                    key.as_uuid(),
                    &bin,
                    &ttft,
                    project.as_uuid(),
                    user.as_uuid(),
                    &requests,
                ],
            )
            .await
            .unwrap();
    }
    let store = PgStore::connect(db.url(), 1).await.unwrap();
    let rows: i64 = client
        .query_one("SELECT COUNT(*) FROM usage_rollups", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 2);
    let q = |group_by: Vec<Dim>| UsageQuery {
        scope: Scope::Org(org),
        from_bucket: bucket,
        to_bucket: bucket + 2,
        group_by,
        cuts: Vec::new(),
    };
    let usage = store.usage(q(vec![])).await.unwrap();
    assert_eq!(usage[0].1.requests, 6);
    let got = store.latencies(q(vec![Dim::Bucket])).await.unwrap();
    let hist = |bins: &[(i64, u64)]| {
        let mut h = latency::Histogram::default();
        for (b, n) in bins {
            h.add(*b, *n);
        }
        h
    };
    let got: BTreeMap<_, _> = got.into_iter().collect();
    let want: BTreeMap<_, _> = [
        (
            vec![DimValue::Bucket(bucket)],
            latency::Latencies {
                latency: hist(&[(30, 3), (31, 2)]),
                ttft: hist(&[(20, 2)]),
            },
        ),
        (
            vec![DimValue::Bucket(bucket + 1)],
            latency::Latencies {
                latency: hist(&[(30, 1)]),
                ttft: hist(&[(20, 1)]),
            },
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_database_newer_than_this_tally_is_refused_and_urls_are_described_without_passwords() {
    let db = tally_pg_harness::database().await;
    PgStore::connect(db.url(), 1).await.unwrap();
    raw(db.url())
        .await
        .execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
            &[],
        )
        .await
        .unwrap();
    let err = PgStore::connect(db.url(), 1).await.unwrap_err();
    assert!(err.to_string().contains("newer than this tally"), "{err}");

    let bad = PgStore::connect("postgres://nobody@127.0.0.1:1/none?connect_timeout=2", 1).await;
    assert!(matches!(bad, Err(StoreError::Database(_))), "{bad:?}");

    let described = tally_store::postgres::describe_url("postgres://tally:s3cret@db.internal:5433/tally");
    assert_eq!(described, "PostgreSQL database tally at db.internal:5433 as tally");
    assert!(!described.contains("s3cret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_written_twice_counts_once() {
    let backend = postgres().await;
    let store = backend.store.clone();
    let keys = [KeyRef {
        org: OrgId::new(),
        project: ProjectId::new(),
        key: ApiKeyId::new(),
        creator: UserId::new(),
    }];
    let batch = events(3, &keys, 1_772_323_200_000, 3_600_000, 50);
    store.record(batch.clone()).await.unwrap();
    // As the batch writer does when a commit's outcome was lost with the connection.
    store.record(batch.clone()).await.unwrap();
    let mut mixed = events(4, &keys, 1_772_323_200_000, 3_600_000, 10);
    mixed.extend(batch[..5].iter().cloned());
    store.record(mixed.clone()).await.unwrap();
    assert_eq!(store.event_count(keys[0].org).await.unwrap(), 60);
    let total = store
        .usage(usage_query(Scope::Org(keys[0].org), ALL_TIME.0, ALL_TIME.1, vec![]))
        .await
        .unwrap();
    let mut want = UsageTotals::default();
    for e in batch.iter().chain(&mixed[..10]) {
        want.add(&UsageTotals::of(e));
    }
    assert_eq!(total, vec![(vec![], want)]);
}

/// Four stores with pools of their own (as four processes) write
/// overlapping batches at once, while rollups are rebuilt twice: every
/// rollup row equals the sum of its raw events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_rebuilds_keep_rollups_exact() {
    let db = tally_pg_harness::database().await;
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Arc::new(PgStore::connect(db.url(), 4).await.unwrap()));
    }
    let org = OrgId::new();
    let keys: Vec<KeyRef> = (0..3)
        .map(|_| KeyRef {
            org,
            project: ProjectId::new(),
            key: ApiKeyId::new(),
            creator: UserId::new(),
        })
        .collect();
    // Few buckets and models: batches collide on the same rollup rows.
    let mut tasks = Vec::new();
    let mut all = Vec::new();
    for (w, store) in stores.iter().enumerate() {
        for t in 0..3 {
            let batches: Vec<Vec<ActivityEvent>> = (0..8)
                .map(|b| events((w * 100 + t * 10 + b) as u64, &keys, 1_772_323_200_000, 1_800_000, 40))
                .collect();
            all.extend(batches.iter().flatten().cloned());
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for batch in batches {
                    store.record(batch).await.unwrap();
                }
            }));
        }
    }
    let rebuilder = stores[0].clone();
    tasks.push(tokio::spawn(async move {
        for _ in 0..2 {
            rebuilder.rebuild_rollups().await.unwrap();
        }
    }));
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(stores[1].event_count(org).await.unwrap(), all.len() as u64);
    let q = usage_query(
        Scope::Org(org),
        ALL_TIME.0,
        ALL_TIME.1,
        vec![
            Dim::Bucket,
            Dim::ApiKey,
            Dim::Provider,
            Dim::RoutedModel,
            Dim::CanonicalModel,
            Dim::App,
        ],
    );
    let mut want: BTreeMap<Vec<DimValue>, UsageTotals> = BTreeMap::new();
    for e in &all {
        let key = vec![
            DimValue::Bucket(bucket_of(e.started_at)),
            DimValue::Id(*e.api_key_id.as_uuid()),
            DimValue::Text(e.provider.clone()),
            DimValue::Text(e.routed_model.clone()),
            DimValue::Text(e.canonical_model.clone()),
            DimValue::Text(e.app.clone()),
        ];
        want.entry(key).or_default().add(&UsageTotals::of(e));
    }
    let got: BTreeMap<_, _> = stores[2].usage(q).await.unwrap().into_iter().collect();
    assert_eq!(got, want);
}

/// An embedded installation with everything in it: accounts, a departed
/// member, a deleted project, revoked keys, tokens, settings, events, and
/// raw events pruned so that the rollups hold more than the raw events.
async fn seeded_sqlite(dir: &std::path::Path) -> (SqliteStore, Vec<KeyRef>) {
    let store = SqliteStore::open(dir).unwrap();
    let s: &dyn Store = &store;
    let owner = s
        .create_user(&email("o@example.com"), &name("Olivia"), "h1")
        .await
        .unwrap();
    let dev = s
        .create_user(&email("d@example.com"), &name("Dana"), "h2")
        .await
        .unwrap();
    let gone = s
        .create_user(&email("g@example.com"), &name("Gus"), "h3")
        .await
        .unwrap();
    let acme = s.create_org(&name("Acme"), Plan::Enterprise, owner.id).await.unwrap();
    let hobby = s.create_org(&name("Hobby"), Plan::Free, dev.id).await.unwrap();
    s.add_member(acme.id, dev.id, Role::Developer).await.unwrap();
    s.add_member(acme.id, gone.id, Role::Admin).await.unwrap();
    let p1 = s.create_project(acme.id, &name("Support")).await.unwrap();
    let p2 = s.create_project(acme.id, &name("Old")).await.unwrap();
    let p3 = s.create_project(hobby.id, &name("Toy")).await.unwrap();
    let mut keys = Vec::new();
    for (i, (org, project, by)) in [
        (acme.id, p1.id, owner.id),
        (acme.id, p1.id, dev.id),
        (acme.id, p2.id, gone.id),
        (hobby.id, p3.id, dev.id),
    ]
    .into_iter()
    .enumerate()
    {
        let k = s
            .create_api_key(NewApiKey {
                id: ApiKeyId::new(),
                org_id: org,
                project_id: project,
                name: name(&format!("key{i}")),
                secret_hash: [i as u8 + 1; 32],
                last4: format!("{i:04}"),
                created_by: by,
                created_at: at(1_700_000_000_000 + i as i64),
                expires_at: None,
                limits: Default::default(),
            })
            .await
            .unwrap();
        keys.push(KeyRef {
            org,
            project,
            key: k.id,
            creator: by,
        });
    }
    s.create_token(NewToken {
        id: TokenId::new(),
        user_id: dev.id,
        kind: TokenKind::Personal,
        name: "script".into(),
        secret_hash: [42; 32],
        created_at: at(1_700_000_000_000),
        expires_at: None,
    })
    .await
    .unwrap();
    s.create_model_mapping(ModelMapping {
        id: uuid::Uuid::now_v7(),
        org_id: acme.id,
        alias: "fast".into(),
        target: "openai/gpt-4o-mini".into(),
        created_at: at(1_700_000_000_000),
    })
    .await
    .unwrap();
    s.put_price_override(PriceOverride {
        id: uuid::Uuid::now_v7(),
        org_id: acme.id,
        model: "gpt-4o".into(),
        input: 1_000_000_000,
        cached_input: None,
        cache_write: Some(3),
        output: 4_000_000_000,
        reasoning: None,
        created_at: at(1_700_000_000_000),
    })
    .await
    .unwrap();
    // A budget, a webhook, an alert fired to it and one attempt.
    let budget = s
        .create_budget(Budget {
            id: BudgetId::new(),
            org_id: acme.id,
            scope: BudgetScope::Organization,
            amount: "12.5".parse().unwrap(),
            period: Period::Month,
            timezone: TimeZone::parse("Asia/Kolkata").unwrap(),
            action: BudgetAction::Block,
            thresholds: "50,100".parse().unwrap(),
            created_by: dev.id,
            created_at: at(1_700_000_000_000),
        })
        .await
        .unwrap();
    s.create_webhook(Webhook {
        id: WebhookId::new(),
        org_id: acme.id,
        url: "https://hooks.example/x".into(),
        salt: "salt".into(),
        created_by: dev.id,
        created_at: at(1_700_000_000_000),
    })
    .await
    .unwrap();
    assert!(
        s.fire_alert(FiredAlert {
            budget_id: budget.id,
            org_id: acme.id,
            period_start: Some(at(1_700_000_000_000)),
            threshold: 50,
            at: at(1_700_000_001_000),
            payload: "{}".into(),
        })
        .await
        .unwrap()
    );
    let claimed = s
        .claim_deliveries(at(1_700_000_001_000), at(1_700_000_061_000), 10)
        .await
        .unwrap();
    let [delivery] = &claimed[..] else {
        panic!("one delivery: {claimed:?}")
    };
    let attempt = Attempt {
        number: 1,
        at: at(1_700_000_002_000),
        status: None,
        error: Some("connection refused".into()),
        duration_ms: 3,
    };
    s.record_attempt(delivery.id, attempt, DeliveryState::Pending, at(1_700_000_003_000))
        .await
        .unwrap();
    // Invitations: one pending, one accepted (with its account), one revoked.
    for (fill, mail) in [(7u8, "p@example.com"), (8, "a@example.com"), (9, "r@example.com")] {
        s.create_invitation(NewInvitation {
            id: InvitationId::new(),
            org_id: acme.id,
            email: email(mail),
            role: Role::Developer,
            secret_hash: [fill; 32],
            invited_by: owner.id,
            created_at: at(1_700_000_000_000),
            expires_at: at(4_000_000_000_000),
        })
        .await
        .unwrap();
    }
    let acceptor = Acceptor::NewAccount {
        name: name("Ada"),
        password_hash: "h4".into(),
    };
    s.accept_invitation(&[8; 32], acceptor, at(1_700_000_000_001))
        .await
        .unwrap()
        .unwrap();
    let revoked = s.invitation_by_hash(&[9; 32]).await.unwrap();
    s.revoke_invitation(acme.id, revoked.id, at(1_700_000_000_002))
        .await
        .unwrap();
    let start = 1_772_323_200_000;
    for chunk in events(21, &keys, start, 20 * 86_400_000, 3_000).chunks(500) {
        s.record(chunk.to_vec()).await.unwrap();
    }
    s.prune_events(at(start + 5 * 86_400_000)).await.unwrap();
    // A project that captures bodies, and the newest event's bodies.
    let capture = ProjectChange {
        capture_bodies: Some(true),
        body_retention: Some(RetentionDays::new(30).unwrap()),
        ..ProjectChange::default()
    };
    s.update_project(p1.id, capture).await.unwrap();
    let captured = events(22, &keys[..1], start + 21 * 86_400_000, 1, 1);
    let bodies = RequestBodies {
        event_id: captured[0].id,
        project_id: p1.id,
        started_at: captured[0].started_at,
        request: b"{\"model\":\"gpt-4o\"}".to_vec(),
        response: vec![0xff, 0x00, b'x'],
        request_truncated: false,
        response_truncated: true,
    };
    s.record_with_bodies(captured, vec![bodies]).await.unwrap();
    s.revoke_api_key(keys[1].key, at(1_780_000_000_000)).await.unwrap();
    s.delete_project(p2.id, at(1_780_000_000_000)).await.unwrap();
    s.remove_member(acme.id, gone.id).await.unwrap();
    (store, keys)
}

/// Reads everything the traits can tell about `orgs`, for comparison.
async fn everything(s: &dyn Store, keys: &[KeyRef]) -> Vec<String> {
    let mut out = Vec::new();
    let mut orgs: Vec<OrgId> = keys.iter().map(|k| k.org).collect();
    orgs.dedup();
    for org in orgs {
        out.push(format!("{:?}", s.org(org).await.unwrap()));
        out.push(format!("{:?}", s.members(org).await.unwrap()));
        for m in s.members(org).await.unwrap() {
            out.push(format!("{:?}", s.user(m.user_id).await.unwrap()));
            out.push(format!("{:?}", s.orgs_of_user(m.user_id).await.unwrap()));
            out.push(format!("{:?}", s.tokens(m.user_id, TokenKind::Personal).await.unwrap()));
        }
        out.push(format!("{:?}", s.projects(org).await.unwrap()));
        out.push(format!("{:?}", s.api_keys(org, None, None).await.unwrap()));
        out.push(format!("{:?}", s.model_mappings(org).await.unwrap()));
        out.push(format!("{:?}", s.price_overrides(org).await.unwrap()));
        out.push(format!("{:?}", s.budgets(org).await.unwrap()));
        for w in s.webhooks(org).await.unwrap() {
            out.push(format!("{:?}", s.deliveries(org, w.id, 100).await.unwrap()));
            out.push(format!("{w:?}"));
        }
        out.push(format!("{:?}", s.open_invitations(org).await.unwrap()));
        out.push(format!("{:?}", s.event_count(org).await.unwrap()));
        let recent = s.recent_events(org, 100_000).await.unwrap();
        for e in recent.iter().take(5) {
            out.push(format!("{:?}", s.bodies(e.id).await.unwrap()));
        }
        out.push(format!("{recent:?}"));
        // By UTC day: both stores label each row with its day's first bucket.
        let mut q = usage_query(
            Scope::Org(org),
            ALL_TIME.0,
            ALL_TIME.1,
            vec![Dim::Bucket, Dim::ApiKey, Dim::RoutedModel, Dim::App, Dim::Member],
        );
        q.cuts = (0..40)
            .map(|d| (1_772_323_200_000 + (d - 5) * 86_400_000) / 900_000)
            .collect();
        let rows: BTreeMap<_, _> = s.usage(q.clone()).await.unwrap().into_iter().collect();
        out.push(format!("{rows:?}"));
        // The histograms come across too (blobs become jsonb).
        let latencies: BTreeMap<_, _> = s.latencies(q.clone()).await.unwrap().into_iter().collect();
        assert!(!latencies.is_empty());
        out.push(format!("{latencies:?}"));
    }
    for k in keys {
        out.push(format!("{:?}", s.api_key(k.key).await.unwrap()));
    }
    out.push(format!(
        "{:?}",
        s.token_by_hash(&[42; 32], at(1_700_000_000_000)).await.map(|t| t.id)
    ));
    out.push(format!("{:?}", s.active_key_by_hash(&[1; 32]).await.map(|k| k.id)));
    for fill in [7, 8, 9] {
        out.push(format!("{:?}", s.invitation_by_hash(&[fill; 32]).await));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_installation_is_copied_whole_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (source, keys) = seeded_sqlite(dir.path()).await;
    let db = tally_pg_harness::database().await;
    let target = PgStore::connect(db.url(), 4).await.unwrap();

    let report = transfer::sqlite_to_postgres(&source, &target, false).await.unwrap();
    assert!(report.is_exact(), "{report}");
    assert_eq!(report.tables.len(), 17);
    let events = report.tables.iter().find(|t| t.table == "activity_events").unwrap();
    assert!(events.source > 1_000 && events.source < 3_000, "{report}");
    assert_eq!(report.orgs.len(), 2);
    for o in &report.orgs {
        assert!(
            o.source_rollups.requests > o.source_events.requests,
            "pruned history is in the rollups"
        );
    }
    let text = report.to_string();
    assert!(text.contains("Acme") && text.contains("ok"), "{text}");

    assert_eq!(everything(&source, &keys).await, everything(&target, &keys).await);

    // A second run finds data and refuses, unless forced.
    let again = transfer::sqlite_to_postgres(&source, &target, false).await;
    assert!(matches!(again, Err(TransferError::NotEmpty(_))), "{again:?}");
    let forced = transfer::sqlite_to_postgres(&source, &target, true).await.unwrap();
    assert!(forced.is_exact(), "{forced}");
    assert_eq!(everything(&source, &keys).await, everything(&target, &keys).await);

    // A table the copy does not know stops it before anything is written.
    let db_file = dir.path().join("tally.db");
    rusqlite::Connection::open(&db_file)
        .unwrap()
        .execute_batch("CREATE TABLE future_feature (id INTEGER PRIMARY KEY)")
        .unwrap();
    let unknown = transfer::sqlite_to_postgres(&source, &target, true).await;
    assert!(
        matches!(&unknown, Err(TransferError::UnknownTables(t)) if t == "future_feature"),
        "{unknown:?}"
    );
    assert!(transfer::check(&source, &target).await.unwrap().is_exact());

    // The check sees a difference.
    let client = raw(db.url()).await;
    client
        .execute(
            "DELETE FROM activity_events WHERE id = (SELECT id FROM activity_events LIMIT 1)",
            &[],
        )
        .await
        .unwrap();
    client
        .execute("UPDATE usage_rollups SET cost_nanos = cost_nanos + 1 WHERE ctid = (SELECT ctid FROM usage_rollups LIMIT 1)", &[])
        .await
        .unwrap();
    let report = transfer::check(&source, &target).await.unwrap();
    let mismatches = report.mismatches();
    assert!(!report.is_exact());
    assert!(
        mismatches.iter().any(|m| m.contains("activity_events: ")),
        "{mismatches:?}"
    );
    assert!(
        mismatches.iter().any(|m| m.contains("raw events differ")),
        "{mismatches:?}"
    );
    assert!(
        mismatches.iter().any(|m| m.contains("rollups differ")),
        "{mismatches:?}"
    );
    assert!(report.to_string().contains("MISMATCH"));
}

#[tokio::test]
async fn replicas_count_while_they_were_seen_lately_and_sqlite_has_one() {
    let backend = postgres().await;
    let store = &backend.store;
    let (me, peer) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let within = std::time::Duration::from_secs(3);
    assert_eq!(store.live_replicas(me, at(10_000), within).await.unwrap(), 1);
    assert_eq!(store.live_replicas(peer, at(10_500), within).await.unwrap(), 2);
    assert_eq!(store.live_replicas(me, at(13_000), within).await.unwrap(), 2);
    // The peer, last seen at 10.5 s, is gone by 14 s; the caller always counts.
    assert_eq!(store.live_replicas(me, at(14_000), within).await.unwrap(), 1);
    let embedded = sqlite().await;
    embedded.store.live_replicas(me, at(10_000), within).await.unwrap();
    assert_eq!(embedded.store.live_replicas(peer, at(10_000), within).await.unwrap(), 1);
}
