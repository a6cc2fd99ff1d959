//! Budget alerts: a threshold reached in a period is recorded once (with a
//! delivery to every webhook of the organization, in one transaction:
//! [`tally_store::WebhookStore::fire_alert`]), and [`Sender`] delivers what
//! is due, signed, retrying with backoff, logging every attempt.
//!
//! Thresholds are checked where the budgets' spend is read
//! (`budgets::Budgets::refresh`), so an alert follows the spend within one
//! refresh. Deliveries are rows: a restart resends what was claimed and
//! not answered once its lease ends; nothing is lost and no threshold
//! fires twice.

pub mod signing;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use rustc_hash::FxHashSet;
use serde_json::json;
use tally_core::budget::Window;
use tally_core::{BudgetId, Money};
use tally_store::{Attempt, Budget, Delivery, DeliveryState, FiredAlert, Store};
use tokio::sync::Notify;

use crate::KeyHasher;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: u32 = 6;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A claimed delivery is handed out again after this, should its sender
/// stop before recording the attempt.
const LEASE: SignedDuration = SignedDuration::from_secs(60);
/// Deliveries taken at a time.
const BATCH: u32 = 16;
/// How often due deliveries are looked for without being told.
const POLL: Duration = Duration::from_secs(1);

/// Longest webhook URL.
const MAX_URL: usize = 2048;

/// An `http` or `https` URL with a host, as tally posts to it.
pub fn webhook_url(raw: &str) -> Result<String, tally_core::ParseError> {
    let bad = |why: String| tally_core::ParseError::new(why);
    if raw.len() > MAX_URL {
        return Err(bad(format!("a URL is at most {MAX_URL} characters")));
    }
    let parsed = reqwest::Url::parse(raw).map_err(|e| bad(format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("a webhook URL is http:// or https:// with a host".to_owned()));
    }
    Ok(parsed.to_string())
}

/// Stores a new webhook of `org` at `url` (checked); it and its signing
/// secret, to show once.
pub async fn create_webhook(
    store: &dyn Store,
    hasher: &KeyHasher,
    org: tally_core::OrgId,
    url: String,
    by: tally_core::UserId,
) -> tally_store::StoreResult<(tally_store::Webhook, String)> {
    let webhook = tally_store::Webhook {
        id: tally_core::WebhookId::new(),
        org_id: org,
        url,
        salt: crate::secrets::generate("").expose().to_owned(),
        created_by: by,
        created_at: Timestamp::now(),
    };
    let webhook = store.create_webhook(webhook).await?;
    let secret = signing::secret(hasher, webhook.id, &webhook.salt);
    Ok((webhook, secret))
}

/// The wait before attempt `n + 1` after attempt `n` failed: 1 s, 2 s,
/// 4 s, … (31 s in all over [`MAX_ATTEMPTS`]).
pub fn backoff(n: u32) -> SignedDuration {
    SignedDuration::from_secs(1_i64 << n.saturating_sub(1).min(20))
}

/// The thresholds already recorded, so each costs the store one call.
#[derive(Debug, Default)]
pub struct Fired(Mutex<FxHashSet<(BudgetId, i64, u16)>>);

impl Fired {
    /// Records every threshold of `budget` that `spent` reached in `window`
    /// and was not recorded before; whether any was new.
    pub async fn check(
        &self,
        store: &dyn Store,
        budget: &Budget,
        spent: Money,
        window: Window,
        now: Timestamp,
    ) -> bool {
        let start = window.start.map_or(0, |s| s.as_millisecond());
        let mut any = false;
        for threshold in budget.thresholds.reached(spent, budget.amount) {
            let key = (budget.id, start, threshold);
            if self.0.lock().is_ok_and(|f| f.contains(&key)) {
                continue;
            }
            let alert = FiredAlert {
                budget_id: budget.id,
                org_id: budget.org_id,
                period_start: window.start,
                threshold,
                at: now,
                payload: payload(budget, threshold, spent, window, now).to_string(),
            };
            match store.fire_alert(alert).await {
                Ok(new) => {
                    any |= new;
                    if let Ok(mut f) = self.0.lock() {
                        f.insert(key);
                    }
                }
                Err(e) => tracing::error!(error = %e, budget = %budget.id, "recording an alert failed"),
            }
        }
        any
    }
}

