//! Batches of one-shot operations, pipelined on the connection: AEAD over regions
//! (`seal_regions`, `open_regions`) and signatures over small inline messages (`sign_many`,
//! `verify_many`).
//!
//! One data-plane call is a round trip: the client sends, the daemon's worker wakes, works,
//! answers, and the client wakes. Each wake-up of an idle CPU costs time no computation
//! needs (≈ 20 µs on a VM whose idle vCPUs halt; BENCHMARKS.md "Data plane"). A batch keeps
//! up to [`PIPELINE_DEPTH`] requests queued on the connection, so the worker reads the next
//! request the moment it has written an answer and never waits for the client: sealing many
//! 1 MiB messages runs at the speed of the cipher, not of the round trip.
//!
//! Requests and answers of a batch are small (region references, nonces, tags): the data
//! itself stays in the region. Each job has its own result; a job that fails (bad range, tag
//! mismatch) does not stop the ones after it, which were already queued. Only a lost
//! connection or a timeout ends the whole batch, as `Err`.

use warden_wire::Opcode;
use warden_wire::messages::{Payload, Request};

use super::{AeadContext, ContextCore, RegionOp, SealedRegion, SignContext, VerifyContext};
use crate::codec::{self, Produced};
use crate::error::{Error, Result};
use crate::memory::{MemoryRegion, RegionSlice};

/// Requests a batch keeps unanswered on the connection. Two would keep the worker busy;
/// four leave room for a client that is slow to send the next one (it has to be woken by
/// the answer first).
pub const PIPELINE_DEPTH: usize = 16;

/// One message of [`AeadContext::seal_regions`].
#[derive(Debug, Clone, Copy)]
pub struct SealJob<'a> {
    /// Additional authenticated data (inline, small).
    pub aad: &'a [u8],
    /// The plaintext's range of the region.
    pub input: RegionSlice,
    /// Where the ciphertext goes (same region, at least as long; `input` itself to seal in
    /// place, else not overlapping it: see [`AeadContext::seal_region`]).
    pub output: RegionSlice,
}

/// One message of [`AeadContext::open_regions`].
#[derive(Debug, Clone, Copy)]
pub struct OpenJob<'a> {
    /// The nonce the message was sealed under.
    pub nonce: &'a [u8],
    /// Additional authenticated data (inline, small).
    pub aad: &'a [u8],
    /// The ciphertext's range of the region.
    pub input: RegionSlice,
    /// The authentication tag.
    pub tag: &'a [u8],
    /// Where the plaintext goes (written only once the tag checked out; may be `input`
    /// itself, see [`AeadContext::open_region`]).
    pub output: RegionSlice,
}

