//! The client's error type: a daemon's stable [`ErrorCode`] or a client-side failure, each
//! mapped to a code so callers can match on [`Error::code`] alone.

use std::fmt;
use std::io;
use std::path::PathBuf;

use warden_core::ErrorCode;
use warden_wire::Version;

/// Everything a client call can fail with.
///
/// [`Error::code`] gives the stable protocol code for every variant: the daemon's status for
/// [`Error::Daemon`], [`ErrorCode::ConnectionFailed`] for transport and protocol failures,
/// [`ErrorCode::OperationTimedOut`] when the client stopped waiting. Nothing in an error carries
/// key material or message bytes.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The daemon answered with a non-zero status.
    Daemon {
        /// The status code the daemon returned.
        code: ErrorCode,
        /// The daemon's static, non-secret explanation, if it sent one.
        detail: Option<String>,
    },
    /// A parameter was rejected before anything was sent (validation in `warden-core`).
    Invalid(warden_core::Error),
    /// Connecting to the daemon's socket failed.
    Connect {
        /// The socket path that was tried.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The process listening on the socket runs as a uid this client does not trust (not
    /// root, not this process's uid, not configured with
    /// [`crate::StackConfig::trusted_daemon_uid`] or `WARDEN_DAEMON_UIDS`). Nothing was sent.
    UntrustedDaemon {
        /// The socket path that was tried.
        path: PathBuf,
        /// The listener's uid, as the kernel reports it.
        uid: u32,
    },
    /// The daemon refused every protocol version this client speaks.
    VersionRefused {
        /// The daemon's newest version (it also serves the previous minor).
        daemon: Version,
    },
    /// The connection broke (daemon gone, reset, write failure); the stack must reconnect.
    ConnectionLost(Option<io::Error>),
    /// The daemon sent bytes that are not a valid answer; the connection is unusable.
    Protocol(&'static str),
    /// The client stopped waiting: no answer within the deadline plus the grace period.
    TimedOut,
}

impl Error {
    /// The stable protocol error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Daemon { code, .. } => *code,
            Error::Invalid(e) => e.code(),
            Error::Connect { .. }
            | Error::UntrustedDaemon { .. }
            | Error::VersionRefused { .. }
            | Error::ConnectionLost(_)
            | Error::Protocol(_) => ErrorCode::ConnectionFailed,
            Error::TimedOut => ErrorCode::OperationTimedOut,
        }
    }

    /// An error carrying only a daemon status code.
    #[cfg(test)]
    pub(crate) fn daemon(code: ErrorCode) -> Self {
        Error::Daemon { code, detail: None }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Daemon {
                code,
                detail: Some(d),
            } => write!(f, "daemon returned {code}: {d}"),
            Error::Daemon { code, detail: None } => write!(f, "daemon returned {code}"),
            Error::Invalid(e) => write!(f, "invalid parameter: {e}"),
            Error::Connect { path, source } => {
                write!(
                    f,
                    "cannot connect to wardend at {}: {source}",
                    path.display()
                )
            }
            Error::UntrustedDaemon { path, uid } => write!(
                f,
                "refusing the daemon at {}: it runs as uid {uid}, which is neither root, this \
                 process's uid, nor a trusted daemon uid; nothing was sent",
                path.display()
            ),
            Error::VersionRefused { daemon } => write!(
                f,
                "wardend {daemon} refused this client's protocol versions ({}..={})",
                crate::protocol::MIN_VERSION,
                crate::protocol::MAX_VERSION
            ),
            Error::ConnectionLost(Some(e)) => write!(f, "connection to wardend lost: {e}"),
            Error::ConnectionLost(None) => f.write_str("connection to wardend lost"),
            Error::Protocol(what) => write!(f, "protocol violation by wardend: {what}"),
            Error::TimedOut => f.write_str("no answer from wardend before the deadline"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { source, .. } => Some(source),
            Error::ConnectionLost(Some(e)) => Some(e),
            Error::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

impl From<warden_core::Error> for Error {
    fn from(e: warden_core::Error) -> Self {
        Error::Invalid(e)
    }
}

/// Result alias of the client.
pub type Result<T> = std::result::Result<T, Error>;

/// The daemon answered with a body of the wrong shape for the request.
pub(crate) fn unexpected() -> Error {
    Error::Protocol("response body does not match the request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_a_stable_code() {
        assert_eq!(
            Error::daemon(ErrorCode::KeyOperationNotPermitted).code(),
            ErrorCode::KeyOperationNotPermitted
        );
        assert_eq!(
            Error::Invalid(warden_core::Error::invalid_argument("x")).code(),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            Error::ConnectionLost(None).code(),
            ErrorCode::ConnectionFailed
        );
        assert_eq!(Error::Protocol("x").code(), ErrorCode::ConnectionFailed);
        assert_eq!(Error::TimedOut.code(), ErrorCode::OperationTimedOut);
        let e = Error::Connect {
            path: "/nope".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(e.code(), ErrorCode::ConnectionFailed);
        assert!(e.to_string().contains("/nope"));
        let e = Error::UntrustedDaemon {
            path: "/tmp/x.sock".into(),
            uid: 4271,
        };
        assert_eq!(e.code(), ErrorCode::ConnectionFailed);
        let text = e.to_string();
        assert!(
            text.contains("/tmp/x.sock") && text.contains("uid 4271"),
            "{text}"
        );
    }

    #[test]
    fn display_is_lowercase_and_names_the_code() {
        let e = Error::daemon(ErrorCode::ResourceNotFound);
        assert_eq!(e.to_string(), "daemon returned ResourceNotFound");
    }
}
