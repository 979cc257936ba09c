//! Errors that say what to do: the real `warden` against a real `wardend`, asserting the
//! advice text (issue 15), and the daemon's typed error for revoking a grant that is not there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_client::ErrorCode;
use warden_e2e::cli::Warden;
use warden_e2e::persistent::{Wardend, config, my_uid};

/// A daemon where nobody is an admin, and a `warden` pointed at it.
fn daemon(root: &std::path::Path) -> (Wardend, Warden) {
    let d = Wardend::start(root, &config(&[]));
    let w = Warden::at(&d.socket);
    (d, w)
}

/// The error's name appears exactly once on stderr (it used to be printed twice).
fn once(stderr: &str, name: &str) {
    assert_eq!(
        stderr.matches(name).count(),
        1,
        "{name} not once in: {stderr}"
    );
}

#[test]
fn a_locked_slot_says_so_and_names_key_unlock() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    w.ok(&["key", "generate", "--alg", "ED25519", "--slot", "signer"]);
    w.ok(&["key", "lock", "--slot", "signer"]);
    let err = w.fails(3, &["sign", "--slot", "signer", "--hex"]);
    assert!(err.contains("slot signer is locked"), "{err}");
    assert!(err.contains("`warden key unlock --slot signer`"), "{err}");
    once(&err, "KeyOperationNotPermitted");
    let err = w.fails(
        3,
        &[
            "key",
            "grant",
            "--slot",
            "signer",
            "--uid",
            "4201",
            "--permissions",
            "verify",
        ],
    );
    assert!(
        err.contains("is locked") && err.contains("key unlock"),
        "{err}"
    );
    once(&err, "AccessDenied");
    // Unlocked, the same command works, and a plain permission failure is not called a lock.
    w.ok(&["key", "unlock", "--slot", "signer"]);
    w.expect(0, &["sign", "--slot", "signer", "--hex"], b"");
    w.ok(&["key", "generate", "--alg", "AES-256", "--slot", "aes"]);
    let err = w.fails(3, &["mac", "--slot", "aes"]);
    assert!(!err.contains("locked"), "{err}");
}

#[test]
fn admin_only_commands_name_access_admin_uids() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    for args in [
        &["trust", "remove", "--issuer", "x"][..],
        &["policy", "unload", "--action", "deploy"],
        &["receipt", "export", "--out", "/dev/null"],
    ] {
        let err = w.fails(3, args);
        assert!(err.contains("`[access] admin_uids`"), "{args:?}: {err}");
        assert!(err.contains(&format!("uid {}", my_uid())), "{err}");
        once(&err, "AccessDenied");
    }
}

#[test]
fn rsa_size_and_slot_names_are_checked_before_sending() {
    // No daemon at all: these must fail as usage errors (exit 2) without connecting.
    let dir = tempfile::tempdir().unwrap();
    let w = Warden::at(&dir.path().join("nobody.sock"));
    let err = w.fails(
        2,
        &["key", "generate", "--alg", "RSA-PSS-SHA256", "--slot", "r"],
    );
    assert!(err.contains("--size 2048, 3072 or 4096"), "{err}");
    assert!(!err.contains("rsa_bits"), "{err}");
    let err = w.fails(
        2,
        &[
            "key",
            "generate",
            "--alg",
            "RSA-PSS-SHA256",
            "--slot",
            "r",
            "--size",
            "1000",
        ],
    );
    assert!(err.contains("--size") && !err.contains("rsa_bits"), "{err}");
    for bad in ["bad!", "a b", "01/k", "/k", &"x".repeat(65)] {
        let err = w.fails(2, &["key", "generate", "--alg", "ED25519", "--slot", bad]);
        assert!(
            err.contains("slot name") || err.contains("uid"),
            "{bad}: {err}"
        );
        assert!(!err.contains("connect"), "{err}");
    }
    let err = w.fails(2, &["sign", "--slot", "what?"]);
    assert!(err.contains("'?' is not allowed in a slot name"), "{err}");
    // An operation's name where a key type belongs names the key type to use.
    for (op, key) in [
        ("AES-256-GCM", "--alg AES-256 "),
        ("hmac-sha256", "--alg HMAC "),
        ("HASH-ML-DSA-65-SHA512", "--alg ML-DSA-65 "),
    ] {
        for cmd in [
            &["key", "generate", "--alg", op, "--slot", "k"][..],
            &[
                "key",
                "import",
                "--alg",
                op,
                "--slot",
                "k",
                "--in",
                "/dev/null",
            ],
        ] {
            let err = w.fails(2, cmd);
            assert!(
                err.contains("is an operation, not a key type") && err.contains(key),
                "{err}"
            );
            assert!(!err.contains("connect"), "{err}");
        }
    }
    let err = w.fails(2, &["key", "generate", "--alg", "SHA-256", "--slot", "k"]);
    assert!(
        err.contains("SHA-256 is an operation that uses no key"),
        "{err}"
    );
}

