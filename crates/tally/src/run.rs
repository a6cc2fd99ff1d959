//! `tally serve`, `tally demo` and `tally mock-provider`.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tally_mock_provider::{MockConfig, MockProvider};
use tally_server::clock::SystemClock;
use tally_server::gateway::providers::{Provider, ProviderConfig, WireFormat};
use tally_server::gateway::routing::Providers;
use tally_server::{AppState, KeyHasher, demo};
use tally_store::Store;
use tally_store::postgres::PgStore;
use tally_store::sqlite::SqliteStore;
use tokio::net::TcpListener;

use crate::config::{Config, DEFAULT_DATA_DIR, Overrides};

/// Requests a day of demo history, on average.
const DEMO_PER_DAY: u32 = 160;
const DEMO_PROVIDER_KEY: &str = "demo-provider-key";

pub async fn serve(overrides: Overrides) -> anyhow::Result<()> {
    let config = Config::load(&overrides, DEFAULT_DATA_DIR.as_ref())?;
    init_logging(&config.log);
    let providers = config.resolve_providers()?;
    let (store, hasher) = open(&config).await?;
    apply_local_days(store.as_ref(), &config).await?;
    let listener = bind(config.listen, false).await?;
    let shutdown = shutdown_signal();
    banner(&config, listener.local_addr()?, None)?;
    run(listener, store, hasher, providers, &config, shutdown).await
}

pub async fn demo(overrides: Overrides, history_days: i64) -> anyhow::Result<()> {
    let scratch = std::env::temp_dir().join("tally-demo");
    let fresh = overrides.data_dir.is_none();
    let config = Config::load(&overrides, &scratch)?;
    init_logging(&config.log);
    if fresh && config.data_dir == scratch && scratch.exists() {
        // The demo's own scratch directory: every demo starts afresh.
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    let mock = MockProvider::start(MockConfig {
        expected_api_key: Some(DEMO_PROVIDER_KEY.into()),
        ..MockConfig::default()
    })
    .await
    .context("cannot start the mock provider")?;
    let providers = demo_providers(&mock.base_url())?;
    let (store, hasher) = open(&config).await?;
    apply_local_days(store.as_ref(), &config).await?;

    let mut live_keys = Vec::new();
    if !demo::is_seeded(store.as_ref()).await? {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "seeding the demo: accounts, then {history_days} days of traffic through the gateway…"
        )?;
        drop(out);
        let (info, sent) = demo::prepare(store.clone(), &hasher, providers.clone(), history_days, DEMO_PER_DAY).await?;
        tracing::info!(requests = sent, "demo history recorded");
        live_keys = info
            .keys
            .iter()
            .filter(|k| !k.revoked && !k.former)
            .map(|k| k.secret.clone())
            .collect();
    }

    let listener = bind(config.listen, true).await?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_signal();
    banner(&config, addr, Some(&mock))?;
    tokio::spawn(demo::live::run(format!("http://{addr}"), live_keys));
    run(listener, store, hasher, providers, &config, shutdown).await?;
    mock.shutdown().await;
    Ok(())
}

pub async fn mock_provider(listen: SocketAddr, api_key: Option<String>) -> anyhow::Result<()> {
    init_logging("info");
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_signal();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "mock provider: OpenAI base URL http://{addr}/v1, Anthropic and Azure base URL http://{addr}, Gemini base URL http://{addr}/v1beta/openai"
    )?;
    writeln!(out, "mock provider is listening on http://{addr}/ (Ctrl-C stops)")?;
    drop(out);
    let config = MockConfig {
        expected_api_key: api_key,
        ..MockConfig::default()
    };
    tally_mock_provider::serve(listener, config, shutdown).await?;
    Ok(())
}

