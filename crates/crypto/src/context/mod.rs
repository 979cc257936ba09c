//! Streaming contexts with one state machine shared by every kind.
//!
//! ```text
//!   Created --init--> Initialized --update--> Updating --finalize--> Finalized
//!      ^                  |  \______________finalize________________^   |
//!      |                  |                                             |
//!      +------reset-------+-------------------reset---------------------+
//!   (any operation failure -> Failed; reset from Failed -> Created)
//! ```
//!
//! Misuse returns the seed design's typed errors and leaves the state unchanged:
//!
//! | call | in state | error |
//! |---|---|---|
//! | `update` / `finalize` / `set_aad` | Created | `StreamNotInitialized` |
//! | `init` | Initialized, Updating | `StreamAlreadyActive` |
//! | `init`, `update`, `finalize` | Finalized, Failed | `InvalidOperation` (reset first) |
//! | `set_aad` | Updating (data already given) | `InvalidOperation` |
//! | `reset` | Updating | `ContextResetFailed` |
//!
//! A too-small output buffer fails with `InsufficientBufferSize` *before* any state changes,
//! so the caller may retry with a larger one; `max_output_len` says how large.

mod aead;
mod buffer;
mod cipher;
mod hash;
mod mac;
mod random;
mod rsa_oaep;
mod sign;

use std::sync::Arc;

use warden_core::{
    Algorithm, AlgorithmClass, CipherDirection, ContextConfig, Error, ErrorCode, Result,
};

use crate::key::Key;
pub use buffer::BufferSource;

/// Default bound (bytes) on data a context buffers because the library API is one-shot:
/// AEAD (aws-lc seals in one call; AAD and data together), Ed25519 / ML-DSA / SLH-DSA
/// messages. The buffer is a chunk of a pool claimed up front ([`BufferSource`]), so
/// `update` never allocates.
pub const DEFAULT_BUFFER_LIMIT: usize = 64 * 1024;

/// What a context does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextKind {
    /// Message digest.
    Hash,
    /// HMAC (produce or check a tag).
    Mac,
    /// Unauthenticated cipher (AES-CTR, AES-CBC-PKCS7) or RSA-OAEP, either direction.
    Cipher,
    /// Authenticated encryption, either direction.
    Aead,
    /// Signature generation.
    Sign,
    /// Signature verification.
    Verify,
    /// Random bytes.
    Random,
}

/// Where a context is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextState {
    /// New or reset: needs `init`.
    Created,
    /// `init` done, no data yet.
    Initialized,
    /// At least one `update`.
    Updating,
    /// `finalize` done: read the tag (AEAD) or `reset`.
    Finalized,
    /// An operation failed (e.g. authentication): only `reset` is allowed.
    Failed,
}

