//! Rollup sums in memory, per `usage_rollups` row: what the rollup writer
//! (`ingest/flusher.rs`) adds up from raw events before it writes every rollup
//! table from them, and what a read adds up from the raw events the rollups
//! do not count yet (the tail after the watermark).

use std::sync::LazyLock;

use rusqlite::Row;
use rusqlite::types::ValueRef;
use rustc_hash::FxHashMap;
use tally_core::latency::Latencies;
use tally_core::time::BUCKET_MS;
use tally_core::{ActivityEvent, UsageTotals};
use uuid::Uuid;

use crate::rollup::dim::{Col, DIMENSIONS};
use crate::rollup::key::RollupKey;
use crate::rollup::measure::{HISTOGRAMS, MEASURE_COUNT, MEASURES, RowSums};
use crate::rollup::period::Periods;
use crate::{Dim, DimValue, UsageQuery};

/// Analytics rows: group values and their totals.
pub(super) type Rows<V = UsageTotals> = Vec<(Vec<DimValue>, V)>;

/// A `usage_rollups` key with its texts interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Quarter {
    org: Uuid,
    bucket: i64,
    api_key: Uuid,
    project: Uuid,
    created_by: Uuid,
    /// provider, routed model, canonical model, app, end user, tags
    texts: [u32; 6],
    status: i64,
}

/// The columns of a raw event that its rollups need, in the order
/// [`Sums::add_row`] reads them: the start, every dimension, every
/// measure's contribution but `requests` (one), then every histogram's duration.
pub(super) static COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let mut cols = vec!["started_at"];
    cols.extend(DIMENSIONS.iter().map(|d| d.column));
    cols.extend(MEASURES[1..].iter().map(|m| m.per_event));
    cols.extend(HISTOGRAMS.iter().map(|h| h.per_event_us));
    cols.join(", ")
});

/// Where [`COLUMNS`] selects a dimension.
const fn at(c: Col) -> usize {
    let mut i = 0;
    while i < DIMENSIONS.len() {
        if DIMENSIONS[i].col as u8 == c as u8 {
            return 1 + i;
        }
        i += 1;
    }
    usize::MAX
}

/// Where [`COLUMNS`] selects the second measure (the first is `requests`).
const FIRST_SUM: usize = 1 + DIMENSIONS.len();

/// Where [`COLUMNS`] selects the first histogram's duration.
const FIRST_HIST: usize = FIRST_SUM + MEASURE_COUNT - 1;

/// How many columns [`COLUMNS`] selects.
pub(super) const COLUMN_COUNT: usize = FIRST_HIST + HISTOGRAMS.len();

/// A text dimension, `''` for none, read in place.
fn text<'r>(r: &'r Row<'_>, at: usize) -> rusqlite::Result<&'r str> {
    match r.get_ref(at)? {
        ValueRef::Null => Ok(""),
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(rusqlite::Error::Utf8Error),
        other => Err(rusqlite::Error::InvalidColumnType(at, "text".into(), other.data_type())),
    }
}

/// Sums per `usage_rollups` row.
#[derive(Default)]
pub(super) struct Sums {
    names: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
    rows: FxHashMap<Quarter, RowSums>,
    /// Raw events that could not be read (a value of the wrong type, text
    /// that is not UTF-8) and were skipped instead of stopping the count.
    pub(super) skipped: u64,
}

