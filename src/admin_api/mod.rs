//! Typed client for the Synapse Admin API.