/// The daemon answers `AccessDenied` alike for a slot that does not exist and one the caller
/// may not see; the CLI says which names it could mean, and never more than the caller's own
/// listing shows.
#[test]
fn a_slot_the_caller_cannot_use_is_explained_without_telling_whether_it_exists() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    let err = w.fails(3, &["sign", "--slot", "nosuch", "--hex"]);
    assert!(err.contains("you have no slot named nosuch"), "{err}");
    assert!(err.contains("`warden key list`"), "{err}");
    once(&err, "AccessDenied");
    // A key of the wrong kind is named as such, in the words of the command that was run.
    w.ok(&["key", "generate", "--alg", "AES-256", "--slot", "aes"]);
    w.ok(&["key", "generate", "--alg", "ED25519", "--slot", "ed"]);
    let sig = root.path().join("sig");
    std::fs::write(&sig, [0u8; 64]).unwrap();
    let err = w.fails(
        2,
        &["verify", "--slot", "aes", "--sig", sig.to_str().unwrap()],
    );
    assert!(
        err.contains("slot aes holds a key of type AES-256, not a signature key"),
        "{err}"
    );
    let err = w.fails(2, &["decrypt", "--slot", "ed", "--hex"]);
    assert!(err.contains("ED25519; decrypt needs an AES"), "{err}");
    let err = w.fails(3, &["key", "public", "--slot", "4242/gone"]);
    assert!(
        err.contains("slot 4242/gone does not exist, or its owner granted you nothing"),
        "{err}"
    );
    if !warden_e2e::persistent::is_root() {
        return;
    }
    // A stranger gets the same words for another owner's slot that exists and one that
    // does not (only the name differs).
    let root = warden_e2e::persistent::shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    let owner = Warden::at(&d.socket);
    owner.ok(&["key", "generate", "--alg", "ED25519", "--slot", "kept"]);
    let stranger = owner.as_uid(4211, 0);
    let said = |name: &str| {
        let slot = format!("{}/{name}", my_uid());
        let err = stranger.fails(3, &["sign", "--slot", &slot, "--hex"]);
        assert!(
            err.contains("does not exist, or its owner granted you nothing"),
            "{err}"
        );
        err.replace(&slot, "SLOT")
    };
    assert_eq!(said("kept"), said("absent"));
}

#[test]
fn unsupported_export_formats_name_the_one_that_works() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    w.ok(&["key", "generate", "--alg", "X-WING", "--slot", "kem"]);
    let err = w.fails(
        3,
        &["key", "public", "--slot", "kem", "--format", "der", "--hex"],
    );
    assert!(err.contains("use --format raw"), "{err}");
    w.expect(
        0,
        &["key", "public", "--slot", "kem", "--format", "raw", "--hex"],
        b"",
    );
    // A secret key has no public part: the advice names the command for secrets.
    w.ok(&["key", "generate", "--alg", "AES-256", "--slot", "aes"]);
    let err = w.fails(
        3,
        &["key", "public", "--slot", "aes", "--format", "raw", "--hex"],
    );
    assert!(
        err.contains("no public part") && err.contains("`warden key export --slot aes`"),
        "{err}"
    );
}

#[test]
fn connection_failures_ask_and_say_how_the_path_was_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("gone.sock");
    let w = Warden::at(&missing);
    let err = w.fails(3, &["ping"]);
    assert!(err.contains("is wardend running?"), "{err}");
    assert!(err.contains("given by --socket"), "{err}");
    assert!(err.contains(missing.to_str().unwrap()), "{err}");
    once(&err, "ConnectionFailed");

    let mut env = Warden::at(&missing);
    env.socket = None;
    env.env = vec![("WARDEN_SOCKET".into(), missing.to_str().unwrap().into())];
    let err = env.fails(3, &["ping"]);
    assert!(
        err.contains("taken from $WARDEN_SOCKET") && err.contains("is wardend running?"),
        "{err}"
    );

    // The default path: per-user under $XDG_RUNTIME_DIR for a non-root uid, /run for root.
    let mut dflt = Warden::at(&missing);
    dflt.socket = None;
    dflt.env = vec![(
        "XDG_RUNTIME_DIR".into(),
        dir.path().to_str().unwrap().into(),
    )];
    let err = dflt.fails(3, &["ping"]);
    assert!(
        err.contains(&format!("the default for uid {}", my_uid())),
        "{err}"
    );
    assert!(err.contains("--socket PATH or $WARDEN_SOCKET"), "{err}");
}

