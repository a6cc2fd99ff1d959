//! Configuration: a TOML file, then `TALLY_*` environment variables, then
//! command-line flags, each overriding the one before.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use tally_core::TimeZone;
use tally_server::ConnectionLimits;
use tally_server::gateway::providers::{Provider, ProviderConfig};
use tally_server::gateway::routing::Providers;
use tally_server::login::LoginLimits;
use tally_server::security::SecuritySettings;

/// Flags shared by every command that opens the store.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Overrides {
    /// TOML configuration file.
    #[arg(long, env = "TALLY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, env = "TALLY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory holding the embedded database and the secret key.
    #[arg(long, env = "TALLY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `tally=debug` (also TALLY_LOG).
    #[arg(long, env = "TALLY_LOG")]
    pub log: Option<String>,
    /// PostgreSQL instead of the embedded store: postgres://user:password@host:port/database.
    #[arg(long, env = "TALLY_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections to PostgreSQL kept open at most, per process.
    #[arg(long, env = "TALLY_DATABASE_POOL_SIZE")]
    pub database_pool_size: Option<usize>,
    /// Time zones whose local days the embedded store keeps rollups for, so
    /// daily analytics in them read one row per day (comma-separated IANA
    /// names, e.g. Asia/Kolkata,Europe/Berlin).
    #[arg(long, env = "TALLY_LOCAL_DAY_ZONES", value_delimiter = ',')]
    pub local_day_zones: Option<Vec<String>>,
    /// Replicas sharing the database that budgets assume at least (each
    /// counts its own spend in flight this many times over).
    #[arg(long, env = "TALLY_BUDGET_REPLICAS")]
    pub budget_replicas: Option<u32>,
}

/// The configuration file's shape. Unknown keys are an error, so a typo
/// does not silently fall back to a default.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    log: Option<String>,
    #[serde(default)]
    providers: BTreeMap<String, ProviderConfig>,
    database: Option<DatabaseConfig>,
    analytics: Option<AnalyticsConfig>,
    server: Option<ServerConfig>,
    auth: Option<AuthConfig>,
    budgets: Option<BudgetsConfig>,
}

/// `[budgets]`: how replicas enforce budgets together.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct BudgetsConfig {
    replicas: Option<u32>,
    refresh_ms: Option<u64>,
}

/// `[server]`: how tally is reached and what a client connection may cost.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ServerConfig {
    /// Always mark the session cookie `Secure` (served over HTTPS).
    secure_cookies: Option<bool>,
    /// Behind a reverse proxy: count logins by the last `X-Forwarded-For` address.
    trust_proxy: Option<bool>,
    request_header_timeout_secs: Option<u64>,
    request_body_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
}

impl ServerConfig {
    fn limits(&self) -> anyhow::Result<ConnectionLimits> {
        let defaults = ConnectionLimits::default();
        let secs = |key: &str, value: Option<u64>, default: Duration| match value {
            Some(0) => anyhow::bail!("server.{key} must be at least 1"),
            Some(n) => Ok(Duration::from_secs(n)),
            None => Ok(default),
        };
        let max_connections = match self.max_connections {
            Some(0) => anyhow::bail!("server.max_connections must be at least 1"),
            Some(n) => n,
            None => defaults.max_connections,
        };
        Ok(ConnectionLimits {
            header_timeout: secs(
                "request_header_timeout_secs",
                self.request_header_timeout_secs,
                defaults.header_timeout,
            )?,
            body_idle_timeout: secs(
                "request_body_timeout_secs",
                self.request_body_timeout_secs,
                defaults.body_idle_timeout,
            )?,
            max_connections,
        })
    }
}

/// `[auth]`: login limits (defaults in `tally_server::login`).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct AuthConfig {
    login_failures_per_account: Option<u32>,
    login_failures_per_address: Option<u32>,
    login_window_secs: Option<u64>,
    hash_concurrency: Option<usize>,
    hash_wait_secs: Option<u64>,
}

impl AuthConfig {
    fn limits(self) -> anyhow::Result<LoginLimits> {
        let d = LoginLimits::default();
        let positive = |name: &str, v: u64| {
            if v == 0 {
                anyhow::bail!("auth.{name} must be at least 1");
            }
            Ok(v)
        };
        Ok(LoginLimits {
            failures_per_account: positive(
                "login_failures_per_account",
                self.login_failures_per_account
                    .map_or(d.failures_per_account.into(), u64::from),
            )? as u32,
            failures_per_address: positive(
                "login_failures_per_address",
                self.login_failures_per_address
                    .map_or(d.failures_per_address.into(), u64::from),
            )? as u32,
            window: Duration::from_secs(positive(
                "login_window_secs",
                self.login_window_secs.unwrap_or(d.window.as_secs()),
            )?),
            hash_concurrency: positive(
                "hash_concurrency",
                self.hash_concurrency.map_or(d.hash_concurrency as u64, |n| n as u64),
            )? as usize,
            hash_wait: Duration::from_secs(positive(
                "hash_wait_secs",
                self.hash_wait_secs.unwrap_or(d.hash_wait.as_secs()),
            )?),
        })
    }
}

