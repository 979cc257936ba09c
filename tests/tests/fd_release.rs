//! Red-team pass 2: descriptors the kernel releases on the daemon's behalf.
//!
//! The closer thread (first pass) keeps a slow `close` off the workers, but only for the
//! descriptors wardend receives. Two kinds it never sees were still released on a worker,
//! where the kernel runs the file's last release on the way back from the system call:
//! descriptors beyond the read's control buffer (`MSG_CTRUNC`: the kernel drops them), and
//! descriptors still queued on a connection the daemon closes unread. The last release of a
//! TCP socket with `SO_LINGER` and unsent data (its peer reads nothing) waits up to the
//! linger time, which its owner chooses: any local uid could hold a worker, and every
//! connection of every uid on it, for as long as it liked.
//!
//! Needs root (the attacker runs as another uid, and the test stops the daemon for a moment
//! so the attacker's descriptor is in flight when the daemon reads, which a real attacker
//! arranges by closing its copy right after sending); skips with a printed reason otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::mem::MaybeUninit;
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg, sockopt};
use warden_client::{CryptoStack, StackConfig};
use warden_e2e::persistent::{Wardend, config, is_root, shared_root};

const CHILD_SOCKET: &str = "WARDEN_E2E_FD_RELEASE_SOCKET";
const CHILD_MODE: &str = "WARDEN_E2E_FD_RELEASE_MODE";
/// The attacker (spare uids of the second red-team range), one per test: the kernel bounds
/// each user's descriptors in flight, which the flood test uses up.
fn attacker_uid(mode: &str) -> u32 {
    match mode {
        "truncated" => 4402,
        "unread" => 4403,
        _ => 4404,
    }
}
/// How long the attacker's socket lingers (far past what the test waits).
const LINGER: Duration = Duration::from_secs(120);

/// A TCP socket whose close lingers: data it cannot send (the peer, returned too, reads
/// nothing and advertises no window) and `SO_LINGER` set.
fn lingering_socket() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (peer, _) = l.accept().unwrap();
    sockopt::set_socket_recv_buffer_size(&peer, 4096).unwrap();
    sockopt::set_socket_send_buffer_size(&c, 4096).unwrap();
    c.set_nonblocking(true).unwrap();
    let chunk = vec![0u8; 65536];
    for _ in 0..3 {
        while (&c).write(&chunk).is_ok() {}
        std::thread::sleep(Duration::from_millis(100));
    }
    sockopt::set_socket_linger(&c, Some(LINGER)).unwrap();
    (c, peer)
}

/// Sends `bytes` with `fds` attached.
fn send_fds(to: &UnixStream, bytes: &[u8], fds: &[BorrowedFd<'_>]) {
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    assert!(control.push(SendAncillaryMessage::ScmRights(fds)));
    let n = sendmsg(
        to,
        &[std::io::IoSlice::new(bytes)],
        &mut control,
        SendFlags::NOSIGNAL,
    )
    .unwrap();
    assert_eq!(n, bytes.len());
}

/// The attacker, run as another uid ([`attacker_uid`]): when told to (the daemon is stopped then), sends
/// its lingering socket to the daemon and closes its own copy, so the daemon holds the last
/// reference; then keeps the peer (which reads nothing) until killed.
#[test]
#[ignore = "run by the parent test as another uid"]
fn fd_release_child() {
    let (Ok(socket), Ok(mode)) = (std::env::var(CHILD_SOCKET), std::env::var(CHILD_MODE)) else {
        return;
    };
    let (c, _peer) = lingering_socket();
    let (pr, pw) = std::io::pipe().unwrap();
    println!("READY");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    let u = UnixStream::connect(&socket).unwrap();
    match mode.as_str() {
        // Eight descriptors in one read, the lingering one last: beyond the control buffer.
        "truncated" => {
            let mut fds = vec![pr.as_fd(); 4];
            fds.extend([pw.as_fd(), pw.as_fd(), pw.as_fd(), c.as_fd()]);
            send_fds(&u, &[0; 4], &fds);
        }
        // A header the daemon refuses (it closes the connection), then the descriptor in a
        // separate message the daemon never reads.
        "unread" => {
            (&u).write_all(&[0xff; 32]).unwrap();
            send_fds(&u, &[0; 4], &[c.as_fd()]);
        }
        // The lingering socket after four others (what a connection keeps for its next
        // regions): received, it goes to the closer thread at once and wedges it.
        "flood" => send_fds(
            &u,
            &[0; 4],
            &[pr.as_fd(), pr.as_fd(), pr.as_fd(), pr.as_fd(), c.as_fd()],
        ),
        other => panic!("unknown mode {other}"),
    }
    drop(c);
    println!("SENT");
    if mode == "flood" {
        // Then as many descriptors as a message holds, on every connection it may open.
        std::io::stdin().read_line(&mut line).unwrap();
        let many = vec![pr.as_fd(); 253];
        let mut held = Vec::new();
        for _ in 0..16 {
            let Ok(u) = UnixStream::connect(&socket) else {
                continue;
            };
            for _ in 0..8 {
                let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(253))];
                let mut control = SendAncillaryBuffer::new(&mut space);
                assert!(control.push(SendAncillaryMessage::ScmRights(&many)));
                let iov = [std::io::IoSlice::new(&[0; 4])];
                if sendmsg(&u, &iov, &mut control, SendFlags::NOSIGNAL).is_err() {
                    break;
                }
            }
            held.push(u);
        }
        println!("FLOODED");
    }
    std::thread::sleep(Duration::from_secs(600));
    drop(u);
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// A one-worker daemon and the attacker in `mode`, its lingering socket sent (the daemon
/// was stopped meanwhile, so the daemon holds its last reference).
fn attack(
    mode: &str,
) -> Option<(
    tempfile::TempDir,
    Wardend,
    std::process::Child,
    impl FnMut(&str),
)> {
    if !is_root() {
        return None;
    }
    let root = shared_root();
    // One worker: whatever holds it holds every connection.
    let d = Wardend::start(
        root.path(),
        &format!("{}[limits]\nworker_threads = 1\n", config(&[0])),
    );
    let mut attacker = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "fd_release_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD_SOCKET, &d.socket)
        .env(CHILD_MODE, mode)
        .uid(attacker_uid(mode))
        .gid(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(attacker.stdout.take().unwrap());
    let mut wait_for = move |what: &str| {
        let mut line = String::new();
        while !line.contains(what) {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "attacker ended");
        }
    };
    wait_for("READY");
    // The daemon does not run while the attacker sends and closes its copy: its descriptor
    // is in flight, so the daemon's side holds the last reference.
    signal(d.pid(), "-STOP");
    writeln!(attacker.stdin.as_mut().unwrap(), "go").unwrap();
    wait_for("SENT");
    signal(d.pid(), "-CONT");
    std::thread::sleep(Duration::from_millis(500));
    Some((root, d, attacker, wait_for))
}

