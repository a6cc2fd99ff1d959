//! Rollup sums in memory, per `usage_rollups` row: what the rollup writer
//! (`flusher.rs`) adds up from raw events before it writes every rollup
//! table from them, and what a read adds up from the raw events the rollups
//! do not count yet (the tail after the watermark).

use rusqlite::Transaction;
use rustc_hash::FxHashMap;
use tally_core::{ActivityEvent, UsageTotals};
use uuid::Uuid;

use crate::rollup_key::{RollupKey, sum_by_key};
use crate::{Dim, DimValue, Scope, UsageQuery};

/// Analytics rows: group values and their totals.
pub(super) type Rows = Vec<(Vec<DimValue>, UsageTotals)>;

/// A `usage_rollups` key with its texts interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Quarter {
    org: Uuid,
    bucket: i64,
    api_key: Uuid,
    project: Uuid,
    created_by: Uuid,
    /// provider, routed model, canonical model, app
    texts: [u32; 4],
}

/// Sums per `usage_rollups` row.
#[derive(Default)]
pub(super) struct Sums {
    names: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
    rows: FxHashMap<Quarter, UsageTotals>,
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

    /// Adds events.
    pub(super) fn add(&mut self, events: &[ActivityEvent]) {
        for e in events {
            let k = RollupKey::of(e);
            let texts = [
                self.intern(k.provider),
                self.intern(k.routed),
                self.intern(k.canonical),
                self.intern(k.app),
            ];
            let q = Quarter {
                org: k.org,
                bucket: k.bucket,
                api_key: k.api_key,
                project: k.project,
                created_by: k.created_by,
                texts,
            };
            self.rows.entry(q).or_default().add(&UsageTotals::of(e));
        }
    }

    /// How many `usage_rollups` rows the sums fill.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    fn text(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    fn key(&self, q: &Quarter) -> RollupKey<'_> {
        RollupKey {
            org: q.org,
            bucket: q.bucket,
            api_key: q.api_key,
            provider: self.text(q.texts[0]),
            routed: self.text(q.texts[1]),
            canonical: self.text(q.texts[2]),
            app: self.text(q.texts[3]),
            project: q.project,
            created_by: q.created_by,
        }
    }

    /// Adds the sums to every rollup table (call inside a transaction).
    pub(super) fn write(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        let mut rows: Vec<(RollupKey<'_>, UsageTotals)> = self.rows.iter().map(|(q, t)| (self.key(q), *t)).collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        write_rows(tx, &rows)
    }

    /// The sums within `q`'s scope and range, grouped as `q` asks. When
    /// `q` groups by periods, a row is labelled with its period's start.
    pub(super) fn usage(&self, q: &UsageQuery) -> Rows {
        let points = super::shapes::period_points(q.from_bucket, q.to_bucket, &q.cuts);
        let mut out: FxHashMap<Vec<DimValue>, UsageTotals> = FxHashMap::default();
        for (row, t) in &self.rows {
            let inside = match &q.scope {
                Scope::Org(o) => row.org == *o.as_uuid(),
                Scope::Project(p) => row.project == *p.as_uuid(),
                Scope::ApiKey(k) => row.api_key == *k.as_uuid(),
                Scope::Member(o, u) => row.org == *o.as_uuid() && row.created_by == *u.as_uuid(),
            };
            if !inside || row.bucket < q.from_bucket || row.bucket >= q.to_bucket {
                continue;
            }
            let text = |i: usize| {
                let s = self.text(row.texts[i]);
                DimValue::Text((!s.is_empty()).then(|| s.to_owned()))
            };
            let key = q
                .group_by
                .iter()
                .map(|d| match d {
                    Dim::Bucket if q.cuts.is_empty() => DimValue::Bucket(row.bucket),
                    Dim::Bucket => DimValue::Bucket(super::shapes::period_start(&points, row.bucket)),
                    Dim::Provider => text(0),
                    Dim::RoutedModel => text(1),
                    Dim::CanonicalModel => text(2),
                    Dim::App => text(3),
                    Dim::ApiKey => DimValue::Id(row.api_key),
                    Dim::Member => DimValue::Id(row.created_by),
                    Dim::Project => DimValue::Id(row.project),
                })
                .collect();
            out.entry(key).or_default().add(t);
        }
        out.into_iter().collect()
    }
}

/// Adds summed `usage_rollups` rows to every rollup table (call inside a transaction).
pub(super) fn write_rows(tx: &Transaction<'_>, rows: &[(RollupKey<'_>, UsageTotals)]) -> rusqlite::Result<()> {
    super::rollups::add_rows(tx, rows)?;
    super::shapes::add_rows(tx, rows)?;
    super::local_days::add_rows(tx, rows)
}

/// Sums events per `usage_rollups` row and adds them to every rollup table.
pub(super) fn write_events(tx: &Transaction<'_>, events: &[ActivityEvent]) -> rusqlite::Result<()> {
    let rows: Vec<_> = sum_by_key(events).into_iter().collect();
    write_rows(tx, &rows)
}
