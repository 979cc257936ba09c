//! Streaming contexts (hash, MAC, cipher, AEAD, sign, verify) and random bytes.
//!
//! Outputs are written by the provider straight into scratch memory of the request's
//! session and encoded from there; nothing on this path allocates on the global heap.
//!
//! Data plane (issue 13): inputs may be region ranges and a `Process` output may go into a
//! region range. Signing and decrypting contexts read region input through a private copy
//! and decryption writes the region only after success (`warden_shm::design` says why).
//!
//! Timeouts (seed decision 7): each operation runs under the tighter of the request's
//! deadline and the context's own budget. Past it, the context moves to the failed state —
//! its provider state and key reference are released at once — and the client gets
//! `OperationTimedOut`; later calls on it get the same code until it is destroyed.
//!
//! Nonces (issue 11): an encrypting AEAD or AES-CTR/CBC context initialised with an empty IV
//! gets a fresh one from the provider's generator (the crypto layer draws it), and the
//! Finalize / Process reply carries it in `iv`. A caller-chosen encryption IV is refused with
//! `KeyOperationNotPermitted` unless the key has the dangerous `CALLER_NONCE` bit: with it an
//! ENCRYPT-only holder could re-encrypt under a victim's nonce and read the keystream.

use warden_core::{
    Algorithm, ContextConfig, Error, ErrorCode, Persistence, ResourceId, ResourceType,
};
use warden_crypto::{ContextKind, ContextState, CryptoContext};
use warden_shm::Scratch;
use warden_wire::messages::{self, CreateContext, ShmSlice};
use warden_wire::{Payload, Response};

use crate::provider::{ContextEntry, Resources, resource_kind};
use crate::regions::Regions;
use crate::request::{ConnState, Ctx};

/// Room kept for FlatBuffers framing of an output reply (offsets, vtable, tag).
const OUTPUT_OVERHEAD: usize = 128;
/// Longest AEAD tag any algorithm produces.
const MAX_TAG: usize = 16;
/// Longest nonce / IV any context uses (AES-CTR/CBC; AEADs take 12).
const MAX_IV: usize = 16;

fn kind(k: messages::ContextKind) -> Result<ContextKind, Error> {
    Ok(match k {
        messages::ContextKind::Hash => ContextKind::Hash,
        messages::ContextKind::Mac => ContextKind::Mac,
        messages::ContextKind::Cipher => ContextKind::Cipher,
        messages::ContextKind::Aead => ContextKind::Aead,
        messages::ContextKind::Sign => ContextKind::Sign,
        messages::ContextKind::Verify => ContextKind::Verify,
        _ => return Err(Error::invalid_argument("unknown context kind")),
    })
}

pub(crate) fn create(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    r: &CreateContext<'_>,
) -> Result<(), Error> {
    let kind = kind(r.kind)?;
    let mut b = ContextConfig::builder()
        .algorithm(Algorithm::from_name(r.algorithm)?)
        .timeout(r.timeout);
    if let Some(id) = r.key_id {
        b = b.key(ResourceId::new(
            id,
            ResourceType::Key,
            Persistence::Ephemeral,
            0,
        ));
    }
    if let Some(d) = r.direction {
        b = b.direction(d);
    }
    let options = r.options.to_options()?;
    let config = b.options(options).build()?;
    // The guard must still be alive now (seed decision 2): a released key is not found.
    let key = match r.key_id {
        Some(id) => Some(state.resources.guarded_key(id)?.clone()),
        None => None,
    };
    state.resources.check_quota()?;
    // The provider checks algorithm, key type and permission bits (KeyOperationNotPermitted).
    // Buffered data comes from this connection's budget (issue 12), never from growth.
    let crypto = ctx
        .shared
        .provider
        .create_context_in(kind, &config, key, &state.buffers)?;
    ctx.deadline.check()?;
    let entry = ContextEntry {
        ctx: crypto,
        budget_ms: r
            .timeout
            .effective_ms(ctx.shared.config.timeouts.default_ms),
        decrypt: r.direction == Some(warden_core::CipherDirection::Decrypt),
    };
    let id = state.resources.insert_context(
        entry,
        resource_kind(kind),
        r.key_id,
        &*ctx.shared.provider,
    )?;
    state.out.reply(&Response::ContextCreated {
        context_id: id,
        // Every option this daemon decodes is applied by the provider (or refused above).
        applied_options: options.set_bits(),
    })
}

