//! Shared by the store tests: each backend behind `Arc<dyn Store>` over a
//! fresh database, and deterministic activity events.
#![allow(dead_code)]

use std::sync::Arc;

use jiff::Timestamp;
use tally_core::*;
use tally_store::postgres::PgStore;
use tally_store::sqlite::SqliteStore;
use tally_store::*;

/// A store and whatever keeps its database alive.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub kind: &'static str,
    _keep: Keep,
}

enum Keep {
    Sqlite(tempfile::TempDir),
    Postgres(tally_pg_harness::TestDb),
}

impl Backend {
    /// The PostgreSQL database, for tests that look under the traits.
    pub fn pg_url(&self) -> Option<&str> {
        match &self._keep {
            Keep::Postgres(db) => Some(db.url()),
            Keep::Sqlite(_) => None,
        }
    }
}

pub async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    Backend {
        store: Arc::new(store),
        kind: "sqlite",
        _keep: Keep::Sqlite(dir),
    }
}

pub async fn postgres() -> Backend {
    let db = tally_pg_harness::database().await;
    let store = PgStore::connect(db.url(), 8).await.unwrap();
    Backend {
        store: Arc::new(store),
        kind: "postgres",
        _keep: Keep::Postgres(db),
    }
}

/// Instantiates each listed `async fn name(store: Arc<dyn Store>)` once per
/// backend: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = $crate::common::sqlite().await;
                    super::$name(backend.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let backend = $crate::common::postgres().await;
                    super::$name(backend.store.clone()).await;
                }
            )*
        }
    };
}

/// Every bucket of the tests' data: 1970 to 2100.
pub const ALL_TIME: (i64, i64) = (0, 4_102_444_800_000 / tally_core::time::BUCKET_MS);

/// A usage query over buckets `[from_bucket, to_bucket)` with no period
/// cuts (built in one place, so that a new field of `UsageQuery` is one edit here).
pub fn usage_query(scope: Scope, from_bucket: i64, to_bucket: i64, group_by: Vec<Dim>) -> UsageQuery {
    UsageQuery {
        scope,
        from_bucket,
        to_bucket,
        group_by,
        cuts: Vec::new(),
    }
}

/// The start of the period (between `from_bucket` and the `cuts`) that a
/// bucket falls in.
pub fn period_of(q: &UsageQuery, bucket: i64) -> i64 {
    q.cuts
        .iter()
        .copied()
        .filter(|c| *c > q.from_bucket && *c <= bucket)
        .max()
        .unwrap_or(q.from_bucket)
}

/// Rows with each `Bucket` value replaced by the start of its period and
/// summed: what a store must answer for raw rows (events, 15-minute
/// buckets) grouped by periods. A store's own answer with cuts is already
/// labelled so (`UsageQuery`); without cuts it may have rows coarser than
/// 15 minutes (a day, an hour), which this folds alike.
pub fn fold(
    q: &UsageQuery,
    rows: impl IntoIterator<Item = (Vec<DimValue>, UsageTotals)>,
) -> std::collections::BTreeMap<Vec<DimValue>, UsageTotals> {
    fold_with(q, rows, UsageTotals::add)
}

/// [`fold`] for any summed value.
pub fn fold_with<V: Default>(
    q: &UsageQuery,
    rows: impl IntoIterator<Item = (Vec<DimValue>, V)>,
    add: impl Fn(&mut V, &V),
) -> std::collections::BTreeMap<Vec<DimValue>, V> {
    let mut out: std::collections::BTreeMap<Vec<DimValue>, V> = std::collections::BTreeMap::new();
    for (key, totals) in rows {
        let key = key
            .into_iter()
            .map(|v| match v {
                DimValue::Bucket(b) => {
                    assert!(
                        b >= q.from_bucket && b < q.to_bucket,
                        "row outside the range: {b} in {q:?}"
                    );
                    DimValue::Bucket(period_of(q, b))
                }
                other => other,
            })
            .collect();
        add(out.entry(key).or_default(), &totals);
    }
    out
}

pub fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

pub fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

