//! Grains and buckets: a bucket is an index of fixed-length periods since
//! the Unix epoch, of one grain (a local day's are shifted by its phase).

/// How long the buckets of a rollup table are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// 15 minutes: the finest, every UTC offset in use is a multiple of it.
    Quarter,
    Hour,
    /// A UTC day.
    UtcDay,
    /// A day of one UTC offset (the table's `phase`, minutes east of UTC).
    LocalDay,
    /// A span of 2, 4, … [`MAX_SPAN_DAYS`] days (the table's `level`: the
    /// span is `1 << level` days) aligned on its length, of UTC days
    /// (`phase` 0) or of local days (`phase` as for [`Grain::LocalDay`]);
    /// its bucket is its first day.
    Span,
}

/// The longest span, in days (`1 << MAX_SPAN_LEVEL`).
pub const MAX_SPAN_LEVEL: i64 = 6;
pub const MAX_SPAN_DAYS: i64 = 1 << MAX_SPAN_LEVEL;

impl Grain {
    /// How many 15-minute buckets one bucket of this grain spans.
    pub const fn quarters(self) -> i64 {
        match self {
            Grain::Quarter => 1,
            Grain::Hour => 4,
            // A span's bucket is a day.
            Grain::UtcDay | Grain::LocalDay | Grain::Span => 96,
        }
    }

    /// The suffix of a shape's table of this grain (`usage_rollups`, the
    /// 15-minute table, has none).
    pub const fn suffix(self) -> &'static str {
        match self {
            Grain::Quarter => "",
            Grain::Hour => "_hour",
            Grain::UtcDay => "_day",
            Grain::LocalDay => "_localday",
            Grain::Span => "_span",
        }
    }
}

/// How many days of `phase` (minutes east of UTC; 0 for UTC days) end by
/// the start of UTC day `open`: day `d` of the phase does iff `d` is below
/// it. A local day `d` is the 15-minute buckets from `d * 96 - phase / 15`.
pub const fn days_ended_by(open: i64, phase: i64) -> i64 {
    let quarters = Grain::UtcDay.quarters();
    (open * quarters + phase / 15).div_euclid(quarters)
}

/// Hours in a UTC day.
pub const HOURS_PER_DAY: i64 = Grain::UtcDay.quarters() / Grain::Hour.quarters();

/// A half-open range `[from, to)` of buckets of one grain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BucketRange {
    pub grain: Grain,
    pub from: i64,
    pub to: i64,
}

impl BucketRange {
    /// The range, or `None` when it is empty.
    pub fn new(grain: Grain, from: i64, to: i64) -> Option<Self> {
        (from < to).then_some(Self { grain, from, to })
    }

    /// The 15-minute bucket the range starts at (for a local day: of its
    /// UTC-aligned numbering, before the phase shift).
    pub fn first_quarter(self) -> i64 {
        self.from.saturating_mul(self.grain.quarters())
    }
}
