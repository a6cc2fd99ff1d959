//! What spend controls add to a request on the gateway's path, in
//! isolation: the rate limiter's admission and token charge, and the
//! budgets' admission (a reservation on each covering budget), the swap of
//! the reservation for the cost and its commit mark, for a key covered by
//! three blocking budgets and both limits, against a key with none. The
//! same calls the gateway makes, on the same types, with the budgets read
//! from a real embedded store first; nothing here touches the store.

use std::sync::Arc;
use std::time::Instant;

use tally_core::{BudgetAction, BudgetId, BudgetScope, Email, Money, Name, Password, PerMinute, Plan, RateLimits};
use tally_server::api_key::limits::Limiter;
use tally_server::budgets::{Budgets, REFRESH};
use tally_server::clock::SystemClock;
use tally_server::{KeyHasher, accounts};
use tally_store::sqlite::SqliteStore;
use tally_store::{AccountStore, ApiKey, Budget, BudgetStore};

#[derive(clap::Args)]
pub struct Args {
    /// Requests to time per key.
    #[arg(long, default_value_t = 2_000_000)]
    requests: u32,
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path())?;
    let hasher = KeyHasher::load_or_create(dir.path())?;
    let email = Email::parse("bench@example.com")?;
    let user = accounts::create_user(
        &store,
        &email,
        &Name::parse("Bench")?,
        &Password::parse("bench-password")?,
    )
    .await?;
    let org = store
        .create_org(&Name::parse("Bench")?, Plan::Enterprise, user.id)
        .await?;
    let project = store.create_project(org.id, &Name::parse("P")?).await?;
    let (key, _) = accounts::create_api_key(&store, &hasher, project.id, &Name::parse("controlled")?, user.id).await?;
    let limit = PerMinute::new(1_000_000_000)?;
    let key = store
        .set_api_key_limits(
            key.id,
            RateLimits {
                requests_per_minute: Some(limit),
                tokens_per_minute: Some(limit),
            },
        )
        .await?;
    // The plain key is in another organization, so the budgets do not cover it.
    let other = store
        .create_org(&Name::parse("Other")?, Plan::Enterprise, user.id)
        .await?;
    let other_project = store.create_project(other.id, &Name::parse("Q")?).await?;
    let (plain_elsewhere, _) =
        accounts::create_api_key(&store, &hasher, other_project.id, &Name::parse("plain")?, user.id).await?;
    for scope in [
        BudgetScope::Organization,
        BudgetScope::Project(project.id),
        BudgetScope::ApiKey(key.id),
    ] {
        store
            .create_budget(Budget {
                id: BudgetId::new(),
                org_id: org.id,
                scope,
                amount: "1000000".parse()?,
                period: tally_core::Period::Month,
                timezone: tally_core::TimeZone::parse("Asia/Kolkata")?,
                action: BudgetAction::Block,
                thresholds: "50,80,100".parse()?,
                created_by: user.id,
                created_at: jiff::Timestamp::now(),
            })
            .await?;
    }
    let clock = Arc::new(SystemClock);
    let budgets = Budgets::new(clock.clone(), 1, REFRESH, Arc::new(tokio::sync::Notify::new()));
    budgets.refresh(&store).await;
    let limiter = Limiter::new(clock);
    let prices = tally_catalog::Catalog::builtin()
        .prices("openai", "gpt-4o-mini")
        .ok_or_else(|| anyhow::anyhow!("gpt-4o-mini is not in the catalog"))?;

    println!("| key | per request | calls |");
    println!("|---|---|---|");
    for (name, k) in [("no controls", &plain_elsewhere), ("3 budgets + 2 rate limits", &key)] {
        let ns = time(&budgets, &limiter, k, prices, a.requests);
        println!("| {name} | {ns:.0} ns | {} |", a.requests);
    }
    Ok(())
}

/// Nanoseconds per request of what the gateway does for spend controls.
fn time(budgets: &Budgets, limiter: &Limiter, key: &ApiKey, prices: &tally_catalog::Prices, n: u32) -> f64 {
    let began = Instant::now();
    for _ in 0..n {
        if limiter.admit(key).is_err() {
            continue;
        }
        let ceiling = tally_catalog::ceiling(prices, 120, 8);
        let Ok(reservation) = budgets.admit(key, ceiling) else {
            continue;
        };
        reservation.finish(Money::from_nanos(3_000)).committed();
        limiter.charge(key.id, key.limits, 20);
    }
    began.elapsed().as_nanos() as f64 / f64::from(n.max(1))
}
