//! Syndic: a chat-ops bot for Synapse administrators.
//!
//! A message flows gate → normalize → parse → authorize → plan → confirm → execute → report;
//! docs/ARCHITECTURE.md maps each step to its module.
#![recursion_limit = "256"]

pub mod admin_api;
