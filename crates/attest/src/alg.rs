//! Signature algorithms usable for permits and receipts, on aws-lc-rs.

use warden_provider_awslc::primitives::{self, SignatureAlgorithm, SigningKey};

use core::fmt;
use coset::iana;

use crate::error::AttestError;

/// A signature algorithm for permits and receipts, with its COSE algorithm id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigAlg {
    /// EdDSA with Ed25519 (COSE -8). Public key: 32 raw bytes.
    Ed25519,
    /// ECDSA P-256 with SHA-256 (COSE ES256, -7). Public key: 65-byte uncompressed SEC1 point;
    /// signature: the fixed 64-byte `r || s` that COSE requires.
    EcdsaP256,
    /// ML-DSA-65 (COSE -49, draft-ietf-cose-dilithium). Public key: 1952 raw bytes.
    MlDsa65,
}

impl SigAlg {
    /// The COSE algorithm identifier.
    pub fn cose(self) -> iana::Algorithm {
        match self {
            SigAlg::Ed25519 => iana::Algorithm::EdDSA,
            SigAlg::EcdsaP256 => iana::Algorithm::ES256,
            SigAlg::MlDsa65 => iana::Algorithm::ML_DSA_65,
        }
    }

    /// The algorithm for a COSE identifier, if supported.
    pub fn from_cose(alg: iana::Algorithm) -> Option<SigAlg> {
        match alg {
            iana::Algorithm::EdDSA => Some(SigAlg::Ed25519),
            iana::Algorithm::ES256 => Some(SigAlg::EcdsaP256),
            iana::Algorithm::ML_DSA_65 => Some(SigAlg::MlDsa65),
            _ => None,
        }
    }

    /// warden's canonical algorithm name (as `warden-core` spells it).
    pub fn name(self) -> &'static str {
        match self {
            SigAlg::Ed25519 => "ED25519",
            SigAlg::EcdsaP256 => "ECDSA-P256-SHA256",
            SigAlg::MlDsa65 => "ML-DSA-65",
        }
    }

    /// The algorithm for a canonical name, if supported.
    pub fn from_name(name: &str) -> Option<SigAlg> {
        [SigAlg::Ed25519, SigAlg::EcdsaP256, SigAlg::MlDsa65]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    fn primitive(self) -> SignatureAlgorithm {
        match self {
            SigAlg::Ed25519 => SignatureAlgorithm::Ed25519,
            SigAlg::EcdsaP256 => SignatureAlgorithm::EcdsaP256Sha256,
            SigAlg::MlDsa65 => SignatureAlgorithm::MlDsa65,
        }
    }
}

impl fmt::Display for SigAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A public key that verifies permits or receipts.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    alg: SigAlg,
    bytes: Vec<u8>,
}

impl PublicKey {
    /// A public key from its raw encoding (see [`SigAlg`] for each algorithm's format).
    /// The length is checked here; whether the bytes are a valid point is checked on use.
    pub fn new(alg: SigAlg, bytes: &[u8]) -> Result<PublicKey, AttestError> {
        let ok = match alg {
            SigAlg::Ed25519 => bytes.len() == 32,
            SigAlg::EcdsaP256 => bytes.len() == 65 && bytes.first() == Some(&0x04),
            SigAlg::MlDsa65 => bytes.len() == 1952,
        };
        if !ok {
            return Err(AttestError::InvalidKey);
        }
        Ok(PublicKey {
            alg,
            bytes: bytes.to_vec(),
        })
    }

    /// The key's algorithm.
    pub fn alg(&self) -> SigAlg {
        self.alg
    }

    /// The raw public key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether `sig` is a valid signature of `msg` under this key. Opaque on failure.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        primitives::verify(self.alg.primitive(), &self.bytes, msg, sig)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("alg", &self.alg)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Something that signs permits or receipts: a key in the daemon, or a [`LocalSigner`].
pub trait Signer {
    /// The signature algorithm.
    fn alg(&self) -> SigAlg;
    /// Signs `msg` (the COSE Sig_structure) and returns the COSE-format signature.
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, AttestError>;
}

/// An in-process signing key (`warden_provider_awslc::primitives`), for tests, demos and the
/// daemon's attestation key. The private key is held by aws-lc-rs, which zeroes it on drop; it
/// is never printed.
pub struct LocalSigner {
    key: SigningKey,
    alg: SigAlg,
}

impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigner")
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

impl LocalSigner {
    /// A fresh random key.
    pub fn generate(alg: SigAlg) -> Result<LocalSigner, AttestError> {
        let key = SigningKey::generate(alg.primitive()).map_err(|_| AttestError::InvalidKey)?;
        Ok(LocalSigner { key, alg })
    }

    /// A key from its PKCS#8 (DER) private-key encoding.
    pub fn from_pkcs8(alg: SigAlg, der: &[u8]) -> Result<LocalSigner, AttestError> {
        let key =
            SigningKey::from_pkcs8(alg.primitive(), der).map_err(|_| AttestError::InvalidKey)?;
        Ok(LocalSigner { key, alg })
    }

    /// The public key, in the raw format [`PublicKey::new`] takes.
    pub fn public_key(&self) -> Result<PublicKey, AttestError> {
        PublicKey::new(self.alg, &self.key.public_key())
    }
}

impl Signer for LocalSigner {
    fn alg(&self) -> SigAlg {
        self.alg
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, AttestError> {
        self.key.sign(msg).map_err(|_| AttestError::SigningFailed)
    }
}
