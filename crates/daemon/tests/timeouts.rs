//! Seed decision 7 end to end: the deadline travels in each request header, contexts carry
//! their own budget (default, override, disabled), and the daemon enforces the tighter one.
//! A provider that sleeps before every operation (`SlowProvider`, test builds only) makes
//! operations outlast their deadline.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Conn, start_with};
use warden_core::{ErrorCode, KeyOperationPermission as P};
use warden_crypto::slow::SlowProvider;
use warden_daemon::ResourceKind;
use warden_provider_awslc::AwsLcProvider;
use warden_wire::messages::{ContextKind, CreateContext, GenerateKey, KeySpec, Timeout};
use warden_wire::{Payload, Request};

const DELAY: Duration = Duration::from_millis(250);

fn slow_daemon() -> (tempfile::TempDir, warden_daemon::RunningDaemon) {
    let slow = Arc::new(SlowProvider::new(Arc::new(AwsLcProvider::new()), DELAY));
    start_with(|_| {}, Some(slow))
}

fn mac_key(c: &mut Conn) -> u64 {
    let key = KeySpec {
        algorithm: "HMAC",
        permissions: P::MAC.bits(),
        exportable: false,
        slot: None,
    };
    c.key(&Request::GenerateKey(GenerateKey {
        key,
        rsa_bits: None,
        key_len: Some(32),
        provider: None,
    }))
    .unwrap()
}

fn mac_context(c: &mut Conn, key: u64, timeout: Timeout) -> u64 {
    c.context(&Request::CreateContext(CreateContext {
        kind: ContextKind::Mac,
        algorithm: "HMAC-SHA256",
        key_id: Some(key),
        direction: None,
        timeout,
        options: Default::default(),
    }))
    .unwrap()
}

fn update(c: &mut Conn, id: u64) -> Result<(), ErrorCode> {
    c.output(&Request::Update {
        context_id: id,
        input: Payload::Inline(b"data"),
    })
    .map(|_| ())
}

#[test]
fn header_deadline_times_out_key_generation_and_drops_the_key() {
    let (_dir, d) = slow_daemon();
    let mut c = Conn::open(&d);
    c.deadline_ms = 50;
    let key = KeySpec {
        algorithm: "ED25519",
        permissions: P::SIGN.bits(),
        exportable: false,
        slot: None,
    };
    let started = Instant::now();
    let r = c.key(&Request::GenerateKey(GenerateKey {
        key,
        rsa_bits: None,
        key_len: None,
        provider: None,
    }));
    assert_eq!(r, Err(ErrorCode::OperationTimedOut));
    assert!(started.elapsed() >= DELAY);
    assert_eq!(
        d.status().live_total(),
        0,
        "a key made after the deadline is discarded"
    );
    assert_eq!(d.status().errors_of(ErrorCode::OperationTimedOut), 1);
    // The connection stays usable.
    c.deadline_ms = 0;
    assert_eq!(c.ping(b"alive"), b"alive");
}

#[test]
fn context_budget_fails_the_context_and_releases_its_key() {
    let (_dir, d) = slow_daemon();
    let mut c = Conn::open(&d);
    let k = mac_key(&mut c);
    let m = mac_context(&mut c, k, Timeout::Millis(50));
    c.done(&Request::ReleaseKey { key_id: k }).unwrap();
    // init is not delayed; update sleeps past the 50 ms context budget.
    c.done(&Request::InitContext {
        context_id: m,
        iv: &[],
    })
    .unwrap();
    assert_eq!(update(&mut c, m), Err(ErrorCode::OperationTimedOut));
    let s = d.status();
    assert_eq!(s.live_of(ResourceKind::MacContext), 0);
    assert_eq!(s.live_of(ResourceKind::FailedContext), 1);
    assert_eq!(
        s.live_of(ResourceKind::Key),
        0,
        "the failed context gave up its key reference"
    );
    // The context stays in the error state until destroyed.
    assert_eq!(
        c.done(&Request::ResetContext { context_id: m }),
        Err(ErrorCode::OperationTimedOut)
    );
    c.done(&Request::DestroyContext { context_id: m }).unwrap();
    assert_eq!(d.status().live_total(), 0);
}

