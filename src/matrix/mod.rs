//! Matrix glue: login and session restore with E2EE and recovery, the sync loop, the event gate,
//! and the chat port (replies, reactions, edits, files).

pub(crate) mod chat;
pub(crate) mod gate;
pub(crate) mod session;
pub(crate) mod sync;