/// The demo's providers: five real provider ids and one local model server,
/// all answered by the mock provider.
fn demo_providers(mock_base: &str) -> anyhow::Result<Providers> {
    let openai = |models: &[&str]| ProviderConfig {
        kind: Some(WireFormat::Openai),
        base_url: Some(format!("{mock_base}/v1")),
        api_key_env: Some("TALLY_DEMO_PROVIDER_KEY".into()),
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        ..ProviderConfig::default()
    };
    let anthropic = ProviderConfig {
        kind: Some(WireFormat::Anthropic),
        base_url: Some(mock_base.to_owned()),
        api_key_env: Some("TALLY_DEMO_PROVIDER_KEY".into()),
        ..ProviderConfig::default()
    };
    let azure = ProviderConfig {
        kind: Some(WireFormat::Azure),
        base_url: Some(mock_base.to_owned()),
        api_key_env: Some("TALLY_DEMO_PROVIDER_KEY".into()),
        ..ProviderConfig::default()
    };
    let configs = [
        ("openai", openai(&[])),
        ("anthropic", anthropic),
        ("azure", azure),
        ("mistral", openai(&[])),
        ("groq", openai(&[])),
        ("local", openai(&["llama-3.1-8b-instruct"])),
    ];
    let resolved = configs
        .iter()
        .map(|(id, c)| Provider::resolve(id, c, |_| Some(DEMO_PROVIDER_KEY.to_owned())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Providers::new(resolved))
}

/// The configured store: PostgreSQL when `database.url` is set, else the
/// embedded one in the data directory (which holds `secret.key` either way).
pub(crate) async fn open(config: &Config) -> anyhow::Result<(Arc<dyn Store>, KeyHasher)> {
    let store: Arc<dyn Store> = match &config.database_url {
        Some(url) => Arc::new(
            PgStore::connect(url, config.pool_size)
                .await
                .with_context(|| format!("cannot open the store ({})", tally_store::postgres::describe_url(url)))?,
        ),
        None => Arc::new(SqliteStore::open(&config.data_dir).context("cannot open the store")?),
    };
    let hasher = KeyHasher::load_or_create(&config.data_dir).context("cannot load the secret key")?;
    Ok((store, hasher))
}

/// Keeps local-day rollups for the configured zones and no others (new
/// ones are computed from the rollups already kept, once, before serving).
pub(crate) async fn apply_local_days(store: &dyn Store, config: &Config) -> anyhow::Result<()> {
    let now = jiff::Timestamp::now();
    let offsets: Vec<i64> = config
        .local_day_zones
        .iter()
        .flat_map(|z| z.offsets_around(now))
        .collect();
    let began = std::time::Instant::now();
    let kept = store
        .set_local_day_offsets(offsets.clone())
        .await
        .context("cannot prepare the local-day rollups")?;
    if kept {
        tracing::info!(
            ?offsets,
            elapsed_ms = began.elapsed().as_millis() as u64,
            "local-day rollups ready"
        );
    } else if !config.local_day_zones.is_empty() {
        tracing::warn!("local_day_zones is ignored: only the embedded store keeps local-day rollups");
    }
    Ok(())
}

async fn run(
    listener: TcpListener,
    store: Arc<dyn Store>,
    hasher: KeyHasher,
    providers: Providers,
    config: &Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::with_gateway(store, hasher, providers, Arc::new(SystemClock))
        .with_security(config.security.clone())
        .with_budgets(config.budget_replicas, config.budget_refresh);
    let limits = config.connection_limits;
    tracing::info!(
        header_timeout_secs = limits.header_timeout.as_secs(),
        body_timeout_secs = limits.body_idle_timeout.as_secs(),
        max_connections = limits.max_connections,
        "connection limits"
    );
    tally_server::serve_with(listener, state, limits, shutdown).await?;
    tracing::info!("stopped; every queued activity event is written");
    Ok(())
}

fn banner(config: &Config, addr: SocketAddr, mock: Option<&MockProvider>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "data directory: {}", config.data_dir.display())?;
    if let Some(url) = &config.database_url {
        writeln!(
            out,
            "database: {} (pool of {})",
            tally_store::postgres::describe_url(url),
            config.pool_size
        )?;
    }
    if let Some(mock) = mock {
        writeln!(
            out,
            "mock provider: {} (stands in for openai, anthropic, azure, mistral, groq, local)",
            mock.base_url()
        )?;
        writeln!(out, "demo logins (password: {}):", demo::DEMO_PASSWORD)?;
        for (email, who) in demo::logins() {
            writeln!(out, "  {email:<20} {who}")?;
        }
        writeln!(out, "dashboard: http://{addr}/")?;
        writeln!(
            out,
            "gateway:   http://{addr}/v1 (OpenAI and Anthropic formats; create a key to call it)"
        )?;
    }
    // Last, so that whoever waits for this line has read everything above.
    writeln!(out, "tally is listening on http://{addr}/ (Ctrl-C stops)")?;
    out.flush()?;
    Ok(())
}

/// Binds the address. The demo falls back to a free port when its default
/// port is taken, so it always starts.
async fn bind(listen: SocketAddr, demo_mode: bool) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(listen).await {
        Ok(l) => Ok(l),
        Err(e) if demo_mode && e.kind() == std::io::ErrorKind::AddrInUse => {
            let any = SocketAddr::new(listen.ip(), 0);
            TcpListener::bind(any)
                .await
                .with_context(|| format!("cannot listen on {any}"))
        }
        Err(e) => Err(e).with_context(|| format!("cannot listen on {listen}")),
    }
}

pub(crate) fn init_logging(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: call it before announcing
/// readiness, so that a signal sent right after the banner stops the server
/// gracefully instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let interrupt = async {
                match interrupt.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => {
                        let _ = tokio::signal::ctrl_c().await;
                    }
                }
            };
            tokio::select! {
                () = term => {},
                () = interrupt => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
