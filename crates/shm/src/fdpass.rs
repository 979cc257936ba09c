//! Descriptor passing (`SCM_RIGHTS`) over a Unix stream socket.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, recvmsg, sendmsg,
};

/// Descriptors accepted per read; any more in one message are closed by the kernel
/// (`MSG_CTRUNC`), so a client cannot fill the daemon's descriptor table this way.
pub const MAX_FDS_PER_READ: usize = 2;

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
}
