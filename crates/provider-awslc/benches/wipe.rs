//! Issue 12: how buffers are wiped when a stream ends, against the seal they serve.
//!
//! - `wipe/16KiB/zeroize-bytewise`: what `Stream::reset` did before (`zeroize` on `[u8]`:
//!   one volatile store per byte);
//! - `wipe/16KiB/memset-barrier`: what it does now (`warden_arena::wipe`: an optimised
//!   memset the compiler must assume is read);
//! - `seal/16KiB/streamed`: a whole streamed AES-256-GCM seal (init, update 16 KiB into a
//!   budgeted chunk, finalize, reset), so the wipe's share of a seal is visible.
//!
//! Run: `cargo bench -p warden-crypto --bench wipe`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use warden_core::{
    Algorithm, CipherDirection, ContextConfig, GenerateKeyParams, KeyOperationPermission as P,
    Persistence, ResourceId, ResourceType,
};
use warden_provider_awslc::{AwsLcProvider, ContextKind, Provider};

const LEN: usize = 16 * 1024;

fn wipes(c: &mut Criterion) {
    let mut g = c.benchmark_group("wipe/16KiB");
    g.throughput(Throughput::Bytes(LEN as u64));
    let mut buf = vec![0xA5u8; LEN];
    g.bench_function("zeroize-bytewise", |b| {
        b.iter(|| zeroize::Zeroize::zeroize(black_box(buf.as_mut_slice())))
    });
    g.bench_function("memset-barrier", |b| {
        b.iter(|| warden_arena::wipe(black_box(buf.as_mut_slice())))
    });
    g.finish();
}

fn seal(c: &mut Criterion) {
    let p = AwsLcProvider::new();
    let key = match p.generate_key(
        &GenerateKeyParams::builder()
            .algorithm(Algorithm::Aes256Key)
            .permissions(P::ENCRYPT)
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
    ) {
        Ok(k) => Arc::new(k),
        Err(e) => panic!("{e}"),
    };
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Aes256Gcm)
        .key(ResourceId::new(
            1,
            ResourceType::Key,
            Persistence::Ephemeral,
            0,
        ))
        .direction(CipherDirection::Encrypt)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ctx = p
        .create_context(ContextKind::Aead, &cfg, Some(key))
        .unwrap_or_else(|e| panic!("{e}"));
    let input = vec![7u8; LEN];
    let mut out = vec![0u8; LEN];
    let mut g = c.benchmark_group("seal/16KiB");
    g.throughput(Throughput::Bytes(LEN as u64));
    g.bench_function("streamed", |b| {
        b.iter(|| {
            let r = ctx
                .init(&[])
                .and_then(|()| ctx.update(black_box(&input), &mut []))
                .and_then(|_| ctx.finalize(&[], &mut out))
                .and_then(|n| ctx.reset().map(|()| n));
            black_box(r.unwrap_or_else(|e| panic!("{e}")))
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50);
    targets = wipes, seal
}
criterion_main!(benches);
