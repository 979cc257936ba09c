//! Client benchmarks against a real `wardend` (started by the e2e harness), each compared in
//! the same run with its baseline:
//!
//! - `ping`: one request/response round trip through the client and daemon vs a raw
//!   Unix-socket echo of the same frame size (the transport floor);
//! - `op/*`: HMAC-SHA256 of 64 B, Ed25519 sign, ML-KEM-768 encapsulate through the daemon vs
//!   `warden-crypto` in process;
//! - `throughput/N`: pings from N concurrent clients (own connections, own threads).
//!
//! Run: `cargo build --release -p warden-daemon --bin wardend && cargo bench -p warden-e2e
//! --bench client -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use warden_client::*;
use warden_crypto::{ContextKind, Provider};
use warden_e2e::inproc;
use warden_e2e::{Daemon, DaemonOptions};
use warden_wire::{Builder, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Request};

type BoxErr = Box<dyn std::error::Error>;

/// Unwraps inside timing loops, where `?` is not available; a failure aborts the bench.
fn must<T, E: std::fmt::Display>(r: std::result::Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("benchmark operation failed: {e}"),
    }
}

/// The exact bytes of a Ping request frame carrying `payload`.
fn ping_frame(payload: &[u8]) -> Vec<u8> {
    let mut b = Builder::new();
    let body = warden_wire::encode_request(&mut b, &Request::Ping { data: payload }).to_vec();
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, 1, Opcode::Ping.as_u16())
    };
    let mut f = h.to_bytes().to_vec();
    f.extend_from_slice(&body);
    f
}

/// A thread that echoes fixed-size messages on a Unix socket: the transport floor.
fn raw_echo(len: usize) -> std::result::Result<(tempfile::TempDir, UnixStream), BoxErr> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("echo.sock");
    let listener = UnixListener::bind(&path)?;
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = vec![0u8; len];
            while s.read_exact(&mut buf).is_ok() {
                if s.write_all(&buf).is_err() {
                    break;
                }
            }
        }
    });
    Ok((dir, UnixStream::connect(&path)?))
}

/// A minimal blocking single-thread "daemon" that answers the handshake and echoes pings:
/// separates the client library's own cost from the real daemon's event loop and workers.
fn fake_daemon() -> std::result::Result<(tempfile::TempDir, std::path::PathBuf), BoxErr> {
    use warden_wire::handshake::HelloAck;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path)?;
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut head = [0u8; HEADER_LEN];
        let mut body = Vec::new();
        let mut out = Vec::new();
        let mut b = Builder::new();
        while s.read_exact(&mut head).is_ok() {
            let Ok(h) = FrameHeader::decode(&head, warden_wire::DEFAULT_MAX_FRAME_LEN) else {
                return;
            };
            body.resize(h.body_len as usize, 0);
            if s.read_exact(&mut body).is_err() {
                return;
            }
            out.clear();
            if h.opcode == Opcode::Hello.as_u16() {
                let ack = HelloAck {
                    version: PROTOCOL_VERSION,
                    daemon_version: PROTOCOL_VERSION,
                    max_frame_len: warden_wire::DEFAULT_MAX_FRAME_LEN,
                }
                .encode();
                out.extend_from_slice(&h.response(0, ack.len() as u32).to_bytes());
                out.extend_from_slice(&ack);
            } else {
                let Ok(Request::Ping { data }) = warden_wire::decode_request(Opcode::Ping, &body)
                else {
                    return;
                };
                let r = warden_wire::encode_response(&mut b, &warden_wire::Response::Ping { data });
                out.extend_from_slice(&h.response(0, r.len() as u32).to_bytes());
                out.extend_from_slice(r);
            }
            if s.write_all(&out).is_err() {
                return;
            }
        }
    });
    Ok((dir, path))
}

fn bench_ping(c: &mut Criterion, d: &Daemon) -> std::result::Result<(), BoxErr> {
    let payload = [0x5au8; 64];
    let frame = ping_frame(&payload);
    let stack = CryptoStack::connect(d.stack_config().dedicated_connection(true))?;
    let (_dir, mut echo) = raw_echo(frame.len())?;
    let mut reply = vec![0u8; frame.len()];
    let mut g = c.benchmark_group("ping");
    g.bench_function(BenchmarkId::new("raw_unix_echo", frame.len()), |b| {
        b.iter(|| {
            must(echo.write_all(&frame));
            must(echo.read_exact(&mut reply));
            black_box(&reply);
        })
    });
    g.bench_function(BenchmarkId::new("wardend", frame.len()), |b| {
        b.iter(|| black_box(must(stack.ping(&payload))))
    });
    let (_fdir, fpath) = fake_daemon()?;
    let fake = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&fpath)
            .dedicated_connection(true),
    )?;
    g.bench_function(
        BenchmarkId::new("client_vs_blocking_fake", frame.len()),
        |b| b.iter(|| black_box(must(fake.ping(&payload)))),
    );
    g.finish();
    println!(
        "ping frame: {} bytes ({HEADER_LEN}-byte header)",
        frame.len()
    );
    Ok(())
}

