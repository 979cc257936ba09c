//! Crash test: a child process writes slots in a loop, printing each acknowledged write; the
//! parent SIGKILLs it at random moments (many trials) and checks that the store opens, every
//! acknowledged write is present and intact, and nothing unacknowledged left a corrupt record.
//!
//! Runs without the libtest harness (`harness = false`): the same binary is the child when
//! `WARDEN_STORE_CRASH_CHILD` is set.

// A test binary without the libtest harness: clippy cannot see `#[test]`, but a panic here is
// a failed test, exactly as in the harnessed tests where clippy.toml allows these.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use warden_core::{Algorithm, KeyOperationPermission as P};
use warden_store::{FileMasterKey, NewSlot, SlotStore, StoreError};

const CHILD_ENV: &str = "WARDEN_STORE_CRASH_CHILD";
const TRIAL_ENV: &str = "WARDEN_STORE_CRASH_TRIAL";
const TRIALS: u32 = 20;

fn secret_for(name: &str) -> Vec<u8> {
    let mut s: Vec<u8> = name.bytes().rev().collect();
    s.extend_from_slice(b"|secret|");
    s.extend_from_slice(name.as_bytes());
    s
}

fn new_slot(name: &str) -> NewSlot {
    NewSlot {
        name: name.into(),
        owner_uid: 1000,
        algorithm: Algorithm::HmacKey,
        permissions: (P::MAC | P::EXPORT).bits(),
        exportable: true,
    }
}

/// Child: write forever (until killed), acknowledging each durable write on stdout.
fn child(dir: &Path, trial: u32) -> Result<(), StoreError> {
    let store = SlotStore::open(dir, &FileMasterKey::in_dir(dir))?;
    let mut out = std::io::stdout().lock();
    for i in 0u32.. {
        let name = format!("t{trial}-{i}");
        store.create_slot(&new_slot(&name), &secret_for(&name))?;
        let _ = writeln!(out, "CREATE {name}");
        if i % 3 == 2 {
            store.grant(&name, 2000 + i, P::MAC.bits())?;
            let _ = writeln!(out, "GRANT {name} {}", 2000 + i);
        }
        if i % 5 == 4 {
            let victim = format!("t{trial}-{}", i - 1);
            // Announce it first: if the kill lands mid-delete, the slot may be either way.
            let _ = writeln!(out, "TRY-DELETE {victim}");
            let _ = out.flush();
            store.delete(&victim)?;
            let _ = writeln!(out, "DELETE {victim}");
        }
        let _ = out.flush();
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Expected {
    /// name -> granted uids
    present: BTreeMap<String, Vec<u32>>,
    deleted: Vec<String>,
}

fn apply_acks(expected: &mut Expected, stdout: &str) -> usize {
    let mut acks = 0;
    for line in stdout.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            ["CREATE", name] => {
                expected.present.insert((*name).to_owned(), Vec::new());
            }
            ["GRANT", name, uid] => {
                let uid: u32 = uid.parse().expect("uid");
                expected
                    .present
                    .get_mut(*name)
                    .expect("granted slot")
                    .push(uid);
            }
            ["TRY-DELETE", name] => {
                // In doubt until acknowledged: neither presence nor absence is required.
                expected.present.remove(*name);
                continue;
            }
            ["DELETE", name] => {
                expected.deleted.push((*name).to_owned());
            }
            _ => continue, // a line cut by the kill
        }
        acks += 1;
    }
    acks
}

fn verify(dir: &Path, expected: &Expected) {
    let store = SlotStore::open(dir, &FileMasterKey::in_dir(dir)).expect("store opens after crash");
    for (name, grants) in &expected.present {
        let (meta, secret) = store
            .load(name)
            .unwrap_or_else(|e| panic!("acknowledged {name}: {e}"));
        assert_eq!(*secret, secret_for(name), "{name} intact");
        for uid in grants {
            assert!(
                meta.grants.contains_key(uid),
                "acknowledged grant {name}->{uid} lost"
            );
        }
    }
    for name in &expected.deleted {
        assert!(
            matches!(store.load(name), Err(StoreError::KeySlotEmpty)),
            "acknowledged delete of {name} lost"
        );
    }
    // Unacknowledged writes may or may not be there, but whatever is there authenticates.
    for meta in store.list().expect("every stored record authenticates") {
        let (_, secret) = store.load(&meta.name).expect("listed slot loads");
        assert_eq!(*secret, secret_for(&meta.name));
    }
}

fn parent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let exe = std::env::current_exe().expect("own path");
    let mut rng = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let mut expected = Expected::default();
    let mut total_acks = 0;
    let started = Instant::now();
    for trial in 0..TRIALS {
        // xorshift64: only picks kill moments, not security relevant.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let delay = Duration::from_millis(20 + rng % 400);
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, &dir)
            .env(TRIAL_ENV, trial.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL child");
        let status = child.wait().expect("reap child");
        assert!(status.code().is_none(), "child exited by itself: {status}");
        let mut stdout = String::new();
        for line in BufReader::new(child.stdout.take().expect("stdout")).lines() {
            match line {
                Ok(l) => {
                    stdout.push_str(&l);
                    stdout.push('\n');
                }
                Err(_) => break,
            }
        }
        let acks = apply_acks(&mut expected, &stdout);
        total_acks += acks;
        verify(&dir, &expected);
        println!("trial {trial:2}: killed after {delay:?}, {acks} acknowledged writes, all intact");
    }
    assert!(
        total_acks > TRIALS as usize,
        "too few writes acknowledged to mean anything: {total_acks}"
    );
    println!(
        "crash test: {TRIALS} SIGKILL trials, {total_acks} acknowledged writes, {} live slots, {:?}",
        expected.present.len(),
        started.elapsed()
    );
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        let trial = std::env::var(TRIAL_ENV)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        if let Err(e) = child(Path::new(&dir), trial) {
            eprintln!("crash child failed: {e}");
            std::process::exit(2);
        }
        return;
    }
    parent();
}
