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
use warden_store::{
    FileMasterKey, NewSlot, SlotQuotas, SlotRef, SlotStore, StoreError, StoreOptions,
};

const CHILD_ENV: &str = "WARDEN_STORE_CRASH_CHILD";
const TRIAL_ENV: &str = "WARDEN_STORE_CRASH_TRIAL";
const TRIALS: u32 = 20;
const FIRST_START_TRIALS: u32 = 15;

fn secret_for(name: &str) -> Vec<u8> {
    let mut s: Vec<u8> = name.bytes().rev().collect();
    s.extend_from_slice(b"|secret|");
    s.extend_from_slice(name.as_bytes());
    s
}

/// Owner of every slot the child writes.
const OWNER: u32 = 1000;

/// The child writes until killed: no quota may stop it first.
fn unbounded() -> StoreOptions {
    StoreOptions {
        quotas: SlotQuotas {
            max_slots_per_owner: u32::MAX,
            max_grants_per_owner: u32::MAX,
        },
        ..StoreOptions::default()
    }
}

fn new_slot(name: &str) -> NewSlot {
    NewSlot {
        name: name.into(),
        owner_uid: OWNER,
        algorithm: Algorithm::HmacKey,
        permissions: (P::MAC | P::EXPORT).bits(),
        exportable: true,
    }
}

/// Child: write forever (until killed), acknowledging each durable write on stdout.
fn child(dir: &Path, trial: u32) -> Result<(), StoreError> {
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "STARTED");
        let _ = out.flush();
    }
    let t = Instant::now();
    let store = SlotStore::open_with(dir, &FileMasterKey::in_dir(dir), unbounded())?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "OPENED {}", t.elapsed().as_micros());
    for i in 0u32.. {
        let name = format!("t{trial}-{i}");
        store.create_slot(&new_slot(&name), &secret_for(&name))?;
        let _ = writeln!(out, "CREATE {name}");
        if i % 3 == 2 {
            store.grant(SlotRef::new(OWNER, &name), 2000 + i, P::MAC.bits())?;
            let _ = writeln!(out, "GRANT {name} {}", 2000 + i);
        }
        if i % 5 == 4 {
            let victim = format!("t{trial}-{}", i - 1);
            // Announce it first: if the kill lands mid-delete, the slot may be either way.
            let _ = writeln!(out, "TRY-DELETE {victim}");
            let _ = out.flush();
            store.delete(SlotRef::new(OWNER, &victim))?;
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
            .load(SlotRef::new(OWNER, name))
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
            matches!(
                store.load(SlotRef::new(OWNER, name)),
                Err(StoreError::KeySlotEmpty)
            ),
            "acknowledged delete of {name} lost"
        );
    }
    // Unacknowledged writes may or may not be there, but whatever is there authenticates.
    for meta in store.list().expect("every stored record authenticates") {
        let (_, secret) = store.load(meta.slot()).expect("listed slot loads");
        assert_eq!(*secret, secret_for(&meta.name));
    }
}

/// Spawns a child writing into `dir`, waits until it prints a line starting with `marker`
/// (`STARTED`: process running; `OPENED`: store open), lets it run for `delay`, SIGKILLs it
/// and returns everything it printed.
fn run_and_kill(exe: &Path, dir: &Path, trial: u32, marker: &str, delay: Duration) -> String {
    let mut child = Command::new(exe)
        .env(CHILD_ENV, dir)
        .env(TRIAL_ENV, trial.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut stdout = String::new();
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).expect("child output") == 0 {
            panic!("child ended before {marker}: {stdout}");
        }
        stdout.push_str(&line);
        if line.starts_with(marker) {
            break;
        }
    }
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL child");
    let status = child.wait().expect("reap child");
    assert!(status.code().is_none(), "child exited by itself: {status}");
    for line in out.lines().map_while(Result::ok) {
        stdout.push_str(&line);
        stdout.push('\n');
    }
    stdout
}

struct XorShift(u64);

impl XorShift {
    /// Only picks kill moments; not security relevant.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn parent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let exe = std::env::current_exe().expect("own path");
    let mut rng = XorShift(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
            | 1,
    );
    let started = Instant::now();

    // First start: kill while the master key and the database are being created, each time
    // in a fresh data directory. A half-written key or database would brick the store.
    let mut stages = [0usize; 3];
    for trial in 0..FIRST_START_TRIALS {
        let fresh = tmp.path().join(format!("fresh-{trial}"));
        // A first start takes ~50-300 ms here (several fsyncs): kill anywhere inside it.
        let delay = Duration::from_micros(rng.below(250_000));
        let stdout = run_and_kill(&exe, &fresh, 0, "STARTED", delay);
        let mut exp = Expected::default();
        apply_acks(&mut exp, &stdout);
        // Where the kill landed: 0 = nothing on disk, 1 = key only, 2 = key and database.
        let stage = usize::from(fresh.join("master.key").exists())
            + usize::from(fresh.join("store.redb").exists());
        stages[stage] += 1;
        verify(&fresh, &exp);
    }
    println!(
        "first start: {FIRST_START_TRIALS} kills during initialisation (nothing yet: {}, key only: {}, key+db: {}), every store opened",
        stages[0], stages[1], stages[2]
    );

    // Steady state: one accumulating store, killed at random moments while writing.
    let mut expected = Expected::default();
    let mut total_acks = 0;
    for trial in 0..TRIALS {
        let delay = Duration::from_millis(rng.below(300));
        let stdout = run_and_kill(&exe, &dir, trial, "OPENED", delay);
        let acks = apply_acks(&mut expected, &stdout);
        total_acks += acks;
        verify(&dir, &expected);
        println!(
            "trial {trial:2}: killed {delay:?} after open, {acks} acknowledged writes, all intact"
        );
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
