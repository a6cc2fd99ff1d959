//! Benchmarks of tally: gateway overhead, ingest rate and dashboard query
//! latency. Not tests: nothing here asserts. Run with `--release`; see
//! BENCHMARKS.md for the commands and the results.

// A report tool: its output is the point.
#![allow(clippy::print_stdout)]

mod controls;
mod cpu;
mod dataset;
mod ingest;
mod log;
mod overhead;
mod passthrough;
mod queries;
mod stats;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tally-bench", about = "Benchmarks of the tally gateway and analytics")]
struct Cli {
    #[command(subcommand)]
    suite: Suite,
}

#[derive(Subcommand)]
enum Suite {
    /// Added latency of the gateway (recording on) over calling the mock directly.
    Overhead(overhead::Args),
    /// Sustained events per second into the embedded store, and ingestion-to-visible lag.
    Ingest(ingest::Args),
    /// A generated dataset, then the latency of every analytics endpoint.
    Queries(queries::Args),
    /// What spend controls add to a request's path, in isolation.
    Controls(controls::Args),
    /// A proxy that only passes requests on (the overhead suite starts it).
    Passthrough(passthrough::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match cli.suite {
            Suite::Overhead(a) => overhead::run(a).await,
            Suite::Ingest(a) => ingest::run(a).await,
            Suite::Queries(a) => queries::run(a).await,
            Suite::Passthrough(a) => passthrough::run(a).await,
            Suite::Controls(a) => controls::run(a).await,
        }
    })
}
