//! Support for the benchmarks: the end-to-end test harness (a real Synapse, real matrix-sdk
//! clients), included unchanged from `tests/e2e/support/`, plus what only the benchmarks need:
//! the bot as a separate process measured through `/proc` ([`process`]), the shared set-up
//! ([`env`]) and the statistics and report helpers ([`stats`]).

// The harness has helpers the benchmarks do not use.
#![allow(dead_code)]

#[path = "../../tests/e2e/support/client.rs"]
pub mod client;
#[path = "../../tests/e2e/support/mas.rs"]
pub mod mas;
#[path = "../../tests/e2e/support/postgres.rs"]
pub mod postgres;
#[path = "../../tests/e2e/support/secrets.rs"]
pub mod secrets;
#[path = "../../tests/e2e/support/synapse.rs"]
pub mod synapse;

pub mod env;
pub mod pong;
pub mod process;
pub mod stats;
