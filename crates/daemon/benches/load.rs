//! wardend under load: throughput and latency with 1, 2, 8 and 64 concurrent clients (each
//! a thread with its own connection doing HMAC-SHA256 updates of 64 B on its own context),
//! then resident memory before and after a long run of requests (goal: flat).
//!
//! Run: `cargo bench -p warden-daemon --bench load` (`WARDEN_SOAK_REQUESTS` sets the soak
//! length, default 1,000,000).

use std::time::{Duration, Instant};

use warden_core::KeyOperationPermission as P;
use warden_daemon::{Config, Daemon, RunningDaemon};
use warden_wire::messages::{ContextKind, CreateContext, GenerateKey, KeySpec, Timeout};
use warden_wire::{Payload, Request};

mod common;
use common::{BenchResult, Client};

/// A client with a live MAC context and the frame of one Update on it.
fn mac_client(d: &RunningDaemon) -> BenchResult<(Client, Vec<u8>)> {
    let mut c = Client::connect(d.socket_path())?;
    let key = KeySpec {
        algorithm: "HMAC",
        permissions: P::MAC.bits(),
        exportable: false,
        slot: None,
    };
    let k = c.id(&Request::GenerateKey(GenerateKey {
        key,
        rsa_bits: None,
        key_len: Some(32),
        provider: None,
    }))?;
    let ctx = c.id(&Request::CreateContext(CreateContext {
        kind: ContextKind::Mac,
        algorithm: "HMAC-SHA256",
        key_id: Some(k),
        direction: None,
        timeout: Timeout::Default,
        options: Default::default(),
    }))?;
    c.call(
        &Request::InitContext {
            context_id: ctx,
            iv: &[],
        },
        |_| (),
    )?;
    let f = c.frame(&Request::Update {
        context_id: ctx,
        input: Payload::Inline(&[1u8; 64]),
    })?;
    Ok((c, f))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx).copied().unwrap_or_default()
}

fn concurrency(d: &RunningDaemon, clients: usize, per_client: usize) -> BenchResult<()> {
    let mut handles = Vec::new();
    let start = Instant::now();
    for _ in 0..clients {
        let (mut c, frame) = mac_client(d)?;
        handles.push(std::thread::spawn(
            move || -> Result<Vec<Duration>, String> {
                let mut lat = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let t = Instant::now();
                    c.fire(&frame).map_err(|e| e.to_string())?;
                    lat.push(t.elapsed());
                }
                Ok(lat)
            },
        ));
    }
    report("wardend", clients, per_client, start, handles)
}

/// Baseline: a thread-per-connection echo server for frames of the same size, driven by the
/// same number of client threads (the socket and scheduler floor for this machine).
fn echo_baseline(clients: usize, per_client: usize, frame_len: usize) -> BenchResult<()> {
    use std::io::{Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("echo.sock");
    let listener = UnixListener::bind(&path)?;
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut buf = vec![0u8; frame_len];
                while s.read_exact(&mut buf).is_ok() {
                    if s.write_all(&buf).is_err() {
                        return;
                    }
                }
            });
        }
    });
    let mut handles = Vec::new();
    let start = Instant::now();
    for _ in 0..clients {
        let mut s = UnixStream::connect(&path)?;
        handles.push(std::thread::spawn(
            move || -> Result<Vec<Duration>, String> {
                let frame = vec![1u8; frame_len];
                let mut back = vec![0u8; frame_len];
                let mut lat = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let t = Instant::now();
                    s.write_all(&frame).map_err(|e| e.to_string())?;
                    s.read_exact(&mut back).map_err(|e| e.to_string())?;
                    lat.push(t.elapsed());
                }
                Ok(lat)
            },
        ));
    }
    report("raw echo", clients, per_client, start, handles)
}

fn report(
    what: &str,
    clients: usize,
    per_client: usize,
    start: Instant,
    handles: Vec<std::thread::JoinHandle<Result<Vec<Duration>, String>>>,
) -> BenchResult<()> {
    let mut all = Vec::with_capacity(clients * per_client);
    for h in handles {
        all.extend(h.join().map_err(|_| "client thread panicked")??);
    }
    let wall = start.elapsed();
    all.sort();
    let total = clients * per_client;
    println!(
        "{what:<9} clients={clients:>3}  requests={total:>7}  throughput={:>9.0} req/s  p50={:>6.1} us  p99={:>7.1} us",
        total as f64 / wall.as_secs_f64(),
        percentile(&all, 0.50).as_secs_f64() * 1e6,
        percentile(&all, 0.99).as_secs_f64() * 1e6,
    );
    Ok(())
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn soak(d: &RunningDaemon, requests: usize) -> BenchResult<()> {
    let (mut c, frame) = mac_client(d)?;
    let mut ping = Client::connect(d.socket_path())?;
    let pf = ping.frame(&Request::Ping { data: &[0u8; 64] })?;
    for _ in 0..10_000 {
        c.fire(&frame)?;
    }
    let before = rss_kib();
    let start = Instant::now();
    for i in 0..requests {
        if i % 2 == 0 {
            c.fire(&frame)?
        } else {
            ping.fire(&pf)?
        }
        if i > 0 && i % (requests / 4).max(1) == 0 {
            println!("  after {i:>8} requests: RSS {} KiB", rss_kib());
        }
    }
    let after = rss_kib();
    println!(
        "soak: {requests} requests (MAC update + ping alternating) in {:.1} s; RSS before {before} KiB, after {after} KiB (delta {} KiB)",
        start.elapsed().as_secs_f64(),
        after as i64 - before as i64
    );
    Ok(())
}

fn main() -> BenchResult<()> {
    // `cargo bench` passes `--bench`; nothing to parse.
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.socket.path = Some(dir.path().join("load.sock"));
    config.limits.max_connections = 80;
    let d = Daemon::start(config)?;
    println!(
        "wardend load test ({} worker threads, {} CPUs)",
        Config::default().effective_workers(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let frame_len = {
        let (mut c, f) = mac_client(&d)?;
        c.fire(&f)?;
        f.len()
    };
    for clients in [1, 2, 8, 64] {
        concurrency(&d, clients, 80_000 / clients)?;
        echo_baseline(clients, 80_000 / clients, frame_len)?;
    }
    let requests = std::env::var("WARDEN_SOAK_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    soak(&d, requests)?;
    let s = d.status();
    println!(
        "status after run: requests={} live={:?} errors={:?}",
        s.requests, s.live, s.errors
    );
    d.shutdown();
    Ok(())
}
