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
    Algorithm, CryptoStack, ErrorCode, GenerateKeyParams, KeyOperationPermission as P, Leaf,
    VerifyOptions,
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
}
