//! The query planner: which tables, at which grains and over which bucket
//! ranges, answer an analytics query. A pure function of the query, the
//! rollup spec and what the store keeps (the open day, the local-day
//! phases); it reads nothing.
//!
//! A query takes the smallest shape holding its columns and reads whole UTC
//! days from its day table, whole hours from its hour table, and only the
//! 15-minute remainders at the edges of its periods from `usage_rollups`,
//! so the rows read grow with the days asked for, not with the traffic.
//! Periods that are whole local days of a kept phase are read from that
//! phase's local-day rows. No range of a coarse grain straddles a period
//! start, so every row read lies in one period.

use std::fmt;

use crate::rollup::dim::{Col, scope_cols};
use crate::rollup::grain::{BucketRange, Grain, HOURS_PER_DAY, MAX_SPAN_LEVEL, days_ended_by};
use crate::rollup::shape::{QUARTERS, Shape, holding};
use crate::{Dim, UsageQuery};

/// What the store keeps, besides every shape's hour and 15-minute rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kept<'a> {
    /// The first UTC day the day tables may not count whole (`open_day`).
    pub open_day: i64,
    /// The local-day phases kept (minutes east of UTC), ascending.
    pub phases: &'a [i64],
    /// Spans of days are complete if they end by this UTC day's start.
    pub spans_open: i64,
}

/// One table read over some ranges of its buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub table: String,
    /// The local-day phase whose rows are read (0: UTC, for spans).
    pub phase: Option<i64>,
    /// The level of the spans read (`1 << level` days).
    pub level: Option<i64>,
    /// Ascending, disjoint, all of the table's grain.
    pub ranges: Vec<BucketRange>,
}

impl Scan {
    pub(crate) fn grain(&self) -> Grain {
        self.ranges.first().map_or(Grain::Quarter, |r| r.grain)
    }
}

impl fmt::Display for Scan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table)?;
        if let Some(phase) = self.phase {
            write!(f, "@{phase}")?;
        }
        if let Some(level) = self.level {
            write!(f, "/{level}")?;
        }
        for r in &self.ranges {
            write!(f, " [{}, {})", r.from, r.to)?;
        }
        Ok(())
    }
}

/// The scans that answer `q`.
pub(crate) fn plan(q: &UsageQuery, kept: Kept<'_>) -> Vec<Scan> {
    match shape_for(q) {
        Some(shape) if shape.local_days() => local(q, shape, kept),
        _ => utc(q, kept),
    }
}

fn shape_for(q: &UsageQuery) -> Option<&'static Shape> {
    let needed: Vec<Col> = scope_cols(&q.scope)
        .iter()
        .copied()
        .chain(q.group_by.iter().filter_map(|d| Col::of_dim(*d)))
        .collect();
    holding(&needed)
}

fn scan(table: String, grain: Grain, phase: Option<i64>, ranges: &[(i64, i64)]) -> Option<Scan> {
    let ranges: Vec<BucketRange> = ranges
        .iter()
        .filter_map(|(a, b)| BucketRange::new(grain, *a, *b))
        .collect();
    (!ranges.is_empty()).then_some(Scan {
        table,
        phase,
        level: None,
        ranges,
    })
}

/// Reads whole days `days` of `phase` from `shape`'s day table of `grain`,
/// or, when the shape keeps spans and `q` has no periods to label, from
/// the complete spans among them and the days left over.
fn days_of(
    q: &UsageQuery,
    shape: &Shape,
    grain: Grain,
    phase: Option<i64>,
    days: &[(i64, i64)],
    kept: Kept<'_>,
) -> Vec<Scan> {
    if !shape.spans() || q.group_by.contains(&Dim::Bucket) {
        return scan(shape.table_of(grain), grain, phase, days).into_iter().collect();
    }
    let end = days_ended_by(kept.spans_open, phase.unwrap_or(0));
    let (spans, rest) = spans(days, end);
    let mut scans: Vec<Scan> = spans
        .into_iter()
        .filter_map(|(level, ranges)| {
            let mut s = scan(
                shape.table_of(Grain::Span),
                Grain::Span,
                Some(phase.unwrap_or(0)),
                &ranges,
            )?;
            s.level = Some(level);
            Some(s)
        })
        .collect();
    scans.extend(scan(shape.table_of(grain), grain, phase, &rest));
    scans
}

/// Splits day ranges into the longest aligned spans that end by day `end`
/// (each as the range of its first day, by level) and the days left.
fn spans(days: &[(i64, i64)], end: i64) -> (Vec<(i64, Ranges)>, Ranges) {
    let mut by_level: Vec<(i64, Ranges)> = (1..=MAX_SPAN_LEVEL).map(|l| (l, Vec::new())).collect();
    let mut rest = Vec::new();
    for &(a, b) in days {
        let mut x = a;
        while x < b {
            let level = (1..=MAX_SPAN_LEVEL).rev().find(|l| {
                let len = 1_i64 << l;
                x.rem_euclid(len) == 0 && x + len <= b && x + len <= end
            });
            match level {
                Some(l) => {
                    by_level[(l - 1) as usize].1.push((x, x + 1));
                    x += 1 << l;
                }
                None => {
                    rest.push((x, x + 1));
                    x += 1;
                }
            }
        }
    }
    by_level.retain(|(_, r)| !r.is_empty());
    (by_level, merge(rest))
}

