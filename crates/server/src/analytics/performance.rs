//! Latency and errors for a project or one API key: latency percentiles
//! (p50, p95, p99) and time-to-first-token percentiles (p50, p95) by model
//! and by provider, merged from the rollups' fixed histograms (each value
//! within `tally_core::latency::RELATIVE_ERROR_PERCENT` of the exact
//! percentile), and requests by HTTP status and by outcome over time.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Query, State};
use serde::Serialize;
use tally_core::UsageTotals;
use tally_core::latency::{Histogram, Latencies, RELATIVE_ERROR_PERCENT};
use tally_store::{Dim, DimValue};

use super::models::{interval_periods, requested_scope};
use super::{Params, Range, RangeView, text};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Caller;

/// Milliseconds with one decimal, from microseconds.
fn ms(us: u64) -> f64 {
    (us as f64 / 100.0).round() / 10.0
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    p50: f64,
    p95: f64,
    p99: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirstToken {
    p50: f64,
    p95: f64,
    /// Streamed requests that had a first token.
    requests: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Perf {
    requests: u64,
    /// Latency percentiles in milliseconds, over every request.
    latency_ms: Latency,
    /// Time to first token of streamed requests in milliseconds; `null` without any.
    ttft_ms: Option<FirstToken>,
}

fn view(l: &Latencies) -> Perf {
    let p = |h: &Histogram, q| ms(h.percentile(q).unwrap_or(0));
    Perf {
        requests: l.latency.count(),
        latency_ms: Latency {
            p50: p(&l.latency, 500),
            p95: p(&l.latency, 950),
            p99: p(&l.latency, 990),
        },
        ttft_ms: (l.ttft.count() > 0).then(|| FirstToken {
            p50: p(&l.ttft, 500),
            p95: p(&l.ttft, 950),
            requests: l.ttft.count(),
        }),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPerf {
    model: String,
    provider: String,
    #[serde(flatten)]
    perf: Perf,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderPerf {
    provider: String,
    #[serde(flatten)]
    perf: Perf,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Outcomes {
    success: u64,
    upstream_error: u64,
    gateway_error: u64,
    client_error: u64,
    canceled: u64,
}

impl Outcomes {
    fn add(&mut self, t: &UsageTotals) {
        let failed = t.upstream_errors + t.gateway_errors + t.client_errors + t.canceled;
        self.success += t.requests.saturating_sub(failed);
        self.upstream_error += t.upstream_errors;
        self.gateway_error += t.gateway_errors;
        self.client_error += t.client_errors;
        self.canceled += t.canceled;
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    start: String,
    /// Requests per status, in the order of `statuses`.
    statuses: Vec<u64>,
    outcomes: Outcomes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceView {
    range: RangeView,
    interval: &'static str,
    /// The largest relative error of a percentile read from the histograms.
    relative_error_percent: f64,
    overall: Perf,
    /// Routed requests by model and provider, the most requested first.
    models: Vec<ModelPerf>,
    providers: Vec<ProviderPerf>,
    /// Every HTTP status answered in the range (0: counted before statuses were kept).
    statuses: Vec<i64>,
    buckets: Vec<Bucket>,
}

fn int(v: Option<&DimValue>) -> i64 {
    match v {
        Some(DimValue::Int(n)) => *n,
        _ => 0,
    }
}

pub async fn performance(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<Params>,
) -> Result<Json<PerformanceView>, ApiError> {
    let range = Range::parse(&p)?;
    let (hourly, periods) = interval_periods(&p, &range)?;
    let scope = requested_scope(&p)?;
    let latency_dims = vec![Dim::CanonicalModel, Dim::Provider];
    super::authorize::authorize(&state, &caller, scope, &latency_dims).await?;
    let starts: Vec<i64> = periods.iter().map(|(_, b)| *b).collect();
    let store = &state.store;
    let (latencies, statuses) = tokio::try_join!(
        store.latencies(range.query(scope, latency_dims)),
        store.usage(range.query_periods(scope, vec![Dim::Bucket, Dim::Status], starts.clone())),
    )?;

    let mut overall = Latencies::default();
    let mut models: BTreeMap<(String, String), Latencies> = BTreeMap::new();
    let mut providers: BTreeMap<String, Latencies> = BTreeMap::new();
    for (key, l) in &latencies {
        overall.merge(l);
        let (Some(model), Some(provider)) = (key.first().and_then(text), key.get(1).and_then(text)) else {
            continue;
        };
        providers.entry(provider.clone()).or_default().merge(l);
        models.entry((model, provider)).or_default().merge(l);
    }
    let mut models: Vec<ModelPerf> = models
        .into_iter()
        .map(|((model, provider), h)| ModelPerf {
            model,
            provider,
            perf: view(&h),
        })
        .collect();
    models.sort_by_key(|m| std::cmp::Reverse(m.perf.requests));
    let mut providers: Vec<ProviderPerf> = providers
        .into_iter()
        .map(|(provider, h)| ProviderPerf {
            provider,
            perf: view(&h),
        })
        .collect();
    providers.sort_by_key(|p| std::cmp::Reverse(p.perf.requests));

    let codes: Vec<i64> = statuses
        .iter()
        .map(|(k, _)| int(k.get(1)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut buckets: Vec<Bucket> = periods
        .iter()
        .map(|(start, _)| Bucket {
            start: start.clone(),
            statuses: vec![0; codes.len()],
            outcomes: Outcomes::default(),
        })
        .collect();
    for (key, t) in &statuses {
        let period = match key.first() {
            Some(DimValue::Bucket(b)) => starts.binary_search(b).ok(),
            _ => None,
        };
        let (Some(bucket), Ok(code)) = (
            period.and_then(|i| buckets.get_mut(i)),
            codes.binary_search(&int(key.get(1))),
        ) else {
            continue;
        };
        bucket.statuses[code] += t.requests;
        bucket.outcomes.add(t);
    }
    Ok(Json(PerformanceView {
        range: range.view(),
        interval: if hourly { "hour" } else { "day" },
        relative_error_percent: RELATIVE_ERROR_PERCENT,
        overall: view(&overall),
        models,
        providers,
        statuses: codes,
        buckets,
    }))
}