/// Runs `op` on a context under its deadline; a timeout fails the context.
fn run<T>(
    resources: &mut Resources,
    ctx: &Ctx<'_, '_>,
    id: u64,
    op: impl FnOnce(&mut dyn CryptoContext) -> Result<T, Error>,
) -> Result<T, Error> {
    let entry = resources.context_mut(id)?;
    let deadline = ctx.deadline.tighten(entry.budget_ms);
    let result = if deadline.expired() {
        None
    } else {
        Some(op(&mut *entry.ctx))
    };
    match result {
        Some(r) if !deadline.expired() => r,
        _ => {
            resources.fail_context(id, ErrorCode::OperationTimedOut);
            Err(Error::new(
                ErrorCode::OperationTimedOut,
                "context operation timed out",
            ))
        }
    }
}

/// Output scratch in the session, sized for what the context may produce.
fn scratch<'r>(ctx: &Ctx<'r, '_>, max_body: usize, need: usize) -> Result<&'r mut [u8], Error> {
    let cap = max_body.saturating_sub(OUTPUT_OVERHEAD);
    if need > cap {
        return Err(Error::new(
            ErrorCode::QuotaExceeded,
            "output exceeds the frame limit: direct it to a shared-memory region",
        ));
    }
    ctx.session
        .try_alloc_zeroed_slice(need)
        .map_err(|_| Error::new(ErrorCode::AllocationFailed, "session arena full"))
}

fn done(state: &mut ConnState) -> Result<(), Error> {
    state.out.reply(&Response::Done)
}

/// Whether a context must see region bytes through a private copy (`warden_shm::design`):
/// signing (Ed25519 and SLH-DSA read the message more than once; two different readings
/// under one nonce would leak the key) and decryption (the AEAD tag is checked on exactly the
/// bytes decrypted). A decryption's output range may therefore overlap its input (in
/// place, a documented guarantee): the input is read whole before anything is written.
fn copies_in(entry: &ContextEntry) -> bool {
    entry.ctx.kind() == ContextKind::Sign || entry.decrypt
}

/// A data field's bytes: inline (in the session's request copy), a region's bytes where they
/// lie, or a private copy of them.
enum Data<'a> {
    Borrowed(&'a [u8]),
    Copied(Scratch),
}

impl Data<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            Data::Borrowed(b) => b,
            Data::Copied(s) => s.as_slice(),
        }
    }
}

fn data<'a>(regions: &'a Regions, p: &Payload<'a>, copy: bool) -> Result<Data<'a>, Error> {
    match p {
        Payload::Inline(b) => Ok(Data::Borrowed(b)),
        Payload::Shm(s) if copy => Ok(Data::Copied(regions.copy_in(s)?)),
        Payload::Shm(s) => Ok(Data::Borrowed(regions.input(s)?)),
    }
}

/// Whether the context behind `id` copies region input in.
fn copy_for(state: &mut ConnState, id: u64) -> Result<bool, Error> {
    Ok(copies_in(state.resources.context_mut(id)?))
}

pub(crate) fn init(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    iv: &[u8],
) -> Result<(), Error> {
    run(&mut state.resources, ctx, id, |c| c.init(iv))?;
    done(state)
}

pub(crate) fn set_aad(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    aad: Payload<'_>,
) -> Result<(), Error> {
    // AAD is buffered by the context (a copy), so region bytes are read once.
    let aad = data(&state.regions, &aad, false)?;
    run(&mut state.resources, ctx, id, |c| c.set_aad(aad.bytes()))?;
    done(state)
}

