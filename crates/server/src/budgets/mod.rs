//! Budgets at the gateway: which block a request, without waiting on the
//! database.
//!
//! A task of its own ([`Budgets::run`]) reads the spend in its current
//! period of every blocking budget, and of every budget with thresholds
//! (to fire its alerts: `alerts/`), from the rollups every refresh (and at
//! once when this process changes a budget). From a shared store it reads
//! every time; from an embedded one once per budget and period, since this
//! process is its only writer and counts its own additions exactly. The
//! request path only reads memory: a request is admitted when, for every
//! blocking budget covering its key, `stored + replicas x pending <
//! amount`, where `pending` is what this process has added since that read
//! (what it finished and had not seen committed before the read, and a
//! reservation for each request in flight). Admitting reserves the
//! request's ceiling cost; finishing swaps it for the real cost; the
//! writer marks it committed once its batch is stored ([`Settle`]).
//!
//! **Overshoot.** A request is admitted only while the total is below the
//! amount, and reserves the most it can cost, so one process ends at most
//! one reservation past the amount. With `R` replicas each counts its own
//! pending `R` times over, so together they end at most `R` reservations
//! past it while their reads are equally fresh; between refreshes a
//! replica can be behind the others' commits by what they stored in one
//! [`REFRESH`]. When a period resets, until the next read (at once: the
//! first request after the reset asks for it) only requests in flight
//! count against the new one. A request without `max_tokens` reserves
//! [`DEFAULT_OUTPUT_TOKENS`] of output and can go past its reservation by
//! what it produces beyond that.

pub mod spend;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use jiff::Timestamp;
use rustc_hash::FxHashMap;
use tally_core::budget::Window;
use tally_core::{BudgetAction, BudgetId, Money, OrgId};
use tally_store::{ApiKey, Budget, Store};
use tokio::sync::Notify;

use crate::clock::Clock;

/// How often a replica reads its budgets' spend by default: the staleness
/// of what it knows of other replicas' spend (`[budgets] refresh_ms`).
pub const REFRESH: Duration = Duration::from_secs(1);
/// Output tokens reserved for a request that names no maximum.
pub const DEFAULT_OUTPUT_TOKENS: u64 = 4096;

/// This process's additions to one budget's spend, kept across reads.
#[derive(Debug, Default)]
struct Counters {
    /// Real costs of finished requests, ever (nano-USD).
    finished: AtomicI64,
    /// Of those, what the writer has stored.
    committed: AtomicI64,
    /// Ceilings of the requests in flight.
    reserved: AtomicI64,
}

/// One budget as last read (a blocking one, or one with thresholds).
#[derive(Debug)]
struct Tracked {
    budget: Budget,
    window: Window,
    /// Spend in the window, read from the store.
    stored: i64,
    /// `committed` when that read began.
    base: i64,
    counters: Arc<Counters>,
}

impl Tracked {
    /// What this process finished since the read (and had not seen
    /// committed before it).
    fn finished_since(&self) -> i64 {
        (self.counters.finished.load(Ordering::Acquire) - self.base).max(0)
    }

    /// What this process added since the read, reservations included.
    fn pending(&self) -> i64 {
        self.finished_since() + self.counters.reserved.load(Ordering::Acquire)
    }

    /// Whether the period read is over (the next read starts the new one).
    fn over(&self, now: Timestamp) -> bool {
        self.window.end.is_some_and(|end| now >= end)
    }

    /// The spend counted against the amount. Once the period read is
    /// over, until the next read, only the requests in flight count.
    fn total(&self, replicas: i64, now: Timestamp) -> i64 {
        let (stored, pending) = if self.over(now) {
            (0, self.counters.reserved.load(Ordering::Acquire))
        } else {
            (self.stored, self.pending())
        };
        stored.saturating_add(pending.saturating_mul(replicas))
    }
}

#[derive(Debug, Default)]
struct Snapshot {
    by_org: FxHashMap<OrgId, Vec<Arc<Tracked>>>,
    replicas: i64,
}

/// A request refused by a spent budget.
#[derive(Debug, Clone)]
pub struct Blocked {
    pub budget: Box<Budget>,
    pub resets_at: Option<Timestamp>,
    pub retry_after: Option<Duration>,
}

impl Blocked {
    pub fn message(&self) -> String {
        use crate::alerts::{local, period_words, scope_words};
        let b = &self.budget;
        let reset = self
            .resets_at
            .map_or_else(String::new, |at| format!("; it resets at {}", local(b, at)));
        format!(
            "the {} budget of {} USD {} is spent{reset}",
            scope_words(b),
            b.amount.money(),
            period_words(b)
        )
    }
}

