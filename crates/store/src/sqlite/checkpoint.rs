//! WAL checkpoints mostly off the writer's path. By default SQLite
//! checkpoints inside every commit that leaves more than 1,000 pages in the
//! log, which under load means copying every page a batch dirtied back into
//! the database file before the next batch can start. Here a thread with its
//! own connection runs PASSIVE checkpoints (which never block the writer)
//! after commits (at most ten a second) and at least once a second, so the copying happens on the
//! other core. Such a checkpoint can lag behind a writer that never pauses,
//! and the log can only start over once one has caught up; so the writer
//! still checkpoints itself when the log passes [`WRITER_CHECKPOINT_PAGES`],
//! by then finding most of it already copied.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use rusqlite::Connection;

use crate::StoreResult;

/// Log size (pages) at which the writer checkpoints itself.
pub(super) const WRITER_CHECKPOINT_PAGES: u32 = 16_384;

/// Wakes the checkpoint thread; dropping it ends the thread after a last checkpoint.
pub(super) struct Checkpointer {
    wake: SyncSender<()>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path) -> StoreResult<Checkpointer> {
        let conn = super::connect(path)?;
        let (wake, rx) = sync_channel(1);
        std::thread::Builder::new()
            .name("tally-checkpoint".into())
            .spawn(move || run(&conn, &rx))
            .map_err(|e| crate::StoreError::Database(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer { wake })
    }

    /// Asks for a checkpoint soon (a request already pending covers this one).
    pub(super) fn nudge(&self) {
        let _ = self.wake.try_send(());
    }
}

/// Checkpoints this far apart at least: each one syncs the log and the
/// database file, so one per commit under many small commits would keep a
/// core busy with syncing; nudges in between are folded into the next one.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

fn run(conn: &Connection, rx: &Receiver<()>) {
    loop {
        let last = matches!(
            rx.recv_timeout(Duration::from_secs(1)),
            Err(RecvTimeoutError::Disconnected)
        );
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
        if last {
            return;
        }
        std::thread::sleep(MIN_INTERVAL);
    }
}
