//! The PKCS#11 provider through a real `wardend`, against a SoftHSMv2 token the test
//! initialises in a temporary directory (issue 14): keys generated and used inside the token,
//! never exportable (OpenSC's `pkcs11-tool` shows them sensitive and never extractable),
//! surviving a restart, and a token that vanishes giving typed errors while software keys go
//! on working. Skips, saying why, only when SoftHSMv2 is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_client::*;
use warden_e2e::persistent::{Wardend, config};
use warden_e2e::softhsm::SoftHsm;

type P = KeyOperationPermission;

fn start(hsm: &SoftHsm, root: &std::path::Path) -> Wardend {
    let toml = format!("{}{}", config(&[]), hsm.provider_toml("hsm"));
    Wardend::try_start_env(root, &toml, &root.join("wardend.sock"), None, &hsm.env())
        .unwrap_or_else(|e| panic!("wardend did not start: {e}"))
}

fn params(alg: Algorithm, perms: P) -> GenerateKeyParams {
    GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(perms)
        .build()
        .unwrap()
}

fn ctx(alg: Algorithm, key: ResourceId, dir: Option<CipherDirection>) -> ContextConfig {
    let mut b = ContextConfig::builder().algorithm(alg).key(key);
    if let Some(d) = dir {
        b = b.direction(d);
    }
    b.build().unwrap()
}

fn sign(stack: &CryptoStack, alg: Algorithm, key: ResourceId, msg: &[u8]) -> Result<Vec<u8>> {
    let mut c = stack.create_sign_context(&ctx(alg, key, None))?;
    c.init()?;
    c.finalize_with(msg)
}

fn verify(
    stack: &CryptoStack,
    alg: Algorithm,
    key: ResourceId,
    msg: &[u8],
    sig: &[u8],
) -> Result<()> {
    let mut c = stack.create_verify_context(&ctx(alg, key, None))?;
    c.init()?;
    c.update(msg)?;
    c.finalize(sig)
}

/// Verifies `sig` in this process with aws-lc, from the raw public key the daemon exported:
/// the token made a real signature of the right algorithm.
fn verify_in_software(raw_public: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use warden_provider_awslc::primitives::{SignatureAlgorithm, verify};
    verify(SignatureAlgorithm::EcdsaP256Sha256, raw_public, msg, sig)
}

