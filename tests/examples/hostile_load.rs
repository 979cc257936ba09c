//! Hostile load (issue 12): a victim's ping latency, idle and while another uid attacks the
//! daemon, and the daemon's resident memory during each attack.
//!
//! Attacks (each in a child process, as uid 4299 when run as root so it is really another
//! uid; as the same uid otherwise, which the output says):
//! - CPU hogs, 2 and 8 connections each: PBKDF2 with 10,000,000 iterations, RSA-4096 key
//!   generation, SLH-DSA-SHA2-128s signing, in a loop;
//! - slow loris: 30 and 60 connections that each send one byte and reconnect when closed;
//! - memory: 8 connections each opening up to 1,023 AES-256-GCM decrypt contexts with 60 KiB
//!   buffered in each.
//!
//! Victim: pings (120-byte frames) back to back for `WARDEN_HOSTILE_SECS` (default 4) seconds
//! per scenario on its own connection; p50/p99/max over all of them, failures counted
//! (client timeout: the 5 s default). RSS is sampled every 20 ms.
//!
//! Run (release daemon first):
//! `cargo build --release -p warden-daemon --bin wardend &&
//!  cargo run --release -p warden-e2e --example hostile_load`
//! Env: `WARDEN_HOSTILE_SECS` (per scenario), `WARDEN_HOSTILE_ONLY` (comma list of scenario
//! prefixes), `WARDEN_HOSTILE_CONFIG` (daemon TOML, e.g. `[limits]` `long_lane_threads = 0`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark driver, not product code

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use warden_client::*;
use warden_e2e::{Daemon, DaemonOptions, vm_rss_kib};

const ATTACK_ENV: &str = "WARDEN_HOSTILE_ATTACK";
const SOCKET_ENV: &str = "WARDEN_HOSTILE_SOCKET";
const ATTACKER_UID: u32 = 4299;

type P = KeyOperationPermission;

fn connect(socket: &str) -> Option<CryptoStack> {
    CryptoStack::connect(
        StackConfig::new()
            .socket_path(socket)
            .dedicated_connection(true),
    )
    .ok()
}

/// One hog connection looping its long operation until the process is killed.
fn hog(socket: &str, kind: &str) {
    let Some(s) = connect(socket) else { return };
    let km = s.key_management();
    match kind {
        "pbkdf2" => {
            let Ok(base) = km.generate_key(
                &GenerateKeyParams::builder()
                    .algorithm(Algorithm::GenericSecret)
                    .key_len(32)
                    .permissions(P::DERIVE)
                    .build()
                    .unwrap(),
            ) else {
                return;
            };
            let p = DeriveKeyParams::builder()
                .kdf(KdfParameters::Pbkdf2 {
                    salt: b"hostile-load-salt".to_vec(),
                    iterations: 10_000_000,
                })
                .output_algorithm(Algorithm::GenericSecret)
                .output_len(32)
                .permissions(P::DERIVE)
                .build()
                .unwrap();
            loop {
                let _ = km.derive_key(base.id(), &p);
            }
        }
        "rsa4096" => {
            let p = GenerateKeyParams::builder()
                .algorithm(Algorithm::RsaPssSha256)
                .rsa_bits(4096)
                .permissions(P::SIGN)
                .build()
                .unwrap();
            loop {
                let _ = km.generate_key(&p);
            }
        }
        "slhdsa" => {
            let Ok(k) = km.generate_key(
                &GenerateKeyParams::builder()
                    .algorithm(Algorithm::SlhDsaSha2_128s)
                    .permissions(P::SIGN)
                    .build()
                    .unwrap(),
            ) else {
                return;
            };
            let cfg = ContextConfig::builder()
                .algorithm(Algorithm::SlhDsaSha2_128s)
                .key(k.id())
                .build()
                .unwrap();
            let Ok(mut ctx) = s.create_sign_context(&cfg) else {
                return;
            };
            loop {
                let _ = ctx.sign(b"hostile");
            }
        }
        "memory" => {
            let Ok(k) = km.generate_key(
                &GenerateKeyParams::builder()
                    .algorithm(Algorithm::Aes256Key)
                    .permissions(P::DECRYPT)
                    .build()
                    .unwrap(),
            ) else {
                return;
            };
            let cfg = ContextConfig::builder()
                .algorithm(Algorithm::Aes256Gcm)
                .key(k.id())
                .direction(CipherDirection::Decrypt)
                .build()
                .unwrap();
            let chunk = vec![0x5Au8; 60 * 1024];
            let mut held = Vec::new();
            for _ in 0..1023 {
                let Ok(mut c) = s.create_aead_context(&cfg) else {
                    break;
                };
                if c.init(&[0u8; 12]).is_err() || c.update(&chunk).is_err() {
                    break;
                }
                held.push(c);
            }
            println!("memory hog holds {} contexts", held.len());
            std::thread::sleep(Duration::from_secs(3600));
        }
        "loris" => loop {
            let Ok(mut c) = UnixStream::connect(socket) else {
                std::thread::sleep(Duration::from_millis(1));
                continue;
            };
            let _ = c.write_all(&[1]);
            let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
            let _ = std::io::Read::read(&mut c, &mut [0u8; 64]);
        },
        other => panic!("unknown attack {other}"),
    }
}

