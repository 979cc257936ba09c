//! Client configuration: where the daemon listens and how long calls may take.

use std::path::{Path, PathBuf};
use std::time::Duration;

use warden_core::Timeout;
use warden_core::limits::DEFAULT_TIMEOUT_MS;

use crate::error::{Error, Result};
use crate::trust::{DAEMON_UIDS_ENV, DaemonTrust, parse_uid_list};

/// Environment variable naming the daemon's socket, and the socket root's daemon uses
/// (one definition with `wardend`'s, in `warden_core::paths`).
pub use warden_core::paths::{SOCKET_ENV, SYSTEM_SOCKET_PATH};

/// How long the client waits past an operation's deadline for the daemon's own
/// `OperationTimedOut` answer before it gives up itself (the daemon enforces the deadline; this
/// grace only covers scheduling and transport latency).
pub const DEFAULT_CLIENT_GRACE: Duration = Duration::from_millis(1000);

/// How long connecting plus the version handshake may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest [`StackConfig::busy_poll`] window: beyond a millisecond, blocking costs
/// nothing noticeable and spinning would only burn CPU.
pub const MAX_BUSY_POLL: Duration = Duration::from_millis(1);

/// The daemon's default socket path, resolved exactly as `wardend` does it:
/// `/run/warden/wardend.sock` for root; otherwise `$XDG_RUNTIME_DIR/warden.sock`, else
/// `/tmp/warden-<uid>/wardend.sock`.
pub fn default_socket_path() -> PathBuf {
    warden_core::paths::default_socket_path(
        rustix::process::geteuid().as_raw(),
        std::env::var_os("XDG_RUNTIME_DIR").as_deref(),
    )
}

/// Configuration of a [`crate::CryptoStack`].
///
/// ```
/// use std::time::Duration;
/// use warden_client::StackConfig;
/// let cfg = StackConfig::new()
///     .socket_path("/tmp/warden-test.sock")
///     .default_timeout_ms(250)
///     .client_grace(Duration::from_millis(100));
/// assert_eq!(cfg.resolved_socket_path(), std::path::Path::new("/tmp/warden-test.sock"));
/// assert_eq!(cfg.default_timeout_value(), Some(250));
/// ```
#[derive(Debug, Clone)]
pub struct StackConfig {
    socket_path: Option<PathBuf>,
    default_timeout: Timeout,
    client_grace: Duration,
    connect_timeout: Duration,
    dedicated: bool,
    trusted_daemon_uids: Vec<u32>,
    busy_poll: Duration,
}

impl Default for StackConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl StackConfig {
    /// Defaults: socket from `WARDEN_SOCKET` or the daemon's default path, 5000 ms per operation.
    pub fn new() -> Self {
        StackConfig {
            socket_path: None,
            default_timeout: Timeout::Default,
            client_grace: DEFAULT_CLIENT_GRACE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            dedicated: false,
            trusted_daemon_uids: Vec::new(),
            busy_poll: Duration::ZERO,
        }
    }

    /// Connects to this socket instead of `WARDEN_SOCKET` / the default.
    pub fn socket_path(mut self, path: impl AsRef<Path>) -> Self {
        self.socket_path = Some(path.as_ref().to_path_buf());
        self
    }

    /// The stack-wide default operation timeout (contexts may override it).
    /// `Timeout::Default` means the design default of 5000 ms.
    pub fn default_timeout(mut self, timeout: Timeout) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// Shorthand for `default_timeout(Timeout::Millis(ms))`; 0 disables the timeout.
    pub fn default_timeout_ms(self, ms: u32) -> Self {
        if ms == 0 {
            self.default_timeout(Timeout::Disabled)
        } else {
            self.default_timeout(Timeout::Millis(ms))
        }
    }

    /// Disables the stack-wide timeout: operations may block as long as the daemon needs.
    pub fn disable_timeout(self) -> Self {
        self.default_timeout(Timeout::Disabled)
    }

    /// How long the client waits past a deadline for the daemon's answer before giving up.
    pub fn client_grace(mut self, grace: Duration) -> Self {
        self.client_grace = grace;
        self
    }

    /// Bound on connecting plus the version handshake.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Polls for each answer without sleeping for up to `window` (capped at 1 ms) before
    /// blocking. Default: zero, block at once.
    ///
    /// While it polls, the calling thread keeps its CPU (yielding it to any other runnable
    /// thread between two looks), as an in-process call would while the daemon computes; in
    /// exchange an answer that arrives within the window
    /// costs no wake-up of the thread. That wake-up is cheap on bare metal but tens of
    /// microseconds on a VM whose idle vCPUs halt, where it is most of the overhead of a
    /// 1 MiB data-plane operation (BENCHMARKS.md, "Data plane"). Worth it for bulk work
    /// (back-to-back region operations); pair it with the daemon's `limits.busy_poll_us`.
    pub fn busy_poll(mut self, window: Duration) -> Self {
        self.busy_poll = window.min(MAX_BUSY_POLL);
        self
    }

    /// Opens a private connection instead of joining the process's shared one.
    ///
    /// By default every stack in a process shares one connection (seed decision 3). A
    /// dedicated connection has its own id namespace and its own request queue: benchmarks and
    /// tests use it to act as several independent clients from one process.
    pub fn dedicated_connection(mut self, dedicated: bool) -> Self {
        self.dedicated = dedicated;
        self
    }

