//! Cipher and AEAD contexts: kinds whose output is as long as their input.

use super::{ContextCore, RegionOp};
use crate::error::Result;
use crate::memory::{MemoryRegion, RegionSlice};

/// An unauthenticated cipher context (one type for both directions).
///
/// Encryption: pass an empty IV and the daemon draws a fresh one, reported by
/// [`CipherContext::iv`] after `finalize` / `apply` (store it with the ciphertext). A
/// caller-chosen encryption IV needs the key's dangerous `CALLER_NONCE` bit, else
/// `KeyOperationNotPermitted`. Decryption takes the IV the encryption reported.
#[derive(Debug)]
pub struct CipherContext {
    pub(super) core: ContextCore,
    pub(super) iv: Vec<u8>,
}

impl CipherContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        CipherContext {
            core,
            iv: Vec::new(),
        }
    }

    /// Starts a stream with `iv`: empty for encryption (the daemon draws one) and for
    /// RSA-OAEP; the IV to decrypt under otherwise.
    pub fn init(&mut self, iv: &[u8]) -> Result<()> {
        self.iv.clear();
        self.core.init(iv)
    }

    /// Processes a chunk; returns the output produced so far.
    pub fn update(&mut self, input: &[u8]) -> Result<Vec<u8>> {
        self.core.update(input)
    }

    /// Processes the last chunk and returns the remaining output (padding, final block).
    /// Encryption: the IV is then available from [`CipherContext::iv`].
    pub fn finalize(&mut self, input: &[u8]) -> Result<Vec<u8>> {
        let p = self.core.finalize_data(input, &[])?;
        self.iv = p.iv;
        Ok(p.data)
    }

    /// Encrypts or decrypts (the context's direction) all of `input` under `iv` as a whole
    /// operation (one request to a 1.1 daemon; reusable). For encryption pass an empty `iv`
    /// and read the drawn one from [`CipherContext::iv`], or use [`CipherContext::encrypt`].
    pub fn apply(&mut self, iv: &[u8], input: &[u8]) -> Result<Vec<u8>> {
        let p = self.core.process(iv, &[], input, &[], &[])?;
        self.iv = p.iv;
        Ok(p.data)
    }

    /// [`CipherContext::apply`] over region bytes (data plane): `input` is encrypted or
    /// decrypted into `output` (ranges of `region`; `output` room for the padding of CBC
    /// encryption). An encryption's ranges must not overlap; a decryption's may, `output`
    /// may even be `input` itself (in place): the daemon decrypts a private copy.
    /// Encryption: pass an empty `iv` and read [`CipherContext::iv`]. Returns the bytes written at the start of `output`; a
    /// decryption's output reaches the region only once it succeeded (CBC padding checked).
    pub fn apply_region(
        &mut self,
        region: &mut MemoryRegion,
        iv: &[u8],
        input: RegionSlice,
        output: RegionSlice,
    ) -> Result<usize> {
        let op = RegionOp {
            iv,
            ..RegionOp::default()
        };
        let (n, p) = self.core.process_region(region, op, input, Some(output))?;
        self.iv = p.iv;
        Ok(n)
    }

    /// Encrypts `plaintext` under a fresh IV drawn by the daemon as a whole operation;
    /// returns `(iv, ciphertext)`. Encrypting contexts only.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
        let ct = self.apply(&[], plaintext)?;
        Ok((self.iv.clone(), ct))
    }

    /// The IV the last encrypting `finalize` / `apply` used, as the daemon reported it
    /// (empty before one, for decryption, and from daemons that do not report it).
    pub fn iv(&self) -> &[u8] {
        &self.iv
    }

    common_methods!();
}

/// A sealed message: what [`AeadContext::seal_fresh`] returns and `open` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The nonce the daemon drew for this message.
    pub nonce: Vec<u8>,
    /// The ciphertext (same length as the plaintext).
    pub ciphertext: Vec<u8>,
    /// The authentication tag.
    pub tag: Vec<u8>,
}

/// What [`AeadContext::seal_region`] returns (the ciphertext is in the region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRegion {
    /// The nonce the daemon drew for this message.
    pub nonce: Vec<u8>,
    /// The authentication tag.
    pub tag: Vec<u8>,
    /// Ciphertext bytes written at the start of the output range.
    pub len: usize,
}

/// An AEAD context (one type for seal and open).
///
/// Encrypt: `init(&[])`, `set_aad`, `update*`, `finalize`, then [`AeadContext::tag`] and
/// [`AeadContext::nonce`] (the daemon draws a fresh nonce per message; a caller-chosen one
/// needs the key's dangerous `CALLER_NONCE` bit, else `KeyOperationNotPermitted`).
/// Decrypt: `init(nonce)`, `set_aad`, `update*`, [`AeadContext::set_tag`], `finalize`; a wrong
/// tag fails opaquely and releases no plaintext from `finalize`.
#[derive(Debug)]
pub struct AeadContext {
    pub(super) core: ContextCore,
    pub(super) encrypt: bool,
    pub(super) tag: Vec<u8>,
    pub(super) nonce: Vec<u8>,
}

impl AeadContext {
    pub(crate) fn new(core: ContextCore, encrypt: bool) -> Self {
        AeadContext {
            core,
            encrypt,
            tag: Vec::new(),
            nonce: Vec::new(),
        }
    }