#[test]
fn token_keys_sign_encrypt_and_mac_inside_the_token_and_never_leave_it() {
    let Some(hsm) = SoftHsm::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();

    // `warden providers`: the default software provider first, then the token, with the
    // capabilities its mechanism list allows.
    let providers = stack.status().unwrap().providers;
    assert_eq!(providers[0].name, "aws-lc-rs");
    assert!(!providers[0].hardware);
    let token = providers
        .iter()
        .find(|p| p.name == "hsm")
        .expect("hsm listed");
    assert!(token.hardware);
    let ops = |alg: &str| {
        token
            .capabilities
            .iter()
            .find(|(a, _)| a == alg)
            .map_or(0, |(_, b)| *b)
    };
    assert_eq!(
        ops("ECDSA-P256-SHA256") & 0x1030,
        0x1030,
        "generate, sign, verify"
    );
    assert_eq!(ops("AES-256-GCM") & 0xC, 0xC, "encrypt, decrypt");
    assert_eq!(ops("HMAC-SHA256") & 0x2, 0x2, "mac");
    assert_eq!(ops("ML-KEM-768"), 0, "not offered by the token");

    let km = stack.key_management();
    // ECDSA in the token: sign there, verify there and in software.
    km.generate_key_into_with(
        "hsm-ec",
        &params(Algorithm::EcdsaP256Sha256, P::SIGN | P::VERIFY),
        Some("hsm"),
    )
    .unwrap();
    let ec = km.resolve("hsm-ec").unwrap();
    let msg = b"signed inside the token";
    let sig = sign(&stack, Algorithm::EcdsaP256Sha256, ec.id(), msg).unwrap();
    assert_eq!(sig.len(), 64);
    verify(&stack, Algorithm::EcdsaP256Sha256, ec.id(), msg, &sig).unwrap();
    assert_eq!(
        verify(&stack, Algorithm::EcdsaP256Sha256, ec.id(), b"other", &sig)
            .unwrap_err()
            .code(),
        ErrorCode::OperationFailed
    );
    let raw = km.export_public_key(ec.id(), Some(KeyFormat::Raw)).unwrap();
    assert_eq!(raw.len(), 65, "SEC1 uncompressed point");
    assert!(verify_in_software(&raw, msg, &sig));
    assert!(!verify_in_software(&raw, b"other", &sig));
    let spki = km
        .export_public_key(ec.id(), Some(KeyFormat::SubjectPublicKeyInfo))
        .unwrap();
    assert!(spki.ends_with(&raw), "SPKI wraps the same point");

    // Ed25519 where the token has EdDSA (SoftHSM built with it does): pure EdDSA in the
    // token, checked in software.
    if ops("ED25519") & 0x10 != 0 {
        let ed = km
            .generate_key_with(
                &params(Algorithm::Ed25519, P::SIGN | P::VERIFY),
                Some("hsm"),
            )
            .unwrap();
        let sig = sign(&stack, Algorithm::Ed25519, ed.id(), msg).unwrap();
        let raw = km.export_public_key(ed.id(), Some(KeyFormat::Raw)).unwrap();
        use warden_provider_awslc::primitives::{SignatureAlgorithm, verify as sw_verify};
        assert!(sw_verify(SignatureAlgorithm::Ed25519, &raw, msg, &sig));
        assert!(!sw_verify(
            SignatureAlgorithm::Ed25519,
            &raw,
            b"other",
            &sig
        ));
        verify(&stack, Algorithm::Ed25519, ed.id(), msg, &sig).unwrap();
    } else {
        println!("NOTE: this token has no EdDSA; Ed25519 not checked");
    }

    // The secret never leaves: not by export, and an exportable token key pair is refused
    // (an exportable secret key is only wrappable, never exported in clear: pkcs11_exchange.rs).
    assert_eq!(
        km.export_secret_key(ec.id()).unwrap_err().code(),
        ErrorCode::KeyNotExportable
    );
    let exportable = GenerateKeyParams::builder()
        .algorithm(Algorithm::EcdsaP256Sha256)
        .permissions(P::SIGN | P::EXPORT)
        .exportable(true)
        .build()
        .unwrap();
    assert_eq!(
        km.generate_key_with(&exportable, Some("hsm"))
            .unwrap_err()
            .code(),
        ErrorCode::KeyNotExportable
    );
    // An algorithm the token lacks, and a provider that does not exist: typed refusals.
    assert_eq!(
        km.generate_key_with(&params(Algorithm::MlKem768, P::DECRYPT), Some("hsm"))
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedAlgorithm
    );
    assert_eq!(
        km.generate_key_with(&params(Algorithm::Ed25519, P::SIGN), Some("nope"))
            .unwrap_err()
            .code(),
        ErrorCode::ProviderNotAvailable
    );

    // AES-256-GCM in the token: round trip, and tampering fails authentication.
    let aes = km
        .generate_key_with(
            &params(Algorithm::Aes256Key, P::ENCRYPT | P::DECRYPT),
            Some("hsm"),
        )
        .unwrap();
    let mut e = stack
        .create_aead_context(&ctx(
            Algorithm::Aes256Gcm,
            aes.id(),
            Some(CipherDirection::Encrypt),
        ))
        .unwrap();
    e.init(&[]).unwrap();
    e.set_aad(b"hdr").unwrap();
    let mut ct = e.update(b"plaintext for the token, ").unwrap();
    ct.extend(e.finalize(b"in two pieces").unwrap());
    let (tag, nonce) = (e.tag().to_vec(), e.nonce().to_vec());
    assert_eq!((tag.len(), nonce.len()), (16, 12));
    assert_ne!(&ct[..], b"plaintext for the token, in two pieces");
    let open = |ct: &[u8], tag: &[u8]| -> Result<Vec<u8>> {
        let mut d = stack.create_aead_context(&ctx(
            Algorithm::Aes256Gcm,
            aes.id(),
            Some(CipherDirection::Decrypt),
        ))?;
        d.init(&nonce)?;
        d.set_aad(b"hdr")?;
        d.set_tag(tag);
        d.finalize(ct)
    };
    assert_eq!(
        open(&ct, &tag).unwrap(),
        b"plaintext for the token, in two pieces"
    );
    let mut bad = ct.clone();
    bad[0] ^= 1;
    assert_eq!(
        open(&bad, &tag).unwrap_err().code(),
        ErrorCode::OperationFailed
    );

    // HMAC in the token: the tag checks, a wrong one does not.
    let hk = GenerateKeyParams::builder()
        .algorithm(Algorithm::HmacKey)
        .permissions(P::MAC)
        .key_len(32)
        .build()
        .unwrap();
    let hk = km.generate_key_with(&hk, Some("hsm")).unwrap();
    let mac = || {
        stack
            .create_mac_context(&ctx(Algorithm::HmacSha256, hk.id(), None))
            .unwrap()
    };
    let tag = mac().compute(b"mac me").unwrap();
    assert_eq!(tag.len(), 32);
    let mut m = mac();
    m.init().unwrap();
    m.update(b"mac me").unwrap();
    m.verify(&tag).unwrap();
    let mut m = mac();
    m.init().unwrap();
    m.update(b"mac me!").unwrap();
    assert_eq!(
        m.verify(&tag).unwrap_err().code(),
        ErrorCode::OperationFailed
    );

    // OpenSC sees the key pair in the token: the private key sensitive, never extractable.
    if let Some(objects) = hsm.list_objects() {
        let private = objects
            .split("Private Key Object")
            .nth(1)
            .expect("a private key object");
        let access = private.lines().find(|l| l.contains("Access:")).unwrap();
        assert!(access.contains("sensitive"), "{objects}");
        assert!(access.contains("never extractable"), "{objects}");
        assert!(private.contains("sign"), "{objects}");
        assert!(
            objects.contains("label:      warden"),
            "our object label: {objects}"
        );
    } else {
        println!("NOTE: pkcs11-tool (opensc) not installed; attribute check skipped");
    }
}

