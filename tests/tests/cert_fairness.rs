//! Certificate work is long work (red-team pass): verification against a trust store full
//! of large CRLs (a uid may fill its own stores: 256 entries of up to 64 KiB), listing them,
//! importing a CRL, and CSR / self-signed certificates (an RSA key signs) run on the long
//! lane, not on a worker. Before, one uid looping `CertVerify` on its own store held the
//! workers: every other uid's ping waited seconds (measured: 1.1–1.8 s on a debug build with
//! 128 CRLs of 3 000 entries and four looping connections).
//!
//! Needs root (the hog runs as another uid) and `openssl` (to make the CRLs); skips with a
//! printed reason otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warden_client::*;
use warden_e2e::persistent::{Wardend, config, is_root, shared_root};

const CHILD_SOCKET: &str = "WARDEN_E2E_CERT_FAIRNESS_SOCKET";
const CHILD_LEAF: &str = "WARDEN_E2E_CERT_FAIRNESS_LEAF";
/// The hog (a spare uid of the red-team range).
const HOG_UID: u32 = 4302;
/// CAs in the hog's store, each with a CRL of [`REVOKED`] entries (about 64 KiB).
const CAS: usize = 32;
const REVOKED: usize = 3000;
/// Connections the hog loops verifications on.
const HOG_CONNECTIONS: usize = 4;

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// `CAS` self-signed CAs (DER) and a large CRL (DER) of each.
fn make_cas(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut index = String::new();
    for s in 1..=REVOKED {
        index.push_str(&format!(
            "R\t301231000000Z\t240101000000Z\t{s:08X}\tunknown\t/CN=x{s}\n"
        ));
    }
    (0..CAS)
        .map(|i| {
            let d = dir.join(format!("ca{i}"));
            std::fs::create_dir(&d).unwrap();
            openssl(
                &[
                    "ecparam",
                    "-name",
                    "prime256v1",
                    "-genkey",
                    "-noout",
                    "-out",
                    "key.pem",
                ],
                &d,
            );
            openssl(
                &[
                    "req",
                    "-new",
                    "-x509",
                    "-key",
                    "key.pem",
                    "-days",
                    "3650",
                    "-subj",
                    &format!("/CN=red ca {i}"),
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                    "-outform",
                    "DER",
                    "-out",
                    "ca.der",
                ],
                &d,
            );
            std::fs::write(d.join("index.txt"), &index).unwrap();
            std::fs::write(d.join("crlnumber"), "1000\n").unwrap();
            std::fs::write(
                d.join("ca.cnf"),
                "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
                 default_md = sha256\ndefault_crl_days = 30\n",
            )
            .unwrap();
            openssl(
                &["x509", "-inform", "DER", "-in", "ca.der", "-out", "ca.pem"],
                &d,
            );
            openssl(
                &[
                    "ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "key.pem", "-cert", "ca.pem",
                    "-out", "crl.pem",
                ],
                &d,
            );
            openssl(
                &[
                    "crl", "-in", "crl.pem", "-outform", "DER", "-out", "crl.der",
                ],
                &d,
            );
            (
                std::fs::read(d.join("ca.der")).unwrap(),
                std::fs::read(d.join("crl.der")).unwrap(),
            )
        })
        .collect()
}

/// The hog, run as [`HOG_UID`]: verifies against its own big store on several connections
/// until killed.
#[test]
#[ignore = "run by the parent test as another uid"]
fn cert_fairness_child() {
    let (Ok(socket), Ok(leaf)) = (std::env::var(CHILD_SOCKET), std::env::var(CHILD_LEAF)) else {
        return;
    };
    let leaf = std::fs::read(leaf).unwrap();
    let threads: Vec<_> = (0..HOG_CONNECTIONS)
        .map(|_| {
            let (socket, leaf) = (socket.clone(), leaf.clone());
            std::thread::spawn(move || {
                let stack = CryptoStack::connect(
                    StackConfig::new()
                        .socket_path(&socket)
                        .dedicated_connection(true)
                        .default_timeout_ms(120_000),
                )
                .unwrap();
                println!("CHILD-CONNECTED");
                loop {
                    // Fails (the leaf chains to nothing): the work is what counts.
                    let _ =
                        stack.cert_verify("big", Leaf::Der(&leaf), &[], &VerifyOptions::default());
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}

#[test]
fn one_uid_verifying_against_a_big_store_does_not_hold_the_workers() {
    if !is_root() {
        return;
    }
    if Command::new("openssl").arg("version").output().is_err() {
        println!("SKIPPED: openssl is not installed");
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    let cas = make_cas(pki.path());
    let leaf = pki.path().join("ca0").join("ca.der");
    std::fs::set_permissions(
        pki.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();

    let root = shared_root();
    // One worker (as on a small machine): whatever holds it holds every connection.
    let d = Wardend::start(
        root.path(),
        &format!("{}[limits]\nworker_threads = 1\n", config(&[0])),
    );
    // The admin (root) fills the hog's own store, as the hog itself could.
    let admin = d.stack();
    let store = format!("{HOG_UID}/big");
    for (ca, crl) in &cas {
        admin.trust_store_add(&store, ca).unwrap();
        admin.crl_import(&store, crl, None).unwrap();
    }

    let mut hog = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "cert_fairness_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD_SOCKET, &d.socket)
        .env(CHILD_LEAF, &leaf)
        .uid(HOG_UID)
        .gid(0)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Let the hog's verifications fill the daemon.
    std::thread::sleep(Duration::from_millis(1500));
    let victim = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&d.socket)
            .dedicated_connection(true)
            .default_timeout_ms(300)
            .client_grace(Duration::from_millis(200))
            .connect_timeout(Duration::from_secs(5)),
    );
    let mut results = Vec::new();
    if let Ok(v) = &victim {
        for _ in 0..10 {
            let t = Instant::now();
            results.push((v.ping(b"victim").map(|_| ()), t.elapsed()));
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = hog.kill();
    let _ = hog.wait();
    victim.unwrap();
    let failed: Vec<_> = results.iter().filter(|(r, _)| r.is_err()).collect();
    assert!(
        failed.is_empty(),
        "another uid's pings within 300 ms while one uid verifies against its big store: {results:?}"
    );
}