/// From UTC days and hours and 15-minute edges.
fn utc(q: &UsageQuery, kept: Kept<'_>) -> Vec<Scan> {
    let Some(shape) = shape_for(q) else {
        let all = [(q.from_bucket, q.to_bucket)];
        return scan(QUARTERS.table.to_owned(), Grain::Quarter, None, &all)
            .into_iter()
            .collect();
    };
    let [quarters, hours, days] = levels(q.from_bucket, q.to_bucket, &q.cuts);
    let (days, open_hours) = split(days, kept.open_day);
    let hours = merge(hours.into_iter().chain(open_hours).collect());
    [
        scan(QUARTERS.table.to_owned(), Grain::Quarter, None, &quarters),
        scan(shape.table_of(Grain::Hour), Grain::Hour, None, &hours),
    ]
    .into_iter()
    .flatten()
    .chain(days_of(q, shape, Grain::UtcDay, None, &days, kept))
    .collect()
}

/// Whether the 15-minute bucket `quarter` starts a local day of `phase`.
fn starts_day(quarter: i64, phase: i64) -> bool {
    (quarter + phase / 15).rem_euclid(Grain::LocalDay.quarters()) == 0
}

/// Each period made of whole local days of a kept phase from that phase's
/// rows, the others the UTC way; consecutive periods of one source are
/// read together.
fn local(q: &UsageQuery, shape: &Shape, kept: Kept<'_>) -> Vec<Scan> {
    // Grouped by bucket without periods, the caller wants 15-minute detail.
    let periods = !q.group_by.contains(&Dim::Bucket) || !q.cuts.is_empty();
    if !periods || kept.phases.is_empty() || q.from_bucket >= q.to_bucket {
        return utc(q, kept);
    }
    let points = crate::rollup::period::Periods::new(q.from_bucket, q.to_bucket, &q.cuts);
    let mut runs: Vec<(Option<i64>, i64, i64)> = Vec::new();
    for w in points.points().windows(2) {
        let (a, b) = (w[0], w[1]);
        let source = kept
            .phases
            .iter()
            .copied()
            .find(|p| starts_day(a, *p) && starts_day(b, *p));
        match runs.last_mut() {
            Some(last) if last.0 == source => last.2 = b,
            _ => runs.push((source, a, b)),
        }
    }
    let mut scans = Vec::new();
    for (source, a, b) in runs {
        match source {
            Some(phase) => {
                let day = |x: i64| (x + phase / 15).div_euclid(Grain::LocalDay.quarters());
                let days = [(day(a), day(b))];
                scans.extend(days_of(q, shape, Grain::LocalDay, Some(phase), &days, kept));
            }
            None => {
                // A grouping by periods stays one: `a` keeps its cuts non-empty.
                let cuts = if q.cuts.is_empty() {
                    Vec::new()
                } else {
                    std::iter::once(a)
                        .chain(q.cuts.iter().copied().filter(|x| *x > a && *x < b))
                        .collect()
                };
                let sub = UsageQuery {
                    from_bucket: a,
                    to_bucket: b,
                    cuts,
                    ..q.clone()
                };
                scans.extend(utc(&sub, kept));
            }
        }
    }
    scans
}

/// Splits `[from, to)` (15-minute buckets), cut at every period start, into
/// ranges of whole days, whole hours and single quarters: no range of a
/// coarse level straddles a cut, so every row read falls in one period.
fn levels(from: i64, to: i64, cuts: &[i64]) -> [Ranges; 3] {
    if from >= to {
        // An empty range (found by the store conformance suite: sorting the
        // two ends read an inverted range as the range between them).
        return [Vec::new(), Vec::new(), Vec::new()];
    }
    let points = crate::rollup::period::Periods::new(from, to, cuts);
    let ceil = |x: i64, n: i64| x.div_euclid(n) * n + if x.rem_euclid(n) == 0 { 0 } else { n };
    let floor = |x: i64, n: i64| x.div_euclid(n) * n;
    let (h, d) = (Grain::Hour.quarters(), Grain::UtcDay.quarters());
    let mut quarters = Vec::new();
    let mut hours = Vec::new();
    let mut days = Vec::new();
    let hours_and_quarters = |x: i64, y: i64, quarters: &mut Vec<(i64, i64)>, hours: &mut Vec<(i64, i64)>| {
        let (hx, hy) = (ceil(x, h), floor(y, h));
        if hx < hy {
            quarters.push((x, hx));
            hours.push((hx / h, hy / h));
            quarters.push((hy, y));
        } else {
            quarters.push((x, y));
        }
    };
    for w in points.points().windows(2) {
        let (a, b) = (w[0], w[1]);
        let (da, db) = (ceil(a, d), floor(b, d));
        if da < db {
            hours_and_quarters(a, da, &mut quarters, &mut hours);
            days.push((da / d, db / d));
            hours_and_quarters(db, b, &mut quarters, &mut hours);
        } else {
            hours_and_quarters(a, b, &mut quarters, &mut hours);
        }
    }
    [merge(quarters), merge(hours), merge(days)]
}

/// Half-open ranges of buckets of one grain.
type Ranges = Vec<(i64, i64)>;

/// Splits whole-day `days` ranges at the open day `open`: the days before
/// it stay days, the others become hour ranges.
fn split(days: Ranges, open: i64) -> (Ranges, Ranges) {
    let mut closed = Vec::new();
    let mut hours = Vec::new();
    for (a, b) in days {
        if a < open {
            closed.push((a, b.min(open)));
        }
        if b > open {
            hours.push((a.max(open) * HOURS_PER_DAY, b * HOURS_PER_DAY));
        }
    }
    (closed, hours)
}

fn merge(mut ranges: Ranges) -> Ranges {
    ranges.retain(|(a, b)| a < b);
    ranges.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if last.1 >= a => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests;
