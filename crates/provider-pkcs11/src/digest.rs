//! Hash contexts computed by the token (`CKM_SHA256/384/512`).
//!
//! Reachable only by code that holds this provider: the daemon sends every keyless request
//! (hash contexts included) to the default provider, and no request names a provider for a
//! context, so through `wardend` these digests are capability information only (see
//! `design.md`). Like the keyed contexts, data is buffered in the caller's budget and given to
//! the token in one `C_Digest` at `finalize`, so a stream never pins a token session.

use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use warden_core::{Algorithm, Error, ErrorCode, Result};
use warden_crypto::context::{Buffered, Engine, too_small};
use warden_crypto::{BufferSource, ContextKind};

use crate::token::Token;

/// The token mechanism for a hash algorithm, if the provider serves it.
pub(crate) fn mechanism(alg: Algorithm) -> Result<Mechanism<'static>> {
    Ok(match alg {
        Algorithm::Sha256 => Mechanism::Sha256,
        Algorithm::Sha384 => Mechanism::Sha384,
        Algorithm::Sha512 => Mechanism::Sha512,
        _ => {
            return Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "the token hashes SHA-256/384/512",
            ));
        }
    })
}

pub(crate) struct DigestEngine {
    token: Arc<Token>,
    alg: Algorithm,
    buf: Buffered,
    started: bool,
}

impl DigestEngine {
    pub(crate) fn new(token: Arc<Token>, alg: Algorithm, buffers: BufferSource) -> Result<Self> {
        // Checked here; kept as the algorithm because a `Mechanism` is not `Send`.
        mechanism(alg)?;
        Ok(DigestEngine {
            token,
            alg,
            buf: Buffered::new(buffers),
            started: false,
        })
    }

    fn out_len(&self) -> usize {
        self.alg.digest_len().unwrap_or(64)
    }
}

impl Engine for DigestEngine {
    fn kind(&self) -> ContextKind {
        ContextKind::Hash
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Some(self.alg)
    }

    fn start(&mut self, iv: &[u8]) -> Result<()> {
        if !iv.is_empty() {
            return Err(Error::invalid_argument("hash contexts take no IV"));
        }
        self.buf.release();
        self.started = true;
        Ok(())
    }

    fn update(&mut self, input: &[u8], _out: &mut [u8]) -> Result<usize> {
        if !self.started {
            return Err(Error::from(ErrorCode::StreamNotInitialized));
        }
        self.buf.extend(input)?;
        Ok(0)
    }

    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        if !self.started {
            return Err(Error::from(ErrorCode::StreamNotInitialized));
        }
        let mech = mechanism(self.alg)?;
        let dst = out.get_mut(..self.out_len()).ok_or_else(too_small)?;
        self.buf.extend(input)?;
        let data = self.buf.as_slice();
        let r = self.token.with(|s| Ok(s.digest(&mech, data)?));
        self.buf.release();
        self.started = false;
        let digest = r?;
        if digest.len() != dst.len() {
            return Err(Error::new(
                ErrorCode::OperationFailed,
                "token returned a digest of the wrong length",
            ));
        }
        dst.copy_from_slice(&digest);
        Ok(digest.len())
    }

    fn clear(&mut self) {
        self.buf.release();
        self.started = false;
    }

    fn max_output_len(&self, _input_len: usize) -> usize {
        self.out_len()
    }
}
