//! Test support for the end-to-end tests: a real Synapse ([`synapse`]), a second one whose
//! accounts the MAS stand-in owns ([`mas`]), and real Matrix clients playing the human admins
//! ([`client`]).
//!
//! Typical use:
//!
//! ```ignore
//! let hs = Synapse::shared();
//! let alice = Human::new(hs, "alice").await;
//! let room = alice.create_encrypted_room(&[bot_user_id], "ops").await;
//! ```

// Not every test uses every helper.
#![allow(dead_code)]

pub mod client;
pub mod mas;
pub mod secrets;
pub mod synapse;

#[allow(unused_imports)]
pub use client::{
    AsRoomId, DEFAULT_TIMEOUT, Human, Mark, ReceivedFile, ReceivedMessage, ReceivedReaction, Seen,
};
#[allow(unused_imports)]
pub use mas::{CompatToken, Mas};
#[allow(unused_imports)]
pub use synapse::{RegisteredUser, SYNAPSE_VERSION, Synapse, ensure_venv};
pub mod bot;
pub mod postgres;
pub mod proxy;
