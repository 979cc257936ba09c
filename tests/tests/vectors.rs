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

fn dir_cfg(alg: Algorithm, key: &ResourceGuard, dir: CipherDirection) -> ContextConfig {
    ContextConfig::builder()
        .algorithm(alg)
        .key(key.id())
        .direction(dir)
        .build()
        .unwrap()
}

fn alg_of(case: &Value) -> Algorithm {
    Algorithm::from_name(case["alg"].as_str().unwrap()).unwrap()
}

/// An AES key of the size `op` takes, allowed to pick its own nonces (the vectors fix them).
fn aes_key(stack: &CryptoStack, op: Algorithm, key: &[u8]) -> ResourceGuard {
    use KeyOperationPermission as P;
    let key_alg = op.key_algorithms()[0];
    let perms = match op.class() {
        AlgorithmClass::KeyWrap => P::WRAP | P::UNWRAP,
        _ => P::ENCRYPT | P::DECRYPT | P::CALLER_NONCE,
    };
    import(stack, key_alg, perms, KeyFormat::Raw, key)
}

#[test]
fn aes_ctr_128_192_256_match_sp800_38a() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    for case in vectors("aes_wycheproof.json")["ctr"].as_array().unwrap() {
        let alg = alg_of(case);
        let key = aes_key(&stack, alg, &h(case, "key"));
        let (iv, pt, ct) = (h(case, "iv"), h(case, "pt"), h(case, "ct"));
        let mut enc = stack
            .create_cipher_context(&dir_cfg(alg, &key, CipherDirection::Encrypt))
            .unwrap();
        assert_eq!(enc.apply(&iv, &pt).unwrap(), ct, "{alg}");
        let mut dec = stack
            .create_cipher_context(&dir_cfg(alg, &key, CipherDirection::Decrypt))
            .unwrap();
        assert_eq!(dec.apply(&iv, &ct).unwrap(), pt, "{alg}");
        // Streaming in odd pieces gives the same keystream.
        dec.reset().unwrap();
        dec.init(&iv).unwrap();
        let mut got = Vec::new();
        for piece in ct.chunks(7) {
            got.extend(dec.update(piece).unwrap());
        }
        got.extend(dec.finalize(&[]).unwrap());
        assert_eq!(got, pt, "{alg} streamed");
    }
}

#[test]
fn aes_192_gcm_matches_wycheproof() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let mut seen = (0, 0);
    for case in vectors("aes_wycheproof.json")["gcm"].as_array().unwrap() {
        let alg = alg_of(case);
        let tc = case["tcId"].as_u64().unwrap();
        let key = aes_key(&stack, alg, &h(case, "key"));
        let (iv, aad, msg, ct, tag) = (
            h(case, "iv"),
            h(case, "aad"),
            h(case, "msg"),
            h(case, "ct"),
            h(case, "tag"),
        );
        let mut open = stack
            .create_aead_context(&dir_cfg(alg, &key, CipherDirection::Decrypt))
            .unwrap();
        let opened = open.open(&iv, &aad, &ct, &tag);
        if case["result"] == "valid" {
            assert_eq!(opened.unwrap(), msg, "{alg} tc {tc}");
            let mut seal = stack
                .create_aead_context(&dir_cfg(alg, &key, CipherDirection::Encrypt))
                .unwrap();
            assert_eq!(
                seal.seal(&iv, &aad, &msg).unwrap(),
                (ct, tag),
                "{alg} tc {tc}"
            );
            seen.0 += 1;
        } else {
            assert!(opened.is_err(), "{alg} tc {tc}: forged message opened");
            seen.1 += 1;
        }
    }
    assert!(seen.0 > 30 && seen.1 > 20, "{seen:?}");
}

#[test]
fn aes_cbc_128_192_match_wycheproof() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let mut seen = (0, 0);
    for case in vectors("aes_wycheproof.json")["cbc"].as_array().unwrap() {
        let alg = alg_of(case);
        let tc = case["tcId"].as_u64().unwrap();
        let key = aes_key(&stack, alg, &h(case, "key"));
        let (iv, msg, ct) = (h(case, "iv"), h(case, "msg"), h(case, "ct"));
        let mut dec = stack
            .create_cipher_context(&dir_cfg(alg, &key, CipherDirection::Decrypt))
            .unwrap();
        let got = dec.apply(&iv, &ct);
        if case["result"] == "valid" {
            assert_eq!(got.unwrap(), msg, "{alg} tc {tc}");
            let mut enc = stack
                .create_cipher_context(&dir_cfg(alg, &key, CipherDirection::Encrypt))
                .unwrap();
            assert_eq!(enc.apply(&iv, &msg).unwrap(), ct, "{alg} tc {tc}");
            seen.0 += 1;
        } else {
            assert!(got.is_err(), "{alg} tc {tc}: bad padding accepted");
            seen.1 += 1;
        }
    }
    assert!(seen.0 >= 40 && seen.1 >= 90, "{seen:?}");
}

