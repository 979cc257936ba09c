//! Streaming crypto contexts: `init → update* → finalize`, `reset` to reuse, destroyed on drop.
//!
//! Inputs larger than the daemon's frame limit are split into several `Update` requests;
//! callers see one call. (Some algorithms are one-shot inside the provider, e.g. AEAD and pure
//! EdDSA / ML-DSA messages, and the daemon bounds what it buffers for them.)
//!
//! Each context lives in the daemon; the handle holds its id and the shared connection. The
//! context's timeout (from its config, else the stack default) travels with every call on it.

use warden_core::{ContextConfig, Timeout};
use warden_wire::messages::{self as m, Payload, Request, Response};
use warden_wire::{HEADER_LEN, Opcode};

use crate::codec::{self, Produced};
use crate::error::Result;
use crate::error::unexpected;
use crate::link::Link;
use crate::memory::{MemoryRegion, RegionSlice};

mod batch;
pub use batch::{OpenJob, PIPELINE_DEPTH, SealJob};

/// The control data of a region operation (everything but input and output).
#[derive(Default)]
struct RegionOp<'a> {
    iv: &'a [u8],
    aad: &'a [u8],
    last: &'a [u8],
    tag: &'a [u8],
}

/// State shared by every context kind: the daemon-side id and how to reach it.
pub(crate) struct ContextCore {
    link: Link,
    id: u64,
    timeout: Timeout,
    alive: bool,
}

/// Appends `part` (one answer's output) to `out`, then wipes `part`. Both may be plaintext:
/// `Vec` growth would move `out` and free its old buffer as it was, so growth happens here,
/// wiping the old buffer; `part` is wiped before it is freed.
fn append_wiping(out: &mut Vec<u8>, mut part: Vec<u8>) {
    let need = out.len().saturating_add(part.len());
    if need > out.capacity() {
        let mut bigger = Vec::with_capacity(need.max(out.capacity().saturating_mul(2)));
        bigger.extend_from_slice(out);
        wipe_all(out);
        *out = bigger;
    }
    out.extend_from_slice(&part);
    wipe_all(&mut part);
}

/// Wipes all of `v`'s allocation, not only its length.
fn wipe_all(v: &mut Vec<u8>) {
    v.resize(v.capacity(), 0);
    warden_arena::wipe(v);
    v.clear();
}

fn done(r: Response<'_>) -> Result<()> {
    match r {
        Response::Done => Ok(()),
        _ => Err(unexpected()),
    }
}

impl ContextCore {
    pub(crate) fn create(link: Link, kind: m::ContextKind, cfg: &ContextConfig) -> Result<Self> {
        // The context's budget is resolved here, against this stack's default: sending
        // `Default` would let the daemon apply its own configured default instead, so a
        // stack-wide `disable_timeout()` or a longer default would not reach the context.
        let timeout = link.resolve_timeout(cfg.timeout());
        let req = Request::CreateContext(m::CreateContext {
            kind,
            algorithm: cfg.algorithm().name(),
            key_id: cfg.key().map(|k| k.id),
            direction: cfg.direction(),
            timeout,
            options: m::CreateContextOptions::from(cfg.options()),
        });
        let wanted = cfg.options().set_bits();
        let (id, applied) = link.request(&req, timeout, |r| match r {
            Response::ContextCreated {
                context_id,
                applied_options,
            } => Ok((context_id, applied_options)),
            _ => Err(unexpected()),
        })?;
        if applied & wanted != wanted {
            // A daemon that predates an option ignores it and would, say, sign r || s where
            // DER was asked for. Give the context back and refuse it.
            let mut core = ContextCore {
                link,
                id,
                timeout,
                alive: true,
            };
            let _ = core.destroy();
            return Err(crate::Error::Invalid(warden_core::Error::new(
                warden_core::ErrorCode::UnsupportedOperation,
                "the daemon does not support a requested context option; upgrade wardend",
            )));
        }
        Ok(ContextCore {
            link,
            id,
            timeout,
            alive: true,
        })
    }

    fn init(&mut self, iv: &[u8]) -> Result<()> {
        let req = Request::InitContext {
            context_id: self.id,
            iv,
        };
        self.link.request(&req, self.timeout, done)
    }

    fn set_aad(&mut self, aad: &[u8]) -> Result<()> {
        let req = Request::SetAad {
            context_id: self.id,
            aad: Payload::Inline(aad),
        };
        self.link.request(&req, self.timeout, done)
    }

    /// Largest data chunk per request: the daemon's frame limit minus the header and a margin
    /// for the FlatBuffers envelope (ids, vtables, union tag: well under 256 bytes).
    fn chunk_len(&self) -> usize {
        let frame = usize::try_from(self.link.max_request_len()).unwrap_or(usize::MAX);
        frame.saturating_sub(HEADER_LEN + 256).max(1)
    }

