//! systemd socket activation: a listening socket passed as fd 3 with `LISTEN_FDS` /
//! `LISTEN_PID` (sd_listen_fds(3)). The unit's `ListenStream=`, `SocketMode=` and
//! `SocketGroup=` then decide where the socket is and who may connect, and the daemon can be
//! started on the first connection. The daemon still refuses a socket every uid could reach
//! (`BoundSocket::inherited`: abstract, others-writable, or under an unsafe directory):
//! systemd's default `SocketMode=` is 0666.
//!
//! Taking ownership of an inherited descriptor needs `unsafe` (`from_raw_fd`); the small
//! `listenfd` crate does that behind a safe API, checks `LISTEN_PID` against this process
//! and that the descriptor is a Unix stream socket, so this crate stays free of unsafe code.

use std::os::unix::net::UnixListener;

use crate::DaemonError;

/// The listening socket the service manager passed, if it passed one to this process.
///
/// More than one socket, or a descriptor that is not a listening Unix stream socket, is a
/// start-up error: serving some other socket by accident would be worse than not starting.
pub(crate) fn inherited_listener() -> Result<Option<UnixListener>, DaemonError> {
    let mut fds = listenfd::ListenFd::from_env();
    match fds.len() {
        0 => return Ok(None),
        1 => {}
        _ => {
            return Err(DaemonError::Setup(
                "socket activation",
                std::io::Error::other("expected exactly one socket in LISTEN_FDS"),
            ));
        }
    }
    let listener = fds
        .take_unix_listener(0)
        .map_err(|e| DaemonError::Setup("socket activation", e))?
        .ok_or_else(|| {
            DaemonError::Setup(
                "socket activation",
                std::io::Error::other("the passed descriptor is not a Unix stream socket"),
            )
        })?;
    Ok(Some(listener))
}
