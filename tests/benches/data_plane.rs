//! The shared-memory data plane (issue 13) against a real `wardend`, each case compared in the
//! same run with its in-process baseline (`warden-crypto` over aws-lc-rs, the code the daemon
//! itself calls):
//!
//! - `aes256gcm_seal/{64KiB,1MiB,16MiB}`: one-shot seal region → region vs in process
//!   (out-of-place into a second buffer, like the daemon);
//! - `ed25519_sign_1MiB`, `mldsa65_sign_1MiB`: one-shot over a region vs in process;
//! - `inline_ping/{1KiB,32KiB}`: the inline (socket) path, for its per-KiB cost;
//! - `aes256gcm_seal_batch32/{64KiB,1MiB}`: 32 seals through `seal_regions` (pipelined) vs in
//!   process; `ed25519_sign_256B_batch32`: 32 small signatures one call each, through
//!   `sign_many` (pipelined), and in process.
//!
//! Every daemon case runs twice, against two daemons: `data_plane` (or `default`) with the
//! default configuration on both sides, and `busy_poll` with the daemon's
//! `limits.busy_poll_us = 200` and the client's `StackConfig::busy_poll(1 ms)`, so neither
//! side sleeps between a request and its answer.
//!
//! Run: `cargo build --release -p warden-daemon --bin wardend && cargo bench -p warden-e2e
//! --bench data_plane -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use warden_client::*;
use warden_crypto::{ContextKind, Provider};
use warden_e2e::inproc;
use warden_e2e::{Daemon, DaemonOptions};

type BoxErr = Box<dyn std::error::Error>;

fn must<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("benchmark operation failed: {e}"),
    }
}

/// One daemon and a client of it, under a label.
struct Side {
    label: &'static str,
    _daemon: Daemon,
    stack: CryptoStack,
    mem: MemoryAllocator,
}

/// A daemon key imported from an in-process one (same secret on both sides).
fn twin(
    stack: &CryptoStack,
    alg: Algorithm,
) -> std::result::Result<(ResourceGuard, std::sync::Arc<warden_crypto::Key>), BoxErr> {
    let (local, secret) = inproc::generate(alg);
    let key = stack.key_management().import_key(
        &inproc::import_params(alg, KeyOperationPermission::applicable_to(alg)),
        &secret,
    )?;
    Ok((key, local))
}

fn cfg(
    alg: Algorithm,
    key: ResourceId,
    dir: Option<CipherDirection>,
) -> std::result::Result<ContextConfig, BoxErr> {
    let mut b = ContextConfig::builder()
        .algorithm(alg)
        .key(key)
        .timeout(Timeout::Disabled);
    if let Some(d) = dir {
        b = b.direction(d);
    }
    Ok(b.build()?)
}

fn bench_seal(c: &mut Criterion, sides: &[Side]) -> std::result::Result<(), BoxErr> {
    let p = inproc::provider();
    let mut daemons = Vec::new();
    let mut local = None;
    for side in sides {
        let (key, l) = twin(&side.stack, Algorithm::Aes256Key)?;
        let seal = side.stack.create_aead_context(&cfg(
            Algorithm::Aes256Gcm,
            key.id(),
            Some(CipherDirection::Encrypt),
        )?)?;
        daemons.push((side, key, seal));
        local = Some(l);
    }
    let local = local.ok_or("no daemon")?;
    let mut lseal = p.create_context(
        ContextKind::Aead,
        &cfg(
            Algorithm::Aes256Gcm,
            inproc::local_id(),
            Some(CipherDirection::Encrypt),
        )?,
        Some(local),
    )?;
    let mut g = c.benchmark_group("aes256gcm_seal");
    for (name, len) in [("64KiB", 64 << 10), ("1MiB", 1 << 20), ("16MiB", 16 << 20)] {
        g.throughput(Throughput::Bytes(len as u64));
        for (side, _key, seal) in &mut daemons {
            let mut r = side.mem.allocate(2 * len)?;
            r.as_mut_slice()[..len].fill(0x5a);
            let (i, o) = (r.slice(0..len)?, r.slice(len..2 * len)?);
            g.bench_function(BenchmarkId::new(side.label, name), |b| {
                b.iter(|| black_box(must(seal.seal_region(&mut r, b"", i, o)).len))
            });
        }
        let input = vec![0x5au8; len];
        let mut out = vec![0u8; len];
        g.bench_function(BenchmarkId::new("in_process", name), |b| {
            b.iter(|| {
                let _ = lseal.reset();
                must(lseal.init(&[]));
                black_box(must(lseal.finish_whole(&input, &[], &mut out)))
            })
        });
    }
    g.finish();
    Ok(())
}

