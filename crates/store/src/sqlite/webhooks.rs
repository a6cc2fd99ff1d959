//! [`WebhookStore`] on SQLite.

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tally_core::{DeliveryId, OrgId, WebhookId};

use super::SqliteStore;
use crate::columns::{ms, stored};
use crate::records::{Attempt, Delivery, DeliveryState, FiredAlert, Webhook};
use crate::rows::{ATTEMPT_COLS, DELIVERY_COLS, WEBHOOK_COLS, attempt_row, delivery_row, webhook_row};
use crate::{StoreError, StoreResult, WebhookStore};

fn webhook_in(c: &rusqlite::Connection, org: OrgId, id: WebhookId) -> StoreResult<Webhook> {
    c.query_row(
        &format!("SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = ?1 AND org_id = ?2"),
        params![id.as_uuid(), org.as_uuid()],
        |r| webhook_row(r),
    )
    .optional()?
    .ok_or(StoreError::NotFound)
}

fn insert_delivery(c: &rusqlite::Connection, d: &Delivery) -> StoreResult<()> {
    c.execute(
        "INSERT INTO webhook_deliveries (id, webhook_id, org_id, event, payload, state, attempts, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)",
        params![
            d.id.as_uuid(),
            d.webhook_id.as_uuid(),
            d.org_id.as_uuid(),
            d.event,
            d.payload,
            d.state.as_str(),
            ms(d.next_attempt_at),
            ms(d.created_at)
        ],
    )?;
    Ok(())
}

/// A new pending delivery of `payload` to `w`, due at `at`.
pub(crate) fn new_delivery(w: &Webhook, event: &str, payload: String, at: Timestamp) -> Delivery {
    let at = stored(at);
    Delivery {
        id: DeliveryId::new(),
        webhook_id: w.id,
        org_id: w.org_id,
        event: event.to_owned(),
        payload,
        state: DeliveryState::Pending,
        attempts: 0,
        next_attempt_at: at,
        created_at: at,
        url: w.url.clone(),
        salt: w.salt.clone(),
    }
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, mut w: Webhook) -> StoreResult<Webhook> {
        w.created_at = stored(w.created_at);
        self.write(move |c| {
            c.execute(
                &format!("INSERT INTO webhooks ({WEBHOOK_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    w.id.as_uuid(),
                    w.org_id.as_uuid(),
                    w.url,
                    w.salt,
                    w.created_by.as_uuid(),
                    ms(w.created_at)
                ],
            )?;
            Ok(w)
        })
        .await
    }

    async fn webhooks(&self, org: OrgId) -> StoreResult<Vec<Webhook>> {
        self.read(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {WEBHOOK_COLS} FROM webhooks WHERE org_id = ?1 ORDER BY id"
            ))?;
            let rows = stmt.query_map([org.as_uuid()], |r| webhook_row(r))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn webhook(&self, org: OrgId, id: WebhookId) -> StoreResult<Webhook> {
        self.read(move |c| webhook_in(c, org, id)).await
    }

    async fn set_webhook_url(&self, org: OrgId, id: WebhookId, url: &str) -> StoreResult<Webhook> {
        let url = url.to_owned();
        self.write(move |c| {
            let n = c.execute(
                "UPDATE webhooks SET url = ?3 WHERE id = ?1 AND org_id = ?2",
                params![id.as_uuid(), org.as_uuid(), url],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            webhook_in(c, org, id)
        })
        .await
    }

    async fn delete_webhook(&self, org: OrgId, id: WebhookId) -> StoreResult<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "DELETE FROM webhooks WHERE id = ?1 AND org_id = ?2",
                params![id.as_uuid(), org.as_uuid()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            tx.execute(
                "DELETE FROM webhook_attempts WHERE delivery_id IN
                   (SELECT id FROM webhook_deliveries WHERE webhook_id = ?1)",
                [id.as_uuid()],
            )?;
            tx.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?1", [id.as_uuid()])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn fire_alert(&self, alert: FiredAlert) -> StoreResult<bool> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let n = tx.execute(
                "INSERT INTO budget_alerts (budget_id, period_start, threshold, fired_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                params![
                    alert.budget_id.as_uuid(),
                    alert.period_start.map_or(0, ms),
                    alert.threshold,
                    ms(alert.at)
                ],
            )?;
            if n == 0 {
                return Ok(false);
            }
            let hooks: Vec<Webhook> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {WEBHOOK_COLS} FROM webhooks WHERE org_id = ?1 ORDER BY id"
                ))?;
                let rows = stmt.query_map([alert.org_id.as_uuid()], |r| webhook_row(r))?;
                rows.collect::<Result<_, _>>()?
            };
            for w in &hooks {
                insert_delivery(
                    &tx,
                    &new_delivery(w, "budget.threshold", alert.payload.clone(), alert.at),
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn queue_delivery(&self, w: &Webhook, event: &str, payload: String, at: Timestamp) -> StoreResult<Delivery> {
        let d = new_delivery(w, event, payload, at);
        self.write(move |c| {
            insert_delivery(c, &d)?;
            Ok(d)
        })
        .await
    }

    async fn claim_deliveries(&self, now: Timestamp, until: Timestamp, limit: u32) -> StoreResult<Vec<Delivery>> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let claimed: Vec<Delivery> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT {DELIVERY_COLS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                     WHERE d.state = 'pending' AND d.next_attempt_at <= ?1 ORDER BY d.next_attempt_at LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![ms(now), limit], |r| delivery_row(r))?;
                rows.collect::<Result<_, _>>()?
            };
            for d in &claimed {
                tx.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at = ?2 WHERE id = ?1",
                    params![d.id.as_uuid(), ms(until)],
                )?;
            }
            tx.commit()?;
            Ok(claimed)
        })
        .await
    }

    async fn record_attempt(
        &self,
        id: DeliveryId,
        a: Attempt,
        state: DeliveryState,
        next: Timestamp,
    ) -> StoreResult<()> {
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.execute(
                &format!("INSERT INTO webhook_attempts (delivery_id, {ATTEMPT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    id.as_uuid(),
                    a.number,
                    ms(a.at),
                    a.status,
                    a.error,
                    i64::try_from(a.duration_ms).unwrap_or(i64::MAX)
                ],
            )?;
            tx.execute(
                "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4 WHERE id = ?1",
                params![id.as_uuid(), state.as_str(), a.number, ms(next)],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn deliveries(
        &self,
        org: OrgId,
        webhook: WebhookId,
        limit: u32,
    ) -> StoreResult<Vec<(Delivery, Vec<Attempt>)>> {
        self.read(move |c| {
            webhook_in(c, org, webhook)?;
            let mut stmt = c.prepare(&format!(
                "SELECT {DELIVERY_COLS} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                 WHERE d.webhook_id = ?1 ORDER BY d.id DESC LIMIT ?2"
            ))?;
            let deliveries: Vec<Delivery> = stmt
                .query_map(params![webhook.as_uuid(), limit], |r| delivery_row(r))?
                .collect::<Result<_, _>>()?;
            let mut attempts = c.prepare(&format!(
                "SELECT {ATTEMPT_COLS} FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY number"
            ))?;
            let mut out = Vec::with_capacity(deliveries.len());
            for d in deliveries {
                let list = attempts
                    .query_map([d.id.as_uuid()], |r| attempt_row(r))?
                    .collect::<Result<_, _>>()?;
                out.push((d, list));
            }
            Ok(out)
        })
        .await
    }
}
