//! The binary on PostgreSQL: three `tally serve` processes sharing one
//! database under concurrent load, their rollups checked against the raw
//! events after a graceful stop; and `tally migrate` moving a demo
//! installation from SQLite, after which both answer the same.
//!
//! The PostgreSQL server is a throwaway one started by the test
//! (`tally-pg-harness`): nothing here needs a server already running.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use support::*;

fn pg_admin(args: &[&str], data_dir: &Path, url: &str, stdin: &str) -> std::collections::HashMap<String, String> {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--database-url", url]);
    admin(&all, data_dir, stdin)
}

async fn raw(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Every rollup row, and the same rows recounted from the raw events, keyed
/// by (org, bucket, key, provider, routed model, canonical model, app, end
/// user, tags, status); the rollups' latency bins are summed over (the
/// conformance suite checks those against the spec's bins).
async fn rollups_and_recount(db: &tokio_postgres::Client) -> (BTreeMap<String, Vec<i64>>, BTreeMap<String, Vec<i64>>) {
    let key = "org_id::text || '|' || bucket || '|' || api_key_id::text || '|' || provider || '|' || routed_model
        || '|' || canonical_model || '|' || app || '|' || end_user || '|' || tags || '|' || http_status
        || '|' || project_id::text || '|' || created_by::text";
    let sums = [
        "requests",
        "upstream_errors",
        "gateway_errors",
        "client_errors",
        "canceled",
        "input_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "output_tokens",
        "reasoning_tokens",
        "cost_nanos",
        "estimated",
        "unpriced",
        "latency_us",
        "ttft_us",
        "ttft_count",
    ]
    .map(|c| format!("SUM({c})::bigint"))
    .join(", ");
    let rollups = db
        .query(
            &format!("SELECT {key}, ARRAY[{sums}] FROM usage_rollups GROUP BY 1"),
            &[],
        )
        .await
        .unwrap();
    let recount = db
        .query(
            &format!(
                "SELECT {key}, ARRAY[requests, upstream_errors, gateway_errors, client_errors, canceled,
                    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                    cost_nanos, estimated, unpriced, latency_us, ttft_us, ttft_count]
                 FROM (SELECT org_id, started_at / 900000 AS bucket, api_key_id, COALESCE(provider, '') AS provider,
                         COALESCE(routed_model, '') AS routed_model, COALESCE(canonical_model, '') AS canonical_model,
                         COALESCE(app, '') AS app, COALESCE(end_user, '') AS end_user,
                         COALESCE(tags, '') AS tags, http_status::bigint AS http_status, project_id, created_by,
                         COUNT(*) AS requests,
                         COUNT(*) FILTER (WHERE outcome = 'upstream_error') AS upstream_errors,
                         COUNT(*) FILTER (WHERE outcome = 'gateway_error') AS gateway_errors,
                         COUNT(*) FILTER (WHERE outcome = 'client_error') AS client_errors,
                         COUNT(*) FILTER (WHERE outcome = 'canceled') AS canceled,
                         SUM(COALESCE(input_tokens, 0))::bigint AS input_tokens,
                         SUM(COALESCE(cached_input_tokens, 0))::bigint AS cached_input_tokens,
                         SUM(COALESCE(cache_write_tokens, 0))::bigint AS cache_write_tokens,
                         SUM(COALESCE(output_tokens, 0))::bigint AS output_tokens,
                         SUM(COALESCE(reasoning_tokens, 0))::bigint AS reasoning_tokens,
                         SUM(cost_nanos)::bigint AS cost_nanos,
                         COUNT(*) FILTER (WHERE estimated) AS estimated,
                         COUNT(*) FILTER (WHERE unpriced) AS unpriced,
                         SUM(latency_us)::bigint AS latency_us,
                         SUM(COALESCE(ttft_us, 0))::bigint AS ttft_us,
                         COUNT(ttft_us) AS ttft_count
                       FROM activity_events
                       GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) recount"
            ),
            &[],
        )
        .await
        .unwrap();
    let map = |rows: Vec<tokio_postgres::Row>| -> BTreeMap<String, Vec<i64>> {
        rows.iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<i64>>(1)))
            .collect()
    };
    (map(rollups), map(recount))
}

