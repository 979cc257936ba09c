//! Which process the client is willing to talk to.
//!
//! A socket path alone proves nothing: whoever controls a directory on it can move the real
//! socket away and listen at its name, and would then receive every imported key's bytes. So
//! right after `connect`, before a single byte is written, the client reads the listener's
//! credentials from the kernel (`SO_PEERCRED`) and accepts only a daemon running as root, as
//! this process's own effective uid, or as a uid the configuration names explicitly.

use std::io;
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::error::{Error, Result};

/// Environment variable with extra trusted daemon uids, comma-separated (e.g. `"998,999"`).
pub const DAEMON_UIDS_ENV: &str = "WARDEN_DAEMON_UIDS";

/// The set of daemon uids a connection may be served by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DaemonTrust {
    me: u32,
    extra: Vec<u32>,
}

impl DaemonTrust {
    /// Root, this process's effective uid, and `extra`.
    pub(crate) fn new(extra: Vec<u32>) -> Self {
        DaemonTrust {
            me: rustix::process::geteuid().as_raw(),
            extra,
        }
    }

    pub(crate) fn allows(&self, uid: u32) -> bool {
        uid == 0 || uid == self.me || self.extra.contains(&uid)
    }

    /// `Ok` if a daemon running as `uid` may serve this client on `path`.
    pub(crate) fn check(&self, path: &Path, uid: u32) -> Result<()> {
        if self.allows(uid) {
            Ok(())
        } else {
            Err(Error::UntrustedDaemon {
                path: path.to_path_buf(),
                uid,
            })
        }
    }
}

/// The uid of the process that created the listening socket (the kernel records it at
/// `listen`; the peer cannot forge it).
pub(crate) fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    let cred = rustix::net::sockopt::socket_peercred(stream)?;
    Ok(cred.uid.as_raw())
}

/// Parses a comma-separated uid list; blanks around entries and empty entries are ignored.
/// `None` if any entry is not a decimal uid.
pub(crate) fn parse_uid_list(s: &str) -> Option<Vec<u32>> {
    s.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| e.parse::<u32>().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_self_and_listed_uids_only() {
        let t = DaemonTrust {
            me: 1000,
            extra: vec![998],
        };
        assert!(t.allows(0) && t.allows(1000) && t.allows(998));
        assert!(!t.allows(4271) && !t.allows(999));
        match t.check(Path::new("/s"), 4271) {
            Err(Error::UntrustedDaemon { uid: 4271, path }) => assert_eq!(path, Path::new("/s")),
            other => panic!("expected UntrustedDaemon, got {other:?}"),
        }
    }

    #[test]
    fn uid_lists() {
        assert_eq!(parse_uid_list(""), Some(vec![]));
        assert_eq!(parse_uid_list(" 998, 999 ,"), Some(vec![998, 999]));
        assert_eq!(parse_uid_list("998,root"), None);
        assert_eq!(parse_uid_list("-1"), None);
        assert_eq!(parse_uid_list("4294967296"), None);
    }

    #[test]
    fn peer_uid_of_a_socketpair_is_our_own() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), rustix::process::geteuid().as_raw());
    }
}
