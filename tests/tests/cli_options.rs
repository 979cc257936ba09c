//! `warden sign|verify --context` and `--external-mu` (ML-DSA), and every option flag refused
//! with its name on an algorithm that cannot use it, through the real `warden` binary against
//! a real `wardend` and, for `verify --pubkey`, without one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use warden_e2e::cli::Warden;
use warden_e2e::persistent::{Wardend, config};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// FIPS 204 μ computed here, independently of warden: `tr = SHAKE256(pk, 64)`,
/// `μ = SHAKE256(tr ‖ 0 ‖ len(ctx) ‖ ctx ‖ M, 64)` (as tests/tests/vectors.rs does).
fn mldsa_mu(public_key: &[u8], ctx: &[u8], msg: &[u8]) -> Vec<u8> {
    use shake::{ExtendableOutput, Update};
    let h = |parts: &[&[u8]]| {
        let mut s = shake::Shake256::default();
        parts.iter().for_each(|p| s.update(p));
        let mut out = vec![0u8; 64];
        s.finalize_xof_into(&mut out);
        out
    };
    let tr = h(&[public_key]);
    h(&[&tr, &[0, u8::try_from(ctx.len()).unwrap()], ctx, msg])
}

/// A daemon, a `warden` for it, and an ML-DSA-65 slot `m` whose public key is in `m.pem`.
fn mldsa_daemon(root: &Path) -> (Wardend, Warden) {
    let d = Wardend::start(root, &config(&[]));
    let w = Warden::at(&d.socket);
    w.ok(&["key", "generate", "--alg", "ML-DSA-65", "--slot", "m"]);
    w.ok(&[
        "key",
        "public",
        "--slot",
        "m",
        "--out",
        s(&root.join("m.pem")),
    ]);
    (d, w)
}

#[test]
fn a_context_string_binds_the_ml_dsa_signature() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = mldsa_daemon(root.path());
    let (msg, sig, ctx_file) = (
        root.path().join("msg"),
        root.path().join("sig"),
        root.path().join("ctx"),
    );
    std::fs::write(&msg, b"firmware 7.1 for the left door").unwrap();
    std::fs::write(&ctx_file, b"door-fw").unwrap();
    let pem = root.path().join("m.pem");
    let verify = |extra: &[&str]| -> Option<i32> {
        let slot = [
            &["verify", "--slot", "m", "--sig", s(&sig), "--in", s(&msg)][..],
            extra,
        ];
        let local = [
            &[
                "verify",
                "--pubkey",
                s(&pem),
                "--alg",
                "ML-DSA-65",
                "--sig",
                s(&sig),
                "--in",
                s(&msg),
            ][..],
            extra,
        ];
        let a = w.run_with(&slot.concat(), b"").status.code();
        let b = w.run_with(&local.concat(), b"").status.code();
        assert_eq!(a, b, "daemon and --pubkey agree on {extra:?}");
        a
    };
    // The same context given as text, hex and a file: all verify each other's signatures.
    let a_forms = [
        "door-fw",
        "hex:646f6f722d6677",
        &format!("@{}", s(&ctx_file)),
    ]
    .map(String::from);
    for sign_as in &a_forms {
        w.ok(&[
            "sign",
            "--slot",
            "m",
            "--context",
            sign_as,
            "--in",
            s(&msg),
            "--out",
            s(&sig),
        ]);
        for verify_as in &a_forms {
            assert_eq!(
                verify(&["--context", verify_as]),
                Some(0),
                "{sign_as} / {verify_as}"
            );
        }
        // Another context, or none, does not verify (exit 1).
        assert_eq!(verify(&["--context", "door-fx"]), Some(1));
        assert_eq!(verify(&["--context", "hex:00"]), Some(1));
        assert_eq!(verify(&[]), Some(1));
    }
    // A file past one frame goes through the data plane (shared memory) in the daemon and is
    // streamed by `--pubkey`: the context applies on both paths.
    std::fs::write(&msg, vec![0x5a; 300 * 1024]).unwrap();
    w.ok(&[
        "sign",
        "--slot",
        "m",
        "--context",
        "door-fw",
        "--in",
        s(&msg),
        "--out",
        s(&sig),
    ]);
    assert_eq!(verify(&["--context", "door-fw"]), Some(0));
    assert_eq!(verify(&["--context", "door-fx"]), Some(1));
    assert_eq!(verify(&[]), Some(1));
    // And a signature without a context does not verify under one.
    w.ok(&["sign", "--slot", "m", "--in", s(&msg), "--out", s(&sig)]);
    assert_eq!(verify(&[]), Some(0));
    assert_eq!(verify(&["--context", "door-fw"]), Some(1));
    // A context longer than FIPS 204's 255 bytes is a usage error.
    let long = "c".repeat(256);
    let err = w.fails(
        2,
        &["sign", "--slot", "m", "--context", &long, "--in", s(&msg)],
    );
    assert!(err.contains("at most 255"), "{err}");
}

