//! RSA-OAEP-SHA256 (MGF1-SHA256, empty label) as a Cipher context.
//!
//! RSA encrypts a single block, so `update` buffers (up to the maximum plaintext for
//! encryption, the modulus length for decryption; more fails with `InvalidArgument`) and
//! `finalize` does the RSA operation into the caller's buffer. A failed decryption is opaque
//! (`OperationFailed`) and zeroes the output.

use std::sync::Arc;

use aws_lc_rs::rsa::{
    OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PublicEncryptingKey,
};
use warden_core::{Algorithm, Error, ErrorCode, KeyFormat, Result};
use zeroize::{Zeroize, Zeroizing};

use warden_crypto::context::{Engine, too_small, wipe};
use warden_crypto::{ContextKind, Key};

use crate::material::{AwsLcKey as _, Material};

enum Op {
    Encrypt(OaepPublicEncryptingKey),
    Decrypt(OaepPrivateDecryptingKey),
}

pub(crate) struct RsaOaepEngine {
    op: Op,
    input_limit: usize,
    modulus_len: usize,
    buffer: Zeroizing<Vec<u8>>,
}

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "RSA-OAEP operation failed")
}

impl RsaOaepEngine {
    pub(crate) fn new(alg: Algorithm, key: Arc<Key>, encrypt: bool) -> Result<Self> {
        if alg != Algorithm::RsaOaepSha256 {
            return Err(Error::new(ErrorCode::UnsupportedAlgorithm, "not RSA-OAEP"));
        }
        let op = if encrypt {
            let spki = key.public_key(KeyFormat::SubjectPublicKeyInfo)?;
            let public = PublicEncryptingKey::from_der(&spki)
                .map_err(|_| Error::new(ErrorCode::InvalidFormat, "public key rejected"))?;
            Op::Encrypt(OaepPublicEncryptingKey::new(public).map_err(failed)?)
        } else {
            match key.material()? {
                Material::Rsa { decrypt, .. } => {
                    Op::Decrypt(OaepPrivateDecryptingKey::new(decrypt.clone()).map_err(failed)?)
                }
                _ => {
                    return Err(Error::new(
                        ErrorCode::IncompatibleKeyType,
                        "decryption needs the private key",
                    ));
                }
            }
        };
        let (input_limit, modulus_len) = match &op {
            Op::Encrypt(k) => (
                k.max_plaintext_size(&OAEP_SHA256_MGF1SHA256),
                k.ciphertext_size(),
            ),
            Op::Decrypt(k) => (k.key_size_bytes(), k.min_output_size()),
        };
        Ok(RsaOaepEngine {
            op,
            input_limit,
            modulus_len,
            buffer: Zeroizing::new(Vec::with_capacity(input_limit)),
        })
    }
}

impl Engine for RsaOaepEngine {
    fn kind(&self) -> ContextKind {
        ContextKind::Cipher
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Some(Algorithm::RsaOaepSha256)
    }

    fn start(&mut self, iv: &[u8]) -> Result<()> {
        if iv.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_argument("RSA-OAEP takes no IV"))
        }
    }

    fn update(&mut self, input: &[u8], _out: &mut [u8]) -> Result<usize> {
        if self.buffer.len().saturating_add(input.len()) > self.input_limit {
            return Err(Error::invalid_argument(
                "input longer than one RSA-OAEP block",
            ));
        }
        self.buffer.extend_from_slice(input);
        Ok(0)
    }

    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        if out.len() < self.modulus_len {
            return Err(too_small());
        }
        self.update(input, out)?;
        let r = match &self.op {
            Op::Encrypt(k) => k
                .encrypt(&OAEP_SHA256_MGF1SHA256, &self.buffer, out, None)
                .map(|c| c.len()),
            Op::Decrypt(k) => k
                .decrypt(&OAEP_SHA256_MGF1SHA256, &self.buffer, out, None)
                .map(|p| p.len()),
        };
        wipe(&mut self.buffer);
        r.map_err(|e| {
            out.zeroize();
            failed(e)
        })
    }

    fn clear(&mut self) {
        wipe(&mut self.buffer);
    }

    fn max_output_len(&self, _input_len: usize) -> usize {
        self.modulus_len
    }
}
