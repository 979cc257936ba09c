//! Per-allocation latency percentiles (p50 / p99 / p99.9 / p99.99 / max) of a 24-byte
//! `Copy` object: warden-arena vs `Box::new` (glibc malloc), bumpalo for context.
//!
//! Method (no rdtsc): every single allocation is bracketed by two `Instant::now()` calls
//! (vDSO `clock_gettime(CLOCK_MONOTONIC)`); the same bracket around nothing is measured
//! too and reported as `timer`, so its percentiles show the floor every figure contains.
//! Scenario `live`: 1M allocations all kept alive (arena/bump region claimed and faulted
//! beforehand, boxes stored in a pre-reserved `Vec` outside the timed bracket). Scenario
//! `hot`: the same 1M allocations, with the 96 KiB arena / bump reset every 4096 and the
//! boxes freed every 4096 (outside the bracket). Each scenario runs `ROUNDS` times in one
//! process. `first` is round 1: for `Box::new` that is a fresh heap growing (page faults,
//! `brk`), which is what a daemon's first requests would pay; the arenas were claimed and
//! prefaulted before any timing, which is their design. `warm` is the median, per
//! percentile, of rounds 2..=ROUNDS (glibc reuses its freed chunks, no faults). Not a criterion bench (criterion
//! reports means, not tails); run with:
//!
//! `cargo bench -p warden-arena --bench alloc_latency`

use std::hint::black_box;
use std::time::Instant;

use bumpalo::Bump;
use warden_arena::{Arena, ArenaOptions};

const N: usize = 1_000_000;
const BATCH: usize = 4096;
const ROUNDS: usize = 5;
const OBJ: usize = core::mem::size_of::<Obj>();

/// The 24-byte `Copy` object of the issue.
#[derive(Clone, Copy)]
#[allow(dead_code)] // the payload is only ever written: it exists to have 24 bytes
struct Obj([u64; 3]);

#[inline(always)]
fn obj(i: usize) -> Obj {
    let i = i as u64;
    Obj([i, i ^ 0x5555, i.wrapping_mul(3)])
}

/// Time one call of `f` in nanoseconds.
#[inline(always)]
fn timed<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let t = Instant::now();
    let r = f();
    let ns = t.elapsed().as_nanos() as u64;
    (ns, r)
}

const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.50),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
    ("max", 1.0),
];

fn percentiles(samples: &mut [u64]) -> [u64; 5] {
    samples.sort_unstable();
    let last = samples.len().saturating_sub(1);
    QUANTILES.map(|(_, q)| {
        let idx = ((samples.len() as f64 * q).ceil() as usize).saturating_sub(1);
        samples.get(idx.min(last)).copied().unwrap_or(0)
    })
}

/// Percentiles of round 1 and the per-percentile median of the later rounds.
fn first_and_warm(mut run: impl FnMut(&mut Vec<u64>)) -> ([u64; 5], [u64; 5]) {
    let mut samples = Vec::with_capacity(N);
    let mut rounds: Vec<[u64; 5]> = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        samples.clear();
        run(&mut samples);
        rounds.push(percentiles(&mut samples));
    }
    let first = rounds.first().copied().unwrap_or_default();
    let warm = std::array::from_fn(|k| {
        let mut col: Vec<u64> = rounds.iter().skip(1).map(|r| r[k]).collect();
        col.sort_unstable();
        col.get(col.len() / 2).copied().unwrap_or(0)
    });
    (first, warm)
}

fn print_rows(name: &str, (first, warm): ([u64; 5], [u64; 5])) {
    print_row(&format!("{name} first"), first);
    print_row(&format!("{name} warm"), warm);
}

fn print_row(name: &str, p: [u64; 5]) {
    println!(
        "{name:<28} {:>8} {:>8} {:>8} {:>8} {:>9}",
        p[0], p[1], p[2], p[3], p[4]
    );
}