/// One request of the load: a model, streamed or not, sometimes failing
/// upstream or refused before routing. Returns whether tally answered.
async fn one_request(http: &reqwest::Client, base: &str, secret: &str, n: usize) -> reqwest::StatusCode {
    let model = ["gpt-4o", "gpt-4o-mini", "openai/gpt-4.1-mini", "no-such-model"][n % 4];
    let stream = n.is_multiple_of(3);
    let content = if n.is_multiple_of(7) {
        "mock:error=503"
    } else {
        "hello there"
    };
    let resp = http
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(secret)
        .json(&serde_json::json!({
            "model": model,
            "stream": stream,
            "messages": [{"role": "user", "content": format!("{content} #{n}")}],
        }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    // Read to the end, streams included: the request is complete.
    resp.bytes().await.unwrap();
    status
}

/// Several writers, exact totals: three processes, each in front of its own
/// mock provider, one database; concurrent load on all three; SIGTERM; then
/// every rollup row equals the recount of its raw events, and the number of
/// events equals the number of answered requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_share_one_database_and_rollups_stay_exact() {
    let db = tally_pg_harness::database().await;
    let dir = tempfile::tempdir().unwrap();
    // One data directory for all three: the installation key must be shared.
    let data = dir.path().join("data");

    pg_admin(
        &["user", "create", "--email", OWNER_EMAIL, "--name", "Owner"],
        &data,
        db.url(),
        &format!("{OWNER_PASSWORD}\n"),
    );
    let org = pg_admin(
        &[
            "org",
            "create",
            "--name",
            "Shared",
            "--plan",
            "enterprise",
            "--owner",
            OWNER_EMAIL,
        ],
        &data,
        db.url(),
        "",
    );
    let mut keys = Vec::new();
    for p in 0..2 {
        let project = pg_admin(
            &["project", "create", "--org", &org["org_id"], "--name", &format!("P{p}")],
            &data,
            db.url(),
            "",
        );
        for k in 0..2 {
            let key = pg_admin(
                &[
                    "key",
                    "create",
                    "--project",
                    &project["project_id"],
                    "--name",
                    &format!("k{p}{k}"),
                    "--created-by",
                    OWNER_EMAIL,
                ],
                &data,
                db.url(),
                "",
            );
            keys.push((key["key_id"].clone(), key["key"].clone()));
        }
    }

    let mut mocks = Vec::new();
    let mut servers = Vec::new();
    for i in 0..3 {
        let own = dir.path().join(format!("replica{i}"));
        std::fs::create_dir_all(&own).unwrap();
        let mock = start_mock(&own);
        let config = write_config(&own, mock.addr());
        let mut cmd = tally();
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-pool-size",
            "4",
            "--config",
        ])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .env("TALLY_DATABASE_URL", db.url())
        .env(PROVIDER_KEY_ENV, PROVIDER_KEY);
        servers.push(Proc::start(cmd, own.join("serve.log")));
        mocks.push(mock);
    }

    // Every client task talks to one replica with every key: all replicas
    // write to the same rollup rows at once.
    let http = http();
    let mut tasks = Vec::new();
    for (s, server) in servers.iter().enumerate() {
        for t in 0..4 {
            let (http, base, keys) = (http.clone(), server.url.clone(), keys.clone());
            tasks.push(tokio::spawn(async move {
                let mut statuses = Vec::new();
                for n in 0..30 {
                    let (_, secret) = &keys[(n + t) % keys.len()];
                    statuses.push(one_request(&http, &base, secret, s * 1000 + t * 100 + n).await);
                }
                statuses
            }));
        }
    }
    let mut answered = 0u64;
    let mut by_status = BTreeMap::<u16, u64>::new();
    for t in tasks {
        for status in t.await.unwrap() {
            answered += 1;
            *by_status.entry(status.as_u16()).or_default() += 1;
        }
    }
    assert_eq!(answered, 3 * 4 * 30);
    assert!(by_status.get(&200).copied().unwrap_or(0) > 200, "{by_status:?}");
    assert!(
        by_status.keys().any(|s| *s >= 400),
        "errors are part of the load: {by_status:?}"
    );

    // Graceful stop: every replica drains its queue before exiting.
    for server in &servers {
        let pid = server.child.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
    }
    for server in &mut servers {
        let log = server.log_text();
        let status = server.terminate_after_signal();
        assert!(status.success(), "{status}: {log}");
    }

    let client = raw(db.url()).await;
    let events: i64 = client
        .query_one("SELECT COUNT(*) FROM activity_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(events as u64, answered, "one event per answered request");
    let (rollups, recount) = rollups_and_recount(&client).await;
    assert!(!rollups.is_empty());
    assert_eq!(rollups, recount, "every rollup row equals the sum of its raw events");
    let total: i64 = rollups.values().map(|v| v[0]).sum();
    assert_eq!(total as u64, answered);

    // The API agrees: each key's own usage, asked of one replica of a fresh start.
    let mock = start_mock(dir.path());
    let config = write_config(dir.path(), mock.addr());
    let mut cmd = tally();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .env("TALLY_DATABASE_URL", db.url())
        .env(PROVIDER_KEY_ENV, PROVIDER_KEY);
    let mut check = Proc::start(cmd, dir.path().join("check.log"));
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let (from, to) = (today.yesterday().unwrap(), today.tomorrow().unwrap());
    let mut via_api = 0;
    for (_, secret) in &keys {
        let usage: serde_json::Value = http
            .get(format!("{}/v1/usage?from={from}&to={to}", check.url))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        via_api += usage["summary"]["requests"].as_u64().unwrap();
    }
    assert_eq!(via_api, answered);
    assert!(check.terminate().success());
}

