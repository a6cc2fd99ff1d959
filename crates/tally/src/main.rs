//! The `tally` command: serve, demo, and admin commands for headless set-up.
//! Thin by design: it reads configuration and calls into the library crates.

mod admin;
mod budget;
mod config;
mod migrate;
mod run;
mod webhook;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

#[derive(Parser)]
#[command(name = "tally", version, about = "An LLM gateway whose heart is usage analytics")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server with the configured store.
    Serve(Overrides),
    /// Run the server on a seeded demo store (mock provider, 90 days of
    /// history, live traffic) and print the logins.
    Demo {
        #[command(flatten)]
        o: Overrides,
        /// Days of history to fill when seeding.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(i64).range(0..=400))]
        history_days: i64,
    },
    /// Run the mock provider (OpenAI and Anthropic wire formats) alone.
    MockProvider {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: std::net::SocketAddr,
        /// Require this API key from clients.
        #[arg(long)]
        api_key: Option<String>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Manage organizations.
    #[command(subcommand)]
    Org(admin::OrgCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(admin::ProjectCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(admin::KeyCommand),
    /// Manage budgets.
    #[command(subcommand)]
    Budget(budget::BudgetCommand),
    /// Manage alert webhooks.
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Maintain the usage rollups.
    #[command(subcommand)]
    Rollups(admin::RollupsCommand),
    /// Maintain the raw activity events.
    #[command(subcommand)]
    Events(admin::EventsCommand),
    /// Copy an embedded (SQLite) installation into PostgreSQL, then check
    /// the copy table by table and organization by organization.
    Migrate(migrate::MigrateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(o) => run::serve(o).await,
            Command::Demo { o, history_days } => run::demo(o, history_days).await,
            Command::MockProvider { listen, api_key } => run::mock_provider(listen, api_key).await,
            Command::User(c) => admin::user(c).await,
            Command::Org(c) => admin::org(c).await,
            Command::Project(c) => admin::project(c).await,
            Command::Key(c) => admin::key(c).await,
            Command::Budget(c) => budget::run(c).await,
            Command::Webhook(c) => webhook::run(c).await,
            Command::Rollups(c) => admin::rollups(c).await,
            Command::Events(c) => admin::events(c).await,
            Command::Migrate(args) => migrate::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