/// What an admitted request holds until it ends: its reservation on each
/// blocking budget that covers it.
#[derive(Debug, Default)]
pub struct Reservation {
    held: Vec<(Arc<Counters>, i64)>,
}

/// A finished request's cost, to mark committed once stored.
#[derive(Debug, Default)]
pub struct Settle {
    held: Vec<(Arc<Counters>, i64)>,
}

impl Reservation {
    /// Swaps the reservation for the request's real cost.
    pub fn finish(mut self, cost: Money) -> Settle {
        let cost = cost.nanos().max(0);
        let mut held = Vec::with_capacity(self.held.len());
        for (c, reserved) in std::mem::take(&mut self.held) {
            c.finished.fetch_add(cost, Ordering::AcqRel);
            c.reserved.fetch_sub(reserved, Ordering::AcqRel);
            held.push((c, cost));
        }
        Settle { held }
    }
}

/// A request that ends without [`Reservation::finish`] (its task failed)
/// gives its reservation back rather than hold the budgets forever.
impl Drop for Reservation {
    fn drop(&mut self) {
        for (c, reserved) in self.held.drain(..) {
            c.reserved.fetch_sub(reserved, Ordering::AcqRel);
        }
    }
}

impl Settle {
    /// The event is stored.
    pub fn committed(self) {
        for (c, cost) in self.held {
            c.committed.fetch_add(cost, Ordering::AcqRel);
        }
    }
}

/// Every blocking budget this process enforces.
pub struct Budgets {
    clock: Arc<dyn Clock>,
    /// This process, for the count of live replicas.
    replica: uuid::Uuid,
    /// At least this many replicas are assumed (the operator's count).
    min_replicas: i64,
    refresh: Duration,
    snapshot: RwLock<Arc<Snapshot>>,
    counters: Mutex<FxHashMap<BudgetId, Arc<Counters>>>,
    poke: Notify,
    /// One read at a time: two would give a new budget two sets of counters.
    refreshing: tokio::sync::Mutex<()>,
    /// Thresholds recorded, and whom to tell of new deliveries.
    fired: crate::alerts::Fired,
    alerted: Arc<Notify>,
}

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Budgets")
    }
}

