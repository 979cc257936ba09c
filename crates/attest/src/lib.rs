//! Action permits and decision receipts.
//!
//! An *action permit* is a COSE_Sign1 (RFC 9052) over CBOR claims in the style of a CWT
//! (RFC 8392): issuer, subject (the agent), audience (the daemon), validity window, a unique id,
//! the action (tool id), the resource, an optional max-use count and the SHA-256 of the intent
//! payload it authorises. [`verify_permit`] checks a permit in a fixed order and returns a
//! distinct [`DenyReason`] for each failed check.
//!
//! A *receipt* is a COSE_Sign1 by the daemon's attestation key over the decision, the reason,
//! the hashes of everything the decision looked at, a monotonic counter and the hash of the
//! previous receipt, so that receipts form a tamper-evident chain that anyone holding the
//! attestation public key can verify offline ([`verify_receipt`], [`verify_chain`]). A daemon
//! that prunes old receipts signs a [`Checkpoint`] (counter and hash of the last pruned
//! receipt) from which the retained chain verifies ([`verify_anchored_chain`]).
//!
//! The crate knows no daemon, no key store and no sandbox: trust anchors come from a
//! [`TrustStore`], replay state from a [`ReplayLedger`], signing from a [`Signer`].

#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod alg;
mod cbor;
mod checkpoint;
mod error;
mod permit;
mod receipt;

pub use alg::{LocalSigner, PublicKey, SigAlg, Signer};
pub use checkpoint::{
    CHECKPOINT_CONTENT_TYPE, Checkpoint, is_checkpoint, issue_checkpoint, verify_anchored_chain,
    verify_chain_after, verify_checkpoint,
};
pub use error::{AttestError, DenyReason};
pub use permit::{
    Intent, MemoryReplayLedger, PERMIT_CONTENT_TYPE, PermitCheck, PermitClaims, ReplayLedger,
    TrustStore, UseCount, VerifiedPermit, VerifyContext, issue_permit, sha256, verify_permit,
};
pub use receipt::{
    ChainState, Decision, ReceiptBody, issue_receipt, split_chain, verify_chain,
    verify_complete_chain, verify_receipt,
};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
