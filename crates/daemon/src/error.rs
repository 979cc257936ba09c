//! The daemon's start-up and runtime errors (request errors are protocol `ErrorCode`s).

use std::fmt;
use std::path::PathBuf;

use crate::config::ConfigError;

/// Why the daemon could not start or stopped abnormally.
#[derive(Debug)]
#[non_exhaustive]
pub enum DaemonError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// An I/O operation on a path failed.
    Io {
        /// What was being done.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another daemon is already serving this socket.
    AlreadyRunning(PathBuf),
    /// A path is not safe to use (wrong owner, wrong type, too permissive).
    Unsafe(&'static str, PathBuf),
    /// A file the daemon runs on (its configuration, a PKCS#11 module it loads) could be
    /// written or replaced by someone other than root or the daemon's uid.
    UntrustedFile {
        /// What the file is for (`configuration file`, `pkcs#11 module`).
        what: &'static str,
        /// The file.
        file: PathBuf,
        /// The offending component: the file, a directory above it, or a symlink.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Its permission bits.
        mode: u32,
        /// Why it is refused.
        why: &'static str,
    },
    /// A directory on the socket's path is controlled by someone else: its owner or anyone
    /// who may write to it could move the socket away and serve a fake daemon.
    UnsafeSocketDir {
        /// The offending directory (or symlink).
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// Its permission bits.
        mode: u32,
        /// Why it is refused.
        why: &'static str,
    },
    /// An OS resource (poller, thread, arena) could not be set up.
    Setup(&'static str, std::io::Error),
    /// The session arena pool could not be claimed.
    Arena(String),
    /// The crypto provider could not be created.
    Provider(warden_core::Error),
    /// The persistent state (key store, permit service, audit log) could not be opened.
    Storage(String),
}

impl DaemonError {
    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.to_owned(),
            source,
        }
    }
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{e}"),
            Self::Io { op, path, source } => write!(f, "cannot {op} {}: {source}", path.display()),
            Self::AlreadyRunning(p) => {
                write!(f, "another daemon is already listening on {}", p.display())
            }
            Self::Unsafe(why, p) => write!(f, "refusing {}: {why}", p.display()),
            Self::UntrustedFile {
                what,
                file,
                path,
                owner,
                mode,
                why,
            } => write!(
                f,
                "refusing {what} {}: {} (owner uid {owner}, mode {mode:04o}) is {why}",
                file.display(),
                path.display()
            ),
            Self::UnsafeSocketDir {
                path,
                owner,
                mode,
                why,
            } => write!(
                f,
                "refusing socket directory {} (owner uid {owner}, mode {mode:04o}): {why}",
                path.display()
            ),
            Self::Setup(what, e) => write!(f, "cannot set up {what}: {e}"),
            Self::Arena(e) => write!(f, "cannot claim session arenas: {e}"),
            Self::Provider(e) => write!(f, "cannot start crypto provider: {e}"),
            Self::Storage(e) => write!(f, "cannot open persistent state: {e}"),
        }
    }
}

impl std::error::Error for DaemonError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Io { source, .. } | Self::Setup(_, source) => Some(source),
            Self::Provider(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConfigError> for DaemonError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
