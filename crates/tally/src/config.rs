//! Configuration: a TOML file, then `TALLY_*` environment variables, then
//! command-line flags, each overriding the one before.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use tally_server::gateway::providers::{Provider, ProviderConfig};
use tally_server::gateway::routing::Providers;

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
}

/// The settings in effect.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub log: String,
    /// `[providers.<id>]` tables, as written.
    pub providers: BTreeMap<String, ProviderConfig>,
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
        Ok(Config {
            listen: o.listen.or(file.listen).unwrap_or(default_listen),
            data_dir: o
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| default_data_dir.to_owned()),
            log: o.log.clone().or(file.log).unwrap_or_else(|| "info".to_owned()),
            providers: file.providers,
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
