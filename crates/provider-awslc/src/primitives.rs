//! Fixed-algorithm operations other crates need outside the [`warden_crypto::Provider`]
//! interface, in one narrow place (issue 14): the store's at-rest AEAD and the random bytes it
//! needs, SHA-256 for permit digests, and the signatures of receipts and permits.
//!
//! Why these stay outside the provider interface: they protect warden's own state (the store
//! master key, the daemon's attestation key), not a client's key, and they run before any
//! provider is configured (the store opens first) or where a token is not wanted on the path
//! (every receipt). Keeping them here means no other crate names aws-lc-rs, and a review of
//! "which code touches a crypto library" is this file plus the provider.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, PqdsaKeyPair, UnparsedPublicKey,
    VerificationAlgorithm,
};
use warden_core::{Error, ErrorCode, Result};
use zeroize::Zeroizing;

/// AES-256-GCM nonce length (bytes).
pub const AEAD_NONCE_LEN: usize = aws_lc_rs::aead::NONCE_LEN;
/// AES-256-GCM tag length (bytes).
pub const AEAD_TAG_LEN: usize = 16;

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "primitive failed")
}

/// Fills `out` from the system DRBG.
pub fn fill_random(out: &mut [u8]) -> Result<()> {
    aws_lc_rs::rand::fill(out)
        .map_err(|_| Error::new(ErrorCode::OperationFailed, "random generator failed"))
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-384 of `data` (the pre-hash of ECDSA-P384-SHA384 signatures made elsewhere).
pub fn sha384(data: &[u8]) -> [u8; 48] {
    let d = digest::digest(&digest::SHA384, data);
    let mut out = [0u8; 48];
    out.copy_from_slice(d.as_ref());
    out
}

/// AES-256-GCM under a 32-byte key (the store's master key), in place on caller buffers.
pub struct Aes256Gcm(LessSafeKey);

impl core::fmt::Debug for Aes256Gcm {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Aes256Gcm([REDACTED])")
    }
}

impl Aes256Gcm {
    /// The cipher under `key` (any length but 32 fails with `InvalidArgument`).
    pub fn new(key: &[u8]) -> Result<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| Error::invalid_argument("AES-256-GCM needs a 32-byte key"))?;
        Ok(Aes256Gcm(LessSafeKey::new(unbound)))
    }

    /// Encrypts `in_out` in place; returns the tag. The nonce must never repeat under one key
    /// (callers draw it with [`fill_random`]).
    pub fn seal(
        &self,
        nonce: [u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN]> {
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
            .map_err(failed)?;
        let mut out = [0u8; AEAD_TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Authenticates and decrypts `ciphertext || tag` in place; returns the plaintext
    /// length (a prefix of `in_out`). Any failure is `OperationFailed`.
    pub fn open(
        &self,
        nonce: [u8; AEAD_NONCE_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<usize> {
        self.0
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), in_out)
            .map(|p| p.len())
            .map_err(failed)
    }
}

/// Signature algorithms of receipts and permits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032).
    Ed25519,
    /// ECDSA P-256 with SHA-256, fixed-length `r || s`.
    EcdsaP256Sha256,
    /// ML-DSA-65 (FIPS 204).
    MlDsa65,
}

impl SignatureAlgorithm {
    fn verification(self) -> &'static dyn VerificationAlgorithm {
        match self {
            SignatureAlgorithm::Ed25519 => &signature::ED25519,
            SignatureAlgorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_FIXED,
            SignatureAlgorithm::MlDsa65 => &signature::ML_DSA_65,
        }
    }
}

/// Whether `sig` is a valid signature of `msg` under the raw public key `public`.
pub fn verify(alg: SignatureAlgorithm, public: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    UnparsedPublicKey::new(alg.verification(), public)
        .verify(msg, sig)
        .is_ok()
}

enum Pair {
    Ed25519(Ed25519KeyPair),
    EcdsaP256(EcdsaKeyPair),
    MlDsa65(PqdsaKeyPair),
}

