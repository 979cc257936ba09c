//! Criterion: one sandbox cycle (wake, run, commit, scrub) of seed 003's policy against the
//! bare-wasmi floor (fresh store + instantiate + call of the same module), and the scrub
//! primitive on wasmi guest memory against a plain `memset` of the same bytes.
//!
//! `cargo bench -p warden-sandbox --bench cycle -- --warm-up-time 1 --measurement-time 3`

mod common;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wasmi::{Engine, Memory, MemoryType, Store};

fn cycle(c: &mut Criterion) {
    let input = common::injection();
    let mut group = c.benchmark_group("cycle");
    match common::sandbox_setup() {
        Ok((module, mut sandbox)) => {
            group.bench_function("sandbox_run_cycle", |b| {
                b.iter(|| black_box(sandbox.run_cycle(&module, black_box(&input))))
            });
        }
        Err(e) => eprintln!("sandbox set-up failed: {e}"),
    }
    match common::Floor::new() {
        Ok(floor) => {
            group.bench_function("bare_wasmi_instantiate_call", |b| {
                b.iter(|| black_box(floor.run().ok()))
            });
        }
        Err(e) => eprintln!("floor set-up failed: {e}"),
    }
    group.finish();
}

fn scrub(c: &mut Criterion) {
    let mut group = c.benchmark_group("scrub");
    for pages in [1u32, 16] {
        let bytes = pages as usize * 65_536;
        group.throughput(Throughput::Bytes(bytes as u64));
        let engine = Engine::default();
        let mut store = Store::new(&engine, ());
        let Ok(memory) = Memory::new(&mut store, MemoryType::new(pages, Some(pages))) else {
            eprintln!("cannot create a {pages}-page memory");
            continue;
        };
        // Dirty it once so the pages are resident, as after a real cycle.
        memory.data_mut(&mut store).fill(0xA5);
        group.bench_with_input(
            BenchmarkId::new("scrub_guest_memory", bytes),
            &bytes,
            |b, _| b.iter(|| warden_sandbox::scrub::scrub_guest_memory(memory, &mut store)),
        );
        // Baseline: `ptr::write_bytes` of the same bytes, written as `fill(0)` (the same
        // `memset`; bench targets of this crate carry no `unsafe`), no barrier.
        let mut plain = vec![0xA5u8; bytes];
        group.bench_with_input(BenchmarkId::new("write_bytes", bytes), &bytes, |b, _| {
            b.iter(|| {
                black_box(&mut plain).fill(0);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cycle, scrub);
criterion_main!(benches);
