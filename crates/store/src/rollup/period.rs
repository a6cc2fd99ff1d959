//! The periods a query folds 15-minute buckets into (the viewer's days or
//! hours): every row an analytics query answers with is labelled with the
//! first bucket of its period, once, by the store.

/// Period boundaries, ascending: the range's start, the cuts strictly
/// inside it, and its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Periods {
    points: Vec<i64>,
}

impl Periods {
    /// The periods of `[from, to)` cut at `cuts`.
    pub fn new(from: i64, to: i64, cuts: &[i64]) -> Self {
        let mut points: Vec<i64> = cuts.iter().copied().filter(|c| *c > from && *c < to).collect();
        points.push(from);
        points.push(to);
        points.sort_unstable();
        points.dedup();
        Self { points }
    }

    /// Every boundary, the range's end included.
    pub fn points(&self) -> &[i64] {
        &self.points
    }

    /// The first bucket of each period.
    pub fn starts(&self) -> &[i64] {
        self.points.split_last().map_or(&[], |(_, starts)| starts)
    }

    /// The first bucket of the period holding `bucket`.
    pub fn start_of(&self, bucket: i64) -> i64 {
        let at = self.points.partition_point(|p| *p <= bucket).saturating_sub(1);
        self.points.get(at).copied().unwrap_or(bucket)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_labelled_with_their_period_start() {
        let p = Periods::new(0, 192, &[96, 98, 500, -4]);
        assert_eq!(p.points(), [0, 96, 98, 192]);
        assert_eq!(p.starts(), [0, 96, 98]);
        assert_eq!(p.start_of(97), 96);
        assert_eq!(p.start_of(98), 98);
        assert_eq!(p.start_of(5), 0);
        assert_eq!(Periods::new(5, 5, &[]).starts(), [5_i64; 0]);
    }
}