impl ContextCore {
    /// Runs one-shot `Process` requests with region input and output for every job,
    /// pipelined; one result per job, in order.
    fn process_regions(
        &mut self,
        region: &MemoryRegion,
        jobs: &[(RegionOp<'_>, RegionSlice, RegionSlice)],
    ) -> Result<Vec<Result<(usize, Produced)>>> {
        region.check_link(&self.link)?;
        let mut reqs = Vec::with_capacity(jobs.len());
        for (op, input, output) in jobs {
            region.check_slice(input)?;
            region.check_slice(output)?;
            reqs.push(Request::Process {
                context_id: self.id,
                iv: op.iv,
                aad: op.aad,
                input: Payload::Shm(input.wire()),
                last: op.last,
                tag: op.tag,
                output: Some(output.wire()),
            });
        }
        let mut results = Vec::with_capacity(jobs.len());
        self.link
            .request_pipelined(&reqs, PIPELINE_DEPTH, self.timeout, |i, answer| {
                let (_, _, asked) = jobs.get(i).ok_or(Error::Protocol("batch index"))?;
                results.push(answer.and_then(|r| codec::region_output(r, &asked.wire())));
                Ok(())
            })?;
        Ok(results)
    }
}

impl AeadContext {
    /// Seals every job's input into its output (ranges of `region`), each under a fresh
    /// nonce drawn by the daemon, keeping up to [`PIPELINE_DEPTH`] requests queued: for many
    /// messages, the throughput of the cipher instead of one round trip each. One result
    /// per job, in order (a failed job does not stop the others); `Err` only when the batch
    /// as a whole failed (connection lost, timeout, a slice of another region). Encrypting
    /// contexts only.
    pub fn seal_regions(
        &mut self,
        region: &mut MemoryRegion,
        jobs: &[SealJob<'_>],
    ) -> Result<Vec<Result<SealedRegion>>> {
        let ops: Vec<_> = jobs
            .iter()
            .map(|j| {
                let op = RegionOp {
                    aad: j.aad,
                    ..RegionOp::default()
                };
                (op, j.input, j.output)
            })
            .collect();
        let done = self.core.process_regions(region, &ops)?;
        Ok(done
            .into_iter()
            .map(|r| {
                r.map(|(len, p)| {
                    self.tag.clone_from(&p.tag);
                    self.nonce.clone_from(&p.iv);
                    SealedRegion {
                        nonce: p.iv,
                        tag: p.tag,
                        len,
                    }
                })
            })
            .collect())
    }

    /// Opens every job's input into its output (ranges of `region`), pipelined like
    /// [`AeadContext::seal_regions`]; one plaintext length or error per job, in order. A
    /// job whose tag does not check out fails opaquely and leaves its output untouched; the
    /// others are not affected. Decrypting contexts only.
    pub fn open_regions(
        &mut self,
        region: &mut MemoryRegion,
        jobs: &[OpenJob<'_>],
    ) -> Result<Vec<Result<usize>>> {
        let ops: Vec<_> = jobs
            .iter()
            .map(|j| {
                let op = RegionOp {
                    iv: j.nonce,
                    aad: j.aad,
                    tag: j.tag,
                    ..RegionOp::default()
                };
                (op, j.input, j.output)
            })
            .collect();
        let done = self.core.process_regions(region, &ops)?;
        Ok(done.into_iter().map(|r| r.map(|(len, _)| len)).collect())
    }
}

/// Request bytes an inline batch keeps in flight at most. The client writes its next request
/// only after reading an answer, and the daemon reads no request while one of its answers is
/// unsent; as long as every queued request fits the socket's send buffer (≈ 200 KiB), a write
/// never blocks, so the client always gets back to reading: no deadlock, whatever the answers
/// weigh (an SLH-DSA signature is up to 49 KiB).
const INLINE_IN_FLIGHT: usize = 64 * 1024;

/// Envelope bytes per inline request beyond its payloads (FlatBuffers tables, header).
const INLINE_OVERHEAD: usize = 512;

impl ContextCore {
    /// Runs one-shot inline `Process` requests `(input, last)` pipelined: as many queued as
    /// fit [`INLINE_IN_FLIGHT`] (at most [`PIPELINE_DEPTH`]); one result per job, in order.
    fn process_many(&mut self, jobs: &[(&[u8], &[u8])]) -> Result<Vec<Result<Produced>>> {
        if !Opcode::Process.available_in(self.link.version()) {
            return Err(Error::Invalid(warden_core::Error::new(
                warden_core::ErrorCode::UnsupportedOperation,
                "the daemon's protocol version predates batches",
            )));
        }
        let largest = jobs
            .iter()
            .map(|(i, l)| i.len() + l.len())
            .max()
            .unwrap_or(0);
        if largest > self.chunk_len() {
            return Err(Error::Invalid(warden_core::Error::invalid_argument(
                "a batch message is larger than one frame: sign or verify it through a region",
            )));
        }
        let depth = (INLINE_IN_FLIGHT / (largest + INLINE_OVERHEAD)).clamp(1, PIPELINE_DEPTH);
        let reqs: Vec<Request<'_>> = jobs
            .iter()
            .map(|&(input, last)| Request::Process {
                context_id: self.id,
                iv: &[],
                aad: &[],
                input: Payload::Inline(input),
                last,
                tag: &[],
                output: None,
            })
            .collect();
        let mut results = Vec::with_capacity(jobs.len());
        self.link
            .request_pipelined(&reqs, depth, self.timeout, |_, answer| {
                results.push(answer.and_then(codec::output));
                Ok(())
            })?;
        Ok(results)
    }
}

impl SignContext {
    /// Signs every message, keeping several requests queued on the connection (like
    /// [`AeadContext::seal_regions`]): for many small messages, close to the signer's own
    /// throughput instead of one round trip each. One signature or error per message, in
    /// order; `Err` only when the batch as a whole failed (connection lost, timeout, a
    /// message larger than one frame — sign those with `sign_region`).
    pub fn sign_many(&mut self, msgs: &[&[u8]]) -> Result<Vec<Result<Vec<u8>>>> {
        let jobs: Vec<(&[u8], &[u8])> = msgs.iter().map(|m| (*m, &[][..])).collect();
        let done = self.core.process_many(&jobs)?;
        Ok(done.into_iter().map(|r| r.map(|p| p.data)).collect())
    }
}

impl VerifyContext {
    /// Verifies every `(message, signature)` pair, pipelined like [`SignContext::sign_many`];
    /// `Ok(())` or the opaque verification error per pair, in order.
    pub fn verify_many(&mut self, items: &[(&[u8], &[u8])]) -> Result<Vec<Result<()>>> {
        let done = self.core.process_many(items)?;
        Ok(done.into_iter().map(|r| r.map(drop)).collect())
    }
}