#[test]
fn a_context_string_binds_an_ed25519ph_signature() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let w = Warden::at(&d.socket);
    let dir = root.path();
    w.ok(&["key", "generate", "--alg", "ED25519PH", "--slot", "ph"]);
    let (pem, msg, sig) = (dir.join("ph.pem"), dir.join("msg"), dir.join("sig"));
    w.ok(&["key", "public", "--slot", "ph", "--out", s(&pem)]);
    std::fs::write(&msg, b"RFC 8032 context").unwrap();
    w.ok(&[
        "sign",
        "--slot",
        "ph",
        "--context",
        "hex:0001",
        "--in",
        s(&msg),
        "--out",
        s(&sig),
    ]);
    for (ctx, want) in [(Some("hex:0001"), 0), (Some("hex:0002"), 1), (None, 1)] {
        let extra: Vec<&str> = ctx.map(|c| vec!["--context", c]).unwrap_or_default();
        let slot = ["verify", "--slot", "ph", "--sig", s(&sig), "--in", s(&msg)];
        let local = [
            "verify",
            "--pubkey",
            s(&pem),
            "--alg",
            "ED25519PH",
            "--sig",
            s(&sig),
            "--in",
            s(&msg),
        ];
        for base in [&slot[..], &local[..]] {
            let out = w.run_with(&[base, &extra].concat(), b"");
            assert_eq!(out.status.code(), Some(want), "{ctx:?} {base:?}");
        }
    }
}

