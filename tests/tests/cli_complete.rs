//! CLI completeness (issue 15): `agree`, RSA-OAEP `encrypt`/`decrypt`, `mac verify`,
//! `key export`, `verify --pubkey` and `hash` without a daemon, `algorithms`, and `-` for
//! stdin/stdout, each run as the real `warden` binary against a real `wardend`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use warden_e2e::cli::Warden;
use warden_e2e::persistent::{Wardend, config};

fn daemon(root: &Path) -> (Wardend, Warden) {
    let d = Wardend::start(root, &config(&[]));
    let w = Warden::at(&d.socket);
    (d, w)
}

/// A `warden` whose socket does not exist: anything that connects fails (exit 3).
fn no_daemon(dir: &Path) -> Warden {
    Warden::at(&dir.join("no-daemon.sock"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn hex_of(out: Vec<u8>) -> String {
    String::from_utf8(out).unwrap().trim().to_owned()
}

#[test]
fn agree_puts_the_same_secret_in_both_slots() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    for (alg, i) in [("X25519", 0), ("ECDH-P256", 1), ("ECDH-P384", 2)] {
        let (a, b) = (format!("a{i}"), format!("b{i}"));
        w.ok(&["key", "generate", "--alg", alg, "--slot", &a]);
        w.ok(&["key", "generate", "--alg", alg, "--slot", &b]);
        // One side hands over PEM (the default of `key public`), the other raw bytes.
        let b_pem = root.path().join(format!("b{i}.pem"));
        let a_raw = root.path().join(format!("a{i}.raw"));
        w.ok(&["key", "public", "--slot", &b, "--out", s(&b_pem)]);
        w.ok(&[
            "key",
            "public",
            "--slot",
            &a,
            "--format",
            "raw",
            "--out",
            s(&a_raw),
        ]);
        let (ab, ba) = (format!("ab{i}"), format!("ba{i}"));
        let perms = ["--permissions", "derive,export", "--exportable"];
        let out = w.ok(&[
            &["agree", "--slot", &a, "--peer", s(&b_pem), "--to-slot", &ab][..],
            &perms,
        ]
        .concat());
        assert!(
            out.contains(&format!("shared secret (GENERIC-SECRET) in slot {ab}")),
            "{out}"
        );
        // The peer's key from stdin.
        let raw = std::fs::read(&a_raw).unwrap();
        w.expect(
            0,
            &[
                &["agree", "--slot", &b, "--peer", "-", "--to-slot", &ba][..],
                &perms,
            ]
            .concat(),
            &raw,
        );
        let x = hex_of(w.expect(0, &["key", "export", "--slot", &ab, "--hex"], b""));
        let y = hex_of(w.expect(0, &["key", "export", "--slot", &ba, "--hex"], b""));
        assert_eq!(x, y, "{alg}");
        assert!(x.len() >= 64, "{alg}: {x}");
    }
    // The wrong kind of key, or a peer key of another curve, is refused.
    w.ok(&["key", "generate", "--alg", "ED25519", "--slot", "ed"]);
    let err = w.fails(
        2,
        &["agree", "--slot", "ed", "--peer", "-", "--to-slot", "z"],
    );
    assert!(err.contains("agree needs X25519"), "{err}");
    let p256 = root.path().join("b1.pem");
    let err = w.fails(
        2,
        &[
            "agree",
            "--slot",
            "a0",
            "--peer",
            s(&p256),
            "--to-slot",
            "z",
        ],
    );
    assert!(err.contains("not a X25519 public key"), "{err}");
    w.fails(3, &["key", "export", "--slot", "z", "--hex"]);
}

#[test]
fn rsa_oaep_encrypts_and_decrypts_a_short_secret() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    w.ok(&[
        "key",
        "generate",
        "--alg",
        "RSA-OAEP-SHA256",
        "--slot",
        "rsa",
        "--size",
        "2048",
    ]);
    let ct = w.expect(
        0,
        &["encrypt", "--slot", "rsa", "--in", "-", "--out", "-"],
        b"aes key bytes",
    );
    assert_eq!(ct.len(), 256);
    let pt = w.expect(0, &["decrypt", "--slot", "rsa", "--out", "-"], &ct);
    assert_eq!(pt, b"aes key bytes");
    // OAEP is randomised: the same plaintext encrypts differently.
    let ct2 = w.expect(
        0,
        &["encrypt", "--slot", "rsa", "--out", "-"],
        b"aes key bytes",
    );
    assert_ne!(ct, ct2);
    let mut bad = ct.clone();
    bad[100] ^= 1;
    let out = w.run_with(&["decrypt", "--slot", "rsa", "--out", "-"], &bad);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no plaintext on failure");
    let out = w.run_with(&["encrypt", "--slot", "rsa", "--hex"], &[7u8; 300]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too long for one RSA-OAEP block"));
    let out = w.run_with(&["encrypt", "--slot", "rsa", "--aad", "x", "--hex"], b"k");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn mac_verify_accepts_the_right_tag_only() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    w.ok(&["key", "generate", "--alg", "HMAC", "--slot", "h"]);
    let msg = root.path().join("msg");
    std::fs::write(&msg, b"transfer 100 to alice").unwrap();
    let hex_tag = root.path().join("tag.hex");
    let raw_tag = root.path().join("tag.bin");
    std::fs::write(
        &hex_tag,
        w.expect(0, &["mac", "--slot", "h", "--in", s(&msg)], b""),
    )
    .unwrap();
    w.ok(&["mac", "--slot", "h", "--in", s(&msg), "--out", s(&raw_tag)]);
    assert_eq!(std::fs::read(&raw_tag).unwrap().len(), 32);
    for tag in [&hex_tag, &raw_tag] {
        let out = w.ok(&[
            "mac",
            "verify",
            "--slot",
            "h",
            "--tag",
            s(tag),
            "--in",
            s(&msg),
        ]);
        assert!(out.contains("mac ok"), "{out}");
        let out = w.run_with(
            &["mac", "verify", "--slot", "h", "--tag", s(tag)],
            b"transfer 900 to mallory",
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("does NOT match"));
    }
    let mut j = vec![
        "--json",
        "mac",
        "verify",
        "--slot",
        "h",
        "--tag",
        s(&hex_tag),
    ];
    let out = w.run_with(&j, b"other");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    j.extend(["--in", s(&msg)]);
    let v: serde_json::Value = serde_json::from_slice(&w.expect(0, &j, b"")).unwrap();
    assert_eq!(v["valid"], true);
    // A truncated tag is not accepted either.
    std::fs::write(&raw_tag, &std::fs::read(&raw_tag).unwrap()[..16]).unwrap();
    let out = w.run_with(
        &[
            "mac",
            "verify",
            "--slot",
            "h",
            "--tag",
            s(&raw_tag),
            "--in",
            s(&msg),
        ],
        b"",
    );
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn key_export_writes_an_exportable_secret_only() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    let key = [0x42u8; 32];
    w.expect(
        0,
        &[
            "key",
            "import",
            "--alg",
            "AES-256",
            "--slot",
            "k",
            "--in",
            "-",
            "--exportable",
            "--permissions",
            "encrypt,decrypt,export",
        ],
        &key,
    );
    assert_eq!(
        w.expect(0, &["key", "export", "--slot", "k", "--out", "-"], b""),
        key
    );
    let file = root.path().join("k.bin");
    w.ok(&["key", "export", "--slot", "k", "--out", s(&file)]);
    assert_eq!(std::fs::read(&file).unwrap(), key);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    w.ok(&["key", "generate", "--alg", "AES-256", "--slot", "locked-in"]);
    let err = w.fails(3, &["key", "export", "--slot", "locked-in", "--hex"]);
    assert!(err.contains("--exportable"), "{err}");
}

#[test]
fn verify_with_a_public_key_file_needs_no_daemon() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    let offline = no_daemon(root.path());
    let msg = b"release v1.2.3".as_slice();
    for (alg, slot) in [
        ("ED25519", "ed"),
        ("ECDSA-P256-SHA256", "ec"),
        ("ML-DSA-44", "ml"),
    ] {
        w.ok(&["key", "generate", "--alg", alg, "--slot", slot]);
        let sig = root.path().join(format!("{slot}.sig"));
        w.expect(0, &["sign", "--slot", slot, "--out", s(&sig)], msg);
        for format in ["pem", "der", "raw"] {
            let pk = root.path().join(format!("{slot}.{format}"));
            w.ok(&[
                "key",
                "public",
                "--slot",
                slot,
                "--format",
                format,
                "--out",
                s(&pk),
            ]);
            let args = ["verify", "--pubkey", s(&pk), "--alg", alg, "--sig", s(&sig)];
            let out = offline.expect(0, &args, msg);
            assert_eq!(String::from_utf8(out).unwrap().trim(), "signature ok");
            let out = offline.run_with(&args, b"release v1.2.4");
            assert_eq!(out.status.code(), Some(1), "{alg} {format}");
            assert!(String::from_utf8_lossy(&out.stderr).contains("does NOT verify"));
        }
    }
    // The signature from stdin, the message from a file; --json says valid.
    let pk = root.path().join("ed.pem");
    let msgfile = root.path().join("msg");
    std::fs::write(&msgfile, msg).unwrap();
    let sig = std::fs::read(root.path().join("ed.sig")).unwrap();
    let out = offline.expect(
        0,
        &[
            "--json",
            "verify",
            "--pubkey",
            s(&pk),
            "--alg",
            "ED25519",
            "--sig",
            "-",
            "--in",
            s(&msgfile),
        ],
        &sig,
    );
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["valid"], true);
    // A key of another algorithm is a usage error, not a verification failure.
    let err = offline.fails(
        2,
        &[
            "verify",
            "--pubkey",
            s(&pk),
            "--alg",
            "ECDSA-P256-SHA256",
            "--sig",
            s(&root.path().join("ec.sig")),
        ],
    );
    assert!(err.contains("not a ECDSA-P256-SHA256 public key"), "{err}");
    let err = offline.fails(2, &["verify", "--pubkey", s(&pk), "--sig", "x"]);
    assert!(err.contains("--alg"), "{err}");
}

