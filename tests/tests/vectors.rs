//! Published test vectors through a real `wardend` (issue 15): every case goes from the client
//! library over the socket to the daemon's provider, so wire encoding, option plumbing and the
//! provider are all under test. Vector files live in `tests/vectors/` (subsets of C2SP
//! Wycheproof and RFC vectors; each file names its source).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use warden_client::*;
use warden_e2e::Daemon;

fn vectors(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn h(v: &Value, field: &str) -> Vec<u8> {
    unhex(v[field].as_str().unwrap_or_else(|| panic!("no {field}")))
}

fn import(
    stack: &CryptoStack,
    alg: Algorithm,
    perms: KeyOperationPermission,
    format: KeyFormat,
    bytes: &[u8],
) -> ResourceGuard {
    let p = ImportKeyParams::builder()
        .algorithm(alg)
        .permissions(perms)
        .format(format)
        .build()
        .unwrap();
    stack.key_management().import_key(&p, bytes).unwrap()
}

fn sig_cfg(alg: Algorithm, key: &ResourceGuard, format: SignatureFormat) -> ContextConfig {
    ContextConfig::builder()
        .algorithm(alg)
        .key(key.id())
        .signature_format(format)
        .build()
        .unwrap()
}

#[test]
fn ecdsa_der_signatures_match_wycheproof() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let file = vectors("ecdsa_der_wycheproof.json");
    let mut checked = (0, 0);
    for alg in [Algorithm::EcdsaP256Sha256, Algorithm::EcdsaP384Sha384] {
        for group in file[alg.name()].as_array().unwrap() {
            let key = import(
                &stack,
                alg,
                KeyOperationPermission::VERIFY,
                KeyFormat::Raw,
                &h(group, "publicKey"),
            );
            let mut ctx = stack
                .create_verify_context(&sig_cfg(alg, &key, SignatureFormat::Der))
                .unwrap();
            for case in group["tests"].as_array().unwrap() {
                let (msg, sig) = (h(case, "msg"), h(case, "sig"));
                let got = ctx.verify(&msg, &sig);
                let tc = case["tcId"].as_u64().unwrap();
                match case["result"].as_str().unwrap() {
                    "valid" => {
                        got.unwrap_or_else(|e| {
                            panic!("{alg} tc {tc}: valid signature refused: {e}")
                        });
                        checked.0 += 1;
                    }
                    _ => {
                        let e = got.expect_err(&format!(
                            "{alg} tc {tc} {:?}: invalid signature accepted",
                            case["flags"]
                        ));
                        assert!(
                            matches!(
                                e.code(),
                                ErrorCode::OperationFailed | ErrorCode::InvalidFormat
                            ),
                            "{alg} tc {tc}: {e}"
                        );
                        checked.1 += 1;
                    }
                }
                ctx.reset().unwrap();
            }
        }
    }
    assert!(checked.0 > 100 && checked.1 > 500, "{checked:?}");
}

#[test]
fn ecdsa_der_and_raw_are_two_encodings_of_one_signature() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    for (alg, raw_len, der_max) in [
        (Algorithm::EcdsaP256Sha256, 64, 72),
        (Algorithm::EcdsaP384Sha384, 96, 104),
    ] {
        let p = GenerateKeyParams::builder()
            .algorithm(alg)
            .permissions(KeyOperationPermission::SIGN | KeyOperationPermission::VERIFY)
            .build()
            .unwrap();
        let key = stack.key_management().generate_key(&p).unwrap();
        let msg = b"issue 15: DER beside r||s";
        let der = stack
            .create_sign_context(&sig_cfg(alg, &key, SignatureFormat::Der))
            .unwrap()
            .sign(msg)
            .unwrap();
        let raw = stack
            .create_sign_context(&sig_cfg(alg, &key, SignatureFormat::Raw))
            .unwrap()
            .sign(msg)
            .unwrap();
        assert_eq!(raw.len(), raw_len);
        assert!(
            der.len() <= der_max && der.first() == Some(&0x30),
            "{alg}: {der:02x?}"
        );
        let mut der_verify = stack
            .create_verify_context(&sig_cfg(alg, &key, SignatureFormat::Der))
            .unwrap();
        let mut raw_verify = stack
            .create_verify_context(&sig_cfg(alg, &key, SignatureFormat::Raw))
            .unwrap();
        der_verify.verify(msg, &der).unwrap();
        der_verify.reset().unwrap();
        raw_verify.verify(msg, &raw).unwrap();
        raw_verify.reset().unwrap();
        // Each context takes only its own encoding.
        assert!(der_verify.verify(msg, &raw).is_err());
        assert!(raw_verify.verify(msg, &der).is_err());
        der_verify.reset().unwrap();
        assert!(der_verify.verify(b"another message", &der).is_err());
    }
    // DER is an ECDSA option: an Ed25519 context asking for it is refused before sending.
    let err = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(ResourceId::new(
            1,
            ResourceType::Key,
            Persistence::Ephemeral,
            0,
        ))
        .signature_format(SignatureFormat::Der)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
}
