//! Matrix glue: login and session restore with E2EE and recovery, the sync loop, the event gate,
//! and sending replies, reactions, edits and files.

pub mod gate;
pub mod send;
pub mod session;
pub mod sync;
