//! The rollup writer. Raw events are committed to the main file by the
//! store's writer; this thread, with a connection of its own to each file,
//! writes them into the rollups' file (`../rollup_file.rs`) in rowid order and
//! moves the watermark in the same transaction. SQLite has one writer per
//! file, so the two run side by side, each on its own core.
//!
//! The store's writer, right after each commit, adds the batch to sums held
//! in memory here ([`Flusher::hold`]); this thread writes them when
//! [`MAX_ROWS`] rows or [`MAX_HELD`] events are held or the oldest is
//! [`MAX_AGE`] old, so a row updated by many batches is written once. Held
//! sums are a cache: they are written only when they cover exactly the
//! events after the watermark (contiguous rowids, nobody else counted them);
//! otherwise those events are read back from the raw table and counted from
//! there, as is every event a crash or another process left after the
//! watermark.
//!
//! Nothing waits for the rollups to be seen: a read adds the raw events
//! after the watermark to what the rollups give (`read/`).
//! That tail is bounded: when more than [`MAX_BACKLOG`] committed events are
//! not counted yet, the store's writer waits for this thread (backpressure,
//! as with a full queue), so reads stay fast under any load. Every store on
//! the file runs one; they take turns through the rollups file's write lock,
//! and each reads the watermark inside its own write transaction, so none
//! counts an event twice.

use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use tally_core::ActivityEvent;

use super::write::write;
use crate::StoreResult;
use crate::sqlite::sums::Sums;
use crate::sqlite::{conn, rollup_file, state};

/// Raw events read back at a time.
const PIECE: usize = 16_384;
/// Events read back in one transaction at most, so a long backlog commits as it goes.
const CHUNK: u64 = 200_000;
/// Rollup rows summed in memory at most before they are written.
const MAX_ROWS: usize = 300_000;
/// Events held at most before their sums are written.
const MAX_HELD: i64 = 400_000;
/// The longest a batch's sums are held before they are written.
const MAX_AGE: Duration = Duration::from_secs(2);
/// Committed events not yet counted at most before the writer waits.
const MAX_BACKLOG: i64 = 2 * MAX_HELD;
/// How often the thread looks whether the held sums are due.
const TICK: Duration = Duration::from_millis(50);
/// After this long without new events the thread also counts what others
/// left after the watermark (another process may write to the same file).
const IDLE: Duration = Duration::from_secs(1);

/// Wakes the rollup writer; dropping it ends the thread after a last catch-up.
pub(in crate::sqlite) struct Flusher {
    shared: Arc<Shared>,
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// The rollups' file, for writing.
    rollups: Mutex<Connection>,
    /// The main file, for reading raw events.
    events: Mutex<Connection>,
    /// Sums of batches committed but not yet written.
    held: Mutex<Held>,
    /// The watermark as this process last saw it.
    counted: AtomicI64,
    /// Raw events skipped because they could not be counted.
    skipped: AtomicU64,
    /// Notified when `counted` moves; waited on under `waiting`.
    moved: Condvar,
    waiting: Mutex<()>,
}

/// Sums of consecutive batches, held until they are written.
#[derive(Default)]
struct Held {
    sums: Sums,
    /// The batches cover the rowids `from + 1 ..= to`.
    from: i64,
    to: i64,
    /// False once a batch did not follow the previous one: the sums are
    /// no longer kept and the events are read back instead.
    contiguous: bool,
    since: Option<Instant>,
}

impl Held {
    fn is_empty(&self) -> bool {
        self.since.is_none()
    }

