//! The default software provider: aws-lc-rs for everything it has, RustCrypto `slh-dsa`
//! (SLH-DSA) and `x-wing` (X-Wing) where aws-lc-rs has none.
//!
//! * [`AwsLcProvider`]: every algorithm of `warden_core::Algorithm`, keys as in-process
//!   material (zeroized) behind `warden_crypto::ProviderKey`.
//! * [`kdf`]: the KDFs, usable directly (the provider's `derive_key` calls them).
//! * [`primitives`]: the few fixed-algorithm operations other crates need outside the
//!   provider interface (the store's at-rest AEAD, receipt and permit signatures, random
//!   bytes); the only place outside this crate's provider that names aws-lc-rs.
//!
//! Design notes (encodings, permission mapping, streaming vs buffered contexts, heap use, FFI
//! trust zones, which tests are full known-answer tests) are in [`design`].

#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod aws_lc;
mod context;
mod der;
pub mod kdf;
mod keygen;
mod material;
pub mod primitives;
mod rsa_params;
mod wrap;

pub use aws_lc::AwsLcProvider;
pub use keygen::{DEFAULT_SECRET_LEN, MAX_SECRET_LEN};
// The boundary types, so users of this provider need one import path.
pub use warden_crypto::{
    BufferSource, Capability, ContextKind, ContextState, CryptoContext, DEFAULT_BUFFER_LIMIT, Key,
    MAX_PROVIDER_NAME_LEN, Operations, Provider, ProviderInfo, ProviderType,
};

/// This provider's name (keys it owns carry it; the daemon selects providers by name).
pub const NAME: &str = warden_crypto::DEFAULT_PROVIDER_NAME;

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}

/// Restores a key of this provider from a record written by `Key::danger_storage_bytes`
/// (parse, then [`Provider::restore_key`]): `InvalidFormat` for malformed records,
/// `InvalidArgument` for another provider's.
pub fn from_storage_bytes(bytes: &[u8]) -> warden_core::Result<Key> {
    aws_lc::restore(&Key::parse_storage(bytes)?)
}

/// The DER SubjectPublicKeyInfo of a raw public key of `algorithm` (encodings as in
/// [`design`]): for providers that hold only a raw public key (a token's EC point).
pub fn spki_from_raw(
    algorithm: warden_core::Algorithm,
    raw: &[u8],
) -> warden_core::Result<Vec<u8>> {
    der::spki_from_raw(algorithm, raw)
}
