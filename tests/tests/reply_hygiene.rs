//! Red-team pass 3 on reply coalescing and close paths, from a client's own raw socket:
//! - replies held back while the client pipelines are written once, and nothing follows the
//!   refusal of an undecodable header (they were written with the refusal, then again);
//! - a byte-carrying reply (here a ping's echo; a decryption or an exported key the same) that
//!   was still unsent when its connection closed is wiped from daemon memory (the reply
//!   builder was freed as it was).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use warden_e2e::raw::{handshaken, ping_frame, read_frame};
use warden_e2e::{Daemon, DaemonOptions};
use warden_wire::{Builder, HEADER_LEN};

#[test]
fn held_replies_are_written_once_before_an_undecodable_header_closes() {
    let d = Daemon::start().unwrap();
    let mut s = handshaken(d.socket_path(), "reply-hygiene");
    // Three small pings, each with the next header queued behind it (so their replies are
    // held), the last followed by a header with a bad magic: all in one write.
    let mut b = Builder::new();
    let mut all = Vec::new();
    for id in 1..=3u64 {
        all.extend(ping_frame(&mut b, id, b"secret-ish"));
    }
    all.extend_from_slice(&[0xA5; HEADER_LEN]);
    s.write_all(&all).unwrap();
    for id in 1..=3u64 {
        let (h, _) = read_frame(&mut s);
        assert_eq!((h.request_id, h.status), (id, 0), "answers in order");
    }
    let (refusal, _) = read_frame(&mut s);
    assert_ne!(refusal.status, 0, "the bad header is refused");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "{} bytes after the refusal (held replies written a second time)",
        rest.len()
    );
}

const RUN: usize = 64;

/// Byte `i` of the ping data: period 251 (a prime), so any 64 bytes say where they are.
fn p(i: usize) -> u8 {
    ((i * 7 + 3) % 251) as u8
}

/// Whether `m[j..j + len]` continues the sequence from `m[j]`.
fn run_at(m: &[u8], j: usize, len: usize) -> bool {
    let Some(&first) = m.get(j) else {
        return false;
    };
    if first >= 251 {
        return false;
    }
    // p(i) = 7i + 3 (mod 251): the phase k with p(k) = first; 36 is 7⁻¹ mod 251.
    let k = ((usize::from(first) + 251 - 3) * 36) % 251;
    (1..len).all(|t| m.get(j + t) == Some(&p(k + t)))
}

/// 64-byte runs of the sequence in the writable mappings of process `pid` (read as root).
/// Any such run holds a 32-byte one starting at a multiple of 32, so only those are tried.
fn runs_in(pid: u32) -> usize {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let mut found = 0;
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.get(1).is_none_or(|perm| !perm.starts_with("rw")) {
            continue;
        }
        let (start, end) = f[0].split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut buf = vec![0u8; (end - start) as usize];
        if let Err(e) = mem.read_exact_at(&mut buf, start) {
            if std::env::var_os("RUNS_DEBUG").is_some() {
                eprintln!("unreadable {line}: {e}");
            }
            continue;
        }
        let before = found;
        let mut j = 0;
        while j + RUN <= buf.len() {
            if run_at(&buf, j, RUN / 2) {
                found += 1;
                j += RUN;
            } else {
                j += RUN / 2;
            }
        }
        if found > before && std::env::var_os("RUNS_DEBUG").is_some() {
            eprintln!("{} runs in {line}", found - before);
        }
    }
    found
}

/// Runs left in `pid` once its wipes had time to run: the daemon wipes a reply right after
/// writing it, so a client that has read it may look a moment too early.
fn runs_settled(pid: u32) -> usize {
    let until = Instant::now() + Duration::from_secs(2);
    let mut left = runs_in(pid);
    while left > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
        left = runs_in(pid);
    }
    left
}

/// Pings of 48 KiB echoed, nothing read: the socket fills, the daemon stops reading and the
/// last reply waits in its reply buffer for writability. Then the client closes
/// (`client_closes`: the daemon's next write fails) or the daemon's stall timer (`io_ms`)
/// ends the connection. Returns the runs found while the reply waited and those left after.
fn unsent_reply_then_close(io_ms: u32, client_closes: bool) -> (usize, usize) {
    let d = Daemon::start_with(DaemonOptions {
        config_toml: Some(format!("[timeouts]\nio_ms = {io_ms}\n")),
        ..DaemonOptions::default()
    })
    .unwrap();
    let s = handshaken(d.socket_path(), "reply-hygiene");
    let data: Vec<u8> = (0..48 * 1024).map(p).collect();
    let mut b = Builder::new();
    let mut all = Vec::new();
    for id in 1..=12u64 {
        all.extend(ping_frame(&mut b, id, &data));
    }
    drop(data);
    {
        // The daemon stops reading once a reply is stuck: the rest never goes in.
        let mut w = s.try_clone().unwrap();
        w.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let _ = w.write_all(&all);
    }
    all.fill(0);
    let waiting = if client_closes {
        let n = runs_in(d.pid());
        s.shutdown(std::net::Shutdown::Both).unwrap();
        n
    } else {
        0
    };
    // Until the daemon has closed its end (at once, or once the stall timer fires).
    let until = Instant::now() + Duration::from_millis(u64::from(io_ms)) + Duration::from_secs(5);
    let mut left = runs_in(d.pid());
    while left > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
        left = runs_in(d.pid());
    }
    drop(s); // open until here: the stall timer, not the client, ends the connection
    (waiting, left)
}

