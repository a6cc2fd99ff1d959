//! The fixed log-scale latency histogram rollups keep: each doubling cut
//! into eight equal bins (three significant bits, as HdrHistogram does),
//! so a percentile read back from bin counts is within
//! [`RELATIVE_ERROR_PERCENT`] of the true one, whatever the range merged.

use std::collections::BTreeMap;

/// Bins per doubling: `1 << SUB_BITS`.
pub const SUB_BITS: u32 = 3;

/// The bin of "no value" (a request without a first token).
pub const NO_BIN: i64 = 0;

/// Durations are binned up to 2^40 µs (12.7 days); longer ones share the last bin.
pub const MAX_US: u64 = 1 << 40;

/// The largest relative error of a value reported for a bin: the widest
/// bins span [1, 9/8) of their lower bound, and their geometric middle is
/// at most √(9/8) − 1 = 6.07% from any value in them.
pub const RELATIVE_ERROR_PERCENT: f64 = 6.07;

/// The bin of a duration in microseconds (clamped to 1 ..= [`MAX_US`]):
/// bin 1 + 8e + j covers [(8 + j)·2^e/8, (9 + j)·2^e/8) µs. Shifts only, so
/// SQL computes the same bin (see [`bin_sql`]).
pub fn bin_of(us: u64) -> i64 {
    let us = us.clamp(1, MAX_US);
    let e = 63 - us.leading_zeros();
    let sub = (us << SUB_BITS) >> e; // 8 ..= 15
    1 + i64::from(e << SUB_BITS) + sub as i64 - (1 << SUB_BITS)
}

/// [`bin_of`] as SQL over an integer expression `x`, valid in SQLite and
/// PostgreSQL (no function either lacks): the clamp, the bit length as a sum
/// of comparisons, then the same shifts.
pub fn bin_sql(x: &str) -> String {
    let max = MAX_US;
    let us = format!("(CASE WHEN {x} < 1 THEN 1 WHEN {x} > {max} THEN {max} ELSE {x} END)");
    let e: Vec<String> = (1..=40)
        .map(|k| format!("CASE WHEN {us} >= {} THEN 1 ELSE 0 END", 1_u64 << k))
        .collect();
    let e = format!("({})", e.join(" + "));
    let n = 1 << SUB_BITS;
    format!("(1 + {e} * {n} + (({us} * {n}) >> {e}) - {n})")
}

/// The value reported for a bin: its geometric middle, in microseconds.
pub fn middle_us(bin: i64) -> u64 {
    let b = bin.max(1) - 1;
    let n = 1_i64 << SUB_BITS;
    let (e, j) = (b / n, b % n);
    let unit = 2_f64.powi(e as i32) / n as f64;
    let lower = (n + j) as f64 * unit;
    let upper = (n + j + 1) as f64 * unit;
    (lower * upper).sqrt().round() as u64
}

/// Counts per bin, merged from rollup rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    bins: BTreeMap<i64, u64>,
    count: u64,
}

impl Histogram {
    /// Adds `n` values in `bin` ([`NO_BIN`] is skipped).
    pub fn add(&mut self, bin: i64, n: u64) {
        if bin == NO_BIN || n == 0 {
            return;
        }
        let slot = self.bins.entry(bin).or_default();
        *slot = slot.saturating_add(n);
        self.count = self.count.saturating_add(n);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The nearest-rank percentile (`per_mille` of 1000: 500 is the median)
    /// as its bin's middle; `None` when empty.
    pub fn percentile(&self, per_mille: u32) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = (u128::from(self.count) * u128::from(per_mille.min(1000)))
            .div_ceil(1000)
            .max(1);
        let mut seen = 0_u128;
        for (bin, n) in &self.bins {
            seen += u128::from(*n);
            if seen >= rank {
                return Some(middle_us(*bin));
            }
        }
        self.bins.keys().next_back().map(|b| middle_us(*b))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn bins_cut_each_doubling_in_eight() {
        let table = [
            (0, 1),
            (1, 1),
            (2, 9),
            (3, 13),
            (8, 25),
            (9, 26),
            (1_000, 1 + 8 * 9 + 7), // 512 · 15/8 = 960 ≤ 1000 < 1024
            (1_024, 1 + 8 * 10),
            (1_151, 1 + 8 * 10),
            (1_152, 1 + 8 * 10 + 1),
            (u64::MAX, 1 + 8 * 40),
        ];
        for (us, bin) in table {
            assert_eq!(bin_of(us), bin, "{us} µs");
        }
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut h = Histogram::default();
        assert_eq!(h.percentile(500), None);
        for us in [1_000, 2_000, 3_000, 4_000] {
            h.add(bin_of(us), 1);
        }
        h.add(NO_BIN, 9);
        assert_eq!(h.count(), 4);
        assert_eq!(h.percentile(500), Some(middle_us(bin_of(2_000))));
        assert_eq!(h.percentile(990), Some(middle_us(bin_of(4_000))));
        assert_eq!(h.percentile(0), Some(middle_us(bin_of(1_000))));
    }

    proptest! {
        #[test]
        fn a_bin_holds_its_values_within_the_stated_error(us in 1_u64..(1 << 40)) {
            let b = bin_of(us);
            prop_assert!(b >= 1);
            prop_assert!(bin_of(us + 1) >= b);
            let mid = middle_us(b) as f64;
            let err = (mid - us as f64).abs() / us as f64 * 100.0;
            // Tiny values round to whole microseconds.
            prop_assert!(err <= RELATIVE_ERROR_PERCENT || us < 64, "{} µs → {} ({}%)", us, mid, err);
        }
    }
}