fn main() {
    let Ok(mut big) = Arena::with_capacity(N * OBJ) else {
        eprintln!("cannot map a {} MB arena", (N * OBJ) >> 20);
        return;
    };
    let huge = ArenaOptions {
        huge_pages: true,
        ..ArenaOptions::default()
    };
    let Ok(mut big_thp) = Arena::with_options(N * OBJ, huge) else {
        eprintln!("cannot map a {} MB arena", (N * OBJ) >> 20);
        return;
    };
    let Ok(mut small) = Arena::with_capacity(BATCH * OBJ) else {
        eprintln!("cannot map the small arena");
        return;
    };
    let mut bump = Bump::with_capacity(N * OBJ);
    bump.set_allocation_limit(Some(N * OBJ));
    let mut boxes: Vec<Box<Obj>> = Vec::with_capacity(N);

    println!("per-allocation latency, ns, median of {ROUNDS} rounds of {N} samples each");
    print_row_header();

    let timer = first_and_warm(|s| {
        for _ in 0..N {
            s.push(timed(|| ()).0);
        }
    });
    print_rows("timer (empty bracket)", timer);

    let arena_live = first_and_warm(|s| {
        let session = big.session();
        for i in 0..N {
            let (ns, r) = timed(|| session.try_alloc(obj(black_box(i))).is_ok());
            black_box(r);
            s.push(ns);
        }
    });
    print_rows("live  warden_arena", arena_live);

    let arena_live_thp = first_and_warm(|s| {
        let session = big_thp.session();
        for i in 0..N {
            let (ns, r) = timed(|| session.try_alloc(obj(black_box(i))).is_ok());
            black_box(r);
            s.push(ns);
        }
    });
    print_rows("live  warden_arena THP", arena_live_thp);

    let bump_live = first_and_warm(|s| {
        for i in 0..N {
            let (ns, r) = timed(|| bump.try_alloc(obj(black_box(i))).is_ok());
            black_box(r);
            s.push(ns);
        }
        bump.reset();
    });
    print_rows("live  bumpalo", bump_live);

    let box_live = first_and_warm(|s| {
        for i in 0..N {
            let (ns, b) = timed(|| Box::new(obj(black_box(i))));
            boxes.push(b);
            s.push(ns);
        }
        boxes.clear();
    });
    print_rows("live  Box::new", box_live);

    let arena_hot = first_and_warm(|s| {
        let mut done = 0;
        while done < N {
            let session = small.session();
            for i in 0..BATCH.min(N - done) {
                let (ns, r) = timed(|| session.try_alloc(obj(black_box(i))).is_ok());
                black_box(r);
                s.push(ns);
            }
            done += BATCH;
        }
    });
    print_rows("hot   warden_arena", arena_hot);

    let box_hot = first_and_warm(|s| {
        let mut done = 0;
        while done < N {
            for i in 0..BATCH.min(N - done) {
                let (ns, b) = timed(|| Box::new(obj(black_box(i))));
                boxes.push(b);
                s.push(ns);
            }
            boxes.clear();
            done += BATCH;
        }
    });
    print_rows("hot   Box::new", box_hot);

    let ratio = |a: u64, b: u64| b as f64 / a.max(1) as f64;
    println!();
    println!("p99.99 ratio Box::new / warden_arena (goal: >= 5x):");
    for (name, arena, boxed) in [
        ("live first", arena_live.0, box_live.0),
        ("live warm", arena_live.1, box_live.1),
        ("live THP first", arena_live_thp.0, box_live.0),
        ("live THP warm", arena_live_thp.1, box_live.1),
        ("hot first", arena_hot.0, box_hot.0),
        ("hot warm", arena_hot.1, box_hot.1),
    ] {
        println!(
            "  {name:<16} {:>6} ns vs {:>6} ns: {:.1}x",
            arena[3],
            boxed[3],
            ratio(arena[3], boxed[3])
        );
    }
    println!(
        "timer floor (empty bracket) p50 {} ns, p99.99 {} ns",
        timer.1[0], timer.1[3]
    );
}

fn print_row_header() {
    print!("{:<28}", "");
    for (name, _) in QUANTILES {
        print!(" {name:>8}");
    }
    println!();
}
