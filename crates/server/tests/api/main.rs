//! The management API tested over real HTTP: a server on 127.0.0.1:0 with
//! a fresh embedded store per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod activity;
mod analytics;
mod analytics_time;
mod authz;
mod bad_input;
mod body_capture;
mod breakdowns;
mod budgets;
mod doors;
mod fixture;
mod flows;
mod helpers;
mod invitations;
mod key_expiry;
mod secrets;
mod smoke;