#[test]
fn disabled_timeout_lets_slow_operations_finish() {
    let (_dir, d) = slow_daemon();
    let mut c = Conn::open(&d);
    let k = mac_key(&mut c);
    let m = mac_context(&mut c, k, Timeout::Disabled);
    c.done(&Request::InitContext {
        context_id: m,
        iv: &[],
    })
    .unwrap();
    update(&mut c, m).unwrap();
    let tag = c
        .output(&Request::Finalize {
            context_id: m,
            input: Payload::Inline(&[]),
            tag: &[],
        })
        .unwrap();
    assert_eq!(tag.0.len(), 32);
}

#[test]
fn request_deadline_beats_a_longer_context_budget() {
    let (_dir, d) = slow_daemon();
    let mut c = Conn::open(&d);
    let k = mac_key(&mut c);
    let m = mac_context(&mut c, k, Timeout::Millis(60_000));
    c.done(&Request::InitContext {
        context_id: m,
        iv: &[],
    })
    .unwrap();
    c.deadline_ms = 50;
    assert_eq!(update(&mut c, m), Err(ErrorCode::OperationTimedOut));
    assert_eq!(d.status().live_of(ResourceKind::FailedContext), 1);
}

#[test]
fn default_context_budget_comes_from_config() {
    let slow = Arc::new(SlowProvider::new(Arc::new(AwsLcProvider::new()), DELAY));
    let (_dir, d) = start_with(|c| c.timeouts.default_ms = 50, Some(slow));
    let mut c = Conn::open(&d);
    let k = mac_key(&mut c);
    let m = mac_context(&mut c, k, Timeout::Default);
    c.done(&Request::InitContext {
        context_id: m,
        iv: &[],
    })
    .unwrap();
    assert_eq!(update(&mut c, m), Err(ErrorCode::OperationTimedOut));
}

/// Regression (found by the `socket_stream` fuzz target): a client that sends its last
/// requests and shuts down its writing half while the worker is busy. Edge-triggered polling
/// reports data and end of stream in one event; the turn that serves the requests ends on a
/// short read that has not seen the end of stream yet, and without remembering the event the
/// connection was parked forever (its arena with it). The daemon must answer and close.
#[test]
fn a_half_closed_peer_is_closed_after_its_last_reply() {
    use std::io::{Read, Write};
    use std::net::Shutdown;
    use warden_wire::{Builder, FrameHeader, Opcode, PROTOCOL_VERSION, encode_request};

    let slow = Arc::new(SlowProvider::new(Arc::new(AwsLcProvider::new()), DELAY));
    // One worker: the busy connection and the victim share it.
    let (_dir, d) = start_with(|c| c.limits.worker_threads = 1, Some(slow));
    let mut victim = common::connect(&d);
    // Let the worker register the victim and find nothing to read yet.
    std::thread::sleep(Duration::from_millis(50));
    let busy = {
        let mut c = Conn::open(&d);
        std::thread::spawn(move || mac_key(&mut c)) // sleeps DELAY in the provider
    };
    std::thread::sleep(Duration::from_millis(50));
    let mut frames = Vec::new();
    let hello = common::hello_body(PROTOCOL_VERSION, PROTOCOL_VERSION);
    let ping = encode_request(&mut Builder::new(), &Request::Ping { data: b"last" }).to_vec();
    for (id, op, body) in [(1, Opcode::Hello, &hello), (2, Opcode::Ping, &ping)] {
        let h = FrameHeader {
            body_len: body.len() as u32,
            ..FrameHeader::request(PROTOCOL_VERSION, id, op.as_u16())
        };
        frames.extend_from_slice(&h.to_bytes());
        frames.extend_from_slice(body);
    }
    victim.write_all(&frames).unwrap();
    victim.shutdown(Shutdown::Write).unwrap();
    busy.join().unwrap();

    victim
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let mut replies = Vec::new();
    let r = victim.read_to_end(&mut replies);
    assert!(
        r.is_ok(),
        "daemon kept a half-closed connection open after {} reply bytes: {r:?}",
        replies.len()
    );
    let first = FrameHeader::decode(&replies[..32], u32::MAX).unwrap();
    assert_eq!(first.status, 0, "hello answered");
    let second =
        FrameHeader::decode(&replies[32 + first.body_len as usize..][..32], u32::MAX).unwrap();
    assert_eq!((second.request_id, second.status), (2, 0), "ping answered");
}
