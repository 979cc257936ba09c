//! wardend latency, each figure next to its baseline in the same run:
//! - ping round trip through the daemon vs a raw Unix-socket echo of the same frame size;
//! - HMAC-SHA256 of 64 B, Ed25519 sign, ML-KEM-768 encapsulate through the daemon vs the
//!   same provider calls in-process.
//!
//! Run: `cargo bench -p warden-daemon --bench daemon -- --warm-up-time 1 --measurement-time 3`

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use warden_core::{
    Algorithm, ContextConfig, EncapsulateParams, GenerateKeyParams, KeyOperationPermission as P,
    Persistence, ResourceId, ResourceType,
};
use warden_daemon::{Config, Daemon, RunningDaemon};
use warden_provider_awslc::{AwsLcProvider, ContextKind as CK, Provider};
use warden_wire::messages::{
    ContextKind, CreateContext, Encapsulate, GenerateKey, KeySpec, Timeout,
};
use warden_wire::{HEADER_LEN, Payload, Request};

mod common;
use common::{BenchResult, Client};

fn daemon(dir: &std::path::Path) -> BenchResult<RunningDaemon> {
    let mut config = Config::default();
    config.socket.path = Some(dir.join("bench.sock"));
    Ok(Daemon::start(config)?)
}

/// Echo server: reads a frame header + body and writes the same bytes back in one write
/// (as the daemon does with one `writev`).
fn echo_server(listener: UnixListener) {
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else {
            return;
        };
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let Some(head) = buf.get_mut(..HEADER_LEN) else {
                return;
            };
            if s.read_exact(head).is_err() {
                return;
            }
            let len = u32::from_le_bytes([head[28], head[29], head[30], head[31]]) as usize;
            let Some(frame) = buf.get_mut(..HEADER_LEN + len) else {
                return;
            };
            let Some(body) = frame.get_mut(HEADER_LEN..) else {
                return;
            };
            if s.read_exact(body).is_err() || s.write_all(frame).is_err() {
                return;
            }
        }
    });
}

fn spec(alg: &str, perms: P) -> KeySpec<'_> {
    KeySpec {
        algorithm: alg,
        permissions: perms.bits(),
        exportable: false,
        slot: None,
    }
}

fn bench_ping(c: &mut Criterion, d: &RunningDaemon, dir: &std::path::Path) -> BenchResult<()> {
    let mut client = Client::connect(d.socket_path())?;
    let payload = [0xabu8; 64];
    let frame = client.frame(&Request::Ping { data: &payload })?;

    let echo_path = dir.join("echo.sock");
    echo_server(UnixListener::bind(&echo_path)?);
    let mut echo = UnixStream::connect(&echo_path)?;
    let mut back = vec![0u8; frame.len()];

    let mut g = c.benchmark_group(format!("ping_{}B_frame", frame.len()));
    g.bench_function("wardend", |b| b.iter(|| client.fire(&frame)));
    g.bench_function("raw_unix_echo", |b| {
        b.iter(|| -> std::io::Result<()> {
            echo.write_all(&frame)?;
            echo.read_exact(&mut back)
        })
    });
    g.finish();
    Ok(())
}

fn bench_hmac(c: &mut Criterion, d: &RunningDaemon) -> BenchResult<()> {
    let mut client = Client::connect(d.socket_path())?;
    let gen_req = GenerateKey {
        key: spec("HMAC", P::MAC),
        rsa_bits: None,
        key_len: Some(32),
        provider: None,
    };
    let key = client.id(&Request::GenerateKey(gen_req))?;
    let ctx = client.id(&Request::CreateContext(CreateContext {
        kind: ContextKind::Mac,
        algorithm: "HMAC-SHA256",
        key_id: Some(key),
        direction: None,
        timeout: Timeout::Default,
        options: Default::default(),
    }))?;
    let msg = [7u8; 64];
    let frames = [
        client.frame(&Request::InitContext {
            context_id: ctx,
            iv: &[],
        })?,
        client.frame(&Request::Update {
            context_id: ctx,
            input: Payload::Inline(&msg),
        })?,
        client.frame(&Request::Finalize {
            context_id: ctx,
            input: Payload::Inline(&[]),
            tag: &[],
        })?,
        client.frame(&Request::ResetContext { context_id: ctx })?,
    ];

    let p = AwsLcProvider::new();
    let params = GenerateKeyParams::builder()
        .algorithm(Algorithm::HmacKey)
        .permissions(P::MAC)
        .key_len(32)
        .build()?;
    let k = Arc::new(p.generate_key(&params)?);
    let id = ResourceId::new(1, ResourceType::Key, Persistence::Ephemeral, 0);
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::HmacSha256)
        .key(id)
        .build()?;
    let mut local = p.create_context(CK::Mac, &cfg, Some(k))?;
    let mut out = [0u8; 64];

    let mut g = c.benchmark_group("hmac_sha256_64B");
    g.bench_function("wardend_4_requests", |b| {
        b.iter(|| frames.iter().try_for_each(|f| client.fire(f)))
    });
    g.bench_function("wardend_1_request_update", |b| {
        b.iter(|| {
            // The Update alone: per-request overhead on a live context.
            client.fire(&frames[1])
        })
    });
    g.bench_function("in_process", |b| {
        b.iter(|| -> warden_core::Result<usize> {
            local.init(&[])?;
            local.update(&msg, &mut [])?;
            let n = local.finalize(&[], &mut out)?;
            local.reset()?;
            Ok(n)
        })
    });
    g.finish();
    // Leave the daemon-side context in a clean state for the next group.
    client.fire(&frames[0])?;
    client.fire(&frames[2])?;
    client.fire(&frames[3])?;
    Ok(())
}

