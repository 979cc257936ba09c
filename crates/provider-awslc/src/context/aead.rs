//! AEAD contexts (AES-128/256-GCM, ChaCha20-Poly1305), one type for both directions.
//!
//! aws-lc's AEAD is one-shot, so the stream is buffered: AAD and data given to `update` are
//! copied into one budgeted chunk (`super::buffer`: taken on the first byte, AAD first, then
//! data; past the chunk or the caller's budget `QuotaExceeded`), and `finalize` seals or opens
//! everything at once into the caller's buffer, then gives the chunk back wiped.
//! When nothing was buffered, `finalize(input, out)` works directly on `input` (no copy into
//! the buffer), so a one-shot call has no size bound besides `out`. `update` writes nothing.
//! The tag is separate: `get_tag` after an encrypting `finalize`, `set_tag` before a
//! decrypting one (missing tag -> `StreamIncomplete`). A failed open zeroes the output.
//! Encryption draws its nonce at `init` unless the key has `CALLER_NONCE` and one is given
//! (`super::encryption_iv`); `iv` hands it back for the caller to store with the ciphertext.

use aws_lc_rs::aead::{
    AES_128_GCM, AES_192_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey,
};
use warden_core::{Algorithm, Error, ErrorCode, Result};
use zeroize::Zeroize;

use warden_crypto::context::{Buffered, Engine, too_small};
use warden_crypto::{BufferSource, ContextKind, Key};

use crate::material::AwsLcKey as _;

const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 12;

pub(crate) struct AeadEngine {
    alg: Algorithm,
    key: LessSafeKey,
    encrypt: bool,
    /// The key carries `CALLER_NONCE`: an encrypting `init` may take the caller's nonce.
    caller_nonce: bool,
    nonce: [u8; NONCE_LEN],
    /// AAD (the first `aad_len` bytes) then data.
    buf: Buffered,
    aad_len: usize,
    tag: Option<[u8; TAG_LEN]>,
}

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "AEAD operation failed")
}

impl AeadEngine {
    pub(crate) fn new(
        alg: Algorithm,
        key: &Key,
        encrypt: bool,
        caller_nonce: bool,
        buffers: BufferSource,
    ) -> Result<Self> {
        let aead = match alg {
            Algorithm::Aes128Gcm => &AES_128_GCM,
            Algorithm::Aes192Gcm => &AES_192_GCM,
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
            nonce: [0; NONCE_LEN],
            buf: Buffered::new(buffers),
            aad_len: 0,
            tag: None,
        })
    }

    fn buffered_data_len(&self) -> usize {
        self.buf.len().saturating_sub(self.aad_len)
    }

    /// Seals or opens the buffered data, or `data_from_input`, into `out` (exactly the
    /// data's length is written).
    fn run(&mut self, data_from_input: Option<&[u8]>, out: &mut [u8]) -> Result<usize> {
        let all = self.buf.as_slice();
        let (aad, buffered) = all
            .split_at_checked(self.aad_len)
            .ok_or(ErrorCode::InternalError)?;
        let data: &[u8] = data_from_input.unwrap_or(buffered);
        let n = data.len();
        let dst = out.get_mut(..n).ok_or_else(too_small)?;
        let nonce = Nonce::assume_unique_for_key(self.nonce);
        let aad = Aad::from(aad);
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

    /// The stream only allows AAD before the first data, so AAD stays in front.
    fn aad(&mut self, aad: &[u8]) -> Result<()> {
        self.buf.extend(aad)?;
        self.aad_len += aad.len();
        Ok(())
    }

    fn update(&mut self, input: &[u8], _out: &mut [u8]) -> Result<usize> {
        self.buf.extend(input)?;
        Ok(0)
    }

    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        if out.len() < self.buffered_data_len().saturating_add(input.len()) {
            return Err(too_small());
        }
        let r = if self.buffered_data_len() == 0 {
            self.run(Some(input), out)
        } else {
            self.buf.extend(input)?;
            self.run(None, out)
        };
        // The stream is over: the plaintext goes (wiped) and the chunk returns to the pool
        // now, not at the next reset. The tag stays for `get_tag`.
        self.buf.release();
        self.aad_len = 0;
        r
    }

    /// Nothing buffered and no separate last piece: seal / open `data` where it lies.
    fn finish_whole(&mut self, data: &[u8], last: &[u8], out: &mut [u8]) -> Result<usize> {
        if last.is_empty() && self.buffered_data_len() == 0 {
            return self.finish(data, out);
        }
        self.update(data, out)?;
        self.finish(last, out)
    }

    /// Encryption with nothing buffered: seal `data` where it lies (aws-lc's in-place seal;
    /// the region's bytes are the client's, who may only corrupt its own result by changing
    /// them meanwhile). Decryption never runs in place here: the daemon decrypts a private
    /// copy so that no unauthenticated plaintext is ever visible.
    fn finish_whole_in_place(&mut self, data: &mut [u8]) -> Result<usize> {
        if !self.encrypt || self.buffered_data_len() != 0 {
            return Err(warden_crypto::context::in_place_unsupported());
        }
        let aad = self
            .buf
            .as_slice()
            .get(..self.aad_len)
            .ok_or(ErrorCode::InternalError)?;
        let nonce = Nonce::assume_unique_for_key(self.nonce);
        let sealed = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(aad), data)
            .map_err(failed)
            .and_then(|tag| {
                <[u8; TAG_LEN]>::try_from(tag.as_ref()).map_err(|_| ErrorCode::InternalError.into())
            });
        // The stream is over either way: the AAD goes (wiped), the chunk back to its pool.
        self.buf.release();
        self.aad_len = 0;
        match sealed {
            Ok(tag) => {
                self.tag = Some(tag);
                Ok(data.len())
            }
            Err(e) => {
                data.zeroize();
                Err(e)
            }
        }
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

    /// Wipes buffered data and AAD (the chunk goes back to its pool), nonce and tag.
    fn clear(&mut self) {
        self.buf.release();
        self.aad_len = 0;
        self.nonce = [0; NONCE_LEN];
        self.tag = None;
    }

    fn max_output_len(&self, input_len: usize) -> usize {
        self.buffered_data_len().saturating_add(input_len)
    }
}
