//! Random contexts: `update` and `finalize` fill the caller's buffer from aws-lc's DRBG.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use warden_core::{Algorithm, Error, ErrorCode, Result};

use warden_crypto::ContextKind;
use warden_crypto::context::Engine;

pub(crate) struct RandomEngine;

fn fill(out: &mut [u8]) -> Result<usize> {
    SystemRandom::new()
        .fill(out)
        .map_err(|_| Error::new(ErrorCode::OperationFailed, "random generator failed"))?;
    Ok(out.len())
}

impl Engine for RandomEngine {
    fn kind(&self) -> ContextKind {
        ContextKind::Random
    }

    fn algorithm(&self) -> Option<Algorithm> {
        None
    }

    fn start(&mut self, iv: &[u8]) -> Result<()> {
        if iv.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid_argument("random contexts take no IV"))
        }
    }

    fn update(&mut self, _input: &[u8], out: &mut [u8]) -> Result<usize> {
        fill(out)
    }

    fn finish(&mut self, _input: &[u8], out: &mut [u8]) -> Result<usize> {
        fill(out)
    }

    fn clear(&mut self) {}

    fn max_output_len(&self, _input_len: usize) -> usize {
        usize::MAX
    }
}
