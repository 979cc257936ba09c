//! Session end (zeroing exactly the used bytes, optimiser-proof) vs a plain
//! `core::ptr::write_bytes` of the same N bytes, and vs `zeroize` on a byte slice
//! (byte-wise volatile) for contrast. Each warden iteration opens a session, allocates N
//! bytes (a few ns) and drops the session, which zeroes them.
//!
//! After the criterion groups, an interleaved A/B run prints the ratio robustly on a busy
//! machine: 101 rounds alternate a batch of warden session ends with a batch of
//! `write_bytes` of the same N (≈ 16 MiB zeroed per batch); each batch is timed by the wall
//! clock and by the thread's CPU clock, and the medians of the per-round ratios are shown.
//!
//! `cargo bench -p warden-arena --bench arena_zeroing -- --warm-up-time 1 --measurement-time 3`
//! (`-- --interleaved-only` runs just the interleaved ratios, including used-vs-capacity).

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

/// Thread CPU time: unlike wall time it does not count time spent descheduled, which on
/// a shared, overloaded 2-vCPU box is most of it.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; the clock id is a constant supported on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Per-op medians over rounds that alternate a batch of `a` with a batch of `b`:
/// (wall ratio, cpu ratio, wall ns of a, wall ns of b), ratios being medians of per-round
/// `a / b`.
fn interleaved(
    rounds: usize,
    reps: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (f64, f64, f64, f64) {
    let (mut ta, mut tb, mut wall, mut cpu) = (vec![], vec![], vec![], vec![]);
    let time = |f: &mut dyn FnMut()| {
        let (w, c) = (Instant::now(), thread_cpu());
        for _ in 0..reps {
            f();
        }
        (w.elapsed().as_secs_f64(), (thread_cpu() - c).as_secs_f64())
    };
    for _ in 0..rounds {
        let (wa, ca) = time(&mut a);
        let (wb, cb) = time(&mut b);
        ta.push(wa * 1e9 / reps as f64);
        tb.push(wb * 1e9 / reps as f64);
        wall.push(wa / wb.max(1e-12));
        cpu.push(ca / cb.max(1e-12));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    (
        median(&mut wall),
        median(&mut cpu),
        median(&mut ta),
        median(&mut tb),
    )
}

fn interleaved_ratio() {
    println!("\ninterleaved A/B: warden session end vs ptr::write_bytes (goal: ratio <= 1.2)");
    for n in SIZES {
        let (Ok(mut arena), Ok(layout)) = (Arena::with_capacity(n), Layout::array::<u8>(n)) else {
            continue;
        };
        let mut buf = vec![1u8; n];
        // Batches of ~16 MiB zeroed, so the CPU-clock syscalls are noise.
        let reps = ((16usize << 20) / n).max(1);
        let (wall, cpu, a, b) = interleaved(
            101,
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
            "  N = {n:>8}: session end {a:>10.0} ns, write_bytes {b:>10.0} ns (wall); \
             median ratio wall {wall:.3}, thread-cpu {cpu:.3}"
        );
    }
}

/// Session-end cost tracks the bytes used, not the capacity: 4 KiB used in a 4 MiB arena vs
/// 4 KiB used in a 4 KiB arena (a capacity-proportional scrub would be ~1024x).
fn used_not_capacity() {
    println!("\ninterleaved A/B: 4 KiB used, 4 MiB arena vs 4 KiB arena (goal: ratio ~1)");
    let used = 4 << 10;
    let (Ok(mut big), Ok(mut small), Ok(layout)) = (
        Arena::with_capacity(4 << 20),
        Arena::with_capacity(used),
        Layout::array::<u8>(used),
    ) else {
        return;
    };
    let (wall, cpu, a, b) = interleaved(
        101,
        4096,
        || {
            let session = big.session();
            black_box(session.try_alloc_layout(layout).is_ok());
            drop(session);
        },
        || {
            let session = small.session();
            black_box(session.try_alloc_layout(layout).is_ok());
            drop(session);
        },
    );
    println!(
        "  4 MiB arena {a:>8.0} ns, 4 KiB arena {b:>8.0} ns per session (wall); \
         median ratio wall {wall:.3}, thread-cpu {cpu:.3}"
    );
}

/// The session end alone: `K` sessions are opened and filled to N untimed, then dropping all
/// `K` is timed against `write_bytes` of N bytes on `K` buffers (same total bytes, same cache
/// level). The A/B above also times opening the session and the allocation, which are not the
/// session end but cost a fixed ≈10 ns that is a third of a 4 KiB memset.
fn session_end_only() {
    println!(
        "\ninterleaved A/B, session end only: drop K filled sessions vs write_bytes on K buffers"
    );
    const K: usize = 64;
    for n in [4usize << 10, 64 << 10] {
        let Ok(layout) = Layout::array::<u8>(n) else {
            continue;
        };
        let Ok(mut arenas) = (0..K)
            .map(|_| Arena::with_capacity(n))
            .collect::<Result<Vec<_>, _>>()
        else {
            eprintln!("cannot map {K} arenas of {n} bytes; skipping");
            continue;
        };
        let mut bufs: Vec<Vec<u8>> = (0..K).map(|_| vec![1u8; n]).collect();
        let (mut ta, mut tb, mut ratio) = (vec![], vec![], vec![]);
        for _ in 0..201 {
            let sessions: Vec<_> = arenas.iter_mut().map(|a| a.session()).collect();
            for s in &sessions {
                black_box(s.try_alloc_layout(layout).is_ok());
            }
            let t = Instant::now();
            drop(black_box(sessions));
            let a = t.elapsed().as_secs_f64();
            let t = Instant::now();
            for b in &mut bufs {
                let p = black_box(b.as_mut_ptr());
                // SAFETY: `p` points to `b`, which is valid for `n` bytes.
                unsafe { core::ptr::write_bytes(p, 0, n) };
                black_box(p);
            }
            let b = t.elapsed().as_secs_f64();
            ta.push(a * 1e9 / K as f64);
            tb.push(b * 1e9 / K as f64);
            ratio.push(a / b.max(1e-12));
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
        };
        println!(
            "  N = {n:>6}: session end {:>7.1} ns, write_bytes {:>7.1} ns per item; median ratio {:.3}",
            median(&mut ta),
            median(&mut tb),
            median(&mut ratio)
        );
    }
}

criterion_group!(benches, zeroing);

fn main() {
    // `-- --interleaved-only` skips the criterion groups (quick ratio runs).
    if !std::env::args().any(|a| a == "--interleaved-only") {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    interleaved_ratio();
    session_end_only();
    used_not_capacity();
}
