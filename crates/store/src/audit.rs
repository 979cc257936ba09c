//! The audit log: one JSON object per line, to a file (append-only) or to stderr.
//!
//! The event type has no byte-slice fields at all, so key material cannot be logged by
//! mistake: the only free-form field is the slot name, which is escaped and capped at 64 bytes.
//! Rotation: move the file away, then call [`AuditLog::reopen`] (the daemon does on SIGHUP).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use warden_core::{Algorithm, ErrorCode};

use crate::error::StoreError;
use crate::store::now_unix_ms;
use crate::validate::MAX_SLOT_NAME_LEN;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Allowed and completed.
    Success,
    /// Refused or failed with this code (a denial is `AccessDenied` / `KeyOperationNotPermitted`).
    Error(ErrorCode),
}

impl AuditOutcome {
    fn name_and_number(self) -> (&'static str, u32) {
        match self {
            Self::Success => ("Success", 0),
            Self::Error(code) => (code.name(), code.as_u32()),
        }
    }
}

/// One audited action. No field can carry key bytes.
#[derive(Debug, Clone, Copy)]
pub struct AuditEvent<'a> {
    /// Peer uid.
    pub uid: u32,
    /// Peer pid, if known.
    pub pid: Option<u32>,
    /// Operation, a fixed name such as `key.generate`, `key.delete`, `key.grant`, `sign`.
    pub operation: &'static str,
    /// Slot name, if the action concerns a slot (capped at 64 bytes in the log).
    pub slot: Option<&'a str>,
    /// Key algorithm, if known.
    pub algorithm: Option<Algorithm>,
    /// Result.
    pub outcome: AuditOutcome,
    /// Why, in a fixed vocabulary (e.g. a permit's deny reason `expired`); static text only,
    /// so it cannot carry data from a request.
    pub detail: Option<&'static str>,
    /// How a policy cycle failed, if one ran and failed (e.g. `fuel-exhausted`).
    pub policy_error: Option<&'static str>,
}

#[derive(Serialize)]
struct Line<'a> {
    time: String,
    ts_ms: u64,
    uid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    op: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    slot: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alg: Option<&'static str>,
    result: &'static str,
    code: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_error: Option<&'static str>,
}

enum Sink {
    File { path: PathBuf, file: File },
    Stderr,
}

/// The audit log writer. `Send + Sync`; lines from concurrent callers never interleave.
pub struct AuditLog {
    sink: Mutex<Sink>,
    log_uses: bool,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("log_uses", &self.log_uses)
            .finish_non_exhaustive()
    }
}

fn open_append(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(StoreError::io("opening audit log"))
}

/// Longest prefix of `s` that is at most `max` bytes and ends on a char boundary.
fn cap(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// Formats Unix milliseconds as RFC 3339 UTC, e.g. `2023-11-14T22:13:20.000Z`.
pub fn rfc3339_utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let ms = unix_ms % 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Days to civil date (H. Hinnant's algorithm), for dates from 1970 on.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

impl AuditLog {
    /// Appends to `path` (created with mode 0600 if missing). `log_uses` enables logging of
    /// allowed key uses (see [`Self::record_use`]).
    pub fn to_file(path: impl Into<PathBuf>, log_uses: bool) -> Result<Self, StoreError> {
        let path = path.into();
        let file = open_append(&path)?;
        Ok(Self {
            sink: Mutex::new(Sink::File { path, file }),
            log_uses,
        })
    }

    /// Writes to stderr.
    pub fn to_stderr(log_uses: bool) -> Self {
        Self {
            sink: Mutex::new(Sink::Stderr),
            log_uses,
        }
    }

    /// Whether allowed key uses are logged.
    pub fn logs_uses(&self) -> bool {
        self.log_uses
    }

    /// Records a key-management action or a denial. Always written.
    pub fn record(&self, event: &AuditEvent<'_>) -> Result<(), StoreError> {
        self.write_event(event, now_unix_ms())
    }

    /// Records a key use: denials (and failures) always, successes only if per-use logging
    /// is on. Returns whether a line was written.
    pub fn record_use(&self, event: &AuditEvent<'_>) -> Result<bool, StoreError> {
        if event.outcome == AuditOutcome::Success && !self.log_uses {
            return Ok(false);
        }
        self.record(event)?;
        Ok(true)
    }

    /// Reopens the file by path (after rotation). No-op for stderr.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        if let Sink::File { path, file } = &mut *sink {
            *file = open_append(path)?;
        }
        Ok(())
    }

    fn write_event(&self, event: &AuditEvent<'_>, unix_ms: u64) -> Result<(), StoreError> {
        let (result, code) = event.outcome.name_and_number();
        let line = Line {
            time: rfc3339_utc(unix_ms),
            ts_ms: unix_ms,
            uid: event.uid,
            pid: event.pid,
            op: event.operation,
            slot: event.slot.map(|s| cap(s, MAX_SLOT_NAME_LEN)),
            alg: event.algorithm.map(Algorithm::name),
            result,
            code,
            detail: event.detail,
            policy_error: event.policy_error,
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| StoreError::Io {
            context: "encoding audit record",
            source: e.into(),
        })?;
        bytes.push(b'\n');
        // One write per line: with O_APPEND the kernel places it atomically at the end.
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *sink {
            Sink::File { file, .. } => file
                .write_all(&bytes)
                .map_err(StoreError::io("writing audit log")),
            Sink::Stderr => std::io::stderr()
                .lock()
                .write_all(&bytes)
                .map_err(StoreError::io("writing audit log")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_utc(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339_utc(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
    }

    #[test]
    fn cap_respects_char_boundaries() {
        assert_eq!(cap("abc", 2), "ab");
        assert_eq!(cap("aé", 2), "a");
        assert_eq!(cap("", 5), "");
    }
}
