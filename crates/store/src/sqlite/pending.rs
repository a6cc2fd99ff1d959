//! Deferred rollups. Updating a dozen rollup tables for every batch costs far
//! more than writing its raw events, and most of that work repeats: the same
//! rows are updated batch after batch. So the process that owns the database
//! file (see [`super::SqliteStore::open_file`]) commits each batch's raw
//! events at once, holds the batch's sums in memory (summed per
//! `usage_rollups` row) and writes every table from them in one flush, when
//! [`MAX_ROWS`] rows are held or the oldest is [`MAX_AGE`] old, when the
//! writer goes idle, and when the store closes.
//!
//! Nothing waits to be seen: every analytics read adds the held sums to what
//! it reads. Each flush bumps `deferred_flushes.generation` in its transaction
//! and the held sums carry the generation they belong to, so a reader pairs
//! its snapshot with the right sums: the same generation adds them, a flush
//! committed but not yet forgotten adds nothing, and a snapshot older than
//! the sums is taken again. A flush writes without holding the lock readers
//! take, so reads never wait for it.
//!
//! Nothing is lost in a crash: each deferred batch records the rowids of its
//! raw events in `deferred_batches` in its own transaction; the flush deletes
//! those rows in its transaction; opening the store replays whatever a crash
//! left there. A rebuild leaves the backlog's events out, since the owner
//! still holds their sums. Limits: `VACUUM` renumbers rowids, so do not run
//! it on a database left by a crash before tally has opened it once; and a
//! prune by another process that deletes events the owner still holds
//! (only events older than the prune's cutoff, that is, a backfill) loses
//! them from the rollups if the owner then dies before its flush.
//!
//! Other stores on the same file (another process, or a second store in
//! this one) write rollups with each batch and do not see the owner's held
//! sums until it flushes.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, params};
use rustc_hash::FxHashMap;
use tally_core::{ActivityEvent, UsageTotals};
use uuid::Uuid;

use crate::rollup_key::{RollupKey, sum_by_key};
use crate::{Dim, DimValue, Scope, UsageQuery};

/// Analytics rows: group values and their totals.
type Rows = Vec<(Vec<DimValue>, UsageTotals)>;

/// Rows held at most before a flush.
pub(super) const MAX_ROWS: usize = 200_000;
/// The longest a batch's sums are held before a flush.
pub(super) const MAX_AGE: Duration = Duration::from_secs(2);

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

/// The held sums and the flush generation they will be written by.
pub(super) struct Pending {
    generation: i64,
    held: Arc<Held>,
}

/// The sums held in memory, per `usage_rollups` row.
#[derive(Default, Clone)]
pub(super) struct Held {
    names: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
    rows: FxHashMap<Quarter, UsageTotals>,
    since: Option<Instant>,
}

impl Held {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// Holds the sums of a batch whose raw events were just committed.
    fn hold(&mut self, events: &[ActivityEvent]) {
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
        self.since.get_or_insert_with(Instant::now);
    }

    /// Whether the held sums should be written now.
    fn due(&self) -> bool {
        self.rows.len() >= MAX_ROWS || self.since.is_some_and(|s| s.elapsed() >= MAX_AGE)
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

    /// Writes every held sum into every rollup table, empties the backlog
    /// and counts the flush, inside `tx`.
    fn write(&self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        let mut rows: Vec<(RollupKey<'_>, UsageTotals)> = self.rows.iter().map(|(q, t)| (self.key(q), *t)).collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        write_rows(tx, &rows)?;
        tx.execute("DELETE FROM deferred_batches", [])?;
        tx.execute("UPDATE deferred_flushes SET generation = generation + 1", [])?;
        Ok(())
    }

    /// The held sums within `q`'s scope and range, grouped as `q` asks. When
    /// `q` groups by periods, a row is labelled with its period's start.
    fn usage(&self, q: &UsageQuery) -> Rows {
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

/// Records that the events with rowids `first..=last` are held in memory
/// (inside the transaction that inserted them).
pub(super) fn note_backlog(tx: &Transaction<'_>, first: i64, last: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO deferred_batches (first_rowid, last_rowid) VALUES (?1, ?2)")?
        .execute(params![first, last])?;
    Ok(())
}

/// Adds the events a crash left in the backlog to the rollups and empties
/// it. Returns the events replayed.
pub(super) fn replay(c: &mut Connection) -> rusqlite::Result<u64> {
    let tx = c.transaction()?;
    let ranges: Vec<(i64, i64)> = tx
        .prepare("SELECT first_rowid, last_rowid FROM deferred_batches ORDER BY first_rowid")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut replayed = 0;
    for (first, last) in ranges {
        let events = super::activity::events_between(&tx, first, last)?;
        replayed += events.len() as u64;
        write_events(&tx, &events)?;
    }
    tx.execute("DELETE FROM deferred_batches", [])?;
    tx.commit()?;
    Ok(replayed)
}

fn lock(p: &Mutex<Pending>) -> MutexGuard<'_, Pending> {
    // The state stays consistent whatever panicked while holding the lock:
    // every change to it is one assignment.
    p.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn generation(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("SELECT generation FROM deferred_flushes", [], |r| r.get(0))
}

impl Pending {
    /// Nothing held, at the generation the database is at (after [`replay`]).
    pub(super) fn open(c: &Connection) -> rusqlite::Result<Pending> {
        Ok(Pending {
            generation: generation(c)?,
            held: Arc::default(),
        })
    }
}

/// Commits `tx`, which inserted `events` as the rowids `first..=last`, with
/// their rollups deferred: noted in the backlog and held, or written along
/// with everything held when a flush is due.
pub(super) fn commit_deferred(
    tx: Transaction<'_>,
    pending: &Mutex<Pending>,
    events: &[ActivityEvent],
    (first, last): (i64, i64),
) -> rusqlite::Result<()> {
    if events.is_empty() {
        return tx.commit();
    }
    let held = lock(pending).held.clone();
    if held.due() {
        held.write(&tx)?;
        write_events(&tx, events)?;
        tx.commit()?;
        drop(held);
        forget(pending);
    } else {
        note_backlog(&tx, first, last)?;
        tx.commit()?;
        drop(held);
        let mut p = lock(pending);
        Arc::make_mut(&mut p.held).hold(events);
    }
    Ok(())
}

/// Writes everything held (the writer went idle, or the store closes).
pub(super) fn flush(c: &mut Connection, pending: &Mutex<Pending>) -> rusqlite::Result<()> {
    let held = lock(pending).held.clone();
    if held.rows.is_empty() {
        return Ok(());
    }
    let tx = c.transaction()?;
    held.write(&tx)?;
    tx.commit()?;
    drop(held);
    forget(pending);
    Ok(())
}

/// After a flush committed: the sums are on disk, at the next generation.
fn forget(pending: &Mutex<Pending>) {
    let mut p = lock(pending);
    p.generation += 1;
    p.held = Arc::default();
}

/// The held sums that belong with the snapshot `tx` is reading, or `None`
/// when the snapshot is older than them (read again).
pub(super) fn held_for(
    tx: &Transaction<'_>,
    pending: &Mutex<Pending>,
    q: &UsageQuery,
) -> rusqlite::Result<Option<Rows>> {
    let on_disk = generation(tx)?;
    let p = lock(pending);
    Ok(if p.generation == on_disk {
        Some(p.held.usage(q))
    } else if p.generation + 1 == on_disk {
        // Flushed, not yet forgotten: the snapshot has them.
        Some(Vec::new())
    } else {
        None
    })
}