#[test]
fn aes_kw_and_kwp_128_192_match_wycheproof() {
    use KeyOperationPermission as P;
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let file = vectors("aes_wycheproof.json");
    let mut seen = (0, 0);
    for case in file["kw"]
        .as_array()
        .unwrap()
        .iter()
        .chain(file["kwp"].as_array().unwrap())
    {
        let alg = alg_of(case);
        let tc = case["tcId"].as_u64().unwrap();
        let kek = aes_key(&stack, alg, &h(case, "key"));
        let (msg, ct) = (h(case, "msg"), h(case, "ct"));
        let unwrap_params = UnwrapKeyParams::builder()
            .algorithm(alg)
            .unwrapped_algorithm(Algorithm::GenericSecret)
            .permissions(P::DERIVE | P::EXPORT)
            .exportable(true)
            .build()
            .unwrap();
        let wrap_params = WrapKeyParams::new(alg).unwrap();
        if case["result"] == "valid" {
            let target = ImportKeyParams::builder()
                .algorithm(Algorithm::GenericSecret)
                .permissions(P::DERIVE | P::EXPORT)
                .exportable(true)
                .build()
                .unwrap();
            let target = km.import_key(&target, &msg).unwrap();
            assert_eq!(
                km.wrap_key(kek.id(), target.id(), &wrap_params).unwrap(),
                ct,
                "{alg} tc {tc}"
            );
            let back = km.unwrap_key(kek.id(), &ct, &unwrap_params).unwrap();
            assert_eq!(
                km.export_secret_key(back.id()).unwrap().as_slice(),
                msg.as_slice(),
                "{alg} tc {tc}"
            );
            seen.0 += 1;
        } else {
            // Invalid and "acceptable" (an 8-byte KW input, which warden refuses to wrap).
            if !ct.is_empty() {
                let e = km.unwrap_key(kek.id(), &ct, &unwrap_params).unwrap_err();
                assert_eq!(e.code(), ErrorCode::WrapUnwrapFailed, "{alg} tc {tc}: {e}");
            } else if !msg.is_empty() {
                let target = ImportKeyParams::builder()
                    .algorithm(Algorithm::GenericSecret)
                    .permissions(P::DERIVE | P::EXPORT)
                    .exportable(true)
                    .build()
                    .unwrap();
                let target = km.import_key(&target, &msg).unwrap();
                assert!(
                    km.wrap_key(kek.id(), target.id(), &wrap_params).is_err(),
                    "{alg} tc {tc}"
                );
            }
            seen.1 += 1;
        }
    }
    assert!(seen.0 >= 70 && seen.1 >= 150, "{seen:?}");
}

#[test]
fn rsa_pss_sha256_384_512_with_chosen_salts_match_wycheproof() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let mut seen = (0, 0);
    for group in vectors("rsa_wycheproof.json")["pss"].as_array().unwrap() {
        let alg = alg_of(group);
        let salt = u16::try_from(group["sLen"].as_u64().unwrap()).unwrap();
        let key = import(
            &stack,
            alg,
            KeyOperationPermission::VERIFY,
            KeyFormat::SubjectPublicKeyInfo,
            &h(group, "publicKeyDer"),
        );
        let cfg = ContextConfig::builder()
            .algorithm(alg)
            .key(key.id())
            .pss_salt_len(salt)
            .build()
            .unwrap();
        let mut ctx = stack.create_verify_context(&cfg).unwrap();
        // A context with another salt length refuses the valid signatures.
        let other = ContextConfig::builder()
            .algorithm(alg)
            .key(key.id())
            .pss_salt_len(salt + 1)
            .build()
            .unwrap();
        let mut wrong_salt = stack.create_verify_context(&other).unwrap();
        for case in group["tests"].as_array().unwrap() {
            let tc = case["tcId"].as_u64().unwrap();
            let (msg, sig) = (h(case, "msg"), h(case, "sig"));
            let got = ctx.verify(&msg, &sig);
            if case["result"] == "valid" {
                got.unwrap_or_else(|e| panic!("{alg} tc {tc}: {e}"));
                assert!(
                    wrong_salt.verify(&msg, &sig).is_err(),
                    "{alg} tc {tc}: salt not checked"
                );
                seen.0 += 1;
            } else {
                assert!(
                    got.is_err(),
                    "{alg} tc {tc} {:?}: invalid signature accepted",
                    case["flags"]
                );
                seen.1 += 1;
            }
        }
    }
    assert_eq!(seen, (75, 45));
    // Salt lengths beyond 64 bytes, or on anything but RSA-PSS, are refused before sending.
    let key = ResourceId::new(1, ResourceType::Key, Persistence::Ephemeral, 0);
    for (alg, salt) in [
        (Algorithm::RsaPssSha256, 65),
        (Algorithm::EcdsaP256Sha256, 0),
    ] {
        let e = ContextConfig::builder()
            .algorithm(alg)
            .key(key)
            .pss_salt_len(salt)
            .build()
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{alg}");
    }
}

