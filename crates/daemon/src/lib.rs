//! `wardend`, the warden crypto daemon, as a library.
//!
//! A connection is authenticated once, at accept: `listener` (Unix socket in a vetted
//! directory, `socket_dir`) → `server` (event loop: `auth` reads the peer's credentials from
//! the kernel and applies the allow-list before anything is read) → a worker. A request then
//! travels, one module per stage: `connection` (non-blocking framing into the connection's
//! arena) → `dispatch` (handshake gate, version, deadline, opcode → handler; long work —
//! RSA/SLH-DSA, large PBKDF2, classified by `long_ops` — goes to the `lane` threads instead)
//! → `handlers` → provider (`warden-crypto`) → `resources` (per-connection refcounted table).
//! Slot and permit handlers also reach `state` (the `warden-store` slot store with its ACL,
//! the `warden-permits` service and the audit log).
//!
//! Dependencies run one way along that path: the types every stage shares live in leaves —
//! `request` (`ConnState`, `Flow`, `Deadline`, `Ctx`, `Outcome`), `shared` (`Shared`, the
//! state every thread reads), `slot_cache` — so no handler imports an I/O module.
//!
//! ```no_run
//! use warden_daemon::{Config, Daemon};
//! let mut config = Config::default();
//! config.socket.path = Some("/tmp/example-wardend.sock".into());
//! let daemon = Daemon::start(config)?;
//! println!("listening on {}", daemon.socket_path().display());
//! daemon.shutdown();
//! # Ok::<(), warden_daemon::DaemonError>(())
//! ```

#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

pub mod config;

mod auth;
mod budget;
mod closer;
mod codec;
mod connection;
mod daemon;
mod dispatch;
mod error;
mod handlers;
mod hardening;
mod held;
mod lane;
mod listener;
mod long_ops;
mod loopback;
mod provider;
pub mod providers_config;
mod rate;
mod regions;
mod request;
mod resources;
mod server;
mod shared;
mod slot_cache;
mod socket_activation;
mod socket_dir;
mod socket_group;
mod socket_write;
mod state;
mod stats;
mod token_keys;
mod trusted_file;

pub use auth::PeerIdentity;
pub use budget::MemoryBudget;
pub use config::Config;
pub use daemon::{Daemon, RunningDaemon};
pub use error::DaemonError;
pub use loopback::Loopback;
pub use stats::{ResourceKind, StatusSnapshot};
pub use trusted_file::check_trusted_file;

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