impl Proc {
    /// Waits for a process already sent SIGTERM.
    fn terminate_after_signal(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }
}

/// Runs `tally` to completion: (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = tally().args(args).stdin(Stdio::null()).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn login(base: &str) -> reqwest::Client {
    signed_in(base, "owner@acme.test", "tally-demo").await
}

async fn get(client: &reqwest::Client, url: String) -> (u16, String) {
    let resp = client.get(url).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// `tally migrate` moves the demo installation (with pruned raw events, so
/// that the rollups hold history the raw events no longer have) and the
/// PostgreSQL installation then answers exactly as the embedded one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_an_embedded_installation_and_answers_stay_the_same() {
    let db = tally_pg_harness::database().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let data_arg = data.to_str().unwrap();

    // Seed the demo (accounts and three days of traffic through the gateway), then stop it.
    let mut cmd = tally();
    cmd.args([
        "demo",
        "--listen",
        "127.0.0.1:0",
        "--history-days",
        "3",
        "--data-dir",
        data_arg,
    ]);
    let mut demo = Proc::start(cmd, dir.path().join("demo.log"));
    assert!(demo.terminate().success(), "{}", demo.log_text());
    let (ok, out, err) = run(&["events", "prune", "--older-than-days", "2", "--data-dir", data_arg]);
    assert!(ok, "{err}");
    let pruned: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("deleted_events="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(pruned > 0, "{out}");

    // A missing source is an error, not a new empty installation.
    let (ok, _, err) = run(&["migrate", "--from", "/nonexistent/tally", "--to", db.url()]);
    assert!(!ok && err.contains("no embedded installation"), "{err}");

    let (ok, out, err) = run(&["migrate", "--from", data_arg, "--to", db.url()]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("copy verified"), "{out}");
    assert!(
        out.contains("Acme Robotics") && out.contains("activity_events"),
        "{out}"
    );
    assert!(out.contains("secret.key"), "{out}");
    assert!(!out.contains("MISMATCH"), "{out}");

    // Into a database that holds data: refused, unless forced.
    let (ok, _, err) = run(&["migrate", "--from", data_arg, "--to", db.url()]);
    assert!(!ok && err.contains("not empty") && err.contains("--force"), "{err}");
    let (ok, out, err) = run(&[
        "migrate",
        "--from",
        &format!("{data_arg}/tally.db"),
        "--to",
        db.url(),
        "--force",
    ]);
    assert!(ok && out.contains("copy verified"), "{out}\n{err}");

    // Both installations, side by side: same data directory (secret.key),
    // one embedded, one on PostgreSQL.
    let mut cmd = tally();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data_arg]);
    let mut lite = Proc::start(cmd, dir.path().join("lite.log"));
    let mut cmd = tally();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data_arg])
        .env("TALLY_DATABASE_URL", db.url());
    let mut pg = Proc::start(cmd, dir.path().join("pg.log"));

    let (a, b) = (login(&lite.url).await, login(&pg.url).await);
    let (status, me) = get(&a, format!("{}/api/me", lite.url)).await;
    assert_eq!(status, 200);
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    let org = me["organizations"][0]["id"].as_str().unwrap().to_owned();
    let first = async |list: &str, field: &str| {
        let (_, body) = get(&a, format!("{}/api/organizations/{org}/{list}", lite.url)).await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v.as_array().unwrap()[0][field].as_str().unwrap().to_owned()
    };
    let project = first("projects", "id").await;
    let key = first("api-keys", "id").await;
    let member = first("members", "userId").await;

    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let range = format!(
        "from={}&to={today}",
        today.checked_sub(jiff::Span::new().days(5)).unwrap()
    );
    let paths = [
        "/api/me".to_owned(),
        format!("/api/organizations/{org}"),
        format!("/api/organizations/{org}/members"),
        format!("/api/organizations/{org}/projects"),
        format!("/api/organizations/{org}/api-keys"),
        format!("/api/analytics/models?projectId={project}&{range}&view=canonical"),
        format!("/api/analytics/models?apiKeyId={key}&{range}&timezone=Asia/Kolkata"),
        format!("/api/analytics/models/timeseries?projectId={project}&{range}&interval=hour&timezone=Asia/Kolkata"),
        format!("/api/analytics/keys/{key}?{range}"),
        format!("/api/analytics/members?organizationId={org}&{range}"),
        format!("/api/analytics/members/{member}?organizationId={org}&{range}"),
        format!("/api/analytics/export.csv?organizationId={org}&{range}&groupBy=model,apiKey,member&interval=day"),
    ];
    for path in paths {
        let (sa, ta) = get(&a, format!("{}{path}", lite.url)).await;
        let (sb, tb) = get(&b, format!("{}{path}", pg.url)).await;
        assert_eq!(sa, 200, "{path}: {ta}");
        assert_eq!((sa, &ta), (sb, &tb), "{path}");
    }
    assert!(lite.terminate().success());
    assert!(pg.terminate().success());
}