pub(crate) fn update(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    input: Payload<'_>,
) -> Result<(), Error> {
    let copy = copy_for(state, id)?;
    let input = data(&state.regions, &input, copy)?;
    let input = input.bytes();
    let max_body = state.out.max_body();
    let need = state
        .resources
        .context_mut(id)?
        .ctx
        .max_output_len(input.len());
    let out = scratch(ctx, max_body, need)?;
    let n = run(&mut state.resources, ctx, id, |c| c.update(input, out))?;
    let output = out.get(..n).ok_or(ErrorCode::InternalError)?;
    state.out.reply(&Response::Output {
        output: Payload::Inline(output),
        tag: &[],
        iv: &[],
    })
}

pub(crate) fn finalize(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    input: Payload<'_>,
    tag: &[u8],
) -> Result<(), Error> {
    let copy = copy_for(state, id)?;
    let input = data(&state.regions, &input, copy)?;
    let input = input.bytes();
    let max_body = state.out.max_body();
    let need = state
        .resources
        .context_mut(id)?
        .ctx
        .max_output_len(input.len());
    let out = scratch(ctx, max_body, need)?;
    let mut tag_out = [0u8; MAX_TAG];
    let mut iv_out = [0u8; MAX_IV];
    let (n, tag_len, iv_len) = run(&mut state.resources, ctx, id, |c| {
        if !tag.is_empty() {
            c.set_tag(tag)?;
        }
        let n = c.finalize(input, out)?;
        Ok((n, aead_tag(c, &mut tag_out), stream_iv(c, &mut iv_out)?))
    })?;
    reply_output(state, out, n, tag_out.get(..tag_len), iv_out.get(..iv_len))
}

/// What a `Process` request carries besides the context id.
pub(crate) struct ProcessArgs<'a> {
    pub(crate) iv: &'a [u8],
    pub(crate) aad: &'a [u8],
    pub(crate) input: Payload<'a>,
    pub(crate) last: &'a [u8],
    pub(crate) tag: &'a [u8],
    /// A region range for the output instead of the reply (data plane).
    pub(crate) output: Option<ShmSlice>,
}

/// What a whole operation produced besides its output bytes.
struct Finished {
    n: usize,
    tag: [u8; MAX_TAG],
    tag_len: usize,
    iv: [u8; MAX_IV],
    iv_len: usize,
}

/// A whole operation on a context: reset if it finished or failed, init, AAD, then the data
/// in one `finish_whole` (which works on the data where it lies for the kinds that would
/// otherwise buffer it). The output buffer is asked for only after the reset, so it is sized
/// for this message alone (issue 13: sizing before the reset counted the previous message
/// too and refused reused AEAD contexts above a third of a frame).
fn whole<'o>(
    resources: &mut Resources,
    ctx: &Ctx<'_, '_>,
    id: u64,
    a: &ProcessArgs<'_>,
    input: &[u8],
    out_for: impl FnOnce(usize) -> Result<&'o mut [u8], Error>,
) -> Result<(&'o mut [u8], Finished), Error> {
    whole_with(resources, ctx, id, a, |c| {
        let need = c.max_output_len(input.len().saturating_add(a.last.len()));
        let out = out_for(need)?;
        if !a.tag.is_empty() {
            c.set_tag(a.tag)?;
        }
        let n = c.finish_whole(input, a.last, out)?;
        Ok((out, n))
    })
}

/// [`whole`] with the output written over the input (`finish_whole_in_place`: AEAD
/// encryption of the built-in provider; others answer `UnsupportedOperation`).
fn whole_in_place(
    resources: &mut Resources,
    ctx: &Ctx<'_, '_>,
    id: u64,
    a: &ProcessArgs<'_>,
    data: &mut [u8],
) -> Result<Finished, Error> {
    let (_, f) = whole_with(resources, ctx, id, a, |c| {
        if !a.last.is_empty() {
            return Err(Error::invalid_argument("in place: no separate last piece"));
        }
        if !a.tag.is_empty() {
            c.set_tag(a.tag)?;
        }
        Ok(((), c.finish_whole_in_place(data)?))
    })?;
    Ok(f)
}

