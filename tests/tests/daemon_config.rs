//! Daemon settings that only show in a real `wardend` process: `limits.lock_arenas` (every
//! session arena locked into RAM, or a refusal to start that names the cause) and
//! `[permits.sandbox]` limits reaching the policy sandbox.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden_e2e::{Daemon, DaemonOptions, HarnessError, wardend_path};

/// `VmLck` of a process in KiB (memory locked with mlock).
fn vm_lck_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmLck:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

const LOCKED: &str = "[limits]\nlock_arenas = true\nmax_connections = 4\narena_bytes = 262144\n";

#[test]
fn locked_arenas_are_resident() {
    match Daemon::start_with(DaemonOptions {
        config_toml: Some(LOCKED.into()),
        ..DaemonOptions::default()
    }) {
        Ok(d) => {
            // 4 arenas of 256 KiB, all locked at start-up.
            let locked = vm_lck_kib(d.pid()).unwrap();
            assert!(locked >= 1024, "VmLck {locked} kB");
            assert!(d.stack().unwrap().ping(b"x").is_ok());
        }
        // Not root and a small RLIMIT_MEMLOCK: the refusal must say why (checked below too).
        Err(HarnessError::Exited(stderr)) => {
            assert!(stderr.contains("RLIMIT_MEMLOCK"), "{stderr}");
            eprintln!("skipped the resident check: this user may not lock 1 MiB");
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_refused_mlock_stops_start_up_with_the_reason() {
    // A zero memlock limit and, for root, no CAP_IPC_LOCK (dropped from the bounding set, so
    // the exec'd wardend does not get it): the kernel must refuse, and wardend must say so.
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("wardend.toml");
    std::fs::write(&cfg, LOCKED).unwrap();
    let mut cmd = Command::new("prlimit");
    cmd.arg("--memlock=0:0");
    if root {
        cmd.args([
            "setpriv",
            "--bounding-set=-ipc_lock",
            "--inh-caps=-ipc_lock",
        ]);
    }
    let wardend = wardend_path().unwrap();
    cmd.arg(&wardend)
        .arg("--socket")
        .arg(dir.path().join("s.sock"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let Ok(mut child) = cmd.spawn() else {
        eprintln!("skipped: prlimit/setpriv (util-linux) not available");
        return;
    };
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("wardend started although mlock must be refused");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("RLIMIT_MEMLOCK") && stderr.contains("arena"),
        "{stderr}"
    );
    assert!(!Path::new(&dir.path().join("s.sock")).exists());
}

/// `[timeouts] handshake_ms`: connections that never say `Hello` give their arena back, so
/// silent connects cannot lock real clients out; handshaken idle connections stay open.
#[test]
fn silent_connections_are_closed_at_the_handshake_deadline() {
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    let d = Daemon::start_with(DaemonOptions {
        config_toml: Some(
            "[limits]\nmax_connections = 2\nreserved_admin_connections = 0\n[timeouts]\nhandshake_ms = 300\n"
                .into(),
        ),
        ..DaemonOptions::default()
    })
    .unwrap();
    // A handshaken client that then idles past the deadline.
    let idle = d.stack().unwrap();
    // The harness's readiness probe may still hold the other arena: wait until it is back.
    let until = Instant::now() + Duration::from_secs(5);
    while idle.status().unwrap().connections > 1 {
        assert!(Instant::now() < until, "probe connection never closed");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut silent = UnixStream::connect(d.socket_path()).unwrap();
    // Both slots are taken: a third client is refused with a typed error.
    let cfg = d.stack_config().dedicated_connection(true);
    let err = warden_client::CryptoStack::connect(cfg.clone()).unwrap_err();
    assert_eq!(err.code(), warden_client::ErrorCode::ProviderBusy, "{err}");
    // The silent one is closed (EOF) at its deadline, not before.
    let start = Instant::now();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(silent.read(&mut buf).unwrap(), 0, "expected EOF");
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(200),
        "closed after {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    // Its slot is free again, and the idle handshaken client was left alone.
    let fresh = warden_client::CryptoStack::connect(cfg).unwrap();
    assert_eq!(fresh.ping(b"hi").unwrap(), b"hi");
    assert_eq!(idle.ping(b"still here").unwrap(), b"still here");
}

/// A connection's slot (arena, count) is free by the time its client sees the close: the
/// daemon shuts the socket only after releasing them. Before, the shutdown came first and a
/// client reconnecting at once could be refused `ProviderBusy` (seen in CI).
#[test]
fn a_closed_connections_slot_is_free_when_its_client_sees_the_close() {
    use std::io::Read;
    use std::os::unix::net::UnixStream;

    let d = Daemon::start_with(DaemonOptions {
        config_toml: Some(
            "[limits]\nmax_connections = 1\nreserved_admin_connections = 0\n[timeouts]\nhandshake_ms = 5\n"
                .into(),
        ),
        ..DaemonOptions::default()
    })
    .unwrap();
    let cfg = d.stack_config().dedicated_connection(true);
    let mut refused = 0;
    for _ in 0..200 {
        // Take the only slot with a silent connection and read until the daemon closes it
        // at its handshake deadline. While the slot is still held (the harness's readiness
        // probe, the previous round's stack) a connect is refused with a frame: retry.
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let mut s = UnixStream::connect(d.socket_path()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut buf = [0u8; 64];
            if s.read(&mut buf).unwrap() == 0 {
                break;
            }
            assert!(Instant::now() < until, "the slot never came back");
            std::thread::sleep(Duration::from_millis(1));
        }
        // It saw the close: the slot must be free now.
        match warden_client::CryptoStack::connect(cfg.clone()) {
            Ok(stack) => drop(stack),
            Err(e) if e.code() == warden_client::ErrorCode::ProviderBusy => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(refused, 0, "reconnects refused right after the close");
}

/// `[limits] long_lane_nice`: the long-lane threads run at that nice value (default 10).
#[test]
fn lane_threads_run_at_the_configured_nice_value() {
    // (comm, nice) of every thread of `pid` whose name starts with `wardend-long`.
    fn lane_nice(pid: u32) -> Vec<i64> {
        let mut out = Vec::new();
        for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
            let stat = std::fs::read_to_string(t.unwrap().path().join("stat")).unwrap_or_default();
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            if !stat[open + 1..close].starts_with("wardend-long") {
                continue;
            }
            // After "(comm)": state is field 3 of stat(5), nice field 19.
            let nice = stat[close + 1..].split_whitespace().nth(16);
            out.push(nice.and_then(|n| n.parse().ok()).unwrap_or(i64::MIN));
        }
        out
    }
    for (toml, want) in [
        ("", 10),
        ("[limits]\nlong_lane_nice = 0\nlong_lane_threads = 3\n", 0),
        ("[limits]\nlong_lane_nice = 19\n", 19),
    ] {
        let d = Daemon::start_with(DaemonOptions {
            config_toml: Some(toml.into()),
            ..DaemonOptions::default()
        })
        .unwrap();
        let threads = if toml.contains("long_lane_threads = 3") {
            3
        } else {
            2
        };
        // Each lane thread sets its nice value as it starts: wait for all of them.
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let seen = lane_nice(d.pid());
            if seen.len() == threads && seen.iter().all(|&n| n == want) {
                break;
            }
            assert!(
                Instant::now() < until,
                "{toml:?}: lane threads at nice {seen:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    // Out of range: wardend refuses to start and names the setting.
    let err = Daemon::start_with(DaemonOptions {
        config_toml: Some("[limits]\nlong_lane_nice = 20\n".into()),
        ..DaemonOptions::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("long_lane_nice"), "{err}");
}
