//! Recording off the request path: a bounded queue feeding one batch
//! writer. Whatever is waiting when a write starts goes into that write (a
//! group commit), so batches grow with load; a write of only a few events
//! first waits up to 2 ms for more ([`GATHER`]), so at moderate rates one
//! commit carries tens of events instead of one or two. A full queue makes
//! senders wait (backpressure); nothing is dropped. A failed write is
//! retried until it succeeds. After a second without events, and once more
//! when it ends, the writer asks the store to bring what it writes behind
//! the events up to date (the embedded store's rollups). The writer ends
//! once every sender is gone and the queue is empty.
//!
//! Captured bodies travel with their events and are written in the same
//! transaction. They never make a request wait longer than its event
//! would: past [`MAX_QUEUED_BODY_BYTES`] waiting, a request's bodies are
//! left out (its event never is), and a write that fails is retried
//! without its bodies, so no body can hold events back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tally_core::ActivityEvent;
use tally_store::{ActivityStore, RequestBodies};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::budgets::Settle;

/// Events waiting at most; a full queue applies backpressure.
pub const DEFAULT_QUEUE: usize = 16_384;
/// Events written in one transaction at most.
pub const MAX_BATCH: usize = 16_384;
/// After this long without events the store is asked to catch up.
const IDLE: Duration = Duration::from_secs(1);
/// How long a small write waits for more events to join it.
const GATHER: Duration = Duration::from_millis(2);
/// A write of fewer events than this waits up to [`GATHER`] for more; a
/// larger one goes at once (the load already shares its commit).
const SMALL_BATCH: usize = 64;
/// Bytes of captured bodies waiting at most (a thousand requests with
/// both bodies at the cap); past it bodies are left out, not waited for.
pub const MAX_QUEUED_BODY_BYTES: usize = 128 * 1024 * 1024;

/// One request's event and, when its project captures them, its bodies.
#[derive(Debug)]
pub struct Recorded {
    pub event: ActivityEvent,
    pub bodies: Option<RequestBodies>,
    /// Its cost on the budgets it counts against, marked committed once
    /// the event is stored.
    pub settle: Option<Settle>,
}

impl From<ActivityEvent> for Recorded {
    fn from(event: ActivityEvent) -> Self {
        Self {
            event,
            bodies: None,
            settle: None,
        }
    }
}

fn size(bodies: &RequestBodies) -> usize {
    bodies.request.len() + bodies.response.len()
}

/// The sending side, cloned into every request.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<Recorded>,
    /// Bytes of bodies queued and not yet written.
    queued_bodies: Arc<AtomicUsize>,
}

/// The writer task; [`WriterHandle::drained`] waits for the queue to empty.
pub struct WriterHandle {
    task: JoinHandle<()>,
}

