//! `tally budget …`: an organization's budgets from the command line, the
//! same rules as `/api/organizations/{orgId}/budgets` (the scope must be of
//! the organization). Prints `key=value` lines; a list, one block per
//! budget separated by a blank line.

use anyhow::{Context, bail};
use clap::Subcommand;
use tally_core::{Amount, BudgetAction, BudgetId, BudgetScope, Email, OrgId, Period, Thresholds, TimeZone};
use tally_server::budgets::spend;
use tally_store::{Budget, Store};

use crate::admin::{arg, open, print};
use crate::config::Overrides;

#[derive(Subcommand)]
pub enum BudgetCommand {
    /// Create a budget.
    Create {
        #[arg(long)]
        org: String,
        /// `organization`, `project:<id>`, `api-key:<id>` or `member:<e-mail>`.
        #[arg(long)]
        scope: String,
        /// USD, exact (`10`, `0.50`).
        #[arg(long)]
        amount: String,
        /// `day`, `week` (from Monday), `month` or `total`.
        #[arg(long)]
        period: String,
        /// The IANA zone its periods follow (default: the organization's).
        #[arg(long)]
        timezone: Option<String>,
        /// `block` (the gateway refuses once spent) or `alert`.
        #[arg(long)]
        action: String,
        /// Percentages of the amount to alert at, comma-separated.
        #[arg(long, default_value = "")]
        thresholds: String,
        /// E-mail of the member who sets it.
        #[arg(long)]
        created_by: String,
        #[command(flatten)]
        o: Overrides,
    },
    /// List an organization's budgets with their spend now.
    List {
        #[arg(long)]
        org: String,
        #[command(flatten)]
        o: Overrides,
    },
    /// Change a budget (what is not given is kept).
    Update {
        #[arg(long)]
        org: String,
        #[arg(long)]
        budget: String,
        #[arg(long)]
        amount: Option<String>,
        #[arg(long)]
        period: Option<String>,
        #[arg(long)]
        timezone: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        thresholds: Option<String>,
        #[command(flatten)]
        o: Overrides,
    },
    /// Delete a budget.
    Delete {
        #[arg(long)]
        org: String,
        #[arg(long)]
        budget: String,
        #[command(flatten)]
        o: Overrides,
    },
}

