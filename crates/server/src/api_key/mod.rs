//! Authenticating a tally API key, for every route a key may call: the
//! gateway's (`/v1/chat/completions`, …) and the analytics API's
//! `/v1/usage`. It sits below both and depends on neither; each renders a
//! refusal in its own error shape.

pub mod cache;
pub mod limits;

use axum::http::{HeaderMap, header};
use tally_store::{AccountStore, ApiKey, StoreError};

use self::cache::KeyCache;
use crate::secrets::{API_KEY_PREFIX, KeyHasher};

/// Why a request's key was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefused {
    #[error("missing, unknown or revoked tally API key")]
    Unknown,
    /// The key's expiry time has come (`ApiKey::expires_at`).
    #[error("this tally API key has expired")]
    Expired,
    /// The store could not be asked (logged where it happened).
    #[error("internal error")]
    Failed,
}

/// The tally API key of a request (`Authorization: Bearer` or `x-api-key`),
/// looked up through `keys` (see [`cache`] for when a revocation takes
/// effect).
pub async fn authenticate(
    keys: &KeyCache,
    store: &dyn AccountStore,
    hasher: &KeyHasher,
    headers: &HeaderMap,
) -> Result<ApiKey, KeyRefused> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::extract::bearer_token);
    let secret = bearer
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim))
        .filter(|s| s.starts_with(API_KEY_PREFIX))
        .ok_or(KeyRefused::Unknown)?;
    match keys.get(store, hasher.hash(secret)).await {
        // Checked at each use, not cached: a key expires on time.
        Ok(key) if key.is_expired(jiff::Timestamp::now()) => Err(KeyRefused::Expired),
        Ok(key) => Ok(key),
        Err(StoreError::NotFound) => Err(KeyRefused::Unknown),
        Err(e) => {
            tracing::error!(error = %e, "key lookup failed");
            Err(KeyRefused::Failed)
        }
    }
}