/// A small deterministic generator (no dependency, same sequence everywhere).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A key as events refer to it: it fixes its organization, project and creator.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef {
    pub org: OrgId,
    pub project: ProjectId,
    pub key: ApiKeyId,
    pub creator: UserId,
}

/// `n` varied events for `keys`, starting at `start_ms` and spread over
/// `span_ms`: every outcome, models and apps present and missing, usage
/// partly unreported, streams with and without a first-token time.
pub fn events(seed: u64, keys: &[KeyRef], start_ms: i64, span_ms: i64, n: usize) -> Vec<ActivityEvent> {
    let mut rng = Lcg(seed);
    let models: &[(Option<&str>, Option<&str>, Option<&str>)] = &[
        (Some("openai"), Some("openai/gpt-4o"), Some("gpt-4o")),
        (Some("azure"), Some("azure/gpt-4o"), Some("gpt-4o")),
        (
            Some("anthropic"),
            Some("anthropic/claude-sonnet-4-5"),
            Some("claude-sonnet-4-5"),
        ),
        (Some("local"), Some("local/llama-3.1-8b-instruct"), None),
        (None, None, None),
    ];
    let apps = [None, Some("Slack Bot"), Some("batch"), Some("Ärger-App")];
    let tag_sets = [
        None,
        None,
        Some("team=search"),
        Some("feature=rerank,team=search"),
        Some("team=ads"),
    ];
    (0..n)
        .map(|_| {
            let k = *rng.pick(keys);
            let (provider, routed, canonical) = *rng.pick(models);
            let outcome = if routed.is_none() {
                Outcome::ClientError
            } else {
                *rng.pick(&[
                    Outcome::Success,
                    Outcome::Success,
                    Outcome::Success,
                    Outcome::UpstreamError,
                    Outcome::GatewayError,
                    Outcome::Canceled,
                ])
            };
            let reported = rng.below(5) != 0;
            let tokens = |rng: &mut Lcg, max: u64| if reported { Some(rng.below(max)) } else { None };
            let stream = rng.below(2) == 0;
            ActivityEvent {
                id: EventId::new(),
                started_at: at(start_ms + (rng.below(span_ms as u64) as i64)),
                org_id: k.org,
                project_id: k.project,
                api_key_id: k.key,
                created_by: k.creator,
                requested_model: routed.map(|r| r.rsplit('/').next().unwrap_or(r).to_owned()),
                provider: provider.map(str::to_owned),
                routed_model: routed.map(str::to_owned),
                canonical_model: canonical.map(str::to_owned),
                app: rng.pick(&apps).map(str::to_owned),
                // Streamed requests name one of a few end users (one not ASCII).
                end_user: stream.then(|| format!("usér-{}", k.key.as_uuid().as_u128() % 7)),
                // A few tag sets, some sharing a key.
                tags: rng
                    .pick(&tag_sets)
                    .and_then(|t| tally_core::Tags::parse(t).ok().flatten()),
                endpoint: *rng.pick(&Endpoint::ALL),
                stream,
                outcome,
                http_status: match outcome {
                    Outcome::Success | Outcome::Canceled => 200,
                    Outcome::UpstreamError | Outcome::Blocked => 429,
                    Outcome::GatewayError => 502,
                    Outcome::ClientError => 400,
                },
                error: (outcome != Outcome::Success).then(|| "something went wrong".to_owned()),
                usage: Usage {
                    input: tokens(&mut rng, 20_000),
                    cached_input: tokens(&mut rng, 2_000),
                    cache_write: tokens(&mut rng, 500),
                    output: tokens(&mut rng, 4_000),
                    reasoning: tokens(&mut rng, 300),
                },
                cost: Money::from_nanos(rng.below(50_000_000) as i64),
                estimated: !reported && outcome == Outcome::Success,
                unpriced: canonical.is_none() && routed.is_some(),
                usage_invalid: false,
                latency_us: rng.below(3_000_000),
                // A whole answer's first byte too, now and then.
                ttft_us: (stream || rng.below(3) == 0).then(|| rng.below(900_000)),
            }
        })
        .collect()
}
