//! Active API keys, cached briefly so a request does not read its key from
//! the store every time. A revocation made through this process's store
//! (the management API, or deleting the key's project) takes effect on the
//! next request: the store's key revision changes and every entry made at
//! another revision is stale. A revocation by another process sharing the
//! database (a replica, or `tally key revoke` beside `tally serve`) takes
//! effect within [`TTL`]. Unknown keys are not cached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tally_store::{AccountStore, ApiKey, StoreResult};

/// How long an entry is trusted without asking the store again.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries kept at most; past it the cache starts over.
const MAX_ENTRIES: usize = 100_000;

struct Entry {
    at: Instant,
    revision: u64,
    key: ApiKey,
}

#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl KeyCache {
    /// The active key whose secret hashes to `hash`.
    pub async fn get(&self, store: &dyn AccountStore, hash: [u8; 32]) -> StoreResult<ApiKey> {
        // Read before the lookup: a revocation racing with it makes the
        // entry stale at once.
        let revision = store.key_revision();
        if let Ok(entries) = self.entries.lock()
            && let Some(e) = entries.get(&hash)
            && e.revision == revision
            && e.at.elapsed() < TTL
        {
            return Ok(e.key.clone());
        }
        let key = store.active_key_by_hash(&hash).await?;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            let entry = Entry {
                at: Instant::now(),
                revision,
                key: key.clone(),
            };
            entries.insert(hash, entry);
        }
        Ok(key)
    }
}
