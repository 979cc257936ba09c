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
    /// [`super::ContextOptions::pss_salt_len`] is set.
    pub const PSS_SALT_LEN: u32 = 2;
    /// [`super::ContextOptions::oaep_label`] is not empty.
    pub const OAEP_LABEL: u32 = 4;
    /// [`super::ContextOptions::signature_context`] is not empty.
    pub const SIGNATURE_CONTEXT: u32 = 8;
    /// [`super::ContextOptions::external_mu`] is set.
    pub const EXTERNAL_MU: u32 = 16;
}

/// Length of an ML-DSA μ (FIPS 204: 64 bytes of SHAKE256 output).
pub const ML_DSA_MU_LEN: usize = 64;

/// Longest signature context string (RFC 8032 Ed25519ph / FIPS 204 ML-DSA `ctx`: 255 bytes).
pub const MAX_SIGNATURE_CONTEXT_LEN: usize = 255;

/// Longest RSA-PSS salt a context may choose, in bytes (the largest hash length; 0 is allowed).
/// Salts beyond the hash length add nothing to PSS's security proof.
pub const MAX_PSS_SALT_LEN: u16 = 64;

/// Longest RSA-OAEP label, in bytes. Labels bind a ciphertext to a purpose and are short in
/// practice (PKCS#11's `pSourceData`, JOSE does not use them); the bound keeps the options a
/// fixed-size `Copy` value.
pub const MAX_OAEP_LABEL_LEN: usize = 256;

fn is_pss(a: Algorithm) -> bool {
    matches!(
        a,
        Algorithm::RsaPssSha256 | Algorithm::RsaPssSha384 | Algorithm::RsaPssSha512
    )
}

fn is_oaep(a: Algorithm) -> bool {
    matches!(
        a,
        Algorithm::RsaOaepSha1
            | Algorithm::RsaOaepSha256
            | Algorithm::RsaOaepSha384
            | Algorithm::RsaOaepSha512
    )
}

/// Options of a context; [`ContextOptions::default`] is the behaviour without options.
///
/// | option | algorithms | default |
/// |---|---|---|
/// | `signature_format` | ECDSA sign / verify | `Raw` (r‖s) |
/// | `pss_salt_len` | RSA-PSS-SHA256/384/512 | the hash length; 0..=64 |
/// | `oaep_label` | RSA-OAEP-SHA1/256/384/512 | empty; at most 256 bytes |
/// | `signature_context` | ED25519PH, (HASH-)ML-DSA-44/65/87 | empty; at most 255 bytes |
/// | `external_mu` | ML-DSA-44/65/87 sign / verify | off; the message is then the 64-byte μ |
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContextOptions {
    signature_format: SignatureFormat,
    pss_salt_len: Option<u16>,
    oaep_label_len: u16,
    oaep_label: [u8; MAX_OAEP_LABEL_LEN],
    context_len: u8,
    context: [u8; MAX_SIGNATURE_CONTEXT_LEN],
    external_mu: bool,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            signature_format: SignatureFormat::Raw,
            pss_salt_len: None,
            oaep_label_len: 0,
            oaep_label: [0; MAX_OAEP_LABEL_LEN],
            context_len: 0,
            context: [0; MAX_SIGNATURE_CONTEXT_LEN],
            external_mu: false,
        }
    }
}

impl ContextOptions {
    /// The RSA-PSS salt length in bytes; `None` = the hash length (32 / 48 / 64), the default.
    pub fn pss_salt_len(&self) -> Option<u16> {
        self.pss_salt_len
    }

    /// Sets the RSA-PSS salt length (0..=[`MAX_PSS_SALT_LEN`]; checked by
    /// [`ContextOptions::check`]).
    pub fn with_pss_salt_len(mut self, len: u16) -> Self {
        self.pss_salt_len = Some(len);
        self
    }

    /// The RSA-OAEP label (empty by default, as RFC 8017 recommends when none is needed).
    pub fn oaep_label(&self) -> &[u8] {
        self.oaep_label
            .get(..usize::from(self.oaep_label_len))
            .unwrap_or(&[])
    }

