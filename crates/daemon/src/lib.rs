//! `wardend`, the warden crypto daemon, as a library.
//!
//! A request travels, one module per stage: [`config`] → `listener` (Unix socket) →
//! `server` (event loop + worker pool) → `connection` (per-connection arena and resource
//! namespace) → `auth` (peer credentials) → `dispatch` (opcode → handler, deadline check)
//! → `handlers` (long work — RSA/SLH-DSA, large PBKDF2 — on the `lane` threads instead of
//! the worker) → provider (`warden-crypto`) → `resources` (per-connection refcounted
//! table). Slot and permit handlers also reach `state` (the `warden-store` slot store with
//! its ACL, the `warden-permits` service and the audit log).
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
mod codec;
mod connection;
mod daemon;
mod dispatch;
mod error;
mod handlers;
mod hardening;
mod lane;
mod listener;
mod loopback;
mod provider;
mod rate;
mod resources;
mod server;
mod socket_dir;
mod state;
mod stats;

pub use auth::PeerIdentity;
pub use budget::MemoryBudget;
pub use config::Config;
pub use daemon::{Daemon, RunningDaemon};
pub use error::DaemonError;
pub use loopback::Loopback;
pub use stats::{ResourceKind, StatusSnapshot};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
