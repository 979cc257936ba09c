//! A `wardend` on a caller-chosen data directory, so a test can stop, kill (-9) and restart
//! the daemon over the same persistent state ([`crate::Daemon`] makes a fresh directory per
//! start), run it as another uid, or point its socket elsewhere; plus the helpers the suites
//! share (`config`, `audit_lines`, `my_uid`, `now`).

// Test-harness code: a failed set-up step is a failed test, so it may unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use warden_client::{CryptoStack, StackConfig};

/// A running daemon over `root/data`, listening on `root/wardend.sock`.
pub struct Wardend {
    child: Child,
    /// The directory the daemon runs in (holds the config, stderr log and usually the socket).
    pub root: PathBuf,
    /// The socket it listens on.
    pub socket: PathBuf,
    /// Its data directory (`root/data`: store, master key, audit log).
    pub data: PathBuf,
}

impl Wardend {
    /// Starts wardend with `config` (TOML) or panics with its stderr.
    pub fn start(root: &Path, config: &str) -> Wardend {
        Self::try_start(root, config).unwrap_or_else(|e| panic!("wardend did not start: {e}"))
    }

    /// Starts wardend; `Err(stderr)` if it exits before accepting connections.
    pub fn try_start(root: &Path, config: &str) -> Result<Wardend, String> {
        Self::try_start_with(root, config, &root.join("wardend.sock"), None)
    }

    /// Starts wardend as `uid` (gid 0; the caller must be root), with `root` handed to that
    /// uid so the daemon owns its socket and data directories.
    pub fn start_as(root: &Path, config: &str, uid: u32) -> Wardend {
        std::os::unix::fs::chown(root, Some(uid), Some(0)).unwrap();
        Self::try_start_with(root, config, &root.join("wardend.sock"), Some(uid))
            .unwrap_or_else(|e| panic!("wardend did not start as uid {uid}: {e}"))
    }

    /// Starts wardend listening on `socket`, as `uid` (gid 0) when given; `Err(stderr)` if it
    /// exits before accepting connections.
    pub fn try_start_with(
        root: &Path,
        config: &str,
        socket: &Path,
        uid: Option<u32>,
    ) -> Result<Wardend, String> {
        Self::try_start_env(root, config, socket, uid, &[])
    }

    /// As [`Wardend::try_start_with`], with extra environment variables for the daemon
    /// (e.g. `SOFTHSM2_CONF`, a PIN variable).
    pub fn try_start_env(
        root: &Path,
        config: &str,
        socket: &Path,
        uid: Option<u32>,
        env: &[(String, String)],
    ) -> Result<Wardend, String> {
        let data = root.join("data");
        let cfg = root.join("wardend.toml");
        std::fs::write(&cfg, config).unwrap();
        let child = crate::launch::Launch {
            socket,
            data_dir: &data,
            config: Some(&cfg),
            stderr: root.join("stderr.log"),
            args: &[],
            env,
            uid,
        }
        .start()
        .map_err(|e| e.to_string())?;
        Ok(Wardend {
            child,
            root: root.to_owned(),
            socket: socket.to_owned(),
            data,
        })
    }

    /// Everything the daemon(s) in this root wrote to stderr.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.root.join("stderr.log")).unwrap_or_default()
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client on its own connection (own id namespace).
    pub fn stack(&self) -> CryptoStack {
        CryptoStack::connect(self.stack_config()).unwrap()
    }

    /// Client configuration for this daemon, on a dedicated connection.
    pub fn stack_config(&self) -> StackConfig {
        StackConfig::new()
            .socket_path(&self.socket)
            .dedicated_connection(true)
            .default_timeout_ms(30_000)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Wardend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The audit log lines written so far (the configs here log to `root/data/audit.log`).
pub fn audit_lines(d: &Wardend) -> Vec<String> {
    std::fs::read_to_string(d.data.join("audit.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Config with the audit log in the data directory and the given admins.
pub fn config(admins: &[u32]) -> String {
    format!(
        "[access]\nadmin_uids = {admins:?}\n[audit]\nlog = \"audit.log\"\n\
         [permits]\naudience = \"wardend@e2e\"\n"
    )
}

/// Unix time now, in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// This process's uid (owner of `/proc/self`; no libc call).
pub fn my_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid()
}

/// Whether this test can act as other uids (it runs as root); otherwise prints a SKIPPED
/// line naming the test's need, and the test returns early.
pub fn is_root() -> bool {
    if my_uid() == 0 {
        return true;
    }
    println!("SKIPPED: needs root to run processes as other uids (running as non-root)");
    false
}

/// A fresh daemon root the children of a multi-uid test can reach the socket in (mode 0750,
/// group root: the children run with gid 0).
pub fn shared_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        root.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o750),
    )
    .unwrap();
    root
}
