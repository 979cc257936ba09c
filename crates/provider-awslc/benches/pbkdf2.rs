//! Issue 12: what interruptibility costs. PBKDF2-HMAC-SHA256, 100,000 iterations, 32-byte
//! output, in one same run:
//! - `aws-lc one-shot`: `pbkdf2::derive` (cannot stop at a deadline; what the daemon used);
//! - `within deadline`: `kdf::pbkdf2_hmac_sha256_within` (RFC 8018 over RustCrypto's
//!   HMAC-SHA256, the deadline asked every `PBKDF2_CHUNK` iterations; what the daemon uses
//!   now). An earlier version of it over aws-lc's HMAC (one FFI call per iteration) took
//!   1.67x the one-shot.
//!
//! Run: `cargo bench -p warden-crypto --bench pbkdf2`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_provider_awslc::kdf::{pbkdf2_hmac_sha256, pbkdf2_hmac_sha256_within};

const ITERATIONS: u32 = 100_000;

fn pbkdf2(c: &mut Criterion) {
    let mut g = c.benchmark_group("pbkdf2-sha256/100k");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    let mut out = [0u8; 32];
    g.bench_function("aws-lc one-shot", |b| {
        b.iter(|| pbkdf2_hmac_sha256(black_box(b"password"), b"salt", ITERATIONS, &mut out))
    });
    g.bench_function("within deadline", |b| {
        b.iter(|| {
            pbkdf2_hmac_sha256_within(
                black_box(b"password"),
                b"salt",
                ITERATIONS,
                &mut out,
                &|| false,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, pbkdf2);
criterion_main!(benches);
