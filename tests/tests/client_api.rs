//! The client API against a real `wardend`: the crate-level example run for real, ping, status,
//! random, the shared connection, streaming with `reset`, and misuse errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use warden_client::*;
use warden_e2e::Daemon;

fn daemon() -> Daemon {
    Daemon::start().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn crate_example_runs_against_a_real_daemon() {
    let d = daemon();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let key = km
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::HmacKey)
                .key_len(32)
                .permissions(KeyOperationPermission::MAC)
                .build()
                .unwrap(),
        )
        .unwrap();
    let mut mac = stack
        .create_mac_context(
            &ContextConfig::builder()
                .algorithm(Algorithm::HmacSha256)
                .key(key.id())
                .build()
                .unwrap(),
        )
        .unwrap();
    drop(key); // the context keeps the key alive in the daemon
    mac.init().unwrap();
    mac.update(b"hello").unwrap();
    let tag = mac.finalize().unwrap();
    assert_eq!(tag.len(), 32);
    // Reset keeps key and config: the same input gives the same tag.
    mac.reset().unwrap();
    mac.init().unwrap();
    mac.update(b"hel").unwrap();
    mac.update(b"lo").unwrap();
    assert_eq!(mac.finalize().unwrap(), tag);
}

#[test]
fn ping_status_and_random() {
    let d = daemon();
    let stack = d.stack().unwrap();
    assert_eq!(stack.ping(b"are you there").unwrap(), b"are you there");
    assert_eq!(stack.ping(b"").unwrap(), b"");
    let a = stack.random(32).unwrap();
    let b = stack.random(32).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    assert!(stack.random(0).unwrap().is_empty());
    let s = stack.status().unwrap();
    assert!(s.connections >= 1, "{s:?}");
    assert!(s.requests_served >= 4, "{s:?}");
    assert_eq!(s.live_keys, 0);
    assert_eq!(s.live_contexts, 0);
}

#[test]
fn stacks_share_one_connection_and_its_key_ids() {
    let d = daemon();
    let a = d.stack().unwrap();
    let b = d.stack().unwrap();
    assert!(a.shares_connection_with(&b));
    assert_eq!(a.status().unwrap().connections, 1);
    // A key generated through one stack is usable through the other.
    let key = a
        .key_management()
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::Ed25519)
                .permissions(KeyOperationPermission::SIGN)
                .build()
                .unwrap(),
        )
        .unwrap();
    let mut sign = b
        .create_sign_context(
            &ContextConfig::builder()
                .algorithm(Algorithm::Ed25519)
                .key(key.id())
                .build()
                .unwrap(),
        )
        .unwrap();
    sign.init().unwrap();
    sign.update(b"m").unwrap();
    assert_eq!(sign.finalize().unwrap().len(), 64);
    // A dedicated connection has its own namespace: the id is unknown there.
    let c = CryptoStack::connect(d.stack_config().dedicated_connection(true)).unwrap();
    assert!(!c.shares_connection_with(&a));
    let err = c
        .create_sign_context(
            &ContextConfig::builder()
                .algorithm(Algorithm::Ed25519)
                .key(key.id())
                .build()
                .unwrap(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResourceNotFound);
}

#[test]
fn stream_misuse_gets_typed_errors() {
    let d = daemon();
    let stack = d.stack().unwrap();
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Sha256)
        .build()
        .unwrap();
    let mut h = stack.create_hash_context(&cfg).unwrap();
    assert_eq!(
        h.update(b"x").unwrap_err().code(),
        ErrorCode::StreamNotInitialized
    );
    h.init().unwrap();
    assert_eq!(h.init().unwrap_err().code(), ErrorCode::StreamAlreadyActive);
    h.update(b"abc").unwrap();
    // Reset in the middle of a stream is misuse (seed: Finalize before Reset).
    assert_eq!(h.reset().unwrap_err().code(), ErrorCode::ContextResetFailed);
    let digest = h.finalize().unwrap();
    assert_eq!(digest.len(), 32);
    assert_eq!(digest, stack.digest(Algorithm::Sha256, b"abc").unwrap());
    // The context is still usable after errors: reset and hash again.
    h.reset().unwrap();
    h.init().unwrap();
    h.update(b"abc").unwrap();
    assert_eq!(h.finalize().unwrap(), digest);
    // A hash config given to the wrong factory is refused before anything is sent.
    assert_eq!(
        stack.create_sign_context(&cfg).unwrap_err().code(),
        ErrorCode::AlgorithmMismatch
    );
}

#[test]
fn socket_env_variable_is_honoured() {
    let d = daemon();
    // Only this test in this binary touches WARDEN_SOCKET; the variable is read at connect.
    // std::env::set_var is unsafe in edition 2024 (threads); use a child process instead.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "env_child_connects",
            "--nocapture",
            "--include-ignored",
        ])
        .env("WARDEN_SOCKET", d.socket_path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}

