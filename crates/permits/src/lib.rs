//! Daemon-side action permits and receipts (issue 6).
//!
//! [`PermitService`] is what `wardend`'s permit, trust, policy and receipt handlers call:
//!
//! - an **attestation key** (Ed25519 by default, ML-DSA-65 optional), created on first start
//!   and sealed in the reserved key slot [`ATTESTATION_SLOT`] (encrypted at rest by the
//!   store); only its public half leaves the service;
//! - a **trust store** of permit issuers and a **policy registry** (action → WASM policy),
//!   both persisted in the store, tagged by the attestation key against offline edits, and
//!   mirrored in memory;
//! - [`PermitService::verify_permit`]: `warden_attest`'s ordered permit checks with a replay
//!   ledger in the store (survives restarts), the action's policy in one sandbox cycle, and
//!   a signed receipt for every decision on an authenticated permit, appended durably to a
//!   hash chain with a persisted counter. Input that is not a permit signed by a trusted
//!   issuer is refused with [`PermitError::Unauthenticated`] and never chained, so no caller
//!   can grow the chain with garbage.
//!
//! **Receipt retention.** The store keeps the newest [`PermitConfig::receipt_retention`]
//! receipts (default [`DEFAULT_RECEIPT_RETENTION`]; 0 keeps all). Older receipts are pruned
//! in batches; each prune first signs a `warden_attest::Checkpoint` (counter and SHA-256 of
//! the last pruned receipt) with the attestation key and stores it in the same transaction
//! as the deletion. [`PermitService::export_chain`] starts with that checkpoint when asked
//! for pruned counters, and `warden_attest::verify_anchored_chain` verifies the file from
//! it: the retained receipts stay signed and linked, a receipt removed or altered after the
//! checkpoint is still detected, and only the pruned prefix is gone (keep exports of it if
//! the whole history matters).
//!
//! The input a policy sees is specified in [`input`].

#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod attestation;
mod config;
mod error;
pub mod input;
mod ledger;
mod policy;
mod service;
mod trust;

pub use attestation::ATTESTATION_SLOT;
pub use config::{DEFAULT_RECEIPT_RETENTION, MAX_NAME_LEN, PermitConfig};
pub use error::PermitError;
pub use policy::PolicyInfo;
pub use service::{PermitDecision, PermitService};

// Re-exported so that callers need not depend on the crates directly for the common types.
pub use warden_attest::{ChainState, DenyReason, PublicKey, SigAlg};
pub use warden_sandbox::{Profile, SandboxLimits, Sha256Hash};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