#[test]
fn token_keys_survive_a_restart() {
    let Some(hsm) = SoftHsm::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    stack
        .key_management()
        .generate_key_into_with(
            "kept",
            &params(Algorithm::EcdsaP256Sha256, P::SIGN | P::VERIFY),
            Some("hsm"),
        )
        .unwrap();
    let k = stack.key_management().resolve("kept").unwrap();
    let spki = stack
        .key_management()
        .export_public_key(k.id(), Some(KeyFormat::Raw))
        .unwrap();
    drop(k);
    drop(stack);
    d.stop();

    let d = start(&hsm, root.path());
    let stack = d.stack();
    let k = stack.key_management().resolve("kept").unwrap();
    let again = stack
        .key_management()
        .export_public_key(k.id(), Some(KeyFormat::Raw))
        .unwrap();
    assert_eq!(again, spki, "the same token key after the restart");
    let sig = sign(&stack, Algorithm::EcdsaP256Sha256, k.id(), b"after restart").unwrap();
    assert!(verify_in_software(&spki, b"after restart", &sig));
}

#[test]
fn a_vanished_token_gives_typed_errors_and_software_keys_keep_working() {
    let Some(hsm) = SoftHsm::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let km = stack.key_management();
    km.generate_key_into_with(
        "hw",
        &params(Algorithm::EcdsaP256Sha256, P::SIGN),
        Some("hsm"),
    )
    .unwrap();
    let hw = km.resolve("hw").unwrap();
    let sw = km
        .generate_key(&params(Algorithm::Ed25519, P::SIGN))
        .unwrap();
    sign(&stack, Algorithm::EcdsaP256Sha256, hw.id(), b"before").unwrap();

    // The token goes away under the running daemon.
    let gone = hsm.dir.path().join("tokens-gone");
    std::fs::rename(&hsm.tokens, &gone).unwrap();
    let err = sign(&stack, Algorithm::EcdsaP256Sha256, hw.id(), b"during").unwrap_err();
    assert!(
        matches!(
            err.code(),
            ErrorCode::ProviderNotAvailable | ErrorCode::ResourceNotFound
        ),
        "typed error, got {err:?}"
    );
    // Resolving the slot again: either a typed error, or a handle whose use is one.
    match km.resolve("hw") {
        Err(e) => assert!(
            matches!(
                e.code(),
                ErrorCode::ProviderNotAvailable | ErrorCode::ResourceNotFound
            ),
            "typed error, got {e:?}"
        ),
        Ok(again) => {
            let e = sign(&stack, Algorithm::EcdsaP256Sha256, again.id(), b"x").unwrap_err();
            assert!(
                matches!(
                    e.code(),
                    ErrorCode::ProviderNotAvailable | ErrorCode::ResourceNotFound
                ),
                "typed error, got {e:?}"
            );
        }
    }
    // Software keys are untouched and the daemon serves on.
    sign(&stack, Algorithm::Ed25519, sw.id(), b"software still works").unwrap();
    assert_eq!(stack.ping(b"alive").unwrap(), b"alive");

    // The token comes back (SoftHSM reads it again when the module is loaded anew): the
    // slot record survived the outage and the same key signs again.
    std::fs::rename(&gone, &hsm.tokens).unwrap();
    drop((hw, sw, km, stack));
    d.stop();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let hw = stack.key_management().resolve("hw").unwrap();
    sign(&stack, Algorithm::EcdsaP256Sha256, hw.id(), b"after").unwrap();
}