/// Helper for `socket_env_variable_is_honoured`: runs only when asked for explicitly.
#[test]
#[ignore = "run by socket_env_variable_is_honoured in a child process"]
fn env_child_connects() {
    let stack = CryptoStack::connect(StackConfig::new()).unwrap();
    assert_eq!(stack.ping(b"env").unwrap(), b"env");
    assert_eq!(
        stack.socket_path(),
        std::path::Path::new(&std::env::var_os("WARDEN_SOCKET").unwrap())
    );
}

#[test]
fn finalize_with_last_input_equals_update_then_finalize() {
    let d = daemon();
    let stack = d.stack().unwrap();
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Sha512)
        .build()
        .unwrap();
    let mut h = stack.create_hash_context(&cfg).unwrap();
    h.init().unwrap();
    h.update(b"part one, ").unwrap();
    let a = h.finalize_with(b"part two").unwrap();
    assert_eq!(
        a,
        stack
            .digest(Algorithm::Sha512, b"part one, part two")
            .unwrap()
    );
    let key = stack
        .key_management()
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::Ed25519)
                .permissions(KeyOperationPermission::SIGN | KeyOperationPermission::VERIFY)
                .build()
                .unwrap(),
        )
        .unwrap();
    let sc = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(key.id())
        .build()
        .unwrap();
    let mut s = stack.create_sign_context(&sc).unwrap();
    s.init().unwrap();
    let sig = s.finalize_with(b"message").unwrap();
    s.reset().unwrap();
    s.init().unwrap();
    s.update(b"message").unwrap();
    assert_eq!(s.finalize().unwrap(), sig, "Ed25519 is deterministic");
    let mut v = stack.create_verify_context(&sc).unwrap();
    v.init().unwrap();
    v.update(b"message").unwrap();
    v.finalize(&sig).unwrap();
}

#[test]
fn default_socket_path_agrees_with_the_daemon() {
    // The client duplicates the daemon's resolution (it must not link the daemon); this pins
    // the two together in the same environment.
    assert_eq!(
        warden_client::default_socket_path(),
        warden_daemon::config::default_socket_path()
    );
    assert_eq!(
        warden_client::SYSTEM_SOCKET_PATH,
        warden_daemon::config::SYSTEM_SOCKET_PATH
    );
    assert_eq!(warden_client::SOCKET_ENV, warden_daemon::config::SOCKET_ENV);
}

#[test]
fn mac_verify_checks_the_tag_inside_the_daemon() {
    let d = daemon();
    let stack = d.stack().unwrap();
    let key = stack
        .key_management()
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::HmacKey)
                .key_len(32)
                .permissions(KeyOperationPermission::MAC)
                .build()
                .unwrap(),
        )
        .unwrap();
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::HmacSha384)
        .key(key.id())
        .build()
        .unwrap();
    let mut m = stack.create_mac_context(&cfg).unwrap();
    m.init().unwrap();
    m.update(b"msg").unwrap();
    let tag = m.finalize().unwrap();
    m.reset().unwrap();
    m.init().unwrap();
    m.update(b"msg").unwrap();
    m.verify(&tag).unwrap();
    m.reset().unwrap();
    m.init().unwrap();
    m.update(b"msg").unwrap();
    let mut bad = tag.clone();
    bad[5] ^= 1;
    assert_eq!(
        m.verify(&bad).unwrap_err().code(),
        ErrorCode::OperationFailed
    );
    assert_eq!(
        m.verify(&[]).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn connection_limit_gives_a_typed_error_and_frees_up() {
    let d = warden_e2e::Daemon::start_with(warden_e2e::DaemonOptions {
        // No admin reserve: this test runs as the daemon's uid, which may use it.
        config_toml: Some("[limits]\nmax_connections = 2\nreserved_admin_connections = 0\n".into()),
        ..Default::default()
    })
    .unwrap();
    let cfg = || d.stack_config().dedicated_connection(true);
    // The harness's readiness probe held a slot briefly; the daemon frees it asynchronously.
    let retry = || {
        let start = std::time::Instant::now();
        loop {
            match CryptoStack::connect(cfg()) {
                Ok(c) => return c,
                Err(e) if start.elapsed() < std::time::Duration::from_secs(5) => {
                    assert_eq!(e.code(), ErrorCode::ProviderBusy, "{e}");
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => panic!("no slot became free: {e}"),
            }
        }
    };
    let a = retry();
    let b = retry();
    let err = CryptoStack::connect(cfg()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ProviderBusy, "{err}");
    drop(a);
    // The daemon notices the close asynchronously.
    let c = retry();
    assert_eq!(c.ping(b"in").unwrap(), b"in");
    assert_eq!(b.ping(b"b").unwrap(), b"b");
}