/// Runs the attacker in `mode`, then checks that another client is still served promptly.
fn worker_stays_free(mode: &str) {
    let Some((_root, d, mut attacker, _)) = attack(mode) else {
        return;
    };

    let mut results = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = CryptoStack::connect(
            StackConfig::new()
                .socket_path(&d.socket)
                .dedicated_connection(true)
                .default_timeout_ms(2000)
                .connect_timeout(Duration::from_secs(3)),
        )
        .and_then(|s| s.ping(b"victim").map(|_| ()));
        results.push((r, t.elapsed()));
    }
    let _ = attacker.kill();
    let _ = attacker.wait();
    for (r, took) in &results {
        assert!(
            r.is_ok() && *took < Duration::from_secs(2),
            "{mode}: another client was not served while the attacker's descriptor lingered: \
             {results:?}"
        );
    }
    d.stop();
}

#[test]
fn descriptors_beyond_a_read_are_not_released_on_a_worker() {
    worker_stays_free("truncated");
}

#[test]
fn descriptors_queued_on_a_closed_connection_are_not_released_on_a_worker() {
    worker_stays_free("unread");
}

/// The closer thread is stuck on the lingering socket; the attacker then sends 253
/// descriptors per message on every connection it may open. The daemon must not take them
/// all into its descriptor table (it could run out: `RLIMIT_NOFILE` is often 1024): once
/// the uid is over its bound, its connections read nothing more and end, and a connection
/// with descriptors still queued goes to the closer whole.
#[test]
fn a_uid_whose_descriptors_are_stuck_cannot_pin_many_more() {
    let Some((_root, d, mut attacker, mut wait_for)) = attack("flood") else {
        return;
    };
    let before = std::fs::read_dir(format!("/proc/{}/fd", d.pid()))
        .unwrap()
        .count();
    println!("before the flood the daemon holds {before} descriptors");
    writeln!(attacker.stdin.as_mut().unwrap(), "go").unwrap();
    wait_for("FLOODED");
    std::thread::sleep(Duration::from_millis(500));
    let open = std::fs::read_dir(format!("/proc/{}/fd", d.pid()))
        .unwrap()
        .count();
    let _ = attacker.kill();
    let _ = attacker.wait();
    // The bound (16), one message's worth per worker (253), a socket per connection (16),
    // and the daemon's own (about 40); 16 connections of 253 each would be over 4000.
    println!("the daemon holds {open} descriptors");
    assert!(open < 400, "the daemon holds {open} descriptors");
    // And the uid's stuck descriptors do not keep others out.
    let s = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&d.socket)
            .dedicated_connection(true)
            .default_timeout_ms(2000),
    )
    .unwrap();
    s.ping(b"victim").unwrap();
    d.stop();
}
