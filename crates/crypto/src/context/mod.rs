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

mod buffer;

use std::sync::Arc;

use warden_core::{
    Algorithm, AlgorithmClass, CipherDirection, ContextConfig, Error, ErrorCode, Result,
};

use crate::key::Key;
pub use buffer::{BufferSource, Buffered};

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
    /// Ends the stream over a whole message in one call: `update(data)` then
    /// `finalize(last)` (for Verify `last` is the signature, for a MAC check the tag), except
    /// that the kinds which would otherwise buffer the message (AEAD, Ed25519 / ML-DSA /
    /// SLH-DSA sign and verify) work on `data` in place when nothing is buffered, so its size
    /// is bounded only by `out` (the data plane, issue 13). Returns the bytes written. A
    /// context that wraps another must forward this method, or its one-shot path is lost
    /// (the default buffers, and large inputs get `QuotaExceeded`).
    fn finish_whole(&mut self, data: &[u8], last: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = if data.is_empty() {
            0
        } else {
            self.update(data, out)?
        };
        let rest = out.get_mut(n..).ok_or_else(too_small)?;
        Ok(n + self.finalize(last, rest)?)
    }
    /// As [`CryptoContext::finish_whole`] with no `last`, writing the output over `data`
    /// (in place; the output is exactly as long). Only kinds that can do so without a copy
    /// support it: AEAD encryption of the built-in provider. Everything else answers
    /// `UnsupportedOperation` and leaves the context as it was. A context that wraps another
    /// must forward this method.
    fn finish_whole_in_place(&mut self, data: &mut [u8]) -> Result<usize> {
        let _ = data;
        Err(in_place_unsupported())
    }
}

/// The algorithm-specific part of a context; [`Stream`] wraps it with the state machine, so
/// every provider's contexts answer misuse with the same typed errors.
pub trait Engine: Send {
    /// See [`CryptoContext::kind`].
    fn kind(&self) -> ContextKind;
    /// See [`CryptoContext::algorithm`].
    fn algorithm(&self) -> Option<Algorithm>;
    /// Starts a stream with `iv` (see [`CryptoContext::init`]).
    fn start(&mut self, iv: &[u8]) -> Result<()>;
    /// See [`CryptoContext::iv`].
    fn iv(&self) -> &[u8] {
        &[]
    }
    /// See [`CryptoContext::set_aad`].
    fn aad(&mut self, _aad: &[u8]) -> Result<()> {
        Err(unsupported())
    }
    /// See [`CryptoContext::update`].
    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize>;
    /// See [`CryptoContext::finalize`].
    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize>;
    /// See [`CryptoContext::finish_whole`]; engines that buffer override it.
    fn finish_whole(&mut self, data: &[u8], last: &[u8], out: &mut [u8]) -> Result<usize> {
        let n = if data.is_empty() {
            0
        } else {
            self.update(data, out)?
        };
        let rest = out.get_mut(n..).ok_or_else(too_small)?;
        Ok(n + self.finish(last, rest)?)
    }
    /// See [`CryptoContext::finish_whole_in_place`]; only engines that can override it.
    fn finish_whole_in_place(&mut self, data: &mut [u8]) -> Result<usize> {
        let _ = data;
        Err(in_place_unsupported())
    }
    /// See [`CryptoContext::set_tag`].
    fn set_tag(&mut self, _tag: &[u8]) -> Result<()> {
        Err(unsupported())
    }
    /// See [`CryptoContext::get_tag`].
    fn get_tag(&self, _out: &mut [u8]) -> Result<usize> {
        Err(unsupported())
    }
    /// Drops per-stream state (and wipes buffers), keeping key and configuration.
    fn clear(&mut self);
    /// See [`CryptoContext::max_output_len`].
    fn max_output_len(&self, input_len: usize) -> usize;
}

/// The error for [`CryptoContext::finish_whole_in_place`] where a context cannot work in
/// place (the context is left as it was).
pub fn in_place_unsupported() -> Error {
    Error::new(
        ErrorCode::UnsupportedOperation,
        "this context cannot write its output over its input",
    )
}

/// `UnsupportedOperation` for a call this kind of context does not have.
pub fn unsupported() -> Error {
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
pub fn wipe(buf: &mut Vec<u8>) {
    warden_arena::wipe(buf.as_mut_slice());
    buf.clear();
}

/// `InsufficientBufferSize`, before any state changes.
pub fn too_small() -> Error {
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
pub struct Stream<E> {
    engine: E,
    state: ContextState,
}

impl<E: Engine> Stream<E> {
    /// A context in state `Created` around `engine`.
    pub fn new(engine: E) -> Self {
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

    fn finish_whole(&mut self, data: &[u8], last: &[u8], out: &mut [u8]) -> Result<usize> {
        self.active()?;
        let r = self.engine.finish_whole(data, last, out);
        self.track(r, ContextState::Finalized)
    }

    fn finish_whole_in_place(&mut self, data: &mut [u8]) -> Result<usize> {
        self.active()?;
        match self.engine.finish_whole_in_place(data) {
            // Not for this engine: nothing happened, the stream is as it was.
            Err(e) if e.code() == ErrorCode::UnsupportedOperation => Err(e),
            r => self.track(r, ContextState::Finalized),
        }
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

/// What a provider needs to build a context after the shared checks.
pub struct Checked {
    /// The algorithm class the request resolved to (AsymmetricEncryption for RSA-OAEP
    /// cipher contexts).
    pub class: AlgorithmClass,
    /// The key (`None` only for Hash), already checked for type and permission.
    pub key: Option<Arc<Key>>,
    /// Whether the stream encrypts (cipher / AEAD direction; `true` for other kinds).
    pub encrypt: bool,
    /// Whether an encrypting stream may take the caller's nonce (the key's `CALLER_NONCE`).
    pub caller_nonce: bool,
}

/// The checks every provider makes before building a context of `kind` for `cfg`: the
/// algorithm class suits the kind (`AlgorithmMismatch`), a key is present unless Hash, its
/// type suits the algorithm (`IncompatibleKeyType`) and it carries the permission bit
/// (`KeyOperationNotPermitted`).
pub fn check_request(
    kind: ContextKind,
    cfg: &ContextConfig,
    key: Option<Arc<Key>>,
) -> Result<Checked> {
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
    let caller_nonce = key.as_ref().is_some_and(|k| {
        k.permissions()
            .contains(warden_core::KeyOperationPermission::CALLER_NONCE)
    });
    Ok(Checked {
        class,
        key,
        encrypt,
        caller_nonce,
    })
}
