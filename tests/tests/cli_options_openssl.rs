//! `warden sign|verify --pss-salt-len` and `warden encrypt|decrypt --oaep-label` against
//! openssl 3, both ways, through the real `warden` binary and a real `wardend` (and `verify
//! --pubkey` without it): the flags must mean exactly what openssl's `rsa_pss_saltlen` and
//! `rsa_oaep_label` mean.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use warden_e2e::cli::Warden;
use warden_e2e::persistent::{Wardend, config};

fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: openssl is not installed (scripts/setup.sh installs it)");
    }
    ok
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap()
}

fn openssl_ok(args: &[&str]) {
    let out = openssl(args);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An openssl RSA-2048 key as PKCS#8 DER (`rsa.p8`) and its public key as PEM (`rsa.pub`).
fn openssl_rsa(dir: &Path) {
    let (pem, p8, public) = (dir.join("rsa.pem"), dir.join("rsa.p8"), dir.join("rsa.pub"));
    openssl_ok(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        s(&pem),
    ]);
    openssl_ok(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        s(&pem),
        "-outform",
        "DER",
        "-out",
        s(&p8),
    ]);
    openssl_ok(&["pkey", "-in", s(&pem), "-pubout", "-out", s(&public)]);
}

#[test]
fn pss_salt_len_interoperates_with_openssl_both_ways() {
    if !have_openssl() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let w = Warden::at(&d.socket);
    let dir = root.path();
    openssl_rsa(dir);
    let (p8, public) = (dir.join("rsa.p8"), dir.join("rsa.pub"));
    w.ok(&[
        "key",
        "import",
        "--alg",
        "RSA-PSS-SHA256",
        "--slot",
        "pss",
        "--in",
        s(&p8),
    ]);
    let msg = dir.join("msg");
    std::fs::write(&msg, b"RSA-PSS with the salt length the peer expects").unwrap();
    let (sig, theirs) = (dir.join("sig"), dir.join("ossl.sig"));
    let ossl_verify = |salt: u16| {
        openssl(&[
            "dgst",
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            &format!("rsa_pss_saltlen:{salt}"),
            "-verify",
            s(&public),
            "-signature",
            s(&sig),
            s(&msg),
        ])
        .status
        .success()
    };
    for salt in [0u16, 20, 64] {
        let n = salt.to_string();
        // Another length that is still in range (65 would be a usage error, exit 2).
        let wrong = if salt == 64 { 63 } else { salt + 1 }.to_string();
        // warden signs → openssl verifies with that salt length only.
        w.ok(&[
            "sign",
            "--slot",
            "pss",
            "--pss-salt-len",
            &n,
            "--in",
            s(&msg),
            "--out",
            s(&sig),
        ]);
        assert!(ossl_verify(salt), "salt {salt}: openssl accepts warden's");
        assert!(
            !ossl_verify(salt + 1),
            "salt {salt}: the length is really {salt}"
        );
        // openssl signs → warden verifies, in the daemon and locally, with that length only.
        openssl_ok(&[
            "dgst",
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            &format!("rsa_pss_saltlen:{salt}"),
            "-keyform",
            "DER",
            "-sign",
            s(&p8),
            "-out",
            s(&theirs),
            s(&msg),
        ]);
        let by_slot = [
            "verify",
            "--slot",
            "pss",
            "--sig",
            s(&theirs),
            "--in",
            s(&msg),
        ];
        let by_pubkey = [
            "verify",
            "--pubkey",
            s(&public),
            "--alg",
            "RSA-PSS-SHA256",
            "--sig",
            s(&theirs),
            "--in",
            s(&msg),
        ];
        for base in [&by_slot[..], &by_pubkey[..]] {
            w.ok(&[base, &["--pss-salt-len", &n]].concat());
            let out = w.run_with(&[base, &["--pss-salt-len", &wrong]].concat(), b"");
            assert_eq!(
                out.status.code(),
                Some(1),
                "salt {salt} verified as {wrong}"
            );
        }
    }
    // A file past one frame is signed through the data plane: the salt length still applies.
    std::fs::write(&msg, vec![0xa5; 300 * 1024]).unwrap();
    w.ok(&[
        "sign",
        "--slot",
        "pss",
        "--pss-salt-len",
        "7",
        "--in",
        s(&msg),
        "--out",
        s(&sig),
    ]);
    assert!(
        ossl_verify(7) && !ossl_verify(32),
        "data-plane signature uses salt 7"
    );
    // Without the flag the salt is the hash length (32), as before the flag existed.
    openssl_ok(&[
        "dgst",
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
        "-keyform",
        "DER",
        "-sign",
        s(&p8),
        "-out",
        s(&theirs),
        s(&msg),
    ]);
    w.ok(&[
        "verify",
        "--slot",
        "pss",
        "--sig",
        s(&theirs),
        "--in",
        s(&msg),
    ]);
    // Out of range is a usage error before anything is signed.
    let err = w.fails(
        2,
        &[
            "sign",
            "--slot",
            "pss",
            "--pss-salt-len",
            "65",
            "--in",
            s(&msg),
        ],
    );
    assert!(err.contains("--pss-salt-len"), "{err}");
}

