//! The measures every rollup row sums, in stored column order: one entry
//! per column, with how one raw event contributes to it (SQL valid in both
//! engines) and where it lives in [`UsageTotals`]; then the histograms
//! every rollup row merges ([`HISTOGRAMS`]).

use tally_core::latency::{Histogram, Latencies};
use tally_core::{Money, UsageTotals};

/// A summed column.
pub struct Measure {
    pub column: &'static str,
    /// One raw event's contribution, as SQL over `activity_events`.
    pub per_event: &'static str,
    /// The stored value of some totals (counts saturate at `i64::MAX`).
    pub get: fn(&UsageTotals) -> i64,
    /// Sets the totals' field from a stored value (a negative count reads as 0).
    pub set: fn(&mut UsageTotals, i64),
}

/// How many measures there are.
pub const MEASURE_COUNT: usize = 17;

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

macro_rules! counted {
    ($column:literal, $per_event:literal, $field:ident) => {
        Measure {
            column: $column,
            per_event: $per_event,
            get: |t| int(t.$field),
            set: |t, v| t.$field = count(v),
        }
    };
}

/// Every measure, in stored column order.
pub const MEASURES: [Measure; MEASURE_COUNT] = [
    counted!("requests", "1", requests),
    counted!(
        "upstream_errors",
        "CASE WHEN outcome = 'upstream_error' THEN 1 ELSE 0 END",
        upstream_errors
    ),
    counted!(
        "gateway_errors",
        "CASE WHEN outcome = 'gateway_error' THEN 1 ELSE 0 END",
        gateway_errors
    ),
    counted!(
        "client_errors",
        "CASE WHEN outcome IN ('client_error', 'blocked') THEN 1 ELSE 0 END",
        client_errors
    ),
    counted!("canceled", "CASE WHEN outcome = 'canceled' THEN 1 ELSE 0 END", canceled),
    counted!("input_tokens", "COALESCE(input_tokens, 0)", input),
    counted!("cached_input_tokens", "COALESCE(cached_input_tokens, 0)", cached_input),
    counted!("cache_write_tokens", "COALESCE(cache_write_tokens, 0)", cache_write),
    counted!("output_tokens", "COALESCE(output_tokens, 0)", output),
    counted!("reasoning_tokens", "COALESCE(reasoning_tokens, 0)", reasoning),
    Measure {
        column: "cost_nanos",
        per_event: "cost_nanos",
        get: |t| t.cost.nanos(),
        set: |t, v| t.cost = Money::from_nanos(v),
    },
    counted!("estimated", "CASE WHEN estimated THEN 1 ELSE 0 END", estimated),
    counted!("unpriced", "CASE WHEN unpriced THEN 1 ELSE 0 END", unpriced),
    counted!("latency_us", "latency_us", latency_us),
    counted!("ttft_us", "COALESCE(ttft_us, 0)", ttft_us),
    counted!(
        "ttft_count",
        "CASE WHEN ttft_us IS NOT NULL THEN 1 ELSE 0 END",
        ttft_count
    ),
    counted!(
        "usage_invalid",
        "CASE WHEN usage_invalid THEN 1 ELSE 0 END",
        usage_invalid
    ),
];

/// The measures' column names, in [`MEASURES`] order.
pub const COLUMNS: [&str; MEASURE_COUNT] = {
    let mut out = [""; MEASURE_COUNT];
    let mut i = 0;
    while i < MEASURE_COUNT {
        out[i] = MEASURES[i].column;
        i += 1;
    }
    out
};

/// The stored values of some totals, in [`MEASURES`] order.
pub fn values(t: &UsageTotals) -> [i64; MEASURE_COUNT] {
    MEASURES.each_ref().map(|m| (m.get)(t))
}

/// Totals from stored values in [`MEASURES`] order: the inverse of [`values`].
pub fn totals(v: [i64; MEASURE_COUNT]) -> UsageTotals {
    let mut t = UsageTotals::default();
    for (m, v) in MEASURES.iter().zip(v) {
        (m.set)(&mut t, v);
    }
    t
}

/// A histogram column: the bins ([`tally_core::latency`]) of one duration
/// of each request, merged. SQLite stores [`Histogram::to_bytes`] (NULL for
/// none), PostgreSQL a `jsonb` object of bin to count.
pub struct HistColumn {
    pub column: &'static str,
    /// One raw event's duration in microseconds, as SQL over
    /// `activity_events` (both engines); NULL adds nothing.
    pub per_event_us: &'static str,
    pub get: fn(&Latencies) -> &Histogram,
    pub get_mut: fn(&mut Latencies) -> &mut Histogram,
}

/// Every histogram, in stored column order (after the measures).
pub const HISTOGRAMS: [HistColumn; 2] = [
    HistColumn {
        column: "latency_hist",
        per_event_us: "latency_us",
        get: |l| &l.latency,
        get_mut: |l| &mut l.latency,
    },
    HistColumn {
        column: "ttft_hist",
        // Time to first token of streams only: a whole answer's first byte
        // is its latency.
        per_event_us: "CASE WHEN stream THEN ttft_us END",
        get: |l| &l.ttft,
        get_mut: |l| &mut l.ttft,
    },
];

/// What one rollup row holds: its measures' totals and its histograms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowSums {
    pub totals: UsageTotals,
    pub latencies: Latencies,
}

impl RowSums {
    /// One event's.
    pub fn of(e: &tally_core::ActivityEvent) -> RowSums {
        RowSums {
            totals: UsageTotals::of(e),
            latencies: Latencies::of(e.latency_us, e.stream, e.ttft_us),
        }
    }

    pub fn add(&mut self, other: &RowSums) {
        self.totals.add(&other.totals);
        self.latencies.merge(&other.latencies);
    }
}

/// The histograms' column names, in [`HISTOGRAMS`] order.
pub const HIST_COLUMNS: [&str; 2] = [HISTOGRAMS[0].column, HISTOGRAMS[1].column];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_totals_are_inverse() {
        let mut v = [0_i64; MEASURE_COUNT];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = 1 + i as i64 * 7;
        }
        let t = totals(v);
        assert_eq!(values(&t), v);
        // Each measure has its own field: no two share a slot.
        let mut columns = COLUMNS.to_vec();
        columns.sort_unstable();
        columns.dedup();
        assert_eq!(columns.len(), MEASURE_COUNT);
    }
}
