//! HMAC contexts over aws-lc `hmac::Context`; finalize produces or checks (constant time) a tag.

use aws_lc_rs::{constant_time, hmac};
use warden_core::{Algorithm, Error, ErrorCode, Result};

use warden_crypto::context::{Engine, too_small};
use warden_crypto::{ContextKind, Key};

use crate::material::AwsLcKey as _;

pub(crate) struct MacEngine {
    alg: Algorithm,
    key: hmac::Key,
    ctx: Option<hmac::Context>,
}

fn hmac_alg(alg: Algorithm) -> Result<hmac::Algorithm> {
    Ok(match alg {
        Algorithm::HmacSha256 => hmac::HMAC_SHA256,
        Algorithm::HmacSha384 => hmac::HMAC_SHA384,
        Algorithm::HmacSha512 => hmac::HMAC_SHA512,
        _ => return Err(Error::new(ErrorCode::UnsupportedAlgorithm, "not a MAC")),
    })
}

impl MacEngine {
    pub(crate) fn new(alg: Algorithm, key: &Key) -> Result<Self> {
        // aws-lc keeps its own copy of the key inside an HMAC_CTX, cleansed when dropped.
        Ok(MacEngine {
            alg,
            key: hmac::Key::new(hmac_alg(alg)?, key.secret_bytes()?),
            ctx: None,
        })
    }

    fn tag_len(&self) -> usize {
        self.key.algorithm().digest_algorithm().output_len()
    }
}

impl Engine for MacEngine {
    fn kind(&self) -> ContextKind {
        ContextKind::Mac
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Some(self.alg)
    }

    fn start(&mut self, iv: &[u8]) -> Result<()> {
        if !iv.is_empty() {
            return Err(Error::invalid_argument("MAC contexts take no IV"));
        }
        self.ctx = Some(hmac::Context::with_key(&self.key));
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

    /// Empty `expected`: write the tag to `out`. Otherwise: compare with `expected`.
    fn finish(&mut self, expected: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = self.tag_len();
        if expected.is_empty() && out.len() < n {
            return Err(too_small());
        }
        let ctx = self
            .ctx
            .take()
            .ok_or(Error::from(ErrorCode::StreamNotInitialized))?;
        let tag = ctx.sign();
        if expected.is_empty() {
            let dst = out.get_mut(..n).ok_or_else(too_small)?;
            dst.copy_from_slice(tag.as_ref());
            Ok(n)
        } else {
            constant_time::verify_slices_are_equal(tag.as_ref(), expected)
                .map_err(|_| Error::new(ErrorCode::OperationFailed, "verification failed"))?;
            Ok(0)
        }
    }

    fn clear(&mut self) {
        self.ctx = None;
    }

    fn max_output_len(&self, _input_len: usize) -> usize {
        self.tag_len()
    }
}
