//! [`BudgetStore`] on PostgreSQL.

use async_trait::async_trait;
use tally_core::{BudgetId, OrgId};

use super::{PgError, PgStore, R, found, touched};
use crate::columns::{ms, stored};
use crate::records::Budget;
use crate::rows::{BUDGET_COLS, budget_row};
use crate::{BudgetStore, StoreResult};

#[async_trait]
impl BudgetStore for PgStore {
    async fn create_budget(&self, mut b: Budget) -> StoreResult<Budget> {
        b.created_at = stored(b.created_at);
        let c = self.client().await?;
        c.execute(
            &format!("INSERT INTO budgets ({BUDGET_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
            &[
                b.id.as_uuid(),
                b.org_id.as_uuid(),
                &b.scope.kind(),
                &b.scope.id(),
                &b.amount.money().nanos(),
                &b.period.as_str(),
                &b.timezone.name(),
                &b.action.as_str(),
                &b.thresholds.to_text(),
                b.created_by.as_uuid(),
                &ms(b.created_at),
            ],
        )
        .await
        .map_err(PgError::from)?;
        Ok(b)
    }

    async fn budgets(&self, org: OrgId) -> StoreResult<Vec<Budget>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {BUDGET_COLS} FROM budgets WHERE org_id = $1 ORDER BY id"),
                &[org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(rows.iter().map(budget_row).collect::<R<_>>()?)
    }

    async fn all_budgets(&self) -> StoreResult<Vec<Budget>> {
        let c = self.client().await?;
        let rows = c
            .query(&format!("SELECT {BUDGET_COLS} FROM budgets ORDER BY id"), &[])
            .await
            .map_err(PgError::from)?;
        Ok(rows.iter().map(budget_row).collect::<R<_>>()?)
    }

    async fn budget(&self, org: OrgId, id: BudgetId) -> StoreResult<Budget> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {BUDGET_COLS} FROM budgets WHERE id = $1 AND org_id = $2"),
                &[id.as_uuid(), org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(budget_row(&found(row)?)?)
    }

    async fn update_budget(&self, b: Budget) -> StoreResult<Budget> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "UPDATE budgets SET amount_nanos = $3, period = $4, timezone = $5, action = $6, thresholds = $7
                     WHERE id = $1 AND org_id = $2 RETURNING {BUDGET_COLS}"
                ),
                &[
                    b.id.as_uuid(),
                    b.org_id.as_uuid(),
                    &b.amount.money().nanos(),
                    &b.period.as_str(),
                    &b.timezone.name(),
                    &b.action.as_str(),
                    &b.thresholds.to_text(),
                ],
            )
            .await
            .map_err(PgError::from)?;
        Ok(budget_row(&found(row)?)?)
    }

    async fn delete_budget(&self, org: OrgId, id: BudgetId) -> StoreResult<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM budgets WHERE id = $1 AND org_id = $2",
                &[id.as_uuid(), org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(touched(n)?)
    }

    fn shared(&self) -> bool {
        true
    }

    async fn live_replicas(
        &self,
        replica: uuid::Uuid,
        now: jiff::Timestamp,
        within: std::time::Duration,
    ) -> StoreResult<u32> {
        let c = self.client().await?;
        let now = ms(now);
        let since = now.saturating_sub(i64::try_from(within.as_millis()).unwrap_or(i64::MAX));
        c.execute(
            "INSERT INTO gateway_replicas (id, seen_at) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            &[&replica, &now],
        )
        .await
        .map_err(PgError::from)?;
        let row = c
            .query_one(
                "SELECT count(*) FROM gateway_replicas WHERE seen_at >= $1 OR id = $2",
                &[&since, &replica],
            )
            .await
            .map_err(PgError::from)?;
        let n: i64 = row.try_get(0).map_err(PgError::from)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX).max(1))
    }
}
