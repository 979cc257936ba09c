//! The one error type of `warden-cert`, mapped onto the seed's certificate error category
//! (`0x0109_xxxx`).

use core::fmt;

use warden_core::ErrorCode;

/// Everything certificate handling can report. Display strings are lowercase.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// The bytes are not a well-formed certificate, request or CRL (or a field in it is
    /// outside what warden accepts); says which.
    Parse(&'static str),
    /// The leaf (or a certificate on every candidate path) is outside its validity period
    /// at the verification time (not yet valid counts as expired).
    Expired,
    /// A certificate on the path is revoked by a CRL of the trust store.
    Revoked,
    /// No path from the leaf reaches an anchor of the trust store.
    AnchorNotFound,
    /// A path was found but is not acceptable: bad signature, constraints, CRL problems.
    ChainFailed(&'static str),
    /// The leaf lacks a required key usage or extended key usage.
    UsageNotAllowed(&'static str),
    /// A CRL was refused at import (unknown issuer, bad signature, malformed).
    CrlImport(&'static str),
    /// A CSR or certificate could not be built (bad subject, unsupported key algorithm).
    Build(&'static str),
    /// The certificate's public key is not the key it is being bound to.
    KeyMismatch,
    /// A caller-supplied value was rejected.
    InvalidArgument(&'static str),
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(what) => write!(f, "certificate parsing failed: {what}"),
            Self::Expired => f.write_str("certificate expired or not yet valid"),
            Self::Revoked => f.write_str("certificate revoked"),
            Self::AnchorNotFound => f.write_str("no trust anchor found for the chain"),
            Self::ChainFailed(what) => write!(f, "certificate chain verification failed: {what}"),
            Self::UsageNotAllowed(what) => write!(f, "certificate usage not allowed: {what}"),
            Self::CrlImport(what) => write!(f, "crl import failed: {what}"),
            Self::Build(what) => write!(f, "certificate request generation failed: {what}"),
            Self::KeyMismatch => f.write_str("certificate public key does not match the key"),
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
        }
    }
}

impl std::error::Error for CertError {}

impl CertError {
    /// The protocol error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Parse(_) => ErrorCode::CertificateParsingFailed,
            Self::Expired => ErrorCode::CertificateExpired,
            Self::Revoked => ErrorCode::CertificateRevoked,
            Self::AnchorNotFound => ErrorCode::TrustAnchorNotFound,
            Self::ChainFailed(_) => ErrorCode::CertChainVerifyFailed,
            Self::UsageNotAllowed(_) => ErrorCode::CertificateVerifyFailed,
            Self::CrlImport(_) => ErrorCode::CrlImportFailed,
            Self::Build(_) => ErrorCode::CsrGenerationFailed,
            Self::KeyMismatch => ErrorCode::IncompatibleKeyType,
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
        }
    }
}

impl From<CertError> for warden_core::Error {
    fn from(e: CertError) -> Self {
        let detail: &'static str = match &e {
            CertError::Parse(w)
            | CertError::ChainFailed(w)
            | CertError::UsageNotAllowed(w)
            | CertError::CrlImport(w)
            | CertError::Build(w)
            | CertError::InvalidArgument(w) => w,
            CertError::Expired => "certificate expired or not yet valid",
            CertError::Revoked => "certificate revoked",
            CertError::AnchorNotFound => "no trust anchor found for the chain",
            CertError::KeyMismatch => "certificate public key does not match the key",
        };
        warden_core::Error::new(e.code(), detail)
    }
}
