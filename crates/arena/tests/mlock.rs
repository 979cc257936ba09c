//! `mlock` option: granted when the process may lock memory, and refused with a clear
//! `ArenaError::MlockRefused` when it may not (checked in a child process that sets
//! `RLIMIT_MEMLOCK` = 0 and drops every capability of its test thread, so the refusal path
//! is exercised even when the tests run as root with `CAP_IPC_LOCK`).
#![cfg(target_os = "linux")]

use std::process::Command;

use warden_arena::{Arena, ArenaError, ArenaOptions};

const CHILD_ENV: &str = "WARDEN_ARENA_MLOCK_CHILD";

fn locked_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmLck:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether this process may lock `bytes` more: `CAP_IPC_LOCK` (bit 14 of `CapEff`) or a
/// large enough `RLIMIT_MEMLOCK` (with headroom for what is already locked).
fn can_lock(bytes: u64) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let cap_ipc_lock = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 14) != 0);
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid out-pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) };
    assert_eq!(rc, 0);
    let locked = locked_kib().unwrap_or(0) * 1024;
    cap_ipc_lock
        || limit.rlim_cur == libc::RLIM_INFINITY
        || limit.rlim_cur >= bytes.saturating_add(locked)
}

#[test]
fn mlock_locks_the_region_when_permitted() {
    if !can_lock(1 << 20) {
        eprintln!("skipped: RLIMIT_MEMLOCK below 1 MiB and no CAP_IPC_LOCK");
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
        drop_all_capabilities_of_this_thread();
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
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "mlock_refusal_is_a_clear_error", "--nocapture"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Root may lock memory regardless of `RLIMIT_MEMLOCK` (`CAP_IPC_LOCK`). Capabilities are
/// per thread on Linux, and a thread may always give its own up: clear the effective,
/// permitted and inheritable sets of the calling (test) thread with `capset`.
fn drop_all_capabilities_of_this_thread() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: `header` and `data` have the kernel's layout for capability version 3 (a
    // header and two data words); `pid` 0 means the calling thread.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut Header,
            data.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0, "capset failed: {}", std::io::Error::last_os_error());
}
