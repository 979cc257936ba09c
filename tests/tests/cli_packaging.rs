//! Operator packaging (issue 15): the socket group, systemd socket activation, the default
//! configuration, one version scheme, man pages and completions, and the README's key-sharing
//! walk-through run as two real uids.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden_e2e::cli::{Warden, warden_bin};
use warden_e2e::persistent::{Wardend, is_root};
use warden_e2e::wardend_path;

/// Spare uids/gids (no accounts needed).
const SOCKET_GID: u32 = 4250;
const MEMBER: u32 = 4251;
const OUTSIDER: u32 = 4252;
const OUTSIDER_GID: u32 = 4253;

/// A daemon root other uids can traverse (mode 0755).
fn open_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    root
}

#[test]
fn a_socket_group_lets_its_members_in_and_nobody_else() {
    if !is_root() {
        return;
    }
    let root = open_root();
    let d = Wardend::start(
        root.path(),
        &format!("[socket]\ngroup = \"{SOCKET_GID}\"\nmode = 0o660\n"),
    );
    let meta = std::fs::metadata(&d.socket).unwrap();
    assert_eq!(meta.gid(), SOCKET_GID);
    assert_eq!(meta.mode() & 0o777, 0o660);
    let w = Warden::at(&d.socket);
    let out = w.as_uid(MEMBER, SOCKET_GID).ok(&["ping"]);
    assert!(out.contains("answered"), "{out}");
    let err = w.as_uid(OUTSIDER, OUTSIDER_GID).fails(3, &["ping"]);
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("[socket] group"), "{err}");
    drop(d);

    // Without the setting the socket keeps the daemon's own group: the same member is out.
    let root = open_root();
    let d = Wardend::start(root.path(), "");
    assert_eq!(std::fs::metadata(&d.socket).unwrap().gid(), 0);
    let err = Warden::at(&d.socket)
        .as_uid(MEMBER, SOCKET_GID)
        .fails(3, &["ping"]);
    assert!(err.contains("permission denied"), "{err}");

    // A group that cannot use the socket is a configuration error, not a silent no-op.
    let root = open_root();
    let Err(err) = Wardend::try_start(root.path(), "[socket]\ngroup = \"4250\"\nmode = 0o600\n")
    else {
        panic!("a socket group without group access was accepted");
    };
    assert!(err.contains("socket.group needs a socket.mode"), "{err}");
}

