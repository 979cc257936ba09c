//! Quick latency probe: per-request time of simple operations through a real `wardend`, as
//! the median and the best of 15 batches (batch minimum filters out scheduler noise from other
//! work on a shared machine; criterion's means do not).
//!
//! Run: `cargo build --release -p warden-daemon --bin wardend &&
//! cargo run --release -p warden-e2e --example rtt_probe`.

use std::error::Error;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use warden_client::*;
use warden_e2e::{Daemon, inproc};

const BATCHES: usize = 15;
const PER_BATCH: u32 = 200;

/// Times `f` over batches; returns (median, best) per call.
fn probe(
    mut f: impl FnMut() -> std::result::Result<(), Box<dyn Error>>,
) -> std::result::Result<(Duration, Duration), Box<dyn Error>> {
    let mut per = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let t = Instant::now();
        for _ in 0..PER_BATCH {
            f()?;
        }
        per.push(t.elapsed() / PER_BATCH);
    }
    per.sort();
    let best = per.first().copied().unwrap_or_default();
    let median = per.get(BATCHES / 2).copied().unwrap_or_default();
    Ok((median, best))
}

/// A blocking echo of fixed-size messages: the Unix-socket floor for the same frame size.
fn raw_echo(len: usize) -> std::result::Result<(tempfile::TempDir, UnixStream), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("echo.sock");
    let listener = UnixListener::bind(&path)?;
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = vec![0u8; len];
            while s.read_exact(&mut buf).is_ok() && s.write_all(&buf).is_ok() {}
        }
    });
    Ok((dir, UnixStream::connect(&path)?))
}

fn main() -> std::result::Result<(), Box<dyn Error>> {
    let d = Daemon::start()?;
    let s = d.stack()?;
    let km = s.key_management();
    let (_l, secret) = inproc::generate(Algorithm::MlKem768);
    let all = KeyOperationPermission::applicable_to;
    let kem = km.import_key(
        &inproc::import_params(Algorithm::MlKem768, all(Algorithm::MlKem768)),
        &secret,
    )?;
    let kem_params = EncapsulateParams::builder()
        .algorithm(Algorithm::MlKem768)
        .output_algorithm(Algorithm::GenericSecret)
        .permissions(KeyOperationPermission::DERIVE)
        .build()?;
    let aes = GenerateKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(KeyOperationPermission::ENCRYPT)
        .build()?;
    let (_l, secret) = inproc::generate(Algorithm::Ed25519);
    let ed = km.import_key(
        &inproc::import_params(Algorithm::Ed25519, all(Algorithm::Ed25519)),
        &secret,
    )?;
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(ed.id())
        .build()?;
    let mut sign = s.create_sign_context(&cfg)?;
    let msg = [0x42u8; 64];

    // The ping request frame is 120 bytes (32-byte header + FlatBuffers body with 64 B).
    let (_dir, mut echo) = raw_echo(120)?;
    let mut buf = [0u8; 120];
    let rows: Vec<(&str, (Duration, Duration))> = vec![
        (
            "raw Unix-socket echo, 120 B frame (baseline)",
            probe(|| {
                echo.write_all(&buf)?;
                echo.read_exact(&mut buf)?;
                Ok(())
            })?,
        ),
        (
            "ping (64 B payload)",
            probe(|| {
                s.ping(&msg)?;
                Ok(())
            })?,
        ),
        (
            "random 32 B",
            probe(|| {
                s.random(32)?;
                Ok(())
            })?,
        ),
        (
            "generate AES-256 + release",
            probe(|| Ok(km.generate_key(&aes)?.release()?))?,
        ),
        (
            "ML-KEM-768 encapsulate + release",
            probe(|| Ok(km.encapsulate(kem.id(), &kem_params)?.1.release()?))?,
        ),
        (
            "Ed25519 sign 64 B (reset+init+finalize_with)",
            probe(|| {
                let _ = sign.reset();
                sign.init()?;
                sign.finalize_with(&msg)?;
                Ok(())
            })?,
        ),
    ];
    println!("{:<46} {:>12} {:>12}", "operation", "median", "best batch");
    for (name, (median, best)) in rows {
        println!("{name:<46} {median:>12.2?} {best:>12.2?}");
    }
    Ok(())
}