/// Messages per batch in `aes256gcm_seal_batch`.
const BATCH: usize = 32;

/// `BATCH` seals per iteration: pipelined through [`AeadContext::seal_regions`] (default
/// configuration on both sides) vs the same number one after another in process.
fn bench_seal_batch(c: &mut Criterion, side: &Side) -> std::result::Result<(), BoxErr> {
    let p = inproc::provider();
    let (key, local) = twin(&side.stack, Algorithm::Aes256Key)?;
    let mut seal = side.stack.create_aead_context(&cfg(
        Algorithm::Aes256Gcm,
        key.id(),
        Some(CipherDirection::Encrypt),
    )?)?;
    let mut lseal = p.create_context(
        ContextKind::Aead,
        &cfg(
            Algorithm::Aes256Gcm,
            inproc::local_id(),
            Some(CipherDirection::Encrypt),
        )?,
        Some(local),
    )?;
    let mut g = c.benchmark_group("aes256gcm_seal_batch32");
    for (name, len) in [("64KiB", 64 << 10), ("1MiB", 1 << 20)] {
        g.throughput(Throughput::Bytes((BATCH * len) as u64));
        let mut r = side.mem.allocate(2 * BATCH * len)?;
        r.as_mut_slice()[..BATCH * len].fill(0x5a);
        let mut jobs = Vec::new();
        for i in 0..BATCH {
            jobs.push(SealJob {
                aad: b"",
                input: r.slice(i * len..(i + 1) * len)?,
                output: r.slice((BATCH + i) * len..(BATCH + i + 1) * len)?,
            });
        }
        g.bench_function(BenchmarkId::new("pipelined", name), |b| {
            b.iter(|| {
                for done in must(seal.seal_regions(&mut r, &jobs)) {
                    black_box(must(done).len);
                }
            })
        });
        let input = vec![0x5au8; BATCH * len];
        let mut out = vec![0u8; BATCH * len];
        g.bench_function(BenchmarkId::new("in_process", name), |b| {
            b.iter(|| {
                for (i, o) in input.chunks(len).zip(out.chunks_mut(len)) {
                    let _ = lseal.reset();
                    must(lseal.init(&[]));
                    black_box(must(lseal.finish_whole(i, &[], o)));
                }
            })
        });
    }
    g.finish();
    Ok(())
}

/// `BATCH` Ed25519 signatures over 256-byte messages per iteration: one call each, pipelined
/// through [`SignContext::sign_many`], and in process (default configuration).
fn bench_sign_batch(c: &mut Criterion, side: &Side) -> std::result::Result<(), BoxErr> {
    let p = inproc::provider();
    let alg = Algorithm::Ed25519;
    let (key, local) = twin(&side.stack, alg)?;
    let mut sign = side.stack.create_sign_context(&cfg(alg, key.id(), None)?)?;
    let mut lsign = p.create_context(
        ContextKind::Sign,
        &cfg(alg, inproc::local_id(), None)?,
        Some(local),
    )?;
    let msgs: Vec<Vec<u8>> = (0..BATCH).map(|i| vec![i as u8; 256]).collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let mut sig = vec![0u8; 64];
    let mut g = c.benchmark_group("ed25519_sign_256B_batch32");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("single_calls", |b| {
        b.iter(|| {
            for m in &refs {
                black_box(must(sign.sign(m)));
            }
        })
    });
    g.bench_function("pipelined", |b| {
        b.iter(|| {
            for s in must(sign.sign_many(&refs)) {
                black_box(must(s));
            }
        })
    });
    g.bench_function("in_process", |b| {
        b.iter(|| {
            for m in &refs {
                let _ = lsign.reset();
                must(lsign.init(&[]));
                black_box(must(lsign.finish_whole(m, &[], &mut sig)));
            }
        })
    });
    g.finish();
    Ok(())
}

