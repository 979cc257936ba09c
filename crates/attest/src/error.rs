//! Errors and deny reasons.

use core::fmt;

/// Why a permit was denied. Each check of [`crate::verify_permit`] has its own reason, and the
/// numeric value (`as u32`) is what a receipt records, so values are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum DenyReason {
    /// The permit is not a well-formed COSE_Sign1 over the expected claims.
    Malformed = 1,
    /// The issuer is not in the trust store (or uses another algorithm than trusted).
    UntrustedIssuer = 2,
    /// The signature does not verify under the trusted issuer's key.
    BadSignature = 3,
    /// The audience is not this daemon.
    WrongAudience = 4,
    /// The permit is not valid yet (`nbf` in the future).
    NotYetValid = 5,
    /// The permit has expired (`exp` in the past).
    Expired = 6,
    /// The intent's hash differs from the one the permit authorises.
    IntentMismatch = 7,
    /// The requested action (tool id) differs from the permit's.
    ActionMismatch = 8,
    /// The requested resource differs from the permit's.
    ResourceMismatch = 9,
    /// The permit's unique id was used before and the permit allows a single use.
    Replayed = 10,
    /// The permit's maximum number of uses is exhausted.
    MaxUsesExceeded = 11,
    /// The policy module bound to the action said no.
    PolicyDenied = 12,
    /// The policy module failed (trap, fuel, memory): fail closed.
    PolicyFailed = 13,
}

impl DenyReason {
    /// Every reason, in numeric order.
    pub const ALL: [DenyReason; 13] = [
        DenyReason::Malformed,
        DenyReason::UntrustedIssuer,
        DenyReason::BadSignature,
        DenyReason::WrongAudience,
        DenyReason::NotYetValid,
        DenyReason::Expired,
        DenyReason::IntentMismatch,
        DenyReason::ActionMismatch,
        DenyReason::ResourceMismatch,
        DenyReason::Replayed,
        DenyReason::MaxUsesExceeded,
        DenyReason::PolicyDenied,
        DenyReason::PolicyFailed,
    ];

    /// The stable numeric value recorded in receipts.
    pub fn as_u32(self) -> u32 {
        self as u32
    }

    /// The reason for a numeric value, if it is one.
    pub fn from_u32(v: u32) -> Option<DenyReason> {
        DenyReason::ALL.into_iter().find(|r| r.as_u32() == v)
    }

    /// A short, stable, lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            DenyReason::Malformed => "malformed",
            DenyReason::UntrustedIssuer => "untrusted-issuer",
            DenyReason::BadSignature => "bad-signature",
            DenyReason::WrongAudience => "wrong-audience",
            DenyReason::NotYetValid => "not-yet-valid",
            DenyReason::Expired => "expired",
            DenyReason::IntentMismatch => "intent-mismatch",
            DenyReason::ActionMismatch => "action-mismatch",
            DenyReason::ResourceMismatch => "resource-mismatch",
            DenyReason::Replayed => "replayed",
            DenyReason::MaxUsesExceeded => "max-uses-exceeded",
            DenyReason::PolicyDenied => "policy-denied",
            DenyReason::PolicyFailed => "policy-failed",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of this crate other than a permit being denied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttestError {
    /// A public or private key could not be parsed for its algorithm.
    InvalidKey,
    /// Signing failed inside the crypto library.
    SigningFailed,
    /// A value could not be encoded as CBOR/COSE.
    Encoding,
    /// A receipt is malformed (not COSE_Sign1, or its claims are missing or mistyped).
    MalformedReceipt,
    /// A receipt's signature does not verify.
    BadReceiptSignature,
    /// A receipt in a chain breaks it: wrong counter, wrong previous hash, or bad signature.
    ChainBroken {
        /// Zero-based index of the first receipt that does not fit.
        index: usize,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The replay ledger could not record a use (e.g. its storage failed).
    Ledger(&'static str),
    /// An argument is out of range (e.g. an empty permit id).
    InvalidArgument(&'static str),
}

impl fmt::Display for AttestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttestError::InvalidKey => f.write_str("invalid key for the algorithm"),
            AttestError::SigningFailed => f.write_str("signing failed"),
            AttestError::Encoding => f.write_str("cbor encoding failed"),
            AttestError::MalformedReceipt => f.write_str("malformed receipt"),
            AttestError::BadReceiptSignature => f.write_str("receipt signature does not verify"),
            AttestError::ChainBroken { index, why } => {
                write!(f, "receipt chain broken at index {index}: {why}")
            }
            AttestError::Ledger(why) => write!(f, "replay ledger failed: {why}"),
            AttestError::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
        }
    }
}

impl std::error::Error for AttestError {}
