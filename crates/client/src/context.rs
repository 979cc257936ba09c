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

mod ciphers;
mod digests;

pub use ciphers::{AeadContext, CipherContext, Sealed, SealedRegion};
pub use digests::{HashContext, MacContext, SignContext, VerifyContext};

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
