//! [`SettingsStore`] on PostgreSQL: model mappings and price overrides.

use async_trait::async_trait;
use tally_core::OrgId;
use uuid::Uuid;

use super::{PgError, PgStore, R, conflict_as, found, touched};
use crate::columns::{ms, stored};
use crate::records::{ModelMapping, PriceOverride};
use crate::rows::{MAPPING_COLS, PRICE_COLS, mapping_row, price_row};
use crate::{SettingsStore, StoreResult};

#[async_trait]
impl SettingsStore for PgStore {
    async fn model_mappings(&self, org: OrgId) -> StoreResult<Vec<ModelMapping>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {MAPPING_COLS} FROM model_mappings WHERE org_id = $1 ORDER BY alias COLLATE \"C\""
            ))
            .await
            .map_err(PgError::from)?;
        let rows = c.query(&stmt, &[org.as_uuid()]).await.map_err(PgError::from)?;
        Ok(rows.iter().map(mapping_row).collect::<R<_>>()?)
    }

    async fn create_model_mapping(&self, mut mapping: ModelMapping) -> StoreResult<ModelMapping> {
        mapping.created_at = stored(mapping.created_at);
        let c = self.client().await?;
        c.execute(
            "INSERT INTO model_mappings (id, org_id, alias, target, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[
                &mapping.id,
                mapping.org_id.as_uuid(),
                &mapping.alias,
                &mapping.target,
                &ms(mapping.created_at),
            ],
        )
        .await
        .map_err(conflict_as("a mapping with this alias"))?;
        Ok(mapping)
    }

    async fn delete_model_mapping(&self, org: OrgId, id: Uuid) -> StoreResult<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM model_mappings WHERE id = $1 AND org_id = $2",
                &[&id, org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(touched(n)?)
    }

    async fn price_overrides(&self, org: OrgId) -> StoreResult<Vec<PriceOverride>> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached(&format!(
                "SELECT {PRICE_COLS} FROM price_overrides WHERE org_id = $1 ORDER BY model COLLATE \"C\""
            ))
            .await
            .map_err(PgError::from)?;
        let rows = c.query(&stmt, &[org.as_uuid()]).await.map_err(PgError::from)?;
        Ok(rows.iter().map(price_row).collect::<R<_>>()?)
    }

    async fn put_price_override(&self, p: PriceOverride) -> StoreResult<PriceOverride> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "INSERT INTO price_overrides (id, org_id, model, input, cached_input, cache_write, output, reasoning, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (org_id, model) DO UPDATE SET input = excluded.input,
                       cached_input = excluded.cached_input, cache_write = excluded.cache_write,
                       output = excluded.output, reasoning = excluded.reasoning
                     RETURNING {PRICE_COLS}"
                ),
                &[
                    &p.id,
                    p.org_id.as_uuid(),
                    &p.model,
                    &p.input,
                    &p.cached_input,
                    &p.cache_write,
                    &p.output,
                    &p.reasoning,
                    &ms(p.created_at),
                ],
            )
            .await
            .map_err(PgError::from)?;
        Ok(price_row(&found(row)?)?)
    }

    async fn delete_price_override(&self, org: OrgId, id: Uuid) -> StoreResult<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM price_overrides WHERE id = $1 AND org_id = $2",
                &[&id, org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(touched(n)?)
    }
}