#[test]
fn an_unsent_reply_is_wiped_when_its_client_closes() {
    if !warden_e2e::persistent::is_root() {
        println!("skipped: reading the daemon's memory needs root");
        return;
    }
    let (waiting, left) = unsent_reply_then_close(10_000, true);
    assert!(
        waiting > 0,
        "the search finds the unsent reply in the daemon while it waits"
    );
    assert_eq!(
        left, 0,
        "64-byte runs of a reply left in daemon memory after its client closed"
    );
}

#[test]
fn an_unsent_reply_is_wiped_when_the_stall_timer_closes() {
    if !warden_e2e::persistent::is_root() {
        println!("skipped: reading the daemon's memory needs root");
        return;
    }
    let (_, left) = unsent_reply_then_close(300, false);
    assert_eq!(
        left, 0,
        "64-byte runs of a reply left in daemon memory after the stall timer closed it"
    );
}

/// A secret key imported on a connection that then closes leaves no copy of its bytes in
/// daemon memory (the import request in the arena inbox, the key object).
#[test]
fn a_closed_connection_leaves_no_imported_key_bytes_in_the_daemon() {
    if !warden_e2e::persistent::is_root() {
        println!("skipped: reading the daemon's memory needs root");
        return;
    }
    use warden_client::*;
    let d = Daemon::start().unwrap();
    let stack = CryptoStack::connect(d.stack_config().dedicated_connection(true)).unwrap();
    let mut key: Vec<u8> = (0..2048).map(p).collect();
    let id = stack
        .key_management()
        .import_key(
            &ImportKeyParams::builder()
                .algorithm(Algorithm::HmacKey)
                .permissions(KeyOperationPermission::MAC)
                .format(KeyFormat::Raw)
                .build()
                .unwrap(),
            &key,
        )
        .unwrap();
    key.fill(0);
    assert!(
        runs_in(d.pid()) > 0,
        "the search finds the key in the daemon while it is loaded"
    );
    drop(id);
    drop(stack);
    let until = Instant::now() + Duration::from_secs(5);
    let mut left = runs_in(d.pid());
    while left > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
        left = runs_in(d.pid());
    }
    assert_eq!(
        left, 0,
        "64-byte runs of an imported key left in daemon memory after its connection closed"
    );
}

/// Small replies held back while the client pipelines (and the requests they answer) are
/// wiped once written: after the answers were read, on a connection still open, no copy of
/// the pinged bytes is left in daemon memory (held-reply buffer, reply builder, inbox).
#[test]
fn held_replies_are_wiped_once_written() {
    if !warden_e2e::persistent::is_root() {
        println!("skipped: reading the daemon's memory needs root");
        return;
    }
    let d = Daemon::start().unwrap();
    let mut s = handshaken(d.socket_path(), "reply-hygiene");
    let mut b = Builder::new();
    let mut all = Vec::new();
    for id in 1..=6u64 {
        // 192 bytes: held (a reply of at most 256 bytes), and three runs of 64.
        let data: Vec<u8> = (0..192).map(|i| p(i + 192 * id as usize)).collect();
        all.extend(ping_frame(&mut b, id, &data));
    }
    s.write_all(&all).unwrap();
    all.fill(0);
    for id in 1..=6u64 {
        let (h, mut body) = read_frame(&mut s);
        assert_eq!((h.request_id, h.status), (id, 0));
        body.fill(0);
    }
    assert_eq!(
        runs_settled(d.pid()),
        0,
        "64-byte runs of pipelined small replies left in daemon memory after they were read"
    );
    drop(s);
}

/// A decryption answered inline leaves no copy of the plaintext in daemon memory once the
/// answer was read (private output buffer, reply builder), the connection still open.
#[test]
fn a_decrypted_answer_leaves_no_plaintext_in_the_daemon() {
    if !warden_e2e::persistent::is_root() {
        println!("skipped: reading the daemon's memory needs root");
        return;
    }
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use warden_client::*;
    let d = Daemon::start().unwrap();
    let stack = CryptoStack::connect(d.stack_config().dedicated_connection(true)).unwrap();
    let key = [0x42u8; 32];
    let nonce = [9u8; 12];
    let imported = stack
        .key_management()
        .import_key(
            &ImportKeyParams::builder()
                .algorithm(Algorithm::Aes256Key)
                .permissions(KeyOperationPermission::DECRYPT)
                .format(KeyFormat::Raw)
                .build()
                .unwrap(),
            &key,
        )
        .unwrap();
    let mut ct: Vec<u8> = (0..16 * 1024).map(p).collect();
    let tag = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap())
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(b"aad"),
            &mut ct,
        )
        .unwrap();
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Aes256Gcm)
        .key(imported.id())
        .direction(CipherDirection::Decrypt)
        .build()
        .unwrap();
    let mut ctx = stack.create_aead_context(&cfg).unwrap();
    let mut pt = ctx.open(&nonce, b"aad", &ct, tag.as_ref()).unwrap();
    assert!(pt.len() == 16 * 1024 && (0..pt.len()).all(|i| pt[i] == p(i)));
    pt.fill(0);
    assert_eq!(
        runs_settled(d.pid()),
        0,
        "64-byte runs of a decrypted answer left in daemon memory after it was read"
    );
    drop(ctx);
    drop(stack);
}
