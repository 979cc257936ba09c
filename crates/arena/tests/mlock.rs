//! `mlock` option: granted when the process may lock memory, and refused with a clear
//! `ArenaError::MlockRefused` when it may not (checked in a child process that runs as an
//! unprivileged user with `RLIMIT_MEMLOCK` = 0, so the refusal path is exercised even when
//! the tests run as root).
#![cfg(target_os = "linux")]

use std::os::unix::process::CommandExt;
use std::process::Command;

use warden_arena::{Arena, ArenaError, ArenaOptions};

const CHILD_ENV: &str = "WARDEN_ARENA_MLOCK_CHILD";

fn locked_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmLck:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn can_lock(bytes: u64) -> bool {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid out-pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) };
    assert_eq!(rc, 0);
    // SAFETY: no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    root || limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur >= bytes
}

#[test]
fn mlock_locks_the_region_when_permitted() {
    if !can_lock(1 << 20) {
        eprintln!("skipped: RLIMIT_MEMLOCK below 1 MiB and not root");
        return;
    }
    let before = locked_kib().unwrap();
    let opts = ArenaOptions {
        mlock: true,
        ..ArenaOptions::default()
    };
    let mut arena = Arena::with_options(1 << 20, opts).unwrap();
    assert!(
        locked_kib().unwrap() >= before + 1024,
        "VmLck did not grow by 1 MiB"
    );
    arena.session().try_alloc(1u8).unwrap();
    drop(arena);
    assert!(locked_kib().unwrap() < before + 1024, "unmapping unlocks");
}

#[test]
fn mlock_refusal_is_a_clear_error() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `zero` is a valid rlimit; lowering a limit is always allowed.
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &zero) };
        assert_eq!(rc, 0);
        let opts = ArenaOptions {
            mlock: true,
            ..ArenaOptions::default()
        };
        let err = Arena::with_options(1 << 20, opts).unwrap_err();
        let ArenaError::MlockRefused { errno } = err else {
            panic!("expected MlockRefused, got {err:?}");
        };
        assert!(
            errno == libc::ENOMEM || errno == libc::EPERM,
            "errno {errno}"
        );
        assert!(err.to_string().contains("RLIMIT_MEMLOCK"));
        // Without mlock the same request works.
        assert!(Arena::with_capacity(1 << 20).is_ok());
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "mlock_refusal_is_a_clear_error", "--nocapture"])
        .env(CHILD_ENV, "1");
    // SAFETY: no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        // Root may lock regardless of the limit (CAP_IPC_LOCK): drop to `nobody`, which
        // clears all capabilities.
        child.uid(65534).gid(65534);
    }
    let out = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
