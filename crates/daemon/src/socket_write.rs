//! Writing to a client's non-blocking socket without ever waiting on it (issue 12), except
//! for the bounded one-frame refusal at the connection limit.

use std::io::{self, IoSlice, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

/// Waits until `stream` is readable or writable, at most until `until`.
fn wait(stream: &UnixStream, flags: PollFlags, until: Instant) -> io::Result<()> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let ts = Timespec::try_from(left).map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut fds = [PollFd::new(stream, flags)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return Err(io::ErrorKind::TimedOut.into()),
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes all of `buf` to the non-blocking `stream` within `timeout`.
pub(crate) fn write_all_timeout(
    stream: &mut UnixStream,
    buf: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    let until = Instant::now() + timeout;
    let mut done = 0;
    while done < buf.len() {
        match stream.write(buf.get(done..).unwrap_or_default()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream, PollFlags::OUT, until)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes held replies, then header and body, from offset `done` (counted over all three)
/// with as few syscalls as the socket allows (one `writev` normally), without first copying
/// them together, until done or the socket is full. Returns the new offset; never waits.
pub(crate) fn write_frame_now(
    stream: &mut UnixStream,
    held: &[u8],
    head: &[u8],
    body: &[u8],
    mut done: usize,
) -> io::Result<usize> {
    let total = held.len() + head.len() + body.len();
    while done < total {
        let in_head = done.saturating_sub(held.len());
        let in_body = in_head.saturating_sub(head.len());
        let bufs = [
            IoSlice::new(held.get(done..).unwrap_or_default()),
            IoSlice::new(head.get(in_head..).unwrap_or_default()),
            IoSlice::new(body.get(in_body..).unwrap_or_default()),
        ];
        let r = stream.write_vectored(&bufs);
        match r {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(done),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