    fn due(&self) -> bool {
        self.sums.len() >= MAX_ROWS
            || self.to - self.from >= MAX_HELD
            || self.since.is_some_and(|s| s.elapsed() >= MAX_AGE)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here panics while holding a lock; if something did, a
    // connection's open transaction rolls back when its guard drops, and
    // held sums are only written when they start at the watermark.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Flusher {
    pub(in crate::sqlite) fn start(rollups: Connection, main_path: &Path) -> StoreResult<Flusher> {
        let counted = state::watermark(&rollups)?;
        let shared = Arc::new(Shared {
            rollups: Mutex::new(rollups),
            events: Mutex::new(conn::connect(main_path)?),
            held: Mutex::new(Held::default()),
            counted: AtomicI64::new(counted),
            skipped: AtomicU64::new(0),
            moved: Condvar::new(),
            waiting: Mutex::new(()),
        });
        let (wake, rx) = sync_channel(1);
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("tally-rollups".into())
                .spawn(move || run(&shared, &rx))
                .map_err(|e| crate::StoreError::Database(format!("cannot start the rollup writer: {e}")))?
        };
        Ok(Flusher {
            shared,
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Holds the sums of a batch just committed with the rowids
    /// `first..=last`; call in commit order (under the store's writer lock).
    pub(in crate::sqlite) fn hold(&self, events: &[ActivityEvent], (first, last): (i64, i64)) {
        if events.is_empty() {
            return;
        }
        let mut held = lock(&self.shared.held);
        if held.is_empty() {
            *held = Held {
                from: first - 1,
                to: first - 1,
                contiguous: true,
                since: Some(Instant::now()),
                ..Held::default()
            };
        }
        if held.contiguous && first == held.to + 1 {
            held.sums.add(events);
        } else if held.contiguous {
            held.contiguous = false;
            held.sums = Sums::default();
        }
        held.to = held.to.max(last);
    }

    /// New raw events are committed: look at them soon.
    pub(in crate::sqlite) fn nudge(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }

    /// Whether the events up to rowid `newest` leave too many uncounted.
    pub(in crate::sqlite) fn behind(&self, newest: i64) -> bool {
        newest - self.shared.counted.load(Ordering::Acquire) > MAX_BACKLOG
    }

    /// Waits (blocking) until at most half of [`MAX_BACKLOG`] of the events
    /// up to rowid `newest` are left to count.
    pub(in crate::sqlite) fn keep_up(&self, newest: i64) {
        let mut guard = self
            .shared
            .waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while newest - self.shared.counted.load(Ordering::Acquire) > MAX_BACKLOG / 2 {
            self.nudge();
            guard = match self.shared.moved.wait_timeout(guard, Duration::from_millis(100)) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Raw events skipped (logged, never counted) because they could not be
    /// read, since this store opened; a recount skips them again.
    pub(in crate::sqlite) fn skipped(&self) -> u64 {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// Counts every committed raw event into the rollups now; returns the
    /// watermark reached.
    pub(in crate::sqlite) fn catch_up(&self) -> rusqlite::Result<i64> {
        catch_up(&self.shared)
    }

    /// Runs `f` on the rollups' connection, between catch-ups.
    pub(in crate::sqlite) fn with_rollups<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        f(&mut lock(&self.shared.rollups))
    }

    /// Empties every rollup table and counts every raw event again, in one
    /// transaction; returns the rows written.
    pub(in crate::sqlite) fn recount(&self) -> rusqlite::Result<u64> {
        let mut rollups = lock(&self.shared.rollups);
        let events = lock(&self.shared.events);
        let tx = rollups.transaction_with_behavior(TransactionBehavior::Immediate)?;
        rollup_file::clear(&tx)?;
        let (watermark, skipped) = count_through(&tx, &events, 0, i64::MAX)?;
        let rows = rollup_file::rows(&tx)?;
        tx.commit()?;
        self.shared.skipped.fetch_add(skipped, Ordering::Relaxed);
        moved(&self.shared, watermark);
        Ok(rows)
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the rollup writer panicked; the next start counts what it left");
        }
    }
}

fn run(shared: &Shared, rx: &Receiver<()>) {
    let mut last_nudge = Instant::now();
    let mut idle_done = false;
    loop {
        match rx.recv_timeout(TICK) {
            Ok(()) => {
                last_nudge = Instant::now();
                idle_done = false;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                last_catch_up(shared);
                return;
            }
        }
        let due = lock(&shared.held).due();
        let result = if due {
            write_held(shared).map(|_| ())
        } else if !idle_done && last_nudge.elapsed() >= IDLE {
            idle_done = true;
            catch_up(shared).map(|_| ())
        } else {
            Ok(())
        };
        if let Err(e) = result {
            // Nothing is lost: the events stay after the watermark.
            tracing::error!(error = %e, "counting events into the rollups failed; retrying");
        }
    }
}

fn last_catch_up(shared: &Shared) {
    if let Err(e) = catch_up(shared) {
        tracing::error!(error = %e, "counting events into the rollups at close failed; the next start does it");
    }
}

/// Writes the held sums, then counts whatever else is after the watermark
/// from the raw events, in transactions of at most [`CHUNK`] events;
/// returns the watermark reached.
fn catch_up(shared: &Shared) -> rusqlite::Result<i64> {
    write_held(shared)?;
    let mut rollups = lock(&shared.rollups);
    let events = lock(&shared.events);
    loop {
        let tx = rollups.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (n, watermark, skipped) = count_after(&tx, &events, state::watermark(&tx)?, i64::MAX)?;
        if n > 0 {
            tx.commit()?;
            shared.skipped.fetch_add(skipped, Ordering::Relaxed);
        } else {
            drop(tx);
        }
        moved(shared, watermark);
        if n < CHUNK {
            // Spans of days a write has not completed yet (as in a file
            // just migrated to them) are completed now.
            let tx = rollups.transaction_with_behavior(TransactionBehavior::Immediate)?;
            super::spans::catch_up(&tx)?;
            tx.commit()?;
            return Ok(watermark);
        }
    }
}

fn moved(shared: &Shared, watermark: i64) {
    shared.counted.fetch_max(watermark, Ordering::AcqRel);
    shared.moved.notify_all();
}

/// Writes the sums held (or, when they do not start at the watermark, reads
/// their events back); returns the watermark reached.
fn write_held(shared: &Shared) -> rusqlite::Result<i64> {
    let mut rollups = lock(&shared.rollups);
    let mut held = std::mem::take(&mut *lock(&shared.held));
    if held.is_empty() {
        return Ok(shared.counted.load(Ordering::Acquire));
    }
    let tx = rollups.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut watermark = state::watermark(&tx)?;
    let mut skipped = 0;
    if held.contiguous && watermark == held.from {
        write(&tx, &mut held.sums)?;
        rollup_file::set_watermark(&tx, held.to)?;
        watermark = held.to;
    } else if watermark < held.to {
        (watermark, skipped) = count_through(&tx, &lock(&shared.events), watermark, held.to)?;
    }
    tx.commit()?;
    shared.skipped.fetch_add(skipped, Ordering::Relaxed);
    moved(shared, watermark);
    Ok(watermark)
}

/// Adds every raw event with a rowid after `after` and up to `upto` to the
/// rollups, inside `tx`, [`CHUNK`] at a time; returns the new watermark and
/// the events skipped.
fn count_through(tx: &Transaction<'_>, events: &Connection, after: i64, upto: i64) -> rusqlite::Result<(i64, u64)> {
    let (mut watermark, mut skipped) = (after, 0);
    loop {
        let (n, w, s) = count_after(tx, events, watermark, upto)?;
        (watermark, skipped) = (w, skipped + s);
        if n < CHUNK {
            return Ok((watermark, skipped));
        }
    }
}

/// Adds up to [`CHUNK`] raw events with rowids after `after` and up to
/// `upto` to the rollups and moves the watermark past them, inside `tx`;
/// returns the events read, the new watermark and the events skipped (an
/// event that cannot be read is logged and passed over, never retried
/// forever: it would hold back every later one).
fn count_after(tx: &Transaction<'_>, events: &Connection, after: i64, upto: i64) -> rusqlite::Result<(u64, i64, u64)> {
    let mut sums = Sums::default();
    let (mut counted, mut watermark, mut skipped) = (0_u64, after, 0);
    while counted < CHUNK {
        let (n, last) = super::events::add_after(events, watermark, upto, PIECE, &mut sums)?;
        counted += n as u64;
        watermark = last;
        if sums.len() >= MAX_ROWS {
            write(tx, &mut sums)?;
            skipped += sums.skipped;
            sums = Sums::default();
        }
        if n < PIECE {
            break;
        }
    }
    if counted > 0 {
        write(tx, &mut sums)?;
        rollup_file::set_watermark(tx, watermark)?;
    }
    Ok((counted, watermark, skipped + sums.skipped))
}
