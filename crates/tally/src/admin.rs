//! Admin commands for headless set-up. Each opens the configured store
//! directly (safe beside a running server: SQLite serialises writers,
//! PostgreSQL is shared anyway) and prints `key=value` lines that scripts
//! can read.

use std::io::{BufRead, Write};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use tally_core::{ApiKeyId, Email, Name, OrgId, Password, PerMinute, Plan, ProjectId, RateLimits};
use tally_server::{KeyHasher, accounts};
use tally_store::Store;

use crate::config::{Config, DEFAULT_DATA_DIR, Overrides};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input (one line).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        o: Overrides,
    },
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Create an organization owned by an existing user.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "free")]
        plan: String,
        /// E-mail of the user who becomes its owner.
        #[arg(long)]
        owner: String,
        #[command(flatten)]
        o: Overrides,
    },
}

#[derive(Subcommand)]
pub enum ProjectCommand {
    /// Create a project in an organization.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        o: Overrides,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an API key; its secret is printed once.
    Create {
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: String,
        /// E-mail of the member the key's spend is attributed to.
        #[arg(long)]
        created_by: String,
        /// When the gateway starts refusing the key (RFC 3339, within ten years).
        #[arg(long)]
        expires_at: Option<String>,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        o: Overrides,
    },
    /// Set an API key's rate limits (`none` lifts one; an omitted one is kept).
    Limit {
        /// The key's id (`key_id=` from `tally key create`).
        #[arg(long)]
        key: String,
        #[command(flatten)]
        limits: LimitArgs,
        #[command(flatten)]
        o: Overrides,
    },
    /// Revoke an API key (idempotent); the gateway refuses it within a second.
    Revoke {
        /// The key's id (`key_id=` from `tally key create`).
        #[arg(long)]
        key: String,
        #[command(flatten)]
        o: Overrides,
    },
}

/// A key's rate limits, enforced by the gateway.
#[derive(clap::Args)]
pub struct LimitArgs {
    /// Requests a minute (1 to 1,000,000,000, or `none`).
    #[arg(long)]
    requests_per_minute: Option<String>,
    /// Tokens a minute, input and output (1 to 1,000,000,000, or `none`).
    #[arg(long)]
    tokens_per_minute: Option<String>,
}

/// A limit argument: `Some(None)` for `none`, `None` when not given.
fn limit_arg(name: &str, raw: Option<&str>) -> anyhow::Result<Option<Option<PerMinute>>> {
    match raw {
        None => Ok(None),
        Some("none") => Ok(Some(None)),
        Some(raw) => {
            let n: i64 = raw
                .parse()
                .map_err(|_| anyhow::anyhow!("--{name}: {raw} is not a whole number or `none`"))?;
            Ok(Some(Some(arg(name, PerMinute::new(n))?)))
        }
    }
}

/// Each limit as given: `Some(None)` lifts it, `None` keeps it.
type GivenLimits = (Option<Option<PerMinute>>, Option<Option<PerMinute>>);

impl LimitArgs {
    /// The limits given, each `None` when not given (checked before
    /// anything is opened).
    fn parsed(&self) -> anyhow::Result<GivenLimits> {
        Ok((
            limit_arg("requests-per-minute", self.requests_per_minute.as_deref())?,
            limit_arg("tokens-per-minute", self.tokens_per_minute.as_deref())?,
        ))
    }
}

/// The limits `given`, over `base` for the ones not given.
fn over(given: GivenLimits, base: RateLimits) -> RateLimits {
    RateLimits {
        requests_per_minute: given.0.unwrap_or(base.requests_per_minute),
        tokens_per_minute: given.1.unwrap_or(base.tokens_per_minute),
    }
}

/// A limit as printed: the number, or `none`.
fn shown(l: Option<PerMinute>) -> String {
    l.map_or_else(|| "none".to_owned(), |l| l.get().to_string())
}

#[derive(Subcommand)]
pub enum RollupsCommand {
    /// Recompute every rollup from the raw events (the result equals what
    /// ingestion built). Safe beside a running server.
    Rebuild {
        #[command(flatten)]
        o: Overrides,
    },
}

pub(crate) async fn open(o: &Overrides) -> anyhow::Result<(Arc<dyn Store>, KeyHasher)> {
    let config = Config::load(o, DEFAULT_DATA_DIR.as_ref())?;
    crate::run::open(&config).await
}

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Delete raw activity events older than N days (retention). Rollups
    /// are kept, so analytics still cover those days; the activity log and
    /// `tally rollups rebuild` see only what is left.
    Prune {
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
        older_than_days: u32,
        #[command(flatten)]
        o: Overrides,
    },
}

pub(crate) fn print(lines: &[(&str, String)]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for (k, v) in lines {
        writeln!(out, "{k}={v}")?;
    }
    Ok(())
}

pub(crate) fn arg<T>(name: &str, parsed: Result<T, tally_core::ParseError>) -> anyhow::Result<T> {
    parsed.map_err(|e| anyhow::anyhow!("--{name}: {e}"))
}

pub async fn user(cmd: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Create { email, name, o } = cmd;
    let email = arg("email", Email::parse(&email))?;
    let name = arg("name", Name::parse(&name))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = arg("password (stdin)", Password::parse(line.trim_end_matches(['\r', '\n'])))?;
    let (store, _) = open(&o).await?;
    let user = accounts::create_user(store.as_ref(), &email, &name, &password).await?;
    print(&[("user_id", user.id.to_string()), ("email", user.email.to_string())])
}

