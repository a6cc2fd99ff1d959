//! Reading whole bodies within limits: the client's request (a size cap,
//! telling a body that is too large from one the client broke off) and a
//! provider's response (a size cap, an idle timeout between pieces and a
//! total timeout).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use futures_util::StreamExt;

/// Why the client's body could not be read.
#[derive(Debug)]
pub enum RequestBodyError {
    /// Larger than the limit (declared or sent).
    TooLarge,
    /// The client stopped sending before the body's end (disconnect, a
    /// malformed chunk): nothing to answer, the request is canceled.
    Broken(String),
    /// The client fell silent inside the body for longer than the server's
    /// body idle timeout.
    Silent,
}

/// The request body, at most `limit` bytes.
pub async fn request(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, RequestBodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(RequestBodyError::TooLarge);
    }
    let mut out = Vec::with_capacity(declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0));
    let mut pieces = body.into_data_stream();
    while let Some(piece) = pieces.next().await {
        let piece = piece.map_err(|e| match crate::listen::is_body_timeout(&e) {
            true => RequestBodyError::Silent,
            false => RequestBodyError::Broken(e.to_string()),
        })?;
        if out.len() + piece.len() > limit {
            return Err(RequestBodyError::TooLarge);
        }
        out.extend_from_slice(&piece);
    }
    Ok(Bytes::from(out))
}

/// The limits on reading a provider's whole body.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body read.
    pub max_bytes: usize,
    /// What to do with a larger body: keep its first `max_bytes` (error
    /// bodies, read for their message) or refuse it.
    pub truncate: bool,
    /// Longest silence between two pieces.
    pub idle: Duration,
    /// Longest time for the whole body.
    pub total: Duration,
}

/// Why a provider's body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamBodyError {
    #[error("the response was larger than {0} bytes")]
    TooLarge(usize),
    #[error("the response body was silent for {0:?}")]
    Silent(Duration),
    #[error("the response body did not arrive within {0:?}")]
    Slow(Duration),
    #[error("the response broke off: {0}")]
    Broken(String),
}

/// A provider's whole body within `limits`.
pub async fn upstream(mut response: reqwest::Response, limits: BodyLimits) -> Result<Bytes, UpstreamBodyError> {
    let cap = limits.max_bytes;
    if !limits.truncate && response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(UpstreamBodyError::TooLarge(cap));
    }
    let deadline = tokio::time::Instant::now() + limits.total;
    let mut out = Vec::new();
    loop {
        let next = tokio::time::timeout(limits.idle, response.chunk());
        let piece = match tokio::time::timeout_at(deadline, next).await {
            Err(_) => return Err(UpstreamBodyError::Slow(limits.total)),
            Ok(Err(_)) => return Err(UpstreamBodyError::Silent(limits.idle)),
            Ok(Ok(Err(e))) => return Err(UpstreamBodyError::Broken(error_chain(&e))),
            Ok(Ok(Ok(None))) => return Ok(Bytes::from(out)),
            Ok(Ok(Ok(Some(piece)))) => piece,
        };
        let room = cap.saturating_sub(out.len());
        if piece.len() > room {
            if !limits.truncate {
                return Err(UpstreamBodyError::TooLarge(cap));
            }
            out.extend_from_slice(&piece[..room]);
            return Ok(Bytes::from(out));
        }
        out.extend_from_slice(&piece);
    }
}

/// An error and its sources, as one line.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