    /// Streams `input`, split into frame-sized `Update` requests when it is larger than one
    /// frame (streaming makes the split invisible); returns the concatenated output.
    fn update(&mut self, input: &[u8]) -> Result<Vec<u8>> {
        let chunk = self.chunk_len();
        if input.len() <= chunk {
            return self.update_one(input);
        }
        // Not sized for the input up front: hashing, MAC and signing stream through here
        // with no output at all.
        let mut out = Vec::new();
        for part in input.chunks(chunk) {
            append_wiping(&mut out, self.update_one(part)?);
        }
        Ok(out)
    }

    /// `finalize` whose input is message data (not a tag or signature): a large input is
    /// streamed with `update` first and only its last chunk travels with `Finalize`.
    fn finalize_data(&mut self, input: &[u8], tag: &[u8]) -> Result<Produced> {
        let chunk = self.chunk_len();
        if input.len() <= chunk {
            return self.finalize(input, tag);
        }
        let split = input.len() - chunk;
        let (head, last) = input.split_at(split);
        let mut out = self.update(head)?;
        let rest = self.finalize(last, tag)?;
        append_wiping(&mut out, rest.data);
        Ok(Produced { data: out, ..rest })
    }

    fn update_one(&mut self, input: &[u8]) -> Result<Vec<u8>> {
        let req = Request::Update {
            context_id: self.id,
            input: Payload::Inline(input),
        };
        self.link
            .request(&req, self.timeout, |r| codec::output(r).map(|p| p.data))
    }

    fn finalize(&mut self, input: &[u8], tag: &[u8]) -> Result<Produced> {
        let req = Request::Finalize {
            context_id: self.id,
            input: Payload::Inline(input),
            tag,
        };
        self.link.request(&req, self.timeout, codec::output)
    }

    /// A whole operation (reset if needed, init, AAD, data, finalize) in one `Process`
    /// request when the daemon speaks 1.1 and everything fits one frame; otherwise the same
    /// steps as separate requests (reset, init, set_aad, update*, finalize). Returns the
    /// output, the AEAD-encryption tag and the encryption nonce / IV.
    fn process(
        &mut self,
        iv: &[u8],
        aad: &[u8],
        input: &[u8],
        last: &[u8],
        tag: &[u8],
    ) -> Result<Produced> {
        let size = iv.len() + aad.len() + input.len() + last.len() + tag.len();
        if size <= self.chunk_len() && Opcode::Process.available_in(self.link.version()) {
            let req = Request::Process {
                context_id: self.id,
                iv,
                aad,
                input: Payload::Inline(input),
                last,
                tag,
                output: None,
            };
            return self.link.request(&req, self.timeout, codec::output);
        }
        self.reset()?;
        self.init(iv)?;
        if !aad.is_empty() {
            self.set_aad(aad)?;
        }
        let mut out = if input.is_empty() {
            Vec::new()
        } else {
            self.update(input)?
        };
        let rest = self.finalize(last, tag)?;
        append_wiping(&mut out, rest.data);
        Ok(Produced { data: out, ..rest })
    }

    /// A whole operation over region bytes (data plane): `input` from `region`, the output
    /// into `output` (a range of the same region) or inline when `None`. Returns the output
    /// (inline: the bytes; region: empty) and the bytes written to the region.
    fn process_region(
        &mut self,
        region: &MemoryRegion,
        op: RegionOp<'_>,
        input: RegionSlice,
        output: Option<RegionSlice>,
    ) -> Result<(usize, Produced)> {
        region.check_link(&self.link)?;
        region.check_slice(&input)?;
        if let Some(o) = &output {
            region.check_slice(o)?;
        }
        let out = output.map(|o| o.wire());
        let req = Request::Process {
            context_id: self.id,
            iv: op.iv,
            aad: op.aad,
            input: Payload::Shm(input.wire()),
            last: op.last,
            tag: op.tag,
            output: out,
        };
        match out {
            None => self
                .link
                .request(&req, self.timeout, codec::output)
                .map(|p| (0, p)),
            Some(o) => self
                .link
                .request(&req, self.timeout, |r| codec::region_output(r, &o)),
        }
    }

    fn reset(&mut self) -> Result<()> {
        let req = Request::ResetContext {
            context_id: self.id,
        };
        self.link.request(&req, self.timeout, done)
    }

    fn destroy(&mut self) -> Result<()> {
        self.alive = false;
        let req = Request::DestroyContext {
            context_id: self.id,
        };
        self.link.request(&req, self.timeout, done)
    }
}