/// A streaming operation. Outputs always go to caller buffers.
///
/// `finalize(input, out)`: `input` is the last piece of data for Hash, Cipher, AEAD and Sign;
/// the signature for Verify; for MAC, empty to produce the tag into `out`, or the expected tag
/// to check it in constant time (returns 0 or `OperationFailed`).
pub trait CryptoContext: Send {
    /// The kind of operation.
    fn kind(&self) -> ContextKind;
    /// The algorithm (`None` for Random contexts, which have none).
    fn algorithm(&self) -> Option<Algorithm>;
    /// Current state.
    fn state(&self) -> ContextState;
    /// Starts a stream. Nonce / IV for AEAD and ciphers, empty otherwise.
    ///
    /// Encrypting AEAD and AES-CTR/CBC streams take an empty `iv_or_nonce` and draw a fresh
    /// one from the system generator (read it back with [`CryptoContext::iv`]); a non-empty one
    /// needs the key's `CALLER_NONCE` bit, else `KeyOperationNotPermitted`: a caller who picks
    /// the nonce can repeat a victim's and read the keystream. Decryption takes the nonce.
    fn init(&mut self, iv_or_nonce: &[u8]) -> Result<()>;
    /// The nonce / IV of the current encrypting AEAD or cipher stream (whether drawn by
    /// `init` or given by the caller), to return with the ciphertext; empty before `init` and
    /// for every other context.
    fn iv(&self) -> &[u8];
    /// Adds associated data (AEAD only; after `init`, before the first `update`).
    fn set_aad(&mut self, aad: &[u8]) -> Result<()>;
    /// Feeds data; returns the number of bytes written to `out` (ciphers may write).
    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize>;
    /// Ends the stream; returns the number of bytes written to `out`.
    fn finalize(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize>;
    /// AEAD decrypt: sets the expected tag (before `finalize`).
    fn set_tag(&mut self, tag: &[u8]) -> Result<()>;
    /// AEAD encrypt: copies the tag into `out` (after `finalize`); returns its length.
    fn get_tag(&self, out: &mut [u8]) -> Result<usize>;
    /// Back to `Created`, keeping key and configuration.
    fn reset(&mut self) -> Result<()>;
    /// Upper bound of bytes `update` or `finalize` writes for `input_len` more input bytes,
    /// given the data buffered so far. Size output buffers with it.
    fn max_output_len(&self, input_len: usize) -> usize;
}

/// The algorithm-specific part of a context; [`Stream`] wraps it with the state machine.
pub(crate) trait Engine: Send {
    fn kind(&self) -> ContextKind;
    fn algorithm(&self) -> Option<Algorithm>;
    fn start(&mut self, iv: &[u8]) -> Result<()>;
    /// See [`CryptoContext::iv`].
    fn iv(&self) -> &[u8] {
        &[]
    }
    fn aad(&mut self, _aad: &[u8]) -> Result<()> {
        Err(unsupported())
    }
    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize>;
    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize>;
    fn set_tag(&mut self, _tag: &[u8]) -> Result<()> {
        Err(unsupported())
    }
    fn get_tag(&self, _out: &mut [u8]) -> Result<usize> {
        Err(unsupported())
    }
    /// Drops per-stream state (and wipes buffers), keeping key and configuration.
    fn clear(&mut self);
    fn max_output_len(&self, input_len: usize) -> usize;
}

pub(crate) fn unsupported() -> Error {
    Error::new(
        ErrorCode::UnsupportedOperation,
        "not supported by this context",
    )
}

/// Zeroes the used part of a reusable buffer and empties it, keeping its capacity.
///
/// Only `len` bytes are wiped: the spare capacity never holds data that was not wiped by an
/// earlier call (every stream ends here). The stores are an optimised memset behind a
/// compiler barrier (`warden_arena::wipe`), not `zeroize`'s byte-wise volatile loop, which
/// cost 17 % of a 16 KiB seal (BENCHMARKS.md, "context wipe").
pub(crate) fn wipe(buf: &mut Vec<u8>) {
    warden_arena::wipe(buf.as_mut_slice());
    buf.clear();
}

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

pub(crate) fn too_small() -> Error {
    Error::new(ErrorCode::InsufficientBufferSize, "output buffer too small")
}

/// Errors that describe the caller's request rather than the stream: they leave the state
/// unchanged so the call can be retried.
fn keeps_state(e: &Error) -> bool {
    matches!(
        e.code(),
        ErrorCode::InsufficientBufferSize | ErrorCode::InvalidArgument | ErrorCode::QuotaExceeded
    )
}

/// The shared state machine around an [`Engine`].
pub(crate) struct Stream<E> {
    engine: E,
    state: ContextState,
}

impl<E: Engine> Stream<E> {
    pub(crate) fn new(engine: E) -> Self {
        Stream {
            engine,
            state: ContextState::Created,
        }
    }

    fn active(&self) -> Result<()> {
        match self.state {
            ContextState::Initialized | ContextState::Updating => Ok(()),
            ContextState::Created => Err(Error::new(ErrorCode::StreamNotInitialized, "init first")),
            ContextState::Finalized | ContextState::Failed => Err(Error::new(
                ErrorCode::InvalidOperation,
                "stream ended; reset first",
            )),
        }
    }

    fn track<T>(&mut self, r: Result<T>, next: ContextState) -> Result<T> {
        match &r {
            Ok(_) => self.state = next,
            Err(e) if keeps_state(e) => {}
            Err(_) => {
                self.engine.clear();
                self.state = ContextState::Failed;
            }
        }
        r
    }
}

impl<E: Engine> CryptoContext for Stream<E> {
    fn kind(&self) -> ContextKind {
        self.engine.kind()
    }

    fn algorithm(&self) -> Option<Algorithm> {
        self.engine.algorithm()
    }

    fn state(&self) -> ContextState {
        self.state
    }

    fn init(&mut self, iv_or_nonce: &[u8]) -> Result<()> {
        match self.state {
            ContextState::Created => {}
            ContextState::Initialized | ContextState::Updating => {
                return Err(Error::new(
                    ErrorCode::StreamAlreadyActive,
                    "stream already active",
                ));
            }
            ContextState::Finalized | ContextState::Failed => {
                return Err(Error::new(
                    ErrorCode::InvalidOperation,
                    "stream ended; reset first",
                ));
            }
        }
        let r = self.engine.start(iv_or_nonce);
        if r.is_ok() {
            self.state = ContextState::Initialized;
        } else {
            self.engine.clear();
        }
        r
    }

