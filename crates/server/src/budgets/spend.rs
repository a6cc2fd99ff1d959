//! A budget's spend in its current period, read from the rollups the
//! analytics read (so the dashboard and the gateway agree exactly), and the
//! budgets that apply to a key.

use jiff::Timestamp;
use tally_core::budget::Window;
use tally_core::time::{bucket_ceil, bucket_of};
use tally_core::{BudgetScope, Money};
use tally_store::{ApiKey, Budget, Scope, StoreResult, UsageQuery};

/// A lifetime budget counts every bucket up to this far past now (clock
/// differences between replicas).
const AHEAD_BUCKETS: i64 = 96;

/// The store's scope of a budget.
pub fn scope(budget: &Budget) -> Scope {
    match budget.scope {
        BudgetScope::Organization => Scope::Org(budget.org_id),
        BudgetScope::Project(p) => Scope::Project(p),
        BudgetScope::ApiKey(k) => Scope::ApiKey(k),
        BudgetScope::Member(u) => Scope::Member(budget.org_id, u),
    }
}

/// Whether `budget` covers requests of `key`.
pub fn applies(budget: &Budget, key: &ApiKey) -> bool {
    budget.org_id == key.org_id
        && match budget.scope {
            BudgetScope::Organization => true,
            BudgetScope::Project(p) => p == key.project_id,
            BudgetScope::ApiKey(k) => k == key.id,
            BudgetScope::Member(u) => u == key.created_by,
        }
}

/// Whether what `scope` names is of `org` (a project, key or member of
/// another organization, or none at all, is not).
pub async fn belongs(store: &dyn tally_store::Store, org: tally_core::OrgId, scope: BudgetScope) -> bool {
    match scope {
        BudgetScope::Organization => true,
        BudgetScope::Project(p) => store.project(p).await.is_ok_and(|p| p.org_id == org),
        BudgetScope::ApiKey(k) => store.api_key(k).await.is_ok_and(|k| k.org_id == org),
        BudgetScope::Member(u) => store.role_of(org, u).await.is_ok_and(|r| r.is_some()),
    }
}

/// The buckets of a period. Local midnights fall on 15-minute boundaries
/// in every zone in use; one that did not would start at the bucket
/// holding it (counting a few minutes more, never fewer).
pub fn buckets(window: Window, now: Timestamp) -> (i64, i64) {
    let from = window.start.map_or(0, bucket_of);
    let to = window
        .end
        .map_or_else(|| bucket_of(now).saturating_add(AHEAD_BUCKETS), bucket_ceil);
    (from, to)
}

/// What `budget`'s scope has spent in the period containing `now`.
pub async fn spent(store: &dyn tally_store::Store, budget: &Budget, now: Timestamp) -> StoreResult<Money> {
    let window = budget.period.window(&budget.timezone, now);
    let (from_bucket, to_bucket) = buckets(window, now);
    let rows = store
        .usage(UsageQuery {
            scope: scope(budget),
            from_bucket,
            to_bucket,
            group_by: Vec::new(),
            cuts: Vec::new(),
        })
        .await?;
    Ok(rows.iter().fold(Money::ZERO, |sum, (_, t)| sum.saturating_add(t.cost)))
}
