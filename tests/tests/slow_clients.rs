//! Slow and stalled clients cost their worker nothing (issue 12): a frame that arrives in
//! pieces is resumed on readiness, a reply the client does not read waits for writability,
//! and either is closed when it does not complete within `timeouts.io_ms`. Meanwhile a
//! victim on the same (single) worker is answered well inside a short client timeout.
//!
//! Before the fix a worker waited up to `io_ms` (500 ms) on each slow socket in turn, so
//! with a few of them the victim's pings (300 ms deadline + 100 ms client grace) failed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use warden_client::{CryptoStack, StackConfig};
use warden_e2e::{Daemon, DaemonOptions, raw};
use warden_wire::{Builder, HEADER_LEN};

/// One worker, so every slow client shares the victim's thread.
fn daemon(io_ms: u32) -> Daemon {
    Daemon::start_with(DaemonOptions {
        config_toml: Some(format!(
            "[limits]\nworker_threads = 1\nmax_connections = 128\n[timeouts]\nio_ms = {io_ms}\n"
        )),
        ..DaemonOptions::default()
    })
    .unwrap()
}

/// The victim: a short client timeout, so a worker stalled for `io_ms` fails its pings.
fn victim(d: &Daemon) -> CryptoStack {
    CryptoStack::connect(
        StackConfig::new()
            .socket_path(d.socket_path())
            .dedicated_connection(true)
            .default_timeout_ms(300)
            .client_grace(Duration::from_millis(100)),
    )
    .unwrap()
}

fn pings_all_answered(stack: &CryptoStack, n: usize) {
    let mut slowest = Duration::ZERO;
    for i in 0..n {
        let started = Instant::now();
        let r = stack.ping(b"victim");
        assert!(
            r.is_ok(),
            "victim ping {i} failed after {:?}: {r:?}",
            started.elapsed()
        );
        slowest = slowest.max(started.elapsed());
    }
    println!("{n} victim pings, slowest {slowest:?}");
}

/// Reads until the daemon closes the connection (EOF or reset), discarding replies.
/// `false` if it is still open after `within`.
fn closed_by_daemon(s: &mut UnixStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn slow_loris_connections_do_not_stall_the_victims_worker() {
    let d = daemon(500);
    let stack = victim(&d);
    pings_all_answered(&stack, 3);
    // 30 connections that each send one byte of a Hello and, when the daemon closes them,
    // reconnect and do it again.
    let stop = Arc::new(AtomicBool::new(false));
    let reconnects = Arc::new(AtomicUsize::new(0));
    let lorises: Vec<_> = (0..30)
        .map(|_| {
            let (path, stop, reconnects) =
                (d.socket_path().to_owned(), stop.clone(), reconnects.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut s) = UnixStream::connect(&path) else {
                        continue;
                    };
                    let _ = s.write_all(&raw::hello_frame("slow")[..1]);
                    let _ = closed_by_daemon(&mut s, Duration::from_secs(5));
                    reconnects.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    pings_all_answered(&stack, 40);
    stop.store(true, Ordering::Relaxed);
    for t in lorises {
        t.join().unwrap();
    }
    assert!(reconnects.load(Ordering::Relaxed) >= 30);
}

#[test]
fn frames_that_stall_midway_are_closed_after_io_ms() {
    let d = daemon(500);
    let stack = victim(&d);
    // Eight connections send a header and half a body, then fall silent.
    let f = raw::ping_frame(&mut Builder::new(), 1, &[7; 64]);
    let mut stalled: Vec<UnixStream> = (0..8)
        .map(|_| raw::handshaken(d.socket_path(), "slow"))
        .collect();
    for s in &mut stalled {
        s.write_all(&f[..HEADER_LEN + 10]).unwrap();
    }
    let started = Instant::now();
    pings_all_answered(&stack, 20);
    for s in &mut stalled {
        assert!(
            closed_by_daemon(s, Duration::from_secs(5)),
            "a stalled frame must be closed"
        );
    }
    // Closed by the stall timer (500 ms budget), not by some later event.
    assert!(started.elapsed() < Duration::from_secs(4));
    pings_all_answered(&stack, 3);
}

#[test]
fn a_client_that_never_reads_its_replies_does_not_block_the_worker() {
    let d = daemon(500);
    let stack = victim(&d);
    // Six connections pipeline 32 KiB pings and never read a reply: the socket buffers
    // fill both ways and every reply write would block.
    let frame = raw::ping_frame(&mut Builder::new(), 2, &[0x42; 32 * 1024]);
    let mut hogs: Vec<UnixStream> = (0..6)
        .map(|_| raw::handshaken(d.socket_path(), "slow"))
        .collect();
    for hog in &mut hogs {
        hog.set_nonblocking(true).unwrap();
        let mut queued = 0usize;
        let until = Instant::now() + Duration::from_millis(200);
        while Instant::now() < until {
            match hog.write(&frame) {
                Ok(n) => queued += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(_) => break,
            }
        }
        assert!(queued > frame.len() * 4, "a hog could not queue requests");
    }
    pings_all_answered(&stack, 40);
    // Still not reading for well over io_ms: the daemon gives up on the reply it cannot
    // deliver and closes (reading now drains what it sent before that, then EOF).
    std::thread::sleep(Duration::from_millis(1500));
    for hog in &mut hogs {
        hog.set_nonblocking(false).unwrap();
        assert!(closed_by_daemon(hog, Duration::from_secs(5)));
    }
    pings_all_answered(&stack, 3);
}
