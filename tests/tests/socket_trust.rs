//! Socket hijack through an attacker-controlled directory (issue 11 item 2), attacked as a
//! hostile local uid would:
//! - wardend refuses to listen in a directory another non-root user owns, sticky or not
//!   (the attacker pre-creates `/tmp/warden-<uid>` mode 1777 and could move the socket away);
//! - the client checks who listens (`SO_PEERCRED`) before sending a single byte: a fake daemon
//!   run by another uid receives nothing, unless that uid is explicitly trusted;
//! - a shared connection accepted under a wider trust is not handed to a stack trusting less.
//!
//! Tests that need a second uid run a child copy of this binary (or wardend) as that uid and
//! skip with a message when not root.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{BufRead, BufReader, Lines, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use warden_client::*;
use warden_e2e::persistent::{Wardend, config, is_root, shared_root};

const CHILD_SOCKET: &str = "WARDEN_E2E_TRUST_SOCKET";
const CHILD_CONNECTIONS: &str = "WARDEN_E2E_TRUST_CONNECTIONS";
/// Spare uids (no account needed): the squatter owning the sticky directory, the fake
/// daemon, and a genuine wardend under a service account.
const SQUATTER_UID: u32 = 4270;
const FAKE_UID: u32 = 4271;
const SERVICE_UID: u32 = 4272;

/// A directory `name` in `root` owned by `uid` with `mode`.
fn dir_owned_by(root: &Path, name: &str, uid: u32, mode: u32) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, PermissionsExt::from_mode(mode)).unwrap();
    std::os::unix::fs::chown(&dir, Some(uid), None).unwrap();
    dir
}

fn cli() -> Command {
    let mut cmd = Command::new(warden_e2e::wardend_path().unwrap().with_file_name("warden"));
    cmd.env_remove("WARDEN_SOCKET")
        .env_remove(DAEMON_UIDS_ENV)
        .stdin(Stdio::null());
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Reads what one client sends: until it closes, or until it has sent something and then
/// stays quiet for half a second (a trusting client waits for the hello reply).
fn drain(stream: &mut UnixStream) -> usize {
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let start = Instant::now();
    let mut total = 0;
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if total > 0 || start.elapsed() > Duration::from_secs(20) {
                    return total;
                }
            }
            Err(_) => return total,
        }
    }
}