/// Two replicas enforce one budget together: a $0.01 organization budget,
/// a hundred concurrent requests split between two `tally serve` processes on
/// one database. Each replica counts its own spend in flight twice over
/// (`[budgets] replicas = 2`), so together they end at most one
/// reservation each past the amount. Their spend is read once, at start,
/// for the whole test (`refresh_ms` an hour), so the bound does not depend
/// on when a refresh happens to fall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_hold_one_budget_within_two_reservations() {
    let db = tally_pg_harness::database().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    pg_admin(
        &["user", "create", "--email", OWNER_EMAIL, "--name", "Owner"],
        &data,
        db.url(),
        &format!("{OWNER_PASSWORD}\n"),
    );
    let org = pg_admin(
        &[
            "org",
            "create",
            "--name",
            "Shared",
            "--plan",
            "enterprise",
            "--owner",
            OWNER_EMAIL,
        ],
        &data,
        db.url(),
        "",
    );
    let project = pg_admin(
        &["project", "create", "--org", &org["org_id"], "--name", "P"],
        &data,
        db.url(),
        "",
    );
    let key = pg_admin(
        &[
            "key",
            "create",
            "--project",
            &project["project_id"],
            "--name",
            "k",
            "--created-by",
            OWNER_EMAIL,
        ],
        &data,
        db.url(),
        "",
    );
    let budget = pg_admin(
        &[
            "budget",
            "create",
            "--org",
            &org["org_id"],
            "--scope",
            "organization",
            "--amount",
            "0.01",
            "--period",
            "day",
            "--action",
            "block",
            "--created-by",
            OWNER_EMAIL,
        ],
        &data,
        db.url(),
        "",
    );
    assert_eq!(budget["spent"], "0.000000000");

    let mut mocks = Vec::new();
    let mut servers = Vec::new();
    for i in 0..2 {
        let own = dir.path().join(format!("replica{i}"));
        std::fs::create_dir_all(&own).unwrap();
        let mock = start_mock(&own);
        let config = write_config(&own, mock.addr());
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str("\n[budgets]\nreplicas = 2\nrefresh_ms = 3600000\n");
        std::fs::write(&config, text).unwrap();
        let mut cmd = tally();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .env("TALLY_DATABASE_URL", db.url())
            .env(PROVIDER_KEY_ENV, PROVIDER_KEY);
        servers.push(Proc::start(cmd, own.join("serve.log")));
        mocks.push(mock);
    }

    let body = serde_json::json!({"model": "gpt-4o", "max_tokens": 25,
                                  "messages": [{"role": "user", "content": "hello there"}]});
    // The most one request reserves: every body byte an input token at
    // gpt-4o's 2.50 USD per million (2,500 nano-USD each), 25 output
    // tokens at 10 (10,000 each). A request costs about 0.27 mUSD, so the
    // hundred requests could spend 2.7 times the amount.
    let reservation = serde_json::to_vec(&body).unwrap().len() as i64 * 2_500 + 25 * 10_000;
    let http = http();
    let sends = (0..100).map(|n| {
        let (http, body) = (http.clone(), body.clone());
        let url = format!("{}/v1/chat/completions", servers[n % 2].url);
        let secret = key["key"].clone();
        tokio::spawn(async move {
            let resp = http.post(url).bearer_auth(secret).json(&body).send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            (status, text)
        })
    });
    let mut admitted = 0_i64;
    for send in sends.collect::<Vec<_>>() {
        let (status, text) = send.await.unwrap();
        match status {
            200 => admitted += 1,
            429 => assert!(text.contains("budget_exceeded"), "{text}"),
            other => panic!("{other}: {text}"),
        }
    }
    for server in &mut servers {
        assert!(server.terminate().success());
    }

    let client = raw(db.url()).await;
    let row = client
        .query_one(
            "SELECT COALESCE(SUM(cost_nanos), 0)::bigint, COUNT(*) FILTER (WHERE outcome = 'blocked'),
                    COUNT(*) FILTER (WHERE outcome = 'success')
             FROM activity_events",
            &[],
        )
        .await
        .unwrap();
    let (spent, blocked, served): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((served, blocked), (admitted, 100 - admitted));
    assert!(admitted > 0 && blocked > 0, "admitted {admitted}");
    let bound = 10_000_000 + 2 * reservation;
    assert!(spent <= bound, "spent {spent} nano-USD, bound {bound}");
}
