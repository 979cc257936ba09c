//! The process-wide registry of daemon connections (seed decision 3): every `CryptoStack` for
//! the same socket path in one process shares one connection.
//!
//! The registry holds only `Weak` references, so the connection closes when the last stack,
//! guard or context using it is dropped (the seed's "reference-counted" lifetime strategy), and
//! the daemon then frees everything the process held. A broken connection is replaced on the
//! next `connect`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::connection::Connection;
use crate::error::Result;
use crate::trust::DaemonTrust;

static REGISTRY: Mutex<Vec<(PathBuf, Weak<Connection>)>> = Mutex::new(Vec::new());

/// The live shared connection for `path`, or a new one.
///
/// A live connection is only handed out if `trust` also allows its daemon: a stack that
/// trusts fewer uids must not inherit a connection another stack's wider trust accepted.
pub(crate) fn shared(path: &Path, bound: Duration, trust: &DaemonTrust) -> Result<Arc<Connection>> {
    // Two spellings of one socket (relative path, symlink) must still share a connection.
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    // Nothing panics while the lock is held except allocation failure; the Vec stays valid.
    let mut reg = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    reg.retain(|(_, w)| w.strong_count() > 0);
    if let Some(conn) = reg
        .iter()
        .find(|(p, _)| *p == key)
        .and_then(|(_, w)| w.upgrade())
        .filter(|c| !c.is_broken())
    {
        trust.check(conn.path(), conn.peer_uid())?;
        return Ok(conn);
    }
    // Connect while holding the lock so that concurrent first connects do not race into two
    // connections; the connect itself is bounded by `bound`.
    let conn = Arc::new(Connection::open(path, bound, trust)?);
    reg.retain(|(p, _)| *p != key);
    reg.push((key, Arc::downgrade(&conn)));
    Ok(conn)
}

/// A private connection that is not shared (benchmarks, tests of multi-client behaviour).
pub(crate) fn dedicated(
    path: &Path,
    bound: Duration,
    trust: &DaemonTrust,
) -> Result<Arc<Connection>> {
    Ok(Arc::new(Connection::open(path, bound, trust)?))
}
