//! Ingest: events per second through the writer into the embedded store
//! (raw events in one transaction per batch, counted into the rollups'
//! file by its own thread) or PostgreSQL (raw events and rollups in one
//! transaction per batch), and the lag from handing an event to the writer
//! to seeing it in an analytics query.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tally_core::{ApiKeyId, OrgId, ProjectId, UserId};
use tally_server::gateway::writer::{DEFAULT_QUEUE, Recorder};
use tally_store::postgres::PgStore;
use tally_store::sqlite::SqliteStore;
use tally_store::{ActivityStore, Dim, Scope, Store, UsageQuery};

use crate::cpu::{Snapshot, processes_named};
use crate::dataset::{Clock, Generator, Mix, Shape};
use crate::stats::{Samples, ms};

#[derive(clap::Args)]
pub struct Args {
    /// Events for each throughput run (live, then backfill); 0 skips them.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Background rate (events/s) while measuring lag.
    #[arg(long, default_value_t = 5_000)]
    lag_rate: u64,
    /// Lag probes; 0 skips the lag run.
    #[arg(long, default_value_t = 200)]
    probes: u32,
    /// Offered rate (events/s) of the sustained run; 0 skips it.
    #[arg(long, default_value_t = 100_000)]
    sustain_rate: u64,
    /// Length of the sustained run, in seconds.
    #[arg(long, default_value_t = 30)]
    sustain_seconds: u64,
    /// In the sustained run, time an analytics query each second (it adds
    /// up the events the rollups do not count yet, and takes CPU from the
    /// writers: the throughput of such a run is not comparable).
    #[arg(long)]
    sustain_queries: bool,
    /// Embedded store: time the roll of a closed day into the day tables
    /// (`open_day.rs`) after this many events of one UTC day; 0 skips it.
    #[arg(long, default_value_t = 0)]
    roll_events: u64,
    /// How keys, models and apps go together in the generated traffic.
    #[arg(long, value_enum, default_value_t = Mix::Independent)]
    mix: Mix,
    /// The store written to.
    #[arg(long, value_enum, default_value_t = StoreKind::Sqlite)]
    store: StoreKind,
    /// With `--store postgres`: the database to write to (it keeps what the
    /// run writes); default: a throwaway server of its own, started from
    /// the installed binaries, with PostgreSQL's durability settings.
    #[arg(long)]
    database_url: Option<String>,
    /// With `--store postgres`: connections in the pool.
    #[arg(long, default_value_t = 8)]
    pool_size: usize,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum StoreKind {
    /// The embedded store (SQLite) in a temporary folder.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The store under test.
struct Target {
    store: Arc<dyn Store>,
    /// The embedded store, whose rollups are written after the inserts
    /// (PostgreSQL updates them in the inserts' transaction).
    sqlite: Option<Arc<SqliteStore>>,
}

impl Target {
    fn activity(&self) -> Arc<dyn ActivityStore> {
        self.store.clone()
    }

    /// CPU seconds of the PostgreSQL server so far (0 for the embedded store).
    fn server_cpu(&self) -> f64 {
        if self.sqlite.is_some() {
            0.0
        } else {
            processes_named("postgres")
        }
    }

    /// What `Snapshot::per_event_since` says, plus the PostgreSQL server's
    /// share when there is one.
    fn cpu_report(&self, since: &(Snapshot, f64), events: u64) -> String {
        let own = Snapshot::take().per_event_since(&since.0, events);
        if self.sqlite.is_some() {
            return own;
        }
        let server = (self.server_cpu() - since.1) * 1e6 / events.max(1) as f64;
        format!("{own}; PostgreSQL server processes {server:.1} µs")
    }

    fn cpu_now(&self) -> (Snapshot, f64) {
        (Snapshot::take(), self.server_cpu())
    }

    /// Committed events the rollups do not count yet.
    async fn backlog(&self) -> anyhow::Result<u64> {
        Ok(match &self.sqlite {
            Some(s) => s.rollup_backlog().await?,
            None => 0,
        })
    }
}

fn shape(org: OrgId, clock: Clock, mix: Mix) -> Shape {
    let keys = (0..1000)
        .map(|_| (ApiKeyId::new(), ProjectId::new(), UserId::new()))
        .collect();
    Shape {
        org,
        keys,
        models: 200,
        apps: 20,
        clock,
        mix,
    }
}

/// Offers `rate` events/s (in 1 ms slices) for `seconds`, sampling each
/// second how many committed events the rollups do not count yet: the rate
/// is sustained, rollups included, when that backlog stays flat. With
/// `queries`, each sample also times an analytics query (the
/// organization's usage by model, over all time), which adds up that
/// backlog from the raw events.
async fn sustained(target: &Target, rate: u64, seconds: u64, mix: Mix, queries: bool) -> anyhow::Result<()> {
    let (recorder, writer) = Recorder::start(target.activity(), DEFAULT_QUEUE);
    let org = OrgId::new();
    let by_model = UsageQuery {
        scope: Scope::Org(org),
        from_bucket: 0,
        to_bucket: i64::MAX / 2,
        group_by: vec![Dim::CanonicalModel],
        cuts: Vec::new(),
    };
    let mut query_ms = Vec::new();
    let mut generator = Generator::new(shape(org, Clock::Live, mix), 5);
    let total = rate * seconds;
    let cpu = target.cpu_now();
    let began = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut next_sample = began + Duration::from_secs(1);
    let mut backlog = Vec::new();
    let mut sent = 0_u64;
    while sent < total {
        tick.tick().await;
        // Events due by now (the pace is kept even after a late tick).
        let due = (began.elapsed().as_secs_f64() * rate as f64) as u64;
        while sent < due.min(total) {
            recorder.record(generator.event(sent, total)).await;
            sent += 1;
        }
        if tokio::time::Instant::now() >= next_sample {
            backlog.push(target.backlog().await?);
            if queries {
                let asked = Instant::now();
                target.store.usage(by_model.clone()).await?;
                query_ms.push(format!("{:.0}", asked.elapsed().as_secs_f64() * 1e3));
            }
            next_sample += Duration::from_secs(1);
        }
    }
    let offered_for = began.elapsed().as_secs_f64();
    drop(recorder);
    writer.drained().await;
    let all_counted = began.elapsed().as_secs_f64();
    let list: Vec<String> = backlog.iter().map(u64::to_string).collect();
    println!(
        "sustained run: {total} events offered at {rate} events/s, sent in {offered_for:.2} s ({:.0} events/s); \
         events not yet in the rollups, each second: [{}]{}; \
         every event in the rollups {:.2} s after the last was sent; CPU per event: {}",
        total as f64 / offered_for,
        list.join(", "),
        if queries {
            format!(
                "; analytics by model over all time, each second: [{}] ms",
                query_ms.join(", ")
            )
        } else {
            String::new()
        },
        all_counted - offered_for,
        target.cpu_report(&cpu, total)
    );
    Ok(())
}

/// Events/s from handing the first of `n` events to a fresh writer until
/// (a) all `n` are committed and counted by an analytics query, and (b) the
/// writer has drained and the rollups count every event.
async fn throughput(target: &Target, clock: Clock, mix: Mix, n: u64, seed: u64) -> anyhow::Result<(f64, f64, String)> {
    let cpu = target.cpu_now();
    let (recorder, writer) = Recorder::start(target.activity(), DEFAULT_QUEUE);
    let org = OrgId::new();
    let mut generator = Generator::new(shape(org, clock, mix), seed);
    let began = Instant::now();
    for i in 0..n {
        recorder.record(generator.event(i, n)).await;
    }
    let everything = UsageQuery {
        scope: Scope::Org(org),
        from_bucket: 0,
        to_bucket: i64::MAX / 2,
        group_by: Vec::new(),
        cuts: Vec::new(),
    };
    loop {
        let rows = target.store.usage(everything.clone()).await?;
        if rows.iter().map(|(_, t)| t.requests).sum::<u64>() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let visible = n as f64 / began.elapsed().as_secs_f64();
    drop(recorder);
    writer.drained().await;
    let flushed = n as f64 / began.elapsed().as_secs_f64();
    Ok((visible, flushed, target.cpu_report(&cpu, n)))
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // A throwaway PostgreSQL server lives as long as its database.
    let mut _server = None;
    let target = match a.store {
        StoreKind::Sqlite => {
            let store = Arc::new(SqliteStore::open(dir.path())?);
            println!(
                "durability: SQLite WAL, synchronous=NORMAL (a commit is durable against a crash of tally, not of the OS)"
            );
            Target {
                store: store.clone(),
                sqlite: Some(store),
            }
        }
        StoreKind::Postgres => {
            let url = match &a.database_url {
                Some(url) => {
                    println!("durability: as the PostgreSQL server at --database-url is configured");
                    url.clone()
                }
                None => {
                    let db = tally_pg_harness::durable_database().await?;
                    println!(
                        "durability: a throwaway PostgreSQL server (the installed binaries) with fsync, \
                         synchronous_commit and full_page_writes on, shared_buffers 256 MB \
                         (a commit is durable against a crash of the OS)"
                    );
                    let url = db.url().to_owned();
                    _server = Some(db);
                    url
                }
            };
            Target {
                store: Arc::new(PgStore::connect(&url, a.pool_size).await?),
                sqlite: None,
            }
        }
    };
    println!("traffic: {:?} (keys, models and apps; see `--mix`)", a.mix);

    if a.events > 0 {
        let (live, live_flushed, live_cpu) = throughput(&target, Clock::Live, a.mix, a.events, 1).await?;
        println!(
            "throughput, live traffic (stamped now, as the gateway does): {} events at {live:.0} events/s \
             until all are committed and counted by analytics, {live_flushed:.0} events/s until every rollup table is written too; \
             CPU per event: {live_cpu}",
            a.events
        );
        let spread = Clock::Spread {
            start: jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 90),
            days: 90,
        };
        let (backfill, backfill_flushed, backfill_cpu) = throughput(&target, spread, a.mix, a.events, 4).await?;
        println!(
            "throughput, backfill (spread over 90 days): {} events at {backfill:.0} events/s \
             until counted, {backfill_flushed:.0} events/s until every rollup table is written; CPU per event: {backfill_cpu}",
            a.events
        );
    }

    if a.sustain_rate > 0 {
        sustained(&target, a.sustain_rate, a.sustain_seconds, a.mix, a.sustain_queries).await?;
    }

    if a.roll_events > 0 && matches!(a.store, StoreKind::Sqlite) {
        roll(a.roll_events, a.mix).await?;
    }

    if a.probes > 0 {
        lag(&target, a.lag_rate, a.probes, a.mix).await?;
    }
    Ok(())
}

/// Ingestion-to-visible lag: `probes` events handed to the writer one at a
/// time under a steady background load of `rate` events/s, each timed until
/// an analytics query counts it.
async fn lag(target: &Target, rate: u64, probes: u32, mix: Mix) -> anyhow::Result<()> {
    let (recorder, writer) = Recorder::start(target.activity(), DEFAULT_QUEUE);
    let background = recorder.clone();
    let load = tokio::spawn(async move {
        let mut generator = Generator::new(shape(OrgId::new(), Clock::Live, mix), 2);
        let start = tokio::time::Instant::now();
        let mut i = 0_u64;
        loop {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
            background.record(generator.event(i, 1_000_000)).await;
            i += 1;
        }
    });
    let mut lag = Samples::default();
    let probe_org = OrgId::new();
    let mut probe = Generator::new(shape(probe_org, Clock::Live, mix), 3);
    for p in 0..probes {
        let event = probe.event(0, 1);
        let bucket = tally_core::time::bucket_of(event.started_at);
        let sent = Instant::now();
        recorder.record(event).await;
        loop {
            let rows = target
                .store
                .usage(UsageQuery {
                    scope: Scope::Org(probe_org),
                    from_bucket: bucket,
                    to_bucket: bucket + 1,
                    group_by: vec![Dim::Bucket],
                    cuts: Vec::new(),
                })
                .await?;
            if rows.iter().map(|(_, t)| t.requests).sum::<u64>() > u64::from(p) {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        lag.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    load.abort();
    drop(recorder);
    writer.drained().await;
    println!(
        "ingestion-to-visible lag at {} events/s background: p50 {}, p99 {}, max {} ({} probes)",
        rate,
        ms(lag.pct(50.0)),
        ms(lag.pct(99.0)),
        ms(lag.pct(100.0)),
        lag.len()
    );
    Ok(())
}

/// Writes `n` events spread over yesterday (UTC) into a fresh embedded
/// store, so that yesterday is the open day, then times 100 writes of one
/// event of today each: they roll yesterday's hours into the day tables, a
/// few key ranges per write.
async fn roll(n: u64, mix: Mix) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path())?);
    let today = jiff::Timestamp::now().as_second().div_euclid(86_400) * 86_400;
    let yesterday = jiff::Timestamp::from_second(today - 86_400)?;
    let org = OrgId::new();
    let (recorder, writer) = Recorder::start(store.clone(), DEFAULT_QUEUE);
    let clock = Clock::Spread {
        start: yesterday,
        days: 1,
    };
    let mut generator = Generator::new(shape(org, clock, mix), 7);
    for i in 0..n {
        recorder.record(generator.event(i, n)).await;
    }
    drop(recorder);
    writer.drained().await;
    let mut live = Generator::new(shape(org, Clock::Live, mix), 8);
    let mut times = Samples::default();
    let began = Instant::now();
    for i in 0..100 {
        let write = Instant::now();
        store.record(vec![live.event(i, 100)]).await?;
        store.flush().await?;
        times.push(write.elapsed());
    }
    println!(
        "closing a day: after {n} events of yesterday (UTC), 100 writes of one event of today each, \
         which roll yesterday into the day tables, took {:.2} s in all; one write: p50 {}, max {}",
        began.elapsed().as_secs_f64(),
        ms(times.pct(50.0)),
        ms(times.pct(100.0))
    );
    Ok(())
}
