//! Session end (zeroing exactly the used bytes, optimiser-proof) vs a plain
//! `core::ptr::write_bytes` of the same N bytes, and vs `zeroize` on a byte slice
//! (byte-wise volatile) for contrast. Each warden iteration opens a session, allocates N
//! bytes (a few ns) and drops the session, which zeroes them.
//!
//! `cargo bench -p warden-arena --bench arena_zeroing -- --warm-up-time 1 --measurement-time 3`

use std::alloc::Layout;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
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

criterion_group!(benches, zeroing);
criterion_main!(benches);