#[test]
fn rsa_oaep_sha1_384_512_with_labels_match_wycheproof() {
    use KeyOperationPermission as P;
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let mut seen = (0, 0, 0);
    for group in vectors("rsa_wycheproof.json")["oaep"].as_array().unwrap() {
        let alg = alg_of(group);
        let key = import(
            &stack,
            alg,
            P::ENCRYPT | P::DECRYPT,
            KeyFormat::Pkcs8,
            &h(group, "privateKeyPkcs8"),
        );
        for case in group["tests"].as_array().unwrap() {
            let tc = case["tcId"].as_u64().unwrap();
            let (msg, ct, label) = (h(case, "msg"), h(case, "ct"), h(case, "label"));
            let options = ContextOptions::default().with_oaep_label(&label).unwrap();
            let cfg = |dir| {
                ContextConfig::builder()
                    .algorithm(alg)
                    .key(key.id())
                    .direction(dir)
                    .options(options)
                    .build()
                    .unwrap()
            };
            let got = stack
                .create_cipher_context(&cfg(CipherDirection::Decrypt))
                .unwrap()
                .apply(&[], &ct);
            if case["result"] == "valid" {
                assert_eq!(
                    got.unwrap_or_else(|e| panic!("{alg} tc {tc}: {e}")),
                    msg,
                    "{alg} tc {tc}"
                );
                // Our own encryption under the same label decrypts back; OAEP is randomised.
                let again = stack
                    .create_cipher_context(&cfg(CipherDirection::Encrypt))
                    .unwrap()
                    .apply(&[], &msg)
                    .unwrap();
                let back = stack
                    .create_cipher_context(&cfg(CipherDirection::Decrypt))
                    .unwrap()
                    .apply(&[], &again)
                    .unwrap();
                assert_eq!(back, msg, "{alg} tc {tc}");
                if !label.is_empty() {
                    // The label is bound in: without it the ciphertext does not decrypt.
                    let plain = ContextConfig::builder()
                        .algorithm(alg)
                        .key(key.id())
                        .direction(CipherDirection::Decrypt)
                        .build()
                        .unwrap();
                    assert!(
                        stack
                            .create_cipher_context(&plain)
                            .unwrap()
                            .apply(&[], &ct)
                            .is_err(),
                        "{alg} tc {tc}"
                    );
                    seen.2 += 1;
                }
                seen.0 += 1;
            } else {
                assert!(
                    got.is_err(),
                    "{alg} tc {tc} {:?}: invalid ciphertext decrypted",
                    case["flags"]
                );
                seen.1 += 1;
            }
        }
    }
    assert_eq!(seen.0 + seen.1, 103);
    assert!(seen.2 >= 6, "{seen:?}");
}