/// The frame of a whole operation around `finish`, which writes the output and says how many
/// bytes it wrote: reset if the context ended, init, AAD, `finish`, then tag and IV.
fn whole_with<T>(
    resources: &mut Resources,
    ctx: &Ctx<'_, '_>,
    id: u64,
    a: &ProcessArgs<'_>,
    finish: impl FnOnce(&mut dyn CryptoContext) -> Result<(T, usize), Error>,
) -> Result<(T, Finished), Error> {
    run(resources, ctx, id, |c| {
        if matches!(c.state(), ContextState::Finalized | ContextState::Failed) {
            c.reset()?;
        }
        // A context in the middle of a client's stream is refused by `init` and left alone;
        // one this request starts is reset if the request fails part-way (an output range
        // too small, a tag of the wrong length), so the next whole operation finds it
        // reusable instead of `StreamAlreadyActive` (a batch's later jobs would all fail).
        let ours = c.state() == ContextState::Created;
        let r = whole_on(c, a, finish);
        if r.is_err() && ours && c.state() != ContextState::Created {
            let _ = c.reset();
        }
        r
    })
}

/// [`whole_with`] on a context that is ready for `init`.
fn whole_on<T>(
    c: &mut dyn CryptoContext,
    a: &ProcessArgs<'_>,
    finish: impl FnOnce(&mut dyn CryptoContext) -> Result<(T, usize), Error>,
) -> Result<(T, Finished), Error> {
    c.init(a.iv)?;
    if !a.aad.is_empty() {
        c.set_aad(a.aad)?;
    }
    let (out, n) = finish(c)?;
    let mut f = Finished {
        n,
        tag: [0; MAX_TAG],
        tag_len: 0,
        iv: [0; MAX_IV],
        iv_len: 0,
    };
    f.tag_len = aead_tag(c, &mut f.tag);
    f.iv_len = stream_iv(c, &mut f.iv)?;
    Ok((out, f))
}

/// A whole operation in one request (since 1.1): reset if the context finished or failed,
/// then init → set_aad → data → finalize under one deadline. Saves the round trips that
/// dominate small operations (a streamed HMAC is four requests). The output goes to session
/// scratch and the reply, or (data plane) into a region range.
pub(crate) fn process(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    a: &ProcessArgs<'_>,
) -> Result<(), Error> {
    let entry = state.resources.context_mut(id)?;
    let copy = copies_in(entry);
    let private_out = entry.decrypt;
    // Encryption can write its output over its input (AEAD: same length, no padding).
    let may_seal_in_place = entry.ctx.kind() == ContextKind::Aead && !entry.decrypt;
    let Some(target) = a.output else {
        let input = data(&state.regions, &a.input, copy)?;
        let max_body = state.out.max_body();
        let (out, f) = whole(&mut state.resources, ctx, id, a, input.bytes(), |need| {
            scratch(ctx, max_body, need)
        })?;
        return reply_output(
            state,
            out,
            f.n,
            f.tag.get(..f.tag_len),
            f.iv.get(..f.iv_len),
        );
    };
    let f = if private_out {
        // Decryption: plaintext is produced in private memory and copied to the region only
        // once the operation succeeded (for AEAD: the tag was checked), never before.
        let input = data(&state.regions, &a.input, copy)?;
        let mut private: Option<Scratch> = None;
        let slot = &mut private;
        let regions = &state.regions;
        // `need` is the provider's bound (CBC: up to a block of padding more than the result);
        // only the bytes actually produced must fit the range, checked when copying.
        let (out, f) = whole(&mut state.resources, ctx, id, a, input.bytes(), |need| {
            Ok(slot.insert(regions.private(need)?).as_mut_slice())
        })?;
        let produced = out.get(..f.n).ok_or(ErrorCode::InternalError)?;
        let dst = state
            .regions
            .output(&target)?
            .get_mut(..f.n)
            .ok_or_else(too_small)?;
        warden_arena::copy(dst, produced);
        f
    } else {
        let fit = |out: &'_ mut [u8], need: usize| {
            if need > out.len() {
                Err(too_small())
            } else {
                Ok(())
            }
        };
        match (&a.input, copy) {
            // The output range starts where the input does: encrypt in place (the client
            // keeps one copy of a large message, not two). Other overlaps are refused below.
            (Payload::Shm(i), false)
                if may_seal_in_place
                    && i.region == target.region
                    && i.offset == target.offset
                    && i.len > 0 =>
            {
                let out = state.regions.output(&target)?;
                let data = usize::try_from(i.len)
                    .ok()
                    .and_then(|n| out.get_mut(..n))
                    .ok_or_else(too_small)?;
                whole_in_place(&mut state.resources, ctx, id, a, data)?
            }
            (Payload::Shm(i), false) => {
                let (input, out) = state.regions.input_output(i, &target)?;
                whole(&mut state.resources, ctx, id, a, input, |need| {
                    fit(out, need)?;
                    Ok(out)
                })?
                .1
            }
            _ => {
                let input = match &a.input {
                    Payload::Inline(b) => Data::Borrowed(b),
                    Payload::Shm(i) => Data::Copied(state.regions.copy_in(i)?),
                };
                let out = state.regions.output(&target)?;
                whole(&mut state.resources, ctx, id, a, input.bytes(), |need| {
                    fit(out, need)?;
                    Ok(out)
                })?
                .1
            }
        }
    };
    let written = ShmSlice {
        len: f.n as u64,
        ..target
    };
    state.out.reply(&Response::Output {
        output: Payload::Shm(written),
        tag: f.tag.get(..f.tag_len).ok_or(ErrorCode::InternalError)?,
        iv: f.iv.get(..f.iv_len).ok_or(ErrorCode::InternalError)?,
    })
}

