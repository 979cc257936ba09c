//! Running the real `warden` binary (built next to `wardend`) against a socket, as this
//! process or as another uid, for the CLI suites.

// Test-harness code: a failed set-up step is a failed test, so it may unwrap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `warden` binary beside the `wardend` the harness runs.
pub fn warden_bin() -> PathBuf {
    let wardend = crate::wardend_path().expect("wardend built (cargo build --bins)");
    let p = wardend.with_file_name("warden");
    assert!(p.is_file(), "warden binary not found at {}", p.display());
    p
}

/// `warden` invocations against one socket (`None`: no `--socket`, the CLI's own choice).
#[derive(Debug, Clone)]
pub struct Warden {
    /// The socket passed as `--socket`.
    pub socket: Option<PathBuf>,
    /// Run as this uid (gid `gid`); needs root.
    pub uid: Option<u32>,
    /// The (primary) gid of a `uid` run; std drops supplementary groups when it sets a uid.
    pub gid: u32,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

impl Warden {
    /// `warden --socket SOCKET …` as this process's uid.
    pub fn at(socket: &Path) -> Warden {
        Warden {
            socket: Some(socket.to_owned()),
            uid: None,
            gid: 0,
            env: Vec::new(),
        }
    }

    /// The same, run as `uid` with primary group `gid`.
    pub fn as_uid(&self, uid: u32, gid: u32) -> Warden {
        Warden {
            uid: Some(uid),
            gid,
            ..self.clone()
        }
    }

    /// Runs `warden ARGS` with `stdin`; returns everything it did.
    pub fn run_with(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut cmd = Command::new(warden_bin());
        if let Some(s) = &self.socket {
            cmd.arg("--socket").arg(s);
        }
        cmd.args(args)
            .env_remove("WARDEN_SOCKET")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(uid) = self.uid {
            cmd.uid(uid).gid(self.gid);
        }
        let mut child = cmd.spawn().unwrap();
        // A command that exits before reading stdin closes the pipe: not a test failure.
        let _ = child.stdin.take().unwrap().write_all(stdin);
        child.wait_with_output().unwrap()
    }

    /// Runs and asserts the exit code; returns stdout.
    pub fn expect(&self, code: i32, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run_with(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(code),
            "warden {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Runs, asserts the exit code, returns stderr as text.
    pub fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run_with(args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "warden {args:?}: {stderr}");
        stderr
    }

    /// Runs successfully; returns stdout as text.
    pub fn ok(&self, args: &[&str]) -> String {
        String::from_utf8(self.expect(0, args, b"")).unwrap()
    }
}