/// `[analytics]`: how analytics are kept.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct AnalyticsConfig {
    local_day_zones: Option<Vec<String>>,
}

/// `[database]`: where the store lives when it is not the embedded one.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct DatabaseConfig {
    url: Option<String>,
    pool_size: Option<usize>,
}

/// The settings in effect.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub log: String,
    /// `[providers.<id>]` tables, as written.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// PostgreSQL (`postgres://…`) instead of the embedded store; the data
    /// directory then holds only `secret.key`.
    pub database_url: Option<String>,
    /// PostgreSQL connections kept open at most.
    pub pool_size: usize,
    /// Zones whose local days get their own rollups (`[analytics] local_day_zones`).
    pub local_day_zones: Vec<TimeZone>,
    /// `[server]`: timeouts and the cap on client connections.
    pub connection_limits: ConnectionLimits,
    /// `[server] secure_cookies`, `[server] trust_proxy` and `[auth]`.
    pub security: SecuritySettings,
    /// `[budgets]`: replicas assumed at least, and how often spend is read.
    pub budget_replicas: u32,
    pub budget_refresh: Duration,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./tally-data";

impl Config {
    pub fn load(o: &Overrides, default_data_dir: &Path) -> anyhow::Result<Config> {
        let file = match &o.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str::<FileConfig>(&text).with_context(|| format!("invalid config {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let default_listen: SocketAddr = DEFAULT_LISTEN.parse().context("default listen address")?;
        let database = file.database.unwrap_or_default();
        let database_url = o.database_url.clone().or(database.url).filter(|u| !u.trim().is_empty());
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            anyhow::bail!("database.url must start with postgres:// or postgresql://");
        }
        let pool_size = o
            .database_pool_size
            .or(database.pool_size)
            .unwrap_or(tally_store::postgres::DEFAULT_POOL_SIZE);
        if pool_size == 0 {
            anyhow::bail!("database.pool_size must be at least 1");
        }
        let local_day_zones = o
            .local_day_zones
            .clone()
            .or(file.analytics.and_then(|a| a.local_day_zones))
            .unwrap_or_default()
            .iter()
            .map(|z| z.trim())
            .filter(|z| !z.is_empty())
            .map(|z| TimeZone::parse(z).map_err(|e| anyhow::anyhow!("analytics.local_day_zones: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let budgets = file.budgets.unwrap_or_default();
        let budget_replicas = o.budget_replicas.or(budgets.replicas).unwrap_or(1);
        if !(1..=1000).contains(&budget_replicas) {
            anyhow::bail!("budgets.replicas must be from 1 to 1000");
        }
        let refresh_ms = budgets
            .refresh_ms
            .unwrap_or(tally_server::budgets::REFRESH.as_millis() as u64);
        if !(10..=3_600_000).contains(&refresh_ms) {
            anyhow::bail!("budgets.refresh_ms must be from 10 to 3600000");
        }
        let server = file.server.unwrap_or_default();
        let connection_limits = server.limits()?;
        let security = SecuritySettings {
            login: file.auth.unwrap_or_default().limits()?,
            secure_cookies: server.secure_cookies.unwrap_or(false),
            trust_proxy: server.trust_proxy.unwrap_or(false),
        };
        Ok(Config {
            listen: o.listen.or(file.listen).unwrap_or(default_listen),
            data_dir: o
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| default_data_dir.to_owned()),
            log: o.log.clone().or(file.log).unwrap_or_else(|| "info".to_owned()),
            providers: file.providers,
            database_url,
            pool_size,
            local_day_zones,
            connection_limits,
            security,
            budget_replicas,
            budget_refresh: Duration::from_millis(refresh_ms),
        })
    }

    /// The configured providers, API keys read from the environment.
    pub fn resolve_providers(&self) -> anyhow::Result<Providers> {
        let resolved = self
            .providers
            .iter()
            .map(|(id, config)| Provider::resolve(id, config, |var| std::env::var(var).ok()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Providers::new(resolved))
    }
}
