//! RSA-OAEP with SHA-1, SHA-256, SHA-384 or SHA-512 (MGF1 with the same hash) and the
//! context's label (empty unless set; `ContextOptions::oaep_label`) as a Cipher context.
//!
//! RSA encrypts a single block, so `update` buffers (up to the maximum plaintext for
//! encryption, the modulus length for decryption; more fails with `InvalidArgument`) and
//! `finalize` does the RSA operation into the caller's buffer. A failed decryption is opaque
//! (`OperationFailed`) and zeroes the output.

use std::sync::Arc;

use aws_lc_rs::rsa::{
    OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PublicEncryptingKey,
};
use warden_core::{Algorithm, ContextOptions, Error, ErrorCode, KeyFormat, Result};
use zeroize::{Zeroize, Zeroizing};

use warden_crypto::context::{Engine, too_small, wipe};
use warden_crypto::{ContextKind, Key};

use crate::material::{AwsLcKey as _, Material};

enum Op {
    Encrypt(OaepPublicEncryptingKey),
    Decrypt(OaepPrivateDecryptingKey),
}

pub(crate) struct RsaOaepEngine {
    alg: Algorithm,
    params: &'static OaepAlgorithm,
    /// The label bound into every ciphertext (public, not secret).
    label: Vec<u8>,
    op: Op,
    input_limit: usize,
    modulus_len: usize,
    buffer: Zeroizing<Vec<u8>>,
}

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "RSA-OAEP operation failed")
}

impl RsaOaepEngine {
    pub(crate) fn new(
        alg: Algorithm,
        key: Arc<Key>,
        encrypt: bool,
        options: &ContextOptions,
    ) -> Result<Self> {
        let params = crate::rsa_params::oaep(alg)?;
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
            Op::Encrypt(k) => (k.max_plaintext_size(params), k.ciphertext_size()),
            Op::Decrypt(k) => (k.key_size_bytes(), k.min_output_size()),
        };
        Ok(RsaOaepEngine {
            alg,
            params,
            label: options.oaep_label().to_vec(),
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
        Some(self.alg)
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
        // aws-lc treats `None` and an empty label alike (RFC 8017: L defaults to empty).
        let label = (!self.label.is_empty()).then_some(self.label.as_slice());
        let r = match &self.op {
            Op::Encrypt(k) => k
                .encrypt(self.params, &self.buffer, out, label)
                .map(|c| c.len()),
            Op::Decrypt(k) => k
                .decrypt(self.params, &self.buffer, out, label)
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
