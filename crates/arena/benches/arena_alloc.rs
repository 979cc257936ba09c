//! Allocation throughput: 1M allocations of a 24-byte `Copy` object, warden-arena vs bumpalo
//! (fixed capacity + allocation limit, so it never grows either) vs `Box::new`.
//!
//! * `live`: all 1M objects stay allocated (24 MB region); a pointer to each is stored into a
//!   pre-reserved `Vec` for all three contenders (equal overhead; keeps the boxes alive).
//!   Only the allocation loop is timed; session end / reset / frees happen untimed.
//! * `hot`: a small (96 KiB) region reused: batches of 4096 allocations, then session end /
//!   `reset` / frees. `*_alloc_only` times the allocation loops only; `*_with_reset` times
//!   everything, including warden's zeroing at session end (bumpalo does not zero).
//!
//! After the criterion groups, interleaved runs (rounds alternating 100k live allocations
//! with each contender; and 4096-allocation hot batches, arena vs bumpalo; medians of the
//! per-round ratios) give ratios that survive a busy machine better than comparing
//! criterion figures taken minutes apart.
//!
//! `cargo bench -p warden-arena --bench arena_alloc -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use bumpalo::Bump;
use criterion::{Criterion, Throughput, criterion_group};
use warden_arena::Arena;

const N: usize = 1_000_000;
const BATCH: usize = 4096;
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

fn live(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc_24b_1m_live");
    g.throughput(Throughput::Elements(N as u64)).sample_size(10);
    let mut ptrs: Vec<*const Obj> = Vec::with_capacity(N);

    let Ok(mut arena) = Arena::with_capacity(N * OBJ) else {
        eprintln!("cannot map the arena; skipping");
        return;
    };
    g.bench_function("warden_arena", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                ptrs.clear();
                let session = arena.session();
                let t = Instant::now();
                for i in 0..N {
                    if let Ok(r) = session.try_alloc(obj(black_box(i))) {
                        ptrs.push(r);
                    }
                }
                total += t.elapsed();
                black_box(&ptrs);
                drop(session);
            }
            total
        })
    });

    let mut bump = Bump::with_capacity(N * OBJ);
    bump.set_allocation_limit(Some(N * OBJ));
    g.bench_function("bumpalo", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                ptrs.clear();
                let t = Instant::now();
                for i in 0..N {
                    if let Ok(r) = bump.try_alloc(obj(black_box(i))) {
                        ptrs.push(r);
                    }
                }
                total += t.elapsed();
                black_box(&ptrs);
                bump.reset();
            }
            total
        })
    });

    let mut boxes: Vec<Box<Obj>> = Vec::with_capacity(N);
    g.bench_function("box_new", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                for i in 0..N {
                    boxes.push(Box::new(obj(black_box(i))));
                }
                total += t.elapsed();
                black_box(&boxes);
                boxes.clear();
            }
            total
        })
    });
    g.finish();
}

