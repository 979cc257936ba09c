//! Fairness across uids and deadlines inside long work (issue 12), attacked as a hostile
//! co-tenant would:
//! - other uids looping 10⁷-iteration PBKDF2, RSA-4096 key generation or SLH-DSA-128s
//!   signing do not starve a victim's pings (each must be answered within a 300 ms deadline
//!   plus 100 ms grace; before the long lane, one hog held a worker for seconds);
//! - a long operation past its deadline gets the daemon's `OperationTimedOut` promptly and
//!   frees its lane thread for the next long operation;
//! - one uid cannot queue more than `max_long_ops_per_uid` long operations.
//!
//! Assertions are functional (served / timed out / quota), never latency figures beyond the
//! client's own deadline. Tests that need other uids run a child copy of this binary as
//! that uid and skip with a message when not root.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use warden_client::*;
use warden_e2e::persistent::{Wardend, config, is_root, shared_root};

type P = KeyOperationPermission;

const CHILD_SCRIPT: &str = "WARDEN_E2E_FAIRNESS_CHILD";
const CHILD_SOCKET: &str = "WARDEN_E2E_FAIRNESS_SOCKET";
/// Spare uids the hogs run as (no account needed).
const HOG_UIDS: [u32; 2] = [4290, 4291];
/// Hog connections per child (= the default per-uid long-operation limit).
const HOGS_PER_UID: usize = 2;

/// The hog tests burn every core; run them one at a time so they do not starve each other.
static SERIAL: Mutex<()> = Mutex::new(());

/// The setting: two workers. Everything else is the default (long lane included).
fn two_workers() -> String {
    format!("{}[limits]\nworker_threads = 2\n", config(&[]))
}

/// A dedicated connection whose requests carry a `timeout_ms` deadline (0 = none) and whose
/// client waits `grace` past it. Connecting may take long: only the victim's connections
/// (see [`victim_connect`]) must be quick.
fn connect(socket: &std::path::Path, timeout_ms: u32, grace: Duration) -> CryptoStack {
    CryptoStack::connect(stack_config(socket, timeout_ms, grace)).unwrap()
}

fn stack_config(socket: &std::path::Path, timeout_ms: u32, grace: Duration) -> StackConfig {
    StackConfig::new()
        .socket_path(socket)
        .dedicated_connection(true)
        .default_timeout_ms(timeout_ms)
        .client_grace(grace)
        .connect_timeout(Duration::from_secs(120))
}

fn pbkdf2(iterations: u32) -> DeriveKeyParams {
    DeriveKeyParams::builder()
        .kdf(KdfParameters::Pbkdf2 {
            salt: b"fairness-salt".to_vec(),
            iterations,
        })
        .output_algorithm(Algorithm::GenericSecret)
        .output_len(32)
        .permissions(P::EXPORT)
        .exportable(true)
        .build()
        .unwrap()
}

/// A GENERIC-SECRET password key (KDFs take only GENERIC-SECRET keys).
fn password(km: &KeyManagement) -> ResourceGuard {
    let p = ImportKeyParams::builder()
        .algorithm(Algorithm::GenericSecret)
        .permissions(P::DERIVE)
        .format(KeyFormat::Raw)
        .build()
        .unwrap();
    km.import_key(&p, b"correct horse battery staple").unwrap()
}

/// One hog connection: prepares, waits at `ready`, then runs its long operation forever.
fn hog(socket: &std::path::Path, kind: &str, ready: &Barrier) {
    let s = connect(socket, 0, Duration::from_secs(1));
    let km = s.key_management();
    match kind {
        "pbkdf2" => {
            let base = password(&km);
            ready.wait();
            loop {
                // 10⁷ iterations: seconds of work per request, no deadline.
                let _ = km.derive_key(base.id(), &pbkdf2(10_000_000));
            }
        }
        "rsa" => {
            let p = GenerateKeyParams::builder()
                .algorithm(Algorithm::RsaPssSha256)
                .rsa_bits(4096)
                .permissions(P::SIGN)
                .build()
                .unwrap();
            ready.wait();
            loop {
                let _ = km.generate_key(&p);
            }
        }
        "slh" => {
            let p = GenerateKeyParams::builder()
                .algorithm(Algorithm::SlhDsaSha2_128s)
                .permissions(P::SIGN)
                .build()
                .unwrap();
            let key = km.generate_key(&p).unwrap();
            let cfg = ContextConfig::builder()
                .algorithm(Algorithm::SlhDsaSha2_128s)
                .key(key.id())
                .build()
                .unwrap();
            let mut ctx = s.create_sign_context(&cfg).unwrap();
            ready.wait();
            loop {
                let _ = ctx.sign(b"hog");
            }
        }
        other => panic!("unknown hog kind {other}"),
    }
}