    /// Sets the RSA-OAEP label; `InvalidArgument` beyond [`MAX_OAEP_LABEL_LEN`] bytes.
    pub fn with_oaep_label(mut self, label: &[u8]) -> Result<Self> {
        let slot = self
            .oaep_label
            .get_mut(..label.len())
            .ok_or(Error::invalid_argument(
                "RSA-OAEP label longer than 256 bytes",
            ))?;
        slot.copy_from_slice(label);
        // Fits: label.len() <= MAX_OAEP_LABEL_LEN (256) was checked by `get_mut`.
        self.oaep_label_len = u16::try_from(label.len())
            .map_err(|_| Error::invalid_argument("RSA-OAEP label longer than 256 bytes"))?;
        Ok(self)
    }

    /// The ECDSA signature encoding (sign and verify contexts).
    pub fn signature_format(&self) -> SignatureFormat {
        self.signature_format
    }

    /// Sets the ECDSA signature encoding.
    pub fn with_signature_format(mut self, format: SignatureFormat) -> Self {
        self.signature_format = format;
        self
    }

    /// The signature context string (Ed25519ph, ML-DSA; empty by default).
    pub fn signature_context(&self) -> &[u8] {
        self.context
            .get(..usize::from(self.context_len))
            .unwrap_or(&[])
    }

    /// Sets the signature context string; `InvalidArgument` beyond 255 bytes.
    pub fn with_signature_context(mut self, context: &[u8]) -> Result<Self> {
        const TOO_LONG: &str = "signature context longer than 255 bytes";
        let len = u8::try_from(context.len()).map_err(|_| Error::invalid_argument(TOO_LONG))?;
        self.context
            .get_mut(..context.len())
            .ok_or(Error::invalid_argument(TOO_LONG))?
            .copy_from_slice(context);
        self.context_len = len;
        Ok(self)
    }

    /// ML-DSA external μ: the context's message is μ = SHAKE256(tr ‖ M′, 64) computed by the
    /// caller (FIPS 204 Algorithm 7 line 6, `ExternalMu-ML-DSA`), exactly
    /// [`ML_DSA_MU_LEN`] bytes; the context string, if any, is inside μ already.
    pub fn external_mu(&self) -> bool {
        self.external_mu
    }

    /// Sets [`ContextOptions::external_mu`].
    pub fn with_external_mu(mut self, on: bool) -> Self {
        self.external_mu = on;
        self
    }

    /// The [`option_bits`] of the options that differ from their defaults.
    pub fn set_bits(&self) -> u32 {
        let mut bits = 0;
        if self.signature_format != SignatureFormat::Raw {
            bits |= option_bits::SIGNATURE_FORMAT;
        }
        if self.pss_salt_len.is_some() {
            bits |= option_bits::PSS_SALT_LEN;
        }
        if self.oaep_label_len != 0 {
            bits |= option_bits::OAEP_LABEL;
        }
        if self.context_len != 0 {
            bits |= option_bits::SIGNATURE_CONTEXT;
        }
        if self.external_mu {
            bits |= option_bits::EXTERNAL_MU;
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
        match self.pss_salt_len {
            Some(_) if !is_pss(algorithm) => {
                return Err(Error::invalid_argument(
                    "a salt length applies to RSA-PSS only",
                ));
            }
            Some(n) if n > MAX_PSS_SALT_LEN => {
                return Err(Error::invalid_argument(
                    "RSA-PSS salt length is 0..=64 bytes",
                ));
            }
            _ => {}
        }
        if self.oaep_label_len != 0 && !is_oaep(algorithm) {
            return Err(Error::invalid_argument("a label applies to RSA-OAEP only"));
        }
        if self.context_len != 0
            && !matches!(
                algorithm,
                Algorithm::Ed25519ph
                    | Algorithm::MlDsa44
                    | Algorithm::MlDsa65
                    | Algorithm::MlDsa87
                    | Algorithm::HashMlDsa44Sha512
                    | Algorithm::HashMlDsa65Sha512
                    | Algorithm::HashMlDsa87Sha512
            )
        {
            return Err(Error::invalid_argument(
                "a signature context applies to ED25519PH and ML-DSA only",
            ));
        }
        if self.external_mu {
            if !matches!(
                algorithm,
                Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87
            ) {
                return Err(Error::invalid_argument(
                    "external mu applies to ML-DSA only",
                ));
            }
            // μ already binds the context string; a second one would be silently unused.
            if self.context_len != 0 {
                return Err(Error::invalid_argument(
                    "external mu already includes the signature context",
                ));
            }
        }
        Ok(())
    }
}