#[test]
fn revoking_a_grant_that_does_not_exist_is_a_typed_error() {
    let root = tempfile::tempdir().unwrap();
    let (d, w) = daemon(root.path());
    w.ok(&["key", "generate", "--alg", "ED25519", "--slot", "shared"]);
    // Daemon side, through the client API: ResourceNotFound, and nothing else changes.
    let km = d.stack().key_management();
    let e = km.revoke("shared", 4207).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceNotFound, "{e}");
    km.grant(
        "shared",
        4207,
        warden_client::KeyOperationPermission::VERIFY,
    )
    .unwrap();
    km.revoke("shared", 4207).unwrap();
    assert_eq!(
        km.revoke("shared", 4207).unwrap_err().code(),
        ErrorCode::ResourceNotFound
    );
    assert!(km.slot_info("shared").unwrap().grants.is_empty());
    // CLI side: exit 3 with the advice.
    let err = w.fails(3, &["key", "revoke", "--slot", "shared", "--uid", "4207"]);
    assert!(
        err.contains("uid 4207 holds no grant on slot shared"),
        "{err}"
    );
    once(&err, "ResourceNotFound");
}

#[test]
fn another_uid_learns_nothing_about_grants_from_revoke() {
    // The new ResourceNotFound must not tell a stranger whether a grant exists: only a
    // caller with the grant right reaches that check; everyone else gets AccessDenied for a
    // granted uid, an ungranted uid and a missing slot alike.
    if !warden_e2e::persistent::is_root() {
        return;
    }
    let root = warden_e2e::persistent::shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    let owner = Warden::at(&d.socket);
    owner.ok(&["key", "generate", "--alg", "ED25519", "--slot", "shared"]);
    owner.ok(&[
        "key",
        "grant",
        "--slot",
        "shared",
        "--uid",
        "4208",
        "--permissions",
        "verify",
    ]);
    let stranger = owner.as_uid(4209, 0);
    let slot = format!("{}/shared", my_uid());
    let missing = format!("{}/missing", my_uid());
    for (slot, uid) in [(&slot, "4208"), (&slot, "4207"), (&missing, "4208")] {
        let err = stranger.fails(3, &["key", "revoke", "--slot", slot, "--uid", uid]);
        assert!(
            err.contains("AccessDenied") && !err.contains("ResourceNotFound"),
            "{err}"
        );
    }
    // Not even the grantee itself may revoke (it holds no grant right); its grant stays.
    let grantee = owner.as_uid(4208, 0);
    grantee.fails(3, &["key", "revoke", "--slot", &slot, "--uid", "4208"]);
    let grants = d
        .stack()
        .key_management()
        .slot_info("shared")
        .unwrap()
        .grants;
    assert_eq!(grants.len(), 1);
}

#[test]
fn quota_advice_points_only_at_commands_that_exist() {
    let root = tempfile::tempdir().unwrap();
    let (_d, w) = daemon(root.path());
    w.ok(&["key", "generate", "--alg", "ED25519", "--slot", "ed"]);
    w.ok(&["key", "generate", "--alg", "AES-256", "--slot", "aes"]);
    let big = vec![0u8; 100_000];
    for (args, hint) in [
        (&["sign", "--slot", "ed", "--hex"][..], "ECDSA-P256-SHA256"),
        (
            &["encrypt", "--slot", "aes", "--hex"],
            "pass it as a file (--in FILE)",
        ),
    ] {
        let out = w.run_with(args, &big);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("QuotaExceeded") && err.contains(hint), "{err}");
        // Every `warden …` command the advice names exists (its --help succeeds).
        for quoted in err.split('`').skip(1).step_by(2) {
            let words: Vec<&str> = quoted.split_whitespace().collect();
            assert_eq!(words.first(), Some(&"warden"), "{quoted}");
            let cmd: Vec<&str> = words[1..]
                .iter()
                .copied()
                .take_while(|w| !w.starts_with('-'))
                .collect();
            w.expect(0, &[cmd.as_slice(), &["--help"]].concat(), b"");
        }
        assert!(
            !err.contains("AES-CTR"),
            "no CLI command streams AES-CTR: {err}"
        );
    }
}
