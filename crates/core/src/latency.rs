//! The fixed log-scale latency histogram rollups keep: each doubling cut
//! into eight equal bins (three significant bits, as HdrHistogram does),
//! so a percentile read back from bin counts is within
//! [`RELATIVE_ERROR_PERCENT`] of the true one, whatever the range merged.

use smallvec::SmallVec;

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

/// The largest bin [`bin_of`] returns (that of [`MAX_US`]).
pub const MAX_BIN: i64 = 1 + 40 * (1 << SUB_BITS);

/// Counts per bin, merged from rollup rows: bins ascending, each count
/// positive. Stored as [`Histogram::to_bytes`], read back by
/// [`Histogram::from_bytes`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Histogram {
    /// Most rollup rows a writer holds count one request or a few, in one
    /// or two bins: kept in place, they cost no allocation.
    bins: SmallVec<[(u16, u64); 2]>,
    count: u64,
}

/// Bytes that are not a histogram [`Histogram::to_bytes`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadHistogram;

impl std::fmt::Display for BadHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a latency histogram")
    }
}

impl std::error::Error for BadHistogram {}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Result<u64, BadHistogram> {
    let mut v = 0_u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first().ok_or(BadHistogram)?;
        *bytes = rest;
        let part = u64::from(b & 0x7f);
        // Past 64 bits, or over-long (a last byte of 0 after the first).
        if (shift == 63 && part > 1) || (b == 0 && shift > 0) {
            return Err(BadHistogram);
        }
        v |= part << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(BadHistogram)
}

impl Histogram {
    /// Adds `n` values in `bin` ([`NO_BIN`] and bins outside
    /// 1 ..= [`MAX_BIN`] are skipped).
    pub fn add(&mut self, bin: i64, n: u64) {
        let Some(bin) = u16::try_from(bin)
            .ok()
            .filter(|b| (1..=MAX_BIN).contains(&i64::from(*b)))
        else {
            return;
        };
        if n == 0 {
            return;
        }
        match self.bins.binary_search_by_key(&bin, |(b, _)| *b) {
            Ok(at) => self.bins[at].1 = self.bins[at].1.saturating_add(n),
            Err(at) => self.bins.insert(at, (bin, n)),
        }
        self.count = self.count.saturating_add(n);
    }

    /// Adds one duration in microseconds.
    pub fn record(&mut self, us: u64) {
        self.add(bin_of(us), 1);
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.bins.is_empty() {
            return;
        }
        if self.bins.is_empty() {
            self.clone_from(other);
            return;
        }
        // A few bins (one request's, a small row's) go in place.
        if other.bins.len() <= 4 {
            for (bin, n) in &other.bins {
                self.add(i64::from(*bin), *n);
            }
            return;
        }
        let (a, b) = (&self.bins, &other.bins);
        let mut out = SmallVec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        loop {
            match (a.get(i), b.get(j)) {
                (Some(&(x, n)), Some(&(y, m))) if x == y => {
                    out.push((x, n.saturating_add(m)));
                    i += 1;
                    j += 1;
                }
                (Some(&x), Some(&y)) if x.0 < y.0 => {
                    out.push(x);
                    i += 1;
                }
                (_, Some(&y)) => {
                    out.push(y);
                    j += 1;
                }
                (Some(&x), None) => {
                    out.push(x);
                    i += 1;
                }
                (None, None) => break,
            }
        }
        self.bins = out;
        self.count = self.count.saturating_add(other.count);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.bins.is_empty()
    }

    /// Each bin and its count, ascending.
    pub fn bins(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.bins.iter().map(|(b, n)| (i64::from(*b), *n))
    }

    /// The stored form: per bin, ascending, the distance from the previous
    /// bin (from 0 for the first) and the count, each as a LEB128 varint.
    /// Empty for an empty histogram.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bins.len() * 3);
        let mut last = 0;
        for (bin, n) in &self.bins {
            put_varint(&mut out, u64::from(bin - last));
            put_varint(&mut out, *n);
            last = *bin;
        }
        out
    }

    /// Reads [`Histogram::to_bytes`] back; anything else is refused.
    pub fn from_bytes(mut bytes: &[u8]) -> Result<Histogram, BadHistogram> {
        let mut h = Histogram::default();
        let mut last = 0_u64;
        while !bytes.is_empty() {
            let step = take_varint(&mut bytes)?;
            let n = take_varint(&mut bytes)?;
            let bin = last.checked_add(step).ok_or(BadHistogram)?;
            if step == 0 || n == 0 || bin > MAX_BIN as u64 {
                return Err(BadHistogram);
            }
            h.bins.push((bin as u16, n));
            h.count = h.count.saturating_add(n);
            last = bin;
        }
        Ok(h)
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
        for (bin, n) in self.bins() {
            seen += u128::from(n);
            if seen >= rank {
                return Some(middle_us(bin));
            }
        }
        self.bins.last().map(|(b, _)| middle_us(i64::from(*b)))
    }
}

/// The two histograms every rollup row keeps: the latency of every request
/// and the time to first token of streamed requests that had one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Latencies {
    pub latency: Histogram,
    pub ttft: Histogram,
}

impl Latencies {
    /// One request's: its latency, and its first token's when streamed.
    pub fn of(latency_us: u64, stream: bool, ttft_us: Option<u64>) -> Latencies {
        let mut l = Latencies::default();
        l.latency.record(latency_us);
        if let Some(t) = ttft_us.filter(|_| stream) {
            l.ttft.record(t);
        }
        l
    }

    pub fn merge(&mut self, other: &Latencies) {
        self.latency.merge(&other.latency);
        self.ttft.merge(&other.ttft);
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

    #[test]
    fn stored_bytes_are_refused_unless_written_here() {
        let mut h = Histogram::default();
        h.add(3, 2);
        h.add(300, 1 << 40);
        assert_eq!(Histogram::from_bytes(&h.to_bytes()), Ok(h));
        assert_eq!(Histogram::from_bytes(&[]), Ok(Histogram::default()));
        for bad in [
            &[0x80][..],
            &[3],
            &[0, 1],
            &[3, 0],
            &[3, 1, 0, 1],
            &[0xff, 0x03, 1],
            &[0xff; 11],
            &[0x83, 0x00, 1],
        ] {
            assert_eq!(Histogram::from_bytes(bad), Err(BadHistogram), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn merged_histograms_count_every_value(
            a in proptest::collection::vec(0_u64..(1 << 41), 0..40),
            b in proptest::collection::vec(0_u64..(1 << 41), 0..40),
        ) {
            let (mut x, mut y, mut all) = (Histogram::default(), Histogram::default(), Histogram::default());
            for us in &a { x.record(*us); all.record(*us); }
            for us in &b { y.record(*us); all.record(*us); }
            x.merge(&y);
            prop_assert_eq!(&x, &all);
            prop_assert_eq!(x.count(), (a.len() + b.len()) as u64);
            prop_assert_eq!(Histogram::from_bytes(&x.to_bytes()), Ok(x));
        }

        #[test]
        fn any_bytes_read_back_as_written_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            if let Ok(h) = Histogram::from_bytes(&bytes) {
                prop_assert_eq!(h.to_bytes(), bytes);
            }
        }

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
