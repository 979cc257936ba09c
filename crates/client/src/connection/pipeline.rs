//! Pipelined calls: several requests on the connection before their answers (batches).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use warden_core::ErrorCode;
use warden_wire::{FrameHeader, HEADER_LEN, Opcode};

use super::{Connection, Waiting};
use crate::error::{Error, Result};

impl Connection {
    /// Sends requests `0..n` on this connection keeping at most `depth` of them unanswered,
    /// and hands each answer, in order, to `answer` (a non-zero status as
    /// [`Error::Daemon`]). `encode(i, send)` encodes request `i` and passes its opcode and
    /// body to `send`.
    ///
    /// Why: the daemon serves one connection's frames in order, so a queued request is read
    /// the moment the previous answer is written and the worker never waits for the client
    /// (on a VM whose idle vCPUs halt, each such wait is a wake-up of tens of microseconds).
    ///
    /// Only for requests and answers of a few hundred bytes (region references): the daemon
    /// reads no new request while an answer of this connection is unsent, so `depth` large
    /// answers could fill the socket while we block writing. Each answer is awaited for the
    /// request's deadline plus grace, counted from when it was sent or the previous answer
    /// came, whichever is later (the daemon starts its clock when it reads the header). An
    /// error returned by `encode` or `answer`, or a lost connection, ends the run; answers
    /// still on the way are recognised as stale by their ids and skipped by the next call.
    pub(crate) fn call_pipelined(
        &self,
        n: usize,
        depth: usize,
        deadline_ms: Option<u32>,
        wait: Waiting,
        mut encode: impl FnMut(usize, &mut dyn FnMut(Opcode, &[u8]) -> Result<()>) -> Result<()>,
        mut answer: impl FnMut(usize, Result<&[u8]>) -> Result<()>,
    ) -> Result<()> {
        let depth = depth.max(1);
        let budget = deadline_ms.map(|ms| Duration::from_millis(ms.into()) + wait.grace);
        let mut inner = self.lock();
        if inner.broken {
            return Err(Error::ConnectionLost(None));
        }
        // (request id, opcode, sent at) of the requests whose answers are still to come.
        let mut pending = VecDeque::with_capacity(depth.min(n));
        let mut sent = 0;
        let mut last_answer = Instant::now();
        for i in 0..n {
            while sent < n && pending.len() < depth {
                let id = inner.next_id;
                let at = Instant::now();
                let until = budget.map(|b| at + b);
                let mut op_sent = None;
                encode(sent, &mut |op: Opcode, body: &[u8]| {
                    if HEADER_LEN as u64 + body.len() as u64 > u64::from(self.max_request_len) {
                        return Err(Error::Invalid(warden_core::Error::new(
                            ErrorCode::InvalidArgument,
                            "request larger than the daemon's frame limit",
                        )));
                    }
                    inner.next_id = id.wrapping_add(1);
                    let header = FrameHeader {
                        deadline_ms: deadline_ms.unwrap_or(0),
                        ..FrameHeader::request(self.version, id, op.as_u16())
                    };
                    inner.send(&header, body, until)?;
                    op_sent = Some(op);
                    Ok(())
                })?;
                let Some(op) = op_sent else {
                    return Err(Error::Protocol("pipelined request was not encoded"));
                };
                pending.push_back((id, op, at));
                sent += 1;
            }
            let Some((id, op, at)) = pending.pop_front() else {
                return Err(Error::Protocol("pipelined answer without a request"));
            };
            let until = budget.map(|b| at.max(last_answer) + b);
            // Waiting in poll: a blocked read would be woken by every request the worker
            // takes from the queue ([`wait_read`]), costing the worker a wake-up each.
            let (h, total) = inner.recv(
                id,
                op.as_u16(),
                self.max_response_len,
                until,
                wait.busy_poll,
                true,
            )?;
            last_answer = Instant::now();
            let r = match self.judge(&mut inner, &h, total) {
                // A broken stream ends the batch; a daemon error belongs to this job.
                Err(e @ Error::Protocol(_)) => Err(e),
                judged => answer(i, judged),
            };
            inner.consume(total);
            r?;
        }
        Ok(())
    }
}
