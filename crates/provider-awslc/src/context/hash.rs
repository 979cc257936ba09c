//! Hash contexts over aws-lc `digest::Context` (no Rust-heap allocation in update/finalize).

use aws_lc_rs::digest;
use warden_core::{Algorithm, Error, ErrorCode, Result};

use warden_crypto::ContextKind;
use warden_crypto::context::{Engine, too_small};

/// The aws-lc digest for a hash algorithm.
pub(crate) fn digest_alg(alg: Algorithm) -> Result<&'static digest::Algorithm> {
    Ok(match alg {
        Algorithm::Sha256 => &digest::SHA256,
        Algorithm::Sha384 => &digest::SHA384,
        Algorithm::Sha512 => &digest::SHA512,
        Algorithm::Sha3_256 => &digest::SHA3_256,
        Algorithm::Sha3_384 => &digest::SHA3_384,
        Algorithm::Sha3_512 => &digest::SHA3_512,
        _ => return Err(Error::new(ErrorCode::UnsupportedAlgorithm, "not a hash")),
    })
}

pub(crate) struct HashEngine {
    alg: Algorithm,
    md: &'static digest::Algorithm,
    ctx: Option<digest::Context>,
}

impl HashEngine {
    pub(crate) fn new(alg: Algorithm) -> Result<Self> {
        Ok(HashEngine {
            alg,
            md: digest_alg(alg)?,
            ctx: None,
        })
    }
}

impl Engine for HashEngine {
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
        self.ctx = Some(digest::Context::new(self.md));
        Ok(())
    }

    fn update(&mut self, input: &[u8], _out: &mut [u8]) -> Result<usize> {
        let ctx = self
            .ctx
            .as_mut()
            .ok_or(Error::from(ErrorCode::StreamNotInitialized))?;
        ctx.update(input);
        Ok(0)
    }

    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = self.md.output_len();
        let dst = out.get_mut(..n).ok_or_else(too_small)?;
        let mut ctx = self
            .ctx
            .take()
            .ok_or(Error::from(ErrorCode::StreamNotInitialized))?;
        ctx.update(input);
        dst.copy_from_slice(ctx.finish().as_ref());
        Ok(n)
    }

    fn clear(&mut self) {
        self.ctx = None;
    }

    fn max_output_len(&self, _input_len: usize) -> usize {
        self.md.output_len()
    }
}
