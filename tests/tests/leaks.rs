//! Smaller leaks (issue 11 item 7), attacked as another local uid would:
//! - Status is no window on other tenants: a non-admin sees only its own uid's activity;
//! - a running wardend cannot be dumped: `RLIMIT_CORE` is 0 (soft and hard) and the process
//!   is not dumpable, so even a process of the daemon's own uid cannot open its
//!   `/proc/<pid>/environ` or `mem`; its session arenas are mapped `MADV_DONTDUMP`.
//!
//! The admin-lock half of item 7 is in `isolation.rs`.
//!
//! Tests that need a second uid run a child copy of this binary as that uid and skip with a
//! message when not root.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use warden_client::*;
use warden_e2e::persistent::{Wardend, config, is_root, shared_root};

const CHILD_SCRIPT: &str = "WARDEN_E2E_LEAKS_CHILD";
const CHILD_ARG: &str = "WARDEN_E2E_LEAKS_ARG";
/// Spare uids the children and one daemon run as (no account needed).
const BUSY_UID: u32 = 4265;
const PEEK_UID: u32 = 4266;
const DAEMON_UID: u32 = 4267;

/// A child copy of this test binary running `script` (with `arg`) as `uid` (gid 0).
fn child(uid: u32, script: &str, arg: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "leaks_child", "--include-ignored", "--nocapture"])
        .env(CHILD_SCRIPT, script)
        .env(CHILD_ARG, arg)
        .uid(uid)
        .gid(0);
    cmd
}

/// Runs the child to completion and returns what it printed after `RESULT `.
fn run_child(uid: u32, script: &str, arg: &str) -> String {
    let out = child(uid, script, arg).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("CHILD-DONE {script}")),
        "child script {script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_default()
        .to_owned()
}

fn connect(socket: &str) -> CryptoStack {
    CryptoStack::connect(
        StackConfig::new()
            .socket_path(socket)
            .dedicated_connection(true),
    )
    .unwrap()
}

fn summary(s: &DaemonStatus) -> String {
    format!(
        "connections={} keys={} contexts={} arenas={} errors={}",
        s.connections,
        s.live_keys,
        s.live_contexts,
        s.arenas_in_use,
        s.errors.len()
    )
}

#[test]
#[ignore = "helper: run as another uid by the tests in this file"]
fn leaks_child() {
    let (Ok(script), Ok(arg)) = (std::env::var(CHILD_SCRIPT), std::env::var(CHILD_ARG)) else {
        println!("not started as a child: nothing to do");
        return;
    };
    match script.as_str() {
        // A busy tenant: keys, a context and an error, held until the parent says so.
        "busy" => {
            let s = connect(&arg);
            let km = s.key_management();
            let params = GenerateKeyParams::builder()
                .algorithm(Algorithm::Ed25519)
                .permissions(KeyOperationPermission::SIGN)
                .build()
                .unwrap();
            let keys: Vec<_> = (0..3).map(|_| km.generate_key(&params).unwrap()).collect();
            let cfg = ContextConfig::builder()
                .algorithm(Algorithm::Ed25519)
                .key(keys[0].id())
                .build()
                .unwrap();
            let _ctx = s.create_sign_context(&cfg).unwrap();
            assert!(km.resolve("no-such-slot").is_err());
            println!("CHILD-WAITING peek");
            std::io::stdout().flush().unwrap();
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
        }
        // Another non-admin: what Status shows it.
        "peek" => {
            let s = connect(&arg);
            println!("RESULT {}", summary(&s.status().unwrap()));
        }
        // The daemon's own uid, trying to read the daemon's memory image through /proc.
        "read-proc" => {
            let environ = std::fs::read(format!("/proc/{arg}/environ"));
            let mem = std::fs::File::open(format!("/proc/{arg}/mem"));
            println!(
                "RESULT environ={} mem={}",
                environ.map_or_else(|e| format!("{:?}", e.kind()), |_| "readable".into()),
                mem.map_or_else(|e| format!("{:?}", e.kind()), |_| "readable".into()),
            );
        }
        other => panic!("unknown child script {other}"),
    }
    println!("CHILD-DONE {script}");
}

#[test]
fn status_shows_a_non_admin_only_its_own_uid() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    // No admin uids: only the daemon's own uid (root here) sees daemon-wide figures.
    let d = Wardend::start(root.path(), &config(&[]));
    let socket = d.socket.to_str().unwrap().to_owned();
    let mut busy = child(BUSY_UID, "busy", &socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(busy.stdout.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(std::io::Result::ok)
        .find(|l| l.contains("CHILD-WAITING"));
    assert!(ready.is_some(), "busy child did not get ready");

    // The daemon's uid sees everyone: the busy tenant's 3 keys, context and error.
    let mine = d.stack().status().unwrap();
    assert!(mine.live_keys >= 3 && mine.live_contexts >= 1, "{mine:?}");
    assert!(mine.connections >= 2, "{mine:?}");

    // Another non-admin sees itself only: one connection (its own), nothing live, no errors.
    let peek = run_child(PEEK_UID, "peek", &socket);
    assert_eq!(
        peek, "connections=1 keys=0 contexts=0 arenas=1 errors=0",
        "a non-admin's Status must not show another uid's activity"
    );

    writeln!(busy.stdin.take().unwrap()).unwrap();
    let rest: Vec<String> = lines.map_while(std::io::Result::ok).collect();
    assert!(busy.wait().unwrap().success(), "{rest:?}");
    assert!(
        rest.iter().any(|l| l.contains("CHILD-DONE busy")),
        "{rest:?}"
    );
}

/// The `Max core file size` row of `/proc/<pid>/limits`: `(soft, hard)`.
fn core_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let row = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let mut cols = row["Max core file size".len()..].split_whitespace();
    (
        cols.next().unwrap().to_owned(),
        cols.next().unwrap().to_owned(),
    )
}

#[test]
fn wardend_cannot_be_dumped_or_read_by_its_own_uid() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = Wardend::start_as(root.path(), &config(&[]), DAEMON_UID);
    assert_eq!(
        core_limit(d.pid()),
        ("0".to_owned(), "0".to_owned()),
        "wardend must set RLIMIT_CORE to 0 (soft and hard)"
    );
    let seen = run_child(DAEMON_UID, "read-proc", &d.pid().to_string());
    assert_eq!(
        seen, "environ=PermissionDenied mem=PermissionDenied",
        "a process of the daemon's own uid must not read its memory image (PR_SET_DUMPABLE 0)"
    );
    d.stop();
}

#[test]
fn session_arenas_are_excluded_from_core_dumps() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", d.pid())).unwrap();
    // Each mapping: a header line, then `Key: value` rows ending with `VmFlags:`.
    let mut dontdump_kib = 0u64;
    let mut size_kib = 0u64;
    for line in smaps.lines() {
        if let Some(v) = line.strip_prefix("Size:") {
            size_kib = v.trim().trim_end_matches("kB").trim().parse().unwrap();
        } else if let Some(flags) = line.strip_prefix("VmFlags:")
            && flags.split_whitespace().any(|f| f == "dd")
        {
            dontdump_kib += size_kib;
        }
    }
    // The default pool: 64 arenas (max_connections) of at least 64 KiB each.
    assert!(
        dontdump_kib >= 64 * 64,
        "only {dontdump_kib} KiB of wardend's mappings are MADV_DONTDUMP"
    );
}