/// The attacker process: `kind:count` connections.
fn attacker(spec: &str, socket: &str) {
    let (kind, count) = spec.split_once(':').unwrap();
    let count: usize = count.parse().unwrap();
    let threads: Vec<_> = (0..count)
        .map(|_| {
            let (socket, kind) = (socket.to_owned(), kind.to_owned());
            std::thread::spawn(move || hog(&socket, &kind))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    std::thread::sleep(Duration::from_secs(3600));
}

fn spawn_attacker(spec: &str, socket: &Path, as_other_uid: bool) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(ATTACK_ENV, spec).env(SOCKET_ENV, socket);
    if as_other_uid {
        cmd.uid(ATTACKER_UID).gid(0);
    }
    cmd.spawn().unwrap()
}

struct Sample {
    p50: Duration,
    p99: Duration,
    max: Duration,
    pings: usize,
    failures: usize,
    rss_max_kib: u64,
}

/// Victim pings for `secs`, RSS sampled alongside.
fn measure(victim: &CryptoStack, pid: u32, secs: u64) -> Sample {
    let stop = Arc::new(AtomicBool::new(false));
    let rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, rss) = (stop.clone(), rss.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = vm_rss_kib(pid) {
                    rss.fetch_max(kib, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let payload = [0x42u8; 64];
    let mut times = Vec::new();
    let mut failures = 0;
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        let t = Instant::now();
        match victim.ping(&payload) {
            Ok(_) => times.push(t.elapsed()),
            Err(_) => failures += 1,
        }
    }
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    times.sort();
    let pct = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Sample {
        p50: pct(0.50),
        p99: pct(0.99),
        max: times.last().copied().unwrap_or_default(),
        pings: times.len(),
        failures,
        rss_max_kib: rss.load(Ordering::Relaxed),
    }
}

/// Waits until the daemon answers pings promptly again (long operations a killed attacker
/// left behind may still be running).
fn settle(victim: &CryptoStack) {
    let until = Instant::now() + Duration::from_secs(60);
    let mut quick = 0;
    while Instant::now() < until && quick < 20 {
        let t = Instant::now();
        let ok = victim.ping(b"settle").is_ok();
        quick = if ok && t.elapsed() < Duration::from_millis(5) {
            quick + 1
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn main() {
    if let (Ok(spec), Ok(socket)) = (std::env::var(ATTACK_ENV), std::env::var(SOCKET_ENV)) {
        attacker(&spec, &socket);
        return;
    }
    let secs: u64 = std::env::var("WARDEN_HOSTILE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let as_root =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0;
    // WARDEN_HOSTILE_CONFIG: extra TOML for the daemon, e.g. `[limits]\nlong_lane_threads = 0`
    // for the no-lane baseline.
    let d = Daemon::start_with(DaemonOptions {
        config_toml: std::env::var("WARDEN_HOSTILE_CONFIG").ok(),
        ..DaemonOptions::default()
    })
    .unwrap();
    // Let the attacker's uid (gid 0) reach the socket (mode 0660, group root).
    std::fs::set_permissions(d.dir(), std::os::unix::fs::PermissionsExt::from_mode(0o750)).unwrap();
    let victim = d.stack().unwrap();
    let pid = d.pid();
    println!(
        "wardend pid {pid}; attacker {}; {secs} s of victim pings per scenario",
        if as_root {
            format!("uid {ATTACKER_UID}")
        } else {
            "same uid (not root)".into()
        }
    );
    let stderr = d.stderr();
    let budget_mib: Option<f64> = stderr
        .lines()
        .find(|l| l.contains("memory budget"))
        .inspect(|line| println!("{line}"))
        .and_then(|l| l.split("memory budget: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    println!(
        "| scenario | pings | failed | p50 | p99 | max | p99 / idle p99 | daemon RSS max | within budget |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let idle = measure(&victim, pid, secs);
    let row = |name: &str, s: &Sample, idle_p99: Duration| {
        let rss_mib = s.rss_max_kib as f64 / 1024.0;
        let within = budget_mib.map_or("no budget logged".to_owned(), |b| {
            format!("{} ({b:.1} MiB)", if rss_mib <= b { "yes" } else { "NO" })
        });
        println!(
            "| {name} | {} | {} | {:.1} µs | {:.1} µs | {:.1} ms | {:.2}× | {:.1} MiB | {within} |",
            s.pings,
            s.failures,
            s.p50.as_secs_f64() * 1e6,
            s.p99.as_secs_f64() * 1e6,
            s.max.as_secs_f64() * 1e3,
            s.p99.as_secs_f64() / idle_p99.as_secs_f64().max(1e-9),
            rss_mib
        );
    };
    row("idle", &idle, idle.p99);
    let scenarios = std::env::var("WARDEN_HOSTILE_ONLY").ok();
    for spec in [
        "pbkdf2:2",
        "pbkdf2:8",
        "rsa4096:2",
        "rsa4096:8",
        "slhdsa:2",
        "slhdsa:8",
        "loris:30",
        "loris:60",
        "memory:8",
    ] {
        if let Some(only) = &scenarios
            && !only.split(',').any(|o| spec.starts_with(o))
        {
            continue;
        }
        let mut child = spawn_attacker(spec, d.socket_path(), as_root);
        std::thread::sleep(Duration::from_millis(500));
        let s = measure(&victim, pid, secs);
        let _ = child.kill();
        let _ = child.wait();
        row(spec, &s, idle.p99);
        settle(&victim);
    }
}
