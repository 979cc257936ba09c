//! The one error type of `warden-permits`.

use core::fmt;

use warden_attest::{AttestError, DenyReason};
use warden_core::ErrorCode;
use warden_sandbox::SandboxError;
use warden_store::StoreError;

/// Everything that can go wrong in the permit service, other than a permit being denied
/// (a denial is a successful [`crate::PermitDecision`] with `allowed == false`).
///
/// Display strings are lowercase and never contain key bytes.
#[non_exhaustive]
#[derive(Debug)]
pub enum PermitError {
    /// A caller-supplied value was rejected (empty issuer, over-long action name, ...).
    InvalidArgument(&'static str),
    /// The configuration is inconsistent (sandbox limits, attestation algorithm).
    InvalidConfig(&'static str),
    /// `policy_load` was given a module the sandbox refuses.
    InvalidPolicy(SandboxError),
    /// `verify_permit` was given a permit that is not well-formed or whose signature does
    /// not verify under a trusted issuer's key (the reason is `Malformed`, `UntrustedIssuer`
    /// or `BadSignature`). No receipt is chained for it: anyone can send such bytes, and a
    /// chain entry per attempt would let any local user grow the durable chain at will.
    Unauthenticated(DenyReason),
    /// `policy_unload` named an action without a policy.
    PolicyNotFound,
    /// `trust_remove` named an issuer that is not trusted.
    IssuerNotFound,
    /// The stored attestation key uses another algorithm than the configuration asks for.
    /// Changing it would orphan every receipt issued so far, so it is refused.
    AttestationAlgMismatch {
        /// Algorithm name of the stored key.
        stored: &'static str,
        /// Algorithm name in the configuration.
        configured: &'static str,
    },
    /// A stored trust-store or policy record does not carry a valid tag by this daemon's
    /// attestation key: it was written or edited behind the service's back. Opaque on purpose.
    Integrity(&'static str),
    /// The persistent store failed.
    Store(StoreError),
    /// Signing or encoding a receipt or record failed.
    Attest(AttestError),
    /// A lock was poisoned by a panicking thread; the service refuses to continue on
    /// possibly inconsistent state.
    Poisoned,
}

impl fmt::Display for PermitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Self::InvalidConfig(what) => write!(f, "invalid permit service configuration: {what}"),
            Self::InvalidPolicy(e) => write!(f, "policy module refused: {e}"),
            Self::Unauthenticated(why) => write!(f, "permit refused unchained: {}", why.name()),
            Self::PolicyNotFound => f.write_str("no policy is bound to this action"),
            Self::IssuerNotFound => f.write_str("issuer is not in the trust store"),
            Self::AttestationAlgMismatch { stored, configured } => write!(
                f,
                "stored attestation key is {stored}, configuration asks for {configured}"
            ),
            Self::Integrity(what) => write!(f, "{what} failed integrity check"),
            Self::Store(e) => write!(f, "store: {e}"),
            Self::Attest(e) => write!(f, "attestation: {e}"),
            Self::Poisoned => f.write_str("permit service state is poisoned"),
        }
    }
}

impl std::error::Error for PermitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            Self::Attest(e) => Some(e),
            Self::InvalidPolicy(e) => Some(e),
            _ => None,
        }
    }
}

impl PermitError {
    /// The protocol error code the daemon reports for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) | Self::InvalidConfig(_) => ErrorCode::InvalidArgument,
            Self::InvalidPolicy(_) => ErrorCode::InvalidFormat,
            Self::Unauthenticated(DenyReason::UntrustedIssuer) => ErrorCode::TrustAnchorNotFound,
            Self::Unauthenticated(DenyReason::BadSignature) => ErrorCode::CertificateVerifyFailed,
            Self::Unauthenticated(_) => ErrorCode::InvalidFormat,
            Self::PolicyNotFound => ErrorCode::ResourceNotFound,
            Self::IssuerNotFound => ErrorCode::TrustAnchorNotFound,
            Self::AttestationAlgMismatch { .. } => ErrorCode::AlgorithmMismatch,
            Self::Integrity(_) | Self::Attest(_) => ErrorCode::OperationFailed,
            Self::Store(e) => e.code(),
            Self::Poisoned => ErrorCode::InternalError,
        }
    }
}

impl From<PermitError> for warden_core::Error {
    fn from(e: PermitError) -> Self {
        let detail = match &e {
            PermitError::InvalidArgument(what) | PermitError::InvalidConfig(what) => *what,
            PermitError::InvalidPolicy(_) => "policy module refused",
            PermitError::Unauthenticated(DenyReason::UntrustedIssuer) => {
                "permit issuer is not trusted"
            }
            PermitError::Unauthenticated(DenyReason::BadSignature) => {
                "permit signature does not verify"
            }
            PermitError::Unauthenticated(_) => "permit is malformed",
            PermitError::PolicyNotFound => "no policy is bound to this action",
            PermitError::IssuerNotFound => "issuer is not in the trust store",
            PermitError::Integrity(_) => "stored record failed integrity check",
            _ => "permit service error",
        };
        warden_core::Error::new(e.code(), detail)
    }
}

impl From<StoreError> for PermitError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<AttestError> for PermitError {
    fn from(e: AttestError) -> Self {
        Self::Attest(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_and_codes_are_protocol_codes() {
        let cases = [
            (
                PermitError::InvalidArgument("x"),
                ErrorCode::InvalidArgument,
            ),
            (PermitError::InvalidConfig("x"), ErrorCode::InvalidArgument),
            (
                PermitError::InvalidPolicy(SandboxError::InvalidInput),
                ErrorCode::InvalidFormat,
            ),
            (
                PermitError::Unauthenticated(DenyReason::Malformed),
                ErrorCode::InvalidFormat,
            ),
            (
                PermitError::Unauthenticated(DenyReason::UntrustedIssuer),
                ErrorCode::TrustAnchorNotFound,
            ),
            (
                PermitError::Unauthenticated(DenyReason::BadSignature),
                ErrorCode::CertificateVerifyFailed,
            ),
            (PermitError::PolicyNotFound, ErrorCode::ResourceNotFound),
            (PermitError::IssuerNotFound, ErrorCode::TrustAnchorNotFound),
            (
                PermitError::AttestationAlgMismatch {
                    stored: "ML-DSA-65",
                    configured: "ED25519",
                },
                ErrorCode::AlgorithmMismatch,
            ),
            (
                PermitError::Integrity("policy record"),
                ErrorCode::OperationFailed,
            ),
            (
                PermitError::Store(StoreError::KeySlotEmpty),
                ErrorCode::KeySlotEmpty,
            ),
            (
                PermitError::Attest(AttestError::SigningFailed),
                ErrorCode::OperationFailed,
            ),
            (PermitError::Poisoned, ErrorCode::InternalError),
        ];
        for (e, code) in cases {
            assert_eq!(e.code(), code, "{e}");
            let first = e.to_string().chars().next().unwrap();
            assert!(!first.is_uppercase(), "{e}");
            assert_eq!(warden_core::Error::from(e).code(), code);
        }
    }
}