#[test]
fn hkdf_outputs_up_to_255_hash_lengths_match_rfc5869_and_wycheproof() {
    use KeyOperationPermission as P;
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let mut seen = (0, 0, 0);
    for case in vectors("hkdf_long.json")["cases"].as_array().unwrap() {
        let hash = Algorithm::from_name(case["hash"].as_str().unwrap()).unwrap();
        let tc = &case["tcId"];
        let size = u32::try_from(case["size"].as_u64().unwrap()).unwrap();
        let ikm = import(
            &stack,
            Algorithm::GenericSecret,
            P::DERIVE,
            KeyFormat::Raw,
            &h(case, "ikm"),
        );
        let params = DeriveKeyParams::builder()
            .kdf(KdfParameters::Hkdf {
                hash,
                salt: h(case, "salt"),
                info: h(case, "info"),
            })
            .output_algorithm(Algorithm::GenericSecret)
            .output_len(size)
            .permissions(P::DERIVE | P::EXPORT)
            .exportable(true)
            .build();
        if case["result"] == "valid" {
            let key = km
                .derive_key(ikm.id(), &params.unwrap())
                .unwrap_or_else(|e| panic!("{hash} tc {tc}: {e}"));
            let okm = km.export_secret_key(key.id()).unwrap();
            assert_eq!(okm.as_slice(), h(case, "okm").as_slice(), "{hash} tc {tc}");
            seen.0 += 1;
            if size > 1024 {
                seen.2 += 1;
            }
        } else {
            // One byte beyond 255 hash lengths: refused when the parameters are built.
            assert_eq!(
                params.unwrap_err().code(),
                ErrorCode::InvalidArgument,
                "{hash} tc {tc}"
            );
            seen.1 += 1;
        }
    }
    assert_eq!(seen, (28, 6, 6));
}

#[test]
fn mlkem_seed_keys_match_wycheproof_keygen_and_export_as_seeds() {
    use KeyOperationPermission as P;
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let mut seen = 0;
    for case in vectors("mlkem_seed_wycheproof.json")["cases"]
        .as_array()
        .unwrap()
    {
        let alg = alg_of(case);
        let tc = case["tcId"].as_u64().unwrap();
        let params = |exportable: bool| {
            ImportKeyParams::builder()
                .algorithm(alg)
                .permissions(P::ENCRYPT | P::DECRYPT | P::EXPORT)
                .exportable(exportable)
                .format(KeyFormat::Raw)
                .build()
                .unwrap()
        };
        // keygen from the 64-byte seed (FIPS 203 ML-KEM.KeyGen_internal(d, z)).
        let from_seed = km.import_key(&params(true), &h(case, "seed")).unwrap();
        assert_eq!(
            km.export_public_key(from_seed.id(), Some(KeyFormat::Raw))
                .unwrap(),
            h(case, "ek"),
            "{alg} tc {tc}"
        );
        // Export, where permitted, is the seed form.
        assert_eq!(
            km.export_secret_key(from_seed.id()).unwrap().as_slice(),
            h(case, "seed").as_slice(),
            "{alg} tc {tc}"
        );
        let sealed = km.import_key(&params(false), &h(case, "seed")).unwrap();
        assert_eq!(
            km.export_secret_key(sealed.id()).unwrap_err().code(),
            ErrorCode::KeyNotExportable
        );
        // The expanded key from the same vector decapsulates to the same shared secret.
        let expanded = km.import_key(&params(false), &h(case, "dk")).unwrap();
        let ep = EncapsulateParams::builder()
            .algorithm(alg)
            .output_algorithm(Algorithm::GenericSecret)
            .permissions(P::DERIVE | P::EXPORT)
            .exportable(true)
            .build()
            .unwrap();
        let (ct, ss) = km.encapsulate(from_seed.id(), &ep).unwrap();
        let a = km.decapsulate(from_seed.id(), &ct, &ep).unwrap();
        let b = km.decapsulate(expanded.id(), &ct, &ep).unwrap();
        let want = km.export_secret_key(ss.id()).unwrap();
        assert_eq!(km.export_secret_key(a.id()).unwrap(), want, "{alg} tc {tc}");
        assert_eq!(km.export_secret_key(b.id()).unwrap(), want, "{alg} tc {tc}");
        seen += 1;
    }
    assert_eq!(seen, 12);
    // A generated key exports its 64-byte seed, and that seed re-imports to the same key.
    let g = km
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::MlKem768)
                .permissions(P::ENCRYPT | P::DECRYPT | P::EXPORT)
                .exportable(true)
                .build()
                .unwrap(),
        )
        .unwrap();
    let seed = km.export_secret_key(g.id()).unwrap();
    assert_eq!(seed.len(), 64);
    let again = km
        .import_key(
            &ImportKeyParams::builder()
                .algorithm(Algorithm::MlKem768)
                .permissions(P::ENCRYPT | P::DECRYPT)
                .build()
                .unwrap(),
            &seed,
        )
        .unwrap();
    assert_eq!(
        km.export_public_key(g.id(), None).unwrap(),
        km.export_public_key(again.id(), None).unwrap()
    );
    // 63 or 65 bytes are neither a seed nor any other ML-KEM encoding.
    for n in [63, 65] {
        let e = km
            .import_key(
                &ImportKeyParams::builder()
                    .algorithm(Algorithm::MlKem768)
                    .permissions(P::DECRYPT)
                    .build()
                    .unwrap(),
                &vec![7; n],
            )
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidFormat, "{n} bytes");
    }
}

