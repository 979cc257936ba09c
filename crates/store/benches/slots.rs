//! Slot store latency: durable write (fsync, two-phase commit) against the same write with
//! one-phase commit and with no fsync at all (the cost of durability), plus reads.
//!
//! Run: `cargo bench -p warden-store --bench slots -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_core::{Algorithm, KeyOperationPermission as P};
use warden_store::{
    FileMasterKey, NewSlot, SlotQuotas, SlotRef, SlotStore, StoreError, StoreOptions,
};

/// The benches create thousands of slots for one owner: lift the per-owner quotas (the
/// quota check itself is still on the measured path).
const UNBOUNDED: SlotQuotas = SlotQuotas {
    max_slots_per_owner: u32::MAX,
    max_grants_per_owner: u32::MAX,
};

fn options(fsync: bool, two_phase_commit: bool) -> StoreOptions {
    StoreOptions {
        fsync,
        two_phase_commit,
        quotas: UNBOUNDED,
    }
}

fn slot(name: String) -> NewSlot {
    NewSlot {
        name,
        owner_uid: 1000,
        algorithm: Algorithm::Ed25519,
        permissions: (P::SIGN | P::VERIFY).bits(),
        exportable: false,
    }
}

/// A 64-byte secret, about the size of an Ed25519 PKCS#8 serialisation.
const SECRET: [u8; 64] = [0x5A; 64];

fn tmp_err(source: std::io::Error) -> StoreError {
    StoreError::Io {
        context: "creating a temporary directory",
        source,
    }
}

fn open(dir: &Path, options: StoreOptions) -> Result<SlotStore, StoreError> {
    SlotStore::open_with(dir, &FileMasterKey::in_dir(dir), options)
}

fn writes(c: &mut Criterion) -> Result<(), StoreError> {
    let mut group = c.benchmark_group("slot_write");
    let variants = [
        ("create/fsync+2pc (default)", options(true, true)),
        ("create/fsync+1pc", options(true, false)),
        ("create/no-fsync", options(false, false)),
    ];
    for (label, options) in variants {
        let tmp = tempfile::tempdir().map_err(tmp_err)?;
        let store = open(tmp.path(), options)?;
        let mut i = 0u64;
        group.bench_function(label, |b| {
            b.iter(|| {
                i += 1;
                black_box(store.create_slot(&slot(format!("k{i}")), &SECRET))
            })
        });
    }
    let tmp = tempfile::tempdir().map_err(tmp_err)?;
    let store = open(tmp.path(), options(true, true))?;
    store.create_slot(&slot("g".into()), &SECRET)?;
    let mut uid = 0u32;
    group.bench_function("grant/fsync+2pc (read-modify-write)", |b| {
        b.iter(|| {
            uid = uid.wrapping_add(1) % 200 + 2000;
            black_box(store.grant(SlotRef::new(1000, "g"), uid, P::VERIFY.bits()))
        })
    });
    let mut n = 0u64;
    group.bench_function("replay-consume/fsync+2pc", |b| {
        b.iter(|| {
            n += 1;
            black_box(
                store
                    .replay_table()
                    .consume("bench", &n.to_le_bytes(), 1, u64::MAX),
            )
        })
    });
    group.finish();
    Ok(())
}

fn reads(c: &mut Criterion) -> Result<(), StoreError> {
    let tmp = tempfile::tempdir().map_err(tmp_err)?;
    let store = open(tmp.path(), options(true, true))?;
    for i in 0..1000 {
        store.create_slot(&slot(format!("k{i}")), &SECRET)?;
    }
    let mut group = c.benchmark_group("slot_read");
    group.bench_function("load (1000 slots)", |b| {
        b.iter(|| black_box(store.load(black_box(SlotRef::new(1000, "k500")))))
    });
    group.bench_function("contains (no decrypt)", |b| {
        b.iter(|| black_box(store.contains(black_box(SlotRef::new(1000, "k500")))))
    });
    group.finish();
    Ok(())
}

fn all(c: &mut Criterion) {
    if let Err(e) = writes(c).and_then(|()| reads(c)) {
        eprintln!("benchmark setup failed: {e}");
    }
}

criterion_group!(benches, all);
criterion_main!(benches);
