//! The gateway over real HTTP: tally on 127.0.0.1:0 with a fresh store, in
//! front of the mock provider on its own port. Events are checked after a
//! graceful stop, which writes every queued event: no sleeping to wait.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod alerts;
mod anthropic;
mod bodies;
mod budgets;
mod careless;
mod connections;
mod end_user;
mod failures;
mod harness;
mod leaving;
mod openai;
mod presets;
mod rate_limits;
mod request_id;
mod settings;
mod shutdown;
mod tags;
mod usage;
