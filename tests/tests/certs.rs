//! Certificates through a real wardend and the `warden` CLI (issue 16): certificate slots and
//! their bindings and grants, CSRs and self-signed certificates signed by slot keys (checked
//! by openssl, and for ML-DSA, which openssl 3.0 lacks, by parsing and verifying here), trust
//! stores, chain verification with EKU / keyUsage / time, CRL import and revocation. The PKI
//! is made by openssl at test time (tests/fixtures/certs/make.sh).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use der::{Decode, Encode};
use warden_client::{
    Algorithm, ErrorCode, GenerateKeyParams, KeyOperationPermission as P, Leaf, VerifyOptions,
};
use warden_e2e::persistent::{Wardend, config, is_root, my_uid, now, shared_root};

const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";

fn code(r: warden_client::Result<impl Sized>) -> ErrorCode {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.code(),
    }
}

fn signing_key(km: &warden_client::KeyManagement, slot: &str, alg: Algorithm) {
    let mut b = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(P::SIGN | P::VERIFY);
    if alg == Algorithm::RsaPssSha256 {
        b = b.rsa_bits(2048);
    }
    km.generate_key_into(slot, &b.build().unwrap()).unwrap();
}

/// Runs the fixture script into `dir` (with a warden CSR to sign, if given).
fn make_pki(dir: &Path, csr: Option<&Path>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/certs/make.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(script).arg(dir);
    if let Some(c) = csr {
        cmd.arg(c);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "make.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap()
}

fn warden_bin() -> PathBuf {
    let wardend = warden_e2e::wardend_path().expect("wardend built");
    wardend.with_file_name("warden")
}

/// `warden --socket … args` as `uid` (None: this process).
fn cli(d: &Wardend, uid: Option<u32>, args: &[&str]) -> Output {
    let mut cmd = Command::new(warden_bin());
    cmd.arg("--socket").arg(&d.socket).args(args);
    if let Some(u) = uid {
        cmd.uid(u).gid(0);
    }
    cmd.output().unwrap()
}

fn cli_ok(d: &Wardend, uid: Option<u32>, args: &[&str]) -> String {
    let out = cli(d, uid, args);
    assert!(
        out.status.success(),
        "warden {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit 3 (daemon error) naming `code` in stderr.
fn cli_fails(d: &Wardend, uid: Option<u32>, args: &[&str], code: &str) {
    let out = cli(d, uid, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "warden {args:?}: {err}");
    assert!(
        err.contains(code),
        "warden {args:?}: expected {code}, got {err}"
    );
}

/// Checks an ML-DSA signature over `tbs` with the raw key in `spki` (as warden's cert does).
fn ml_dsa_verifies(alg: Algorithm, spki: &spki_raw::Spki, tbs: &[u8], sig: &[u8]) -> bool {
    use aws_lc_rs::signature::{ML_DSA_44, ML_DSA_65, ML_DSA_87, UnparsedPublicKey};
    let v = match alg {
        Algorithm::MlDsa44 => &ML_DSA_44,
        Algorithm::MlDsa65 => &ML_DSA_65,
        _ => &ML_DSA_87,
    };
    UnparsedPublicKey::new(v, &spki.raw)
        .verify(tbs, sig)
        .is_ok()
}

mod spki_raw {
    /// The raw public key of a SubjectPublicKeyInfo and its algorithm OID.
    pub struct Spki {
        pub oid: String,
        pub raw: Vec<u8>,
    }

    impl Spki {
        pub fn of(s: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Spki {
            Spki {
                oid: s.algorithm.oid.to_string(),
                raw: s.subject_public_key.raw_bytes().to_vec(),
            }
        }
    }
}

#[test]
fn csrs_and_self_signed_certificates_for_every_signature_family() {
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    let stack = d.stack();
    let km = stack.key_management();
    let dir = root.path().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let algs = [
        (Algorithm::Ed25519, "ed"),
        (Algorithm::EcdsaP256Sha256, "p256"),
        (Algorithm::EcdsaP384Sha384, "p384"),
        (Algorithm::RsaPssSha256, "rsa"),
        (Algorithm::MlDsa44, "mldsa44"),
        (Algorithm::MlDsa65, "mldsa65"),
        (Algorithm::MlDsa87, "mldsa87"),
    ];
    let start = now() as u64 - 60;
    for (alg, slot) in algs {
        signing_key(&km, slot, alg);
        let csr = stack
            .cert_csr(slot, &format!("CN={slot} device,O=Acme"))
            .unwrap();
        let cert = stack
            .cert_self_sign(
                slot,
                &format!("CN={slot} root"),
                start,
                start + 86_400,
                None,
            )
            .unwrap();
        let csr_path = dir.join(format!("{slot}.csr"));
        let cert_path = dir.join(format!("{slot}.crt"));
        std::fs::write(&csr_path, &csr).unwrap();
        std::fs::write(&cert_path, &cert).unwrap();
        // The structures parse, name the subject and carry the slot key.
        let req = x509_cert::request::CertReq::from_der(&csr).unwrap();
        let c = x509_cert::Certificate::from_der(&cert).unwrap();
        assert_eq!(
            req.info.subject.to_string(),
            format!("CN={slot} device,O=Acme")
        );
        assert_eq!(
            c.tbs_certificate().subject().to_string(),
            format!("CN={slot} root")
        );
        let guard = km.resolve(slot).unwrap();
        let slot_spki = km
            .export_public_key(
                guard.id(),
                Some(warden_client::KeyFormat::SubjectPublicKeyInfo),
            )
            .unwrap();
        assert_eq!(req.info.public_key.to_der().unwrap(), slot_spki, "{slot}");
        assert_eq!(
            c.tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .unwrap(),
            slot_spki
        );
        if matches!(
            alg,
            Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87
        ) {
            let want = match alg {
                Algorithm::MlDsa44 => "2.16.840.1.101.3.4.3.17",
                Algorithm::MlDsa65 => "2.16.840.1.101.3.4.3.18",
                _ => "2.16.840.1.101.3.4.3.19",
            };
            assert_eq!(req.algorithm.oid.to_string(), want);
            assert!(
                req.algorithm.parameters.is_none(),
                "RFC 9881: parameters absent"
            );
            assert_eq!(c.signature_algorithm().oid.to_string(), want);
            let spki = spki_raw::Spki::of(&req.info.public_key);
            assert_eq!(spki.oid, want);
            let info = req.info.to_der().unwrap();
            let sig = req.signature.raw_bytes();
            assert!(ml_dsa_verifies(alg, &spki, &info, sig), "{slot} csr");
            let mut bad = info.clone();
            bad[10] ^= 1;
            assert!(
                !ml_dsa_verifies(alg, &spki, &bad, sig),
                "tampered info must fail"
            );
            let tbs = c.tbs_certificate().to_der().unwrap();
            assert!(
                ml_dsa_verifies(alg, &spki, &tbs, c.signature().raw_bytes()),
                "{slot} crt"
            );
            continue;
        }
        let csr_s = csr_path.to_str().unwrap();
        // openssl 3.0 exits 0 either way: the verdict is in its message.
        let said = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();
        let out = openssl(&["req", "-verify", "-noout", "-inform", "DER", "-in", csr_s]);
        assert!(
            said(&out).contains("verify OK"),
            "{slot}: openssl req -verify: {out:?}"
        );
        // A CSR with a flipped signature byte must not verify (the check can fail).
        let mut bad = csr.clone();
        let last = bad.len() - 2;
        bad[last] ^= 0x01;
        let bad_path = dir.join(format!("{slot}.bad.csr"));
        std::fs::write(&bad_path, &bad).unwrap();
        let out = openssl(&[
            "req",
            "-verify",
            "-noout",
            "-inform",
            "DER",
            "-in",
            bad_path.to_str().unwrap(),
        ]);
        assert!(
            said(&out).contains("verify failure") && !said(&out).contains("verify OK"),
            "{slot}: tampered csr verified: {out:?}"
        );
        let pem = dir.join(format!("{slot}.pem"));
        let pem_s = pem.to_str().unwrap();
        let out = openssl(&[
            "x509",
            "-inform",
            "DER",
            "-in",
            cert_path.to_str().unwrap(),
            "-out",
            pem_s,
        ]);
        assert!(out.status.success(), "{slot}: openssl x509: {out:?}");
        let out = openssl(&["verify", "-CAfile", pem_s, pem_s]);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("OK"),
            "{slot}: openssl verify: {out:?}"
        );
    }
    // Signing needs the Sign right; an unknown subject syntax and a non-signing key are typed.
    km.generate_key_into(
        "verify-only",
        &GenerateKeyParams::builder()
            .algorithm(Algorithm::Ed25519)
            .permissions(P::VERIFY)
            .build()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        code(stack.cert_csr("verify-only", "CN=x")),
        ErrorCode::KeyOperationNotPermitted
    );
    assert_eq!(
        code(stack.cert_csr("ed", "not a name")),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        code(stack.cert_csr("nope", "CN=x")),
        ErrorCode::AccessDenied
    );
    // Self-signed with store_as lands in a bound certificate slot.
    let der = stack
        .cert_self_sign(
            "p256",
            "CN=stored",
            0,
            now() as u64 + 3600,
            Some("p256.cert"),
        )
        .unwrap();
    assert_eq!(stack.cert_export("p256.cert").unwrap(), der);
    let list = stack.cert_list().unwrap();
    let e = list.iter().find(|c| c.name == "p256.cert").unwrap();
    assert_eq!(e.key_slot, format!("{}/p256", my_uid()));
    assert_eq!(e.subject, "CN=stored");

    // Deleting the key slot unbinds the certificate: a new key created under the same name
    // is not shown as the certificate's key.
    km.delete_slot("p256").unwrap();
    signing_key(&km, "p256", Algorithm::EcdsaP256Sha256);
    let list = stack.cert_list().unwrap();
    let e = list.iter().find(|c| c.name == "p256.cert").unwrap();
    assert_eq!(e.key_slot, "", "binding outlived its key slot");
}

/// Certificate slots through the CLI: import with a binding that must match the key, show,
/// list, bind, grant/revoke read to another uid, which can neither see nor change what it
/// was not given; quota shared with key slots.
#[test]
fn certificate_slots_bind_only_matching_keys_and_share_like_key_slots() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = Wardend::start(
        root.path(),
        &format!("{}[limits]\nmax_slots_per_uid = 4\n", config(&[])),
    );
    let stack = d.stack();
    let km = stack.key_management();
    signing_key(&km, "dev.key", Algorithm::EcdsaP256Sha256);
    let dir = root.path().join("pki");
    let csr = dir.with_extension("csr");
    std::fs::write(&csr, stack.cert_csr("dev.key", "CN=device 9").unwrap()).unwrap();
    make_pki(&dir, Some(&csr));
    let signed = dir.join("csr-signed.der");
    let signed_s = signed.to_str().unwrap();
    let other = dir.join("leaf.pem");
    let other_s = other.to_str().unwrap();

    // A certificate for another key is refused as a binding; garbage is not a certificate.
    cli_fails(
        &d,
        None,
        &[
            "cert", "import", "--name", "c1", "--in", other_s, "--key", "dev.key",
        ],
        "IncompatibleKeyType",
    );
    let junk = dir.join("junk");
    std::fs::write(&junk, b"not a certificate").unwrap();
    cli_fails(
        &d,
        None,
        &[
            "cert",
            "import",
            "--name",
            "c1",
            "--in",
            junk.to_str().unwrap(),
        ],
        "CertificateParsingFailed",
    );
    cli_ok(
        &d,
        None,
        &[
            "cert", "import", "--name", "dev.cert", "--in", signed_s, "--key", "dev.key",
        ],
    );
    cli_fails(
        &d,
        None,
        &["cert", "import", "--name", "dev.cert", "--in", signed_s],
        "KeySlotOccupied",
    );
    let shown = cli_ok(&d, None, &["cert", "show", "dev.cert"]);
    assert!(shown.starts_with("-----BEGIN CERTIFICATE-----"), "{shown}");
    assert_eq!(
        stack.cert_export("dev.cert").unwrap(),
        read(&dir, "csr-signed.der")
    );
    let listed = cli_ok(&d, None, &["cert", "list"]);
    assert!(
        listed.contains("dev.cert") && listed.contains("CN=device 9"),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("key={}/dev.key", my_uid())),
        "{listed}"
    );
    // Re-binding follows the same rule; unbinding is always allowed.
    cli_ok(
        &d,
        None,
        &["cert", "import", "--name", "other.cert", "--in", other_s],
    );
    cli_fails(
        &d,
        None,
        &["cert", "bind", "other.cert", "--key", "dev.key"],
        "IncompatibleKeyType",
    );
    cli_ok(&d, None, &["cert", "bind", "dev.cert"]);
    assert!(
        stack
            .cert_list()
            .unwrap()
            .iter()
            .all(|c| c.key_slot.is_empty())
    );
    cli_ok(&d, None, &["cert", "bind", "dev.cert", "--key", "dev.key"]);

    // Another uid: nothing visible, nothing changeable, until granted read.
    let me = my_uid().to_string();
    let theirs = format!("{me}/dev.cert");
    let u = Some(4211);
    cli_fails(&d, u, &["cert", "show", &theirs], "AccessDenied");
    cli_fails(
        &d,
        u,
        &["cert", "show", &format!("{me}/no.such")],
        "AccessDenied",
    );
    assert_eq!(
        cli_ok(&d, u, &["cert", "list"]).trim(),
        "no certificate slots"
    );
    cli_fails(
        &d,
        u,
        &["cert", "grant", &theirs, "--uid", "4211"],
        "AccessDenied",
    );
    cli_ok(&d, None, &["cert", "grant", "dev.cert", "--uid", "4211"]);
    assert!(cli_ok(&d, u, &["cert", "show", &theirs]).contains("BEGIN CERTIFICATE"));
    assert!(cli_ok(&d, u, &["cert", "list"]).contains(&theirs));
    // Read is all a grant gives.
    cli_fails(&d, u, &["cert", "delete", &theirs], "AccessDenied");
    cli_fails(&d, u, &["cert", "bind", &theirs], "AccessDenied");
    cli_fails(
        &d,
        u,
        &["cert", "grant", &theirs, "--uid", "4212"],
        "AccessDenied",
    );
    // Nobody creates certificate slots in another's namespace.
    cli_fails(
        &d,
        u,
        &[
            "cert",
            "import",
            "--name",
            &format!("{me}/planted"),
            "--in",
            other_s,
        ],
        "AccessDenied",
    );
    // The grantee cannot bind its own certificate to the owner's key slot it has no right on.
    cli_fails(
        &d,
        u,
        &[
            "cert",
            "import",
            "--name",
            "mine",
            "--in",
            signed_s,
            "--key",
            &format!("{me}/dev.key"),
        ],
        "AccessDenied",
    );
    cli_ok(&d, None, &["cert", "revoke", "dev.cert", "--uid", "4211"]);
    cli_fails(&d, u, &["cert", "show", &theirs], "AccessDenied");

    // Quota 4 covers key and certificate slots together: dev.key, dev.cert, other.cert, +1.
    cli_ok(
        &d,
        None,
        &["cert", "import", "--name", "c3", "--in", other_s],
    );
    cli_fails(
        &d,
        None,
        &["cert", "import", "--name", "c4", "--in", other_s],
        "QuotaExceeded",
    );
    let k = GenerateKeyParams::builder()
        .algorithm(Algorithm::Ed25519)
        .permissions(P::SIGN)
        .build()
        .unwrap();
    assert_eq!(
        code(km.generate_key_into("k2", &k)),
        ErrorCode::QuotaExceeded
    );
    cli_ok(&d, None, &["cert", "delete", "c3"]);
    km.generate_key_into("k2", &k).unwrap();
    cli_fails(&d, None, &["cert", "delete", "c3"], "AccessDenied");
}

/// Chains through a real daemon: per-owner and global stores, intermediates, EKU / keyUsage,
/// validity at a chosen time, bad signatures, CRLs admitted only when their issuer signed
/// them, and revocation.
#[test]
fn chains_verify_against_trust_stores_with_usage_time_and_revocation() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let admin = my_uid();
    let d = Wardend::start(root.path(), &config(&[admin]));
    let stack = d.stack();
    let dir = root.path().join("pki");
    make_pki(&dir, None);
    let der = |n: &str| read(&dir, n);
    let (leaf, inter, rootc) = (der("leaf.der"), der("inter.der"), der("root.der"));
    let client = VerifyOptions {
        eku: Some(CLIENT_AUTH),
        key_usage: 1,
        ..VerifyOptions::default()
    };
    let verify = |store: &str, leaf: &[u8], chain: &[&[u8]], o: &VerifyOptions<'_>| {
        stack.cert_verify(store, Leaf::Der(leaf), chain, o)
    };

    // An empty or unknown store has no anchor.
    assert_eq!(
        code(verify("mine", &leaf, &[&inter], &client)),
        ErrorCode::TrustAnchorNotFound
    );
    stack.trust_store_add("mine", &rootc).unwrap();
    verify("mine", &leaf, &[&inter], &client).unwrap();
    verify("mine", &leaf, &[&inter], &VerifyOptions::default()).unwrap();
    // Without the intermediate there is no path; with the wrong anchor neither.
    assert_eq!(
        code(verify("mine", &leaf, &[], &client)),
        ErrorCode::TrustAnchorNotFound
    );
    // An anchor named like the intermediate's issuer but with another key: the path's
    // signature fails. An unrelated anchor (a warden self-signed root): no path at all.
    stack
        .trust_store_add("strangers", &der("stranger.der"))
        .unwrap();
    assert_eq!(
        code(verify("strangers", &leaf, &[&inter], &client)),
        ErrorCode::CertChainVerifyFailed
    );
    signing_key(
        &stack.key_management(),
        "own.ca",
        Algorithm::EcdsaP256Sha256,
    );
    let own = stack
        .cert_self_sign("own.ca", "CN=unrelated root", 0, now() as u64 + 3600, None)
        .unwrap();
    stack.trust_store_add("unrelated", &own).unwrap();
    assert_eq!(
        code(verify("unrelated", &leaf, &[&inter], &client)),
        ErrorCode::TrustAnchorNotFound
    );
    // A leaf warden's self-signed root issued... is the root itself: a CA is no leaf.
    assert_eq!(
        code(verify("unrelated", &own, &[], &client)),
        ErrorCode::CertChainVerifyFailed
    );
    // Usage: serverAuth-only leaf for clientAuth; a keyUsage bit the leaf lacks.
    assert_eq!(
        code(verify("mine", &der("server.der"), &[&inter], &client)),
        ErrorCode::CertificateVerifyFailed
    );
    // A leaf that lists no key purpose has not the one required (but verifies without it).
    let noeku = der("noeku.der");
    assert_eq!(
        code(verify("mine", &noeku, &[&inter], &client)),
        ErrorCode::CertificateVerifyFailed
    );
    verify("mine", &noeku, &[&inter], &VerifyOptions::default()).unwrap();
    let cert_sign = VerifyOptions {
        key_usage: 32,
        ..VerifyOptions::default()
    };
    assert_eq!(
        code(verify("mine", &leaf, &[&inter], &cert_sign)),
        ErrorCode::CertificateVerifyFailed
    );
    // Validity: ten years of life; a time past the end or before the start is expired.
    let later = VerifyOptions {
        time_unix: now() as u64 + 20 * 365 * 86_400,
        ..client
    };
    assert_eq!(
        code(verify("mine", &leaf, &[&inter], &later)),
        ErrorCode::CertificateExpired
    );
    let earlier = VerifyOptions {
        time_unix: 1_000_000_000,
        ..client
    };
    assert_eq!(
        code(verify("mine", &leaf, &[&inter], &earlier)),
        ErrorCode::CertificateExpired
    );
    // A flipped signature byte breaks the chain; garbage does not parse.
    assert_eq!(
        code(verify("mine", &der("badsig.der"), &[&inter], &client)),
        ErrorCode::CertChainVerifyFailed
    );
    assert_eq!(
        code(verify("mine", b"junk", &[&inter], &client)),
        ErrorCode::CertificateParsingFailed
    );
    // A CA is not a leaf.
    assert_eq!(
        code(verify("mine", &inter, &[], &client)),
        ErrorCode::CertChainVerifyFailed
    );

    // CRLs: the intermediate's CRL needs the intermediate (signed by the anchor) named.
    let revoked = der("revoked.der");
    verify("mine", &revoked, &[&inter], &client).unwrap();
    assert_eq!(
        code(stack.crl_import("mine", &der("inter.crl.der"), None)),
        ErrorCode::CrlImportFailed
    );
    // A same-named CA nobody trusts cannot vouch for a CRL, nor sign one.
    let stranger = der("stranger.der");
    assert_eq!(
        code(stack.crl_import("mine", &der("inter.crl.der"), Some(&stranger))),
        ErrorCode::CrlImportFailed
    );
    assert_eq!(
        code(stack.crl_import("mine", &der("stranger.crl.der"), Some(&inter))),
        ErrorCode::CrlImportFailed
    );
    assert_eq!(
        code(stack.crl_import("mine", &der("inter-badsig.crl.der"), Some(&inter))),
        ErrorCode::CrlImportFailed
    );
    verify("mine", &revoked, &[&inter], &client).unwrap();
    // An old (2020, outdated) CRL is admitted while it is the newest, but vouches for
    // nobody (stale_crls_fail_closed); the current one replaces it and revokes; the old one
    // can then never come back (no un-revoking).
    let old_crl = der("inter-old.crl.der");
    stack.crl_import("mine", &old_crl, Some(&inter)).unwrap();
    assert_eq!(
        code(verify("mine", &revoked, &[&inter], &client)),
        ErrorCode::CertChainVerifyFailed
    );
    stack
        .crl_import("mine", &der("inter.crl.der"), Some(&inter))
        .unwrap();
    assert_eq!(
        code(verify("mine", &revoked, &[&inter], &client)),
        ErrorCode::CertificateRevoked
    );
    assert_eq!(
        code(stack.crl_import("mine", &old_crl, Some(&inter))),
        ErrorCode::CrlImportFailed
    );
    assert_eq!(
        code(verify("mine", &revoked, &[&inter], &client)),
        ErrorCode::CertificateRevoked
    );
    verify("mine", &leaf, &[&inter], &client).unwrap();
    let listed = stack.trust_store_list("mine").unwrap();
    assert_eq!(listed.iter().filter(|e| e.kind == "anchor").count(), 1);
    let crl = listed.iter().find(|e| e.kind == "crl").unwrap();
    assert_eq!(crl.issuer, "CN=warden test intermediate");
    // Removing the CRL un-revokes; removing the store leaves no anchor.
    stack.trust_store_remove("mine", Some(&crl.name)).unwrap();
    verify("mine", &revoked, &[&inter], &client).unwrap();
    stack.trust_store_remove("mine", None).unwrap();
    assert_eq!(
        code(verify("mine", &leaf, &[&inter], &client)),
        ErrorCode::TrustAnchorNotFound
    );

    // A leaf from a certificate slot.
    stack.trust_store_add("mine", &rootc).unwrap();
    stack.cert_import("leaf.cert", &leaf, None).unwrap();
    stack
        .cert_verify("mine", Leaf::Slot("leaf.cert"), &[&inter], &client)
        .unwrap();

    // Through the CLI, as another uid: the global store (admins manage, all verify) and the
    // owner's private store (nobody else's business).
    let leaf_s = dir.join("leaf.pem");
    let inter_s = dir.join("inter.pem");
    let root_s = dir.join("root.pem");
    let (leaf_s, inter_s, root_s) = (
        leaf_s.to_str().unwrap(),
        inter_s.to_str().unwrap(),
        root_s.to_str().unwrap(),
    );
    let u = Some(4213);
    cli_fails(
        &d,
        u,
        &["cert", "store", "add", "--store", "@roots", "--in", root_s],
        "AccessDenied",
    );
    cli_ok(
        &d,
        None,
        &["cert", "store", "add", "--store", "@roots", "--in", root_s],
    );
    let ok = cli_ok(
        &d,
        u,
        &[
            "cert",
            "verify",
            "--store",
            "@roots",
            "--in",
            leaf_s,
            "--chain",
            inter_s,
            "--eku",
            "clientAuth",
        ],
    );
    assert!(ok.contains("verified"), "{ok}");
    cli_fails(
        &d,
        u,
        &[
            "cert",
            "verify",
            "--store",
            "@roots",
            "--in",
            leaf_s,
            "--chain",
            inter_s,
            "--eku",
            "serverAuth",
        ],
        "CertificateVerifyFailed",
    );
    cli_fails(
        &d,
        u,
        &["cert", "store", "remove", "--store", "@roots"],
        "AccessDenied",
    );
    cli_fails(
        &d,
        u,
        &[
            "cert",
            "crl-import",
            "--store",
            "@roots",
            "--in",
            dir.join("inter.crl").to_str().unwrap(),
            "--issuer",
            inter_s,
        ],
        "AccessDenied",
    );
    let mine = format!("{admin}/mine");
    cli_fails(
        &d,
        u,
        &[
            "cert", "verify", "--store", &mine, "--in", leaf_s, "--chain", inter_s,
        ],
        "AccessDenied",
    );
    cli_fails(
        &d,
        u,
        &["cert", "store", "list", "--store", &mine],
        "AccessDenied",
    );
    cli_fails(
        &d,
        u,
        &[
            "cert",
            "store",
            "add",
            "--store",
            &mine,
            "--in",
            dir.join("stranger.pem").to_str().unwrap(),
        ],
        "AccessDenied",
    );
    // The other uid's own store is its own; the owner-less leaf slot stays private.
    cli_ok(
        &d,
        u,
        &["cert", "store", "add", "--store", "own", "--in", root_s],
    );
    cli_ok(
        &d,
        u,
        &[
            "cert", "verify", "--store", "own", "--in", leaf_s, "--chain", inter_s,
        ],
    );
    cli_fails(
        &d,
        u,
        &[
            "cert",
            "verify",
            "--store",
            "own",
            "--slot",
            &format!("{admin}/leaf.cert"),
            "--chain",
            inter_s,
        ],
        "AccessDenied",
    );
    let listed = cli_ok(&d, u, &["cert", "store", "list", "--store", "@roots"]);
    assert!(
        listed.contains("anchor") && listed.contains("CN=warden test root"),
        "{listed}"
    );
}

