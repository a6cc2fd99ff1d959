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
}

impl Grain {
    /// How many 15-minute buckets one bucket of this grain spans.
    pub const fn quarters(self) -> i64 {
        match self {
            Grain::Quarter => 1,
            Grain::Hour => 4,
            Grain::UtcDay | Grain::LocalDay => 96,
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
        }
    }
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
