//! [`BudgetStore`] on SQLite.

use async_trait::async_trait;
use rusqlite::params;
use tally_core::{BudgetId, OrgId};

use super::SqliteStore;
use crate::columns::{ms, stored};
use crate::records::Budget;
use crate::rows::{BUDGET_COLS, budget_row};
use crate::{BudgetStore, StoreError, StoreResult};

#[async_trait]
impl BudgetStore for SqliteStore {
    async fn create_budget(&self, mut b: Budget) -> StoreResult<Budget> {
        b.created_at = stored(b.created_at);
        self.write(move |c| {
            c.execute(
                &format!("INSERT INTO budgets ({BUDGET_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                params![
                    b.id.as_uuid(),
                    b.org_id.as_uuid(),
                    b.scope.kind(),
                    b.scope.id(),
                    b.amount.money().nanos(),
                    b.period.as_str(),
                    b.timezone.name(),
                    b.action.as_str(),
                    b.thresholds.to_text(),
                    b.created_by.as_uuid(),
                    ms(b.created_at)
                ],
            )?;
            Ok(b)
        })
        .await
    }

    async fn budgets(&self, org: OrgId) -> StoreResult<Vec<Budget>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {BUDGET_COLS} FROM budgets WHERE org_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([org.as_uuid()], |r| budget_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn all_budgets(&self) -> StoreResult<Vec<Budget>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!("SELECT {BUDGET_COLS} FROM budgets ORDER BY id"))?;
            let rows = stmt.query_map([], |r| budget_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn budget(&self, org: OrgId, id: BudgetId) -> StoreResult<Budget> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {BUDGET_COLS} FROM budgets WHERE id = ?1 AND org_id = ?2"
            ))?;
            let mut rows = stmt.query_map(params![id.as_uuid(), org.as_uuid()], |r| budget_row(r))?;
            Ok(rows.next().ok_or(StoreError::NotFound)??)
        })
        .await
    }

    async fn update_budget(&self, b: Budget) -> StoreResult<Budget> {
        let (org, id) = (b.org_id, b.id);
        self.write(move |c| {
            let n = c.execute(
                "UPDATE budgets SET amount_nanos = ?3, period = ?4, timezone = ?5, action = ?6, thresholds = ?7
                 WHERE id = ?1 AND org_id = ?2",
                params![
                    id.as_uuid(),
                    org.as_uuid(),
                    b.amount.money().nanos(),
                    b.period.as_str(),
                    b.timezone.name(),
                    b.action.as_str(),
                    b.thresholds.to_text()
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(c.query_row(
                &format!("SELECT {BUDGET_COLS} FROM budgets WHERE id = ?1"),
                [id.as_uuid()],
                |r| budget_row(r),
            )?)
        })
        .await
    }

    async fn delete_budget(&self, org: OrgId, id: BudgetId) -> StoreResult<()> {
        self.write(move |c| {
            let n = c.execute(
                "DELETE FROM budgets WHERE id = ?1 AND org_id = ?2",
                params![id.as_uuid(), org.as_uuid()],
            )?;
            if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
        })
        .await
    }
}