    /// Also accepts a daemon running as `uid` (for example a system `wardend` under its own
    /// service account).
    ///
    /// Before sending anything, the client checks who listens on the socket (`SO_PEERCRED`):
    /// by default only root or this process's own effective uid, so a socket path another user
    /// managed to take over yields [`Error::UntrustedDaemon`] instead of a fake daemon that
    /// receives imported keys. Uids listed in `WARDEN_DAEMON_UIDS` (comma-separated) are
    /// trusted as well.
    pub fn trusted_daemon_uid(mut self, uid: u32) -> Self {
        self.trusted_daemon_uids.push(uid);
        self
    }

    /// [`StackConfig::trusted_daemon_uid`] for each of `uids`.
    pub fn trusted_daemon_uids(mut self, uids: impl IntoIterator<Item = u32>) -> Self {
        self.trusted_daemon_uids.extend(uids);
        self
    }

    /// Who may serve this config's connection: root, this process's uid, the configured uids
    /// and those in `WARDEN_DAEMON_UIDS` (a malformed variable is an error, not ignored, so a
    /// typo never silently narrows or widens the set).
    pub(crate) fn daemon_trust(&self) -> Result<DaemonTrust> {
        let mut uids = self.trusted_daemon_uids.clone();
        if let Some(v) = std::env::var_os(DAEMON_UIDS_ENV) {
            let listed = v.to_str().and_then(parse_uid_list).ok_or(Error::Invalid(
                warden_core::Error::invalid_argument(
                    "WARDEN_DAEMON_UIDS must be a comma-separated list of numeric uids",
                ),
            ))?;
            uids.extend(listed);
        }
        Ok(DaemonTrust::new(uids))
    }

    pub(crate) fn is_dedicated(&self) -> bool {
        self.dedicated
    }

    /// The socket path this config connects to: explicit, then `WARDEN_SOCKET`, then the
    /// daemon's documented default.
    pub fn resolved_socket_path(&self) -> PathBuf {
        if let Some(p) = &self.socket_path {
            return p.clone();
        }
        match std::env::var_os(SOCKET_ENV) {
            Some(v) if !v.is_empty() => PathBuf::from(v),
            _ => default_socket_path(),
        }
    }

    /// The stack default in milliseconds; `None` = disabled.
    pub fn default_timeout_value(&self) -> Option<u32> {
        self.default_timeout.effective_ms(DEFAULT_TIMEOUT_MS)
    }

    /// The effective timeout of an operation with per-context setting `t`.
    pub(crate) fn effective(&self, t: Timeout) -> Option<u32> {
        match t {
            Timeout::Default => self.default_timeout_value(),
            other => other.effective_ms(DEFAULT_TIMEOUT_MS),
        }
    }

    /// The grace and polling window calls wait with.
    pub(crate) fn waiting(&self) -> crate::connection::Waiting {
        crate::connection::Waiting {
            grace: self.client_grace,
            busy_poll: self.busy_poll,
        }
    }

    pub(crate) fn connect_bound(&self) -> Duration {
        self.connect_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_polling_is_off_by_default_and_capped() {
        assert_eq!(StackConfig::new().waiting().busy_poll, Duration::ZERO);
        let w = StackConfig::new()
            .busy_poll(Duration::from_micros(300))
            .waiting();
        assert_eq!(w.busy_poll, Duration::from_micros(300));
        assert_eq!(w.grace, DEFAULT_CLIENT_GRACE);
        let capped = StackConfig::new().busy_poll(Duration::from_secs(10));
        assert_eq!(capped.waiting().busy_poll, MAX_BUSY_POLL);
    }

    #[test]
    fn explicit_path_wins_over_everything() {
        let c = StackConfig::new().socket_path("/x/y.sock");
        assert_eq!(c.resolved_socket_path(), PathBuf::from("/x/y.sock"));
    }

    #[test]
    fn timeouts_layer_stack_default_context_override_and_disable() {
        let c = StackConfig::new();
        assert_eq!(c.effective(Timeout::Default), Some(5000));
        assert_eq!(c.effective(Timeout::Millis(7)), Some(7));
        assert_eq!(c.effective(Timeout::Disabled), None);
        let c = StackConfig::new().default_timeout_ms(300);
        assert_eq!(c.effective(Timeout::Default), Some(300));
        assert_eq!(c.effective(Timeout::Millis(9)), Some(9));
        let c = StackConfig::new().disable_timeout();
        assert_eq!(c.effective(Timeout::Default), None);
        assert_eq!(c.effective(Timeout::Millis(9)), Some(9));
        assert_eq!(
            StackConfig::new()
                .default_timeout_ms(0)
                .default_timeout_value(),
            None
        );
    }

    #[test]
    fn default_path_depends_on_uid() {
        let p = default_socket_path();
        if rustix::process::geteuid().is_root() {
            assert_eq!(p, PathBuf::from(SYSTEM_SOCKET_PATH));
        } else {
            assert!(p.ends_with("warden.sock") || p.ends_with("wardend.sock"));
        }
    }
}
