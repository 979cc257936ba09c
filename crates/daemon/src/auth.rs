//! The authenticator: who is on the other end of a connection. It runs at accept time, in
//! the event loop, before a connection reaches a worker: the identity is the kernel's record
//! of the peer (SO_PEERCRED), taken once and never from the client, and the optional uid/gid
//! allow-list refuses a peer before it can send a request. Everything downstream keys on
//! `uid`: slot namespaces and ACLs, admin rights, per-uid quotas and counters, audit lines.

use std::os::fd::AsFd;

use crate::config::AccessConfig;

/// Peer credentials of a connection, as reported by the kernel at connect time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Effective user id of the peer.
    pub uid: u32,
    /// Effective group id of the peer.
    pub gid: u32,
    /// Process id of the peer at connect time (informational: pids are reused).
    pub pid: i32,
}

/// Reads the peer credentials of a connected Unix socket.
pub(crate) fn peer_identity(sock: impl AsFd) -> std::io::Result<PeerIdentity> {
    let cred = rustix::net::sockopt::socket_peercred(sock)?;
    Ok(PeerIdentity {
        uid: cred.uid.as_raw(),
        gid: cred.gid.as_raw(),
        pid: cred.pid.as_raw_nonzero().get(),
    })
}

/// Admission policy from the `[access]` config section.
#[derive(Debug, Clone)]
pub(crate) struct Authenticator {
    allowed_uids: Vec<u32>,
    allowed_gids: Vec<u32>,
}

impl Authenticator {
    pub(crate) fn new(cfg: &AccessConfig) -> Self {
        Self {
            allowed_uids: cfg.allowed_uids.clone(),
            allowed_gids: cfg.allowed_gids.clone(),
        }
    }

    /// True if the peer may use the daemon at all (empty lists = socket permissions decide).
    pub(crate) fn admits(&self, peer: &PeerIdentity) -> bool {
        if self.allowed_uids.is_empty() && self.allowed_gids.is_empty() {
            return true;
        }
        self.allowed_uids.contains(&peer.uid) || self.allowed_gids.contains(&peer.gid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn reads_own_credentials() {
        let (a, _b) = UnixStream::pair().unwrap();
        let id = peer_identity(&a).unwrap();
        assert_eq!(id.uid, rustix::process::geteuid().as_raw());
        assert_eq!(id.gid, rustix::process::getegid().as_raw());
        assert_eq!(id.pid, std::process::id() as i32);
    }

    #[test]
    fn allow_lists() {
        let peer = PeerIdentity {
            uid: 1000,
            gid: 100,
            pid: 1,
        };
        assert!(Authenticator::new(&AccessConfig::default()).admits(&peer));
        let only_uid = AccessConfig {
            allowed_uids: vec![1000],
            allowed_gids: vec![],
            ..AccessConfig::default()
        };
        assert!(Authenticator::new(&only_uid).admits(&peer));
        let other = AccessConfig {
            allowed_uids: vec![0],
            allowed_gids: vec![5],
            ..AccessConfig::default()
        };
        assert!(!Authenticator::new(&other).admits(&peer));
        let by_gid = AccessConfig {
            allowed_uids: vec![0],
            allowed_gids: vec![100],
            ..AccessConfig::default()
        };
        assert!(Authenticator::new(&by_gid).admits(&peer));
    }
}
