//! `tally migrate --from <data dir or tally.db> --to <postgres url>`: moves
//! an embedded installation to PostgreSQL. The copy and its check live in
//! the store crate (`tally_store::transfer`); this prints the report and
//! fails on any difference.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use tally_store::postgres::{PgStore, describe_url};
use tally_store::sqlite::{DB_FILE, SqliteStore};
use tally_store::transfer::{self, TransferError};

#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The embedded installation: its data directory or its `tally.db`.
    /// Stop the server using it first (or accept a copy as of the start).
    #[arg(long)]
    from: PathBuf,
    /// The PostgreSQL database to fill: postgres://user:password@host:port/database.
    #[arg(long, env = "TALLY_DATABASE_URL", hide_env_values = true)]
    to: String,
    /// Replace whatever the target database already holds.
    #[arg(long)]
    force: bool,
    /// Log filter (also TALLY_LOG).
    #[arg(long, env = "TALLY_LOG", default_value = "warn")]
    log: String,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<()> {
    crate::run::init_logging(&args.log);
    let (file, data_dir) = if args.from.is_dir() {
        (args.from.join(DB_FILE), Some(args.from.clone()))
    } else {
        (args.from.clone(), args.from.parent().map(PathBuf::from))
    };
    if !file.is_file() {
        // Opening would create an empty database: say what is missing instead.
        bail!(
            "no embedded installation at {} ({} not found)",
            args.from.display(),
            file.display()
        );
    }
    let source = SqliteStore::open_file(&file).with_context(|| format!("cannot open {}", file.display()))?;
    let target = PgStore::connect(&args.to, 2)
        .await
        .with_context(|| format!("cannot open {}", describe_url(&args.to)))?;

    let mut out = std::io::stdout().lock();
    writeln!(out, "copying {} into {}", file.display(), describe_url(&args.to))?;
    drop(out);
    let report = match transfer::sqlite_to_postgres(&source, &target, args.force).await {
        Ok(report) => report,
        Err(e @ TransferError::NotEmpty(_)) => bail!("{e}"),
        Err(e) => return Err(e).context("the copy failed; the target is unchanged"),
    };

    let mut out = std::io::stdout().lock();
    write!(out, "{report}")?;
    let mismatches = report.mismatches();
    if !mismatches.is_empty() {
        out.flush()?;
        drop(out);
        let mut err = std::io::stderr().lock();
        for m in &mismatches {
            writeln!(err, "mismatch: {m}")?;
        }
        bail!(
            "the copy does not match the source ({} differences, listed above)",
            mismatches.len()
        );
    }
    writeln!(
        out,
        "copy verified: every table and every organization's events and rollups match"
    )?;
    let key = data_dir.map(|d| d.join("secret.key")).filter(|k| k.is_file());
    match key {
        Some(key) => writeln!(
            out,
            "next: copy {} into the data directory of every tally process that uses this database \
             (API keys, tokens and sessions are checked against it), then start them with \
             database.url set",
            key.display()
        )?,
        None => writeln!(
            out,
            "next: copy the installation's secret.key into the data directory of every tally process \
             that uses this database (API keys, tokens and sessions are checked against it)"
        )?,
    }
    Ok(())
}
