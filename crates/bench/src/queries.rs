//! Dashboard queries: a generated dataset (one enterprise organization, 50
//! members, 1,000 keys, 200 routed model variants, 5 providers, 20 apps,
//! 90 days, skewed) written through the writer, then p50 / p95 over HTTP of
//! every analytics endpoint at 7, 30 and 90 days, in UTC and Asia/Kolkata.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use tally_core::{ApiKeyId, Email, Name, Plan, ProjectId, Role, UserId};
use tally_server::gateway::writer::{DEFAULT_QUEUE, Recorder};
use tally_server::{AppState, KeyHasher, accounts};
use tally_store::sqlite::SqliteStore;
use tally_store::{AccountStore, ActivityStore, NewApiKey, TokenKind};

use crate::dataset::{Clock, Generator, Mix, Shape};
use crate::stats::{Samples, ms};
use tally_store::AnalyticsStore;

#[derive(clap::Args)]
pub struct Args {
    /// Events in the dataset.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    /// Keep the dataset here (reused when it exists); default: a temporary directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Timed repetitions per query.
    #[arg(long, default_value_t = 20)]
    reps: u32,
    /// Zones to keep local-day rollups for in the second pass (the first
    /// pass keeps none); empty for one pass only.
    #[arg(long, value_delimiter = ',', default_value = "Asia/Kolkata")]
    local_day_zones: Vec<String>,
    /// How keys, models and apps go together in the dataset (a dataset
    /// kept in `--data-dir` is reused as it was built).
    #[arg(long, value_enum, default_value_t = Mix::Independent)]
    mix: Mix,
    /// Only the request log (`log.rs`), not the analytics.
    #[arg(long)]
    log_only: bool,
    /// Only these analytics endpoints (names as printed, comma-separated; default: every one).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Days of the project's requests the export measurement streams.
    #[arg(long, default_value_t = 30)]
    export_days: i64,
}

struct Setup {
    project: ProjectId,
    key: ApiKeyId,
    key_secret: String,
    member: UserId,
    org: tally_core::OrgId,
    token: String,
}

