//! The one way the harness starts a `wardend`: [`crate::Daemon`] (a fresh temporary
//! directory per start) and [`crate::persistent::Wardend`] (a caller-owned root it can stop,
//! kill and restart over) are two faces of this launch and readiness check.

use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{HarnessError, wardend_path};

/// How long a daemon may take to accept its first connection.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// What to start.
#[derive(Debug)]
pub(crate) struct Launch<'a> {
    pub(crate) socket: &'a Path,
    pub(crate) data_dir: &'a Path,
    /// Passed with `--config` when set.
    pub(crate) config: Option<&'a Path>,
    /// Appended to (a restarted daemon keeps its predecessors' lines).
    pub(crate) stderr: PathBuf,
    pub(crate) args: &'a [String],
    pub(crate) env: &'a [(String, String)],
    /// Run as this uid (gid 0); the caller must be root.
    pub(crate) uid: Option<u32>,
}

impl Launch<'_> {
    /// Spawns the daemon and waits until it accepts connections. The readiness probe waits
    /// for the daemon to close it, so it is not counted in a status the test reads next.
    pub(crate) fn start(&self) -> Result<Child, HarnessError> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr)?;
        let mut cmd = Command::new(wardend_path()?);
        if let Some(uid) = self.uid {
            cmd.uid(uid).gid(0);
        }
        cmd.arg("--socket")
            .arg(self.socket)
            .arg("--data-dir")
            .arg(self.data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .env_remove("WARDEN_SOCKET")
            .env_remove("WARDEN_DATA_DIR");
        if let Some(cfg) = self.config {
            cmd.arg("--config").arg(cfg);
        }
        cmd.args(self.args);
        for (k, v) in self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let start = Instant::now();
        loop {
            if child.try_wait()?.is_some() {
                return Err(HarnessError::Exited(self.stderr_text()));
            }
            if let Ok(mut probe) = UnixStream::connect(self.socket) {
                let _ = probe.shutdown(std::net::Shutdown::Write);
                let _ = probe.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = std::io::Read::read(&mut probe, &mut [0u8; 64]);
                return Ok(child);
            }
            if start.elapsed() > READY_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HarnessError::NotReady(self.stderr_text()));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}