fn too_small() -> Error {
    Error::new(
        ErrorCode::InsufficientBufferSize,
        "output region range too small",
    )
}

/// After a finalize: the tag an AEAD encryption hands out (every other context has none).
fn aead_tag(c: &mut dyn CryptoContext, tag_out: &mut [u8; MAX_TAG]) -> usize {
    match c.kind() {
        ContextKind::Aead => c.get_tag(tag_out).unwrap_or(0),
        _ => 0,
    }
}

/// After a finalize: the nonce / IV of an encrypting stream, for the client to keep with the
/// ciphertext (empty for every other context).
fn stream_iv(c: &mut dyn CryptoContext, iv_out: &mut [u8; MAX_IV]) -> Result<usize, Error> {
    let iv = c.iv();
    iv_out
        .get_mut(..iv.len())
        .ok_or(ErrorCode::InternalError)?
        .copy_from_slice(iv);
    Ok(iv.len())
}

/// The `Output` reply: the first `n` bytes of `out`, the tag and the IV (`None` only if a
/// length was out of range, which the callers' fixed buffers rule out).
fn reply_output(
    state: &mut ConnState,
    out: &[u8],
    n: usize,
    tag: Option<&[u8]>,
    iv: Option<&[u8]>,
) -> Result<(), Error> {
    let output = out.get(..n).ok_or(ErrorCode::InternalError)?;
    state.out.reply(&Response::Output {
        output: Payload::Inline(output),
        tag: tag.ok_or(ErrorCode::InternalError)?,
        iv: iv.ok_or(ErrorCode::InternalError)?,
    })
}

pub(crate) fn reset(state: &mut ConnState, ctx: &Ctx<'_, '_>, id: u64) -> Result<(), Error> {
    run(&mut state.resources, ctx, id, |c| c.reset())?;
    done(state)
}

pub(crate) fn destroy(state: &mut ConnState, id: u64) -> Result<(), Error> {
    state.resources.destroy_context(id)?;
    done(state)
}

pub(crate) fn random(state: &mut ConnState, ctx: &Ctx<'_, '_>, len: u32) -> Result<(), Error> {
    let max_body = state.out.max_body();
    let out = scratch(ctx, max_body, len as usize)?;
    ctx.shared.provider.random(out)?;
    ctx.deadline.check()?;
    state.out.reply(&Response::Output {
        output: Payload::Inline(out),
        tag: &[],
        iv: &[],
    })
}
