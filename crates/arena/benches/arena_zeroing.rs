//! Session end (zeroing exactly the used bytes, optimiser-proof) vs a plain
//! `core::ptr::write_bytes` of the same N bytes, and vs `zeroize` on a byte slice
//! (byte-wise volatile) for contrast. Each warden iteration opens a session, allocates N
//! bytes (a few ns) and drops the session, which zeroes them.
//!
//! After the criterion groups, an interleaved A/B run prints the ratio robustly on a busy
//! machine: rounds alternate a batch of warden session ends with a batch of `write_bytes`
//! of the same N (batch ≈ 1 MiB zeroed), and the median of the per-round ratios is shown.
//!
//! `cargo bench -p warden-arena --bench arena_zeroing -- --warm-up-time 1 --measurement-time 3`

use std::alloc::Layout;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use warden_arena::Arena;
use zeroize::Zeroize;

const SIZES: [usize; 4] = [4 << 10, 64 << 10, 1 << 20, 4 << 20];

fn zeroing(c: &mut Criterion) {
    let mut g = c.benchmark_group("session_end_zeroing");
    for n in SIZES {
        g.throughput(Throughput::Bytes(n as u64));
        let Ok(mut arena) = Arena::with_capacity(n) else {
            eprintln!("cannot map a {n}-byte arena; skipping");
            continue;
        };
        let Ok(layout) = Layout::array::<u8>(n) else {
            continue;
        };
        g.bench_with_input(BenchmarkId::new("warden_session_end", n), &n, |b, _| {
            b.iter(|| {
                let session = arena.session();
                // Raise the high-water mark to n without writing: only the zeroing at
                // session end touches the bytes, like the baseline below.
                black_box(session.try_alloc_layout(layout).is_ok());
                drop(session);
            })
        });

        let mut buf = vec![1u8; n];
        g.bench_with_input(BenchmarkId::new("ptr_write_bytes", n), &n, |b, &n| {
            b.iter(|| {
                let p = black_box(buf.as_mut_ptr());
                // SAFETY: `p` points to `buf`, which is valid for `n` bytes.
                unsafe { core::ptr::write_bytes(p, 0, n) };
                black_box(p);
            })
        });

        if n <= 1 << 20 {
            g.bench_with_input(BenchmarkId::new("zeroize_bytes", n), &n, |b, _| {
                b.iter(|| {
                    black_box(&mut buf[..]).zeroize();
                })
            });
        }
    }
    g.finish();
}

/// Median of the per-round ratios `a / b` and the medians of `a` and `b` (ns per op).
fn interleaved(
    rounds: usize,
    reps: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (f64, f64, f64) {
    let mut ta = Vec::with_capacity(rounds);
    let mut tb = Vec::with_capacity(rounds);
    let mut ratios = Vec::with_capacity(rounds);
    let time = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        t.elapsed()
    };
    for _ in 0..rounds {
        let da: Duration = time(&mut a);
        let db: Duration = time(&mut b);
        ta.push(da.as_nanos() as f64 / reps as f64);
        tb.push(db.as_nanos() as f64 / reps as f64);
        ratios.push(da.as_secs_f64() / db.as_secs_f64().max(1e-12));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    (median(&mut ratios), median(&mut ta), median(&mut tb))
}

fn interleaved_ratio() {
    println!("\ninterleaved A/B: warden session end vs ptr::write_bytes (goal: ratio <= 1.2)");
    for n in SIZES {
        let (Ok(mut arena), Ok(layout)) = (Arena::with_capacity(n), Layout::array::<u8>(n)) else {
            continue;
        };
        let mut buf = vec![1u8; n];
        let reps = ((1usize << 20) / n).max(1);
        let (ratio, a, b) = interleaved(
            301,
            reps,
            || {
                let session = arena.session();
                black_box(session.try_alloc_layout(layout).is_ok());
                drop(session);
            },
            || {
                let p = black_box(buf.as_mut_ptr());
                // SAFETY: `p` points to `buf`, which is valid for `n` bytes.
                unsafe { core::ptr::write_bytes(p, 0, n) };
                black_box(p);
            },
        );
        println!(
            "  N = {n:>8}: session end {a:>10.0} ns, write_bytes {b:>10.0} ns, median ratio {ratio:.3}"
        );
    }
}

criterion_group!(benches, zeroing);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    interleaved_ratio();
}
