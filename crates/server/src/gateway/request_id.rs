//! `x-tally-request-id`: every `/v1` answer names the request, so a user
//! can find it in the request log from their own logs. For a request the
//! gateway records, it is the event's id; other `/v1` answers (the model
//! list, usage, a refused key) get a fresh id that no event has.

use axum::http::HeaderValue;
use axum::response::Response;
use tally_core::EventId;

pub const HEADER: &str = "x-tally-request-id";

pub fn set(response: &mut Response, id: EventId) {
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(HEADER, value);
    }
}

/// The layer of `/v1`: names an answer that has no request id yet.
pub async fn ensure(mut response: Response) -> Response {
    if !response.headers().contains_key(HEADER) {
        set(&mut response, EventId::new());
    }
    response
}