pub async fn run(cmd: BudgetCommand) -> anyhow::Result<()> {
    match cmd {
        BudgetCommand::Create {
            org,
            scope,
            amount,
            period,
            timezone,
            action,
            thresholds,
            created_by,
            o,
        } => {
            let org: OrgId = arg("org", org.parse())?;
            let amount: Amount = arg("amount", amount.parse())?;
            let period: Period = arg("period", period.parse())?;
            let timezone = timezone.map(|z| arg("timezone", TimeZone::parse(&z))).transpose()?;
            let action: BudgetAction = arg("action", action.parse())?;
            let thresholds: Thresholds = arg("thresholds", thresholds.parse())?;
            let email = arg("created-by", Email::parse(&created_by))?;
            let (store, _) = open(&o).await?;
            let organization = store.org(org).await.with_context(|| format!("no organization {org}"))?;
            let timezone = timezone.unwrap_or(organization.timezone);
            let creator = store
                .user_by_email(&email)
                .await
                .with_context(|| format!("no user {email}"))?;
            if store.role_of(org, creator.id).await?.is_none() {
                bail!("{email} is not a member of the organization");
            }
            let scope = scope_in(store.as_ref(), org, &scope).await?;
            let budget = Budget {
                id: BudgetId::new(),
                org_id: org,
                scope,
                amount,
                period,
                timezone,
                action,
                thresholds,
                created_by: creator.id,
                created_at: jiff::Timestamp::now(),
            };
            let budget = store.create_budget(budget).await?;
            show(store.as_ref(), &budget).await
        }
        BudgetCommand::List { org, o } => {
            let org: OrgId = arg("org", org.parse())?;
            let (store, _) = open(&o).await?;
            store.org(org).await.with_context(|| format!("no organization {org}"))?;
            for (i, b) in store.budgets(org).await?.iter().enumerate() {
                if i > 0 {
                    println_blank()?;
                }
                show(store.as_ref(), b).await?;
            }
            Ok(())
        }
        BudgetCommand::Update {
            org,
            budget,
            amount,
            period,
            timezone,
            action,
            thresholds,
            o,
        } => {
            let org: OrgId = arg("org", org.parse())?;
            let id: BudgetId = arg("budget", budget.parse())?;
            let amount = amount.map(|a| arg("amount", a.parse::<Amount>())).transpose()?;
            let period = period.map(|p| arg("period", p.parse::<Period>())).transpose()?;
            let timezone = timezone.map(|z| arg("timezone", TimeZone::parse(&z))).transpose()?;
            let action = action.map(|a| arg("action", a.parse::<BudgetAction>())).transpose()?;
            let thresholds = thresholds
                .map(|t| arg("thresholds", t.parse::<Thresholds>()))
                .transpose()?;
            let (store, _) = open(&o).await?;
            let mut b = found(store.budget(org, id).await, id)?;
            b.amount = amount.unwrap_or(b.amount);
            b.period = period.unwrap_or(b.period);
            b.timezone = timezone.unwrap_or(b.timezone);
            b.action = action.unwrap_or(b.action);
            b.thresholds = thresholds.unwrap_or(b.thresholds);
            let b = store.update_budget(b).await?;
            show(store.as_ref(), &b).await
        }
        BudgetCommand::Delete { org, budget, o } => {
            let org: OrgId = arg("org", org.parse())?;
            let id: BudgetId = arg("budget", budget.parse())?;
            let (store, _) = open(&o).await?;
            found(store.delete_budget(org, id).await, id)?;
            print(&[("deleted_budget", id.to_string())])
        }
    }
}

fn println_blank() -> anyhow::Result<()> {
    use std::io::Write;
    writeln!(std::io::stdout().lock())?;
    Ok(())
}

fn found<T>(r: tally_store::StoreResult<T>, id: BudgetId) -> anyhow::Result<T> {
    match r {
        Err(tally_store::StoreError::NotFound) => bail!("no budget {id} in this organization"),
        other => Ok(other?),
    }
}

/// `organization`, `project:<id>`, `api-key:<id>` or `member:<e-mail>`,
/// of `org`.
async fn scope_in(store: &dyn Store, org: OrgId, raw: &str) -> anyhow::Result<BudgetScope> {
    let (kind, id) = raw.split_once(':').map_or((raw, None), |(k, id)| (k, Some(id)));
    let scope = match (kind, id) {
        ("member", Some(email)) => {
            let email = arg("scope", Email::parse(email))?;
            let user = store
                .user_by_email(&email)
                .await
                .with_context(|| format!("--scope: no user {email}"))?;
            BudgetScope::Member(user.id)
        }
        ("api-key", id) => arg("scope", BudgetScope::parse("apiKey", id))?,
        (kind, id) => arg("scope", BudgetScope::parse(kind, id))?,
    };
    let ours = spend::belongs(store, org, scope).await;
    if !ours {
        bail!("--scope: no {} {} in organization {org}", scope.kind(), raw);
    }
    Ok(scope)
}

async fn show(store: &dyn Store, b: &Budget) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let spent = spend::spent(store, b, now).await?;
    let window = b.period.window(&b.timezone, now);
    let scope = match b.scope.id() {
        Some(id) => format!("{}:{id}", b.scope.kind()),
        None => b.scope.kind().to_owned(),
    };
    print(&[
        ("budget_id", b.id.to_string()),
        ("scope", scope),
        ("amount", b.amount.money().to_string()),
        ("period", b.period.to_string()),
        ("timezone", b.timezone.name().to_owned()),
        ("action", b.action.as_str().to_owned()),
        ("thresholds", b.thresholds.to_text()),
        ("spent", spent.to_string()),
        ("resets_at", window.end.map(|t| t.to_string()).unwrap_or_default()),
    ])
}
