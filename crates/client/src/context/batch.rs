//! Batches of one-shot region operations, pipelined on the connection.
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

use warden_wire::messages::{Payload, Request};

use super::{AeadContext, ContextCore, RegionOp, SealedRegion};
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
    /// Where the ciphertext goes (same region, not overlapping `input`, at least as long).
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
    /// Where the plaintext goes (written only once the tag checked out).
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
