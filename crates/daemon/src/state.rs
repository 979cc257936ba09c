//! The daemon's persistent state: the key-slot store, the permit service over it, and the
//! audit log, opened together from the data directory.
//!
//! The real daemon opens it at start-up so a bad data directory stops `wardend` at once
//! ([`crate::Daemon::open_store_at_start`]). In-process daemons (tests, benches, fuzzers)
//! open it lazily, on the first slot or permit request, and only if their config names a
//! data directory explicitly (`storage.data_dir`): an embedded daemon must never fall back
//! to the system's default directory behind its user's back. Without one, or if the open
//! fails, slot and permit requests answer `PersistFailed` (a failed open is retried by the
//! next request).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use warden_core::{Error, ErrorCode};
use warden_permits::{PermitConfig, PermitService, SigAlg};
use warden_store::{
    AuditEvent, AuditLog, AuditOutcome, Caller, FileMasterKey, SlotQuotas, SlotStore, StoreError,
    StoreOptions,
};

use crate::DaemonError;

/// `eprintln!` that never panics: stderr may be a closed pipe (e.g. `wardend | head`), and a
/// panic in the SIGHUP thread or on a request path must not follow from that.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
use crate::auth::PeerIdentity;
use crate::config::{AUDIT_STDERR, Config, user_data_dir};

/// Store, permit service and audit log of one daemon.
pub(crate) struct Persistent {
    pub(crate) store: Arc<SlotStore>,
    pub(crate) permits: PermitService,
    pub(crate) audit: AuditLog,
    /// Per-uid bound on permit verifications (each appends a shared receipt).
    pub(crate) verify_rate: crate::rate::UidRateLimiter,
    /// Per-uid bound on a non-admin's lines in the audit log.
    line_rate: crate::rate::UidRateLimiter,
    admins: Vec<u32>,
}

impl Persistent {
    /// Opens everything under `config`'s data directory (initialised on first start).
    ///
    /// If the directory came from the built-in system default (no flag, config key or
    /// environment variable) and cannot be used — e.g. `/var/lib` is read-only — the per-user
    /// directory is used instead, and stderr says so.
    pub(crate) fn open(config: &Config) -> Result<Self, DaemonError> {
        let mut dir = config.data_dir();
        let options = StoreOptions {
            quotas: SlotQuotas {
                max_slots_per_owner: config.limits.max_slots_per_uid,
                max_grants_per_owner: config.limits.max_grants_per_uid,
            },
            ..StoreOptions::default()
        };
        let opened = match SlotStore::open_with(&dir, &FileMasterKey::in_dir(&dir), options) {
            // Only "cannot create / not a directory / I/O": never on integrity, key or
            // permission-safety errors, which must stop start-up.
            Err(e @ (StoreError::Io { .. } | StoreError::InvalidArgument(_)))
                if !config.data_dir_is_explicit() && dir != user_data_dir() =>
            {
                let fallback = user_data_dir();
                say!(
                    "wardend: default data directory {} unusable ({e}); falling back to {}",
                    dir.display(),
                    fallback.display()
                );
                dir = fallback;
                SlotStore::open_with(&dir, &FileMasterKey::in_dir(&dir), options)
            }
            other => other,
        };
        let store = opened.map_err(|e| DaemonError::Storage(format!("{}: {e}", dir.display())))?;
        say!("wardend: data directory {}", dir.display());
        let store = Arc::new(store);
        let alg = SigAlg::from_name(&config.permits.attestation_alg).ok_or(DaemonError::Config(
            crate::config::ConfigError::Invalid("unknown permits.attestation_alg"),
        ))?;
        let mut pcfg = PermitConfig::new(config.permits.effective_audience());
        pcfg.attestation_alg = alg;
        pcfg.sandbox = config.permits.sandbox.limits();
        pcfg.replay_prune_interval_secs = i64::from(config.permits.replay_prune_interval_s);
        pcfg.receipt_retention = config.permits.receipt_retention;
        let permits = PermitService::open(store.clone(), pcfg)
            .map_err(|e| DaemonError::Storage(format!("permit service: {e}")))?;
        let audit = if config.audit.log == AUDIT_STDERR {
            AuditLog::to_stderr(config.audit.log_uses)
        } else {
            let path = audit_path(&dir, Path::new(&config.audit.log));
            // Another uid able to create or change the file would read every audit line (uids,
            // slot names) and could truncate or forge the log; O_NOFOLLOW alone only stops a
            // symlink in its place.
            crate::trusted_file::check_trusted_file(&path, "audit log")?;
            AuditLog::to_file(&path, config.audit.log_uses)
                .map_err(|e| DaemonError::Storage(format!("{}: {e}", path.display())))?
        };
        Ok(Self {
            store,
            permits,
            audit,
            verify_rate: crate::rate::UidRateLimiter::new(
                config.permits.verify_per_second_per_uid,
                config.permits.verify_burst_per_uid,
            ),
            line_rate: crate::rate::UidRateLimiter::new(
                config.audit.lines_per_second_per_uid,
                config.audit.line_burst_per_uid,
            ),
            admins: config.access.admin_uids.clone(),
        })
    }

