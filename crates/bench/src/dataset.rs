//! Synthetic but skewed activity: what the ingest and query benchmarks write
//! through the writer (the same path the gateway uses).

use jiff::{SignedDuration, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tally_core::{ActivityEvent, ApiKeyId, Endpoint, EventId, Money, OrgId, Outcome, ProjectId, Usage, UserId};

pub const PROVIDERS: [&str; 5] = ["openai", "anthropic", "azure", "groq", "mistral"];

/// The shape of a dataset: who and what events are drawn from.
pub struct Shape {
    pub org: OrgId,
    /// (key, project, creator)
    pub keys: Vec<(ApiKeyId, ProjectId, UserId)>,
    pub models: usize,
    pub apps: usize,
    pub clock: Clock,
    pub mix: Mix,
}

/// How a request's key, model and app go together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// Key, model and app drawn independently: every key calls any of the
    /// models through any app, so nearly every event of a 15-minute bucket
    /// is a rollup row of its own (about 1.8 events per row). The costliest
    /// case for the rollups.
    #[default]
    Independent,
    /// As keys are used in practice: each key belongs to one app (or none)
    /// and calls a few models of its own ([`MODELS_PER_KEY`], skewed).
    PerKey,
}

/// Models a key calls with [`Mix::PerKey`].
pub const MODELS_PER_KEY: usize = 4;

/// When events happen.
#[derive(Clone, Copy)]
pub enum Clock {
    /// Now, as the gateway stamps live traffic.
    Live,
    /// The `i`-th of `n` events at `start + i/n` of `days` (a backfill of history).
    Spread { start: Timestamp, days: i64 },
}

/// Draws an index in `0..n` with a heavy head (roughly Zipf-like).
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let u: f64 = rng.random();
    ((n as f64).powf(u) - 1.0).floor().clamp(0.0, (n - 1) as f64) as usize
}

pub struct Generator {
    rng: StdRng,
    shape: Shape,
    /// With [`Mix::PerKey`]: each key's app and models (by key index).
    per_key: Vec<(Option<usize>, [usize; MODELS_PER_KEY])>,
}

impl Generator {
    pub fn new(shape: Shape, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let per_key = match shape.mix {
            Mix::Independent => Vec::new(),
            Mix::PerKey => (0..shape.keys.len())
                .map(|_| {
                    let app = (rng.random_range(0..4) > 0).then(|| skewed(&mut rng, shape.apps));
                    (app, std::array::from_fn(|_| skewed(&mut rng, shape.models)))
                })
                .collect(),
        };
        Self { rng, shape, per_key }
    }

    /// The `i`-th of `n` events, stamped by the shape's clock.
    pub fn event(&mut self, i: u64, n: u64) -> ActivityEvent {
        let rng = &mut self.rng;
        let s = &self.shape;
        let at = match s.clock {
            Clock::Live => Timestamp::now(),
            Clock::Spread { start, days } => {
                let span = days * 86_400_000;
                start + SignedDuration::from_millis((i as i128 * span as i128 / n.max(1) as i128) as i64)
            }
        };
        let k = skewed(rng, s.keys.len());
        let (key, project, creator) = s.keys[k];
        let (m, app) = match self.per_key.get(k) {
            Some((app, models)) => (models[skewed(rng, MODELS_PER_KEY)], *app),
            None => {
                let m = skewed(rng, s.models);
                (m, (rng.random_range(0..4) > 0).then(|| skewed(rng, s.apps)))
            }
        };
        let provider = PROVIDERS[m % PROVIDERS.len()];
        let canonical = format!("model-{}", m / 2);
        let input = rng.random_range(50..4000_u64);
        let output = rng.random_range(5..800_u64);
        let roll: f64 = rng.random();
        let outcome = match roll {
            r if r < 0.01 => Outcome::UpstreamError,
            r if r < 0.013 => Outcome::GatewayError,
            r if r < 0.016 => Outcome::ClientError,
            r if r < 0.02 => Outcome::Canceled,
            _ => Outcome::Success,
        };
        let app = app.map(|a| format!("app-{a}"));
        ActivityEvent {
            id: EventId::new(),
            started_at: at,
            org_id: s.org,
            project_id: project,
            api_key_id: key,
            created_by: creator,
            requested_model: Some(canonical.clone()),
            provider: Some(provider.to_owned()),
            routed_model: Some(format!("{provider}/{canonical}")),
            canonical_model: Some(canonical),
            app,
            // A third of the requests name their end user, of a few thousand.
            end_user: i.is_multiple_of(3).then(|| format!("user-{}", i % 5_000)),
            // Half the requests are tagged with a team, some also with a feature.
            tags: tally_core::Tags::parse(&match i % 4 {
                0 => format!("team=t{}", i % 12),
                1 => format!("feature=f{},team=t{}", i % 5, i % 12),
                _ => String::new(),
            })
            .ok()
            .flatten(),
            endpoint: Endpoint::ChatCompletions,
            stream: rng.random_bool(0.4),
            outcome,
            http_status: if outcome == Outcome::Success { 200 } else { 500 },
            error: None,
            usage: Usage {
                input: Some(input),
                cached_input: Some(input / 4),
                cache_write: None,
                output: Some(output),
                reasoning: None,
            },
            cost: Money::from_nanos((input * 2_500 + output * 10_000) as i64),
            estimated: false,
            unpriced: false,
            usage_invalid: false,
            latency_us: rng.random_range(100_000..3_000_000),
            ttft_us: Some(rng.random_range(50_000..800_000)),
        }
    }
}
