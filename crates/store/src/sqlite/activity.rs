//! [`ActivityStore`] on SQLite: batches of raw events in one transaction.

use async_trait::async_trait;
use rusqlite::params;
use tally_core::{ActivityEvent, OrgId};

use super::SqliteStore;
use super::convert::ms;
use crate::{ActivityStore, StoreResult};

fn count(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn record(&self, events: Vec<ActivityEvent>) -> StoreResult<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO activity_events (
                        id, started_at, org_id, project_id, api_key_id, created_by,
                        requested_model, provider, routed_model, canonical_model, app,
                        endpoint, stream, outcome, http_status, error,
                        input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                        cost_nanos, estimated, unpriced, latency_us, ttft_us
                    ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                              ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
                )?;
                for e in &events {
                    stmt.execute(params![
                        e.id.as_uuid(),
                        ms(e.started_at),
                        e.org_id.as_uuid(),
                        e.project_id.as_uuid(),
                        e.api_key_id.as_uuid(),
                        e.created_by.as_uuid(),
                        e.requested_model,
                        e.provider,
                        e.routed_model,
                        e.canonical_model,
                        e.app,
                        e.endpoint.as_str(),
                        e.stream,
                        e.outcome.as_str(),
                        e.http_status,
                        e.error,
                        count(e.usage.input),
                        count(e.usage.cached_input),
                        count(e.usage.cache_write),
                        count(e.usage.output),
                        count(e.usage.reasoning),
                        e.cost.nanos(),
                        e.estimated,
                        e.unpriced,
                        count(Some(e.latency_us)),
                        count(e.ttft_us),
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn event_count(&self, org: OrgId) -> StoreResult<u64> {
        self.read(move |c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM activity_events WHERE org_id = ?1",
                [org.as_uuid()],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }
}
