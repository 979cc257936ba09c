//! Streaming contexts (hash, MAC, cipher, AEAD, sign, verify) and random bytes.
//!
//! Outputs are written by the provider straight into scratch memory of the request's
//! session and encoded from there; nothing on this path allocates on the global heap.
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
use warden_wire::messages::{self, CreateContext};
use warden_wire::{Payload, Response};

use crate::provider::{ContextEntry, resource_kind};
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
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    op: impl FnOnce(&mut dyn CryptoContext) -> Result<T, Error>,
) -> Result<T, Error> {
    let entry = state.resources.context_mut(id)?;
    let deadline = ctx.deadline.tighten(entry.budget_ms);
    let result = if deadline.expired() {
        None
    } else {
        Some(op(&mut *entry.ctx))
    };
    match result {
        Some(r) if !deadline.expired() => r,
        _ => {
            state
                .resources
                .fail_context(id, ErrorCode::OperationTimedOut);
            Err(Error::new(
                ErrorCode::OperationTimedOut,
                "context operation timed out",
            ))
        }
    }
}

fn inline<'a>(p: &Payload<'a>) -> Result<&'a [u8], Error> {
    // The shared-memory data plane is a later issue; refuse references into it.
    p.as_inline().ok_or(Error::new(
        ErrorCode::InvalidMemoryRegion,
        "no shared memory regions",
    ))
}

/// Output scratch in the session, sized for what the context may produce.
fn scratch<'r>(ctx: &Ctx<'r, '_>, max_body: usize, need: usize) -> Result<&'r mut [u8], Error> {
    let cap = max_body.saturating_sub(OUTPUT_OVERHEAD);
    if need > cap {
        return Err(Error::new(
            ErrorCode::QuotaExceeded,
            "output exceeds frame limit",
        ));
    }
    ctx.session
        .try_alloc_zeroed_slice(need)
        .map_err(|_| Error::new(ErrorCode::AllocationFailed, "session arena full"))
}

fn done(state: &mut ConnState) -> Result<(), Error> {
    state.out.reply(&Response::Done)
}

pub(crate) fn init(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    iv: &[u8],
) -> Result<(), Error> {
    run(state, ctx, id, |c| c.init(iv))?;
    done(state)
}

pub(crate) fn set_aad(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    aad: Payload<'_>,
) -> Result<(), Error> {
    let aad = inline(&aad)?;
    run(state, ctx, id, |c| c.set_aad(aad))?;
    done(state)
}

pub(crate) fn update(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    input: Payload<'_>,
) -> Result<(), Error> {
    let input = inline(&input)?;
    let max_body = state.out.max_body();
    let need = state
        .resources
        .context_mut(id)?
        .ctx
        .max_output_len(input.len());
    let out = scratch(ctx, max_body, need)?;
    let n = run(state, ctx, id, |c| c.update(input, out))?;
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
    let input = inline(&input)?;
    let max_body = state.out.max_body();
    let need = state
        .resources
        .context_mut(id)?
        .ctx
        .max_output_len(input.len());
    let out = scratch(ctx, max_body, need)?;
    let mut tag_out = [0u8; MAX_TAG];
    let mut iv_out = [0u8; MAX_IV];
    let (n, tag_len, iv_len) = run(state, ctx, id, |c| {
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
}

/// A whole operation in one request (since 1.1): reset if the context finished or failed,
/// then init → set_aad → update → finalize, exactly as the separate requests would run them,
/// under one deadline. Saves the round trips that dominate small operations (a streamed
/// HMAC is four requests). Outputs of update and finalize land in one session scratch.
pub(crate) fn process(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    id: u64,
    a: &ProcessArgs<'_>,
) -> Result<(), Error> {
    let input = inline(&a.input)?;
    let max_body = state.out.max_body();
    let c = &state.resources.context_mut(id)?.ctx;
    let need = c
        .max_output_len(input.len())
        .saturating_add(c.max_output_len(a.last.len()));
    let out = scratch(ctx, max_body, need)?;
    let mut tag_out = [0u8; MAX_TAG];
    let mut iv_out = [0u8; MAX_IV];
    let (n, tag_len, iv_len) = run(state, ctx, id, |c| {
        if matches!(c.state(), ContextState::Finalized | ContextState::Failed) {
            c.reset()?;
        }
        c.init(a.iv)?;
        if !a.aad.is_empty() {
            c.set_aad(a.aad)?;
        }
        let head = if input.is_empty() {
            0
        } else {
            c.update(input, out)?
        };
        if !a.tag.is_empty() {
            c.set_tag(a.tag)?;
        }
        let rest = out.get_mut(head..).ok_or(ErrorCode::InternalError)?;
        let n = head + c.finalize(a.last, rest)?;
        Ok((n, aead_tag(c, &mut tag_out), stream_iv(c, &mut iv_out)?))
    })?;
    reply_output(state, out, n, tag_out.get(..tag_len), iv_out.get(..iv_len))
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
    run(state, ctx, id, |c| c.reset())?;
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
