//! Crypto provider trait and the default aws-lc-rs provider.
//!
//! * [`Provider`]: the object-safe trait the daemon depends on (`Arc<dyn Provider>`).
//! * [`AwsLcProvider`]: every algorithm of `warden_core::Algorithm` on aws-lc-rs, with
//!   RustCrypto `slh-dsa` (SLH-DSA) and `x-wing` (X-Wing) where aws-lc-rs has none.
//! * [`Key`]: key objects (no `Clone`, zeroized, redacting `Debug`), permission-checked.
//! * [`CryptoContext`]: streaming contexts with one shared state machine.
//! * [`kdf`]: the KDFs, usable directly (the provider's `derive_key` calls them).
//! * `slow::SlowProvider` (feature `test-util`): a test double that sleeps per operation.
//!
//! Design notes (encodings, permission mapping, streaming vs buffered contexts, heap use, FFI
//! trust zones, which tests are full known-answer tests) are in [`design`].
//!
//! Errors are the protocol's [`warden_core::Error`] codes.

#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod aws_lc;
mod context;
mod der;
pub mod kdf;
pub mod key;
mod keygen;
mod provider;
mod rsa_params;
#[cfg(feature = "test-util")]
pub mod slow;
mod wrap;

pub use aws_lc::AwsLcProvider;
pub use context::{BufferSource, ContextKind, ContextState, CryptoContext, DEFAULT_BUFFER_LIMIT};
pub use key::Key;
pub use keygen::{DEFAULT_SECRET_LEN, MAX_SECRET_LEN};
pub use provider::{
    Capability, MAX_PROVIDER_NAME_LEN, Operations, Provider, ProviderInfo, ProviderType,
};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
