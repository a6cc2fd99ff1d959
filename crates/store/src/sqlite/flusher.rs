//! The rollup writer. Raw events are committed to the main file by the
//! store's writer and nothing else; this thread, with a connection of its
//! own to each file, counts them into the rollups' file (`rollup_file.rs`)
//! shortly after, in rowid order, and moves the watermark in the same
//! transaction. SQLite has one writer per file, so the two run side by
//! side, each on its own core.
//!
//! Nothing waits for it to be seen: a read adds the raw events after the
//! watermark to what the rollups give (`usage` in `rollups.rs`). Nothing is
//! lost in a crash either: the watermark commits with the sums, and the
//! next catch-up starts from it. Every store on the file runs one; they
//! take turns through the rollups file's write lock, and each reads the
//! watermark inside its own write transaction, so none counts an event twice.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::sums::Sums;
use crate::StoreResult;

/// Raw events read at a time.
const PIECE: usize = 16_384;
/// Events counted in one transaction at most, so a long backlog commits as it goes.
const CHUNK: u64 = 1_000_000;
/// Rollup rows summed in memory at most before they are written.
const MAX_ROWS: usize = 100_000;
/// Catch-ups this far apart at least: the nudges of many small batches are
/// folded into one, which also sums more events per rollup row.
const MIN_INTERVAL: Duration = Duration::from_millis(200);
/// Without a nudge the thread still looks this often (another process may
/// write events to the same file).
const IDLE: Duration = Duration::from_secs(1);

/// Wakes the rollup writer; dropping it ends the thread after a last catch-up.
pub(super) struct Flusher {
    shared: Arc<Shared>,
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// The rollups' file, for writing.
    rollups: Mutex<Connection>,
    /// The main file, for reading raw events.
    events: Mutex<Connection>,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A connection stays usable whatever panicked while holding it: an open
    // transaction is rolled back when its guard drops.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Flusher {
    pub(super) fn start(rollups: Connection, main_path: &Path) -> StoreResult<Flusher> {
        let shared = Arc::new(Shared {
            rollups: Mutex::new(rollups),
            events: Mutex::new(super::connect(main_path)?),
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

    /// New raw events are committed: count them soon.
    pub(super) fn nudge(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }

    /// Counts every committed raw event into the rollups now; returns the
    /// watermark reached.
    pub(super) fn catch_up(&self) -> rusqlite::Result<i64> {
        catch_up(&self.shared)
    }

    /// Runs `f` on the rollups' connection, between catch-ups.
    pub(super) fn with_rollups<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        f(&mut lock(&self.shared.rollups))
    }

    /// Empties every rollup table and counts every raw event again, in one
    /// transaction; returns the rows written.
    pub(super) fn recount(&self) -> rusqlite::Result<u64> {
        let mut rollups = lock(&self.shared.rollups);
        let events = lock(&self.shared.events);
        let tx = rollups.transaction_with_behavior(TransactionBehavior::Immediate)?;
        super::rollup_file::clear(&tx)?;
        let mut watermark = 0;
        loop {
            let (n, w) = count_after(&tx, &events, watermark)?;
            watermark = w;
            if n < CHUNK {
                break;
            }
        }
        let rows = super::rollup_file::rows(&tx)?;
        tx.commit()?;
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
    let mut nudged = false;
    loop {
        if !nudged && matches!(rx.recv_timeout(IDLE), Err(RecvTimeoutError::Disconnected)) {
            last_catch_up(shared);
            return;
        }
        if let Err(e) = catch_up(shared) {
            // Nothing is lost: the events stay after the watermark.
            tracing::error!(error = %e, "counting events into the rollups failed; retrying");
        }
        nudged = false;
        let until = Instant::now() + MIN_INTERVAL;
        loop {
            match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(()) => nudged = true,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    last_catch_up(shared);
                    return;
                }
            }
        }
    }
}

fn last_catch_up(shared: &Shared) {
    if let Err(e) = catch_up(shared) {
        tracing::error!(error = %e, "counting events into the rollups at close failed; the next start does it");
    }
}

/// Counts the raw events after the watermark, in transactions of at most
/// [`CHUNK`] events; returns the watermark reached.
fn catch_up(shared: &Shared) -> rusqlite::Result<i64> {
    let mut rollups = lock(&shared.rollups);
    let events = lock(&shared.events);
    loop {
        let tx = rollups.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (n, watermark) = count_after(&tx, &events, super::rollup_file::watermark(&tx)?)?;
        if n == 0 {
            return Ok(watermark);
        }
        tx.commit()?;
        if n < CHUNK {
            return Ok(watermark);
        }
    }
}

/// Adds up to [`CHUNK`] raw events after rowid `after` to the rollups and
/// moves the watermark past them, inside `tx`; returns the events counted
/// and the new watermark.
fn count_after(tx: &Transaction<'_>, events: &Connection, after: i64) -> rusqlite::Result<(u64, i64)> {
    let mut sums = Sums::default();
    let (mut counted, mut watermark) = (0_u64, after);
    while counted < CHUNK {
        let (n, last) = super::activity::add_after(events, watermark, PIECE, &mut sums)?;
        counted += n as u64;
        watermark = last;
        if sums.len() >= MAX_ROWS {
            sums.write(tx)?;
            sums = Sums::default();
        }
        if n < PIECE {
            break;
        }
    }
    if counted > 0 {
        sums.write(tx)?;
        super::rollup_file::set_watermark(tx, watermark)?;
    }
    Ok((counted, watermark))
}
