//! The key of a `usage_rollups` row, shared by both stores: one row per
//! 15-minute UTC bucket and (API key, provider, routed model, canonical
//! model, app); the key's project and creator ride along.

use std::collections::BTreeMap;

use tally_core::time::bucket_of;
use tally_core::{ActivityEvent, Money, UsageTotals};
use uuid::Uuid;

/// Ordered as the primary key: sorting by it makes every writer touch rollup
/// rows in one global order, so concurrent batches wait instead of deadlocking.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RollupKey<'a> {
    pub org: Uuid,
    pub bucket: i64,
    pub api_key: Uuid,
    pub provider: &'a str,
    pub routed: &'a str,
    pub canonical: &'a str,
    pub app: &'a str,
    pub project: Uuid,
    pub created_by: Uuid,
}

impl<'a> RollupKey<'a> {
    /// Text dimensions are `''` for "none" so they can be part of a key.
    pub fn of(e: &'a ActivityEvent) -> RollupKey<'a> {
        let text = |v: &'a Option<String>| v.as_deref().unwrap_or_default();
        RollupKey {
            org: *e.org_id.as_uuid(),
            bucket: bucket_of(e.started_at),
            api_key: *e.api_key_id.as_uuid(),
            provider: text(&e.provider),
            routed: text(&e.routed_model),
            canonical: text(&e.canonical_model),
            app: text(&e.app),
            project: *e.project_id.as_uuid(),
            created_by: *e.created_by.as_uuid(),
        }
    }
}

/// A batch summed per rollup key, in key order.
pub(crate) fn sum_by_key<'a>(
    events: impl IntoIterator<Item = &'a ActivityEvent>,
) -> BTreeMap<RollupKey<'a>, UsageTotals> {
    let mut sums: BTreeMap<RollupKey<'a>, UsageTotals> = BTreeMap::new();
    for e in events {
        sums.entry(RollupKey::of(e)).or_default().add(&UsageTotals::of(e));
    }
    sums
}

/// The summed columns of every rollup table, in the order of [`sum_values`].
pub(crate) const SUM_COLUMNS: [&str; 17] = [
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
    "usage_invalid",
];

/// The values of [`SUM_COLUMNS`] for some totals (counts saturate at `i64::MAX`).
pub(crate) fn sum_values(t: &UsageTotals) -> [i64; 17] {
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    [
        int(t.requests),
        int(t.upstream_errors),
        int(t.gateway_errors),
        int(t.client_errors),
        int(t.canceled),
        int(t.input),
        int(t.cached_input),
        int(t.cache_write),
        int(t.output),
        int(t.reasoning),
        t.cost.nanos(),
        int(t.estimated),
        int(t.unpriced),
        int(t.latency_us),
        int(t.ttft_us),
        int(t.ttft_count),
        int(t.usage_invalid),
    ]
}

/// Totals from the values of [`SUM_COLUMNS`], in that order: the inverse of
/// [`sum_values`] (a count read back negative counts as 0).
pub(crate) fn totals_of(v: [i64; 17]) -> UsageTotals {
    let n = |i: usize| u64::try_from(v[i]).unwrap_or(0);
    UsageTotals {
        requests: n(0),
        upstream_errors: n(1),
        gateway_errors: n(2),
        client_errors: n(3),
        canceled: n(4),
        input: n(5),
        cached_input: n(6),
        cache_write: n(7),
        output: n(8),
        reasoning: n(9),
        cost: Money::from_nanos(v[10]),
        estimated: n(11),
        unpriced: n(12),
        latency_us: n(13),
        ttft_us: n(14),
        ttft_count: n(15),
        usage_invalid: n(16),
    }
}