fn bench_sign(c: &mut Criterion, sides: &[Side]) -> std::result::Result<(), BoxErr> {
    let p = inproc::provider();
    let len = 1 << 20;
    let mut regions = Vec::new();
    for side in sides {
        let mut r = side.mem.allocate(len)?;
        r.as_mut_slice().fill(0x33);
        regions.push(r);
    }
    let input = vec![0x33u8; len];
    let mut sig = vec![0u8; 8192];
    for (group, alg) in [
        ("ed25519_sign_1MiB", Algorithm::Ed25519),
        ("mldsa65_sign_1MiB", Algorithm::MlDsa65),
    ] {
        let mut local = None;
        let mut daemons = Vec::new();
        for side in sides {
            let (key, l) = twin(&side.stack, alg)?;
            let sign = side.stack.create_sign_context(&cfg(alg, key.id(), None)?)?;
            daemons.push((side.label, key, sign));
            local = Some(l);
        }
        let local = local.ok_or("no daemon")?;
        let mut lsign = p.create_context(
            ContextKind::Sign,
            &cfg(alg, inproc::local_id(), None)?,
            Some(local),
        )?;
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Bytes(len as u64));
        for ((label, _key, sign), r) in daemons.iter_mut().zip(&regions) {
            let msg = r.slice(0..len)?;
            g.bench_function(*label, |b| {
                b.iter(|| black_box(must(sign.sign_region(r, msg))))
            });
        }
        g.bench_function("in_process", |b| {
            b.iter(|| {
                let _ = lsign.reset();
                must(lsign.init(&[]));
                black_box(must(lsign.finish_whole(&input, &[], &mut sig)))
            })
        });
        g.finish();
    }
    Ok(())
}

fn bench_inline(c: &mut Criterion, sides: &[Side]) {
    let mut g = c.benchmark_group("inline_ping");
    for (name, len) in [("1KiB", 1 << 10), ("32KiB", 32 << 10)] {
        let payload = vec![7u8; len];
        g.throughput(Throughput::Bytes(len as u64));
        for side in sides {
            let label = if side.label == "data_plane" {
                "default"
            } else {
                side.label
            };
            g.bench_function(BenchmarkId::new(label, name), |b| {
                b.iter(|| black_box(must(side.stack.ping(&payload))))
            });
        }
    }
    g.finish();
}

fn side(
    label: &'static str,
    daemon_toml: Option<&str>,
    client_poll: Duration,
) -> std::result::Result<Side, BoxErr> {
    let daemon = Daemon::start_with(DaemonOptions {
        config_toml: daemon_toml.map(str::to_owned),
        ..DaemonOptions::default()
    })?;
    let config = daemon.stack_config().busy_poll(client_poll);
    let stack = CryptoStack::connect(config.clone())?;
    let mem = MemoryAllocator::connect(config)?;
    Ok(Side {
        label,
        _daemon: daemon,
        stack,
        mem,
    })
}

fn run() -> std::result::Result<(), BoxErr> {
    let sides = [
        side("data_plane", None, Duration::ZERO)?,
        side(
            "busy_poll",
            Some("[limits]\nbusy_poll_us = 200\n"),
            Duration::from_millis(1),
        )?,
    ];
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_seal(&mut c, &sides)?;
    bench_seal_batch(&mut c, &sides[0])?;
    bench_sign_batch(&mut c, &sides[0])?;
    bench_sign(&mut c, &sides)?;
    bench_inline(&mut c, &sides);
    c.final_summary();
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("data_plane bench: {e}");
        std::process::exit(1);
    }
}
