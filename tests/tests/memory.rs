//! Resident memory of `wardend` before and after one million requests (goal: flat).
//!
//! Ignored by default (it takes a while); run explicitly, ideally in release:
//! `cargo build --release -p warden-daemon --bin wardend &&
//!  cargo test --release -p warden-e2e --test memory -- --ignored --nocapture`.
//! Set `WARDEN_MEMORY_REQUESTS` to change the request count.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::time::Instant;

use warden_client::*;
use warden_e2e::{Daemon, DaemonOptions};

/// The request mix one client runs: ping, a full HMAC (reset/init/update/finalize), AES-256
/// key generate + release (7 requests): every loop touches the arena, the resource table and
/// the provider.
fn workload(stack: &CryptoStack, loops: u64) -> u64 {
    let km = stack.key_management();
    let hk = km
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::HmacKey)
                .key_len(32)
                .permissions(KeyOperationPermission::MAC)
                .build()
                .unwrap(),
        )
        .unwrap();
    let mut mac = stack
        .create_mac_context(
            &ContextConfig::builder()
                .algorithm(Algorithm::HmacSha256)
                .key(hk.id())
                .build()
                .unwrap(),
        )
        .unwrap();
    let aes = GenerateKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(KeyOperationPermission::ENCRYPT)
        .build()
        .unwrap();
    let mut requests = 0;
    for i in 0..loops {
        stack.ping(&i.to_le_bytes()).unwrap();
        // A fresh context starts Created; every later round resets the finalized one.
        if i > 0 {
            mac.reset().unwrap();
        }
        mac.init().unwrap();
        mac.update(&[7u8; 64]).unwrap();
        mac.finalize().unwrap();
        let k = km.generate_key(&aes).unwrap();
        k.release().unwrap();
        requests += if i > 0 { 7 } else { 6 };
    }
    requests
}

#[test]
#[ignore = "long-running; run explicitly (see the file header)"]
fn resident_memory_stays_flat_over_a_million_requests() {
    let total: u64 = std::env::var("WARDEN_MEMORY_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let d = Daemon::start_with(DaemonOptions::default()).unwrap();
    let clients = 4u64;
    // Warm-up: let the allocator and arena pool reach steady state before the baseline.
    let warm = d.stack().unwrap();
    workload(&warm, 2_000);
    drop(warm);
    let before = d.vm_rss_kib().unwrap();
    let t = Instant::now();
    let per_client_loops = total / 7 / clients;
    let served: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..clients)
            .map(|_| {
                let cfg = d.stack_config().dedicated_connection(true);
                s.spawn(move || workload(&CryptoStack::connect(cfg).unwrap(), per_client_loops))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let elapsed = t.elapsed();
    let after = d.vm_rss_kib().unwrap();
    let status = d.stack().unwrap().status().unwrap();
    println!(
        "requests={served} clients={clients} elapsed={elapsed:?} rate={:.0}/s \
         VmRSS before={before} KiB after={after} KiB delta={} KiB",
        served as f64 / elapsed.as_secs_f64(),
        after as i64 - before as i64
    );
    assert_eq!(
        (status.live_keys, status.live_contexts),
        (0, 0),
        "{status:?}"
    );
    // Flat: growth bounded by 1 MiB over the whole run (no per-request leak: even 1 byte per
    // request would be ~1 MiB).
    assert!(
        after <= before + 1024,
        "VmRSS grew from {before} KiB to {after} KiB"
    );
}