/// Any local client may generate token keys; one that is never put in a slot must not stay
/// in the token after its last handle is gone, or a loop of generate/release would fill it
/// (token storage is small and shared). Slot keys stay until the slot says otherwise.
#[test]
fn keys_outside_slots_leave_the_token_with_their_last_handle() {
    let Some(hsm) = SoftHsm::new() else { return };
    let Some(before) = hsm.list_objects() else {
        println!("SKIPPED: pkcs11-tool (opensc) not installed; nothing to count objects with");
        return;
    };
    let count = |s: &str| s.matches("Private Key Object").count();
    assert_eq!(count(&before), 0);
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let km = stack.key_management();
    km.generate_key_into_with(
        "kept",
        &params(Algorithm::EcdsaP256Sha256, P::SIGN),
        Some("hsm"),
    )
    .unwrap();
    for _ in 0..5 {
        let k = km
            .generate_key_with(&params(Algorithm::EcdsaP256Sha256, P::SIGN), Some("hsm"))
            .unwrap();
        // In use by a context after its guard is gone: still there while the context lives.
        let mut c = stack
            .create_sign_context(&ctx(Algorithm::EcdsaP256Sha256, k.id(), None))
            .unwrap();
        k.release().unwrap();
        c.init().unwrap();
        c.finalize_with(b"still usable").unwrap();
    }
    // One more, still held: present until released.
    let held = km
        .generate_key_with(&params(Algorithm::EcdsaP256Sha256, P::SIGN), Some("hsm"))
        .unwrap();
    assert_eq!(
        count(&hsm.list_objects().unwrap()),
        2,
        "the slot key and the held one"
    );
    held.release().unwrap();
    drop(stack);
    // The slot key is still there, and still works after a restart.
    let objects = hsm.list_objects().unwrap();
    assert_eq!(count(&objects), 1, "only the slot key: {objects}");
    d.stop();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let k = stack.key_management().resolve("kept").unwrap();
    sign(&stack, Algorithm::EcdsaP256Sha256, k.id(), b"kept").unwrap();
    drop((k, stack));
    d.stop();
    assert_eq!(
        count(&hsm.list_objects().unwrap()),
        1,
        "a resolved slot key is not destroyed"
    );
}