#[test]
fn an_external_mu_signature_verifies_over_the_message() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = mldsa_daemon(root.path());
    let dir = root.path();
    let raw = dir.join("m.raw");
    w.ok(&[
        "key",
        "public",
        "--slot",
        "m",
        "--format",
        "raw",
        "--out",
        s(&raw),
    ]);
    let public = std::fs::read(&raw).unwrap();
    let pem = dir.join("m.pem");
    let (msg, mu_file, sig) = (dir.join("msg"), dir.join("mu"), dir.join("sig"));
    let message = b"a message the signer never saw, only its mu".to_vec();
    std::fs::write(&msg, &message).unwrap();
    for ctx in [&b""[..], b"with-context"] {
        let mu = mldsa_mu(&public, ctx, &message);
        std::fs::write(&mu_file, &mu).unwrap();
        // μ from a file and from stdin.
        w.ok(&[
            "sign",
            "--slot",
            "m",
            "--external-mu",
            "--in",
            s(&mu_file),
            "--out",
            s(&sig),
        ]);
        let from_stdin = w.expect(
            0,
            &["sign", "--slot", "m", "--external-mu", "--out", "-"],
            &mu,
        );
        let ctx_args: Vec<String> = if ctx.is_empty() {
            Vec::new()
        } else {
            vec!["--context".into(), String::from_utf8(ctx.to_vec()).unwrap()]
        };
        let ctx_args: Vec<&str> = ctx_args.iter().map(String::as_str).collect();
        for signature in [std::fs::read(&sig).unwrap(), from_stdin] {
            std::fs::write(&sig, &signature).unwrap();
            // Over the message itself (μ is computed by the verifier), in the daemon and locally.
            let by_slot = ["verify", "--slot", "m", "--sig", s(&sig), "--in", s(&msg)];
            let by_pubkey = [
                "verify",
                "--pubkey",
                s(&pem),
                "--alg",
                "ML-DSA-65",
                "--sig",
                s(&sig),
                "--in",
                s(&msg),
            ];
            w.ok(&[&by_slot[..], &ctx_args].concat());
            w.ok(&[&by_pubkey[..], &ctx_args].concat());
            // And over μ with --external-mu.
            for who in [
                &["--slot", "m"][..],
                &["--pubkey", s(&pem), "--alg", "ML-DSA-65"],
            ] {
                let args = [
                    &["verify"][..],
                    who,
                    &["--external-mu", "--sig", s(&sig), "--in", s(&mu_file)],
                ];
                w.ok(&args.concat());
            }
            // Another message does not verify.
            let other = dir.join("other");
            std::fs::write(&other, b"a different message").unwrap();
            let out = w.run_with(
                &[
                    &["verify", "--slot", "m", "--sig", s(&sig), "--in", s(&other)][..],
                    &ctx_args,
                ]
                .concat(),
                b"",
            );
            assert_eq!(out.status.code(), Some(1));
        }
        // A μ over another message (or another context) makes a signature that fails here.
        let wrong_mu = mldsa_mu(&public, b"other-context", &message);
        let wrong = w.expect(
            0,
            &["sign", "--slot", "m", "--external-mu", "--out", "-"],
            &wrong_mu,
        );
        std::fs::write(&sig, &wrong).unwrap();
        let out = w.run_with(
            &[
                &["verify", "--slot", "m", "--sig", s(&sig), "--in", s(&msg)][..],
                &ctx_args,
            ]
            .concat(),
            b"",
        );
        assert_eq!(out.status.code(), Some(1));
    }
    // A normal signature verifies as μ too.
    w.ok(&["sign", "--slot", "m", "--in", s(&msg), "--out", s(&sig)]);
    std::fs::write(&mu_file, mldsa_mu(&public, b"", &message)).unwrap();
    w.ok(&[
        "verify",
        "--slot",
        "m",
        "--external-mu",
        "--sig",
        s(&sig),
        "--in",
        s(&mu_file),
    ]);
    // μ is exactly 64 bytes: anything else is a usage error naming the flag (and the length).
    for len in [0usize, 63, 65, 4096] {
        let out = w.run_with(
            &["sign", "--slot", "m", "--external-mu", "--out", "-"],
            &vec![7u8; len],
        );
        assert_eq!(out.status.code(), Some(2), "{len}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--external-mu") || err.contains("larger than"),
            "{len}: {err}"
        );
    }
    // μ already contains the context: both flags together are refused.
    let err = w.fails(
        2,
        &[
            "sign",
            "--slot",
            "m",
            "--external-mu",
            "--context",
            "x",
            "--in",
            s(&mu_file),
        ],
    );
    assert!(err.contains("--context"), "{err}");
}

