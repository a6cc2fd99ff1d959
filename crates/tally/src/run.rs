//! `tally serve` and `tally demo`.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use tally_server::{AppState, KeyHasher, demo};
use tally_store::sqlite::SqliteStore;
use tokio::net::TcpListener;

use crate::config::{Config, DEFAULT_DATA_DIR, Overrides};

pub async fn serve(overrides: Overrides, demo_mode: bool) -> anyhow::Result<()> {
    let default_dir = if demo_mode {
        std::env::temp_dir().join("tally-demo")
    } else {
        DEFAULT_DATA_DIR.into()
    };
    let config = Config::load(&overrides, &default_dir)?;
    init_logging(&config.log);

    let store = SqliteStore::open(&config.data_dir).context("cannot open the store")?;
    let hasher = KeyHasher::load_or_create(&config.data_dir).context("cannot load the secret key")?;
    if demo_mode && !demo::is_seeded(&store).await? {
        demo::seed(&store, &hasher).await.context("cannot seed the demo data")?;
    }

    let listener = bind(&config, demo_mode).await?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "data directory: {}", config.data_dir.display())?;
    if demo_mode {
        writeln!(out, "demo logins (password: {}):", demo::DEMO_PASSWORD)?;
        for (email, who) in demo::logins() {
            writeln!(out, "  {email:<20} {who}")?;
        }
        writeln!(out, "dashboard: http://{addr}/")?;
    }
    // Last, so that whoever waits for this line has read everything above.
    writeln!(out, "tally is listening on http://{addr}/ (Ctrl-C stops)")?;
    out.flush()?;
    drop(out);

    let state = AppState::new(Arc::new(store), hasher);
    tally_server::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Binds the configured address. The demo falls back to a free port when
/// its default port is taken, so it always starts.
async fn bind(config: &Config, demo_mode: bool) -> anyhow::Result<TcpListener> {
    match TcpListener::bind(config.listen).await {
        Ok(l) => Ok(l),
        Err(e) if demo_mode && e.kind() == std::io::ErrorKind::AddrInUse => {
            let any = std::net::SocketAddr::new(config.listen.ip(), 0);
            TcpListener::bind(any)
                .await
                .with_context(|| format!("cannot listen on {any}"))
        }
        Err(e) => Err(e).with_context(|| format!("cannot listen on {}", config.listen)),
    }
}

fn init_logging(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