impl Recorder {
    pub fn start(store: Arc<dyn ActivityStore>, capacity: usize) -> (Recorder, WriterHandle) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let queued_bodies = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(run(store, rx, queued_bodies.clone()));
        (Recorder { tx, queued_bodies }, WriterHandle { task })
    }

    /// Queues an event (and its bodies), waiting while the queue is full.
    pub async fn record(&self, recorded: impl Into<Recorded>) {
        let recorded = self.admit(recorded.into());
        self.send(recorded).await;
    }

    async fn send(&self, recorded: Recorded) {
        if let Err(mpsc::error::SendError(recorded)) = self.tx.send(recorded).await {
            // Only after the writer has stopped, which happens after shutdown
            // has drained every sender; log loudly rather than lose silently.
            tracing::error!(id = %recorded.event.id, "activity writer is gone; event not recorded");
        }
    }

    /// Queues an event from a place that cannot wait (a `Drop`): at once when
    /// there is room, else from a task that waits for room.
    pub fn record_detached(&self, recorded: impl Into<Recorded>) {
        match self.tx.try_send(self.admit(recorded.into())) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(recorded)) => {
                let this = self.clone();
                tokio::spawn(async move { this.send(recorded).await });
            }
            Err(mpsc::error::TrySendError::Closed(recorded)) => {
                tracing::error!(id = %recorded.event.id, "activity writer is gone; event not recorded");
            }
        }
    }

    /// Counts the bodies into the queue's share, or leaves them out when
    /// they would take it past [`MAX_QUEUED_BODY_BYTES`].
    fn admit(&self, mut recorded: Recorded) -> Recorded {
        if let Some(bodies) = &recorded.bodies {
            let n = size(bodies);
            let before = self.queued_bodies.fetch_add(n, Ordering::AcqRel);
            if before.saturating_add(n) > MAX_QUEUED_BODY_BYTES {
                self.queued_bodies.fetch_sub(n, Ordering::AcqRel);
                tracing::warn!(id = %recorded.event.id, "too many captured bodies wait to be written; these are left out");
                recorded.bodies = None;
            }
        }
        recorded
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

async fn run(store: Arc<dyn ActivityStore>, mut rx: mpsc::Receiver<Recorded>, queued_bodies: Arc<AtomicUsize>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        match tokio::time::timeout(IDLE, rx.recv_many(&mut batch, MAX_BATCH)).await {
            Ok(0) => break,
            Ok(_) => {
                gather(&mut rx, &mut batch).await;
                let mut events = Vec::with_capacity(batch.len());
                let mut bodies = Vec::new();
                let mut settles = Vec::new();
                for recorded in batch.drain(..) {
                    events.push(recorded.event);
                    bodies.extend(recorded.bodies);
                    settles.extend(recorded.settle);
                }
                let bytes = bodies.iter().map(size).sum();
                write(store.as_ref(), &events, bodies).await;
                settles.into_iter().for_each(Settle::committed);
                queued_bodies.fetch_sub(bytes, Ordering::AcqRel);
            }
            Err(_) => flush(store.as_ref()).await,
        }
    }
    flush(store.as_ref()).await;
    tracing::debug!("activity writer drained");
}

