//! Misbehaving answers, for testing how a gateway copes with a careless
//! provider: bodies that stall or drip, huge bodies, HTML, error bodies
//! under 200, invalid statuses and redirects. Asked for by magic strings in
//! the last user message, like the behaviours of [`crate::behaviour`].

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use serde_json::Value;

/// Pause between the bytes of a `mock:drip` body.
const DRIP_EVERY: Duration = Duration::from_millis(100);
/// Size of the pieces a `mock:huge` body is sent in.
const HUGE_PIECE: usize = 16 * 1024;

/// The odd answer the request's last user message asks for, if any.
pub(crate) fn answer(body: &Value) -> Option<Response> {
    let text = crate::behaviour::last_user_text(body);
    let streaming = body["stream"] == true;
    if let Some(url) = word_after(&text, "mock:redirect=") {
        return Some(redirect(url));
    }
    if let Some(status) = number_after(&text, "mock:status=") {
        return Some(odd_status(status));
    }
    if text.contains("mock:stall_body") {
        return Some(stall_body());
    }
    if text.contains("mock:drip") {
        return Some(drip());
    }
    if let Some(bytes) = number_after(&text, "mock:huge=") {
        return Some(huge(usize::try_from(bytes).unwrap_or(usize::MAX), streaming));
    }
    if text.contains("mock:html") {
        return Some(typed(
            StatusCode::OK,
            "text/html",
            Body::from("<html><body>Bad gateway</body></html>"),
        ));
    }
    if text.contains("mock:error_body") {
        let error = r#"{"error":{"message":"overloaded (injected by mock:error_body)","type":"server_error"}}"#;
        return Some(typed(StatusCode::OK, "application/json", Body::from(error)));
    }
    None
}

/// `mock:redirect=URL`: 307 to `URL`.
fn redirect(url: &str) -> Response {
    let mut response = typed(StatusCode::TEMPORARY_REDIRECT, "text/plain", Body::empty());
    if let Ok(location) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `mock:status=N` (200–999): that status with an empty JSON object.
fn odd_status(status: u64) -> Response {
    let status = u16::try_from(status)
        .ok()
        .filter(|s| (200..=999).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    typed(status, "application/json", Body::from("{}"))
}

/// `mock:stall_body`: headers and the start of a body, then silence.
fn stall_body() -> Response {
    let start = stream::once(async { Ok::<_, Infallible>(Bytes::from_static(b"{\"id\":")) });
    let body = start.chain(stream::pending());
    typed(StatusCode::OK, "application/json", Body::from_stream(body))
}

/// `mock:drip`: a body of spaces, one every 100 ms, never ending.
fn drip() -> Response {
    let body = stream::unfold((), |()| async {
        tokio::time::sleep(DRIP_EVERY).await;
        Some((Ok::<_, Infallible>(Bytes::from_static(b" ")), ()))
    });
    typed(StatusCode::OK, "application/json", Body::from_stream(body))
}

/// `mock:huge=BYTES`: a JSON object of about that many bytes (a stream:
/// one `data:` line that long, then its blank line), in 16 KiB pieces.
fn huge(bytes: usize, streaming: bool) -> Response {
    let (head, tail, kind): (&[u8], &[u8], _) = if streaming {
        (b"data: {\"p\":\"", b"\"}\n\n", "text/event-stream")
    } else {
        (b"{\"p\":\"", b"\"}", "application/json")
    };
    let mut all = Vec::with_capacity(bytes + head.len() + tail.len());
    all.extend_from_slice(head);
    all.resize(head.len() + bytes, b'x');
    all.extend_from_slice(tail);
    let all = Bytes::from(all);
    let pieces: Vec<Bytes> = (0..all.len())
        .step_by(HUGE_PIECE)
        .map(|at| all.slice(at..(at + HUGE_PIECE).min(all.len())))
        .collect();
    let body = stream::iter(pieces.into_iter().map(Ok::<_, Infallible>));
    typed(StatusCode::OK, kind, Body::from_stream(body))
}

fn typed(status: StatusCode, content_type: &'static str, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn number_after(text: &str, marker: &str) -> Option<u64> {
    word_after(text, marker)?.parse().ok()
}

fn word_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = text.find(marker)? + marker.len();
    let rest = &text[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_end_at_whitespace() {
        assert_eq!(
            word_after("go mock:redirect=http://x/y now", "mock:redirect="),
            Some("http://x/y")
        );
        assert_eq!(number_after("mock:huge=1000", "mock:huge="), Some(1000));
        assert_eq!(number_after("mock:huge=", "mock:huge="), None);
    }
}
