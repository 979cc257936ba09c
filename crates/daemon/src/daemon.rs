//! Starting and stopping the daemon in-process (the binary and the tests use the same API).

use std::io::Read;
use std::io::Write as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::DaemonError;
use crate::config::Config;
use crate::listener::BoundSocket;
use crate::provider::ProviderRef;
use crate::server::{EventLoop, StopHandle};
use crate::shared::Shared;
use crate::stats::StatusSnapshot;

/// Builder for a daemon instance.
pub struct Daemon {
    config: Config,
    provider: Option<ProviderRef>,
    signals: bool,
    open_state: bool,
    harden: bool,
    activation: bool,
}

/// A daemon serving its socket on a background thread. Dropping it shuts it down.
pub struct RunningDaemon {
    socket: PathBuf,
    shared: Arc<Shared>,
    stop: StopHandle,
    thread: Option<JoinHandle<()>>,
}

impl Daemon {
    /// A daemon with `config` and the default provider.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            provider: None,
            signals: false,
            open_state: false,
            harden: false,
            activation: false,
        }
    }

    /// Serves a listening socket passed by the service manager (`LISTEN_FDS`/`LISTEN_PID`,
    /// systemd socket activation) instead of binding one, when there is one (the binary does
    /// this). The socket's path, mode and group are then the unit's.
    pub fn accept_socket_activation(mut self) -> Self {
        self.activation = true;
        self
    }

    /// Serves requests with `provider` instead of the default aws-lc-rs provider (a
    /// hardware provider, or a test double such as `warden_crypto::slow::SlowProvider`).
    pub fn with_provider(mut self, provider: Arc<dyn warden_crypto::Provider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Also stop cleanly on SIGTERM and SIGINT (for the binary; tests leave signals alone).
    pub fn handle_signals(mut self) -> Self {
        self.signals = true;
        self
    }

    /// Disables core dumps and ptrace/`/proc` access by other processes of the same uid
    /// before anything secret is loaded (`RLIMIT_CORE` 0, `PR_SET_DUMPABLE` 0; the binary
    /// does this). Process-wide: a test harness embedding the daemon leaves it off.
    pub fn harden_process(mut self) -> Self {
        self.harden = true;
        self
    }

    /// Opens the key store, permit service and audit log before serving, so a bad data
    /// directory stops start-up (the binary does this). Without it they open on the first
    /// slot or permit request, and in-process daemons that never use slots need no data
    /// directory.
    pub fn open_store_at_start(mut self) -> Self {
        self.open_state = true;
        self
    }

    /// Validates the config, claims the arena pool, binds the socket and starts serving.
    pub fn launch(self) -> Result<RunningDaemon, DaemonError> {
        self.config.validate()?;
        if self.harden {
            crate::hardening::disable_core_dumps()?;
        }
        let provider = match self.provider {
            Some(p) => p,
            None => crate::providers_config::build(
                crate::provider::software_provider(),
                &self.config.providers,
            )?,
        };
        let path = self.config.socket_path();
        let mode = self.config.socket.mode;
        let group = match self.config.socket.group.as_deref() {
            Some(g) => Some(crate::socket_group::resolve(g)?),
            None => None,
        };
        let inherited = if self.activation {
            crate::socket_activation::inherited_listener()?
        } else {
            None
        };
        let shared = Arc::new(Shared::new(self.config, provider)?);
        if self.open_state {
            shared.persistent.open_now()?;
        }
        // Handlers go in before the socket exists: a SIGTERM that arrives as soon as a client
        // can see the socket must already take the clean path that removes it.
        let signal_pipe = if self.signals {
            Some(register_signals()?)
        } else {
            None
        };
        let socket = match inherited {
            Some(listener) => BoundSocket::inherited(listener)?,
            None => BoundSocket::bind(&path, mode, group)?,
        };
        let path = socket.path().to_owned();
        let event_loop = EventLoop::new(shared.clone(), socket)?;
        let stop = event_loop.stop_handle();
        if let Some(rx) = signal_pipe {
            watch_signals(rx, stop.clone())?;
            // SIGHUP reopens the audit log file (rotation).
            watch_sighup(shared.clone())?;
        }
        let thread = std::thread::Builder::new()
            .name("wardend-io".into())
            .spawn(move || event_loop.run())
            .map_err(|e| DaemonError::Setup("event loop thread", e))?;
        Ok(RunningDaemon {
            socket: path,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// Shorthand for `Daemon::new(config).launch()`.
    pub fn start(config: Config) -> Result<RunningDaemon, DaemonError> {
        Self::new(config).launch()
    }
}

/// SIGTERM/SIGINT write a byte into a socket pair (async-signal-safe, no unsafe code here);
/// returns the reading end.
fn register_signals() -> Result<UnixStream, DaemonError> {
    let (rx, tx) = UnixStream::pair().map_err(|e| DaemonError::Setup("signal pipe", e))?;
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let tx = tx
            .try_clone()
            .map_err(|e| DaemonError::Setup("signal pipe", e))?;
        signal_hook::low_level::pipe::register(sig, tx)
            .map_err(|e| DaemonError::Setup("signal handler", e))?;
    }
    Ok(rx)
}

/// A small thread blocks on the signal pipe and stops the event loop.
fn watch_signals(mut rx: UnixStream, stop: StopHandle) -> Result<(), DaemonError> {
    std::thread::Builder::new()
        .name("wardend-signals".into())
        .spawn(move || {
            let mut b = [0u8; 1];
            if rx.read(&mut b).is_ok() {
                let _ = writeln!(std::io::stderr(), "wardend: signal received, shutting down");
                stop.stop();
            }
        })
        .map_err(|e| DaemonError::Setup("signal thread", e))?;
    Ok(())
}

impl RunningDaemon {
    /// The socket clients connect to.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// Current counters (the same figures the status operation returns).
    pub fn status(&self) -> StatusSnapshot {
        self.shared.snapshot()
    }

    /// What the daemon can ever use (computed at start-up; `wardend` logs it).
    pub fn memory_budget(&self) -> crate::MemoryBudget {
        self.shared.budget
    }

    /// Blocks until the daemon stops (signal or [`RunningDaemon::shutdown`] elsewhere).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Stops accepting, finishes in-flight requests, frees every connection's resources,
    /// removes the socket and joins all threads.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        self.stop.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningDaemon {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

impl std::fmt::Debug for RunningDaemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningDaemon")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

/// Reopens the audit log file whenever SIGHUP arrives (log rotation).
fn watch_sighup(state: Arc<Shared>) -> Result<(), DaemonError> {
    use std::io::Read;
    let (mut rx, tx) =
        std::os::unix::net::UnixStream::pair().map_err(|e| DaemonError::Setup("sighup pipe", e))?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGHUP, tx)
        .map_err(|e| DaemonError::Setup("sighup handler", e))?;
    std::thread::Builder::new()
        .name("wardend-sighup".into())
        .spawn(move || {
            let mut b = [0u8; 1];
            while rx.read(&mut b).is_ok_and(|n| n > 0) {
                if let Some(p) = state.persistent.opened() {
                    match p.audit.reopen() {
                        Ok(()) => eprintln_quiet("wardend: SIGHUP, audit log reopened"),
                        Err(e) => eprintln_quiet(&format!(
                            "wardend: SIGHUP, cannot reopen audit log: {e}"
                        )),
                    }
                }
            }
        })
        .map_err(|e| DaemonError::Setup("sighup thread", e))?;
    Ok(())
}

/// One line to stderr; a closed stderr must not bring the daemon down.
fn eprintln_quiet(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}