fn bench_ed25519(c: &mut Criterion, d: &RunningDaemon) -> BenchResult<()> {
    let mut client = Client::connect(d.socket_path())?;
    let gen_req = GenerateKey {
        key: spec("ED25519", P::SIGN),
        rsa_bits: None,
        key_len: None,
        provider: None,
    };
    let key = client.id(&Request::GenerateKey(gen_req))?;
    let ctx = client.id(&Request::CreateContext(CreateContext {
        kind: ContextKind::Sign,
        algorithm: "ED25519",
        key_id: Some(key),
        direction: None,
        timeout: Timeout::Default,
        options: Default::default(),
    }))?;
    let msg = [9u8; 64];
    let frames = [
        client.frame(&Request::InitContext {
            context_id: ctx,
            iv: &[],
        })?,
        client.frame(&Request::Finalize {
            context_id: ctx,
            input: Payload::Inline(&msg),
            tag: &[],
        })?,
        client.frame(&Request::ResetContext { context_id: ctx })?,
    ];

    let p = AwsLcProvider::new();
    let params = GenerateKeyParams::builder()
        .algorithm(Algorithm::Ed25519)
        .permissions(P::SIGN)
        .build()?;
    let k = Arc::new(p.generate_key(&params)?);
    let id = ResourceId::new(1, ResourceType::Key, Persistence::Ephemeral, 0);
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(id)
        .build()?;
    let mut local = p.create_context(CK::Sign, &cfg, Some(k))?;
    let mut sig = [0u8; 64];

    let mut g = c.benchmark_group("ed25519_sign_64B");
    g.bench_function("wardend_3_requests", |b| {
        b.iter(|| frames.iter().try_for_each(|f| client.fire(f)))
    });
    g.bench_function("in_process", |b| {
        b.iter(|| -> warden_core::Result<usize> {
            local.init(&[])?;
            let n = local.finalize(&msg, &mut sig)?;
            local.reset()?;
            Ok(n)
        })
    });
    g.finish();
    Ok(())
}

fn bench_mlkem(c: &mut Criterion, d: &RunningDaemon) -> BenchResult<()> {
    let mut client = Client::connect(d.socket_path())?;
    let gen_req = GenerateKey {
        key: spec("ML-KEM-768", P::ENCRYPT),
        rsa_bits: None,
        key_len: None,
        provider: None,
    };
    let pk = client.id(&Request::GenerateKey(gen_req))?;
    let enc = Request::Encapsulate(Encapsulate {
        public_key_id: pk,
        key: spec("GENERIC-SECRET", P::DERIVE),
    });

    let p = AwsLcProvider::new();
    let params = GenerateKeyParams::builder()
        .algorithm(Algorithm::MlKem768)
        .permissions(P::ENCRYPT)
        .build()?;
    let k = p.generate_key(&params)?;
    let eparams = EncapsulateParams::builder()
        .algorithm(Algorithm::MlKem768)
        .permissions(P::DERIVE)
        .build()?;

    let mut g = c.benchmark_group("ml_kem_768_encapsulate");
    // Each daemon iteration: Encapsulate (key object created) + ReleaseKey (object freed).
    g.bench_function("wardend_encap_and_release", |b| {
        b.iter(|| -> BenchResult<()> {
            let id = client.call(&enc, |r| match r {
                warden_wire::Response::Encapsulated { key_id, .. } => Ok(key_id),
                _ => Err("unexpected response"),
            })??;
            client.call(&Request::ReleaseKey { key_id: id }, |_| ())
        })
    });
    g.bench_function("in_process", |b| b.iter(|| p.encapsulate(&k, &eparams)));
    g.finish();
    Ok(())
}

fn benches(c: &mut Criterion) {
    let mut run = || -> BenchResult<()> {
        let dir = tempfile::tempdir()?;
        let d = daemon(dir.path())?;
        bench_ping(c, &d, dir.path())?;
        bench_hmac(c, &d)?;
        bench_ed25519(c, &d)?;
        bench_mlkem(c, &d)?;
        d.shutdown();
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("bench setup failed: {e}");
    }
}

criterion_group! {
    name = daemon_benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(daemon_benches);
