//! With feature `asan-poison` under `-Zsanitizer=address` (see
//! `scripts/arena-sanitizer.sh`), touching arena bytes that are not part of a live block
//! must be reported by AddressSanitizer. Each case runs in a child process (ASan aborts the
//! process on a report); the parent checks that the child died with a `use-after-poison`
//! report. The rest of the suite, run with the same feature, shows there are no false
//! reports on live blocks.
#![cfg(feature = "asan-poison")]

use std::alloc::Layout;
use std::hint::black_box;
use std::process::Command;

use allocator_api2::boxed::Box as ArenaBox;
use warden_arena::Arena;

const CASE_ENV: &str = "WARDEN_ARENA_ASAN_CASE";

fn read(ptr: *const u8) -> u8 {
    // SAFETY: deliberately reads poisoned arena memory (still mapped) to provoke ASan.
    unsafe { black_box(ptr).read() }
}

/// Provoke one bad access; `None` if the set-up itself failed (the parent then fails).
fn child(case: &str) -> Option<()> {
    let mut arena = Arena::with_capacity(4096).ok()?;
    match case {
        "padding" => {
            let session = arena.session();
            let a = session.try_alloc(1u8).ok()? as *mut u8;
            session
                .try_alloc_layout(Layout::from_size_align(8, 64).ok()?)
                .ok()?;
            // Inside the alignment padding between the two blocks.
            black_box(read(a.wrapping_add(32)));
        }
        "free_space" => {
            let session = arena.session();
            let a = session.try_alloc([1u8; 16]).ok()? as *mut [u8; 16] as *const u8;
            black_box(read(a.wrapping_add(64)));
        }
        "after_session" => {
            let session = arena.session();
            let p = session
                .try_alloc_layout(Layout::new::<[u64; 4]>())
                .ok()?
                .as_ptr();
            drop(session);
            black_box(read(p));
        }
        "rolled_back" => {
            let session = arena.session();
            let boxed = ArenaBox::new_in([7u64; 4], &session);
            let p = &*boxed as *const [u64; 4] as *const u8;
            drop(boxed);
            black_box(read(p));
        }
        other => panic!("unknown case {other}"),
    }
    Some(())
}

#[test]
fn asan_reports_access_outside_live_blocks() {
    if let Ok(case) = std::env::var(CASE_ENV) {
        assert!(child(&case).is_some(), "set-up failed");
        return;
    }
    let mut missed = Vec::new();
    for case in ["padding", "free_space", "after_session", "rolled_back"] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "asan_reports_access_outside_live_blocks",
                "--nocapture",
            ])
            .env(CASE_ENV, case)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || !stderr.contains("AddressSanitizer: use-after-poison") {
            missed.push(format!("{case}: status {:?}\n{stderr}", out.status));
        }
    }
    assert!(
        missed.is_empty(),
        "ASan did not report:\n{}",
        missed.join("\n")
    );
}