#[test]
#[ignore = "helper: run as another uid by the tests in this file"]
fn fairness_child() {
    let (Ok(kind), Ok(socket)) = (std::env::var(CHILD_SCRIPT), std::env::var(CHILD_SOCKET)) else {
        println!("not started as a child: nothing to do");
        return;
    };
    let socket = std::path::PathBuf::from(socket);
    let ready = Arc::new(Barrier::new(HOGS_PER_UID + 1));
    for _ in 0..HOGS_PER_UID {
        let (socket, kind, ready) = (socket.clone(), kind.clone(), ready.clone());
        std::thread::spawn(move || hog(&socket, &kind, &ready));
    }
    ready.wait();
    println!("CHILD-READY {kind}");
    // The parent kills this process when its victim is done.
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Children killed when dropped (they loop until then).
struct Hogs(Vec<Child>);

impl Drop for Hogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts one hog child per uid of [`HOG_UIDS`] and waits until each has its hogs ready.
fn start_hogs(d: &Wardend, kind: &str) -> Hogs {
    let mut hogs = Hogs(Vec::new());
    for uid in HOG_UIDS {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "fairness_child",
                "--include-ignored",
                "--nocapture",
            ])
            .env(CHILD_SCRIPT, kind)
            .env(CHILD_SOCKET, &d.socket)
            .uid(uid)
            .gid(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        hogs.0.push(child);
    }
    for child in &mut hogs.0 {
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            let ready = lines.any(|l| l.is_ok_and(|l| l.starts_with("CHILD-READY")));
            let _ = tx.send(ready);
        });
        // Bounded, so a broken child fails the test instead of hanging it.
        let ready = rx.recv_timeout(Duration::from_secs(120));
        assert_eq!(ready, Ok(true), "a {kind} hog child did not get ready");
    }
    // Let the hogs' first long operations be in flight.
    std::thread::sleep(Duration::from_millis(300));
    hogs
}

