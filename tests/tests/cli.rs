//! The `warden` CLI against a real `wardend`: every command, `--json` output parsed, exit codes
//! (0 ok, 1 verification failed / denied, 2 usage, 3 daemon error).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use warden_e2e::{Daemon, DaemonOptions, wardend_path};

fn warden_bin() -> PathBuf {
    let wardend = wardend_path().expect("wardend built (cargo build --workspace --bins)");
    let p = wardend.with_file_name("warden");
    assert!(p.is_file(), "warden binary not found at {}", p.display());
    p
}

fn my_uid() -> u32 {
    std::fs::metadata("/proc/self").unwrap().uid()
}

/// A daemon where the test's uid is an admin (policies and the trust store need one).
fn admin_daemon() -> Daemon {
    Daemon::start_with(DaemonOptions {
        config_toml: Some(format!(
            "[access]\nadmin_uids = [{}]\n[permits]\naudience = \"wardend@test\"\n",
            my_uid()
        )),
        ..DaemonOptions::default()
    })
    .unwrap()
}

struct Cli<'a> {
    d: &'a Daemon,
}

impl Cli<'_> {
    fn run_with(&self, args: &[&str], stdin: &[u8]) -> Output {
        use std::io::Write;
        let mut child = Command::new(warden_bin())
            .arg("--socket")
            .arg(self.d.socket_path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, b"")
    }

    /// Runs and asserts the exit code; returns stdout.
    fn expect(&self, code: i32, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run_with(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(code),
            "warden {args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn json(&self, args: &[&str], stdin: &[u8]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_slice(&self.expect(0, &all, stdin)).unwrap()
    }
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // `warden status | head -0`: the reader is gone before the report is written (the CLI
    // still has to connect and ask). Rust ignores SIGPIPE, so println! would panic on EPIPE.
    let d = Daemon::start().unwrap();
    let mut child = Command::new(warden_bin())
        .arg("--socket")
        .arg(d.socket_path())
        .arg("status")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn ping_status_hash_random() {
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let ping = cli.json(&["ping"], b"");
    assert!(ping["round_trip_us"].as_u64().is_some());
    let status = cli.json(&["status"], b"");
    assert!(status["requests_served"].as_u64().unwrap() >= 1);
    assert!(status["connections"].as_u64().unwrap() >= 1);
    // Nothing is live between CLI invocations (each is its own connection, freed on exit).
    assert_eq!(status["live_by_kind"], serde_json::json!({}));

    // FIPS 180-2 "abc" vector through the daemon.
    let out = cli.expect(0, &["hash", "--alg", "SHA-256"], b"abc");
    assert_eq!(
        String::from_utf8(out).unwrap().trim(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let j = cli.json(&["hash", "--alg", "sha3-256"], b"");
    assert_eq!(
        j["digest"],
        "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    );
    let r = cli.expect(0, &["random", "--bytes", "32", "--hex"], b"");
    let hex = String::from_utf8(r).unwrap();
    assert_eq!(hex.trim().len(), 64);
    assert_eq!(cli.expect(0, &["random", "--bytes", "7"], b"").len(), 7);
    cli.expect(2, &["random", "--bytes", "0"], b"");
    cli.expect(2, &["hash", "--alg", "MD5"], b"");
    cli.expect(2, &["no-such-command"], b"");
}

#[test]
fn sign_verify_with_a_slot_key() {
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    let sig = dir.path().join("sig");
    let big = dir.path().join("big");
    let small = dir.path().join("small");
    // ECDSA pre-hashes, so any length streams; pure EdDSA and ML-DSA buffer the message in the
    // daemon up to a bound (64 KiB by default).
    std::fs::write(&big, vec![0x5a; 200_000]).unwrap();
    std::fs::write(&small, vec![0xa5; 40_000]).unwrap();

    for (alg, slot, msg) in [
        ("ED25519", "sign.ed", &small),
        ("ECDSA-P256-SHA256", "sign.p256", &big),
        ("ML-DSA-65", "sign.mldsa", &small),
    ] {
        cli.expect(0, &["key", "generate", "--alg", alg, "--slot", slot], b"");
        cli.expect(
            0,
            &["sign", "--slot", slot, "--in", p(msg), "--out", p(&sig)],
            b"",
        );
        cli.expect(
            0,
            &["verify", "--slot", slot, "--sig", p(&sig), "--in", p(msg)],
            b"",
        );
        // Different message: verification fails with exit 1.
        cli.expect(
            1,
            &["verify", "--slot", slot, "--sig", p(&sig)],
            b"tampered",
        );
    }
    let list = cli.json(&["key", "list"], b"");
    let names: Vec<&str> = list["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slot"].as_str().unwrap())
        .collect();
    for s in ["sign.ed", "sign.p256", "sign.mldsa"] {
        assert!(names.contains(&s), "{names:?}");
    }
    // Public keys in PEM, DER and raw.
    let pem = cli.expect(0, &["key", "public", "--slot", "sign.ed"], b"");
    assert!(
        String::from_utf8(pem)
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let raw = cli.json(
        &["key", "public", "--slot", "sign.ed", "--format", "raw"],
        b"",
    );
    assert_eq!(raw["public_key"].as_str().unwrap().len(), 64);

    // Daemon errors exit 3 and name the code.
    let out = cli.run(&["key", "generate", "--alg", "ED25519", "--slot", "sign.ed"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KeySlotOccupied"));
    let out = cli.run(&["sign", "--slot", "no.such.slot"]);
    assert_eq!(out.status.code(), Some(3));
    // Usage errors exit 2.
    cli.expect(2, &["key", "generate", "--alg", "NOPE", "--slot", "x"], b"");
    cli.expect(
        2,
        &[
            "key",
            "generate",
            "--alg",
            "ED25519",
            "--slot",
            "x",
            "--permissions",
            "fly",
        ],
        b"",
    );
    // Delete, then the slot is gone.
    cli.expect(0, &["key", "delete", "--slot", "sign.p256"], b"");
    assert_eq!(
        cli.run(&["sign", "--slot", "sign.p256"]).status.code(),
        Some(3)
    );
}

#[test]
fn encrypt_decrypt_mac_derive() {
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct");
    // AEAD is one-shot in aws-lc: the daemon buffers up to 64 KiB per message by default.
    let plain: Vec<u8> = (0..60_000u32).map(|i| i as u8).collect();

    cli.expect(
        0,
        &["key", "generate", "--alg", "AES-256", "--slot", "data"],
        b"",
    );
    cli.expect(
        0,
        &["encrypt", "--slot", "data", "--aad", "hdr", "--out", p(&ct)],
        &plain,
    );
    let ct_bytes = std::fs::read(&ct).unwrap();
    assert_eq!(ct_bytes.len(), plain.len() + 12 + 16);
    // Output files are created 0600 whatever the umask (they may hold plaintext).
    assert_eq!(std::fs::metadata(&ct).unwrap().mode() & 0o777, 0o600);
    let back = cli.expect(
        0,
        &["decrypt", "--slot", "data", "--aad", "hdr", "--in", p(&ct)],
        b"",
    );
    assert_eq!(back, plain);
    // Wrong AAD or a flipped byte: exit 1 and no plaintext.
    let out = cli.run(&[
        "decrypt",
        "--slot",
        "data",
        "--aad",
        "other",
        "--in",
        p(&ct),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let mut bad = ct_bytes.clone();
    bad[40] ^= 1;
    std::fs::write(&ct, &bad).unwrap();
    let out = cli.run(&["decrypt", "--slot", "data", "--aad", "hdr", "--in", p(&ct)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());

    // Derive two HMAC keys from one base with the same inputs: same MAC.
    cli.expect(
        0,
        &[
            "key",
            "generate",
            "--alg",
            "GENERIC-SECRET",
            "--slot",
            "base",
        ],
        b"",
    );
    for to in ["mac.a", "mac.b"] {
        cli.expect(
            0,
            &[
                "derive",
                "--slot",
                "base",
                "--kdf",
                "HKDF-SHA256",
                "--salt",
                "0011",
                "--info",
                "cafe",
                "--to-slot",
                to,
                "--alg",
                "HMAC",
                "--len",
                "32",
            ],
            b"",
        );
    }
    let a = cli.json(&["mac", "--slot", "mac.a"], b"message");
    let b = cli.json(&["mac", "--slot", "mac.b"], b"message");
    assert_eq!(a["mac"], b["mac"]);
    assert_eq!(a["mac"].as_str().unwrap().len(), 64);
    let c = cli.json(&["mac", "--slot", "mac.a"], b"other");
    assert_ne!(a["mac"], c["mac"]);
}

#[test]
fn kem_encap_decap_agree_on_the_secret() {
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct");
    for (alg, slot) in [("ML-KEM-768", "kem.mlkem"), ("X-WING", "kem.xwing")] {
        cli.expect(0, &["key", "generate", "--alg", alg, "--slot", slot], b"");
        let ours = format!("{slot}.ours");
        let theirs = format!("{slot}.theirs");
        cli.expect(
            0,
            &[
                "kem",
                "encap",
                "--slot",
                slot,
                "--out-ct",
                p(&ct),
                "--to-slot",
                &ours,
                "--secret-alg",
                "HMAC",
            ],
            b"",
        );
        cli.expect(
            0,
            &[
                "kem",
                "decap",
                "--slot",
                slot,
                "--ct",
                p(&ct),
                "--to-slot",
                &theirs,
                "--secret-alg",
                "HMAC",
            ],
            b"",
        );
        let a = cli.json(&["mac", "--slot", &ours], b"kem");
        let b = cli.json(&["mac", "--slot", &theirs], b"kem");
        assert_eq!(a["mac"], b["mac"], "{alg}");
    }
}

#[test]
fn grant_and_revoke_show_in_the_listing() {
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    cli.expect(
        0,
        &["key", "generate", "--alg", "ED25519", "--slot", "shared"],
        b"",
    );
    cli.expect(
        0,
        &[
            "key",
            "grant",
            "--slot",
            "shared",
            "--uid",
            "54321",
            "--permissions",
            "verify",
        ],
        b"",
    );
    let list = cli.json(&["key", "list"], b"");
    let slot = &list["slots"][0];
    assert_eq!(slot["grants"][0]["uid"], 54321);
    assert_eq!(slot["grants"][0]["permissions"], "verify");
    // A grant beyond the slot's permissions is refused by the daemon.
    cli.expect(
        3,
        &[
            "key",
            "grant",
            "--slot",
            "shared",
            "--uid",
            "54321",
            "--permissions",
            "encrypt",
        ],
        b"",
    );
    cli.expect(
        0,
        &["key", "revoke", "--slot", "shared", "--uid", "54321"],
        b"",
    );
    let list = cli.json(&["key", "list"], b"");
    assert!(list["slots"][0]["grants"].as_array().unwrap().is_empty());
}

#[test]
fn permit_loop_with_policy_and_receipts() {
    let d = admin_daemon();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);
    std::fs::write(f("intent"), br#"{"path":"/etc/motd"}"#).unwrap();

    // Issuer key in a slot; its public key goes into the trust store.
    cli.expect(
        0,
        &["key", "generate", "--alg", "ED25519", "--slot", "issuer"],
        b"",
    );
    cli.expect(
        0,
        &[
            "key",
            "public",
            "--slot",
            "issuer",
            "--format",
            "raw",
            "--out",
            p(&f("issuer.pub")),
        ],
        b"",
    );
    cli.expect(
        0,
        &[
            "trust",
            "add",
            "--issuer",
            "fleet-ops",
            "--alg",
            "ED25519",
            "--in",
            p(&f("issuer.pub")),
        ],
        b"",
    );
    let trust = cli.json(&["trust", "list"], b"");
    assert_eq!(trust["issuers"][0]["issuer"], "fleet-ops");

    // A policy (WAT text) bound to the action.
    let policy =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/allow_action.wat");
    let loaded = cli.json(
        &[
            "policy",
            "load",
            "--in",
            p(&policy),
            "--action",
            "read_file",
        ],
        b"",
    );
    assert_eq!(loaded["sha256"].as_str().unwrap().len(), 64);
    let policies = cli.json(&["policy", "list"], b"");
    assert_eq!(policies["policies"][0]["action"], "read_file");

    let issue = |id: &str, action: &str, out: &str| {
        cli.expect(
            0,
            &[
                "permit",
                "issue",
                "--slot",
                "issuer",
                "--issuer",
                "fleet-ops",
                "--subject",
                "agent-1",
                "--audience",
                "wardend@test",
                "--action",
                action,
                "--resource",
                "/etc/motd",
                "--intent",
                p(&f("intent")),
                "--id",
                id,
                "--out",
                p(&f(out)),
            ],
            b"",
        );
    };
    issue("01", "read_file", "permit1");
    let chain = f("chain.cbor");
    let verify = |permit: &str, action: &str, code: i32| -> serde_json::Value {
        let out = cli.expect(
            code,
            &[
                "--json",
                "permit",
                "verify",
                "--permit",
                p(&f(permit)),
                "--action",
                action,
                "--resource",
                "/etc/motd",
                "--intent",
                p(&f("intent")),
                "--receipt-out",
                p(&chain),
            ],
            b"",
        );
        serde_json::from_slice(&out).unwrap()
    };
    let first = verify("permit1", "read_file", 0);
    assert_eq!(first["allowed"], true);
    // Replay of the same single-use permit: denied, with its reason in the receipt.
    let replay = verify("permit1", "read_file", 1);
    assert_eq!(replay["reason"], "replayed");
    // Wrong action for the permit.
    issue("02", "read_file", "permit2");
    let wrong = verify("permit2", "write_file", 1);
    assert_eq!(wrong["reason"], "action-mismatch");

    // The receipts verify offline against the attestation key; a flipped byte breaks them.
    cli.expect(
        0,
        &["attest", "public-key", "--out", p(&f("attest.pub"))],
        b"",
    );
    let ok = cli.json(
        &[
            "receipt",
            "verify",
            "--in",
            p(&chain),
            "--key",
            p(&f("attest.pub")),
        ],
        b"",
    );
    assert_eq!(ok["receipts"].as_array().unwrap().len(), 3);
    assert_eq!(ok["receipts"][1]["reason"], "replayed");
    // The whole chain: from the daemon's first receipt up to the head the last decision named.
    let head = wrong["counter"].as_u64().unwrap().to_string();
    let key_file = f("attest.pub");
    let whole = |file: &Path, head: &str| {
        cli.run(&[
            "receipt",
            "verify",
            "--in",
            p(file),
            "--key",
            p(&key_file),
            "--head",
            head,
        ])
        .status
        .code()
    };
    assert_eq!(whole(&chain, &head), Some(0));
    // The last receipt missing (the head says there is one more) or the first one missing.
    let bytes = std::fs::read(&chain).unwrap();
    let parts = warden_attest::split_chain(&bytes).unwrap();
    std::fs::write(f("no-last.cbor"), parts[..2].concat()).unwrap();
    assert_eq!(whole(&f("no-last.cbor"), &head), Some(1));
    std::fs::write(f("no-first.cbor"), parts[1..].concat()).unwrap();
    assert_eq!(whole(&f("no-first.cbor"), &head), Some(1));
    // Without the anchor flags a segment still verifies (as documented).
    cli.expect(
        0,
        &[
            "receipt",
            "verify",
            "--in",
            p(&f("no-first.cbor")),
            "--key",
            p(&key_file),
        ],
        b"",
    );
    let mut bytes = std::fs::read(&chain).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(f("bad.cbor"), &bytes).unwrap();
    cli.expect(
        1,
        &[
            "receipt",
            "verify",
            "--in",
            p(&f("bad.cbor")),
            "--key",
            p(&f("attest.pub")),
        ],
        b"",
    );

    // The daemon's own copy of the chain: exported whole, it verifies up to the same head
    // and equals the receipts the decisions returned.
    let exported = cli.json(&["receipt", "export", "--out", p(&f("export.cbor"))], b"");
    assert_eq!(exported["count"], 3);
    assert_eq!(exported["head"].as_u64().unwrap().to_string(), head);
    assert_eq!(whole(&f("export.cbor"), &head), Some(0));
    assert_eq!(
        std::fs::read(f("export.cbor")).unwrap(),
        std::fs::read(&chain).unwrap()
    );
    let tail = cli.json(
        &[
            "receipt",
            "export",
            "--from",
            "2",
            "--out",
            p(&f("tail.cbor")),
        ],
        b"",
    );
    assert_eq!(tail["count"], 2);

    cli.expect(
        0,
        &["key", "generate", "--alg", "ED25519", "--slot", "lockme"],
        b"",
    );
    cli.expect(0, &["key", "lock", "--slot", "lockme"], b"");
    let listed = cli.json(&["key", "list"], b"");
    let entry = listed["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["slot"] == "lockme")
        .unwrap();
    assert_eq!(entry["locked"], true);
    std::fs::write(f("msg"), b"m").unwrap();
    let denied = cli.run(&["sign", "--slot", "lockme", "--in", p(&f("msg"))]);
    assert_eq!(denied.status.code(), Some(3), "signing with a locked slot");
    assert!(String::from_utf8_lossy(&denied.stderr).contains("KeyOperationNotPermitted"));
    cli.expect(0, &["key", "unlock", "--slot", "lockme"], b"");
    cli.expect(0, &["sign", "--slot", "lockme", "--in", p(&f("msg"))], b"");

    cli.expect(0, &["policy", "unload", "--action", "read_file"], b"");
    cli.expect(0, &["trust", "remove", "--issuer", "fleet-ops"], b"");
    issue("03", "read_file", "permit3");
    // An issuer no longer trusted: refused with a typed error, no receipt appended.
    let before = std::fs::read(&chain).unwrap();
    let out = cli.run(&[
        "permit",
        "verify",
        "--permit",
        p(&f("permit3")),
        "--action",
        "read_file",
        "--resource",
        "/etc/motd",
        "--intent",
        p(&f("intent")),
        "--receipt-out",
        p(&chain),
    ]);
    assert_eq!(out.status.code(), Some(3), "untrusted issuer");
    assert!(String::from_utf8_lossy(&out.stderr).contains("TrustAnchorNotFound"));
    assert_eq!(std::fs::read(&chain).unwrap(), before);
}

#[test]
fn non_admin_cannot_manage_policies_or_trust() {
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    let k = dir.path().join("k");
    std::fs::write(&k, [7u8; 32]).unwrap();
    let out = cli.run(&[
        "trust",
        "add",
        "--issuer",
        "x",
        "--alg",
        "ED25519",
        "--in",
        p(&k),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AccessDenied"));
}

#[test]
fn import_raw_secret_and_pem_public_key() {
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n);

    // A raw AES-256 key imported into a slot encrypts and decrypts.
    std::fs::write(f("aes.key"), [0x42u8; 32]).unwrap();
    cli.expect(
        0,
        &[
            "key",
            "import",
            "--alg",
            "AES-256",
            "--slot",
            "imp.aes",
            "--in",
            p(&f("aes.key")),
        ],
        b"",
    );
    cli.expect(
        0,
        &["encrypt", "--slot", "imp.aes", "--out", p(&f("ct"))],
        b"imported",
    );
    let back = cli.expect(
        0,
        &["decrypt", "--slot", "imp.aes", "--in", p(&f("ct"))],
        b"",
    );
    assert_eq!(back, b"imported");
    // A 31-byte file is not an AES-256 key: the daemon refuses it (exit 3).
    std::fs::write(f("short.key"), [0x42u8; 31]).unwrap();
    cli.expect(
        3,
        &[
            "key",
            "import",
            "--alg",
            "AES-256",
            "--slot",
            "imp.bad",
            "--in",
            p(&f("short.key")),
        ],
        b"",
    );

    // A PEM public key exported from one slot and imported into another verifies the first
    // slot's signatures; DER export works too.
    cli.expect(
        0,
        &[
            "key",
            "generate",
            "--alg",
            "ED25519",
            "--slot",
            "imp.signer",
        ],
        b"",
    );
    cli.expect(
        0,
        &[
            "key",
            "public",
            "--slot",
            "imp.signer",
            "--out",
            p(&f("pub.pem")),
        ],
        b"",
    );
    let der = cli.expect(
        0,
        &[
            "key",
            "public",
            "--slot",
            "imp.signer",
            "--format",
            "der",
            "--hex",
        ],
        b"",
    );
    assert!(
        String::from_utf8(der)
            .unwrap()
            .trim()
            .starts_with("302a300506032b6570")
    ); // Ed25519 SPKI prefix
    cli.expect(
        0,
        &[
            "key",
            "import",
            "--alg",
            "ED25519",
            "--slot",
            "imp.verifier",
            "--in",
            p(&f("pub.pem")),
            "--format",
            "pem",
            "--permissions",
            "verify",
        ],
        b"",
    );
    std::fs::write(f("msg"), b"signed elsewhere").unwrap();
    cli.expect(
        0,
        &[
            "sign",
            "--slot",
            "imp.signer",
            "--in",
            p(&f("msg")),
            "--out",
            p(&f("sig")),
        ],
        b"",
    );
    cli.expect(
        0,
        &[
            "verify",
            "--slot",
            "imp.verifier",
            "--sig",
            p(&f("sig")),
            "--in",
            p(&f("msg")),
        ],
        b"",
    );
    cli.expect(
        1,
        &["verify", "--slot", "imp.verifier", "--sig", p(&f("sig"))],
        b"other",
    );
    // Not PEM at all: a usage error before anything reaches the daemon.
    cli.expect(
        2,
        &[
            "key",
            "import",
            "--alg",
            "ED25519",
            "--slot",
            "imp.x",
            "--in",
            p(&f("msg")),
            "--format",
            "pem",
        ],
        b"",
    );
}

#[test]
fn binary_output_to_a_terminal_is_refused() {
    // `script` (util-linux) gives the CLI a pseudo-terminal as stdout.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed, no pseudo-terminal to test with");
        return;
    }
    let d = Daemon::start().unwrap();
    let run = |extra: &str| {
        let cmd = format!(
            "{} --socket {} random --bytes 8 {extra}",
            warden_bin().display(),
            d.socket_path().display()
        );
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .output()
            .unwrap()
    };
    let refused = run("");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("refusing to write binary output"));
    let hex = run("--hex");
    assert_eq!(hex.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&hex.stdout).trim().len(), 16);
}

/// Every command's `--json` output parses and carries its documented fields; a daemon error
/// is a JSON object on stderr with the code's name and number; a failed verification says
/// `"valid": false` on stdout and exits 1.
#[test]
fn every_command_speaks_json() {
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    let f = |name: &str| dir.path().join(name);

    let g = cli.json(
        &["key", "generate", "--alg", "ED25519", "--slot", "j.sign"],
        b"",
    );
    assert_eq!(
        (
            &g["slot"],
            &g["algorithm"],
            &g["permissions"],
            &g["exportable"]
        ),
        (
            &serde_json::json!("j.sign"),
            &serde_json::json!("ED25519"),
            &serde_json::json!("sign,verify"),
            &serde_json::json!(false)
        )
    );
    let s = cli.json(&["sign", "--slot", "j.sign"], b"msg");
    let sig = unhex(s["signature"].as_str().unwrap());
    assert_eq!((sig.len(), s["len"].as_u64()), (64, Some(64)));
    std::fs::write(f("sig"), &sig).unwrap();
    let v = cli.json(
        &["verify", "--slot", "j.sign", "--sig", p(&f("sig"))],
        b"msg",
    );
    assert_eq!(v["valid"], true);
    let bad = cli.run_with(
        &[
            "--json",
            "verify",
            "--slot",
            "j.sign",
            "--sig",
            p(&f("sig")),
        ],
        b"other",
    );
    assert_eq!(bad.status.code(), Some(1));
    let bad: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(
        (&bad["slot"], &bad["valid"]),
        (&serde_json::json!("j.sign"), &serde_json::json!(false))
    );

    cli.json(
        &["key", "generate", "--alg", "AES-256", "--slot", "j.aes"],
        b"",
    );
    let e = cli.json(&["encrypt", "--slot", "j.aes", "--aad", "h"], b"plain");
    let ct = unhex(e["ciphertext"].as_str().unwrap());
    assert_eq!(ct.len(), 5 + 12 + 16);
    std::fs::write(f("ct"), &ct).unwrap();
    let dj = cli.json(
        &[
            "decrypt",
            "--slot",
            "j.aes",
            "--aad",
            "h",
            "--in",
            p(&f("ct")),
        ],
        b"",
    );
    assert_eq!(dj["plaintext"].as_str().map(unhex).unwrap(), b"plain");

    let r = cli.json(&["random", "--bytes", "16"], b"");
    assert_eq!(
        (r["random"].as_str().unwrap().len(), r["len"].as_u64()),
        (32, Some(16))
    );

    let gr = cli.json(
        &[
            "key",
            "grant",
            "--slot",
            "j.sign",
            "--uid",
            "54321",
            "--permissions",
            "verify",
        ],
        b"",
    );
    assert_eq!(
        (&gr["uid"], &gr["permissions"]),
        (&serde_json::json!(54321), &serde_json::json!("verify"))
    );
    let rv = cli.json(
        &["key", "revoke", "--slot", "j.sign", "--uid", "54321"],
        b"",
    );
    assert_eq!(rv["revoked"], true);

    cli.json(
        &["key", "generate", "--alg", "ML-KEM-768", "--slot", "j.kem"],
        b"",
    );
    let en = cli.json(
        &[
            "kem",
            "encap",
            "--slot",
            "j.kem",
            "--out-ct",
            p(&f("kem.ct")),
            "--to-slot",
            "j.ours",
            "--secret-alg",
            "HMAC",
        ],
        b"",
    );
    assert_eq!(
        (&en["kem"], en["ciphertext_len"].as_u64()),
        (&serde_json::json!("ML-KEM-768"), Some(1088))
    );
    let de = cli.json(
        &[
            "kem",
            "decap",
            "--slot",
            "j.kem",
            "--ct",
            p(&f("kem.ct")),
            "--to-slot",
            "j.theirs",
            "--secret-alg",
            "HMAC",
        ],
        b"",
    );
    assert_eq!(de["to_slot"], "j.theirs");
    cli.json(
        &[
            "key",
            "generate",
            "--alg",
            "GENERIC-SECRET",
            "--slot",
            "j.base",
        ],
        b"",
    );
    let dv = cli.json(
        &[
            "derive",
            "--slot",
            "j.base",
            "--kdf",
            "HKDF-SHA256",
            "--info",
            "cafe",
            "--to-slot",
            "j.derived",
            "--alg",
            "HMAC",
            "--len",
            "32",
        ],
        b"",
    );
    assert_eq!(
        (&dv["kdf"], &dv["to_slot"]),
        (
            &serde_json::json!("HKDF-SHA256"),
            &serde_json::json!("j.derived")
        )
    );

    let del = cli.json(&["key", "delete", "--slot", "j.derived"], b"");
    assert_eq!(
        (&del["slot"], &del["deleted"]),
        (&serde_json::json!("j.derived"), &serde_json::json!(true))
    );

    // A daemon error: exit 3, a JSON object on stderr naming the code and its number.
    let gone = cli.run(&["--json", "key", "delete", "--slot", "j.derived"]);
    assert_eq!(gone.status.code(), Some(3));
    let err: serde_json::Value = serde_json::from_slice(&gone.stderr).unwrap();
    let value = u32::try_from(err["code_value"].as_u64().unwrap()).unwrap();
    let code = warden_client::ErrorCode::from_u32(value).unwrap();
    assert_eq!(err["code"], code.name());
    assert!(
        matches!(
            code,
            warden_client::ErrorCode::KeySlotEmpty | warden_client::ErrorCode::AccessDenied
        ),
        "{err}"
    );
    assert_eq!(err["exit"], 3);
}
