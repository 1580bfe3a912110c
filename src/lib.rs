//! Syndic: a chat-ops bot for Synapse administrators.
//!
//! A message flows gate → normalize → parse → authorize → plan → confirm → execute → report;
//! docs/ARCHITECTURE.md maps each step to its module. Layers, top to bottom (each imports only
//! from below): `app` → `command` → `jobs` → `context` → the leaves.
#![recursion_limit = "256"]

pub mod app;
pub mod audit_cli;
mod command;
mod context;
mod jobs;

// Leaves.
mod admin_api;
mod auth;
pub mod check;
pub mod config;
mod confirm;
mod matrix;
mod metrics;
mod report;
mod store;
mod text;
mod units;
mod users_csv;

#[cfg(test)]
mod structure_tests;