#[test]
fn ed25519ph_matches_rfc8032_streams_and_binds_its_context() {
    use KeyOperationPermission as P;
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    // RFC 8032 section 7.3, "TEST abc": the private key as RFC 8410 PKCS#8.
    let seed = unhex("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42");
    let public = unhex("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf");
    let want = unhex(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41\
         31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406",
    );
    let mut pkcs8 = unhex("302e020100300506032b657004220420");
    pkcs8.extend(&seed);
    let key = import(
        &stack,
        Algorithm::Ed25519,
        P::SIGN | P::VERIFY,
        KeyFormat::Pkcs8,
        &pkcs8,
    );
    assert_eq!(
        stack
            .key_management()
            .export_public_key(key.id(), Some(KeyFormat::Raw))
            .unwrap(),
        public
    );
    let cfg = |alg, ctx: &[u8]| {
        let options = ContextOptions::default()
            .with_signature_context(ctx)
            .unwrap();
        ContextConfig::builder()
            .algorithm(alg)
            .key(key.id())
            .options(options)
            .build()
            .unwrap()
    };
    let ph = Algorithm::Ed25519ph;
    let sig = stack
        .create_sign_context(&cfg(ph, b""))
        .unwrap()
        .sign(b"abc")
        .unwrap();
    assert_eq!(sig, want);
    let verifier = import(&stack, ph, P::VERIFY, KeyFormat::Raw, &public);
    let mut v = stack
        .create_verify_context(
            &ContextConfig::builder()
                .algorithm(ph)
                .key(verifier.id())
                .build()
                .unwrap(),
        )
        .unwrap();
    v.verify(b"abc", &want).unwrap();
    assert!(v.verify(b"abd", &want).is_err());
    // Pure Ed25519 is a different scheme over the same key: the ph signature does not verify.
    let mut pure = stack
        .create_verify_context(&cfg(Algorithm::Ed25519, b""))
        .unwrap();
    assert!(pure.verify(b"abc", &want).is_err());
    // A context string is bound into the signature.
    let with_ctx = stack
        .create_sign_context(&cfg(ph, b"warden"))
        .unwrap()
        .sign(b"abc")
        .unwrap();
    assert_ne!(with_ctx, want);
    stack
        .create_verify_context(&cfg(ph, b"warden"))
        .unwrap()
        .verify(b"abc", &with_ctx)
        .unwrap();
    assert!(
        stack
            .create_verify_context(&cfg(ph, b"other"))
            .unwrap()
            .verify(b"abc", &with_ctx)
            .is_err()
    );
    assert!(
        stack
            .create_verify_context(&cfg(ph, b""))
            .unwrap()
            .verify(b"abc", &with_ctx)
            .is_err()
    );
    // Pre-hashed, so a message far beyond the 64 KiB buffer of pure Ed25519 streams.
    let big = vec![0x42u8; 1 << 20];
    let mut s = stack.create_sign_context(&cfg(ph, b"")).unwrap();
    s.init().unwrap();
    for piece in big.chunks(100_000) {
        s.update(piece).unwrap();
    }
    let big_sig = s.finalize().unwrap();
    let mut v = stack.create_verify_context(&cfg(ph, b"")).unwrap();
    v.init().unwrap();
    for piece in big.chunks(77_777) {
        v.update(piece).unwrap();
    }
    v.finalize(&big_sig).unwrap();
    // Contexts longer than 255 bytes, or on other algorithms, are refused.
    assert!(
        ContextOptions::default()
            .with_signature_context(&[0; 256])
            .is_err()
    );
    let options = ContextOptions::default()
        .with_signature_context(b"x")
        .unwrap();
    let e = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(key.id())
        .options(options)
        .build()
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
}

