//! [`WebhookStore`] on PostgreSQL. Several replicas send: a delivery is
//! claimed with `FOR UPDATE SKIP LOCKED`, and an alert is fired by the one
//! transaction whose insert into `budget_alerts` wins.

use async_trait::async_trait;
use jiff::Timestamp;
use tally_core::{DeliveryId, OrgId, WebhookId};

use super::{PgError, PgStore, R, found, touched};
use crate::columns::{ms, stored};
use crate::records::{Attempt, Delivery, DeliveryState, FiredAlert, Webhook};
use crate::rows::{ATTEMPT_COLS, DELIVERY_COLS, WEBHOOK_COLS, attempt_row, delivery_row, webhook_row};
use crate::sqlite::webhooks::new_delivery;
use crate::{StoreResult, WebhookStore};

const INSERT_DELIVERY: &str = "INSERT INTO webhook_deliveries
    (id, webhook_id, org_id, event, payload, state, attempts, next_attempt_at, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)";

async fn insert_delivery(c: &impl deadpool_postgres::GenericClient, d: &Delivery) -> R<()> {
    c.execute(
        INSERT_DELIVERY,
        &[
            d.id.as_uuid(),
            d.webhook_id.as_uuid(),
            d.org_id.as_uuid(),
            &d.event,
            &d.payload,
            &d.state.as_str(),
            &ms(d.next_attempt_at),
            &ms(d.created_at),
        ],
    )
    .await?;
    Ok(())
}

impl PgStore {
    async fn webhook_in(&self, org: OrgId, id: WebhookId) -> R<Webhook> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = $1 AND org_id = $2"),
                &[id.as_uuid(), org.as_uuid()],
            )
            .await?;
        webhook_row(&found(row)?)
    }

    async fn fire_alert_once(&self, a: &FiredAlert) -> R<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "INSERT INTO budget_alerts (budget_id, period_start, threshold, fired_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[
                    a.budget_id.as_uuid(),
                    &a.period_start.map_or(0, ms),
                    &i64::from(a.threshold),
                    &ms(a.at),
                ],
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        let hooks = tx
            .query(
                &format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE org_id = $1 ORDER BY id"),
                &[a.org_id.as_uuid()],
            )
            .await?;
        for row in &hooks {
            let w = webhook_row(row)?;
            insert_delivery(&tx, &new_delivery(&w, "budget.threshold", a.payload.clone(), a.at)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn claim(&self, now: Timestamp, until: Timestamp, limit: u32) -> R<Vec<Delivery>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                     WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                     ORDER BY d.next_attempt_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED"
                ),
                &[&ms(now), &i64::from(limit)],
            )
            .await?;
        let claimed = rows.iter().map(delivery_row).collect::<R<Vec<_>>>()?;
        for d in &claimed {
            tx.execute(
                "UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = $1",
                &[d.id.as_uuid(), &ms(until)],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn attempt(&self, id: DeliveryId, a: &Attempt, state: DeliveryState, next: Timestamp) -> R<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            &format!("INSERT INTO webhook_attempts (delivery_id, {ATTEMPT_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            &[
                id.as_uuid(),
                &i64::from(a.number),
                &ms(a.at),
                &a.status.map(i64::from),
                &a.error,
                &i64::try_from(a.duration_ms).unwrap_or(i64::MAX),
            ],
        )
        .await?;
        tx.execute(
            "UPDATE webhook_deliveries SET state = $2, attempts = $3, next_attempt_at = $4 WHERE id = $1",
            &[id.as_uuid(), &state.as_str(), &i64::from(a.number), &ms(next)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_deliveries(&self, org: OrgId, webhook: WebhookId, limit: u32) -> R<Vec<(Delivery, Vec<Attempt>)>> {
        self.webhook_in(org, webhook).await?;
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                     WHERE d.webhook_id = $1 ORDER BY d.id DESC LIMIT $2"
                ),
                &[webhook.as_uuid(), &i64::from(limit)],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let d = delivery_row(row)?;
            let attempts = c
                .query(
                    &format!("SELECT {ATTEMPT_COLS} FROM webhook_attempts WHERE delivery_id = $1 ORDER BY number"),
                    &[d.id.as_uuid()],
                )
                .await?
                .iter()
                .map(attempt_row)
                .collect::<R<Vec<_>>>()?;
            out.push((d, attempts));
        }
        Ok(out)
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, mut w: Webhook) -> StoreResult<Webhook> {
        w.created_at = stored(w.created_at);
        let c = self.client().await?;
        c.execute(
            &format!("INSERT INTO webhooks ({WEBHOOK_COLS}) VALUES ($1, $2, $3, $4, $5, $6)"),
            &[
                w.id.as_uuid(),
                w.org_id.as_uuid(),
                &w.url,
                &w.salt,
                w.created_by.as_uuid(),
                &ms(w.created_at),
            ],
        )
        .await
        .map_err(PgError::from)?;
        Ok(w)
    }

    async fn webhooks(&self, org: OrgId) -> StoreResult<Vec<Webhook>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE org_id = $1 ORDER BY id"),
                &[org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        Ok(rows.iter().map(webhook_row).collect::<R<_>>()?)
    }

    async fn webhook(&self, org: OrgId, id: WebhookId) -> StoreResult<Webhook> {
        Ok(self.webhook_in(org, id).await?)
    }

    async fn set_webhook_url(&self, org: OrgId, id: WebhookId, url: &str) -> StoreResult<Webhook> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("UPDATE webhooks SET url = $3 WHERE id = $1 AND org_id = $2 RETURNING {WEBHOOK_COLS}"),
                &[id.as_uuid(), org.as_uuid(), &url],
            )
            .await
            .map_err(PgError::from)?;
        Ok(webhook_row(&found(row)?)?)
    }

    async fn delete_webhook(&self, org: OrgId, id: WebhookId) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(PgError::from)?;
        let n = tx
            .execute(
                "DELETE FROM webhooks WHERE id = $1 AND org_id = $2",
                &[id.as_uuid(), org.as_uuid()],
            )
            .await
            .map_err(PgError::from)?;
        touched(n)?;
        tx.execute(
            "DELETE FROM webhook_attempts WHERE delivery_id IN
               (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)",
            &[id.as_uuid()],
        )
        .await
        .map_err(PgError::from)?;
        tx.execute("DELETE FROM webhook_deliveries WHERE webhook_id = $1", &[id.as_uuid()])
            .await
            .map_err(PgError::from)?;
        tx.commit().await.map_err(PgError::from)?;
        Ok(())
    }

    async fn fire_alert(&self, alert: FiredAlert) -> StoreResult<bool> {
        Ok(self.fire_alert_once(&alert).await?)
    }

    async fn queue_delivery(&self, w: &Webhook, event: &str, payload: String, at: Timestamp) -> StoreResult<Delivery> {
        let d = new_delivery(w, event, payload, at);
        let c = self.client().await?;
        insert_delivery(&c, &d).await?;
        Ok(d)
    }

    async fn claim_deliveries(&self, now: Timestamp, until: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>> {
        Ok(self.claim(now, until, limit).await?)
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        a: Attempt,
        state: DeliveryState,
        next: Timestamp,
    ) -> StoreResult<()> {
        Ok(self.attempt(id, &a, state, next).await?)
    }

    async fn deliveries(
        &self,
        org: OrgId,
        webhook: WebhookId,
        limit: u32,
    ) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>> {
        Ok(self.list_deliveries(org, webhook, limit).await?)
    }
}
