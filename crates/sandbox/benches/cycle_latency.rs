//! Per-cycle latency percentiles (p50 / p99 / p99.9 / max): sandbox cycle vs the bare-wasmi
//! floor, both on seed 003's policy with the bench injection, and the 64 KiB guest-memory
//! scrub alone (after re-dirtying the page, outside the bracket). Each single cycle is bracketed
//! by two `Instant::now()` calls; `ROUNDS` rounds of `N` cycles each, interleaved, and the
//! median of each percentile over the rounds is printed. Not criterion (criterion reports
//! central estimates, not tails).
//!
//! `cargo bench -p warden-sandbox --bench cycle_latency`

mod common;

use std::hint::black_box;
use std::time::Instant;

const N: usize = 20_000;
const ROUNDS: usize = 5;
const QUANTILES: [(&str, f64); 4] = [("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999), ("max", 1.0)];

fn percentiles(samples: &mut [u64]) -> [u64; 4] {
    samples.sort_unstable();
    let last = samples.len().saturating_sub(1);
    QUANTILES.map(|(_, q)| {
        let idx = ((samples.len() as f64 * q).ceil() as usize).saturating_sub(1);
        samples.get(idx.min(last)).copied().unwrap_or(0)
    })
}

fn median(rounds: &[[u64; 4]]) -> [u64; 4] {
    std::array::from_fn(|k| {
        let mut col: Vec<u64> = rounds.iter().map(|r| r[k]).collect();
        col.sort_unstable();
        col.get(col.len() / 2).copied().unwrap_or(0)
    })
}

fn main() -> common::BenchResult<()> {
    let (module, mut sandbox) = common::sandbox_setup()?;
    let floor = common::Floor::new()?;
    let input = common::injection();

    // Sanity: both paths compute the seed's answer.
    if sandbox.run_cycle(&module, &input)?.verdict != 3 || floor.run()? != 3 {
        return Err("policy did not yield 3".into());
    }

    // The scrub of the policy's one-page memory on its own, to attribute the overhead.
    let engine = wasmi::Engine::default();
    let mut store = wasmi::Store::new(&engine, ());
    let memory = wasmi::Memory::new(&mut store, wasmi::MemoryType::new(1, Some(1)))?;

    let mut sandbox_rounds = Vec::new();
    let mut floor_rounds = Vec::new();
    let mut scrub_rounds = Vec::new();
    let mut samples = Vec::with_capacity(N);
    for _ in 0..ROUNDS {
        samples.clear();
        for _ in 0..N {
            let t = Instant::now();
            let r = sandbox.run_cycle(&module, black_box(&input));
            samples.push(t.elapsed().as_nanos() as u64);
            black_box(r.is_ok());
        }
        sandbox_rounds.push(percentiles(&mut samples));
        samples.clear();
        for _ in 0..N {
            let t = Instant::now();
            let r = floor.run();
            samples.push(t.elapsed().as_nanos() as u64);
            black_box(r.is_ok());
        }
        floor_rounds.push(percentiles(&mut samples));
        samples.clear();
        for _ in 0..N {
            memory.data_mut(&mut store).fill(0xA5);
            let t = Instant::now();
            let n = warden_sandbox::scrub::scrub_guest_memory(memory, &mut store);
            samples.push(t.elapsed().as_nanos() as u64);
            black_box(n);
        }
        scrub_rounds.push(percentiles(&mut samples));
    }
    let s = median(&sandbox_rounds);
    let f = median(&floor_rounds);
    let z = median(&scrub_rounds);
    println!("{N} cycles x {ROUNDS} rounds, median of per-round percentiles (ns)");
    println!(
        "{:<28}{:>10}{:>10}{:>10}{:>10}",
        "", "p50", "p99", "p99.9", "max"
    );
    println!(
        "{:<28}{:>10}{:>10}{:>10}{:>10}",
        "sandbox run_cycle", s[0], s[1], s[2], s[3]
    );
    println!(
        "{:<28}{:>10}{:>10}{:>10}{:>10}",
        "bare wasmi inst+call", f[0], f[1], f[2], f[3]
    );
    println!(
        "{:<28}{:>10}{:>10}{:>10}{:>10}",
        "scrub 64 KiB guest memory", z[0], z[1], z[2], z[3]
    );
    let ratio = |a: u64, b: u64| a as f64 / b.max(1) as f64;
    println!(
        "ratio sandbox/floor: p50 {:.2}x, p99 {:.2}x",
        ratio(s[0], f[0]),
        ratio(s[1], f[1])
    );
    Ok(())
}