#[test]
fn mldsa_context_strings_match_wycheproof_and_bind_signatures() {
    use KeyOperationPermission as P;
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let mut seen = (0, 0);
    for group in vectors("mldsa_ctx_wycheproof.json")["groups"]
        .as_array()
        .unwrap()
    {
        let alg = alg_of(group);
        let key = ImportKeyParams::builder()
            .algorithm(alg)
            .permissions(P::VERIFY)
            .build()
            .unwrap();
        let key = km.import_key(&key, &h(group, "publicKey"));
        for case in group["tests"].as_array().unwrap() {
            let tc = case["tcId"].as_u64().unwrap();
            let (msg, sig, ctx) = (h(case, "msg"), h(case, "sig"), h(case, "ctx"));
            // Every step may refuse an invalid case (a public key, a context over 255 bytes).
            let got = key.as_ref().map_err(|e| e.to_string()).and_then(|key| {
                let options = ContextOptions::default()
                    .with_signature_context(&ctx)
                    .map_err(|e| e.to_string())?;
                let cfg = ContextConfig::builder()
                    .algorithm(alg)
                    .key(key.id())
                    .options(options)
                    .build()
                    .map_err(|e| e.to_string())?;
                let mut v = stack
                    .create_verify_context(&cfg)
                    .map_err(|e| e.to_string())?;
                v.verify(&msg, &sig).map_err(|e| e.to_string())
            });
            if case["result"] == "valid" {
                got.unwrap_or_else(|e| panic!("{alg} tc {tc}: {e}"));
                seen.0 += 1;
            } else {
                assert!(got.is_err(), "{alg} tc {tc} {:?}: accepted", case["flags"]);
                seen.1 += 1;
            }
        }
    }
    assert_eq!(seen, (9, 15));
    // Signing with a context through the daemon (hedged, RustCrypto ml-dsa): the context is
    // bound in, and an empty context stays aws-lc's pure ML-DSA.
    for alg in [Algorithm::MlDsa44, Algorithm::MlDsa65, Algorithm::MlDsa87] {
        let key = km
            .generate_key(
                &GenerateKeyParams::builder()
                    .algorithm(alg)
                    .permissions(P::SIGN | P::VERIFY)
                    .build()
                    .unwrap(),
            )
            .unwrap();
        let cfg = |ctx: &[u8]| {
            let options = ContextOptions::default()
                .with_signature_context(ctx)
                .unwrap();
            ContextConfig::builder()
                .algorithm(alg)
                .key(key.id())
                .options(options)
                .build()
                .unwrap()
        };
        let msg = b"signed under a FIPS 204 context string";
        let sig = stack
            .create_sign_context(&cfg(b"warden"))
            .unwrap()
            .sign(msg)
            .unwrap();
        stack
            .create_verify_context(&cfg(b"warden"))
            .unwrap()
            .verify(msg, &sig)
            .unwrap();
        assert!(
            stack
                .create_verify_context(&cfg(b"other"))
                .unwrap()
                .verify(msg, &sig)
                .is_err(),
            "{alg}"
        );
        assert!(
            stack
                .create_verify_context(&cfg(b""))
                .unwrap()
                .verify(msg, &sig)
                .is_err(),
            "{alg}"
        );
        let plain = stack
            .create_sign_context(&cfg(b""))
            .unwrap()
            .sign(msg)
            .unwrap();
        stack
            .create_verify_context(&cfg(b""))
            .unwrap()
            .verify(msg, &plain)
            .unwrap();
        assert!(
            stack
                .create_verify_context(&cfg(b"warden"))
                .unwrap()
                .verify(msg, &plain)
                .is_err(),
            "{alg}"
        );
    }
}

/// FIPS 204 μ computed here, independently of the daemon: `tr = SHAKE256(pk, 64)`,
/// `μ = SHAKE256(tr ‖ 0 ‖ len(ctx) ‖ ctx ‖ M, 64)` (Algorithm 2 line 10, Algorithm 7 line 6).
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

fn mu_cfg(alg: Algorithm, key: ResourceId, ctx: &[u8], external_mu: bool) -> ContextConfig {
    let options = ContextOptions::default()
        .with_signature_context(ctx)
        .unwrap()
        .with_external_mu(external_mu);
    ContextConfig::builder()
        .algorithm(alg)
        .key(key)
        .options(options)
        .build()
        .unwrap()
}

