//! X.509 for warden: certificate summaries and key binding checks, PKCS#10 requests and
//! self-signed certificates signed by a caller-supplied signer (the daemon's slot key, which
//! never enters this crate), chain verification against trust anchors with EKU / keyUsage and
//! CRL revocation, and CRL admission.
//!
//! Built on RustCrypto `x509-cert` / `der` / `spki` (encoding, decoding, builders) and
//! `rustls-webpki` (path validation); warden parses no ASN.1 by hand.

#![forbid(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::panic)]

mod build;
mod error;
mod parse;
mod verify;

pub use build::{
    ID_ML_DSA_44, ID_ML_DSA_65, ID_ML_DSA_87, SelfSignedSpec, SignFn, csr, self_signed,
    signature_algorithm, subject, x509_signature,
};
pub use error::CertError;
pub use parse::{CertInfo, MAX_DER_LEN, decode, ensure_key_matches, fingerprint, key_usage_bits};
pub use verify::{CrlInfo, Usage, check_crl, crl_summary, verify_chain};

/// How this crate works and why.
#[doc = include_str!("design.md")]
pub mod design {}