pub async fn org(cmd: OrgCommand) -> anyhow::Result<()> {
    let OrgCommand::Create { name, plan, owner, o } = cmd;
    let name = arg("name", Name::parse(&name))?;
    let plan: Plan = arg("plan", plan.parse())?;
    let owner = arg("owner", Email::parse(&owner))?;
    let (store, _) = open(&o).await?;
    let owner = store
        .user_by_email(&owner)
        .await
        .with_context(|| format!("no user {owner}"))?;
    let org = store.create_org(&name, plan, owner.id).await?;
    print(&[("org_id", org.id.to_string()), ("plan", org.plan.to_string())])
}

pub async fn project(cmd: ProjectCommand) -> anyhow::Result<()> {
    let ProjectCommand::Create { org, name, o } = cmd;
    let org: OrgId = arg("org", org.parse())?;
    let name = arg("name", Name::parse(&name))?;
    let (store, _) = open(&o).await?;
    store.org(org).await.with_context(|| format!("no organization {org}"))?;
    let project = store.create_project(org, &name).await?;
    print(&[("project_id", project.id.to_string())])
}

pub async fn key(cmd: KeyCommand) -> anyhow::Result<()> {
    let (project, name, created_by, expires_at, limits, o) = match cmd {
        KeyCommand::Create {
            project,
            name,
            created_by,
            expires_at,
            limits,
            o,
        } => (project, name, created_by, expires_at, limits, o),
        KeyCommand::Limit { key, limits, o } => return limit_key(&key, &limits, &o).await,
        KeyCommand::Revoke { key, o } => return revoke_key(&key, &o).await,
    };
    let limits = over(limits.parsed()?, RateLimits::default());
    let project: ProjectId = arg("project", project.parse())?;
    let name = arg("name", Name::parse(&name))?;
    let email = arg("created-by", Email::parse(&created_by))?;
    let expires_at = match expires_at.as_deref() {
        Some(raw) => Some(arg("expires-at", accounts::key_expiry(raw, jiff::Timestamp::now()))?),
        None => None,
    };
    let (store, hasher) = open(&o).await?;
    let p = store
        .project(project)
        .await
        .with_context(|| format!("no project {project}"))?;
    let creator = store
        .user_by_email(&email)
        .await
        .with_context(|| format!("no user {email}"))?;
    if store.role_of(p.org_id, creator.id).await?.is_none() {
        bail!("{email} is not a member of the project's organization");
    }
    let terms = accounts::KeyTerms { expires_at, limits };
    let (key, secret) =
        accounts::create_api_key_with(store.as_ref(), &hasher, project, &name, creator.id, terms).await?;
    let expires = key.expires_at.map(|t| t.to_string()).unwrap_or_default();
    print(&[
        ("key_id", key.id.to_string()),
        ("key", secret.expose().to_owned()),
        ("expires_at", expires),
        ("requests_per_minute", shown(key.limits.requests_per_minute)),
        ("tokens_per_minute", shown(key.limits.tokens_per_minute)),
    ])
}

async fn limit_key(key: &str, limits: &LimitArgs, o: &Overrides) -> anyhow::Result<()> {
    let id: ApiKeyId = arg("key", key.parse())?;
    let given = limits.parsed()?;
    if given.0.is_none() && given.1.is_none() {
        bail!("give --requests-per-minute, --tokens-per-minute, or both");
    }
    let (store, _) = open(o).await?;
    let current = match store.api_key(id).await {
        Err(tally_store::StoreError::NotFound) => bail!("no API key {id}"),
        other => other?,
    };
    let key = store.set_api_key_limits(id, over(given, current.limits)).await?;
    print(&[
        ("key_id", key.id.to_string()),
        ("requests_per_minute", shown(key.limits.requests_per_minute)),
        ("tokens_per_minute", shown(key.limits.tokens_per_minute)),
    ])
}

async fn revoke_key(key: &str, o: &Overrides) -> anyhow::Result<()> {
    let id: ApiKeyId = arg("key", key.parse())?;
    let (store, _) = open(o).await?;
    let key = match store.revoke_api_key(id, jiff::Timestamp::now()).await {
        Err(tally_store::StoreError::NotFound) => bail!("no API key {id}"),
        other => other?,
    };
    let revoked_at = key.revoked_at.map(|t| t.to_string()).unwrap_or_default();
    print(&[("key_id", key.id.to_string()), ("revoked_at", revoked_at)])
}

pub async fn rollups(cmd: RollupsCommand) -> anyhow::Result<()> {
    let RollupsCommand::Rebuild { o } = cmd;
    let (store, _) = open(&o).await?;
    let rows = store.rebuild_rollups().await?;
    print(&[("rollup_rows", rows.to_string())])
}

pub async fn events(cmd: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Prune { older_than_days, o } = cmd;
    let before = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * i64::from(older_than_days)))
        .context("--older-than-days reaches before any representable time")?;
    let (store, _) = open(&o).await?;
    let deleted = store.prune_events(before).await?;
    print(&[("deleted_events", deleted.to_string()), ("before", before.to_string())])
}