/// The victim (this process's uid): every ping, on a standing connection and on fresh
/// ones, is answered within its 300 ms deadline (+100 ms client grace) for ~3 s of attack.
fn victim_is_served(d: &Wardend, kind: &str) {
    let grace = Duration::from_millis(100);
    let quick = |what: &str| {
        let cfg = stack_config(&d.socket, 300, grace).connect_timeout(Duration::from_millis(400));
        CryptoStack::connect(cfg)
            .unwrap_or_else(|e| panic!("{what} during the {kind} attack not served: {e}"))
    };
    let s = quick("the victim's connection");
    for i in 0..30 {
        let r = s.ping(b"victim");
        assert_eq!(
            r.as_deref().ok(),
            Some(&b"victim"[..]),
            "ping {i} during the {kind} attack was not served: {r:?}"
        );
        if i % 10 == 0 {
            let fresh = connect(&d.socket, 300, grace);
            assert!(
                fresh.ping(b"new").is_ok(),
                "a new connection was not served"
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn hogs_do_not_starve_a_ping(kind: &str) {
    if !is_root() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = shared_root();
    let d = Wardend::start(root.path(), &two_workers());
    let hogs = start_hogs(&d, kind);
    victim_is_served(&d, kind);
    drop(hogs);
}

#[test]
fn pbkdf2_hogs_of_other_uids_do_not_starve_a_ping() {
    hogs_do_not_starve_a_ping("pbkdf2");
}

#[test]
fn rsa_4096_keygen_hogs_of_other_uids_do_not_starve_a_ping() {
    hogs_do_not_starve_a_ping("rsa");
}

#[test]
fn slh_dsa_signing_hogs_of_other_uids_do_not_starve_a_ping() {
    hogs_do_not_starve_a_ping("slh");
}

/// Two 10⁷-iteration PBKDF2 requests with a 200 ms deadline (one per lane thread, on a
/// daemon with a single worker) get the daemon's own `OperationTimedOut` — not the client
/// giving up after its 1 s grace — and their connections stay usable; then a long
/// operation completes, so the lane threads were freed rather than left grinding.
#[test]
fn a_long_operation_past_its_deadline_times_out_and_frees_the_lane() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let cfg = format!("{}[limits]\nworker_threads = 1\n", config(&[]));
    let d = Wardend::start(root.path(), &cfg);
    let socket = d.socket.clone();
    let hogs: Vec<_> = (0..2)
        .map(|_| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let s = connect(&socket, 200, Duration::from_secs(1));
                let km = s.key_management();
                let base = password(&km);
                let r = km.derive_key(base.id(), &pbkdf2(10_000_000));
                let code = match r {
                    Err(Error::Daemon { code, .. }) => Some(code),
                    other => {
                        println!("hog outcome: {other:?}");
                        None
                    }
                };
                // The connection is still in step (the daemon answered, nothing is stuck).
                let ping = s.ping(b"after").is_ok();
                (code, ping)
            })
        })
        .collect();
    for h in hogs {
        let (code, ping) = h.join().unwrap();
        assert_eq!(
            code,
            Some(ErrorCode::OperationTimedOut),
            "the daemon must stop the work at the deadline and say so"
        );
        assert!(ping, "the timed-out connection must stay usable");
    }
    // Both lane threads are free again: a 20,000-iteration PBKDF2 (long work, above
    // `LONG_PBKDF2_ITERATIONS`; ≈ 12 ms here) completes within 3 s. Had the hogs kept running
    // (10⁷ iterations ≈ 6 s), it would queue behind them. Kept small because lane threads
    // run at nice 10: next to other busy processes at nice 0 (a loaded CI machine) they get
    // a tenth of a CPU, and 10⁵ iterations then took more than 3 s.
    let s = connect(&socket, 3000, Duration::from_millis(500));
    let km = s.key_management();
    let base = password(&km);
    let derived = km.derive_key(base.id(), &pbkdf2(20_000));
    assert!(derived.is_ok(), "follow-up long operation: {derived:?}");
}

/// A uid at `max_long_ops_per_uid` (2 here; default 8) long operations gets
/// `QuotaExceeded` for the next one at once; its short operations are still served.
#[test]
fn long_operations_beyond_the_per_uid_limit_get_quota_exceeded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let root = tempfile::tempdir().unwrap();
    let cfg = config(&[]) + "[limits]\nmax_long_ops_per_uid = 2\n";
    let d = Wardend::start(root.path(), &cfg);
    let socket = d.socket.clone();
    let started = Arc::new(Barrier::new(3));
    let hogs: Vec<_> = (0..2)
        .map(|_| {
            let (socket, started) = (socket.clone(), started.clone());
            std::thread::spawn(move || {
                let s = connect(&socket, 2000, Duration::from_secs(1));
                let km = s.key_management();
                let base = password(&km);
                started.wait();
                km.derive_key(base.id(), &pbkdf2(10_000_000)).map(|_| ())
            })
        })
        .collect();
    let s = connect(&socket, 2000, Duration::from_secs(1));
    let km = s.key_management();
    let base = password(&km);
    started.wait();
    std::thread::sleep(Duration::from_millis(300));
    let third = km.derive_key(base.id(), &pbkdf2(10_000_000));
    assert_eq!(
        third.map(|_| ()).unwrap_err().code(),
        ErrorCode::QuotaExceeded
    );
    assert_eq!(s.ping(b"short").unwrap(), b"short");
    for h in hogs {
        let r = h.join().unwrap();
        assert_eq!(r.unwrap_err().code(), ErrorCode::OperationTimedOut);
    }
    // The uid's share is back: a long operation is accepted (and completes) again (small,
    // for the reason given in the test above).
    km.derive_key(base.id(), &pbkdf2(20_000)).unwrap();
}
