//! Relaying a streamed response: upstream bytes are cut into SSE events and
//! forwarded as they complete, while usage is read from them. The event is
//! recorded when the stream ends, breaks, stalls, or the client goes away
//! (the guard's `Drop`, with the usage seen so far).

use std::time::Duration;

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;
use tally_core::Outcome;

use super::Protocol;
use super::event::{Draft, Ending};
use super::sse::SseReader;
use super::usage::StreamTally;
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

struct Relay {
    upstream: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    reader: SseReader,
    protocol: Protocol,
    hide_usage_chunk: bool,
    idle: Duration,
    guard: EventGuard,
    done: bool,
}

impl Relay {
    /// Reads one event; returns whether to forward it.
    fn inspect(&mut self, data: Option<&str>) -> bool {
        let Some(data) = data else { return true };
        let Ok(json) = serde_json::from_str::<Value>(data) else {
            return true;
        };
        match self.protocol {
            Protocol::OpenAi => {
                let usage_only = self.guard.tally.openai_chunk(&json);
                !(usage_only && self.hide_usage_chunk)
            }
            Protocol::Anthropic => {
                self.guard.tally.anthropic_event(&json);
                true
            }
        }
    }
}

fn broken(message: String) -> std::io::Error {
    std::io::Error::other(message)
}

pub fn relay(
    response: reqwest::Response,
    protocol: Protocol,
    hide_usage_chunk: bool,
    idle: Duration,
    guard: EventGuard,
) -> Body {
    let relay = Relay {
        upstream: response.bytes_stream().boxed(),
        reader: SseReader::new(),
        protocol,
        hide_usage_chunk,
        idle,
        guard,
        done: false,
    };
    let stream = futures_util::stream::unfold(relay, |mut r| async move {
        if r.done {
            return None;
        }
        loop {
            match tokio::time::timeout(r.idle, r.upstream.next()).await {
                Ok(Some(Ok(chunk))) => {
                    r.guard.mark_first_byte();
                    let mut out = Vec::with_capacity(chunk.len());
                    for event in r.reader.feed(&chunk) {
                        if r.inspect(event.data.as_deref()) {
                            out.extend_from_slice(&event.raw);
                        }
                    }
                    if !out.is_empty() {
                        return Some((Ok(Bytes::from(out)), r));
                    }
                }
                Ok(None) => {
                    r.done = true;
                    r.guard.complete(Outcome::Success, 200, None);
                    let rest = r.reader.finish();
                    return (!rest.is_empty()).then(|| (Ok(Bytes::from(rest)), r));
                }
                Ok(Some(Err(e))) => {
                    r.done = true;
                    let message = format!("the stream from the provider broke off: {e}");
                    r.guard.complete(Outcome::UpstreamError, 200, Some(message.clone()));
                    return Some((Err(broken(message)), r));
                }
                Err(_) => {
                    r.done = true;
                    let message = format!("the provider's stream was silent for {:?}", r.idle);
                    r.guard.complete(Outcome::GatewayError, 200, Some(message.clone()));
                    return Some((Err(broken(message)), r));
                }
            }
        }
    });
    Body::from_stream(stream)
}