/// openssl `pkeyutl` with OAEP over `hash` and `label`, encrypting or decrypting `input`.
fn ossl_oaep(dir: &Path, encrypt: bool, hash: &str, label: &[u8], input: &[u8]) -> Output {
    let (inp, out) = (dir.join("ossl.in"), dir.join("ossl.out"));
    std::fs::write(&inp, input).unwrap();
    let _ = std::fs::remove_file(&out);
    let (p8, public) = (dir.join("rsa.p8"), dir.join("rsa.pub"));
    let key: Vec<&str> = if encrypt {
        vec!["-encrypt", "-pubin", "-inkey", s(&public)]
    } else {
        vec!["-decrypt", "-keyform", "DER", "-inkey", s(&p8)]
    };
    let opts = [
        "rsa_padding_mode:oaep".to_owned(),
        format!("rsa_oaep_md:{hash}"),
        format!("rsa_mgf1_md:{hash}"),
        format!("rsa_oaep_label:{}", hex_of(label)),
    ];
    let mut args: Vec<&str> = vec!["pkeyutl"];
    args.extend(key);
    args.extend(["-in", s(&inp), "-out", s(&out)]);
    for o in &opts {
        args.extend(["-pkeyopt", o.as_str()]);
    }
    let mut r = openssl(&args);
    if r.status.success() {
        r.stdout = std::fs::read(&out).unwrap();
    }
    r
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn oaep_label_interoperates_with_openssl_both_ways() {
    if !have_openssl() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let w = Warden::at(&d.socket);
    let dir = root.path();
    openssl_rsa(dir);
    w.ok(&[
        "key",
        "import",
        "--alg",
        "RSA-OAEP-SHA256",
        "--slot",
        "oaep",
        "--in",
        s(&dir.join("rsa.p8")),
    ]);
    let label = b"purpose: \x00binary\xff label";
    let label_file = dir.join("label");
    std::fs::write(&label_file, label).unwrap();
    let secret = b"an OAEP-wrapped AES key".to_vec();
    let hex_label = format!("hex:{}", hex_of(label));
    let at_label = format!("@{}", s(&label_file));
    // The key's own hash (SHA-256) by default; --alg picks another per message.
    for (alg, hash) in [
        (None, "sha256"),
        (Some("RSA-OAEP-SHA1"), "sha1"),
        (Some("RSA-OAEP-SHA512"), "sha512"),
    ] {
        let alg_args: Vec<&str> = alg.map(|a| vec!["--alg", a]).unwrap_or_default();
        let run = |cmd: &str, label: Option<&str>, input: &[u8]| {
            let mut args = vec![cmd, "--slot", "oaep", "--out", "-"];
            args.extend(&alg_args);
            if let Some(l) = label {
                args.extend(["--oaep-label", l]);
            }
            w.run_with(&args, input)
        };
        // warden encrypts (label as hex: and as @file) → openssl decrypts with that label only.
        for given in [hex_label.as_str(), at_label.as_str()] {
            let ct = run("encrypt", Some(given), &secret);
            assert_eq!(
                ct.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&ct.stderr)
            );
            let back = ossl_oaep(dir, false, hash, label, &ct.stdout);
            assert!(
                back.status.success(),
                "{alg:?}: {}",
                String::from_utf8_lossy(&back.stderr)
            );
            assert_eq!(back.stdout, secret, "{alg:?}");
            assert!(
                !ossl_oaep(dir, false, hash, b"other", &ct.stdout)
                    .status
                    .success()
            );
            assert!(
                !ossl_oaep(dir, false, hash, b"", &ct.stdout)
                    .status
                    .success()
            );
        }
        // openssl encrypts → warden decrypts with that label; none or another fails (exit 1,
        // no plaintext).
        let ct = ossl_oaep(dir, true, hash, label, &secret);
        assert!(
            ct.status.success(),
            "{}",
            String::from_utf8_lossy(&ct.stderr)
        );
        let pt = run("decrypt", Some(&at_label), &ct.stdout);
        assert_eq!(
            pt.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&pt.stderr)
        );
        assert_eq!(pt.stdout, secret, "{alg:?}");
        for wrong in [None, Some("purpose"), Some("hex:00")] {
            let out = run("decrypt", wrong, &ct.stdout);
            assert_eq!(out.status.code(), Some(1), "{alg:?} label {wrong:?}");
            assert!(out.stdout.is_empty(), "no plaintext on failure");
        }
        // A text label is its UTF-8 bytes.
        let ct = ossl_oaep(dir, true, hash, b"v1 session key", &secret);
        assert_eq!(
            run("decrypt", Some("v1 session key"), &ct.stdout).stdout,
            secret
        );
    }
}