impl Drop for ContextCore {
    fn drop(&mut self) {
        if self.alive {
            // A destructor cannot report; a lost connection frees the context anyway.
            let _ = self.destroy();
        }
    }
}

impl std::fmt::Debug for ContextCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .field("timeout", &self.timeout)
            .finish()
    }
}

macro_rules! common_methods {
    () => {
        /// Returns a finalized context to its created state, keeping key and configuration
        /// (`ContextResetFailed` / `InvalidOperation` while a stream is in progress).
        pub fn reset(&mut self) -> Result<()> {
            self.core.reset()
        }

        /// Destroys the context now and reports the daemon's answer (drop does it silently).
        pub fn destroy(mut self) -> Result<()> {
            self.core.destroy()
        }
    };
}

/// A hash context. Create with [`crate::CryptoStack::create_hash_context`].
#[derive(Debug)]
pub struct HashContext {
    core: ContextCore,
}

impl HashContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        HashContext { core }
    }

    /// Starts a digest.
    pub fn init(&mut self) -> Result<()> {
        self.core.init(&[])
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.core.update(data).map(drop)
    }

    /// Returns the digest.
    pub fn finalize(&mut self) -> Result<Vec<u8>> {
        self.core.finalize(&[], &[]).map(|p| p.data)
    }

    /// Absorbs `last` and returns the digest in one round trip (saves an `update` call).
    pub fn finalize_with(&mut self, last: &[u8]) -> Result<Vec<u8>> {
        self.core.finalize_data(last, &[]).map(|p| p.data)
    }

    /// The digest of the bytes `data` names in `region` (data plane: any size), as a whole
    /// operation.
    pub fn digest_region(&mut self, region: &MemoryRegion, data: RegionSlice) -> Result<Vec<u8>> {
        let op = RegionOp::default();
        Ok(self.core.process_region(region, op, data, None)?.1.data)
    }

    /// The digest of `data` as a whole operation: one request to a 1.1 daemon (the context
    /// is reset first if a previous operation finished), reusable any number of times.
    pub fn digest(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.core.process(&[], &[], data, &[], &[]).map(|p| p.data)
    }

    common_methods!();
}

/// A MAC context. Create with [`crate::CryptoStack::create_mac_context`].
#[derive(Debug)]
pub struct MacContext {
    core: ContextCore,
}

impl MacContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        MacContext { core }
    }

    /// Starts a MAC computation.
    pub fn init(&mut self) -> Result<()> {
        self.core.init(&[])
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.core.update(data).map(drop)
    }

    /// Returns the tag.
    pub fn finalize(&mut self) -> Result<Vec<u8>> {
        self.core.finalize(&[], &[]).map(|p| p.data)
    }

    /// Finishes by checking `expected` against the computed tag inside the daemon (constant
    /// time); a mismatch is an opaque error and the tag never leaves the daemon.
    pub fn verify(&mut self, expected: &[u8]) -> Result<()> {
        if expected.is_empty() {
            // An empty input would mean "return the tag" on the wire.
            return Err(crate::error::Error::Invalid(
                warden_core::Error::invalid_argument("empty expected tag"),
            ));
        }
        self.core.finalize(expected, &[]).map(drop)
    }

    /// The tag of `data` as a whole operation (one request to a 1.1 daemon; reusable).
    pub fn compute(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.core.process(&[], &[], data, &[], &[]).map(|p| p.data)
    }

    /// Checks `expected` against the tag of `data` inside the daemon as a whole operation
    /// (one request to a 1.1 daemon; reusable). A mismatch is an opaque error.
    pub fn check(&mut self, data: &[u8], expected: &[u8]) -> Result<()> {
        if expected.is_empty() {
            return Err(crate::error::Error::Invalid(
                warden_core::Error::invalid_argument("empty expected tag"),
            ));
        }
        self.core.process(&[], &[], data, expected, &[]).map(drop)
    }

    common_methods!();
}

/// A signing context. Create with [`crate::CryptoStack::create_sign_context`].
#[derive(Debug)]
pub struct SignContext {
    core: ContextCore,
}