impl Budgets {
    /// `alerted` is told when an alert queues deliveries.
    pub fn new(clock: Arc<dyn Clock>, min_replicas: u32, refresh: Duration, alerted: Arc<Notify>) -> Self {
        Self {
            clock,
            replica: uuid::Uuid::now_v7(),
            min_replicas: i64::from(min_replicas.max(1)),
            refresh,
            snapshot: RwLock::new(Arc::default()),
            counters: Mutex::new(FxHashMap::default()),
            poke: Notify::new(),
            refreshing: tokio::sync::Mutex::new(()),
            fired: crate::alerts::Fired::default(),
            alerted,
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Admits a request of `key` that can cost at most `ceiling`,
    /// reserving it, or names the spent budget (the one that resets last).
    pub fn admit(&self, key: &ApiKey, ceiling: Money) -> Result<Reservation, Blocked> {
        let snapshot = self.snapshot();
        let Some(tracked) = snapshot.by_org.get(&key.org_id) else {
            return Ok(Reservation::default());
        };
        let now = self.clock.now();
        let mut blocked: Option<&Tracked> = None;
        let mut covering = Vec::new();
        // Every budget covering the key counts the request; blocking ones
        // may refuse it.
        for t in tracked.iter().filter(|t| spend::applies(&t.budget, key)) {
            if t.over(now) {
                self.poke();
            }
            let blocks = t.budget.action == BudgetAction::Block;
            if blocks && t.total(snapshot.replicas, now) >= t.budget.amount.money().nanos() {
                let later = |b: &Tracked| t.window.end.is_none_or(|end| b.window.end.is_some_and(|e| e < end));
                if blocked.is_none_or(later) {
                    blocked = Some(t);
                }
            }
            covering.push(t);
        }
        if let Some(t) = blocked {
            let resets_at = t.window.end;
            return Err(Blocked {
                budget: Box::new(t.budget.clone()),
                resets_at,
                retry_after: resets_at.map(|end| end.duration_since(now).unsigned_abs()),
            });
        }
        let reserve = ceiling.nanos().max(0);
        let held = covering
            .into_iter()
            .map(|t| {
                t.counters.reserved.fetch_add(reserve, Ordering::AcqRel);
                (t.counters.clone(), reserve)
            })
            .collect();
        Ok(Reservation { held })
    }

    /// Reads every blocking budget's spend again (soon: from the task).
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Reads every blocking budget's spend now.
    pub async fn refresh(&self, store: &dyn Store) {
        let _one = self.refreshing.lock().await;
        let now = self.clock.now();
        let budgets = match store.all_budgets().await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "reading budgets failed; keeping the last ones");
                return;
            }
        };
        let replicas = match store
            .live_replicas(self.replica, now, self.refresh.max(REFRESH) * 3)
            .await
        {
            Ok(n) => i64::from(n).max(self.min_replicas),
            Err(e) => {
                tracing::error!(error = %e, "counting replicas failed");
                self.snapshot().replicas.max(self.min_replicas)
            }
        };
        let old = self.snapshot();
        let mut by_org: FxHashMap<OrgId, Vec<Arc<Tracked>>> = FxHashMap::default();
        let mut kept = FxHashMap::default();
        let mut alerted = false;
        let watched = |b: &Budget| b.action == BudgetAction::Block || !b.thresholds.percents().is_empty();
        // An embedded store has one writer, this process, whose additions
        // are counted exactly: a spend read stands for its whole period.
        let shared = store.shared();
        for budget in budgets.into_iter().filter(watched) {
            let counters = self
                .counters
                .lock()
                .map(|c| c.get(&budget.id).cloned())
                .ok()
                .flatten()
                .unwrap_or_default();
            let window = budget.period.window(&budget.timezone, now);
            let last = old
                .by_org
                .get(&budget.org_id)
                .and_then(|ts| ts.iter().find(|t| t.budget.id == budget.id))
                .cloned();
            let current = last
                .as_ref()
                .filter(|t| !shared && t.budget == budget && t.window == window)
                .cloned();
            let tracked = match current {
                Some(t) => t,
                None => {
                    let base = counters.committed.load(Ordering::Acquire);
                    match spend::spent(store, &budget, now).await {
                        Ok(m) => Arc::new(Tracked {
                            budget,
                            window,
                            stored: m.nanos(),
                            base,
                            counters: counters.clone(),
                        }),
                        Err(e) => {
                            // Keep enforcing what was last read.
                            tracing::error!(error = %e, budget = %budget.id, "reading a budget's spend failed");
                            let Some(last) = last else { continue };
                            last
                        }
                    }
                }
            };
            let spent = tracked.stored.saturating_add(tracked.finished_since());
            alerted |= self
                .fired
                .check(store, &tracked.budget, Money::from_nanos(spent), tracked.window, now)
                .await;
            kept.insert(tracked.budget.id, counters);
            by_org.entry(tracked.budget.org_id).or_default().push(tracked);
        }
        if let Ok(mut c) = self.counters.lock() {
            *c = kept;
        }
        if let Ok(mut s) = self.snapshot.write() {
            *s = Arc::new(Snapshot { by_org, replicas });
        }
        if alerted {
            self.alerted.notify_one();
        }
    }

    /// Refreshes every `refresh` and when poked, until dropped.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        loop {
            self.refresh(store.as_ref()).await;
            tokio::select! {
                () = tokio::time::sleep(self.refresh) => {}
                () = self.poke.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reservation(c: &Arc<Counters>, amount: i64) -> Reservation {
        c.reserved.fetch_add(amount, Ordering::AcqRel);
        Reservation {
            held: vec![(c.clone(), amount)],
        }
    }

    #[test]
    fn a_reservation_becomes_the_cost_then_committed() {
        let c = Arc::new(Counters::default());
        let settle = reservation(&c, 500).finish(Money::from_nanos(120));
        assert_eq!(
            (c.reserved.load(Ordering::Acquire), c.finished.load(Ordering::Acquire)),
            (0, 120)
        );
        assert_eq!(c.committed.load(Ordering::Acquire), 0);
        settle.committed();
        assert_eq!(c.committed.load(Ordering::Acquire), 120);
    }

    #[test]
    fn a_reservation_dropped_unfinished_is_given_back() {
        let c = Arc::new(Counters::default());
        let held = reservation(&c, 500);
        let other = reservation(&c, 300);
        drop(held);
        assert_eq!(c.reserved.load(Ordering::Acquire), 300);
        drop(other.finish(Money::from_nanos(10)));
        assert_eq!(
            (c.reserved.load(Ordering::Acquire), c.finished.load(Ordering::Acquire)),
            (0, 10)
        );
    }
}