/// Deleting a slot releases its token objects, or a loop of create/delete would fill the
/// token for good (each record names objects that nothing else would ever destroy), unless
/// another slot still refers to the same objects.
#[test]
fn deleting_a_slot_releases_its_token_objects_unless_another_slot_refers_to_them() {
    let Some(hsm) = SoftHsm::new() else { return };
    let Some(before) = hsm.list_objects() else {
        println!("SKIPPED: pkcs11-tool (opensc) not installed; nothing to count objects with");
        return;
    };
    let count = |s: &str| s.matches("Private Key Object").count();
    assert_eq!(count(&before), 0);
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let km = stack.key_management();
    let ec = params(Algorithm::EcdsaP256Sha256, P::SIGN);
    for _ in 0..4 {
        km.generate_key_into_with("churn", &ec, Some("hsm"))
            .unwrap();
        km.delete_slot("churn").unwrap();
    }
    let objects = hsm.list_objects().unwrap();
    assert_eq!(count(&objects), 0, "create/delete left objects: {objects}");

    // One key under two names: deleting one name keeps the objects the other needs.
    let k = km.generate_key_with(&ec, Some("hsm")).unwrap();
    km.persist_key("first", k.id()).unwrap();
    match km.persist_key("second", k.id()) {
        Ok(()) => {
            km.delete_slot("first").unwrap();
            assert_eq!(
                count(&hsm.list_objects().unwrap()),
                1,
                "still named by 'second'"
            );
            let again = km.resolve("second").unwrap();
            sign(&stack, Algorithm::EcdsaP256Sha256, again.id(), b"kept").unwrap();
            km.delete_slot("second").unwrap();
        }
        Err(e) => {
            println!("persisting a token key under a second name is refused ({e})");
            km.delete_slot("first").unwrap();
        }
    }
    let objects = hsm.list_objects().unwrap();
    assert_eq!(
        count(&objects),
        0,
        "the last name went, the objects too: {objects}"
    );
    // A handle resolved before the delete now gets a typed error, not a crash.
    let e = sign(&stack, Algorithm::EcdsaP256Sha256, k.id(), b"gone").unwrap_err();
    println!("a handle on deleted token objects: {e}");
    drop((k, stack));
    d.stop();
}

/// The CLI: `warden providers` lists the token and what it can do; `warden key generate
/// --provider` puts a key in it; an unknown provider is a typed failure.
#[test]
fn cli_lists_providers_and_generates_into_the_token() {
    let Some(hsm) = SoftHsm::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let warden = warden_e2e::wardend_path().unwrap().with_file_name("warden");
    let run = |args: &[&str]| {
        std::process::Command::new(&warden)
            .arg("--socket")
            .arg(&d.socket)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["--json", "providers"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v["providers"].as_array().unwrap();
    assert_eq!(list[0]["name"], "aws-lc-rs");
    assert_eq!(list[0]["default"], true);
    let hsm_entry = list.iter().find(|p| p["name"] == "hsm").unwrap();
    assert_eq!(hsm_entry["hardware"], true);
    let ecdsa = hsm_entry["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["algorithm"] == "ECDSA-P256-SHA256")
        .unwrap();
    let ops: Vec<&str> = ecdsa["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert!(
        ops.contains(&"sign") && ops.contains(&"generate"),
        "{ops:?}"
    );

    let out = run(&[
        "--json",
        "key",
        "generate",
        "--alg",
        "ECDSA-P256-SHA256",
        "--slot",
        "cli-hsm",
        "--provider",
        "hsm",
    ]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["provider"], "hsm");
    if let Some(objects) = hsm.list_objects() {
        assert!(objects.contains("Private Key Object"), "{objects}");
    }

    let out = run(&[
        "key",
        "generate",
        "--alg",
        "ED25519",
        "--slot",
        "nowhere",
        "--provider",
        "absent",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ProviderNotAvailable"),
        "{out:?}"
    );
}

#[test]
fn token_contexts_refuse_context_options_they_cannot_honour() {
    // Issue 15: the daemon reports a created context's options as applied, so a provider that
    // cannot produce, say, a DER ECDSA signature must refuse rather than sign r||s.
    let Some(hsm) = SoftHsm::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let km = stack.key_management();
    let alg = Algorithm::EcdsaP256Sha256;
    let key = km
        .generate_key_with(&params(alg, P::SIGN | P::VERIFY), Some("hsm"))
        .unwrap();
    let der = ContextConfig::builder()
        .algorithm(alg)
        .key(key.id())
        .signature_format(SignatureFormat::Der)
        .build()
        .unwrap();
    let e = stack.create_sign_context(&der).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnsupportedOperation, "{e}");
    // The default encoding still works in the token.
    assert_eq!(sign(&stack, alg, key.id(), b"m").unwrap().len(), 64);
}