/// Tops up a small `batch` with what arrives within [`GATHER`], up to
/// [`SMALL_BATCH`]: at moderate rates a commit then carries tens of events
/// instead of one or two, and its fixed cost (a transaction, a log append,
/// a thread hand-off) is shared. Under heavy load batches are large already
/// and go at once.
async fn gather(rx: &mut mpsc::Receiver<Recorded>, batch: &mut Vec<Recorded>) {
    let until = tokio::time::Instant::now() + GATHER;
    while batch.len() < SMALL_BATCH {
        let room = MAX_BATCH - batch.len();
        match tokio::time::timeout_at(until, rx.recv_many(batch, room)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Brings the store's rollups up to date, once idle or stopping.
async fn flush(store: &dyn ActivityStore) {
    if let Err(e) = store.flush().await {
        // Nothing is lost: the events stay, and the store tries again.
        tracing::error!(error = %e, "bringing the rollups up to date failed");
    }
}

/// Writes a batch, retrying until it is written; after a failure the
/// bodies are left out, so that they can never keep the events out.
async fn write(store: &dyn ActivityStore, batch: &[ActivityEvent], mut bodies: Vec<RequestBodies>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let left_out = bodies.len();
        match store
            .record_with_bodies(batch.to_vec(), std::mem::take(&mut bodies))
            .await
        {
            Ok(()) => return,
            Err(e) => {
                // `left_out` bodies are given up: the retry carries none.
                tracing::error!(error = %e, events = batch.len(), bodies_left_out = left_out, "writing activity failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use jiff::Timestamp;
    use tally_core::{ApiKeyId, Endpoint, EventId, Money, OrgId, Outcome, ProjectId, Usage, UserId};
    use tally_store::{StoreError, StoreResult};
    use tokio::sync::Notify;

    use super::*;

    /// Remembers the size of every batch written.
    #[derive(Default)]
    struct Batches {
        sizes: Mutex<Vec<usize>>,
        written: Notify,
    }

    #[async_trait]
    impl ActivityStore for Batches {
        async fn record_with_bodies(&self, events: Vec<ActivityEvent>, _: Vec<RequestBodies>) -> StoreResult<()> {
            self.sizes.lock().unwrap().push(events.len());
            self.written.notify_one();
            Ok(())
        }
        async fn prune_bodies(&self, _: Timestamp) -> StoreResult<u64> {
            Ok(0)
        }
        async fn event_count(&self, _: OrgId) -> StoreResult<u64> {
            Ok(0)
        }
        async fn recent_events(&self, _: OrgId, _: u32) -> StoreResult<Vec<ActivityEvent>> {
            Ok(Vec::new())
        }
        async fn prune_events(&self, _: Timestamp) -> StoreResult<u64> {
            Ok(0)
        }
    }

    /// Refuses every batch that carries bodies; remembers the others' sizes.
    #[derive(Default)]
    struct RefusesBodies {
        sizes: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl ActivityStore for RefusesBodies {
        async fn record_with_bodies(&self, events: Vec<ActivityEvent>, bodies: Vec<RequestBodies>) -> StoreResult<()> {
            if !bodies.is_empty() {
                return Err(StoreError::Database("a body the store refuses".into()));
            }
            self.sizes.lock().unwrap().push(events.len());
            Ok(())
        }
        async fn event_count(&self, _: OrgId) -> StoreResult<u64> {
            Ok(0)
        }
        async fn recent_events(&self, _: OrgId, _: u32) -> StoreResult<Vec<ActivityEvent>> {
            Ok(Vec::new())
        }
        async fn prune_events(&self, _: Timestamp) -> StoreResult<u64> {
            Ok(0)
        }
        async fn prune_bodies(&self, _: Timestamp) -> StoreResult<u64> {
            Ok(0)
        }
    }

    fn event() -> ActivityEvent {
        ActivityEvent {
            id: EventId::new(),
            started_at: Timestamp::now(),
            org_id: OrgId::new(),
            project_id: ProjectId::new(),
            api_key_id: ApiKeyId::new(),
            created_by: UserId::new(),
            requested_model: None,
            provider: None,
            routed_model: None,
            canonical_model: None,
            app: None,
            end_user: None,
            tags: None,
            endpoint: Endpoint::ChatCompletions,
            stream: false,
            outcome: Outcome::Success,
            http_status: 200,
            error: None,
            usage: Usage::default(),
            cost: Money::from_nanos(0),
            estimated: false,
            unpriced: false,
            usage_invalid: false,
            latency_us: 0,
            ttft_us: None,
        }
    }

    // The writer runs on this test's single thread, so it only starts when
    // the test awaits something that yields.

    #[tokio::test]
    async fn a_lone_event_is_written_without_waiting_for_company() {
        let store = Arc::new(Batches::default());
        let (recorder, handle) = Recorder::start(store.clone(), 16);
        recorder.record(event()).await;
        // The recorder stays open: the write happens once the gathering
        // window closes, not when more events come.
        tokio::time::timeout(Duration::from_secs(30), store.written.notified())
            .await
            .expect("the lone event was written");
        assert_eq!(*store.sizes.lock().unwrap(), vec![1]);
        drop(recorder);
        handle.drained().await;
    }

    #[tokio::test]
    async fn a_batch_whose_bodies_fail_is_written_without_them() {
        let store = Arc::new(RefusesBodies::default());
        let (recorder, handle) = Recorder::start(store.clone(), 16);
        let e = event();
        let bodies = RequestBodies {
            event_id: e.id,
            project_id: e.project_id,
            started_at: e.started_at,
            request: b"{}".to_vec(),
            response: Vec::new(),
            request_truncated: false,
            response_truncated: false,
        };
        recorder
            .record(Recorded {
                settle: None,
                event: e,
                bodies: Some(bodies),
            })
            .await;
        recorder.record(event()).await;
        drop(recorder);
        handle.drained().await;
        assert_eq!(
            store.sizes.lock().unwrap().iter().sum::<usize>(),
            2,
            "every event written"
        );
    }

    #[tokio::test]
    async fn events_waiting_together_share_one_commit_and_closing_ends_the_wait() {
        let store = Arc::new(Batches::default());
        let (recorder, handle) = Recorder::start(store.clone(), 16);
        for _ in 0..3 {
            recorder.record(event()).await;
        }
        drop(recorder);
        handle.drained().await;
        assert_eq!(*store.sizes.lock().unwrap(), vec![3]);
    }
}