/// Issue 16: a CRL past its nextUpdate is no evidence that a certificate is not revoked. A
/// path whose revocation status rests on a stale CRL is refused (`CertChainVerifyFailed`),
/// whether the CRL was stale at import (inter-old.crl, 2020) or went
/// stale later (inter.crl, 30 days, checked at a time 40 days on); a fresh CRL still gives
/// good and revoked answers; removing the stale CRL returns the issuer to "no CRL".
#[test]
fn stale_crls_fail_closed() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[my_uid()]));
    let stack = d.stack();
    let dir = root.path().join("pki");
    make_pki(&dir, None);
    let der = |n: &str| read(&dir, n);
    let (leaf, inter, revoked) = (der("leaf.der"), der("inter.der"), der("revoked.der"));
    stack.trust_store_add("s", &der("root.der")).unwrap();
    let at = |time_unix: u64| VerifyOptions {
        eku: Some(CLIENT_AUTH),
        time_unix,
        ..VerifyOptions::default()
    };
    let verify = |c: &[u8], o: &VerifyOptions<'_>| {
        stack.cert_verify("s", Leaf::Der(c), &[inter.as_slice()], o)
    };
    let stale = |r: warden_client::Result<()>| match r {
        Err(e) => assert_eq!(e.code(), ErrorCode::CertChainVerifyFailed, "{e}"),
        other => panic!("a stale crl must fail the path: {other:?}"),
    };

    // Stale at import: admitted, but neither the good nor the listed leaf verifies on it.
    stack
        .crl_import("s", &der("inter-old.crl.der"), Some(&inter))
        .unwrap();
    stale(verify(&leaf, &at(0)));
    stale(verify(&revoked, &at(0)));

    // Fresh: the good leaf verifies, the listed one is revoked; at a time past its
    // nextUpdate (30 days) the same CRL fails both, even the one it lists.
    stack
        .crl_import("s", &der("inter.crl.der"), Some(&inter))
        .unwrap();
    verify(&leaf, &at(0)).unwrap();
    assert_eq!(
        code(verify(&revoked, &at(0))),
        ErrorCode::CertificateRevoked
    );
    let later = now() as u64 + 40 * 86_400;
    stale(verify(&leaf, &at(later)));
    stale(verify(&revoked, &at(later)));

    // The root's certificates have no CRL: an issuer without one is still no error.
    let listed = stack.trust_store_list("s").unwrap();
    let crl = listed.iter().find(|e| e.kind == "crl").unwrap();
    stack.trust_store_remove("s", Some(&crl.name)).unwrap();
    verify(&leaf, &at(later)).unwrap();
}

