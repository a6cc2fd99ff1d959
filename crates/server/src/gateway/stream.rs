//! Relaying a streamed response: a task of its own reads the upstream,
//! cuts it into SSE events, reads usage from them and hands the events to
//! the client's body through a small channel. When the client goes away the
//! task keeps reading (within the idle and total timeouts) so that the
//! event carries the provider's final usage, as `canceled`. The event is
//! recorded when the stream ends, breaks, stalls, overruns, or (should the
//! task itself be dropped) by the guard's `Drop`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;
use tally_core::Outcome;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout, timeout_at};

use super::event::{Draft, Ending};
use super::sse::{SseEvent, SseReader};
use super::usage::StreamTally;
use super::wire::Wire;
use super::writer::Recorder;

/// Records the request's event exactly once: on [`EventGuard::complete`],
/// or as canceled when dropped before that.
pub struct EventGuard {
    draft: Option<Draft>,
    tally: StreamTally,
    recorder: Recorder,
}

impl EventGuard {
    pub fn new(draft: Draft, recorder: Recorder) -> Self {
        Self {
            draft: Some(draft),
            tally: StreamTally::default(),
            recorder,
        }
    }

    fn ending(&self, outcome: Outcome, http_status: u16, error: Option<String>) -> Ending {
        Ending {
            outcome,
            http_status,
            error,
            usage: self.tally.usage,
            output_chars: self.tally.text_chars,
        }
    }

    pub fn complete(&mut self, outcome: Outcome, http_status: u16, error: Option<String>) {
        let ending = self.ending(outcome, http_status, error);
        if let Some(draft) = self.draft.take() {
            self.recorder.record_detached(draft.finish(ending));
        }
    }

    /// Adds relayed bytes to the captured response, if the project captures it.
    fn capture(&mut self, relayed: &[u8]) {
        if let Some(d) = self.draft.as_mut() {
            d.capture(relayed);
        }
    }

    fn mark_first_byte(&mut self) {
        if let Some(d) = self.draft.as_mut()
            && d.first_byte.is_none()
        {
            d.first_byte = Some(d.began.elapsed());
        }
    }
}

impl Drop for EventGuard {
    fn drop(&mut self) {
        if self.draft.is_some() {
            self.complete(
                Outcome::Canceled,
                200,
                Some("the client disconnected before the stream ended".into()),
            );
        }
    }
}

/// Pieces waiting for the client at most; a slow client slows the reading.
const CHANNEL: usize = 16;

/// How long a stream may last: between two upstream pieces, and in all.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub idle: Duration,
    pub total: Duration,
}

type Piece = Result<Bytes, std::io::Error>;

struct Relay {
    upstream: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    reader: SseReader,
    /// The provider's wire format, which reads the events.
    wire: &'static dyn Wire,
    hide_usage_chunk: bool,
    limits: StreamLimits,
    guard: EventGuard,
    /// The client's side; `None` once it has gone.
    client: Option<mpsc::Sender<Piece>>,
}

impl Relay {
    /// Reads one event; returns whether to forward it.
    fn inspect(&mut self, data: Option<&str>) -> bool {
        let Some(data) = data else { return true };
        let Ok(json) = serde_json::from_str::<Value>(data) else {
            return true;
        };
        let usage_only = self.wire.stream_event(&mut self.guard.tally, &json);
        !(usage_only && self.hide_usage_chunk)
    }

    /// Hands a piece to the client, if it is still there. A client that
    /// does not take it before the stream's deadline is treated as gone.
    async fn deliver(&mut self, piece: Piece, deadline: Instant) {
        if let Some(tx) = &self.client {
            match timeout_at(deadline, tx.send(piece)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => self.client = None,
            }
        }
    }

    /// Records how the stream ended; the client, if still there, sees a
    /// failure as a broken stream (given up to the idle timeout to take it,
    /// the stream's deadline may be past).
    async fn end(&mut self, outcome: Outcome, error: Option<String>) {
        let served = outcome == Outcome::Success;
        if let (Some(message), Some(tx)) = (error.as_ref().filter(|_| !served), &self.client) {
            let broken = Err(std::io::Error::other(message.clone()));
            if !matches!(timeout(self.limits.idle, tx.send(broken)).await, Ok(Ok(()))) {
                self.client = None;
            }
        }
        match (served, self.client.is_some()) {
            (true, false) => self.guard.complete(
                Outcome::Canceled,
                200,
                Some("the client disconnected before the stream ended".into()),
            ),
            _ => self.guard.complete(outcome, 200, error),
        }
    }
}

pub fn relay(
    response: reqwest::Response,
    wire: &'static dyn Wire,
    hide_usage_chunk: bool,
    limits: StreamLimits,
    guard: EventGuard,
) -> Body {
    let (tx, rx) = mpsc::channel(CHANNEL);
    let relay = Relay {
        upstream: response.bytes_stream().boxed(),
        reader: SseReader::new(),
        wire,
        hide_usage_chunk,
        limits,
        guard,
        client: Some(tx),
    };
    tokio::spawn(pump(relay));
    let pieces = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|p| (p, rx)) });
    Body::from_stream(pieces)
}

/// Reads the upstream to its end (or a failure), whether or not the client
/// stays, and records the event.
async fn pump(mut r: Relay) {
    let deadline = Instant::now() + r.limits.total;
    loop {
        let next = timeout_at(deadline, timeout(r.limits.idle, r.upstream.next())).await;
        match next {
            Ok(Ok(Some(Ok(chunk)))) => {
                r.guard.mark_first_byte();
                let mut events: Vec<SseEvent> = Vec::new();
                let fed = r.reader.feed(&chunk, &mut events);
                let mut out = Vec::with_capacity(chunk.len());
                for event in events {
                    if !r.inspect(event.data.as_deref()) {
                        continue;
                    }
                    // Captured as passed on, also once the client has gone.
                    r.guard.capture(&event.raw);
                    if r.client.is_some() {
                        out.extend_from_slice(&event.raw);
                    }
                }
                if !out.is_empty() {
                    r.deliver(Ok(Bytes::from(out)), deadline).await;
                }
                if let Err(e) = fed {
                    let message = format!("the stream from the provider was refused: {e}");
                    return r.end(Outcome::UpstreamError, Some(message)).await;
                }
            }
            Ok(Ok(None)) => {
                let rest = r.reader.finish();
                r.guard.capture(&rest);
                if !rest.is_empty() {
                    r.deliver(Ok(Bytes::from(rest)), deadline).await;
                }
                return r.end(Outcome::Success, None).await;
            }
            Ok(Ok(Some(Err(e)))) => {
                let message = format!("the stream from the provider broke off: {e}");
                return r.end(Outcome::UpstreamError, Some(message)).await;
            }
            Ok(Err(_)) => {
                let message = format!("the provider's stream was silent for {:?}", r.limits.idle);
                return r.end(Outcome::GatewayError, Some(message)).await;
            }
            Err(_) => {
                let message = format!("the provider's stream went on past {:?}", r.limits.total);
                return r.end(Outcome::GatewayError, Some(message)).await;
            }
        }
    }
}
