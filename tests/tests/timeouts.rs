//! Two-layer timeouts (seed decision 7) end to end: the deadline travels with each request,
//! the daemon answers `OperationTimedOut` past it, the per-context override and the explicit
//! disable work, and the client bounds its own wait when the daemon is late.
//!
//! The daemon runs in process here so that it can use `warden_crypto::slow::SlowProvider`, a
//! provider that exists only in test builds; everything else is the real daemon and client
//! over a real Unix socket.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_client::*;
use warden_crypto::slow::SlowProvider;
use warden_daemon::{Config, Daemon, RunningDaemon};
use warden_provider_awslc::AwsLcProvider;

fn slow_daemon(delay: Duration) -> (tempfile::TempDir, RunningDaemon) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.socket.path = Some(dir.path().join("wardend.sock"));
    config.storage.data_dir = Some(dir.path().join("data"));
    config.limits.worker_threads = 2;
    let provider = Arc::new(SlowProvider::new(Arc::new(AwsLcProvider::new()), delay));
    let d = Daemon::new(config)
        .with_provider(provider)
        .launch()
        .unwrap();
    (dir, d)
}

/// A slow daemon whose own default context budget (`timeouts.default_ms`) is `default_ms`.
fn slow_daemon_with_default(
    delay: Duration,
    default_ms: u32,
) -> (tempfile::TempDir, RunningDaemon) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.socket.path = Some(dir.path().join("wardend.sock"));
    config.storage.data_dir = Some(dir.path().join("data"));
    config.limits.worker_threads = 2;
    config.timeouts.default_ms = default_ms;
    let provider = Arc::new(SlowProvider::new(Arc::new(AwsLcProvider::new()), delay));
    let d = Daemon::new(config)
        .with_provider(provider)
        .launch()
        .unwrap();
    (dir, d)
}

fn stack(d: &RunningDaemon, cfg: StackConfig) -> CryptoStack {
    CryptoStack::connect(cfg.socket_path(d.socket_path()).dedicated_connection(true)).unwrap()
}

fn sha256(timeout: Option<Timeout>) -> ContextConfig {
    let b = ContextConfig::builder().algorithm(Algorithm::Sha256);
    match timeout {
        Some(t) => b.timeout(t).build().unwrap(),
        None => b.build().unwrap(),
    }
}

fn hmac_params() -> GenerateKeyParams {
    GenerateKeyParams::builder()
        .algorithm(Algorithm::HmacKey)
        .key_len(32)
        .permissions(KeyOperationPermission::MAC)
        .build()
        .unwrap()
}

#[test]
fn stack_default_deadline_is_enforced_by_the_daemon() {
    let (_dir, d) = slow_daemon(Duration::from_millis(300));
    let s = stack(&d, StackConfig::new().default_timeout_ms(100));
    // Not a provider call: fast, within the deadline.
    assert_eq!(s.ping(b"x").unwrap(), b"x");
    // A provider call past the deadline: the daemon's typed answer (not the client's bound:
    // the grace period is the default 1 s, so the daemon's reply arrives first).
    let t = Instant::now();
    let err = s.key_management().generate_key(&hmac_params()).unwrap_err();
    assert!(matches!(err, Error::Daemon { .. }), "{err}");
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
    // Nothing half-made is left behind.
    let st = s.status().unwrap();
    assert_eq!((st.live_keys, st.live_contexts), (0, 0));
    assert!(st.error_count(ErrorCode::OperationTimedOut) >= 1);
}

#[test]
fn explicit_disable_lets_long_operations_finish() {
    let (_dir, d) = slow_daemon(Duration::from_millis(300));
    let s = stack(&d, StackConfig::new().default_timeout_ms(100));
    let key = s
        .key_management()
        .with_timeout(Timeout::Disabled)
        .generate_key(&hmac_params())
        .unwrap();
    assert_eq!(s.status().unwrap().live_keys, 1);
    drop(key);
    let s = stack(&d, StackConfig::new().disable_timeout());
    assert_eq!(s.random(8).unwrap().len(), 8);
}

#[test]
fn per_context_override_beats_the_stack_default() {
    let (_dir, d) = slow_daemon(Duration::from_millis(200));
    // Stack default is generous; the context asks for 50 ms.
    let s = stack(&d, StackConfig::new().default_timeout_ms(5000));
    let err = s
        .create_hash_context(&sha256(Some(Timeout::Millis(50))))
        .map(drop)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
    // Stack default is tight; the context disables its timeout and completes.
    let s = stack(&d, StackConfig::new().default_timeout_ms(50));
    let mut h = s
        .create_hash_context(&sha256(Some(Timeout::Disabled)))
        .unwrap();
    h.init().unwrap();
    h.update(b"abc").unwrap();
    assert_eq!(h.finalize().unwrap().len(), 32);
    // With the default setting the context inherits the tight stack default.
    let err = s.create_hash_context(&sha256(None)).map(drop).unwrap_err();
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
    drop(h);
    let st = s.status().unwrap();
    assert_eq!((st.live_keys, st.live_contexts), (0, 0), "{st:?}");
}

#[test]
fn the_client_stops_waiting_after_deadline_plus_grace_and_recovers() {
    let (_dir, d) = slow_daemon(Duration::from_millis(800));
    let s = stack(
        &d,
        StackConfig::new()
            .default_timeout_ms(50)
            .client_grace(Duration::from_millis(100)),
    );
    let t = Instant::now();
    let err = s.random(8).unwrap_err();
    let waited = t.elapsed();
    assert!(matches!(err, Error::TimedOut), "{err}");
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
    assert!(
        waited < Duration::from_millis(600),
        "client waited {waited:?}"
    );
    // The daemon serves one request per connection at a time: once it has sent its late
    // answer, that answer is skipped by request id and the same connection keeps working.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(s.ping(b"after").unwrap(), b"after");
}

#[test]
fn a_stack_wide_disable_reaches_contexts_left_at_their_default() {
    // The daemon's own default (50 ms) is shorter than each provider call (150 ms); the
    // stack disabled timeouts, and a context at its default setting must inherit that.
    let (_dir, d) = slow_daemon_with_default(Duration::from_millis(150), 50);
    let s = stack(&d, StackConfig::new().disable_timeout());
    let mut h = s.create_hash_context(&sha256(None)).unwrap();
    h.init().unwrap();
    h.update(b"abc").unwrap();
    assert_eq!(h.finalize().unwrap().len(), 32);
}

#[test]
fn a_longer_stack_default_reaches_contexts_left_at_their_default() {
    // Stack default 2 s, daemon default 50 ms, provider calls 150 ms: the stack's wins.
    let (_dir, d) = slow_daemon_with_default(Duration::from_millis(150), 50);
    let s = stack(&d, StackConfig::new().default_timeout_ms(2000));
    let mut h = s.create_hash_context(&sha256(None)).unwrap();
    h.init().unwrap();
    h.update(b"abc").unwrap();
    assert_eq!(h.finalize().unwrap().len(), 32);
    // And a shorter stack default still bounds the context (the daemon answers).
    let s = stack(&d, StackConfig::new().default_timeout_ms(100));
    let err = s.create_hash_context(&sha256(None)).map(drop).unwrap_err();
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
}
