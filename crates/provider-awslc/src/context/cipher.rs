//! AES-CTR and AES-CBC-PKCS7 contexts (128, 192 and 256-bit keys), one type for both directions, over aws-lc's
//! streaming `cipher` API. Decryption takes the IV at `init` (16 bytes); encryption draws
//! a fresh one unless the key has `CALLER_NONCE` and the caller gives one
//! (`super::encryption_iv`), and hands it back through `iv`.
//!
//! Output sizes follow aws-lc's contract: `update` of `n > 0` bytes needs `n + 15` bytes of
//! output space (CBC may hold back a block); `finalize` of `n` bytes needs `n + 31` for CBC
//! (16 when `n == 0`, for the padding block) and `n + 15` for CTR (0 when `n == 0`).

use std::sync::Arc;

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, Algorithm as CipherAlgorithm, DecryptionContext, EncryptionContext,
    StreamingDecryptingKey, StreamingEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use warden_core::{Algorithm, Error, ErrorCode, Result};

use warden_crypto::context::{Engine, too_small};
use warden_crypto::{ContextKind, Key};

use crate::material::AwsLcKey as _;

enum Active {
    Encrypt(StreamingEncryptingKey),
    Decrypt(StreamingDecryptingKey),
}

pub(crate) struct CipherEngine {
    alg: Algorithm,
    cipher: &'static CipherAlgorithm,
    cbc: bool,
    key: Arc<Key>,
    encrypt: bool,
    /// The key carries `CALLER_NONCE`: an encrypting `init` may take the caller's IV.
    caller_nonce: bool,
    /// The IV of the current stream.
    iv: [u8; 16],
    active: Option<Active>,
}

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "cipher operation failed")
}

impl CipherEngine {
    pub(crate) fn new(
        alg: Algorithm,
        key: Arc<Key>,
        encrypt: bool,
        caller_nonce: bool,
    ) -> Result<Self> {
        use Algorithm as A;
        let (cipher, cbc) = match alg {
            A::Aes128Ctr => (&AES_128, false),
            A::Aes192Ctr => (&AES_192, false),
            A::Aes256Ctr => (&AES_256, false),
            A::Aes128CbcPkcs7 => (&AES_128, true),
            A::Aes192CbcPkcs7 => (&AES_192, true),
            A::Aes256CbcPkcs7 => (&AES_256, true),
            _ => {
                return Err(Error::new(
                    ErrorCode::UnsupportedAlgorithm,
                    "not a cipher mode",
                ));
            }
        };
        key.secret_bytes()?;
        Ok(CipherEngine {
            alg,
            cipher,
            cbc,
            key,
            encrypt,
            caller_nonce,
            iv: [0; 16],
            active: None,
        })
    }

    fn is_cbc(&self) -> bool {
        self.cbc
    }

    fn update_need(n: usize) -> usize {
        if n == 0 { 0 } else { n.saturating_add(15) }
    }

    fn finish_need(&self, n: usize) -> usize {
        match (self.is_cbc(), n) {
            (true, 0) => 16,
            (true, _) => n.saturating_add(31),
            (false, _) => Self::update_need(n),
        }
    }

    fn feed(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        if input.is_empty() {
            return Ok(0);
        }
        if out.len() < Self::update_need(input.len()) {
            return Err(too_small());
        }
        match self.active.as_mut() {
            Some(Active::Encrypt(k)) => Ok(k.update(input, out).map_err(failed)?.written().len()),
            Some(Active::Decrypt(k)) => Ok(k.update(input, out).map_err(failed)?.written().len()),
            None => Err(Error::from(ErrorCode::StreamNotInitialized)),
        }
    }
}

impl Engine for CipherEngine {
    fn kind(&self) -> ContextKind {
        ContextKind::Cipher
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Some(self.alg)
    }

    fn start(&mut self, iv: &[u8]) -> Result<()> {
        if self.encrypt {
            super::encryption_iv(iv, self.caller_nonce, &mut self.iv)?;
        } else {
            self.iv = iv
                .try_into()
                .map_err(|_| Error::invalid_argument("IV must be 16 bytes"))?;
        }
        let iv = self.iv;
        let key = UnboundCipherKey::new(self.cipher, self.key.secret_bytes()?).map_err(failed)?;
        let iv = FixedLength::from(iv);
        self.active = Some(match (self.encrypt, self.is_cbc()) {
            (true, true) => Active::Encrypt(
                StreamingEncryptingKey::less_safe_cbc_pkcs7(key, EncryptionContext::Iv128(iv))
                    .map_err(failed)?,
            ),
            (true, false) => Active::Encrypt(
                StreamingEncryptingKey::less_safe_ctr(key, EncryptionContext::Iv128(iv))
                    .map_err(failed)?,
            ),
            (false, true) => Active::Decrypt(
                StreamingDecryptingKey::cbc_pkcs7(key, DecryptionContext::Iv128(iv))
                    .map_err(failed)?,
            ),
            (false, false) => Active::Decrypt(
                StreamingDecryptingKey::ctr(key, DecryptionContext::Iv128(iv)).map_err(failed)?,
            ),
        });
        Ok(())
    }

    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        self.feed(input, out)
    }

    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        if out.len() < self.finish_need(input.len()) {
            return Err(too_small());
        }
        let written = self.feed(input, out)?;
        // The last block goes through a stack scratch so CTR needs no spare output block;
        // zeroizing, so it is wiped on every path (bad padding and too-small output too).
        let mut last = zeroize::Zeroizing::new([0u8; 16]);
        let res = match self.active.take() {
            Some(Active::Encrypt(k)) => k.finish(&mut *last).map(|(_, b)| b.written().len()),
            Some(Active::Decrypt(k)) => k.finish(&mut *last).map(|b| b.written().len()),
            None => return Err(Error::from(ErrorCode::StreamNotInitialized)),
        };
        let Ok(n) = res else {
            // Bad padding: no partial plaintext stays in the caller's buffer.
            out.fill(0);
            return Err(failed(()));
        };
        let src = last.get(..n).ok_or(Error::from(ErrorCode::InternalError))?;
        let dst = out.get_mut(written..written + n).ok_or_else(too_small)?;
        dst.copy_from_slice(src);
        Ok(written + n)
    }

    fn iv(&self) -> &[u8] {
        if self.encrypt { &self.iv } else { &[] }
    }

    fn clear(&mut self) {
        self.active = None;
    }

    fn max_output_len(&self, input_len: usize) -> usize {
        self.finish_need(input_len)
            .max(Self::update_need(input_len))
    }
}