    /// Starts a message: under `nonce` for decryption; with an empty `nonce` for encryption
    /// (the daemon draws one; a non-empty one needs the key's `CALLER_NONCE` bit).
    pub fn init(&mut self, nonce: &[u8]) -> Result<()> {
        self.tag.clear();
        self.nonce.clear();
        self.core.init(nonce)
    }

    /// Supplies associated data (after `init`, before `update`).
    pub fn set_aad(&mut self, aad: &[u8]) -> Result<()> {
        self.core.set_aad(aad)
    }

    /// Processes a chunk; returns the output produced so far.
    pub fn update(&mut self, input: &[u8]) -> Result<Vec<u8>> {
        self.core.update(input)
    }

    /// Sets the expected tag for decryption (sent with `finalize`).
    pub fn set_tag(&mut self, tag: &[u8]) {
        self.tag = tag.to_vec();
    }

    /// Processes the last chunk. Encrypt: the tag and nonce are then available from
    /// [`AeadContext::tag`] and [`AeadContext::nonce`].
    pub fn finalize(&mut self, input: &[u8]) -> Result<Vec<u8>> {
        let send = if self.encrypt { &[][..] } else { &self.tag[..] };
        let p = self.core.finalize_data(input, send)?;
        if self.encrypt {
            self.tag = p.tag;
            self.nonce = p.iv;
        }
        Ok(p.data)
    }

    /// The tag produced by the last encrypting `finalize` (empty before it).
    pub fn tag(&self) -> &[u8] {
        &self.tag
    }

    /// The nonce the last encrypting `finalize` / `seal` used, as the daemon reported it
    /// (empty before one, for decryption, and from daemons that do not report it).
    pub fn nonce(&self) -> &[u8] {
        &self.nonce
    }

    /// Encrypts `plaintext` under `nonce` with `aad` as a whole operation (one request to a
    /// 1.1 daemon; reusable); returns the ciphertext and the tag. Pass an empty `nonce` to
    /// have the daemon draw one (then read [`AeadContext::nonce`], or use
    /// [`AeadContext::seal_fresh`]); a non-empty one needs the key's `CALLER_NONCE` bit.
    /// Encrypting contexts only.
    pub fn seal(
        &mut self,
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let p = self.core.process(nonce, aad, plaintext, &[], &[])?;
        self.tag.clone_from(&p.tag);
        self.nonce = p.iv;
        Ok((p.data, p.tag))
    }

    /// Encrypts the bytes of `input` into `output` (both ranges of `region`; `output` at
    /// least as long as `input`) under a fresh nonce drawn by the daemon, with `aad`: the
    /// data plane, for messages of any size up to the daemon's region quotas. `output` may
    /// start where `input` does, to seal in place (a large message then needs its size in
    /// memory once; the built-in provider does this, others answer `UnsupportedOperation`);
    /// any other overlap is refused (`InvalidMemoryRegion`). Returns the nonce, the tag and
    /// the ciphertext length. Encrypting contexts only.
    pub fn seal_region(
        &mut self,
        region: &mut MemoryRegion,
        aad: &[u8],
        input: RegionSlice,
        output: RegionSlice,
    ) -> Result<SealedRegion> {
        let op = RegionOp {
            aad,
            ..RegionOp::default()
        };
        let (len, p) = self.core.process_region(region, op, input, Some(output))?;
        self.tag.clone_from(&p.tag);
        self.nonce.clone_from(&p.iv);
        Ok(SealedRegion {
            nonce: p.iv,
            tag: p.tag,
            len,
        })
    }

    /// Decrypts the bytes of `input` into `output` (ranges of `region`) under `nonce` with
    /// `aad`, checking `tag`; returns the plaintext length. The daemon decrypts a private
    /// copy of `input` and writes plaintext into the region only after the tag checked out:
    /// on any error the output range is untouched, and `output` may overlap `input` or be
    /// `input` itself (in place: a file-sized message needs its size in memory once, not
    /// twice). Decrypting contexts only.
    #[allow(clippy::too_many_arguments)]
    pub fn open_region(
        &mut self,
        region: &mut MemoryRegion,
        nonce: &[u8],
        aad: &[u8],
        input: RegionSlice,
        tag: &[u8],
        output: RegionSlice,
    ) -> Result<usize> {
        let op = RegionOp {
            iv: nonce,
            aad,
            tag,
            ..RegionOp::default()
        };
        Ok(self.core.process_region(region, op, input, Some(output))?.0)
    }

    /// Encrypts `plaintext` with `aad` under a fresh nonce drawn by the daemon, as a whole
    /// operation; returns nonce, ciphertext and tag. Encrypting contexts only.
    pub fn seal_fresh(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed> {
        let (ciphertext, tag) = self.seal(&[], aad, plaintext)?;
        Ok(Sealed {
            nonce: self.nonce.clone(),
            ciphertext,
            tag,
        })
    }

    /// Decrypts `ciphertext` under `nonce` with `aad`, checking `tag`, as a whole operation
    /// (one request to a 1.1 daemon; reusable). A wrong tag, nonce or AAD is an opaque error
    /// and releases no plaintext. Decrypting contexts only.
    pub fn open(
        &mut self,
        nonce: &[u8],
        aad: &[u8],
        ciphertext: &[u8],
        tag: &[u8],
    ) -> Result<Vec<u8>> {
        self.core
            .process(nonce, aad, ciphertext, &[], tag)
            .map(|p| p.data)
    }

    common_methods!();
}