/// Issue 15: ML-DSA external μ. The published Wycheproof signatures (with and without context
/// strings) verify given only μ; a signature made from μ is an ordinary ML-DSA signature of
/// the message (verified by aws-lc for the empty context, RustCrypto for a context), and
/// ordinary signatures verify from μ; a μ of any other length than 64 is `InvalidArgument`,
/// and external μ with a context string or for a non-ML-DSA algorithm is refused.
#[test]
fn mldsa_external_mu_matches_published_signatures_and_plain_signing() {
    use KeyOperationPermission as P;
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let mut seen = 0;
    for group in vectors("mldsa_ctx_wycheproof.json")["groups"]
        .as_array()
        .unwrap()
    {
        let alg = alg_of(group);
        let public = h(group, "publicKey");
        let params = ImportKeyParams::builder()
            .algorithm(alg)
            .permissions(P::VERIFY)
            .build()
            .unwrap();
        let Ok(key) = km.import_key(&params, &public) else {
            continue;
        };
        for case in group["tests"].as_array().unwrap() {
            let (msg, sig, ctx) = (h(case, "msg"), h(case, "sig"), h(case, "ctx"));
            if case["result"] != "valid" {
                continue;
            }
            let mu = mldsa_mu(&public, &ctx, &msg);
            let cfg = mu_cfg(alg, key.id(), b"", true);
            stack
                .create_verify_context(&cfg)
                .unwrap()
                .verify(&mu, &sig)
                .unwrap_or_else(|e| panic!("{alg} tc {}: {e}", case["tcId"]));
            let mut wrong = mu.clone();
            wrong[0] ^= 1;
            assert!(
                stack
                    .create_verify_context(&cfg)
                    .unwrap()
                    .verify(&wrong, &sig)
                    .is_err()
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 9);

    for alg in [Algorithm::MlDsa44, Algorithm::MlDsa65, Algorithm::MlDsa87] {
        let key = km
            .generate_key(
                &GenerateKeyParams::builder()
                    .algorithm(alg)
                    .permissions(P::SIGN | P::VERIFY)
                    .build()
                    .unwrap(),
            )
            .unwrap();
        let public = km
            .export_public_key(key.id(), Some(KeyFormat::Raw))
            .unwrap();
        let msg = b"hashed by the caller, signed by the daemon";
        let ext = mu_cfg(alg, key.id(), b"", true);
        for ctx in [&b""[..], b"warden"] {
            let mu = mldsa_mu(&public, ctx, msg);
            let sig = stack.create_sign_context(&ext).unwrap().sign(&mu).unwrap();
            // An ordinary signature of `msg` under `ctx`.
            stack
                .create_verify_context(&mu_cfg(alg, key.id(), ctx, false))
                .unwrap()
                .verify(msg, &sig)
                .unwrap_or_else(|e| panic!("{alg} ctx {ctx:?}: {e}"));
            let other = if ctx.is_empty() { &b"x"[..] } else { b"" };
            assert!(
                stack
                    .create_verify_context(&mu_cfg(alg, key.id(), other, false))
                    .unwrap()
                    .verify(msg, &sig)
                    .is_err()
            );
            // And an ordinary signature verifies from μ.
            let plain = stack
                .create_sign_context(&mu_cfg(alg, key.id(), ctx, false))
                .unwrap()
                .sign(msg)
                .unwrap();
            stack
                .create_verify_context(&ext)
                .unwrap()
                .verify(&mu, &plain)
                .unwrap();
        }
        // μ is exactly 64 bytes, on both sides.
        for len in [0, 32, 63, 65, 128] {
            let e = stack
                .create_sign_context(&ext)
                .unwrap()
                .sign(&vec![7u8; len])
                .unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{alg} sign {len}");
            let sig = stack
                .create_sign_context(&ext)
                .unwrap()
                .sign(&[7u8; 64])
                .unwrap();
            let e = stack
                .create_verify_context(&ext)
                .unwrap()
                .verify(&vec![7u8; len], &sig)
                .unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{alg} verify {len}");
        }
        // μ binds the context already; a second one is refused, as is μ for non-ML-DSA.
        let both = ContextOptions::default()
            .with_signature_context(b"x")
            .unwrap()
            .with_external_mu(true);
        let e = ContextConfig::builder()
            .algorithm(alg)
            .key(key.id())
            .options(both)
            .build()
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
    }
    let e = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(ResourceId::new(
            1,
            ResourceType::Key,
            Persistence::Ephemeral,
            0,
        ))
        .options(ContextOptions::default().with_external_mu(true))
        .build()
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
}

/// Issue 15: HashML-DSA with SHA-512 (FIPS 204 section 5.4). A streamed HashML-DSA signature
/// is the ML-DSA signature of the μ this test computes itself from `1 ‖ len(ctx) ‖ ctx ‖
/// OID(SHA-512) ‖ SHA-512(M)` (checked through the external-μ verifier), binds its context,
/// never verifies as pure ML-DSA (nor a pure one as HashML-DSA), and needs an ML-DSA key of
/// its own parameter set.
#[test]
fn hash_mldsa_sha512_streams_and_is_domain_separated() {
    use KeyOperationPermission as P;
    const SHA512_OID: [u8; 11] = [6, 9, 0x60, 0x86, 0x48, 1, 0x65, 3, 4, 2, 3];
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let gen_key = |alg| {
        km.generate_key(
            &GenerateKeyParams::builder()
                .algorithm(alg)
                .permissions(P::SIGN | P::VERIFY)
                .build()
                .unwrap(),
        )
        .unwrap()
    };
    let msg = b"a long document signed in pieces";
    for (hash_alg, alg) in [
        (Algorithm::HashMlDsa44Sha512, Algorithm::MlDsa44),
        (Algorithm::HashMlDsa65Sha512, Algorithm::MlDsa65),
        (Algorithm::HashMlDsa87Sha512, Algorithm::MlDsa87),
    ] {
        let key = gen_key(alg);
        let public = km
            .export_public_key(key.id(), Some(KeyFormat::Raw))
            .unwrap();
        for ctx in [&b""[..], b"warden"] {
            let cfg = mu_cfg(hash_alg, key.id(), ctx, false);
            let mut s = stack.create_sign_context(&cfg).unwrap();
            s.init().unwrap();
            s.update(&msg[..7]).unwrap();
            s.update(&msg[7..]).unwrap();
            let sig = s.finalize().unwrap();
            stack
                .create_verify_context(&cfg)
                .unwrap()
                .verify(msg, &sig)
                .unwrap_or_else(|e| panic!("{hash_alg} ctx {ctx:?}: {e}"));
            // Independent encoding: μ from the published M' layout.
            let ph = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, msg);
            let m_prime = [
                &[1u8, u8::try_from(ctx.len()).unwrap()][..],
                ctx,
                &SHA512_OID,
                ph.as_ref(),
            ]
            .concat();
            let mu = {
                use shake::{ExtendableOutput, Update};
                let h = |parts: &[&[u8]]| {
                    let mut s = shake::Shake256::default();
                    parts.iter().for_each(|p| s.update(p));
                    let mut out = vec![0u8; 64];
                    s.finalize_xof_into(&mut out);
                    out
                };
                h(&[&h(&[&public]), &m_prime])
            };
            stack
                .create_verify_context(&mu_cfg(alg, key.id(), b"", true))
                .unwrap()
                .verify(&mu, &sig)
                .unwrap_or_else(|e| panic!("{hash_alg} independent mu: {e}"));
            // Not pure ML-DSA; not another context; not another message.
            let refused = |cfg: &ContextConfig, m: &[u8]| {
                stack
                    .create_verify_context(cfg)
                    .unwrap()
                    .verify(m, &sig)
                    .is_err()
            };
            assert!(
                refused(&mu_cfg(alg, key.id(), ctx, false), msg),
                "{hash_alg}"
            );
            let other = if ctx.is_empty() { &b"x"[..] } else { b"" };
            assert!(refused(&mu_cfg(hash_alg, key.id(), other, false), msg));
            assert!(refused(&cfg, b"another message"));
            // A pure signature of the same message is no HashML-DSA signature.
            let pure = stack
                .create_sign_context(&mu_cfg(alg, key.id(), ctx, false))
                .unwrap()
                .sign(msg)
                .unwrap();
            assert!(
                stack
                    .create_verify_context(&cfg)
                    .unwrap()
                    .verify(msg, &pure)
                    .is_err()
            );
        }
        // External μ is pure ML-DSA's; HashML-DSA has no such option.
        let e = ContextConfig::builder()
            .algorithm(hash_alg)
            .key(key.id())
            .options(ContextOptions::default().with_external_mu(true))
            .build()
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
    }
    // HashML-DSA is no key type: its keys are ML-DSA keys.
    let e = GenerateKeyParams::builder()
        .algorithm(Algorithm::HashMlDsa65Sha512)
        .permissions(P::SIGN | P::VERIFY)
        .build()
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    // A key of another parameter set does not serve.
    let k65 = gen_key(Algorithm::MlDsa65);
    let e = stack
        .create_sign_context(&mu_cfg(Algorithm::HashMlDsa44Sha512, k65.id(), b"", false))
        .err()
        .unwrap();
    assert_eq!(e.code(), ErrorCode::IncompatibleKeyType);
}
