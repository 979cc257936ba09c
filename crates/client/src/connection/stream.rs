//! The socket side of a connection: writing frames, reading into the receive buffer, and
//! waiting for answers (blocking, polling, or busy polling).

use std::io::{self, IoSlice, Read, Write};
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use warden_wire::{FrameHeader, HEADER_LEN};

use super::{Inner, READ_CHUNK, lost, timeout_or_lost, wire_problem};
use crate::error::{Error, Result};

impl Inner {
    pub(super) fn set_timeout(&mut self, until: Option<Instant>) -> Result<()> {
        let t = match until {
            None => None,
            Some(u) => {
                let left = u.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::TimedOut);
                }
                Some(left)
            }
        };
        // Skip the syscall when the budget is the same to the millisecond as last time (the
        // common case: same operation timeout on every call).
        let rounded = t.map(|d| Duration::from_millis(d.as_millis().max(1) as u64));
        if self.io_timeout != Some(rounded) {
            self.stream.set_read_timeout(rounded).map_err(lost)?;
            self.stream.set_write_timeout(rounded).map_err(lost)?;
            self.io_timeout = Some(rounded);
        }
        Ok(())
    }

    pub(super) fn send(
        &mut self,
        header: &FrameHeader,
        body: &[u8],
        until: Option<Instant>,
    ) -> Result<()> {
        self.send_fd(header, body, None, until)
    }

    pub(super) fn send_fd(
        &mut self,
        header: &FrameHeader,
        body: &[u8],
        fd: Option<BorrowedFd<'_>>,
        until: Option<Instant>,
    ) -> Result<()> {
        let Ok(body_len) = u32::try_from(body.len()) else {
            return Err(Error::Invalid(warden_core::Error::invalid_argument(
                "request body too large",
            )));
        };
        let header = FrameHeader {
            body_len,
            ..*header
        };
        // The budget may already be spent (e.g. queued behind another thread's long call):
        // give up before writing anything, which leaves the stream intact.
        self.set_timeout(until)?;
        // Header and body go out side by side from where they are (the body from the
        // thread's builder, which the codec scrubs): no copy into a frame buffer, and so no
        // such buffer holding key material (import, unwrap) to wipe afterwards.
        let r = write_frame(&self.stream, &header.to_bytes(), body, fd)
            .map_err(|e| timeout_or_lost(&e));
        if r.is_err() {
            // A partial write desynchronises the stream: nothing more can be sent on it.
            self.broken = true;
        }
        r
    }

    /// Reads frames until the answer to request `id` arrives; earlier (stale) answers are
    /// skipped. Any malformed frame breaks the connection. The answer is left at the front
    /// of the read buffer: returns its header and its length with the header; read it with
    /// [`Inner::body`], then [`Inner::consume`] it.
    pub(super) fn recv(
        &mut self,
        id: u64,
        opcode: u16,
        max_len: u32,
        until: Option<Instant>,
        mut busy_poll: Duration,
        in_poll: bool,
    ) -> Result<(FrameHeader, usize)> {
        loop {
            if let Some((h, total)) = self.next_frame(max_len)? {
                if !h.is_response() {
                    self.broken = true;
                    return Err(Error::Protocol("daemon sent a request frame"));
                }
                if h.request_id < id && id != 0 {
                    // The late answer to a call the client gave up on.
                    self.consume(total);
                    continue;
                }
                if h.request_id != id || h.opcode != opcode {
                    self.broken = true;
                    return Err(Error::Protocol("response does not match the request"));
                }
                return Ok((h, total));
            }
            self.fill(max_len, until, busy_poll, in_poll)?;
            // Poll only for the first bytes of the answer; the rest follows at once.
            busy_poll = Duration::ZERO;
        }
    }

    /// The header and length (with the header) of the complete frame at the front of the
    /// read buffer, if there is one.
    pub(super) fn next_frame(&mut self, max_len: u32) -> Result<Option<(FrameHeader, usize)>> {
        let filled = self.filled;
        let Some(received) = self.rbuf.get(..filled).filter(|r| r.len() >= HEADER_LEN) else {
            return Ok(None);
        };
        let h = match FrameHeader::decode(received, max_len) {
            Ok(h) => h,
            Err(e) => {
                self.broken = true;
                return Err(Error::Protocol(wire_problem(e)));
            }
        };
        // frame_len is bounded by max_len (a u32), so it fits a usize.
        let total = h.frame_len() as usize;
        if filled < total {
            return Ok(None);
        }
        Ok(Some((h, total)))
    }

    /// The body of the `total`-byte frame at the front of the read buffer.
    pub(super) fn body(&self, total: usize) -> &[u8] {
        self.rbuf.get(HEADER_LEN..total).unwrap_or_default()
    }

    /// Removes the `total`-byte frame at the front of the read buffer. Answers may carry
    /// secrets: what follows the frame is shifted down over it, then the bytes behind the
    /// new end (the frame's, or the old copy of what moved) are wiped.
    pub(super) fn consume(&mut self, total: usize) {
        let filled = self.filled;
        let total = total.min(filled);
        self.rbuf.copy_within(total..filled, 0);
        let rest = filled - total;
        if let Some(behind) = self.rbuf.get_mut(rest..filled) {
            warden_arena::wipe(behind);
        }
        self.filled = rest;
    }

    /// Reads more bytes into the read buffer, waiting at most until `until`.
    /// `in_poll`: wait in `poll` rather than a blocking read ([`wait_read`]).
    pub(super) fn fill(
        &mut self,
        max_len: u32,
        until: Option<Instant>,
        busy_poll: Duration,
        in_poll: bool,
    ) -> Result<()> {
        // Read what the current frame still needs (at least a chunk, to batch small frames).
        let start = self.filled;
        let need = match self.rbuf.get(..start) {
            Some(received) if received.len() >= HEADER_LEN => {
                FrameHeader::decode(received, max_len)
                    .map(|h| h.frame_len() as usize)
                    .unwrap_or(0)
                    .saturating_sub(start)
            }
            _ => 0,
        };
        let want = need.max(READ_CHUNK);
        self.set_timeout(until)?;
        grow_wiping(&mut self.rbuf, start, start + want);
        let r = match self.rbuf.get_mut(start..start + want) {
            // Poll first (if asked to), then wait for what the window did not bring.
            Some(dst) => match poll_read(&self.stream, dst, busy_poll, until) {
                Some(r) => r,
                None if in_poll => wait_read(&self.stream, dst, until, start == 0),
                None => self.stream.read(dst),
            },
            None => Ok(0),
        };
        match r {
            Ok(0) => {
                self.broken = true;
                Err(Error::ConnectionLost(None))
            }
            Ok(n) => {
                self.filled = start + n;
                Ok(())
            }
            Err(e) => {
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(());
                }
                let err = timeout_or_lost(&e);
                if !matches!(err, Error::TimedOut) {
                    self.broken = true;
                }
                Err(err)
            }
        }
    }
}

