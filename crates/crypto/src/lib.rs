//! The crypto provider boundary: the [`Provider`] trait and the types every provider shares.
//!
//! * [`Provider`]: the object-safe trait the daemon depends on (`Arc<dyn Provider>`).
//! * [`Key`]: an opaque key handle (algorithm, permissions, exportable, owning provider's
//!   name) around the provider's own [`ProviderKey`] (rustls's model: the provider owns its
//!   key representation; a hardware provider keeps only a token handle).
//! * [`CryptoContext`]: streaming contexts; [`context::Stream`] is the one state machine
//!   every provider wraps its [`context::Engine`]s in.
//! * [`Registry`]: several providers behind one `Provider`, dispatching on the key's owner.
//! * [`BufferSource`]: the budgeted buffer pool contexts buffer one-shot data in.
//! * `slow::SlowProvider` (feature `test-util`): a test double that sleeps per operation.
//!
//! The implementations live in their own crates: `warden-provider-awslc` (software, the
//! default) and `warden-provider-pkcs11` (keys in a PKCS#11 token). Design notes: [`design`].
//!
//! Errors are the protocol's [`warden_core::Error`] codes.

#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

pub mod context;
pub mod key;
mod provider;
mod registry;
#[cfg(feature = "test-util")]
pub mod slow;

pub use context::{BufferSource, ContextKind, ContextState, CryptoContext, DEFAULT_BUFFER_LIMIT};
pub use key::{DEFAULT_PROVIDER_NAME, Key, ProviderKey, StoredKey};
pub use provider::{
    Capability, MAX_PROVIDER_NAME_LEN, Operations, Provider, ProviderInfo, ProviderType,
};
pub use registry::Registry;

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