#[test]
fn option_flags_on_the_wrong_algorithm_are_usage_errors_naming_the_flag() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let w = Warden::at(&d.socket);
    let dir = root.path();
    for (alg, slot) in [
        ("ED25519", "ed"),
        ("ECDSA-P256-SHA256", "ec"),
        ("AES-256", "aes"),
    ] {
        w.ok(&["key", "generate", "--alg", alg, "--slot", slot]);
    }
    w.ok(&[
        "key",
        "generate",
        "--alg",
        "RSA-PSS-SHA256",
        "--slot",
        "pss",
        "--size",
        "2048",
    ]);
    w.ok(&[
        "key",
        "generate",
        "--alg",
        "RSA-OAEP-SHA256",
        "--slot",
        "oaep",
        "--size",
        "2048",
    ]);
    w.ok(&["key", "generate", "--alg", "ML-DSA-44", "--slot", "ml"]);
    w.ok(&[
        "key",
        "public",
        "--slot",
        "ed",
        "--out",
        s(&dir.join("ed.pem")),
    ]);
    let msg = dir.join("msg");
    std::fs::write(&msg, b"m").unwrap();
    std::fs::write(dir.join("sig"), [0u8; 64]).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["sign", "--slot", "ed", "--pss-salt-len", "32"],
            "--pss-salt-len applies to RSA-PSS",
        ),
        (
            &["sign", "--slot", "ml", "--pss-salt-len", "32"],
            "--pss-salt-len applies to RSA-PSS",
        ),
        (
            &["sign", "--slot", "ed", "--context", "x"],
            "--context applies to ML-DSA",
        ),
        (
            &["sign", "--slot", "ec", "--context", "x"],
            "--context applies to ML-DSA",
        ),
        (
            &["sign", "--slot", "pss", "--context", "x"],
            "--context applies to ML-DSA",
        ),
        (
            &["sign", "--slot", "ed", "--external-mu"],
            "--external-mu applies to ML-DSA-44/65/87",
        ),
        (
            &["sign", "--slot", "pss", "--external-mu"],
            "--external-mu applies to ML-DSA-44/65/87",
        ),
        (
            &["sign", "--slot", "ml", "--sig-format", "raw"],
            "--sig-format applies to ECDSA",
        ),
        (
            &["verify", "--slot", "ed", "--sig", "SIG", "--context", "x"],
            "--context applies to ML-DSA",
        ),
        (
            &[
                "verify",
                "--slot",
                "ec",
                "--sig",
                "SIG",
                "--pss-salt-len",
                "0",
            ],
            "--pss-salt-len applies to RSA-PSS",
        ),
        (
            &[
                "verify",
                "--pubkey",
                "PEM",
                "--alg",
                "ED25519",
                "--sig",
                "SIG",
                "--external-mu",
            ],
            "--external-mu applies to ML-DSA-44/65/87",
        ),
        (
            &[
                "verify",
                "--pubkey",
                "PEM",
                "--alg",
                "ED25519",
                "--sig",
                "SIG",
                "--pss-salt-len",
                "1",
            ],
            "--pss-salt-len applies to RSA-PSS",
        ),
        (
            &["encrypt", "--slot", "aes", "--oaep-label", "x"],
            "--oaep-label applies to RSA-OAEP",
        ),
        (
            &["decrypt", "--slot", "aes", "--oaep-label", "hex:00"],
            "--oaep-label applies to RSA-OAEP",
        ),
        (
            &["encrypt", "--slot", "oaep", "--oaep-label", "hex:0"],
            "--oaep-label hex",
        ),
        (
            &["encrypt", "--slot", "oaep", "--oaep-label", "@-"],
            "stdin",
        ),
        (
            &["sign", "--slot", "ml", "--context", "hex:zz"],
            "--context hex",
        ),
    ];
    let (sig, pem) = (dir.join("sig"), dir.join("ed.pem"));
    for (args, want) in cases {
        let args: Vec<&str> = args
            .iter()
            .map(|a| match *a {
                "SIG" => s(&sig),
                "PEM" => s(&pem),
                other => other,
            })
            .chain(["--in", s(&msg)])
            .collect();
        let out = w.run_with(&args, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    // The message names the key's algorithm too.
    let err = w.fails(
        2,
        &["sign", "--slot", "ed", "--context", "x", "--in", s(&msg)],
    );
    assert!(err.contains("not ED25519 (slot ed)"), "{err}");
    // The daemon was never asked for a context, so nothing was signed and no output written.
    let out = dir.join("never");
    w.fails(
        2,
        &[
            "sign",
            "--slot",
            "ed",
            "--external-mu",
            "--in",
            s(&msg),
            "--out",
            s(&out),
        ],
    );
    assert!(!out.exists());
}

#[test]
fn man_pages_and_completions_carry_the_option_flags() {
    let dir = tempfile::tempdir().unwrap();
    let offline = Warden::at(&dir.path().join("none.sock"));
    let man = dir.path().join("man");
    offline.ok(&["generate", "man", "--dir", s(&man)]);
    for (page, flags) in [
        (
            "warden-sign.1",
            &["pss\\-salt\\-len", "context", "external\\-mu"][..],
        ),
        (
            "warden-verify.1",
            &["pss\\-salt\\-len", "context", "external\\-mu"],
        ),
        ("warden-encrypt.1", &["oaep\\-label"]),
        ("warden-decrypt.1", &["oaep\\-label"]),
    ] {
        let text = std::fs::read_to_string(man.join(page)).unwrap();
        for f in flags {
            assert!(text.contains(&format!("\\-\\-{f}")), "{page} lacks --{f}");
        }
    }
    let bash =
        String::from_utf8(offline.expect(0, &["generate", "completions", "bash"], b"")).unwrap();
    for f in [
        "--pss-salt-len",
        "--context",
        "--external-mu",
        "--oaep-label",
    ] {
        assert!(bash.contains(f), "bash completion lacks {f}");
    }
}