/// The fake daemon: listens on the socket it is given, and for each of the expected
/// connections reports how many bytes the client sent.
#[test]
#[ignore = "helper: run as another uid by the tests in this file"]
fn socket_trust_child() {
    let (Ok(socket), Ok(n)) = (
        std::env::var(CHILD_SOCKET),
        std::env::var(CHILD_CONNECTIONS),
    ) else {
        println!("not started as a child: nothing to do");
        return;
    };
    let n: usize = n.parse().unwrap();
    let listener = UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    println!("LISTENING");
    std::io::stdout().flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut served = 0;
    while served < n && Instant::now() < deadline {
        match listener.accept() {
            Ok((mut stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                println!("RECEIVED {}", drain(&mut stream));
                std::io::stdout().flush().unwrap();
                served += 1;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// A fake daemon running as `uid`, killed on drop.
struct Fake {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Fake {
    fn start(socket: &Path, uid: u32, connections: usize) -> Fake {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "socket_trust_child",
                "--include-ignored",
                "--nocapture",
            ])
            .env(CHILD_SOCKET, socket)
            .env(CHILD_CONNECTIONS, connections.to_string())
            .uid(uid)
            .gid(0)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut fake = Fake { child, lines };
        fake.expect_line("LISTENING");
        fake
    }

    fn expect_line(&mut self, prefix: &str) -> String {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix(prefix) {
                return rest.trim().to_owned();
            }
        }
        panic!("fake daemon ended before printing {prefix}");
    }

    /// Bytes the fake received on its next connection.
    fn received(&mut self) -> usize {
        self.expect_line("RECEIVED").parse().unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (a) The set-up: another user pre-created the socket directory, mode 1777.
#[test]
fn wardend_refuses_a_socket_dir_owned_by_another_user_even_sticky() {
    if !is_root() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let squatted = dir_owned_by(root.path(), "warden-1000", SQUATTER_UID, 0o1777);
    let socket = squatted.join("wardend.sock");
    match Wardend::try_start_with(root.path(), &config(&[]), &socket, None) {
        Ok(d) => {
            d.kill9();
            panic!("wardend listened in a directory uid {SQUATTER_UID} controls");
        }
        Err(stderr) => {
            assert!(
                stderr.contains("refusing socket directory")
                    && stderr.contains("warden-1000")
                    && stderr.contains(&format!("owner uid {SQUATTER_UID}")),
                "unclear refusal: {stderr}"
            );
        }
    }
    assert!(!socket.exists(), "no socket may be left for the squatter");
}

/// (b) + (c) A fake daemon run by another uid: an untrusting client sends it nothing, by
/// library or CLI; naming the uid (builder, `--daemon-uid`, `WARDEN_DAEMON_UIDS`) lets the
/// client through the check (the fake then never answers the hello).
#[test]
fn client_sends_nothing_to_a_daemon_of_an_untrusted_uid() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let dir = dir_owned_by(root.path(), "fake", FAKE_UID, 0o700);
    let socket = dir.join("wardend.sock");
    let mut fake = Fake::start(&socket, FAKE_UID, 6);
    let base = || {
        StackConfig::new()
            .socket_path(&socket)
            .connect_timeout(Duration::from_secs(10))
    };

    // (b) Library, dedicated and shared connections.
    for cfg in [base().dedicated_connection(true), base()] {
        match CryptoStack::connect(cfg) {
            Err(Error::UntrustedDaemon { uid, path }) => {
                assert_eq!((uid, path.as_path()), (FAKE_UID, socket.as_path()));
            }
            other => panic!("expected UntrustedDaemon, got {other:?}"),
        }
        assert_eq!(fake.received(), 0, "the impostor must receive no byte");
    }
    // (b) CLI: exit 3, naming the uid and the way out.
    let out = cli()
        .arg("--socket")
        .arg(&socket)
        .arg("ping")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains(&format!("uid {FAKE_UID}")) && text.contains("--daemon-uid"),
        "{text}"
    );
    assert_eq!(fake.received(), 0, "the impostor must receive no byte");

    // (c) Trusted by the builder: the check passes and the hello goes out.
    let r = CryptoStack::connect(
        base()
            .trusted_daemon_uid(FAKE_UID)
            .dedicated_connection(true),
    );
    assert!(
        !matches!(r, Err(Error::UntrustedDaemon { .. }) | Ok(_)),
        "{r:?}"
    );
    assert!(fake.received() > 0, "a trusted daemon gets the hello");
    // (c) Trusted by the CLI option and by the environment.
    let out = cli()
        .arg("--socket")
        .arg(&socket)
        .args(["--daemon-uid", &FAKE_UID.to_string(), "ping"])
        .output()
        .unwrap();
    assert!(
        !stderr(&out).contains("refusing the daemon"),
        "{}",
        stderr(&out)
    );
    assert!(fake.received() > 0);
    let out = cli()
        .arg("--socket")
        .arg(&socket)
        .env(DAEMON_UIDS_ENV, format!("1,{FAKE_UID}"))
        .arg("ping")
        .output()
        .unwrap();
    assert!(
        !stderr(&out).contains("refusing the daemon"),
        "{}",
        stderr(&out)
    );
    assert!(fake.received() > 0);

    // A malformed list is a usage error before any connection (the fake is not contacted:
    // it would report a seventh connection it was not asked to accept).
    let out = cli()
        .arg("--socket")
        .arg(&socket)
        .env(DAEMON_UIDS_ENV, "wardend")
        .arg("ping")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("WARDEN_DAEMON_UIDS"),
        "{}",
        stderr(&out)
    );
}

/// (d) A genuine wardend: as root it serves everyone as before; under a service account it
/// serves only clients that name that uid, and a shared connection opened by a trusting
/// stack is not handed to one that does not trust the uid.
#[test]
fn genuine_daemons_are_served_and_shared_connections_keep_their_trust() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    assert_eq!(d.stack().ping(b"root").unwrap(), b"root");
    let out = cli()
        .arg("--socket")
        .arg(&d.socket)
        .arg("ping")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    d.stop();

    if !is_root() {
        return;
    }
    let root = shared_root();
    let home = dir_owned_by(root.path(), "svc", SERVICE_UID, 0o700);
    let socket = home.join("wardend.sock");
    let d = Wardend::try_start_with(&home, &config(&[]), &socket, Some(SERVICE_UID))
        .unwrap_or_else(|e| panic!("wardend as uid {SERVICE_UID}: {e}"));
    let untrusting = || StackConfig::new().socket_path(&socket);
    assert!(matches!(
        CryptoStack::connect(untrusting().dedicated_connection(true)),
        Err(Error::UntrustedDaemon {
            uid: SERVICE_UID,
            ..
        })
    ));
    let trusting = CryptoStack::connect(untrusting().trusted_daemon_uid(SERVICE_UID)).unwrap();
    assert_eq!(trusting.ping(b"svc").unwrap(), b"svc");
    // The live shared connection is re-checked for each joining stack.
    assert!(matches!(
        CryptoStack::connect(untrusting()),
        Err(Error::UntrustedDaemon {
            uid: SERVICE_UID,
            ..
        })
    ));
    let again = CryptoStack::connect(untrusting().trusted_daemon_uids([SERVICE_UID])).unwrap();
    assert!(again.shares_connection_with(&trusting));
    let out = cli()
        .arg("--socket")
        .arg(&socket)
        .args(["--daemon-uid", &SERVICE_UID.to_string(), "ping"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    drop((trusting, again));
    d.stop();
}
