//! A crypto provider whose keys live in a PKCS#11 token (tested against SoftHSMv2).
//!
//! * [`Pkcs11Provider`]: generates keys inside the token (CKA_TOKEN, CKA_PRIVATE,
//!   CKA_SENSITIVE true; CKA_EXTRACTABLE false) and runs MAC, AES-GCM, ECDSA and Ed25519 there;
//!   its capability table comes from the token's mechanism list.
//! * [`Pkcs11Config`]: module path, token label, PIN (read by the daemon from a file or an
//!   environment variable, never the command line).
//!
//! What the daemon holds of a token key is its CKA_ID (and public point); slot records store
//! that reference, never key bytes. Token refusals become warden error codes (`error.rs`).
//! Design notes: [`design`].

#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod context;
mod error;
mod key;
mod provider;
mod token;

use std::path::PathBuf;

pub use provider::Pkcs11Provider;
use zeroize::Zeroizing;

/// What opening a token needs.
pub struct Pkcs11Config {
    /// The provider's name (unique among the daemon's providers, at most 32 bytes).
    pub name: String,
    /// Absolute path of the PKCS#11 module (`.so`).
    pub module: PathBuf,
    /// The token's label (CKA_LABEL of the token, trailing spaces ignored).
    pub token_label: String,
    /// The user PIN.
    pub pin: Zeroizing<String>,
}

impl core::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("name", &self.name)
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .finish()
    }
}

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