/// A private signing key held in process (freed with `OPENSSL_free`, which cleanses).
pub struct SigningKey(Pair);

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key (`KeyGenerationFailed` if the library fails).
    pub fn generate(alg: SignatureAlgorithm) -> Result<SigningKey> {
        let fail = |_| Error::from(ErrorCode::KeyGenerationFailed);
        Ok(SigningKey(match alg {
            SignatureAlgorithm::Ed25519 => Pair::Ed25519(Ed25519KeyPair::generate().map_err(fail)?),
            SignatureAlgorithm::EcdsaP256Sha256 => Pair::EcdsaP256(
                EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(fail)?,
            ),
            SignatureAlgorithm::MlDsa65 => {
                Pair::MlDsa65(PqdsaKeyPair::generate(&signature::ML_DSA_65_SIGNING).map_err(fail)?)
            }
        }))
    }

    /// A fresh random key as PKCS#8 v1 DER, in a zeroizing buffer (for storing in a slot).
    pub fn generate_pkcs8(alg: SignatureAlgorithm) -> Result<Zeroizing<Vec<u8>>> {
        let fail = |_| Error::from(ErrorCode::KeyGenerationFailed);
        // `Document` zeroes its buffer on drop; the copy is held in a `Zeroizing` vector.
        let doc = match alg {
            SignatureAlgorithm::Ed25519 => {
                Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(fail)?
            }
            SignatureAlgorithm::EcdsaP256Sha256 => EcdsaKeyPair::generate_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &SystemRandom::new(),
            )
            .map_err(fail)?,
            SignatureAlgorithm::MlDsa65 => PqdsaKeyPair::generate(&signature::ML_DSA_65_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(fail)?,
        };
        Ok(Zeroizing::new(doc.as_ref().to_vec()))
    }

    /// A key from its PKCS#8 DER encoding (`InvalidFormat` if it does not parse).
    pub fn from_pkcs8(alg: SignatureAlgorithm, der: &[u8]) -> Result<SigningKey> {
        let bad = |_| Error::from(ErrorCode::InvalidFormat);
        Ok(SigningKey(match alg {
            SignatureAlgorithm::Ed25519 => {
                Pair::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(bad)?)
            }
            SignatureAlgorithm::EcdsaP256Sha256 => Pair::EcdsaP256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(bad)?,
            ),
            SignatureAlgorithm::MlDsa65 => Pair::MlDsa65(
                PqdsaKeyPair::from_pkcs8(&signature::ML_DSA_65_SIGNING, der).map_err(bad)?,
            ),
        }))
    }

    /// The algorithm.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self.0 {
            Pair::Ed25519(_) => SignatureAlgorithm::Ed25519,
            Pair::EcdsaP256(_) => SignatureAlgorithm::EcdsaP256Sha256,
            Pair::MlDsa65(_) => SignatureAlgorithm::MlDsa65,
        }
    }

    /// The raw public key (32 bytes / SEC1 uncompressed point / FIPS 204 `pk`).
    pub fn public_key(&self) -> Vec<u8> {
        match &self.0 {
            Pair::Ed25519(k) => k.public_key().as_ref().to_vec(),
            Pair::EcdsaP256(k) => k.public_key().as_ref().to_vec(),
            Pair::MlDsa65(k) => k.public_key().as_ref().to_vec(),
        }
    }

    /// A signature of `msg` (`OperationFailed` if the library fails).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>> {
        match &self.0 {
            Pair::Ed25519(k) => Ok(k.sign(msg).as_ref().to_vec()),
            Pair::EcdsaP256(k) => k
                .sign(&SystemRandom::new(), msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(failed),
            Pair::MlDsa65(k) => {
                let mut sig = vec![0u8; signature::ML_DSA_65_SIGNING.signature_len()];
                let n = k.sign(msg, &mut sig).map_err(failed)?;
                sig.truncate(n);
                Ok(sig)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aead_round_trip_and_tamper_fails() {
        let c = Aes256Gcm::new(&[7u8; 32]).unwrap();
        let mut buf = b"secret".to_vec();
        let tag = c.seal([1u8; 12], b"aad", &mut buf).unwrap();
        assert_ne!(buf, b"secret");
        buf.extend_from_slice(&tag);
        let mut bad = buf.clone();
        assert!(c.open([1u8; 12], b"other", &mut bad).is_err());
        let n = c.open([1u8; 12], b"aad", &mut buf).unwrap();
        assert_eq!(&buf[..n], b"secret");
        assert!(Aes256Gcm::new(&[0u8; 16]).is_err());
    }

    #[test]
    fn signatures_verify_and_pkcs8_round_trips() {
        for alg in [
            SignatureAlgorithm::Ed25519,
            SignatureAlgorithm::EcdsaP256Sha256,
            SignatureAlgorithm::MlDsa65,
        ] {
            let der = SigningKey::generate_pkcs8(alg).unwrap();
            let k = SigningKey::from_pkcs8(alg, &der).unwrap();
            assert_eq!(k.algorithm(), alg);
            let sig = k.sign(b"msg").unwrap();
            assert!(verify(alg, &k.public_key(), b"msg", &sig));
            assert!(!verify(alg, &k.public_key(), b"msh", &sig));
            let other = SigningKey::generate(alg).unwrap();
            assert!(!verify(alg, &other.public_key(), b"msg", &sig));
        }
        assert!(SigningKey::from_pkcs8(SignatureAlgorithm::Ed25519, b"junk").is_err());
        assert_eq!(sha256(b"").len(), 32);
    }
}