impl Sums {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// Adds one event's totals to the row of `k`.
    fn add_key(&mut self, k: &RollupKey<'_>, t: RowSums) {
        let texts = [
            self.intern(k.provider),
            self.intern(k.routed),
            self.intern(k.canonical),
            self.intern(k.app),
            self.intern(k.end_user),
            self.intern(k.tags),
        ];
        let q = Quarter {
            org: k.org,
            bucket: k.bucket,
            api_key: k.api_key,
            project: k.project,
            created_by: k.created_by,
            texts,
            status: k.status,
        };
        match self.rows.entry(q) {
            std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().add(&t),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(t);
            }
        }
    }

    /// Adds a raw event read as [`COLUMNS`] select it.
    pub(super) fn add_row(&mut self, r: &Row<'_>) -> rusqlite::Result<()> {
        let started_at: i64 = r.get(0)?;
        let k = RollupKey {
            org: r.get(const { at(Col::Org) })?,
            bucket: started_at.div_euclid(BUCKET_MS),
            api_key: r.get(const { at(Col::ApiKey) })?,
            provider: text(r, const { at(Col::Provider) })?,
            routed: text(r, const { at(Col::Routed) })?,
            canonical: text(r, const { at(Col::Canonical) })?,
            app: text(r, const { at(Col::App) })?,
            end_user: text(r, const { at(Col::EndUser) })?,
            tags: text(r, const { at(Col::Tags) })?,
            status: r.get::<_, Option<i64>>(const { at(Col::Status) })?.unwrap_or(0),
            project: r.get(const { at(Col::Project) })?,
            created_by: r.get(const { at(Col::CreatedBy) })?,
        };
        let mut t = UsageTotals {
            requests: 1,
            ..UsageTotals::default()
        };
        for (i, m) in MEASURES.iter().enumerate().skip(1) {
            (m.set)(&mut t, r.get(FIRST_SUM + i - 1)?);
        }
        let mut latencies = Latencies::default();
        for (i, h) in HISTOGRAMS.iter().enumerate() {
            if let Some(us) = r.get::<_, Option<i64>>(FIRST_HIST + i)? {
                (h.get_mut)(&mut latencies).record(u64::try_from(us).unwrap_or(0));
            }
        }
        self.add_key(&k, RowSums { totals: t, latencies });
        Ok(())
    }

    /// How many `usage_rollups` rows the sums fill.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    fn text(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    /// Adds events.
    pub(super) fn add(&mut self, events: &[ActivityEvent]) {
        for e in events {
            self.add_key(&RollupKey::of(e), RowSums::of(e));
        }
    }

    /// The sums keyed by numbers that sort as SQLite sorts the stored
    /// values, in `usage_rollups` key order.
    /// The rows move out: the sums are left without any (they are written once).
    pub(super) fn keyed(&mut self) -> Keyed<'_> {
        let held = std::mem::take(&mut self.rows);
        let mut order: Vec<u32> = (0..u32::try_from(self.names.len()).unwrap_or(u32::MAX)).collect();
        order.sort_unstable_by(|a, b| self.text(*a).cmp(self.text(*b)));
        let mut rank = vec![0_u32; order.len()];
        for (r, id) in order.iter().enumerate() {
            if let Some(slot) = rank.get_mut(*id as usize) {
                *slot = u32::try_from(r).unwrap_or(u32::MAX);
            }
        }
        let rank_of = |id: u32| u128::from(rank.get(id as usize).copied().unwrap_or(0));
        let mut rows: Vec<(Key, RowSums)> = held
            .into_iter()
            .map(|(q, t)| {
                let key = Key {
                    org: q.org.as_u128(),
                    bucket: q.bucket,
                    api_key: q.api_key.as_u128(),
                    provider: rank_of(q.texts[0]),
                    routed: rank_of(q.texts[1]),
                    canonical: rank_of(q.texts[2]),
                    app: rank_of(q.texts[3]),
                    end_user: rank_of(q.texts[4]),
                    tags: rank_of(q.texts[5]),
                    status: int_key(q.status),
                    project: q.project.as_u128(),
                    created_by: q.created_by.as_u128(),
                };
                (key, t)
            })
            .collect();
        rows.sort_unstable_by_key(|(k, _)| {
            (
                (k.org, k.bucket, k.api_key, k.provider, k.routed, k.canonical, k.app),
                (k.end_user, k.tags, k.status),
            )
        });
        Keyed {
            texts: order.iter().map(|id| self.text(*id)).collect(),
            rows,
        }
    }

    /// The sums grouped as `q` asks, for sums of events already within
    /// `q`'s scope and range (as `activity::add_tail` selects them). When
    /// `q` groups by periods, a row is labelled with its period's start.
    pub(super) fn usage(&self, q: &UsageQuery) -> Rows {
        self.grouped(q, |s| &s.totals, UsageTotals::add)
    }

    /// The histograms grouped as `q` asks, as [`Sums::usage`] groups the totals.
    pub(super) fn latencies(&self, q: &UsageQuery) -> Rows<Latencies> {
        self.grouped(q, |s| &s.latencies, Latencies::merge)
    }

    fn grouped<V: Default + Clone>(
        &self,
        q: &UsageQuery,
        part: impl Fn(&RowSums) -> &V,
        add: impl Fn(&mut V, &V),
    ) -> Rows<V> {
        let periods = Periods::new(q.from_bucket, q.to_bucket, &q.cuts);
        let mut out: FxHashMap<Vec<DimValue>, V> = FxHashMap::default();
        for (row, t) in &self.rows {
            let text = |i: usize| {
                let s = self.text(row.texts[i]);
                DimValue::Text((!s.is_empty()).then(|| s.to_owned()))
            };
            let key = q
                .group_by
                .iter()
                .map(|d| match d {
                    Dim::Bucket if q.cuts.is_empty() => DimValue::Bucket(row.bucket),
                    Dim::Bucket => DimValue::Bucket(periods.start_of(row.bucket)),
                    Dim::Provider => text(0),
                    Dim::RoutedModel => text(1),
                    Dim::CanonicalModel => text(2),
                    Dim::App => text(3),
                    Dim::EndUser => text(4),
                    Dim::Tags => text(5),
                    Dim::Status => DimValue::Int(row.status),
                    Dim::ApiKey => DimValue::Id(row.api_key),
                    Dim::Member => DimValue::Id(row.created_by),
                    Dim::Project => DimValue::Id(row.project),
                })
                .collect();
            add(out.entry(key).or_default(), part(t));
        }
        out.into_iter().collect()
    }
}

/// An integer dimension as a key number (every one is non-negative: a status,
/// a bin), so that it sorts as SQLite sorts the stored integer.
fn int_key(v: i64) -> u128 {
    u128::try_from(v).unwrap_or(0)
}

/// A `usage_rollups` key, every column a number that sorts as SQLite sorts
/// the stored value: ids as big-endian integers (blobs compare bytewise),
/// texts as their rank among the texts written ([`Keyed::texts`]), integers
/// as themselves.
#[derive(Debug, Clone, Copy)]
pub(super) struct Key {
    pub org: u128,
    pub bucket: i64,
    pub api_key: u128,
    pub provider: u128,
    pub routed: u128,
    pub canonical: u128,
    pub app: u128,
    pub end_user: u128,
    pub tags: u128,
    pub status: u128,
    pub project: u128,
    pub created_by: u128,
}

/// Sums ready to write, in `usage_rollups` key order.
pub(super) struct Keyed<'a> {
    /// Every text, by rank.
    pub texts: Vec<&'a str>,
    pub rows: Vec<(Key, RowSums)>,
}

impl Keyed<'_> {
    /// The text of rank `rank`.
    pub(super) fn text(&self, rank: u128) -> &str {
        usize::try_from(rank)
            .ok()
            .and_then(|r| self.texts.get(r))
            .copied()
            .unwrap_or("")
    }
}