#[test]
fn hash_and_algorithms_run_without_a_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let offline = no_daemon(dir.path());
    // FIPS 180-2 "abc" and the empty SHA3-256 vector.
    let out = offline.expect(0, &["hash", "--alg", "SHA-256", "--in", "-"], b"abc");
    assert_eq!(
        hex_of(out),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let out = offline.expect(0, &["hash", "--alg", "sha3-256"], b"");
    assert_eq!(
        hex_of(out),
        "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
    );
    let big = vec![b'a'; 1_000_000];
    let out = offline.expect(0, &["hash", "--alg", "SHA-256"], &big);
    assert_eq!(
        hex_of(out),
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    );
    offline.fails(2, &["hash", "--alg", "HMAC-SHA256"]);
    // Something that needs the daemon still needs it.
    offline.fails(3, &["random", "--bytes", "4", "--hex"]);

    let v: serde_json::Value =
        serde_json::from_slice(&offline.expect(0, &["--json", "algorithms"], b"")).unwrap();
    let list = v["algorithms"].as_array().unwrap();
    let row = |name: &str| {
        list.iter()
            .find(|r| r["algorithm"] == name)
            .unwrap()
            .clone()
    };
    assert!(list.len() >= 40, "{}", list.len());
    let ed = row("ED25519");
    assert!(
        ed["operations"]
            .as_array()
            .unwrap()
            .contains(&"sign".into())
    );
    assert!(
        ed["operations"]
            .as_array()
            .unwrap()
            .contains(&"verify".into())
    );
    assert!(
        row("X25519")["operations"]
            .as_array()
            .unwrap()
            .contains(&"agree".into())
    );
    assert_eq!(
        row("AES-256-GCM")["key_types"],
        serde_json::json!(["AES-256"])
    );
    assert!(
        !row("SHA-256")["operations"]
            .as_array()
            .unwrap()
            .contains(&"sign".into())
    );
    let text = offline.ok(&["algorithms"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("ML-KEM-768") && l.contains("kem-encap")),
        "{text}"
    );
}