/// Makes `buf` at least `len` bytes long (zero-filled), keeping its first `filled` bytes,
/// without leaving them behind: `Vec` growth moves them to a new allocation and frees the
/// old one as it is, so the move is done here and the old allocation wiped first (a partly
/// read answer may carry secrets).
fn grow_wiping(buf: &mut Vec<u8>, filled: usize, len: usize) {
    if len <= buf.len() {
        return;
    }
    let mut bigger = vec![0; len];
    if let (Some(dst), Some(src)) = (bigger.get_mut(..filled), buf.get(..filled)) {
        dst.copy_from_slice(src);
    }
    wipe_all(buf);
    *buf = bigger;
}

/// Writes `head` then `body` without copying them together (a descriptor, if any, rides on
/// the first byte; what the socket did not take at once follows without it).
fn write_frame(
    stream: &UnixStream,
    head: &[u8],
    body: &[u8],
    fd: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let total = head.len() + body.len();
    let mut done = match fd {
        Some(fd) => {
            warden_shm::send_with_fd(stream, &[IoSlice::new(head), IoSlice::new(body)], fd)?
        }
        None => 0,
    };
    while done < total {
        let bufs = [
            IoSlice::new(head.get(done..).unwrap_or_default()),
            IoSlice::new(
                body.get(done.saturating_sub(head.len())..)
                    .unwrap_or_default(),
            ),
        ];
        match (&*stream).write_vectored(&bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Wipes all of `buf`'s allocation, not only its length (earlier contents may lie beyond).
pub(super) fn wipe_all(buf: &mut Vec<u8>) {
    buf.resize(buf.capacity(), 0);
    warden_arena::wipe(buf);
    buf.clear();
}

/// Reads what is there, waiting for it in `poll(POLLIN)` (never past `until`), not in a
/// blocking `read`: a thread blocked in a Unix-stream read is on the socket's one wait queue
/// without an event filter, so it is also woken each time the daemon *consumes* one of our
/// requests (the kernel's write-space wake-up, `unix_write_space`), only to sleep again. On
/// a VM whose idle vCPUs halt, each such wake-up costs the daemon's worker ≈ 20 µs inside
/// its `recvmsg` (perf: `sock_wfree` → `unix_write_space` → `try_to_wake_up`). A poller asks
/// for input only and is not woken by it. `fresh`: nothing of the answer has come yet, so
/// wait before the first read instead of paying a read that would only say so.
///
/// Only pipelined calls wait this way. A single call is better off blocked in `read`: its
/// early, spurious wake-up gets its vCPU going before the answer comes (measured: 64 KiB
/// seal 37 → 56 µs, 32 KiB ping 56 → 70 µs when single calls waited in poll, 1 MiB seal
/// 160 → 154 µs).
fn wait_read(
    stream: &UnixStream,
    dst: &mut [u8],
    until: Option<Instant>,
    fresh: bool,
) -> io::Result<usize> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut first = fresh;
    loop {
        if !first {
            match rustix::net::recv(stream, &mut *dst, rustix::net::RecvFlags::DONTWAIT) {
                Ok((n, _)) => return Ok(n),
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e)),
            }
        }
        first = false;
        let left = match until {
            None => None,
            Some(u) => {
                let left = u.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Some(Timespec::try_from(left).map_err(|_| io::ErrorKind::InvalidInput)?)
            }
        };
        let mut fds = [PollFd::new(stream, PollFlags::IN)];
        match poll(&mut fds, left.as_ref()) {
            Ok(0) => return Err(io::ErrorKind::TimedOut.into()),
            // Readable, end of stream or an error: the read says which.
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// Reads without sleeping for up to `busy_poll` (and never past `until`): `Some` with the
/// result once bytes, end of stream or an error arrive, `None` when the time is up and the
/// caller should block. The thread stays on its CPU meanwhile, so an answer that comes
/// within the window costs no wake-up (tens of microseconds on a VM whose idle vCPUs halt).
fn poll_read(
    stream: &UnixStream,
    dst: &mut [u8],
    busy_poll: Duration,
    until: Option<Instant>,
) -> Option<io::Result<usize>> {
    if busy_poll.is_zero() {
        return None;
    }
    let start = Instant::now();
    let stop = until.map_or(start + busy_poll, |u| u.min(start + busy_poll));
    loop {
        match rustix::net::recv(stream, &mut *dst, rustix::net::RecvFlags::DONTWAIT) {
            Ok((n, _)) => return Some(Ok(n)),
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
            Err(e) => return Some(Err(io::Error::from(e))),
        }
        if Instant::now() >= stop {
            return None;
        }
        // Yield, not a pause loop: when another thread wants this CPU (the daemon's worker
        // on a busy machine, say), it runs at once instead of waiting out our window.
        // Measured with pause loops and two builds running: 1 MiB seals at 0.97 ms instead
        // of 0.17 ms; with yields, no worse than without polling.
        std::thread::yield_now();
    }
}