fn hot(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc_24b_1m_hot");
    g.throughput(Throughput::Elements(N as u64)).sample_size(10);
    let batches = N / BATCH + 1;
    let mut ptrs: Vec<*const Obj> = Vec::with_capacity(BATCH);

    let Ok(mut arena) = Arena::with_capacity(BATCH * OBJ) else {
        eprintln!("cannot map the arena; skipping");
        return;
    };
    g.bench_function("warden_arena_alloc_only", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..batches {
                    ptrs.clear();
                    let session = arena.session();
                    let t = Instant::now();
                    for i in 0..BATCH {
                        if let Ok(r) = session.try_alloc(obj(black_box(i))) {
                            ptrs.push(r);
                        }
                    }
                    total += t.elapsed();
                    black_box(&ptrs);
                }
            }
            total
        })
    });
    g.bench_function("warden_arena_with_reset", |b| {
        b.iter(|| {
            for _ in 0..batches {
                ptrs.clear();
                let session = arena.session();
                for i in 0..BATCH {
                    if let Ok(r) = session.try_alloc(obj(black_box(i))) {
                        ptrs.push(r);
                    }
                }
                black_box(&ptrs);
            }
        })
    });

    let mut bump = Bump::with_capacity(BATCH * OBJ);
    bump.set_allocation_limit(Some(BATCH * OBJ));
    g.bench_function("bumpalo_alloc_only", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..batches {
                    ptrs.clear();
                    let t = Instant::now();
                    for i in 0..BATCH {
                        if let Ok(r) = bump.try_alloc(obj(black_box(i))) {
                            ptrs.push(r);
                        }
                    }
                    total += t.elapsed();
                    black_box(&ptrs);
                    bump.reset();
                }
            }
            total
        })
    });
    g.bench_function("bumpalo_with_reset", |b| {
        b.iter(|| {
            for _ in 0..batches {
                ptrs.clear();
                for i in 0..BATCH {
                    if let Ok(r) = bump.try_alloc(obj(black_box(i))) {
                        ptrs.push(r);
                    }
                }
                black_box(&ptrs);
                bump.reset();
            }
        })
    });

    let mut boxes: Vec<Box<Obj>> = Vec::with_capacity(BATCH);
    g.bench_function("box_new_alloc_only", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                for _ in 0..batches {
                    let t = Instant::now();
                    for i in 0..BATCH {
                        boxes.push(Box::new(obj(black_box(i))));
                    }
                    total += t.elapsed();
                    black_box(&boxes);
                    boxes.clear();
                }
            }
            total
        })
    });
    g.bench_function("box_new_with_free", |b| {
        b.iter(|| {
            for _ in 0..batches {
                for i in 0..BATCH {
                    boxes.push(Box::new(obj(black_box(i))));
                }
                black_box(&boxes);
                boxes.clear();
            }
        })
    });
    g.finish();
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Live case, interleaved: `rounds` rounds of `round` allocations all kept, each contender
/// in turn. Every timed loop must have succeeded for every allocation (checked outside the
/// timer), so a failing contender cannot look fast.
fn interleaved_live(round: usize, rounds: usize) {
    let (Ok(mut arena), mut bump) = (
        Arena::with_capacity(round * OBJ),
        Bump::with_capacity(round * OBJ),
    ) else {
        return;
    };
    bump.set_allocation_limit(Some(round * OBJ));
    let mut ptrs: Vec<*const Obj> = Vec::with_capacity(round);
    let mut boxes: Vec<Box<Obj>> = Vec::with_capacity(round);
    let (mut ta, mut tb, mut tc, mut r_bump, mut r_box) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        ptrs.clear();
        let session = arena.session();
        let t = Instant::now();
        for i in 0..round {
            if let Ok(r) = session.try_alloc(obj(black_box(i))) {
                ptrs.push(r);
            }
        }
        let a = t.elapsed().as_secs_f64();
        assert_eq!(ptrs.len(), round, "warden-arena allocation failed");
        black_box(&ptrs);
        drop(session);

        ptrs.clear();
        let t = Instant::now();
        for i in 0..round {
            if let Ok(r) = bump.try_alloc(obj(black_box(i))) {
                ptrs.push(r);
            }
        }
        let b = t.elapsed().as_secs_f64();
        assert_eq!(ptrs.len(), round, "bumpalo allocation failed");
        black_box(&ptrs);
        bump.reset();

        let t = Instant::now();
        for i in 0..round {
            boxes.push(Box::new(obj(black_box(i))));
        }
        let c = t.elapsed().as_secs_f64();
        black_box(&boxes);
        boxes.clear();

        let per = |x: f64| x * 1e9 / round as f64;
        ta.push(per(a));
        tb.push(per(b));
        tc.push(per(c));
        r_bump.push(a / b.max(1e-12));
        r_box.push(a / c.max(1e-12));
    }
    println!(
        "\ninterleaved A/B/C, {rounds} rounds of {round} live 24-byte allocations (ns/alloc, medians)"
    );
    println!(
        "  warden_arena {:.2}  bumpalo {:.2}  Box::new {:.2}",
        median(&mut ta),
        median(&mut tb),
        median(&mut tc)
    );
    println!(
        "  median ratio warden/bumpalo {:.3} (goal <= 1.0), warden/Box::new {:.3}",
        median(&mut r_bump),
        median(&mut r_box)
    );
}

/// Hot case, interleaved: batches of `BATCH` allocations in a small reused region; only
/// the allocation loops are timed (session end / reset happen outside the timer).
fn interleaved_hot() {
    let (Ok(mut arena), mut bump) = (
        Arena::with_capacity(BATCH * OBJ),
        Bump::with_capacity(BATCH * OBJ),
    ) else {
        return;
    };
    bump.set_allocation_limit(Some(BATCH * OBJ));
    let mut ptrs: Vec<*const Obj> = Vec::with_capacity(BATCH);
    let (mut ta, mut tb, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..2001 {
        ptrs.clear();
        let session = arena.session();
        let t = Instant::now();
        for i in 0..BATCH {
            if let Ok(r) = session.try_alloc(obj(black_box(i))) {
                ptrs.push(r);
            }
        }
        let a = t.elapsed().as_secs_f64();
        assert_eq!(ptrs.len(), BATCH, "warden-arena allocation failed");
        black_box(&ptrs);
        drop(session);

        ptrs.clear();
        let t = Instant::now();
        for i in 0..BATCH {
            if let Ok(r) = bump.try_alloc(obj(black_box(i))) {
                ptrs.push(r);
            }
        }
        let b = t.elapsed().as_secs_f64();
        assert_eq!(ptrs.len(), BATCH, "bumpalo allocation failed");
        black_box(&ptrs);
        bump.reset();
        ta.push(a * 1e9 / BATCH as f64);
        tb.push(b * 1e9 / BATCH as f64);
        ratio.push(a / b.max(1e-12));
    }
    println!("interleaved hot, 2001 rounds of {BATCH} allocations in a reused 96 KiB region");
    println!(
        "  warden_arena {:.2}  bumpalo {:.2} ns/alloc, median ratio {:.3} (goal <= 1.0)",
        median(&mut ta),
        median(&mut tb),
        median(&mut ratio)
    );
}

criterion_group!(benches, live, hot);

fn main() {
    // `-- --interleaved-only` skips the criterion groups (quick ratio runs).
    if !std::env::args().any(|a| a == "--interleaved-only") {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    interleaved_live(100_000, 101);
    // The size: 1M live allocations (24 MB), fewer rounds.
    interleaved_live(1_000_000, 21);
    interleaved_hot();
}