#[test]
fn dash_means_stdin_and_stdout_everywhere() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    w.ok(&["key", "generate", "--alg", "ED25519", "--slot", "ed"]);
    w.ok(&["key", "generate", "--alg", "AES-256", "--slot", "aes"]);
    w.ok(&["key", "generate", "--alg", "ML-KEM-768", "--slot", "kem"]);
    let sig = w.expect(
        0,
        &["sign", "--slot", "ed", "--in", "-", "--out", "-"],
        b"m",
    );
    assert_eq!(sig.len(), 64);
    let msg = root.path().join("m");
    std::fs::write(&msg, b"m").unwrap();
    w.expect(
        0,
        &["verify", "--slot", "ed", "--sig", "-", "--in", s(&msg)],
        &sig,
    );
    let ct = w.expect(
        0,
        &["encrypt", "--slot", "aes", "--in", "-", "--out", "-"],
        b"secret",
    );
    assert_eq!(
        w.expect(
            0,
            &["decrypt", "--slot", "aes", "--in", "-", "--out", "-"],
            &ct
        ),
        b"secret"
    );
    let pem = w.expect(0, &["key", "public", "--slot", "ed", "--out", "-"], b"");
    assert!(pem.starts_with(b"-----BEGIN PUBLIC KEY-----"));
    w.expect(
        0,
        &[
            "key",
            "import",
            "--alg",
            "ED25519",
            "--slot",
            "ed-pub",
            "--format",
            "pem",
            "--in",
            "-",
            "--permissions",
            "verify",
        ],
        &pem,
    );
    w.expect(
        0,
        &["verify", "--slot", "ed-pub", "--sig", "-", "--in", s(&msg)],
        &sig,
    );
    // The KEM ciphertext on stdout, alone (no summary line mixed in), decapsulates.
    let ct = w.expect(
        0,
        &[
            "kem",
            "encap",
            "--slot",
            "kem",
            "--out-ct",
            "-",
            "--to-slot",
            "ss1",
        ],
        b"",
    );
    assert_eq!(ct.len(), 1088);
    w.expect(
        0,
        &[
            "kem",
            "decap",
            "--slot",
            "kem",
            "--ct",
            "-",
            "--to-slot",
            "ss2",
        ],
        &ct,
    );
    w.ok(&["key", "generate", "--alg", "HMAC", "--slot", "h"]);
    let tag = w.expect(0, &["mac", "--slot", "h", "--in", "-", "--out", "-"], b"m");
    assert_eq!(
        hex_of(tag).len(),
        64,
        "a tag on stdout is hex, as without --out"
    );
    let dig = w.expect(0, &["hash", "--in", "-", "--out", "-"], b"abc");
    assert_eq!(
        hex_of(dig),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
