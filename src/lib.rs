//! Syndic: a chat-ops bot for Synapse administrators.
//!
//! A message flows gate → normalize → parse → authorize → plan → confirm → execute → report;
//! docs/ARCHITECTURE.md maps each step to its module.
#![recursion_limit = "256"]

pub mod admin_api;
pub mod auth;
pub mod bot;
pub mod check;
pub mod command;
pub mod config;
pub mod confirm;
pub mod jobs;
pub mod matrix;
pub mod pipeline;
pub mod report;
pub mod store;
pub mod text;
pub mod units;
pub mod users_csv;
