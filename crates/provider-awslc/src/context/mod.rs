//! This provider's context engines, each wrapped in the shared `warden_crypto::context::Stream`
//! state machine.

mod aead;
mod cipher;
mod hash;
mod mac;
mod mldsa_ctx;
mod random;
mod rsa_oaep;
mod sign;

use std::sync::Arc;

use warden_core::{AlgorithmClass, ContextConfig, Error, ErrorCode, Result};
use warden_crypto::context::{Stream, check_request};
use warden_crypto::{BufferSource, ContextKind, CryptoContext, Key};

/// The nonce / IV an encrypting stream starts with, written to `out` (its length is the
/// algorithm's): fresh from the system generator when the caller gave none; the caller's own
/// only with the key's `CALLER_NONCE` bit (`caller_nonce`), since a repeated nonce turns
/// ENCRYPT into DECRYPT for CTR-based modes.
pub(crate) fn encryption_iv(given: &[u8], caller_nonce: bool, out: &mut [u8]) -> Result<()> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    if given.is_empty() {
        return SystemRandom::new()
            .fill(out)
            .map_err(|_| Error::new(ErrorCode::OperationFailed, "random generator failed"));
    }
    if !caller_nonce {
        return Err(Error::new(
            ErrorCode::KeyOperationNotPermitted,
            "a caller-chosen encryption nonce needs the caller-nonce permission",
        ));
    }
    if given.len() != out.len() {
        return Err(Error::invalid_argument("nonce / IV has the wrong length"));
    }
    out.copy_from_slice(given);
    Ok(())
}

/// Builds a context of `kind` for `cfg`, after the shared class / key type / permission checks.
pub(crate) fn create(
    kind: ContextKind,
    cfg: &ContextConfig,
    key: Option<Arc<Key>>,
    buffers: &BufferSource,
) -> Result<Box<dyn CryptoContext>> {
    let alg = cfg.algorithm();
    let checked = check_request(kind, cfg, key)?;
    let (class, encrypt, caller_nonce) = (checked.class, checked.encrypt, checked.caller_nonce);
    let key = checked.key;
    let need = || key.clone().ok_or(Error::from(ErrorCode::InternalError));
    Ok(match kind {
        ContextKind::Hash => Box::new(Stream::new(hash::HashEngine::new(alg)?)),
        ContextKind::Mac => Box::new(Stream::new(mac::MacEngine::new(alg, &*need()?)?)),
        ContextKind::Cipher if class == AlgorithmClass::AsymmetricEncryption => {
            Box::new(Stream::new(rsa_oaep::RsaOaepEngine::new(
                alg,
                need()?,
                encrypt,
                cfg.options(),
            )?))
        }
        ContextKind::Cipher => Box::new(Stream::new(cipher::CipherEngine::new(
            alg,
            need()?,
            encrypt,
            caller_nonce,
        )?)),
        ContextKind::Aead => Box::new(Stream::new(aead::AeadEngine::new(
            alg,
            &*need()?,
            encrypt,
            caller_nonce,
            buffers.clone(),
        )?)),
        ContextKind::Sign => Box::new(Stream::new(sign::SignEngine::new(
            alg,
            need()?,
            cfg.options(),
            buffers.clone(),
        )?)),
        ContextKind::Verify => Box::new(Stream::new(sign::VerifyEngine::new(
            alg,
            &*need()?,
            cfg.options(),
            buffers.clone(),
        )?)),
        ContextKind::Random => return Err(Error::from(ErrorCode::InternalError)),
    })
}

/// A Random context (no algorithm, no key).
pub(crate) fn create_random() -> Box<dyn CryptoContext> {
    Box::new(Stream::new(random::RandomEngine))
}
