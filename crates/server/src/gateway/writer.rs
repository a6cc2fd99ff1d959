//! Recording off the request path: a bounded queue feeding one batch
//! writer. Whatever is waiting when a write starts goes into that write (a
//! group commit), so batches grow with load and an idle event is written at
//! once. A full queue makes senders wait (backpressure); nothing is dropped.
//! A failed write is retried until it succeeds. After a second without
//! events, and once more when it ends, the writer asks the store to bring
//! what it writes behind the events up to date (the embedded store's
//! rollups). The writer ends once every sender is gone and the queue is empty.

use std::sync::Arc;
use std::time::Duration;

use tally_core::ActivityEvent;
use tally_store::ActivityStore;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Events waiting at most; a full queue applies backpressure.
pub const DEFAULT_QUEUE: usize = 16_384;
/// Events written in one transaction at most.
pub const MAX_BATCH: usize = 16_384;
/// After this long without events the store is asked to catch up.
const IDLE: Duration = Duration::from_secs(1);

/// The sending side, cloned into every request.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<ActivityEvent>,
}

/// The writer task; [`WriterHandle::drained`] waits for the queue to empty.
pub struct WriterHandle {
    task: JoinHandle<()>,
}

impl Recorder {
    pub fn start(store: Arc<dyn ActivityStore>, capacity: usize) -> (Recorder, WriterHandle) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let task = tokio::spawn(run(store, rx));
        (Recorder { tx }, WriterHandle { task })
    }

    /// Queues an event, waiting while the queue is full.
    pub async fn record(&self, event: ActivityEvent) {
        if let Err(mpsc::error::SendError(event)) = self.tx.send(event).await {
            // Only after the writer has stopped, which happens after shutdown
            // has drained every sender; log loudly rather than lose silently.
            tracing::error!(id = %event.id, "activity writer is gone; event not recorded");
        }
    }

    /// Queues an event from a place that cannot wait (a `Drop`): at once when
    /// there is room, else from a task that waits for room.
    pub fn record_detached(&self, event: ActivityEvent) {
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => {
                let this = self.clone();
                tokio::spawn(async move { this.record(event).await });
            }
            Err(mpsc::error::TrySendError::Closed(event)) => {
                tracing::error!(id = %event.id, "activity writer is gone; event not recorded");
            }
        }
    }
}

impl WriterHandle {
    /// Waits until every [`Recorder`] is dropped and every queued event written.
    pub async fn drained(self) {
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "activity writer failed");
        }
    }
}

async fn run(store: Arc<dyn ActivityStore>, mut rx: mpsc::Receiver<ActivityEvent>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        match tokio::time::timeout(IDLE, rx.recv_many(&mut batch, MAX_BATCH)).await {
            Ok(0) => break,
            Ok(_) => {
                write(store.as_ref(), &batch).await;
                batch.clear();
            }
            Err(_) => flush(store.as_ref()).await,
        }
    }
    flush(store.as_ref()).await;
    tracing::debug!("activity writer drained");
}

/// Brings the store's rollups up to date, once idle or stopping.
async fn flush(store: &dyn ActivityStore) {
    if let Err(e) = store.flush().await {
        // Nothing is lost: the events stay, and the store tries again.
        tracing::error!(error = %e, "bringing the rollups up to date failed");
    }
}

async fn write(store: &dyn ActivityStore, batch: &[ActivityEvent]) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match store.record(batch.to_vec()).await {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "writing activity failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