    fn iv(&self) -> &[u8] {
        match self.state {
            ContextState::Created => &[],
            _ => self.engine.iv(),
        }
    }

    fn set_aad(&mut self, aad: &[u8]) -> Result<()> {
        self.active()?;
        if self.state == ContextState::Updating {
            return Err(Error::new(
                ErrorCode::InvalidOperation,
                "associated data must precede data",
            ));
        }
        let r = self.engine.aad(aad);
        self.track(r, ContextState::Initialized)
    }

    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        self.active()?;
        let r = self.engine.update(input, out);
        self.track(r, ContextState::Updating)
    }

    fn finalize(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        self.active()?;
        let r = self.engine.finish(input, out);
        self.track(r, ContextState::Finalized)
    }

    fn set_tag(&mut self, tag: &[u8]) -> Result<()> {
        self.active()?;
        self.engine.set_tag(tag)
    }

    fn get_tag(&self, out: &mut [u8]) -> Result<usize> {
        if self.state != ContextState::Finalized {
            return Err(Error::new(
                ErrorCode::InvalidOperation,
                "tag is available after finalize",
            ));
        }
        self.engine.get_tag(out)
    }

    fn reset(&mut self) -> Result<()> {
        if self.state == ContextState::Updating {
            return Err(Error::new(
                ErrorCode::ContextResetFailed,
                "cannot reset while updating",
            ));
        }
        self.engine.clear();
        self.state = ContextState::Created;
        Ok(())
    }

    fn max_output_len(&self, input_len: usize) -> usize {
        self.engine.max_output_len(input_len)
    }
}

/// Which key permission a context needs, and the algorithm class it must have.
fn required(
    kind: ContextKind,
    cfg: &ContextConfig,
) -> Result<(AlgorithmClass, warden_core::KeyOperationPermission)> {
    use warden_core::KeyOperationPermission as P;
    let dir = |cfg: &ContextConfig| match cfg.direction() {
        Some(CipherDirection::Decrypt) => Ok(P::DECRYPT),
        Some(_) => Ok(P::ENCRYPT),
        None => Err(Error::invalid_argument("cipher contexts need a direction")),
    };
    Ok(match kind {
        ContextKind::Hash => (AlgorithmClass::Hash, P::NONE),
        ContextKind::Mac => (AlgorithmClass::Mac, P::MAC),
        ContextKind::Cipher if cfg.algorithm().class() == AlgorithmClass::AsymmetricEncryption => {
            (AlgorithmClass::AsymmetricEncryption, dir(cfg)?)
        }
        ContextKind::Cipher => (AlgorithmClass::Cipher, dir(cfg)?),
        ContextKind::Aead => (AlgorithmClass::Aead, dir(cfg)?),
        ContextKind::Sign => (AlgorithmClass::Signature, P::SIGN),
        ContextKind::Verify => (AlgorithmClass::Signature, P::VERIFY),
        ContextKind::Random => return Err(Error::invalid_argument("use create_random_context")),
    })
}

/// Builds a context of `kind` for `cfg`, checking algorithm class, key type and permission.
pub(crate) fn create(
    kind: ContextKind,
    cfg: &ContextConfig,
    key: Option<Arc<Key>>,
    buffers: &BufferSource,
) -> Result<Box<dyn CryptoContext>> {
    let alg = cfg.algorithm();
    let (class, permission) = required(kind, cfg)?;
    if alg.class() != class {
        return Err(Error::new(
            ErrorCode::AlgorithmMismatch,
            "algorithm does not suit this context kind",
        ));
    }
    let key = match (kind, key) {
        (ContextKind::Hash, None) => None,
        (ContextKind::Hash, Some(_)) => {
            return Err(Error::invalid_argument("hash contexts take no key"));
        }
        (_, None) => return Err(Error::invalid_argument("this context needs a key")),
        (_, Some(k)) => {
            k.check(alg, permission)?;
            Some(k)
        }
    };
    let encrypt = cfg.direction() != Some(CipherDirection::Decrypt);
    // Whether encrypting streams accept the caller's nonce (see `encryption_iv`).
    let caller_nonce = key.as_ref().is_some_and(|k| {
        k.permissions()
            .contains(warden_core::KeyOperationPermission::CALLER_NONCE)
    });
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
