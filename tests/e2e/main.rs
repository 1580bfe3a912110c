//! End-to-end tests of Syndic against a real Synapse (installed from PyPI on first run into
//! `target/synapse-venv`, started once per test binary on 127.0.0.1).
//!
//! Each test module owns one area; `support` owns the harness.
#![recursion_limit = "256"]
// Test support is shared between modules of one binary: `pub` there means "for the tests".
#![allow(unreachable_pub)]

mod accounts;
mod audit;
mod core;
mod harness_smoke;
mod identity;
mod import;
mod inbox;
mod load;
mod maintenance;
mod mas;
mod mas_harness;
mod moderation;
mod service;
mod support;
mod team;
