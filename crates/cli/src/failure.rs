//! Why a command failed, and the exit code each reason maps to.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use warden_core::ErrorCode;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// A signature or MAC did not verify, or decryption failed authentication (exit 1).
    VerifyFailed,
    /// A permit was denied (exit 1); the report (with the receipt) is still printed.
    Denied(crate::report::Report),
    /// The command line or its inputs make no sense (exit 2).
    Usage(String),
    /// The daemon answered with an error code, or could not be reached (exit 3).
    Daemon(ErrorCode, String),
    /// Reading or writing a local file failed (exit 4).
    Io(String),
    /// A bug in this program (exit 4).
    Internal(&'static str),
}

impl Failure {
    /// An I/O error on `path`.
    pub fn io(path: &Path, e: std::io::Error) -> Failure {
        Failure::Io(format!("{}: {e}", path.display()))
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit_code_value())
    }

    /// The exit code as a number (also reported in `--json` error objects).
    pub fn exit_code_value(&self) -> u8 {
        match self {
            Failure::VerifyFailed | Failure::Denied(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Daemon(..) => 3,
            Failure::Io(_) | Failure::Internal(_) => 4,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::VerifyFailed => f.write_str("verification failed"),
            Failure::Denied(_) => f.write_str("permit denied"),
            Failure::Usage(m) => write!(f, "usage: {m}"),
            Failure::Daemon(code, msg) => {
                write!(f, "{msg} [{code} 0x{:08X}]", code.as_u32())
            }
            Failure::Io(m) => write!(f, "i/o error: {m}"),
            Failure::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl Failure {
    /// A client error: the daemon's code, a connection problem (also exit 3, with the client's
    /// code such as `ConnectionFailed`), or a parameter rejected before sending (usage).
    ///
    /// The daemon's code is shown once, by `Display` (`... [AccessDenied 0x010B0001]`), so the
    /// message here is the detail or a plain description, never the code's name again.
    pub fn from_client(e: warden_client::Error) -> Failure {
        match e {
            warden_client::Error::Invalid(inner) => Failure::from(inner),
            warden_client::Error::Daemon { code, detail } => {
                let msg = detail
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| describe(code).to_owned());
                Failure::Daemon(code, msg)
            }
            // Say how to proceed if the daemon is legitimately run by a service account.
            e @ warden_client::Error::UntrustedDaemon { uid, .. } => Failure::Daemon(
                e.code(),
                format!("{e} (pass --daemon-uid {uid} if that daemon is genuine)"),
            ),
            other => Failure::Daemon(other.code(), other.to_string()),
        }
    }

    /// The daemon's error code, if this is a daemon error.
    pub fn daemon_code(&self) -> Option<ErrorCode> {
        match self {
            Failure::Daemon(code, _) => Some(*code),
            _ => None,
        }
    }
}

/// A plain-words description of a code the daemon sent without a detail.
fn describe(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::AccessDenied => "access denied",
        ErrorCode::KeyOperationNotPermitted => {
            "your permissions on this key do not include this operation"
        }
        ErrorCode::KeySlotEmpty => "no such slot",
        ErrorCode::KeySlotOccupied => {
            "that slot already holds a key (choose another name or `warden key delete` it)"
        }
        ErrorCode::KeyNotExportable => {
            "the key is not exportable (it must be created with --exportable and the export \
             permission)"
        }
        ErrorCode::IncompatibleKeyType => "the key's type does not fit this operation",
        ErrorCode::UnsupportedAlgorithm => "the daemon does not support this algorithm here",
        ErrorCode::UnsupportedOperation => "the daemon does not support this operation",
        ErrorCode::QuotaExceeded => "a daemon quota is exhausted",
        ErrorCode::ResourceNotFound => "not found",
        ErrorCode::InvalidArgument => "the daemon rejected an argument",
        ErrorCode::InvalidFormat => "the input is not in a format the daemon accepts",
        ErrorCode::OperationFailed => "the operation failed",
        ErrorCode::OperationTimedOut => "the daemon did not finish before the deadline",
        ErrorCode::ProviderBusy => "the daemon is at its connection limit; retry later",
        _ => "the daemon refused the request",
    }
}

impl From<warden_core::Error> for Failure {
    fn from(e: warden_core::Error) -> Failure {
        let msg = if e.detail().is_empty() {
            e.to_string()
        } else {
            e.detail().to_owned()
        };
        match e.code() {
            // Argument errors raised locally (by parameter builders) are usage errors.
            ErrorCode::InvalidArgument
            | ErrorCode::ParamTruncated
            | ErrorCode::UnsupportedAlgorithm => Failure::Usage(msg),
            code => Failure::Daemon(code, msg),
        }
    }
}
