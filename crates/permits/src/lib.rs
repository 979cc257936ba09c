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
//!   always a signed receipt appended durably to a hash chain with a persisted counter.
//!
//! The input a policy sees is specified in [`input`].

#![forbid(unsafe_code)]

mod attestation;
mod config;
mod error;
pub mod input;
mod ledger;
mod policy;
mod service;
mod trust;

pub use attestation::ATTESTATION_SLOT;
pub use config::{MAX_NAME_LEN, PermitConfig};
pub use error::PermitError;
pub use policy::PolicyInfo;
pub use service::{PermitDecision, PermitService};

// Re-exported so that callers need not depend on the crates directly for the common types.
pub use warden_attest::{ChainState, DenyReason, PublicKey, SigAlg};
pub use warden_sandbox::{Profile, SandboxLimits, Sha256Hash};
