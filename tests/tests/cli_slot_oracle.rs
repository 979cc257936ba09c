//! Red-team pass 4: the CLI's advice on `AccessDenied` (it asks the daemon for `slot_info`
//! to word the message) must not tell a stranger whether another owner's slot exists: every
//! command that names a slot prints the same words and exits alike for an existing slot and
//! a missing one, unlocked and locked.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::os::unix::fs::PermissionsExt;
use warden_e2e::cli::Warden;
use warden_e2e::persistent::{Wardend, config, is_root, my_uid, shared_root};

#[test]
fn a_strangers_errors_are_the_same_for_existing_and_missing_slots() {
    if !is_root() {
        eprintln!("skipped: needs root to run the CLI as another uid");
        return;
    }
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    let owner = Warden::at(&d.socket);
    for (alg, slot) in [
        ("ED25519", "ed"),
        ("AES-256", "aes"),
        ("HMAC", "hm"),
        ("X25519", "xx"),
        ("ML-KEM-768", "kem"),
        ("GENERIC-SECRET", "gs"),
    ] {
        owner.ok(&["key", "generate", "--alg", alg, "--slot", slot]);
    }
    let files = tempfile::tempdir().unwrap();
    std::fs::set_permissions(files.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let f = |name: &str, bytes: &[u8]| {
        let p = files.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let input = f("in", b"hello world");
    let sig = f("sig", &[0u8; 64]);
    let peer = owner.ok(&["key", "public", "--slot", "xx", "--format", "pem"]);
    let peer = f("peer", peer.as_bytes());
    let ct = f("ct", &[0u8; 1088]);
    let out = files.path().join("out").to_str().unwrap().to_owned();
    let stranger = owner.as_uid(4400, 0);
    let me = my_uid();
    let cmds: Vec<(&str, Vec<String>)> = vec![
        (
            "ed",
            vec!["sign".into(), "--in".into(), input.clone(), "--hex".into()],
        ),
        (
            "ed",
            vec![
                "verify".into(),
                "--in".into(),
                input.clone(),
                "--sig".into(),
                sig.clone(),
            ],
        ),
        (
            "aes",
            vec![
                "encrypt".into(),
                "--in".into(),
                input.clone(),
                "--hex".into(),
            ],
        ),
        (
            "aes",
            vec![
                "decrypt".into(),
                "--in".into(),
                input.clone(),
                "--hex".into(),
            ],
        ),
        ("ed", vec!["key".into(), "public".into(), "--hex".into()]),
        ("aes", vec!["key".into(), "export".into(), "--hex".into()]),
        ("aes", vec!["key".into(), "delete".into()]),
        ("aes", vec!["key".into(), "lock".into()]),
        ("aes", vec!["key".into(), "unlock".into()]),
        (
            "aes",
            vec![
                "key".into(),
                "grant".into(),
                "--uid".into(),
                "4401".into(),
                "--permissions".into(),
                "encrypt".into(),
            ],
        ),
        (
            "aes",
            vec!["key".into(), "revoke".into(), "--uid".into(), "4401".into()],
        ),
        (
            "hm",
            vec!["mac".into(), "--in".into(), input.clone(), "--hex".into()],
        ),
        (
            "xx",
            vec![
                "agree".into(),
                "--peer".into(),
                peer.clone(),
                "--to-slot".into(),
                "new1".into(),
            ],
        ),
        (
            "kem",
            vec![
                "kem".into(),
                "encap".into(),
                "--out-ct".into(),
                out.clone(),
                "--to-slot".into(),
                "new2".into(),
            ],
        ),
        (
            "kem",
            vec![
                "kem".into(),
                "decap".into(),
                "--ct".into(),
                ct.clone(),
                "--to-slot".into(),
                "new3".into(),
            ],
        ),
        (
            "gs",
            vec![
                "derive".into(),
                "--kdf".into(),
                "HKDF-SHA256".into(),
                "--to-slot".into(),
                "new4".into(),
                "--alg".into(),
                "AES-256".into(),
            ],
        ),
    ];
    for locked in [false, true] {
        if locked {
            for sl in ["ed", "aes", "hm", "xx", "kem", "gs"] {
                owner.ok(&["key", "lock", "--slot", sl]);
            }
        }
        for (slot, args) in cmds.clone() {
            let mut res = Vec::new();
            for name in [slot, "absent"] {
                let full = format!("{me}/{name}");
                let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
                a.insert(if a[0] == "key" || a[0] == "kem" { 2 } else { 1 }, "--slot");
                a.insert(if a[0] == "key" || a[0] == "kem" { 3 } else { 2 }, &full);
                let o = stranger.run_with(&a, b"");
                let e = String::from_utf8_lossy(&o.stderr).replace(&full, "SLOT");
                res.push((o.status.code(), e));
            }
            let same = res[0] == res[1];
            println!(
                "{} {:?} same={same}\n  existing: {:?}\n  absent:   {:?}",
                slot,
                args[..2].to_vec(),
                res[0],
                res[1]
            );
        }
    }
}
