//! [`AnalyticsStore`] on SQLite: queries answered by the read side
//! (`read/`), rollups recounted and local days kept by the write side
//! (`ingest/`).

use async_trait::async_trait;
use tally_core::UsageTotals;
use tally_core::latency::Latencies;

use super::SqliteStore;
use super::ingest::local_days;
use crate::{AnalyticsStore, DimValue, StoreResult, UsageQuery};

impl SqliteStore {
    /// Raw events this store's rollup writer skipped since it opened because
    /// it could not read them (each logged as a warning); the writer goes on.
    pub fn rollup_skipped(&self) -> u64 {
        self.inner.rollups.skipped()
    }

    /// Key ranges of closed UTC days not rolled into the day tables yet
    /// (`ingest/open_day.rs`): each rollup write rolls a few, and until none
    /// is left, queries read those days by hour (for benchmarks and tools).
    pub async fn pending_day_rolls(&self) -> StoreResult<u64> {
        self.read(|c| {
            let n: i64 = c.query_row(
                "SELECT COUNT(*) FROM open_day_leads WHERE day < (SELECT newest_day FROM rollup_state)",
                [],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    /// Committed raw events the rollups do not count yet (for benchmarks
    /// and tools: a backlog that keeps growing means the rollup writer
    /// cannot keep up with the inserts).
    pub async fn rollup_backlog(&self) -> StoreResult<u64> {
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let watermark = super::state::watermark(&tx)?;
            let n: i64 = tx.query_row(
                "SELECT COUNT(*) FROM activity_events WHERE rowid > ?1",
                [watermark],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }
}

#[async_trait]
impl AnalyticsStore for SqliteStore {
    async fn usage(&self, q: UsageQuery) -> StoreResult<Vec<(Vec<DimValue>, UsageTotals)>> {
        self.read(move |c| Ok(super::read::usage(c, &q)?)).await
    }

    async fn latencies(&self, q: UsageQuery) -> StoreResult<Vec<(Vec<DimValue>, Latencies)>> {
        self.read(move |c| Ok(super::read::latencies(c, &q)?)).await
    }

    async fn rebuild_rollups(&self) -> StoreResult<u64> {
        self.on_rollups(|rollups| Ok(rollups.recount()?)).await
    }

    async fn set_local_day_offsets(&self, offsets: Vec<i64>) -> StoreResult<bool> {
        let mut phases: Vec<i64> = offsets.into_iter().filter(|p| local_days::valid_phase(*p)).collect();
        phases.sort_unstable();
        phases.dedup();
        self.on_rollups(move |rollups| {
            rollups.with_rollups(|c| {
                let tx = c.transaction()?;
                local_days::set_phases(&tx, &phases)?;
                tx.commit()?;
                Ok(true)
            })
        })
        .await
    }
}