fn bench_ops(c: &mut Criterion, d: &Daemon) -> std::result::Result<(), BoxErr> {
    let stack = CryptoStack::connect(d.stack_config().dedicated_connection(true))?;
    let km = stack.key_management();
    let p = inproc::provider();
    let msg = [0x42u8; 64];
    let mut g = c.benchmark_group("op");

    // HMAC-SHA256 of 64 bytes on a reused context: reset + init + update + finalize (four
    // round trips: a MAC's finalize input is an expected tag to verify, not data).
    let (local, secret) = inproc::generate(Algorithm::HmacKey);
    let key = km.import_key(
        &inproc::import_params(
            Algorithm::HmacKey,
            KeyOperationPermission::applicable_to(Algorithm::HmacKey),
        ),
        &secret,
    )?;
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::HmacSha256)
        .key(key.id())
        .build()?;
    let mut mac = stack.create_mac_context(&cfg)?;
    must(mac.init());
    must(mac.update(&msg));
    must(mac.finalize());
    g.bench_function("hmac_sha256_64B/wardend", |b| {
        b.iter(|| {
            must(mac.reset());
            must(mac.init());
            must(mac.update(&msg));
            black_box(must(mac.finalize()))
        })
    });
    let lcfg = ContextConfig::builder()
        .algorithm(Algorithm::HmacSha256)
        .key(inproc::local_id())
        .build()?;
    let mut lmac = p.create_context(ContextKind::Mac, &lcfg, Some(local))?;
    let mut out = [0u8; 64];
    // The same operation as one `Process` request (protocol 1.1).
    g.bench_function("hmac_sha256_64B/wardend_one_request", |b| {
        b.iter(|| black_box(must(mac.compute(&msg))))
    });
    g.bench_function("hmac_sha256_64B/in_process", |b| {
        b.iter(|| {
            let _ = lmac.reset();
            must(lmac.init(&[]));
            must(lmac.update(&msg, &mut out));
            black_box(must(lmac.finalize(&[], &mut out)))
        })
    });

    // Ed25519 sign of 64 bytes on a reused context.
    let (local, secret) = inproc::generate(Algorithm::Ed25519);
    let key = km.import_key(
        &inproc::import_params(
            Algorithm::Ed25519,
            KeyOperationPermission::applicable_to(Algorithm::Ed25519),
        ),
        &secret,
    )?;
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(key.id())
        .build()?;
    let mut sign = stack.create_sign_context(&cfg)?;
    must(sign.init());
    must(sign.finalize_with(&msg));
    g.bench_function("ed25519_sign_64B/wardend", |b| {
        b.iter(|| {
            must(sign.reset());
            must(sign.init());
            black_box(must(sign.finalize_with(&msg)))
        })
    });
    let lcfg = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(inproc::local_id())
        .build()?;
    let mut lsign = p.create_context(ContextKind::Sign, &lcfg, Some(local))?;
    let mut sig = [0u8; 128];
    g.bench_function("ed25519_sign_64B/wardend_one_request", |b| {
        b.iter(|| black_box(must(sign.sign(&msg))))
    });
    g.bench_function("ed25519_sign_64B/in_process", |b| {
        b.iter(|| {
            let _ = lsign.reset();
            must(lsign.init(&[]));
            black_box(must(lsign.finalize(&msg, &mut sig)))
        })
    });

    // ML-KEM-768 encapsulate: ciphertext + shared-secret key object (released each time).
    let (local, secret) = inproc::generate(Algorithm::MlKem768);
    let key = km.import_key(
        &inproc::import_params(
            Algorithm::MlKem768,
            KeyOperationPermission::applicable_to(Algorithm::MlKem768),
        ),
        &secret,
    )?;
    let params = EncapsulateParams::builder()
        .algorithm(Algorithm::MlKem768)
        .output_algorithm(Algorithm::GenericSecret)
        .permissions(KeyOperationPermission::DERIVE)
        .build()?;
    g.bench_function("mlkem768_encapsulate/wardend", |b| {
        b.iter(|| {
            let (ct, ss) = must(km.encapsulate(key.id(), &params));
            must(ss.release());
            black_box(ct)
        })
    });
    g.bench_function("mlkem768_encapsulate/in_process", |b| {
        b.iter(|| black_box(must(p.encapsulate(&local, &params))))
    });
    g.finish();
    Ok(())
}

fn bench_throughput(c: &mut Criterion, d: &Daemon) -> std::result::Result<(), BoxErr> {
    let mut g = c.benchmark_group("throughput_ping");
    g.throughput(Throughput::Elements(1));
    for n in [1usize, 2, 8, 64] {
        let stacks = (0..n)
            .map(|_| CryptoStack::connect(d.stack_config().dedicated_connection(true)))
            .collect::<Result<Vec<_>>>()?;
        g.bench_function(BenchmarkId::from_parameter(format!("{n}_clients")), |b| {
            b.iter_custom(|iters| {
                let per = iters.div_ceil(n as u64);
                let barrier = Arc::new(Barrier::new(n + 1));
                std::thread::scope(|s| {
                    for st in &stacks {
                        let barrier = barrier.clone();
                        s.spawn(move || {
                            barrier.wait();
                            for _ in 0..per {
                                black_box(must(st.ping(b"0123456789abcdef")));
                            }
                        });
                    }
                    barrier.wait();
                    let t = Instant::now();
                    // Scope end joins every client thread.
                    t
                })
                .elapsed()
                .mul_f64(iters as f64 / (per * n as u64) as f64)
            })
        });
    }
    g.finish();
    Ok(())
}

fn run() -> std::result::Result<(), BoxErr> {
    let d = Daemon::start_with(DaemonOptions {
        config_toml: Some("[limits]\nmax_connections = 96\n".into()),
        ..DaemonOptions::default()
    })?;
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_ping(&mut c, &d)?;
    bench_ops(&mut c, &d)?;
    bench_throughput(&mut c, &d)?;
    c.final_summary();
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("client bench: {e}");
        std::process::exit(1);
    }
}