    /// The store's view of a peer: its uid and whether that uid is a configured admin.
    pub(crate) fn caller(&self, peer: &PeerIdentity) -> Caller {
        Caller {
            uid: peer.uid,
            is_admin: self.admins.contains(&peer.uid),
        }
    }

    /// Writes one audit line. A failing audit write is reported on stderr but does not
    /// undo the action it describes (the action is already durable).
    pub(crate) fn audit(
        &self,
        peer: &PeerIdentity,
        operation: &'static str,
        slot: Option<&str>,
        algorithm: Option<warden_core::Algorithm>,
        result: Result<(), ErrorCode>,
    ) {
        let event = event(peer, operation, slot, algorithm, result);
        self.write(peer, &event);
    }

    /// Writes `event` if `peer`'s line rate allows it. A failing audit write is reported on
    /// stderr but does not undo the action it describes.
    fn write(&self, peer: &PeerIdentity, event: &AuditEvent<'_>) {
        if self.line_within_rate(peer)
            && let Err(e) = self.audit.record(event)
        {
            say!("wardend: audit log write failed: {e}");
        }
    }

    /// Whether a line for `peer` may be written: always for admins; a non-admin's lines (successes and
    /// denials) within `audit.lines_per_second_per_uid`. Past the rate, at most one
    /// `audit.rate_limited` line per second says lines were left out.
    fn line_within_rate(&self, peer: &PeerIdentity) -> bool {
        if self.admins.contains(&peer.uid) {
            return true;
        }
        match self.line_rate.take(peer.uid, std::time::Instant::now()) {
            crate::rate::Verdict::Allowed => true,
            crate::rate::Verdict::Refused { first } => {
                if first {
                    let marker = crate::state::event(
                        peer,
                        "audit.rate_limited",
                        None,
                        None,
                        Err(ErrorCode::QuotaExceeded),
                    );
                    if let Err(e) = self.audit.record(&marker) {
                        say!("wardend: audit log write failed: {e}");
                    }
                }
                false
            }
        }
    }

    /// Records a permit decision (`permit.verify`) with its deny reason and, if a policy cycle
    /// failed, how.
    pub(crate) fn audit_permit(
        &self,
        peer: &PeerIdentity,
        result: Result<(), ErrorCode>,
        detail: Option<&'static str>,
        policy_error: Option<&'static str>,
    ) {
        let event = AuditEvent {
            detail,
            policy_error,
            ..event(peer, "permit.verify", None, None, result)
        };
        self.write(peer, &event);
    }

    /// Logs a key use: denials always, allowed uses only with `audit.log_uses`.
    pub(crate) fn audit_use(
        &self,
        peer: &PeerIdentity,
        operation: &'static str,
        slot: &str,
        algorithm: Option<warden_core::Algorithm>,
        result: Result<(), ErrorCode>,
    ) {
        let event = event(peer, operation, Some(slot), algorithm, result);
        // Only a line that will be written spends a token: unlogged allowed uses are free.
        if result.is_err() || self.audit.logs_uses() {
            self.write(peer, &event);
        }
    }
}

fn event<'a>(
    peer: &PeerIdentity,
    operation: &'static str,
    slot: Option<&'a str>,
    algorithm: Option<warden_core::Algorithm>,
    result: Result<(), ErrorCode>,
) -> AuditEvent<'a> {
    AuditEvent {
        uid: peer.uid,
        pid: u32::try_from(peer.pid).ok(),
        operation,
        slot,
        algorithm,
        outcome: match result {
            Ok(()) => AuditOutcome::Success,
            Err(code) => AuditOutcome::Error(code),
        },
        detail: None,
        policy_error: None,
    }
}

/// A relative audit path lives in the data directory.
fn audit_path(data_dir: &Path, log: &Path) -> PathBuf {
    if log.is_absolute() {
        log.to_owned()
    } else {
        data_dir.join(log)
    }
}

/// Opened once, on first use or at start-up.
pub(crate) struct PersistentCell {
    config: Config,
    cell: OnceLock<Arc<Persistent>>,
    opening: Mutex<()>,
}

impl PersistentCell {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            config,
            cell: OnceLock::new(),
            opening: Mutex::new(()),
        }
    }

    /// The state if it was opened already (for SIGHUP).
    pub(crate) fn opened(&self) -> Option<&Arc<Persistent>> {
        self.cell.get()
    }

    /// Opens now; the error says why (start-up path).
    pub(crate) fn open_now(&self) -> Result<&Arc<Persistent>, DaemonError> {
        if let Some(p) = self.cell.get() {
            return Ok(p);
        }
        let _guard = self.opening.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = self.cell.get() {
            return Ok(p);
        }
        let p = Arc::new(Persistent::open(&self.config)?);
        Ok(self.cell.get_or_init(|| p))
    }

    /// The state for a request; `PersistFailed` if it cannot be opened.
    pub(crate) fn get(&self) -> Result<&Arc<Persistent>, Error> {
        if let Some(p) = self.cell.get() {
            return Ok(p);
        }
        if self.config.storage.data_dir.is_none() {
            return Err(Error::new(
                ErrorCode::PersistFailed,
                "no data directory configured for this in-process daemon",
            ));
        }
        self.open_now().map_err(|e| {
            say!("wardend: persistent state unavailable: {e}");
            Error::new(ErrorCode::PersistFailed, "persistent state unavailable")
        })
    }
}
