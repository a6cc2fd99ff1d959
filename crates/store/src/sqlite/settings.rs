//! [`SettingsStore`] on SQLite: model mappings and price overrides.

use async_trait::async_trait;
use rusqlite::params;
use tally_core::OrgId;
use uuid::Uuid;

use super::{SqliteStore, conflict_as};
use crate::columns::{ms, stored};
use crate::records::{ModelMapping, PriceOverride};
use crate::rows::{MAPPING_COLS, PRICE_COLS, mapping_row, price_row};
use crate::{SettingsStore, StoreError, StoreResult};

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn model_mappings(&self, org: OrgId) -> StoreResult<Vec<ModelMapping>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {MAPPING_COLS} FROM model_mappings WHERE org_id = ?1 ORDER BY alias"
            ))?;
            let rows = stmt.query_map([org.as_uuid()], |r| mapping_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn create_model_mapping(&self, mut mapping: ModelMapping) -> StoreResult<ModelMapping> {
        mapping.created_at = stored(mapping.created_at);
        self.write(move |c| {
            c.execute(
                "INSERT INTO model_mappings (id, org_id, alias, target, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    mapping.id,
                    mapping.org_id.as_uuid(),
                    mapping.alias,
                    mapping.target,
                    ms(mapping.created_at)
                ],
            )
            .map_err(conflict_as("a mapping with this alias"))?;
            Ok(mapping)
        })
        .await
    }

    async fn delete_model_mapping(&self, org: OrgId, id: Uuid) -> StoreResult<()> {
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM model_mappings WHERE id = ?1 AND org_id = ?2",
                params![id, org.as_uuid()],
            )?;
            if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }

    async fn price_overrides(&self, org: OrgId) -> StoreResult<Vec<PriceOverride>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {PRICE_COLS} FROM price_overrides WHERE org_id = ?1 ORDER BY model"
            ))?;
            let rows = stmt.query_map([org.as_uuid()], |r| price_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn put_price_override(&self, p: PriceOverride) -> StoreResult<PriceOverride> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO price_overrides (id, org_id, model, input, cached_input, cache_write, output, reasoning, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (org_id, model) DO UPDATE SET input = excluded.input,
                   cached_input = excluded.cached_input, cache_write = excluded.cache_write,
                   output = excluded.output, reasoning = excluded.reasoning",
                params![
                    p.id,
                    p.org_id.as_uuid(),
                    p.model,
                    p.input,
                    p.cached_input,
                    p.cache_write,
                    p.output,
                    p.reasoning,
                    ms(p.created_at)
                ],
            )?;
            Ok(c.query_row(
                &format!("SELECT {PRICE_COLS} FROM price_overrides WHERE org_id = ?1 AND model = ?2"),
                params![p.org_id.as_uuid(), p.model],
                |r| price_row(r),
            )?)
        })
        .await
    }

    async fn delete_price_override(&self, org: OrgId, id: Uuid) -> StoreResult<()> {
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM price_overrides WHERE id = ?1 AND org_id = ?2",
                params![id, org.as_uuid()],
            )?;
            if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }
}
