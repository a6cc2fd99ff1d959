//! Body capture, for projects whose owners or admins turn it on: the
//! request body as received and the response as relayed to the client
//! (whole, or a stream's events as passed on), each cut at [`MAX_BODY`].
//! Headers are never kept, so neither the client's tally key nor the
//! provider's key is. Captured bodies are deleted once older than their
//! project's retention ([`prune`], hourly and at start).

use std::sync::Arc;
use std::time::Duration;

use tally_store::{ActivityStore, RequestBodies};

use tally_core::{EventId, ProjectId};

/// Bytes kept of each body: the prompts and answers a person reads in the
/// request drawer fit, and a project that captures every request adds at
/// most twice this to each event in the writer's queue and the store.
pub const MAX_BODY: usize = 64 * 1024;

/// How often captured bodies past their retention are deleted.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// One body as captured so far: at most [`MAX_BODY`] bytes.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    bytes: Vec<u8>,
    truncated: bool,
}

impl Captured {
    pub fn of(body: &[u8]) -> Self {
        let mut captured = Self::default();
        captured.push(body);
        captured
    }

    /// Adds what still fits of `piece`; the rest is cut and flagged.
    pub fn push(&mut self, piece: &[u8]) {
        let room = MAX_BODY.saturating_sub(self.bytes.len());
        if piece.len() > room {
            self.truncated = true;
        }
        self.bytes.extend_from_slice(piece.get(..room).unwrap_or(piece));
    }
}

/// The bodies of a finished request, when its project captures them.
pub fn bodies(
    event_id: EventId,
    project_id: ProjectId,
    started_at: jiff::Timestamp,
    request: &[u8],
    response: Captured,
) -> RequestBodies {
    let request = Captured::of(request);
    RequestBodies {
        event_id,
        project_id,
        started_at,
        request: request.bytes,
        response: response.bytes,
        request_truncated: request.truncated,
        response_truncated: response.truncated,
    }
}

/// Deletes captured bodies past their project's retention now and every
/// [`PRUNE_EVERY`], until dropped. A failure is logged and tried again at
/// the next turn.
pub async fn prune(store: Arc<dyn ActivityStore>) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        match store.prune_bodies(jiff::Timestamp::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "deleted captured bodies past their retention"),
            Err(e) => tracing::error!(error = %e, "deleting captured bodies past their retention failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_cut_at_the_cap_and_flagged() {
        let whole = Captured::of(&[b'a'; MAX_BODY]);
        assert_eq!((whole.bytes.len(), whole.truncated), (MAX_BODY, false));

        let mut pieces = Captured::default();
        for _ in 0..3 {
            pieces.push(&[b'b'; MAX_BODY / 2 + 1]);
        }
        assert_eq!((pieces.bytes.len(), pieces.truncated), (MAX_BODY, true));
        pieces.push(b"");
        assert_eq!(pieces.bytes.len(), MAX_BODY);
    }
}
