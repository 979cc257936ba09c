//! Harness for end-to-end tests that start a real `wardend`.
//!
//! [`Daemon::start`] launches the `wardend` binary built by `cargo build --workspace --bins` on a
//! socket and data directory inside a fresh temporary directory, waits until the socket accepts
//! connections, and kills the daemon when the handle is dropped. The daemon's stderr goes to a
//! file in the temporary directory so a failed start can say why.
//!
//! A complete client session against a real daemon (this example runs as a doc test):
//!
//! ```
//! use warden_client::*;
//!
//! let daemon = warden_e2e::Daemon::start()?;
//! let stack = CryptoStack::connect(StackConfig::new().socket_path(daemon.socket_path()))?;
//! let km = stack.key_management();
//! let key = km.generate_key(
//!     &GenerateKeyParams::builder()
//!         .algorithm(Algorithm::Ed25519)
//!         .permissions(KeyOperationPermission::SIGN | KeyOperationPermission::VERIFY)
//!         .build()?,
//! )?;
//! let cfg = ContextConfig::builder().algorithm(Algorithm::Ed25519).key(key.id()).build()?;
//! let mut sign = stack.create_sign_context(&cfg)?;
//! let mut verify = stack.create_verify_context(&cfg)?;
//! key.release()?; // both contexts keep the key alive in the daemon
//!
//! sign.init()?;
//! sign.update(b"firmware image v2")?;
//! let signature = sign.finalize()?;
//! verify.init()?;
//! verify.update(b"firmware image v2")?;
//! verify.finalize(&signature)?;
//!
//! // The key is gone for new contexts: its guard was released.
//! let err = stack.create_sign_context(&cfg).unwrap_err();
//! assert_eq!(err.code(), ErrorCode::ResourceNotFound);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod cli;
pub mod inproc;

mod launch;
pub mod persistent;
pub mod raw;
pub mod softhsm;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Environment variable that overrides where the harness looks for `wardend`.
pub const WARDEND_BIN_ENV: &str = "WARDEND_BIN";

/// Why the harness could not provide a running daemon.
#[derive(Debug)]
#[non_exhaustive]
pub enum HarnessError {
    /// The `wardend` binary was not found (build it with `cargo build --workspace --bins`).
    BinaryNotFound(PathBuf),
    /// Spawning or talking to the process failed.
    Io(std::io::Error),
    /// The daemon exited before it became ready; carries its stderr.
    Exited(String),
    /// The daemon did not accept connections in time; carries its stderr.
    NotReady(String),
}

impl fmt::Display for HarnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BinaryNotFound(p) => write!(
                f,
                "wardend binary not found at {} (run `cargo build --workspace --bins` first, \
                 or set {WARDEND_BIN_ENV})",
                p.display()
            ),
            Self::Io(e) => write!(f, "harness i/o error: {e}"),
            Self::Exited(err) => write!(f, "wardend exited before becoming ready; stderr:\n{err}"),
            Self::NotReady(err) => {
                write!(f, "wardend did not become ready in time; stderr:\n{err}")
            }
        }
    }
}

impl std::error::Error for HarnessError {}

impl From<std::io::Error> for HarnessError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

/// Locates the `wardend` binary: `$WARDEND_BIN`, else next to the running test executable
/// (`target/<profile>/deps/<test>` or `target/<profile>/examples/<example>` →
/// `target/<profile>/wardend`).
pub fn wardend_path() -> Result<PathBuf, HarnessError> {
    if let Some(p) = std::env::var_os(WARDEND_BIN_ENV) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(HarnessError::BinaryNotFound(p))
        };
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    // Test and bench executables live in target/<profile>/deps, examples in
    // target/<profile>/examples; binaries one level up.
    if dir.ends_with("deps") || dir.ends_with("examples") {
        dir.pop();
    }
    let candidate = dir.join("wardend");
    if candidate.is_file() {
        return Ok(candidate);
    }
    // Doc tests run from a temporary directory: fall back to the debug build in the target
    // directory (`$CARGO_TARGET_DIR`, else the workspace's `target`).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let fallback = target.join("debug").join("wardend");
    if fallback.is_file() {
        Ok(fallback)
    } else {
        Err(HarnessError::BinaryNotFound(candidate))
    }
}

/// Options for starting a daemon beyond the defaults.
#[derive(Debug, Default, Clone)]
pub struct DaemonOptions {
    /// Extra command-line arguments appended after `--socket` / `--data-dir`.
    pub args: Vec<String>,
    /// Contents of a TOML config file passed with `--config`, if any.
    pub config_toml: Option<String>,
    /// Extra environment variables for the daemon process.
    pub env: Vec<(String, String)>,
}

/// A running `wardend` on a private socket; killed (and its directory removed) on drop.
pub struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    socket: PathBuf,
}

impl fmt::Debug for Daemon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Daemon")
            .field("pid", &self.child.id())
            .field("socket", &self.socket)
            .finish()
    }
}

impl Daemon {
    /// Starts `wardend` with embedded defaults on a temporary socket and data directory.
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(DaemonOptions::default())
    }

    /// Starts `wardend` with extra arguments, config or environment.
    pub fn start_with(opts: DaemonOptions) -> Result<Self, HarnessError> {
        let dir = tempfile::Builder::new().prefix("warden-e2e").tempdir()?;
        let socket = dir.path().join("wardend.sock");
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir)?;
        let cfg = dir.path().join("wardend.toml");
        if let Some(toml) = &opts.config_toml {
            std::fs::write(&cfg, toml)?;
        }
        let child = launch::Launch {
            socket: &socket,
            data_dir: &data_dir,
            config: opts.config_toml.as_ref().map(|_| cfg.as_path()),
            stderr: dir.path().join("stderr.log"),
            args: &opts.args,
            env: &opts.env,
            uid: None,
        }
        .start()?;
        Ok(Daemon { child, dir, socket })
    }

    /// The daemon's socket path.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The temporary directory holding socket, data dir and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the daemon wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Whether the daemon process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A client configuration pointing at this daemon.
    pub fn stack_config(&self) -> warden_client::StackConfig {
        warden_client::StackConfig::new().socket_path(&self.socket)
    }

    /// Connects a [`warden_client::CryptoStack`] to this daemon.
    pub fn stack(&self) -> warden_client::Result<warden_client::CryptoStack> {
        warden_client::CryptoStack::connect(self.stack_config())
    }

    /// The daemon's resident set size in KiB, from `/proc/<pid>/status`.
    pub fn vm_rss_kib(&self) -> Option<u64> {
        vm_rss_kib(self.pid())
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited in time.
    pub fn terminate(&mut self, timeout: Duration) -> Result<bool, HarnessError> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()?;
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.child.try_wait()?.is_some() {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(false)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Kill rather than TERM: a test that wants a clean shutdown calls `terminate`.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set size of process `pid` in KiB, from `/proc/<pid>/status`.
pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