async fn build(store: &Arc<SqliteStore>, hasher: &KeyHasher, events: u64, mix: Mix) -> anyhow::Result<Setup> {
    let name = |s: &str| Name::parse(s).map_err(|e| anyhow::anyhow!(e));
    let mut users = Vec::new();
    for i in 0..50 {
        let email = Email::parse(&format!("member{i}@bench.example")).map_err(|e| anyhow::anyhow!(e))?;
        users.push(
            store
                .create_user(&email, &name(&format!("Member {i}"))?, "not-a-login")
                .await?
                .id,
        );
    }
    let org = store
        .create_org(&name("Bench Org")?, Plan::Enterprise, users[0])
        .await?;
    for (i, u) in users.iter().enumerate().skip(1) {
        store
            .add_member(org.id, *u, if i < 5 { Role::Admin } else { Role::Developer })
            .await?;
    }
    let mut projects = Vec::new();
    for i in 0..10 {
        projects.push(store.create_project(org.id, &name(&format!("Project {i}"))?).await?.id);
    }
    let (first, secret) =
        accounts::create_api_key(store.as_ref(), hasher, projects[0], &name("bench")?, users[0]).await?;
    let mut keys = vec![(first.id, projects[0], users[0])];
    for i in 1..1000_usize {
        let (project, creator) = (projects[i % projects.len()], users[(i * 7) % users.len()]);
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let key = store
            .create_api_key(NewApiKey {
                id: ApiKeyId::new(),
                org_id: org.id,
                project_id: project,
                name: name(&format!("key-{i}"))?,
                secret_hash: hash,
                last4: "0000".into(),
                created_by: creator,
                created_at: Timestamp::now(),
                expires_at: None,
                limits: Default::default(),
            })
            .await?;
        keys.push((key.id, project, creator));
    }
    let (_, token) = accounts::create_token(store.as_ref(), hasher, users[0], TokenKind::Personal, "bench").await?;
    let start = Timestamp::now() - SignedDuration::from_hours(24 * 90);
    let shape = Shape {
        org: org.id,
        keys: keys.clone(),
        models: 200,
        apps: 20,
        clock: Clock::Spread { start, days: 90 },
        mix,
    };

    let began = Instant::now();
    let (recorder, writer) = Recorder::start(store.clone(), DEFAULT_QUEUE);
    let mut generator = Generator::new(shape, 42);
    for i in 0..events {
        recorder.record(generator.event(i, events)).await;
        if i > 0 && i % 1_000_000 == 0 {
            println!("  {i} events written ({:.0} s)", began.elapsed().as_secs_f64());
        }
    }
    drop(recorder);
    writer.drained().await;
    println!(
        "dataset: {events} events written through the writer in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    // A backfill of 90 days leaves its closed days to be rolled from their
    // hours by later writes, as live traffic would; without them every UTC
    // day would be read by hour. One event of the newest day per write.
    let began = Instant::now();
    let mut settled = 0_u64;
    while store.pending_day_rolls().await? > 0 {
        store.record(vec![generator.event(events - 1, events)]).await?;
        store.flush().await?;
        settled += 1;
    }
    println!(
        "closed days rolled by {settled} more writes of one event in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    Ok(Setup {
        project: projects[0],
        key: first.id,
        key_secret: secret.expose().to_owned(),
        member: users[(7) % users.len()],
        org: org.id,
        token: token.expose().to_owned(),
    })
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let dir = a.data_dir.clone().unwrap_or_else(|| temp.path().to_owned());
    let setup_file = dir.join("bench-setup.json");
    let store = Arc::new(SqliteStore::open(&dir)?);
    let hasher = KeyHasher::load_or_create(&dir)?;
    let setup = if let Ok(text) = std::fs::read_to_string(&setup_file) {
        let v: serde_json::Value = serde_json::from_str(&text)?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        println!("reusing the dataset in {}", dir.display());
        Setup {
            project: s("project").parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            key: s("key").parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            key_secret: s("keySecret"),
            member: s("member").parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            org: s("org").parse().map_err(|e| anyhow::anyhow!("{e}"))?,
            token: s("token"),
        }
    } else {
        let s = build(&store, &hasher, a.events, a.mix).await?;
        let v = serde_json::json!({"project": s.project.to_string(), "key": s.key.to_string(), "keySecret": s.key_secret,
            "member": s.member.to_string(), "org": s.org.to_string(), "token": s.token});
        std::fs::write(&setup_file, v.to_string())?;
        s
    };
    // A store written by an older build may have rollups to complete (spans
    // of days); the writer would do it once idle, before timing here.
    let began = Instant::now();
    store.flush().await?;
    println!("rollups caught up in {:.1} s", began.elapsed().as_secs_f64());
    println!(
        "store size on disk: {:.1} MiB ({})",
        dir_size(&dir) as f64 / (1024.0 * 1024.0),
        dir.display()
    );

    let state = AppState::new(store.clone(), hasher);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tally_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    crate::log::measure(
        &client,
        &base,
        &setup.project.to_string(),
        &setup.token,
        a.reps,
        a.export_days,
    )
    .await?;
    if a.log_only {
        let _ = stop.send(());
        server.await??;
        return Ok(());
    }
    store.set_local_day_offsets(Vec::new()).await?;
    println!("local-day rollups: none");
    measure(&client, &base, &setup, a.reps, &a.only).await?;
    if !a.local_day_zones.is_empty() {
        let now = jiff::Timestamp::now();
        let mut offsets = Vec::new();
        for zone in &a.local_day_zones {
            let tz = tally_core::TimeZone::parse(zone).map_err(|e| anyhow::anyhow!("{e}"))?;
            offsets.extend(tz.offsets_around(now));
        }
        let began = Instant::now();
        store.set_local_day_offsets(offsets.clone()).await?;
        println!(
            "local-day rollups for {} (offsets {offsets:?} minutes), computed from the 15-minute rollups in {:.1} s; store size {:.1} MiB",
            a.local_day_zones.join(", "),
            began.elapsed().as_secs_f64(),
            dir_size(&dir) as f64 / (1024.0 * 1024.0)
        );
        measure(&client, &base, &setup, a.reps, &a.only).await?;
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}

/// p50 / p95 of every analytics endpoint at 7, 30 and 90 days in UTC and
/// Asia/Kolkata, as a Markdown table.
async fn measure(
    client: &reqwest::Client,
    base: &str,
    setup: &Setup,
    reps: u32,
    only: &[String],
) -> anyhow::Result<()> {
    let today = jiff::Zoned::now().date();

    println!("| endpoint | range | zone | p50 | p95 | bytes |");
    println!("|---|---|---|---|---|---|");
    for days in [7_i64, 30, 90] {
        let from = today.checked_sub(jiff::Span::new().days(days - 1))?;
        for zone in ["UTC", "Asia/Kolkata"] {
            let q = format!("from={from}&to={today}&timezone={zone}");
            let endpoints = [
                (
                    "models (mapping)",
                    format!("/api/analytics/models?projectId={}&{q}", setup.project),
                    false,
                ),
                (
                    "models (canonical)",
                    format!("/api/analytics/models?projectId={}&{q}&view=canonical", setup.project),
                    false,
                ),
                (
                    "models/timeseries (day)",
                    format!("/api/analytics/models/timeseries?projectId={}&{q}", setup.project),
                    false,
                ),
                (
                    "models by key",
                    format!("/api/analytics/models?apiKeyId={}&{q}", setup.key),
                    false,
                ),
                ("keys/{id}", format!("/api/analytics/keys/{}?{q}", setup.key), false),
                (
                    "members",
                    format!("/api/analytics/members?organizationId={}&{q}", setup.org),
                    false,
                ),
                (
                    "members/{id}",
                    format!(
                        "/api/analytics/members/{}?organizationId={}&{q}",
                        setup.member, setup.org
                    ),
                    false,
                ),
                (
                    "export.csv (model, day)",
                    format!(
                        "/api/analytics/export.csv?projectId={}&{q}&groupBy=model&interval=day",
                        setup.project
                    ),
                    false,
                ),
                ("/v1/usage", format!("/v1/usage?{q}"), true),
                (
                    "performance (percentiles, statuses)",
                    format!("/api/analytics/performance?projectId={}&{q}", setup.project),
                    false,
                ),
                (
                    "end-users",
                    format!("/api/analytics/end-users?projectId={}&{q}", setup.project),
                    false,
                ),
                (
                    "tags (team)",
                    format!("/api/analytics/tags?projectId={}&{q}&key=team", setup.project),
                    false,
                ),
            ];
            for (name, path, by_key) in endpoints {
                if !only.is_empty() && !only.iter().any(|o| o == name) {
                    continue;
                }
                let url = format!("{base}{path}");
                let auth = if by_key { &setup.key_secret } else { &setup.token };
                let mut samples = Samples::default();
                let mut bytes = 0;
                for rep in 0..=reps {
                    let began = Instant::now();
                    let resp = client.get(&url).bearer_auth(auth).send().await?;
                    let status = resp.status();
                    let body = resp.bytes().await?;
                    if !status.is_success() {
                        anyhow::bail!("{name}: {status} {}", String::from_utf8_lossy(&body));
                    }
                    bytes = body.len();
                    if rep > 0 {
                        samples.push(began.elapsed());
                    }
                }
                println!(
                    "| {name} | {days} d | {zone} | {} | {} | {bytes} |",
                    ms(samples.pct(50.0)),
                    ms(samples.pct(95.0))
                );
            }
        }
    }
    Ok(())
}
