//! Descriptor passing (`SCM_RIGHTS`) over a Unix stream socket.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, recvmsg, sendmsg,
};

/// Descriptors accepted per read: the kernel's limit for one message (`SCM_MAX_FD`), and
/// one read never takes more than one message's. Any the control buffer could not hold
/// would be released by the kernel in the reading thread (`MSG_CTRUNC`) on its way back
/// from `recvmsg`, and a file's last release may wait as long as its owner likes (a TCP
/// socket with `SO_LINGER` and unsent data): so every descriptor is received, and the
/// caller decides where it is closed.
pub const MAX_FDS_PER_READ: usize = 253;

/// Sends `bufs` with `fd` attached to their first byte (the kernel delivers the descriptor
/// with the read that returns that byte). Returns the bytes written, like `writev`.
///
/// # Errors
/// The `sendmsg` error.
pub fn send_with_fd(
    socket: impl AsFd,
    bufs: &[IoSlice<'_>],
    fd: BorrowedFd<'_>,
) -> std::io::Result<usize> {
    let fds = [fd];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(std::io::ErrorKind::InvalidInput.into());
    }
    Ok(sendmsg(socket, bufs, &mut control, SendFlags::NOSIGNAL)?)
}

/// Reads into `bufs` like `readv`, handing every descriptor that arrives with the data to
/// `take` (received close-on-exec). Returns the bytes read.
///
/// # Errors
/// The `recvmsg` error (`WouldBlock` on an empty non-blocking socket).
pub fn recv_with_fds(
    socket: impl AsFd,
    bufs: &mut [IoSliceMut<'_>],
    mut take: impl FnMut(OwnedFd),
) -> std::io::Result<usize> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS_PER_READ))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let r = recvmsg(socket, bufs, &mut control, RecvFlags::CMSG_CLOEXEC)?;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = msg {
            fds.for_each(&mut take);
        }
    }
    Ok(r.bytes)
}

/// Shuts `socket` (both ways: the peer sees the end at once and can queue nothing more) and
/// hands the descriptors still queued on it to `take` until it says no more (`false`), so
/// that closing it afterwards releases none in this thread (closing a socket releases what
/// is queued on it, as above). `true` when the socket is now empty; `false` when something
/// may remain (`take` refused, `max_reads` reads of 4 KiB were not enough, or a call
/// failed): then the caller must not close it where a release could block.
pub fn drain_fds(socket: impl AsFd, max_reads: usize, take: impl FnMut(OwnedFd) -> bool) -> bool {
    let socket = socket.as_fd();
    if rustix::net::shutdown(socket, rustix::net::Shutdown::Both).is_err() {
        return false;
    }
    // The bytes drained are requests the connection never read: plaintexts to seal, keys to
    // import. They are wiped from this (worker) stack buffer before it is given up.
    let mut buf = [0u8; 4096];
    let drained = drain_into(socket, &mut buf, max_reads, take);
    warden_arena::wipe(&mut buf);
    drained
}

/// [`drain_fds`]'s loop, reading into `buf`.
fn drain_into(
    socket: BorrowedFd<'_>,
    buf: &mut [u8],
    max_reads: usize,
    mut take: impl FnMut(OwnedFd) -> bool,
) -> bool {
    let mut reads = 0;
    let mut more = true;
    loop {
        // Descriptors travel with bytes: no byte queued, no descriptor either.
        match rustix::io::ioctl_fionread(socket) {
            Ok(0) => return true,
            Ok(_) if more && reads < max_reads => {}
            _ => return false,
        }
        reads += 1;
        let r = recv_with_fds(socket, &mut [IoSliceMut::new(&mut *buf)], |fd| {
            more &= take(fd);
        });
        match r {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_descriptor_travels_with_its_bytes() {
        let (a, b) = UnixStream::pair().unwrap();
        let r = crate::Region::create(4096).unwrap();
        assert_eq!(send_with_fd(&a, &[IoSlice::new(b"hi")], r.fd()).unwrap(), 2);
        let mut buf = [0u8; 8];
        let mut got = Vec::new();
        let n = recv_with_fds(&b, &mut [IoSliceMut::new(&mut buf)], |fd| got.push(fd)).unwrap();
        assert_eq!(&buf[..n], b"hi");
        assert_eq!(got.len(), 1);
        crate::Mapping::from_client_fd(got.pop().unwrap(), 4096, 4096).unwrap();
    }

    #[test]
    fn every_descriptor_of_a_message_is_received_and_queued_ones_drained() {
        let (a, b) = UnixStream::pair().unwrap();
        let r = crate::Region::create(4096).unwrap();
        let fds = vec![r.fd(); MAX_FDS_PER_READ];
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(&fds)));
        let send = |control: &mut SendAncillaryBuffer<'_, '_, '_>| {
            sendmsg(&a, &[IoSlice::new(b"x")], control, SendFlags::empty()).unwrap()
        };
        assert_eq!(send(&mut control), 1);
        let mut buf = [0u8; 8];
        let mut got = 0;
        recv_with_fds(&b, &mut [IoSliceMut::new(&mut buf)], |_| got += 1).unwrap();
        assert_eq!(got, MAX_FDS_PER_READ, "none left to the kernel");
        // Queued and never read: the drain takes them all.
        assert_eq!(send(&mut control), 1);
        assert_eq!(send(&mut control), 1);
        b.set_nonblocking(true).unwrap();
        let mut drained = 0;
        assert!(drain_fds(&b, 64, |_| {
            drained += 1;
            true
        }));
        assert_eq!(drained, 2 * MAX_FDS_PER_READ);
        // The peer can queue nothing more.
        assert!(send_with_fd(&a, &[IoSlice::new(b"y")], r.fd()).is_err());
        // Not allowed to read: empty is still empty, and queued is not.
        let (a, b) = UnixStream::pair().unwrap();
        assert!(drain_fds(&b, 0, |_| true));
        let (a2, b2) = UnixStream::pair().unwrap();
        send_with_fd(&a2, &[IoSlice::new(b"z")], r.fd()).unwrap();
        assert!(!drain_fds(&b2, 0, |_| true));
        drop((a, a2));
    }
}
