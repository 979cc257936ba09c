//! Per-context options beyond algorithm, key and direction (issue 15): the things real peers
//! choose per message format rather than per key, such as how an ECDSA signature is encoded.
//!
//! Every option has a default that is the behaviour before the option existed, so a context
//! that sets none behaves exactly as it always did. A daemon that does not know an option
//! would silently ignore it (FlatBuffers skips unknown fields), so the daemon echoes the
//! options it applied in its reply and the client refuses a context whose options were not
//! all applied (see `warden_wire` `ContextCreatedResponse.applied_options`).

use crate::algorithm::Algorithm;
use crate::error::{Error, Result};

/// Encoding of an ECDSA signature.
#[repr(u8)]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignatureFormat {
    /// Fixed-length `r || s` (IEEE P1363; 64 bytes for P-256, 96 for P-384). The default.
    #[default]
    Raw = 1,
    /// DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279), as X.509, TLS
    /// and `openssl dgst` use. Variable length.
    Der = 2,
}

impl SignatureFormat {
    /// The stable value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The format with value `v`; unknown values fail with `InvalidArgument`.
    pub const fn from_u8(v: u8) -> Result<Self> {
        match v {
            1 => Ok(SignatureFormat::Raw),
            2 => Ok(SignatureFormat::Der),
            _ => Err(Error::invalid_argument("unknown signature format")),
        }
    }
}

/// Bit of each option in [`ContextOptions::set_bits`] (and on the wire, where the daemon echoes
/// the bits it applied).
pub mod option_bits {
    /// [`super::ContextOptions::signature_format`] is not the default.
    pub const SIGNATURE_FORMAT: u32 = 1;
}

/// Options of a context; [`ContextOptions::default`] is the behaviour without options.
///
/// ```
/// use warden_core::{Algorithm, ContextOptions, ErrorCode, SignatureFormat};
/// let der = ContextOptions::default().with_signature_format(SignatureFormat::Der);
/// assert!(der.check(Algorithm::EcdsaP256Sha256).is_ok());
/// // DER applies to ECDSA only.
/// assert_eq!(der.check(Algorithm::Ed25519).unwrap_err().code(), ErrorCode::InvalidArgument);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContextOptions {
    signature_format: SignatureFormat,
}

impl ContextOptions {
    /// The ECDSA signature encoding (sign and verify contexts).
    pub fn signature_format(&self) -> SignatureFormat {
        self.signature_format
    }

    /// Sets the ECDSA signature encoding.
    pub fn with_signature_format(mut self, format: SignatureFormat) -> Self {
        self.signature_format = format;
        self
    }

    /// The [`option_bits`] of the options that differ from their defaults.
    pub fn set_bits(&self) -> u32 {
        let mut bits = 0;
        if self.signature_format != SignatureFormat::Raw {
            bits |= option_bits::SIGNATURE_FORMAT;
        }
        bits
    }

    /// `InvalidArgument` if an option is set that `algorithm` cannot use.
    pub fn check(&self, algorithm: Algorithm) -> Result<()> {
        if self.signature_format == SignatureFormat::Der
            && !matches!(
                algorithm,
                Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384
            )
        {
            return Err(Error::invalid_argument(
                "the DER signature format applies to ECDSA only",
            ));
        }
        Ok(())
    }
}
