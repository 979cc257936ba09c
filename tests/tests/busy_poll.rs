//! Busy polling, the latency knobs of the data plane (issue 13): the daemon's
//! `limits.busy_poll_us` and the client's `StackConfig::busy_poll`. They change when each side
//! sleeps, never an answer: a busy-polling daemon spins only right after serving (an idle one
//! costs no CPU), and a polling client still gets answers that take longer than its window.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::time::{Duration, Instant};

use warden_client::*;
use warden_e2e::persistent::{Wardend, config};

type P = KeyOperationPermission;

/// The CPU-time test measures the daemon while it polls: keep this file's tests apart.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn start(root: &std::path::Path, extra: &str) -> Wardend {
    Wardend::start(root, &format!("{}{extra}", config(&[])))
}

/// CPU time the daemon's threads have used so far (`/proc/<pid>/task/*/schedstat`).
fn cpu_time(pid: u32) -> Duration {
    let mut ns = 0u64;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let stat = std::fs::read_to_string(t.unwrap().path().join("schedstat")).unwrap_or_default();
        ns += stat
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Duration::from_nanos(ns)
}

/// Whether a spinning thread gets most of a CPU right now. A busy-polling worker yields
/// between looks, so on a machine whose CPUs other work keeps busy it burns little CPU while
/// it polls, and CPU time cannot show whether it polled.
fn a_cpu_is_free() -> bool {
    let own = || {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
        let ns = stat.split_whitespace().next().and_then(|v| v.parse().ok());
        Duration::from_nanos(ns.unwrap_or(0))
    };
    let (start, before) = (Instant::now(), own());
    while start.elapsed() < Duration::from_millis(50) {
        std::hint::spin_loop();
    }
    own() - before >= Duration::from_millis(40)
}

/// CPU the daemon uses while a client sends 20 pings 10 ms apart, then while it is idle.
fn cpu_for_spaced_pings_then_idle(d: &Wardend, s: &CryptoStack) -> (Duration, Duration) {
    let before = cpu_time(d.pid());
    for i in 0..20u8 {
        assert_eq!(s.ping(&[i; 64]).unwrap(), vec![i; 64]);
        std::thread::sleep(Duration::from_millis(10));
    }
    let spaced = cpu_time(d.pid()) - before;
    let before = cpu_time(d.pid());
    std::thread::sleep(Duration::from_millis(500));
    (spaced, cpu_time(d.pid()) - before)
}

#[test]
fn a_busy_polling_daemon_spins_only_right_after_serving() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let root = tempfile::tempdir().unwrap();
    let polling = start(root.path(), "[limits]\nbusy_poll_us = 1000\n");
    let s = polling.stack();
    // Back to back: every answer is the right one.
    for i in 0..500u32 {
        let data = i.to_le_bytes();
        assert_eq!(s.ping(&data).unwrap(), data);
    }
    let (polled, idle) = cpu_for_spaced_pings_then_idle(&polling, &s);
    println!("busy_poll_us = 1000: 20 spaced pings {polled:?} CPU, 500 ms idle {idle:?}");
    // After each of the 20 pings the worker polls for up to 1 ms, finds nothing (the next
    // ping is 10 ms away) and goes to sleep: about 20 ms of CPU (less when other threads
    // want the CPU: it yields between looks), and none while idle.
    assert!(
        polled <= Duration::from_millis(150),
        "the worker polled far longer than 1 ms per request: {polled:?}"
    );
    assert!(
        idle <= Duration::from_millis(25),
        "an idle daemon spent {idle:?} of CPU in 500 ms"
    );

    // The default daemon never spins: the same pings cost it a fraction of that.
    let root2 = tempfile::tempdir().unwrap();
    let plain = start(root2.path(), "");
    let (plain_cpu, idle) = cpu_for_spaced_pings_then_idle(&plain, &plain.stack());
    println!("default: 20 spaced pings {plain_cpu:?} CPU, 500 ms idle {idle:?}");
    assert!(idle <= Duration::from_millis(25), "{idle:?}");
    if !a_cpu_is_free() {
        println!("SKIPPED the polling-CPU comparison: the CPUs are busy with other work");
        return;
    }
    assert!(
        polled >= Duration::from_millis(5) && polled >= 3 * plain_cpu,
        "the polling worker did not poll after serving: {polled:?} vs {plain_cpu:?} without"
    );
}

#[test]
fn a_polling_client_gets_answers_that_take_longer_than_its_window() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "[limits]\nbusy_poll_us = 200\n");
    let polling = d
        .stack_config()
        .dedicated_connection(false)
        .busy_poll(Duration::from_millis(1));
    let s = CryptoStack::connect(polling.clone()).unwrap();
    let mem = MemoryAllocator::connect(polling).unwrap();

    // RSA-3072 key generation takes far longer than 1 ms (and runs on the long lane): the
    // client polls, then blocks, and gets its key.
    let t = Instant::now();
    let p = GenerateKeyParams::builder()
        .algorithm(Algorithm::RsaPssSha256)
        .rsa_bits(3072)
        .permissions(P::SIGN | P::VERIFY)
        .build()
        .unwrap();
    let rsa = s.key_management().generate_key(&p).unwrap();
    println!(
        "RSA-3072 generation with a 1 ms polling window: {:?}",
        t.elapsed()
    );
    let public = s
        .key_management()
        .export_public_key(rsa.id(), None)
        .unwrap();
    assert!(public.len() > 300, "{}", public.len());

    // A data-plane round trip with both sides polling: 4 MiB sealed and opened.
    let p = GenerateKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(P::ENCRYPT | P::DECRYPT)
        .build()
        .unwrap();
    let k = s.key_management().generate_key(&p).unwrap();
    let len = 4 << 20;
    let mut r = mem.allocate(3 * len).unwrap();
    for (i, b) in r.as_mut_slice()[..len].iter_mut().enumerate() {
        *b = (i % 251) as u8;
    }
    let (pt, ct, back) = (
        r.slice(0..len).unwrap(),
        r.slice(len..2 * len).unwrap(),
        r.slice(2 * len..3 * len).unwrap(),
    );
    let ctx = |dir| {
        ContextConfig::builder()
            .algorithm(Algorithm::Aes256Gcm)
            .key(k.id())
            .direction(dir)
            .timeout(Timeout::Disabled)
            .build()
            .unwrap()
    };
    let mut seal = s
        .create_aead_context(&ctx(CipherDirection::Encrypt))
        .unwrap();
    let mut open = s
        .create_aead_context(&ctx(CipherDirection::Decrypt))
        .unwrap();
    for _ in 0..3 {
        let sealed = seal.seal_region(&mut r, b"", pt, ct).unwrap();
        let n = open
            .open_region(&mut r, &sealed.nonce, b"", ct, &sealed.tag, back)
            .unwrap();
        assert_eq!(n, len);
        assert!(r.as_slice()[..len] == r.as_slice()[2 * len..]);
        r.as_mut_slice()[2 * len..].fill(0);
    }

    // Errors come back unchanged through the polling path.
    let e = s
        .key_management()
        .export_public_key(k.id(), None)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::IncompatibleKeyType);
}
