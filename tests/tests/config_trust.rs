//! Red-team pass: the files wardend runs on but does not own. The configuration file names
//! the admins and the PKCS#11 modules, and a module's code runs inside the daemon (as root on
//! a system install); wardend used to read and load them whoever could write them — a uid of
//! the socket group given a group-writable `/etc/warden`, or anyone with a module in a
//! world-writable directory, could make itself admin or run code as the daemon. Start-up
//! now stops, naming the file, unless only root or the daemon's uid can change it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden_e2e::softhsm::SoftHsm;
use warden_e2e::wardend_path;

/// Runs wardend with `config` and `env`: `Err(stderr)` if it exits (refusing to start),
/// `Ok(())` if it is still running after it had time to listen (then it is stopped).
fn start(dir: &Path, config: &Path, env: &[(String, String)]) -> Result<(), String> {
    let socket = dir.join("s.sock");
    // A killed earlier run leaves its socket file: only a new one says this run listens.
    let _ = std::fs::remove_file(&socket);
    let mut child = Command::new(wardend_path().unwrap())
        .arg("--socket")
        .arg(&socket)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config")
        .arg(config)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("wardend neither listened nor exited");
}

fn private_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

fn mode(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

#[test]
fn a_configuration_file_others_can_change_stops_start_up() {
    let d = private_dir();
    let etc = d.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    mode(&etc, 0o755);
    let cfg = etc.join("wardend.toml");
    std::fs::write(&cfg, "[access]\nadmin_uids = []\n").unwrap();
    mode(&cfg, 0o644);
    start(d.path(), &cfg, &[]).expect("a root-only configuration file is read");

    // Group-writable file (the socket group's members could make themselves admins).
    mode(&cfg, 0o664);
    let err = start(d.path(), &cfg, &[]).expect_err("must refuse a group-writable config");
    assert!(
        err.contains("refusing configuration file") && err.contains("writable by group"),
        "{err}"
    );
    // A directory others may write to: they could replace the file.
    mode(&cfg, 0o644);
    mode(&etc, 0o777);
    let err = start(d.path(), &cfg, &[]).expect_err("must refuse a replaceable config");
    assert!(err.contains("refusing configuration file"), "{err}");
    assert!(
        !d.path().join("s.sock").exists(),
        "no socket was ever served"
    );
}

#[test]
fn a_pkcs11_module_others_can_change_is_not_loaded() {
    let Some(hsm) = SoftHsm::new() else { return };
    let d = private_dir();
    let lib = d.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    mode(&lib, 0o755);
    let module = lib.join("libsofthsm2.so");
    std::fs::copy(std::fs::canonicalize(&hsm.module).unwrap(), &module).unwrap();
    mode(&module, 0o644);
    let toml = hsm.provider_toml("hsm").replace(
        &hsm.module.display().to_string(),
        &module.display().to_string(),
    );
    assert!(toml.contains(&module.display().to_string()));
    let cfg = d.path().join("wardend.toml");
    std::fs::write(&cfg, format!("[access]\nadmin_uids = []\n{toml}")).unwrap();
    mode(&cfg, 0o600);
    start(d.path(), &cfg, &hsm.env()).expect("a root-only module is loaded");

    // World-writable directory: anyone could put their own code there under that name.
    mode(&lib, 0o777);
    let err = start(d.path(), &cfg, &hsm.env()).expect_err("must not load the module");
    assert!(err.contains("refusing pkcs#11 module"), "{err}");
    // Group-writable module file.
    mode(&lib, 0o755);
    mode(&module, 0o664);
    let err = start(d.path(), &cfg, &hsm.env()).expect_err("must not load the module");
    assert!(
        err.contains("refusing pkcs#11 module") && err.contains("writable by group"),
        "{err}"
    );
}

/// Red-team pass 2: a link met only on the way. `etc/wardend.toml` (root's) points at
/// `att/l`, a link another uid owns in its own directory, which points back at a root-only
/// file. The first link and the final file both pass; the middle one is the other uid's to
/// repoint (at `/etc` while the daemon checks, at its own file when the daemon reads), so
/// start-up must refuse it. Before, only the first link and the resolved file were judged.
#[test]
fn a_link_another_uid_can_repoint_on_the_way_stops_start_up() {
    use std::os::unix::fs::symlink;
    if !warden_e2e::persistent::is_root() {
        println!("skipped: needs root to own files as another uid");
        return;
    }
    const OTHER: u32 = 4401;
    let d = tempfile::tempdir().unwrap();
    mode(d.path(), 0o755);
    let etc = d.path().join("etc");
    let att = d.path().join("att");
    std::fs::create_dir(&etc).unwrap();
    std::fs::create_dir(&att).unwrap();
    mode(&etc, 0o755);
    mode(&att, 0o755);
    let real = etc.join("real.toml");
    std::fs::write(&real, "[access]\nadmin_uids = []\n").unwrap();
    mode(&real, 0o644);
    let cfg = etc.join("wardend.toml");
    symlink(d.path().join("att/l"), &cfg).unwrap();
    symlink(&real, att.join("l")).unwrap();
    // Control: while root owns the middle link and its directory, the chain is trusted.
    start(d.path(), &cfg, &[]).expect("a chain of root's links to a root-only file is read");

    std::os::unix::fs::lchown(att.join("l"), Some(OTHER), Some(OTHER)).unwrap();
    std::os::unix::fs::chown(&att, Some(OTHER), Some(OTHER)).unwrap();
    let err = start(d.path(), &cfg, &[]).expect_err("must refuse a link another uid controls");
    assert!(
        err.contains("refusing configuration file") && err.contains("owned by another user"),
        "{err}"
    );
    // The same link in front of the directory holding the file (the socket-directory rule).
    let etc2 = d.path().join("etc2");
    symlink(att.join("d"), &etc2).unwrap();
    symlink(&etc, att.join("d")).unwrap();
    std::os::unix::fs::lchown(att.join("d"), Some(OTHER), Some(OTHER)).unwrap();
    let err = start(d.path(), &etc2.join("real.toml"), &[])
        .expect_err("must refuse a directory link another uid controls");
    assert!(err.contains("refusing configuration file"), "{err}");
}

/// Red-team pass 2: a module missing from a directory others may write to. The check let a
/// missing file pass (its loader would report it), so the directory's other writers could
/// delete the module and put their own back between the check and the load, in a loop,
/// until a start-up lost the race. Now the nearest existing directory must be safe too.
#[test]
fn a_missing_module_in_a_directory_others_can_write_is_refused() {
    let Some(hsm) = SoftHsm::new() else { return };
    let d = private_dir();
    let lib = d.path().join("lib");
    std::fs::create_dir(&lib).unwrap();
    let module = lib.join("libsofthsm2.so");
    let toml = hsm.provider_toml("hsm").replace(
        &hsm.module.display().to_string(),
        &module.display().to_string(),
    );
    let cfg = d.path().join("wardend.toml");
    std::fs::write(&cfg, format!("[access]\nadmin_uids = []\n{toml}")).unwrap();
    mode(&cfg, 0o600);
    mode(&lib, 0o777);
    let err = start(d.path(), &cfg, &hsm.env()).expect_err("nothing to load");
    assert!(
        err.contains("refusing pkcs#11 module") && err.contains("writable by group or others"),
        "{err}"
    );
    // A private directory: the missing module is left to the loader, as before.
    mode(&lib, 0o755);
    let err = start(d.path(), &cfg, &hsm.env()).expect_err("nothing to load");
    assert!(!err.contains("refusing"), "{err}");
}

/// The audit log names every uid, slot and operation, and is the record of what happened:
/// another uid able to create or change it could read it, truncate it or forge lines. (The
/// file was opened with O_NOFOLLOW, which stops only a symlink put in its place.)
#[test]
fn an_audit_log_others_can_create_or_change_stops_start_up() {
    use std::os::unix::fs::chown;
    let d = private_dir();
    let cfg = d.path().join("wardend.toml");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    mode(&logs, 0o755);
    let log = logs.join("audit.log");
    std::fs::write(&cfg, format!("[audit]\nlog = \"{}\"\n", log.display())).unwrap();
    mode(&cfg, 0o600);
    start(d.path(), &cfg, &[]).expect("a log in a root-only directory is opened");
    assert!(log.exists(), "the daemon created its log");

    // A directory others may write to: anyone could have created (or swap) the file.
    std::fs::remove_file(&log).unwrap();
    mode(&logs, 0o777);
    let err = start(d.path(), &cfg, &[]).expect_err("must refuse a log others can create");
    assert!(err.contains("refusing audit log"), "{err}");

    // A sticky shared directory (like /tmp) with the file already made by another uid.
    mode(&logs, 0o1777);
    std::fs::write(&log, b"").unwrap();
    mode(&log, 0o666);
    if warden_e2e::persistent::is_root() {
        chown(&log, Some(4260), Some(4260)).unwrap();
        let err = start(d.path(), &cfg, &[]).expect_err("must refuse another uid's log file");
        assert!(err.contains("refusing audit log"), "{err}");
    } else {
        println!("not root: the other-owner case needs chown; skipped");
    }
    assert!(
        std::fs::read(&log).unwrap().is_empty(),
        "no audit line reached a file another uid can read"
    );
}