/// The words of a budget's scope.
pub fn scope_words(budget: &Budget) -> &'static str {
    match budget.scope {
        tally_core::BudgetScope::Organization => "organization",
        tally_core::BudgetScope::Project(_) => "project",
        tally_core::BudgetScope::ApiKey(_) => "API key",
        tally_core::BudgetScope::Member(_) => "member",
    }
}

/// A budget's period in words: `per month (Asia/Kolkata)`, `in total`.
pub fn period_words(budget: &Budget) -> String {
    match budget.period {
        tally_core::Period::Total => "in total".to_owned(),
        p => format!("per {p} ({})", budget.timezone.name()),
    }
}

/// An instant in the budget's zone, offset included.
pub fn local(budget: &Budget, at: Timestamp) -> String {
    at.to_zoned(budget.timezone.as_jiff().clone())
        .strftime("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The body of an alert: the budget, the threshold, the spend, the reset;
/// `text` makes it a Slack incoming-webhook message as it is.
pub fn payload(budget: &Budget, threshold: u16, spent: Money, window: Window, now: Timestamp) -> serde_json::Value {
    let reset = window
        .end
        .map_or_else(String::new, |end| format!("; it resets at {}", local(budget, end)));
    let text = format!(
        "tally: the {} budget of {} USD {} has reached {threshold}% ({spent} USD spent){reset}",
        scope_words(budget),
        budget.amount.money(),
        period_words(budget),
    );
    json!({
        "type": "budget.threshold",
        "text": text,
        "budget": {
            "id": budget.id,
            "scope": {"type": budget.scope.kind(), "id": budget.scope.id()},
            "amount": budget.amount.money(),
            "period": budget.period.as_str(),
            "timezone": budget.timezone.name(),
            "action": budget.action.as_str(),
        },
        "threshold": threshold,
        "spent": spent,
        "amount": budget.amount.money(),
        "periodStart": window.start,
        "resetsAt": window.end,
        "firedAt": now,
    })
}

/// Delivers due webhook payloads.
pub struct Sender {
    http: reqwest::Client,
    hasher: KeyHasher,
    /// Told when deliveries are queued.
    pub wake: Arc<Notify>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sender")
    }
}

impl Sender {
    pub fn new(hasher: KeyHasher) -> Self {
        let http = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            http,
            hasher,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Sends what is due until dropped.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        loop {
            let now = Timestamp::now();
            let until = now.checked_add(LEASE).unwrap_or(now);
            match store.claim_deliveries(now, until, BATCH).await {
                Ok(due) => {
                    let full = due.len() == BATCH as usize;
                    let sends = due.into_iter().map(|d| self.deliver(store.as_ref(), d));
                    futures_util::future::join_all(sends).await;
                    if full {
                        continue;
                    }
                }
                Err(e) => tracing::error!(error = %e, "claiming webhook deliveries failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// One attempt, recorded.
    async fn deliver(&self, store: &dyn Store, d: Delivery) {
        let at = Timestamp::now();
        let secret = signing::secret(&self.hasher, d.webhook_id, &d.salt);
        let signature = signing::signature(&secret, at.as_second(), d.payload.as_bytes());
        let began = Instant::now();
        let sent = self
            .http
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(signing::SIGNATURE_HEADER, signature)
            .header("x-tally-event", &d.event)
            .header("x-tally-delivery", d.id.to_string())
            .body(d.payload.clone())
            .send()
            .await;
        let (status, error) = match sent {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (Some(r.status().as_u16()), Some(format!("answered {}", r.status()))),
            Err(e) => (None, Some(causes(&e))),
        };
        let number = d.attempts.saturating_add(1);
        let attempt = Attempt {
            number,
            at,
            status,
            error: error.clone(),
            duration_ms: u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let (state, next) = match error {
            None => (DeliveryState::Delivered, at),
            Some(_) if number >= MAX_ATTEMPTS => (DeliveryState::Failed, at),
            Some(_) => (DeliveryState::Pending, at.checked_add(backoff(number)).unwrap_or(at)),
        };
        if state == DeliveryState::Failed {
            tracing::warn!(delivery = %d.id, url = %d.url, "webhook delivery given up");
        }
        if let Err(e) = store.record_attempt(d.id, attempt, state, next).await {
            tracing::error!(error = %e, delivery = %d.id, "recording a webhook attempt failed");
        }
    }
}

/// An error and its causes, `: `-separated.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling() {
        let waits: Vec<i64> = (1..MAX_ATTEMPTS).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
    }
}