/// A daemon that must not outlive a failed assertion.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_inherited_listening_socket_is_served_and_left_in_place() {
    // What systemd does for wardend.socket: bind and listen, then start the daemon with the
    // socket as fd 3, LISTEN_FDS=1 and LISTEN_PID set to the daemon's pid. A shell moves the
    // socket from stdin to fd 3 and sets LISTEN_PID=$$ before exec'ing wardend.
    let root = tempfile::tempdir().unwrap();
    let activated = root.path().join("activated.sock");
    let listener = UnixListener::bind(&activated).unwrap();
    let fd: OwnedFd = listener.into();
    let stderr = std::fs::File::create(root.path().join("stderr.log")).unwrap();
    let mut child = KillOnDrop(
        Command::new("sh")
            .arg("-c")
            .arg(r#"exec 3<&0 </dev/null; LISTEN_FDS=1 LISTEN_PID=$$ exec "$0" --data-dir "$1""#)
            .arg(wardend_path().unwrap())
            .arg(root.path().join("data"))
            // Were the inherited socket ignored, the daemon would bind here instead.
            .env("WARDEN_SOCKET", root.path().join("bound.sock"))
            .stdin(Stdio::from(fd))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap(),
    );
    let w = Warden::at(&activated);
    let start = Instant::now();
    let out = loop {
        let out = w.run_with(&["ping"], b"");
        if out.status.success() || start.elapsed() > Duration::from_secs(20) {
            break out;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = || std::fs::read_to_string(root.path().join("stderr.log")).unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        log()
    );
    assert!(
        !root.path().join("bound.sock").exists(),
        "it bound its own socket: {}",
        log()
    );
    assert!(
        log().contains(&format!("listening on {}", activated.display())),
        "{}",
        log()
    );
    w.ok(&["key", "generate", "--alg", "ED25519", "--slot", "k"]);
    Command::new("kill")
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status()
        .unwrap();
    assert!(child.0.wait().unwrap().success(), "{}", log());
    // The socket belongs to the service manager: a clean stop leaves it for the next start.
    assert!(activated.exists());
}

#[test]
fn the_default_config_is_the_example_file_and_means_the_defaults() {
    let out = Command::new(wardend_path().unwrap())
        .arg("--print-default-config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // The example's notation: octal modes, commented optional keys.
    assert!(text.contains("\nmode = 0o660\n"), "{text}");
    assert!(text.contains("# group = \"warden\""), "{text}");
    let parsed = warden_daemon::Config::from_toml(&text).unwrap();
    assert_eq!(parsed, warden_daemon::Config::default());
    assert_eq!(
        text,
        include_str!("../../crates/daemon/wardend.example.toml"),
        "the printed defaults are the shipped example file"
    );
}

#[test]
fn without_a_config_file_the_quick_start_still_works() {
    if Path::new("/etc/warden/wardend.toml").exists() {
        println!("SKIPPED: /etc/warden/wardend.toml exists on this machine");
        return;
    }
    // No --config and no /etc/warden/wardend.toml: embedded defaults, and it says so.
    let d = warden_e2e::Daemon::start().unwrap();
    Warden::at(d.socket_path()).ok(&["ping"]);
    assert!(
        d.stderr().contains("config: embedded defaults"),
        "{}",
        d.stderr()
    );
    // An explicit --config that does not exist is an error, not a silent fallback.
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(wardend_path().unwrap())
        .arg("--config")
        .arg(root.path().join("missing.toml"))
        .arg("--socket")
        .arg(root.path().join("s.sock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read config"));
}

#[test]
fn both_binaries_report_one_version() {
    let version = |bin: &Path| {
        let out = Command::new(bin).arg("--version").output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let cli = version(&warden_bin());
    let daemon = version(&wardend_path().unwrap());
    let workspace = env!("CARGO_PKG_VERSION");
    assert!(cli.starts_with(&format!("warden {workspace}")), "{cli}");
    assert!(
        daemon.starts_with(&format!("wardend {workspace}")),
        "{daemon}"
    );
    // Same scheme and build: the same text after the program name.
    assert_eq!(
        cli.trim_start_matches("warden "),
        daemon.trim_start_matches("wardend ")
    );
}

#[test]
fn man_pages_and_completions_come_from_the_grammar() {
    let dir = tempfile::tempdir().unwrap();
    let offline = Warden::at(&dir.path().join("none.sock"));
    let man = dir.path().join("man");
    let out = offline.ok(&["generate", "man", "--dir", man.to_str().unwrap()]);
    assert!(out.contains("man pages"), "{out}");
    for page in [
        "warden.1",
        "warden-key-export.1",
        "warden-mac-verify.1",
        "warden-agree.1",
    ] {
        let text = std::fs::read_to_string(man.join(page)).unwrap();
        assert!(text.contains(".TH "), "{page}");
    }
    let verify = std::fs::read_to_string(man.join("warden-verify.1")).unwrap();
    assert!(
        verify.contains("pubkey"),
        "the page documents the real flags"
    );
    let bash =
        String::from_utf8(offline.expect(0, &["generate", "completions", "bash"], b"")).unwrap();
    assert!(
        bash.contains("_warden()") && bash.contains("algorithms"),
        "{bash}"
    );
    let zsh =
        String::from_utf8(offline.expect(0, &["generate", "completions", "zsh"], b"")).unwrap();
    assert!(zsh.starts_with("#compdef warden"), "{zsh}");
    offline.fails(2, &["generate", "completions", "cmd.exe"]);
    let out = Command::new(wardend_path().unwrap())
        .arg("--print-man")
        .output()
        .unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.contains(".TH wardend 8") && page.contains("print\\-default\\-config"),
        "{page}"
    );
}

#[test]
fn the_readme_key_sharing_snippet_runs_as_two_uids() {
    if !is_root() {
        return;
    }
    const ALICE: u32 = 4261;
    const BOB: u32 = 4262;
    let readme = include_str!("../../README.md");
    let start = readme
        .find("<!-- shared-key-snippet")
        .expect("README has the key-sharing snippet");
    let block = &readme[start..];
    let body = &block[block.find("```sh\n").unwrap() + 6..];
    let body = &body[..body.find("```").unwrap()];

    let root = open_root();
    let d = Wardend::start(
        root.path(),
        &format!("[socket]\ngroup = \"{SOCKET_GID}\"\n"),
    );
    // A shared working directory, as two users of one machine would have.
    let work = root.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::write(work.join("build.tar"), b"release artefact").unwrap();
    std::fs::set_permissions(
        work.join("build.tar"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let mut revoked = false;
    let mut ran = 0;
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let (who, command) = line.split_once("$ ").unwrap();
        let uid = match who {
            "alice" => ALICE,
            "bob" => BOB,
            other => panic!("unknown user {other} in the README snippet"),
        };
        let command = command
            .replace("1000/", &format!("{ALICE}/"))
            .replace("--uid 1001", &format!("--uid {BOB}"));
        let args: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(args[0], "warden", "{line}");
        let out = Command::new(warden_bin())
            .arg("--socket")
            .arg(&d.socket)
            .args(&args[1..])
            .current_dir(&work)
            .env_remove("WARDEN_SOCKET")
            .uid(uid)
            .gid(SOCKET_GID)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if revoked && uid == BOB {
            // After the revoke, bob's use of the slot is refused.
            assert_eq!(out.status.code(), Some(3), "{line}: {stderr}");
            assert!(stderr.contains("AccessDenied"), "{line}: {stderr}");
        } else {
            assert!(out.status.success(), "{line}: {stderr}");
        }
        if args[1..].starts_with(&["key", "list"]) {
            let listing = String::from_utf8_lossy(&out.stdout);
            assert!(listing.contains(&format!("{ALICE}/release")), "{listing}");
        }
        revoked |= args[1..].starts_with(&["key", "revoke"]);
        ran += 1;
    }
    assert!(
        revoked && ran >= 7,
        "the snippet grants, uses and revokes ({ran} lines)"
    );
    assert!(work.join("build.sig").exists());
}

/// Red-team finding: an inherited socket was served whatever its permissions. systemd's
/// default `SocketMode=` is 0666 and `ListenStream=@name` makes an abstract socket with no
/// permissions at all: either way every local uid could talk to the daemon, which refuses
/// such a socket when it binds one itself. Now it refuses to start on one, saying why.
#[test]
fn an_inherited_socket_others_may_connect_to_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::SocketAddr;
    let run = |listener: UnixListener, root: &Path| {
        let fd: OwnedFd = listener.into();
        let mut child = KillOnDrop(
            Command::new("sh")
                .arg("-c")
                .arg(
                    r#"exec 3<&0 </dev/null; LISTEN_FDS=1 LISTEN_PID=$$ exec "$0" --data-dir "$1""#,
                )
                .arg(wardend_path().unwrap())
                .arg(root.join("data"))
                .env("WARDEN_SOCKET", root.join("bound.sock"))
                .stdin(Stdio::from(fd))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if child.0.try_wait().unwrap().is_some() {
                let mut err = String::new();
                std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err)
                    .unwrap();
                return Some(err);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None // still serving
    };
    // A world-connectable socket file (systemd's default mode).
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("activated.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let err = run(listener, root.path()).expect("wardend must refuse a 0666 socket");
    assert!(err.contains("lets others connect"), "{err}");
    // An abstract socket.
    let name = format!("warden-red-{}", std::process::id());
    let addr =
        <SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(&name).unwrap();
    let listener = UnixListener::bind_addr(&addr).unwrap();
    let err = run(listener, root.path()).expect("wardend must refuse an abstract socket");
    assert!(err.contains("without a path"), "{err}");
    assert!(!root.path().join("bound.sock").exists());
}