impl SignContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        SignContext { core }
    }

    /// Starts a message.
    pub fn init(&mut self) -> Result<()> {
        self.core.init(&[])
    }

    /// Appends message bytes.
    pub fn update(&mut self, msg: &[u8]) -> Result<()> {
        self.core.update(msg).map(drop)
    }

    /// Returns the signature over everything passed to `update`.
    pub fn finalize(&mut self) -> Result<Vec<u8>> {
        self.core.finalize(&[], &[]).map(|p| p.data)
    }

    /// Appends `last` and returns the signature in one round trip.
    pub fn finalize_with(&mut self, last: &[u8]) -> Result<Vec<u8>> {
        self.core.finalize_data(last, &[]).map(|p| p.data)
    }

    /// The signature over the bytes `msg` names in `region` (data plane: any size). The
    /// daemon signs a private copy, so changing the bytes meanwhile cannot leak the key.
    pub fn sign_region(&mut self, region: &MemoryRegion, msg: RegionSlice) -> Result<Vec<u8>> {
        let op = RegionOp::default();
        Ok(self.core.process_region(region, op, msg, None)?.1.data)
    }

    /// The signature over `msg` as a whole operation (one request to a 1.1 daemon;
    /// reusable for the next message without a `reset`).
    pub fn sign(&mut self, msg: &[u8]) -> Result<Vec<u8>> {
        self.core.process(&[], &[], msg, &[], &[]).map(|p| p.data)
    }

    common_methods!();
}

/// A verification context. Create with [`crate::CryptoStack::create_verify_context`].
#[derive(Debug)]
pub struct VerifyContext {
    core: ContextCore,
}

impl VerifyContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        VerifyContext { core }
    }

    /// Starts a message.
    pub fn init(&mut self) -> Result<()> {
        self.core.init(&[])
    }

    /// Appends message bytes.
    pub fn update(&mut self, msg: &[u8]) -> Result<()> {
        self.core.update(msg).map(drop)
    }

    /// Checks `signature`; a bad signature is an opaque `OperationFailed`-class error.
    pub fn finalize(&mut self, signature: &[u8]) -> Result<()> {
        self.core.finalize(signature, &[]).map(drop)
    }

    /// Verifies `signature` over the bytes `msg` names in `region` (data plane: any size).
    pub fn verify_region(
        &mut self,
        region: &MemoryRegion,
        msg: RegionSlice,
        signature: &[u8],
    ) -> Result<()> {
        let op = RegionOp {
            last: signature,
            ..RegionOp::default()
        };
        self.core.process_region(region, op, msg, None).map(|_| ())
    }

    /// Checks `signature` over `msg` as a whole operation (one request to a 1.1 daemon;
    /// reusable). A bad signature is an opaque error.
    pub fn verify(&mut self, msg: &[u8], signature: &[u8]) -> Result<()> {
        self.core.process(&[], &[], msg, signature, &[]).map(drop)
    }

    common_methods!();
}

/// An unauthenticated cipher context (one type for both directions).
///
/// Encryption: pass an empty IV and the daemon draws a fresh one, reported by
/// [`CipherContext::iv`] after `finalize` / `apply` (store it with the ciphertext). A
/// caller-chosen encryption IV needs the key's dangerous `CALLER_NONCE` bit, else
/// `KeyOperationNotPermitted`. Decryption takes the IV the encryption reported.
#[derive(Debug)]
pub struct CipherContext {
    core: ContextCore,
    iv: Vec<u8>,
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
    /// decrypted into `output` (ranges of `region`, not overlapping; `output` room for the
    /// padding of CBC encryption). Encryption: pass an empty `iv` and read
    /// [`CipherContext::iv`]. Returns the bytes written at the start of `output`; a
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
    core: ContextCore,
    encrypt: bool,
    tag: Vec<u8>,
    nonce: Vec<u8>,
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

    /// Encrypts the bytes of `input` into `output` (both ranges of `region`, not overlapping;
    /// `output` at least as long as `input`) under a fresh nonce drawn by the daemon, with
    /// `aad`: the data plane, for messages of any size up to the daemon's region quotas.
    /// Returns the nonce, the tag and the ciphertext length. Encrypting contexts only.
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

    /// Decrypts the bytes of `input` into `output` (ranges of `region`, not overlapping)
    /// under `nonce` with `aad`, checking `tag`; returns the plaintext length. The daemon
    /// writes plaintext into the region only after the tag checked out: on any error the
    /// output range is untouched. Decrypting contexts only.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_outputs_keep_every_byte_in_order_across_growth() {
        let mut out = Vec::new();
        let mut want = Vec::new();
        for n in [0usize, 1, 7, 0, 100, 4096, 3] {
            let part: Vec<u8> = (0..n).map(|i| (i * 31 + n) as u8).collect();
            want.extend_from_slice(&part);
            append_wiping(&mut out, part);
            assert_eq!(out, want);
        }
        let mut v = vec![5u8; 10];
        v.truncate(3);
        wipe_all(&mut v);
        assert!(v.is_empty());
        v.resize(10, 1);
        assert_eq!(v, [1u8; 10], "cleared, and usable again");
    }
}
