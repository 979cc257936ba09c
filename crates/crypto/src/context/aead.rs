//! AEAD contexts (AES-128/256-GCM, ChaCha20-Poly1305), one type for both directions.
//!
//! aws-lc's AEAD is one-shot, so the stream is buffered: data given to `update` is copied into
//! a buffer reserved at creation (bound: the provider's `buffer_limit`; more fails with
//! `QuotaExceeded`), and `finalize` seals or opens everything at once into the caller's buffer.
//! When nothing was buffered, `finalize(input, out)` works directly on `input` (no copy into
//! the buffer), so a one-shot call has no size bound besides `out`. `update` writes nothing.
//! The tag is separate: `get_tag` after an encrypting `finalize`, `set_tag` before a
//! decrypting one (missing tag -> `StreamIncomplete`). A failed open zeroes the output.
//! Encryption draws its nonce at `init` unless the key has `CALLER_NONCE` and one is given
//! (`super::encryption_iv`); `iv` hands it back for the caller to store with the ciphertext.

use aws_lc_rs::aead::{
    AES_128_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey,
};
use warden_core::{Algorithm, Error, ErrorCode, Result};
use zeroize::{Zeroize, Zeroizing};

use super::{ContextKind, Engine, too_small, wipe};
use crate::key::Key;

const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 12;

pub(crate) struct AeadEngine {
    alg: Algorithm,
    key: LessSafeKey,
    encrypt: bool,
    /// The key carries `CALLER_NONCE`: an encrypting `init` may take the caller's nonce.
    caller_nonce: bool,
    limit: usize,
    nonce: [u8; NONCE_LEN],
    aad: Zeroizing<Vec<u8>>,
    data: Zeroizing<Vec<u8>>,
    tag: Option<[u8; TAG_LEN]>,
}

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "AEAD operation failed")
}

fn quota() -> Error {
    Error::new(
        ErrorCode::QuotaExceeded,
        "streamed AEAD data exceeds the buffer limit",
    )
}

impl AeadEngine {
    pub(crate) fn new(
        alg: Algorithm,
        key: &Key,
        encrypt: bool,
        caller_nonce: bool,
        limit: usize,
    ) -> Result<Self> {
        let aead = match alg {
            Algorithm::Aes128Gcm => &AES_128_GCM,
            Algorithm::Aes256Gcm => &AES_256_GCM,
            Algorithm::ChaCha20Poly1305 => &CHACHA20_POLY1305,
            _ => return Err(Error::new(ErrorCode::UnsupportedAlgorithm, "not an AEAD")),
        };
        let key = LessSafeKey::new(UnboundKey::new(aead, key.secret_bytes()?).map_err(failed)?);
        Ok(AeadEngine {
            alg,
            key,
            encrypt,
            caller_nonce,
            limit,
            nonce: [0; NONCE_LEN],
            aad: Zeroizing::new(Vec::with_capacity(limit.min(4096))),
            data: Zeroizing::new(Vec::with_capacity(limit)),
            tag: None,
        })
    }

    fn append(buf: &mut Vec<u8>, input: &[u8], limit: usize) -> Result<()> {
        if buf.len().saturating_add(input.len()) > limit {
            return Err(quota());
        }
        buf.extend_from_slice(input);
        Ok(())
    }

    /// Seals or opens `data` into `out` (exactly `data.len()` bytes are written).
    fn run(&mut self, data_from_input: Option<&[u8]>, out: &mut [u8]) -> Result<usize> {
        let data: &[u8] = data_from_input.unwrap_or(&self.data);
        let n = data.len();
        let dst = out.get_mut(..n).ok_or_else(too_small)?;
        let nonce = Nonce::assume_unique_for_key(self.nonce);
        let aad = Aad::from(self.aad.as_slice());
        if self.encrypt {
            // Out of place: no copy of the plaintext into `out` first.
            let mut t = [0u8; TAG_LEN];
            if let Err(e) = self
                .key
                .seal_out_of_place_scatter(nonce, aad, data, dst, &[], &mut t)
            {
                dst.zeroize();
                return Err(failed(e));
            }
            self.tag = Some(t);
        } else {
            let tag = self.tag.ok_or(Error::new(
                ErrorCode::StreamIncomplete,
                "set_tag before finalize",
            ))?;
            if let Err(e) = self.key.open_separate_gather(nonce, aad, data, &tag, dst) {
                dst.zeroize();
                return Err(failed(e));
            }
        }
        Ok(n)
    }
}

impl Engine for AeadEngine {
    fn kind(&self) -> ContextKind {
        ContextKind::Aead
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Some(self.alg)
    }

    fn start(&mut self, nonce: &[u8]) -> Result<()> {
        if self.encrypt {
            return super::encryption_iv(nonce, self.caller_nonce, &mut self.nonce);
        }
        self.nonce = nonce
            .try_into()
            .map_err(|_| Error::invalid_argument("nonce must be 12 bytes"))?;
        Ok(())
    }

    fn iv(&self) -> &[u8] {
        if self.encrypt { &self.nonce } else { &[] }
    }

    fn aad(&mut self, aad: &[u8]) -> Result<()> {
        let limit = self.limit;
        Self::append(&mut self.aad, aad, limit)
    }

    fn update(&mut self, input: &[u8], _out: &mut [u8]) -> Result<usize> {
        let limit = self.limit;
        Self::append(&mut self.data, input, limit)?;
        Ok(0)
    }

    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        if out.len() < self.data.len().saturating_add(input.len()) {
            return Err(too_small());
        }
        if self.data.is_empty() {
            return self.run(Some(input), out);
        }
        let limit = self.limit;
        Self::append(&mut self.data, input, limit)?;
        self.run(None, out)
    }

    fn set_tag(&mut self, tag: &[u8]) -> Result<()> {
        if self.encrypt {
            return Err(Error::new(
                ErrorCode::InvalidOperation,
                "set_tag is for decryption",
            ));
        }
        self.tag = Some(
            tag.try_into()
                .map_err(|_| Error::invalid_argument("tag must be 16 bytes"))?,
        );
        Ok(())
    }

    fn get_tag(&self, out: &mut [u8]) -> Result<usize> {
        if !self.encrypt {
            return Err(Error::new(
                ErrorCode::InvalidOperation,
                "get_tag is for encryption",
            ));
        }
        let tag = self
            .tag
            .ok_or(Error::new(ErrorCode::InvalidOperation, "no tag yet"))?;
        out.get_mut(..TAG_LEN)
            .ok_or_else(too_small)?
            .copy_from_slice(&tag);
        Ok(TAG_LEN)
    }

    /// Wipes buffered data, AAD, nonce and tag; capacity (no secrets) is kept for reuse.
    fn clear(&mut self) {
        wipe(&mut self.data);
        wipe(&mut self.aad);
        self.nonce = [0; NONCE_LEN];
        self.tag = None;
    }

    fn max_output_len(&self, input_len: usize) -> usize {
        self.data.len().saturating_add(input_len)
    }
}