/// A uid's trust stores hold at most 256 entries together (durable growth is bounded per
/// uid); re-adding a present anchor is free, and removing makes room again.
#[test]
fn trust_store_entries_are_bounded_per_uid() {
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    let stack = d.stack();
    signing_key(&stack.key_management(), "ca", Algorithm::Ed25519);
    let until = now() as u64 + 3600;
    let anchor = |i: usize| {
        stack
            .cert_self_sign("ca", &format!("CN=anchor {i}"), 0, until, None)
            .unwrap()
    };
    let first = anchor(0);
    for i in 0..256 {
        let der = if i == 0 { first.clone() } else { anchor(i) };
        let store = if i % 2 == 0 { "even" } else { "odd" };
        stack.trust_store_add(store, &der).unwrap();
    }
    let extra = anchor(256);
    assert_eq!(
        code(stack.trust_store_add("third", &extra)),
        ErrorCode::QuotaExceeded
    );
    assert_eq!(
        code(stack.trust_store_add("even", &extra)),
        ErrorCode::QuotaExceeded
    );
    stack.trust_store_add("even", &first).unwrap();
    assert_eq!(stack.trust_store_list("even").unwrap().len(), 128);
    stack.trust_store_remove("odd", None).unwrap();
    stack.trust_store_add("third", &extra).unwrap();
}
