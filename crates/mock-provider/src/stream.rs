//! Response bodies: paced SSE streams and connection resets.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;

/// Pause before the error that aborts a reset stream, so the chunks sent
/// before it are flushed to the client first.
const RESET_FLUSH_PAUSE: Duration = Duration::from_millis(50);

/// `data: <json>\n\n` (OpenAI framing).
pub(crate) fn data_frame(data: &str) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

/// `event: <name>\ndata: <json>\n\n` (Anthropic framing).
pub(crate) fn event_frame(event: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// A `text/event-stream` response sending `frames` with `delay` between
/// them. With `reset_after = Some(n)`, only the first `n` frames are sent and
/// then the body fails, which makes hyper abort the connection without
/// terminating the chunked encoding.
pub(crate) fn sse_response(frames: Vec<Bytes>, delay: Duration, reset_after: Option<usize>) -> Response {
    let limit = reset_after.unwrap_or(frames.len());
    let reset = reset_after.is_some();
    let state = (frames.into_iter().take(limit).enumerate(), false);
    let body = stream::unfold(state, move |(mut frames, done)| async move {
        if done {
            return None;
        }
        match frames.next() {
            Some((index, frame)) => {
                if index > 0 && !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                Some((Ok(frame), (frames, false)))
            }
            None if reset => {
                tokio::time::sleep(RESET_FLUSH_PAUSE).await;
                Some((Err(reset_error()), (frames, true)))
            }
            None => None,
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A response whose body fails before anything is written: hyper drops the
/// connection without sending a status line.
pub(crate) fn reset_response() -> Response {
    let body = stream::once(async { Err::<Bytes, io::Error>(reset_error()) });
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    response
}

fn reset_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "mock:reset")
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A random alphanumeric id suffix.
pub(crate) fn random_id(len: usize) -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
