//! The `SlowProvider` test double delays every operation and otherwise behaves like the
//! provider it wraps (feature `test-util`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use warden_core::{Algorithm, GenerateKeyParams, KeyOperationPermission as P};
use warden_crypto::slow::SlowProvider;
use warden_provider_awslc::{ContextKind, Provider};

#[test]
fn every_call_is_delayed_and_results_are_unchanged() {
    let delay = Duration::from_millis(30);
    let slow = SlowProvider::new(Arc::new(provider()), delay);
    assert_eq!(slow.info().name(), "aws-lc-rs");

    let start = Instant::now();
    let key = slow
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::HmacKey)
                .key_len(32)
                .permissions(P::MAC)
                .build()
                .unwrap(),
        )
        .unwrap();
    assert!(start.elapsed() >= delay);

    let mut ctx = slow
        .create_context(ContextKind::Hash, &config(Algorithm::Sha256, None), None)
        .unwrap();
    ctx.init(&[]).unwrap();
    let start = Instant::now();
    ctx.update(b"abc", &mut []).unwrap();
    let mut out = [0u8; 32];
    ctx.finalize(&[], &mut out).unwrap();
    assert!(start.elapsed() >= delay * 2);
    assert_eq!(
        hex::encode(out),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );

    // Keys made by the slow provider work with it; errors pass through unchanged.
    let mac = slow.create_context(
        ContextKind::Mac,
        &config(Algorithm::HmacSha384, None),
        Some(Arc::new(key)),
    );
    assert!(mac.is_ok());
    let mut r = slow.create_random_context().unwrap();
    let start = Instant::now();
    assert_eq!(
        r.update(&[], &mut out).unwrap_err().code(),
        warden_core::ErrorCode::StreamNotInitialized
    );
    assert!(start.elapsed() >= delay);
}
