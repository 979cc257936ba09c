//! Synchronous client library for `wardend`, shaped after seed 004's crypto API.
//!
//! An application connects a [`CryptoStack`], generates or imports keys through
//! [`CryptoStack::key_management`] (each key is a [`ResourceGuard`] that releases it on drop),
//! and runs streaming contexts (`init → update* → finalize`, `reset` to reuse) for hash, MAC,
//! cipher, AEAD, sign and verify. Keys stay in the daemon; only their ids cross the socket.
//!
//! - **One connection per process and socket** (seed decision 3): every stack for the same
//!   socket path shares it, so key ids are valid across stacks; requests are serialised on it.
//! - **Timeouts** (seed decision 7): a stack-wide default of 5000 ms
//!   ([`StackConfig::default_timeout`]), a per-context override in the [`ContextConfig`], and an
//!   explicit disable. The deadline travels in every request and the daemon enforces it; the
//!   client also stops waiting after the deadline plus a grace period.
//! - **One request per operation** (protocol 1.1): [`HashContext::digest`],
//!   [`MacContext::compute`] / [`MacContext::check`], [`SignContext::sign`],
//!   [`VerifyContext::verify`], [`AeadContext::seal`] / [`AeadContext::open`] and
//!   [`CipherContext::apply`] run a whole operation on a reusable context in one round trip
//!   (the streaming calls need three or four); against a 1.0 daemon or for data larger than a
//!   frame they fall back to the streaming requests.
//! - **Data plane** (messages of any size): a [`MemoryAllocator`] hands out shared-memory
//!   [`MemoryRegion`]s; contexts take [`RegionSlice`]s of them (`seal_region`, `sign_region`,
//!   ...), and [`AeadContext::seal_regions`] / [`AeadContext::open_regions`] pipeline many
//!   messages at the cipher's throughput instead of one round trip each
//!   ([`SignContext::sign_many`] / [`VerifyContext::verify_many`] for small inline messages).
//! - **Errors** carry the stable protocol code: [`Error::code`].
//! - **Daemon identity**: before sending anything, the client asks the kernel who listens on
//!   the socket and refuses ([`Error::UntrustedDaemon`]) anyone but root, this process's own
//!   uid, or a uid named by [`StackConfig::trusted_daemon_uid`] / `WARDEN_DAEMON_UIDS`: a
//!   socket path another user took over cannot collect imported keys.
//!
//! ```
//! use warden_client::*;
//! # // Hidden set-up: an in-process daemon on a temporary socket, so this example runs.
//! # let dir = tempfile::tempdir().expect("tempdir");
//! # let mut cfg = warden_daemon::Config::default();
//! # cfg.socket.path = Some(dir.path().join("wardend.sock"));
//! # let daemon = warden_daemon::Daemon::start(cfg).expect("daemon");
//! # let socket = daemon.socket_path().to_owned();
//! let stack = CryptoStack::connect(StackConfig::new().socket_path(&socket))?;
//! let km = stack.key_management();
//! let key = km.generate_key(
//!     &GenerateKeyParams::builder()
//!         .algorithm(Algorithm::HmacKey)
//!         .key_len(32)
//!         .permissions(KeyOperationPermission::MAC)
//!         .build()?,
//! )?;
//! let mut mac = stack.create_mac_context(
//!     &ContextConfig::builder().algorithm(Algorithm::HmacSha256).key(key.id()).build()?,
//! )?;
//! drop(key); // the context keeps the key alive in the daemon
//! mac.init()?;
//! mac.update(b"hello")?;
//! let tag = mac.finalize()?;
//! assert_eq!(tag.len(), 32);
//! # Ok::<(), warden_client::Error>(())
//! ```
//!
//! Examples in these docs start an in-process daemon in hidden lines and run as doctests;
//! a real application connects to the system `wardend` with `StackConfig::new()` (the
//! `WARDEN_SOCKET` variable or the default path).

#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod certs;
mod codec;
mod config;
mod connection;
mod context;
mod error;
mod key_regions;
mod keys;
mod link;
mod memory;
mod permits;
mod protocol;
mod registry;
mod slots;
mod stack;
mod trust;

pub use certs::{CertInfo, Leaf, VerifyOptions};
pub use config::{
    DEFAULT_CLIENT_GRACE, DEFAULT_CONNECT_TIMEOUT, MAX_BUSY_POLL, SOCKET_ENV, SYSTEM_SOCKET_PATH,
    StackConfig, default_socket_path,
};
pub use connection::MAX_DAEMON_FRAME_LEN;
pub use context::{
    AeadContext, CipherContext, HashContext, MacContext, OpenJob, PIPELINE_DEPTH, SealJob, Sealed,
    SealedRegion, SignContext, VerifyContext,
};
pub use error::{Error, Result};
pub use keys::{KeyManagement, ResourceGuard};
pub use memory::{MemoryAllocator, MemoryRegion, RegionSlice};
pub use permits::{PermitDecision, PolicyInfo, TrustedIssuer};
pub use protocol::{MAX_VERSION, MIN_VERSION};
pub use slots::SlotInfo;
pub use stack::{CryptoStack, DaemonStatus};
pub use trust::DAEMON_UIDS_ENV;
pub use warden_wire::messages::ProviderSummary;

// The shared vocabulary, so applications need only this crate.
pub use warden_core::{
    AgreeKeyParams, Algorithm, AlgorithmClass, CipherDirection, ContextConfig, ContextOptions,
    DeriveKeyParams, EncapsulateParams, ErrorCode, GenerateKeyParams, ImportKeyParams,
    KdfParameters, KeyFormat, KeyOperationPermission, Persistence, ResourceId, ResourceType,
    SignatureFormat, Timeout, UnwrapKeyParams, WrapKeyParams,
};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
