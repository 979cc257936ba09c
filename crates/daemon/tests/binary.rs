//! The `wardend` binary: flags, the printed default config, start-up on `--socket`, and a
//! clean SIGTERM/SIGINT shutdown that removes the socket.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden_daemon::Config;

const BIN: &str = env!("CARGO_BIN_EXE_wardend");

#[test]
fn help_names_every_flag() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--socket",
        "--config",
        "--data-dir",
        "--print-default-config",
        "WARDEN_SOCKET",
    ] {
        assert!(text.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn printed_default_config_is_the_embedded_default() {
    let out = Command::new(BIN)
        .arg("--print-default-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let cfg = Config::from_toml(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(cfg, Config::default());
}

#[test]
fn bad_config_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[limits]\nmax_conections = 3\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field"));
}

fn wait_for(path: &std::path::Path) {
    let until = Instant::now() + Duration::from_secs(10);
    while UnixStream::connect(path).is_err() {
        assert!(Instant::now() < until, "daemon did not come up");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal_stops_cleanly(sig: &str) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("d.sock");
    let mut child = Command::new(BIN)
        .arg("--socket")
        .arg(&sock)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("WARDEN_SOCKET")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&sock);
    // A connected, handshaken client must not keep the daemon from stopping.
    let mut s = common::connect_path(&sock);
    common::handshake(&mut s);
    let kill = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status();
    assert!(kill.unwrap().success());
    let until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < until, "daemon ignored SIG{sig}");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "exit status {status}");
    assert!(!sock.exists(), "socket removed on SIG{sig}");
    assert!(common::closed(&mut s));
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(stderr.contains("listening on"), "{stderr}");
}

#[test]
fn sigterm_stops_cleanly_and_removes_socket() {
    signal_stops_cleanly("TERM");
}

#[test]
fn sigint_stops_cleanly_and_removes_socket() {
    signal_stops_cleanly("INT");
}

#[test]
fn socket_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("env.sock");
    let data = dir.path().join("env-data");
    let mut child = Command::new(BIN)
        .env("WARDEN_SOCKET", &sock)
        .env("WARDEN_DATA_DIR", &data)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&sock);
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();
    assert!(!sock.exists());
    // The store was initialised in the directory named by the environment.
    assert!(data.join("store.redb").is_file() && data.join("master.key").is_file());
}

#[test]
fn sigterm_still_stops_when_stderr_is_a_closed_pipe() {
    // `wardend 2>&1 | head` and friends: once the reader is gone every log line fails with
    // EPIPE. Logging must swallow that, or the signal thread dies and SIGTERM is ignored.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("p.sock");
    let mut child = Command::new(BIN)
        .arg("--socket")
        .arg(&sock)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("WARDEN_SOCKET")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&sock);
    drop(child.stderr.take()); // close the only reader
    let kill = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    assert!(kill.unwrap().success());
    let until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() >= until {
            let _ = child.kill(); // don't leave a daemon that ignores SIGTERM behind
            panic!("daemon ignored SIGTERM with a closed stderr");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "exit status {status}");
    assert!(!sock.exists(), "socket removed");
}
