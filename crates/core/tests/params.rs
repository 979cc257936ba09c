//! Parameter builders: required fields, range checks and defaults. Every failure must be
//! `InvalidArgument` (never a panic).

use warden_core::{
    AgreeKeyParams, Algorithm as A, BaseContextConfig, CipherDirection, ContextConfig,
    DeriveKeyParams, EncapsulateParams, Error, ErrorCode, GenerateKeyParams, ImportKeyParams,
    KdfParameters, KeyFormat, KeyOperationPermission as P, Persistence, ResourceId, ResourceType,
    Timeout, UnwrapKeyParams, WrapKeyParams, limits,
};

#[track_caller]
fn invalid<T: core::fmt::Debug>(r: Result<T, Error>) {
    match r {
        Err(e) => assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}"),
        Ok(v) => panic!("expected InvalidArgument, got Ok({v:?})"),
    }
}

fn key_id() -> ResourceId {
    ResourceId::new(3, ResourceType::Key, Persistence::Ephemeral, 0)
}

#[test]
fn generate_requires_algorithm_and_permissions() {
    invalid(GenerateKeyParams::builder().build());
    invalid(GenerateKeyParams::builder().permissions(P::SIGN).build());
    invalid(GenerateKeyParams::builder().algorithm(A::Ed25519).build());
    let p = GenerateKeyParams::builder()
        .algorithm(A::Ed25519)
        .permissions(P::SIGN)
        .build()
        .unwrap();
    assert_eq!(
        (p.algorithm(), p.permissions(), p.exportable()),
        (A::Ed25519, P::SIGN, false)
    );
    assert_eq!((p.rsa_bits(), p.key_len()), (None, None));
    let p = GenerateKeyParams::builder()
        .algorithm(A::Aes256Key)
        .permissions(P::DATA_PROTECTION)
        .exportable(true)
        .build()
        .unwrap();
    assert!(p.exportable());
}

#[test]
fn generate_rejects_non_key_algorithms() {
    for a in [
        A::Sha256,
        A::Aes256Gcm,
        A::HmacSha256,
        A::HkdfSha256,
        A::Aes256Kw,
    ] {
        invalid(
            GenerateKeyParams::builder()
                .algorithm(a)
                .permissions(P::ALL)
                .build(),
        );
    }
    for a in A::ALL.iter().filter(|a| a.is_key_algorithm()) {
        let mut b = GenerateKeyParams::builder()
            .algorithm(*a)
            .permissions(P::applicable_to(*a));
        if a.is_rsa() {
            b = b.rsa_bits(2048);
        }
        if matches!(a, A::HmacKey | A::GenericSecret) {
            b = b.key_len(32);
        }
        b.build().unwrap_or_else(|e| panic!("{a:?}: {e}"));
    }
}

#[test]
fn generate_rsa_bits_rules() {
    let rsa = || {
        GenerateKeyParams::builder()
            .algorithm(A::RsaPssSha256)
            .permissions(P::SIGN)
    };
    invalid(rsa().build());
    for bad in [0, 1024, 2047, 2049, 8192] {
        invalid(rsa().rsa_bits(bad).build());
    }
    for good in [2048, 3072, 4096] {
        assert_eq!(rsa().rsa_bits(good).build().unwrap().rsa_bits(), Some(good));
    }
    invalid(
        GenerateKeyParams::builder()
            .algorithm(A::Ed25519)
            .permissions(P::SIGN)
            .rsa_bits(2048)
            .build(),
    );
}

#[test]
fn generate_key_len_rules() {
    let hmac = || {
        GenerateKeyParams::builder()
            .algorithm(A::HmacKey)
            .permissions(P::MAC)
    };
    invalid(hmac().build());
    invalid(hmac().key_len(0).build());
    invalid(hmac().key_len(limits::MIN_GENERATED_SECRET_LEN - 1).build());
    invalid(hmac().key_len(limits::MAX_SECRET_KEY_LEN + 1).build());
    assert_eq!(hmac().key_len(16).build().unwrap().key_len(), Some(16));
    assert_eq!(hmac().key_len(1024).build().unwrap().key_len(), Some(1024));
    invalid(
        GenerateKeyParams::builder()
            .algorithm(A::GenericSecret)
            .permissions(P::DERIVE)
            .build(),
    );
    invalid(
        GenerateKeyParams::builder()
            .algorithm(A::Aes256Key)
            .permissions(P::ENCRYPT)
            .key_len(32)
            .build(),
    );
}

#[test]
fn import_rules() {
    invalid(ImportKeyParams::builder().build());
    invalid(ImportKeyParams::builder().algorithm(A::Aes128Key).build());
    invalid(ImportKeyParams::builder().permissions(P::ENCRYPT).build());
    invalid(
        ImportKeyParams::builder()
            .algorithm(A::Sha256)
            .permissions(P::ENCRYPT)
            .build(),
    );
    let p = ImportKeyParams::builder()
        .algorithm(A::Aes128Key)
        .permissions(P::ENCRYPT)
        .build()
        .unwrap();
    assert_eq!(p.format(), KeyFormat::Raw);
    invalid(
        ImportKeyParams::builder()
            .algorithm(A::HmacKey)
            .permissions(P::MAC)
            .format(KeyFormat::Pkcs8)
            .build(),
    );
    let p = ImportKeyParams::builder()
        .algorithm(A::EcdsaP256Sha256)
        .permissions(P::SIGN)
        .format(KeyFormat::Pkcs8)
        .build()
        .unwrap();
    assert_eq!(p.format(), KeyFormat::Pkcs8);
}

#[test]
fn key_format_values() {
    for f in [
        KeyFormat::Raw,
        KeyFormat::Der,
        KeyFormat::Pkcs8,
        KeyFormat::SubjectPublicKeyInfo,
    ] {
        assert_eq!(KeyFormat::from_u8(f.as_u8()).unwrap(), f);
    }
    invalid(KeyFormat::from_u8(0));
    invalid(KeyFormat::from_u8(5));
}

fn hkdf() -> KdfParameters {
    KdfParameters::Hkdf {
        hash: A::Sha256,
        salt: vec![1; 13],
        info: vec![2; 10],
    }
}

#[test]
fn kdf_parameters_map_to_algorithms() {
    let cases = [
        (hkdf(), A::HkdfSha256),
        (
            KdfParameters::Hkdf {
                hash: A::Sha384,
                salt: vec![],
                info: vec![],
            },
            A::HkdfSha384,
        ),
        (
            KdfParameters::Pbkdf2 {
                salt: b"salt".to_vec(),
                iterations: 1,
            },
            A::Pbkdf2HmacSha256,
        ),
        (
            KdfParameters::Tls12Prf {
                label: b"test label".to_vec(),
                seed: vec![0; 64],
            },
            A::Tls12PrfSha256,
        ),
        (
            KdfParameters::Tls13ExpandLabel {
                label: b"key".to_vec(),
                context: vec![],
            },
            A::Tls13HkdfSha256,
        ),
        (
            KdfParameters::Sp800108CounterHmac {
                label: vec![],
                context: vec![],
            },
            A::Sp800108CtrHmacSha256,
        ),
    ];
    for (kdf, alg) in cases {
        assert_eq!(kdf.algorithm().unwrap(), alg);
        kdf.validate().unwrap();
    }
    invalid(
        KdfParameters::Hkdf {
            hash: A::Sha512,
            salt: vec![],
            info: vec![],
        }
        .algorithm(),
    );
    invalid(
        KdfParameters::Hkdf {
            hash: A::Aes256Key,
            salt: vec![],
            info: vec![],
        }
        .validate(),
    );
}

#[test]
fn kdf_parameters_validation() {
    invalid(
        KdfParameters::Pbkdf2 {
            salt: vec![],
            iterations: 0,
        }
        .validate(),
    );
    invalid(
        KdfParameters::Pbkdf2 {
            salt: vec![],
            iterations: limits::MAX_PBKDF2_ITERATIONS + 1,
        }
        .validate(),
    );
    KdfParameters::Pbkdf2 {
        salt: vec![],
        iterations: limits::MAX_PBKDF2_ITERATIONS,
    }
    .validate()
    .unwrap();
    invalid(
        KdfParameters::Tls12Prf {
            label: vec![],
            seed: vec![],
        }
        .validate(),
    );
    invalid(
        KdfParameters::Tls13ExpandLabel {
            label: vec![],
            context: vec![],
        }
        .validate(),
    );
    KdfParameters::Tls13ExpandLabel {
        label: vec![b'a'; 249],
        context: vec![0; 255],
    }
    .validate()
    .unwrap();
    invalid(
        KdfParameters::Tls13ExpandLabel {
            label: vec![b'a'; 250],
            context: vec![],
        }
        .validate(),
    );
    invalid(
        KdfParameters::Tls13ExpandLabel {
            label: vec![b'a'],
            context: vec![0; 256],
        }
        .validate(),
    );
    let big = vec![0; limits::MAX_KDF_INPUT_LEN + 1];
    invalid(
        KdfParameters::Hkdf {
            hash: A::Sha256,
            salt: big.clone(),
            info: vec![],
        }
        .validate(),
    );
    invalid(
        KdfParameters::Hkdf {
            hash: A::Sha256,
            salt: vec![],
            info: big.clone(),
        }
        .validate(),
    );
    invalid(
        KdfParameters::Sp800108CounterHmac {
            label: vec![],
            context: big,
        }
        .validate(),
    );
}

#[test]
fn derive_requires_fields_and_resolves_length() {
    invalid(DeriveKeyParams::builder().build());
    invalid(
        DeriveKeyParams::builder()
            .output_algorithm(A::Aes256Key)
            .permissions(P::ENCRYPT)
            .build(),
    );
    invalid(
        DeriveKeyParams::builder()
            .kdf(hkdf())
            .permissions(P::ENCRYPT)
            .build(),
    );
    invalid(
        DeriveKeyParams::builder()
            .kdf(hkdf())
            .output_algorithm(A::Aes256Key)
            .build(),
    );
    let base = || {
        DeriveKeyParams::builder()
            .kdf(hkdf())
            .permissions(P::ENCRYPT)
    };
    let p = base().output_algorithm(A::Aes128Key).build().unwrap();
    assert_eq!(
        (p.output_len(), p.kdf_algorithm(), p.exportable()),
        (16, A::HkdfSha256, false)
    );
    assert_eq!(p.kdf(), &hkdf());
    assert_eq!(
        base()
            .output_algorithm(A::Aes256Key)
            .output_len(32)
            .build()
            .unwrap()
            .output_len(),
        32
    );
    invalid(base().output_algorithm(A::Aes256Key).output_len(16).build());
    invalid(
        base()
            .output_algorithm(A::GenericSecret)
            .permissions(P::DERIVE)
            .build(),
    );
    invalid(
        base()
            .output_algorithm(A::GenericSecret)
            .permissions(P::DERIVE)
            .output_len(0)
            .build(),
    );
    assert_eq!(
        base()
            .output_algorithm(A::GenericSecret)
            .permissions(P::DERIVE)
            .output_len(42)
            .build()
            .unwrap()
            .output_len(),
        42
    );
    invalid(
        base()
            .output_algorithm(A::GenericSecret)
            .permissions(P::DERIVE)
            .output_len(limits::MAX_SECRET_KEY_LEN + 1)
            .build(),
    );
    // Only symmetric key types can be derived.
    invalid(base().output_algorithm(A::Ed25519).build());
    invalid(base().output_algorithm(A::Aes256Gcm).build());
    // Invalid KDF inputs surface through the builder.
    invalid(
        DeriveKeyParams::builder()
            .kdf(KdfParameters::Pbkdf2 {
                salt: vec![],
                iterations: 0,
            })
            .output_algorithm(A::Aes256Key)
            .permissions(P::ENCRYPT)
            .build(),
    );
}

#[test]
fn agree_rules() {
    let ok = || {
        AgreeKeyParams::builder()
            .algorithm(A::X25519)
            .peer_public(vec![9; 32])
            .permissions(P::DERIVE)
    };
    let p = ok().build().unwrap();
    assert_eq!(
        (p.algorithm(), p.output_algorithm(), p.peer_public().len()),
        (A::X25519, A::GenericSecret, 32)
    );
    invalid(
        AgreeKeyParams::builder()
            .peer_public(vec![9; 32])
            .permissions(P::DERIVE)
            .build(),
    );
    invalid(
        AgreeKeyParams::builder()
            .algorithm(A::X25519)
            .permissions(P::DERIVE)
            .build(),
    );
    invalid(
        AgreeKeyParams::builder()
            .algorithm(A::X25519)
            .peer_public(vec![9; 32])
            .build(),
    );
    invalid(ok().algorithm(A::Ed25519).build());
    invalid(ok().algorithm(A::MlKem768).build());
    invalid(ok().peer_public(vec![]).build());
    invalid(
        ok().peer_public(vec![4; limits::MAX_PEER_PUBLIC_LEN + 1])
            .build(),
    );
    invalid(ok().output_algorithm(A::Aes256Key).build());
    assert_eq!(
        ok().output_algorithm(A::HmacKey)
            .permissions(P::MAC)
            .build()
            .unwrap()
            .output_algorithm(),
        A::HmacKey
    );
}

#[test]
fn encapsulate_rules() {
    let ok = || {
        EncapsulateParams::builder()
            .algorithm(A::MlKem768)
            .permissions(P::DERIVE)
    };
    assert_eq!(ok().build().unwrap().output_algorithm(), A::GenericSecret);
    assert_eq!(
        ok().output_algorithm(A::Aes256Key)
            .permissions(P::ENCRYPT)
            .build()
            .unwrap()
            .output_algorithm(),
        A::Aes256Key
    );
    invalid(ok().output_algorithm(A::Aes128Key).build());
    invalid(ok().output_algorithm(A::Ed25519).build());
    invalid(ok().algorithm(A::X25519).build());
    invalid(EncapsulateParams::builder().algorithm(A::XWing).build());
    invalid(EncapsulateParams::builder().permissions(P::ENCRYPT).build());
}

#[test]
fn wrap_and_unwrap_rules() {
    assert_eq!(
        WrapKeyParams::new(A::Aes256Kw).unwrap().algorithm(),
        A::Aes256Kw
    );
    assert_eq!(
        WrapKeyParams::builder()
            .algorithm(A::Aes256Kwp)
            .build()
            .unwrap()
            .algorithm(),
        A::Aes256Kwp
    );
    invalid(WrapKeyParams::builder().build());
    invalid(WrapKeyParams::new(A::Aes256Gcm));
    let ok = || {
        UnwrapKeyParams::builder()
            .algorithm(A::Aes256Kw)
            .unwrapped_algorithm(A::HmacKey)
            .permissions(P::MAC)
    };
    let p = ok().exportable(true).build().unwrap();
    assert_eq!(
        (
            p.algorithm(),
            p.unwrapped_algorithm(),
            p.permissions(),
            p.exportable()
        ),
        (A::Aes256Kw, A::HmacKey, P::MAC, true)
    );
    invalid(ok().algorithm(A::Aes256Ctr).build());
    invalid(ok().unwrapped_algorithm(A::Sha256).build());
    invalid(
        UnwrapKeyParams::builder()
            .unwrapped_algorithm(A::HmacKey)
            .permissions(P::MAC)
            .build(),
    );
    invalid(
        UnwrapKeyParams::builder()
            .algorithm(A::Aes256Kw)
            .permissions(P::MAC)
            .build(),
    );
    invalid(
        UnwrapKeyParams::builder()
            .algorithm(A::Aes256Kw)
            .unwrapped_algorithm(A::HmacKey)
            .build(),
    );
}

#[test]
fn base_context_timeouts() {
    let c = BaseContextConfig::builder()
        .algorithm(A::Sha256)
        .build()
        .unwrap();
    assert_eq!(c.timeout(), Timeout::Default);
    assert_eq!(
        c.timeout().effective_ms_or_design_default(),
        Some(limits::DEFAULT_TIMEOUT_MS)
    );
    assert_eq!(limits::DEFAULT_TIMEOUT_MS, 5000);
    let c = BaseContextConfig::builder()
        .algorithm(A::Sha256)
        .timeout_ms(20)
        .build()
        .unwrap();
    assert_eq!(c.timeout().effective_ms(5000), Some(20));
    let c = BaseContextConfig::builder()
        .algorithm(A::Sha256)
        .disable_timeout()
        .build()
        .unwrap();
    assert_eq!(c.timeout(), Timeout::Disabled);
    assert_eq!(c.timeout().effective_ms(5000), None);
    invalid(
        BaseContextConfig::builder()
            .algorithm(A::Sha256)
            .timeout_ms(0)
            .build(),
    );
}

#[test]
fn base_context_key_rules() {
    invalid(BaseContextConfig::builder().build());
    invalid(
        BaseContextConfig::builder()
            .algorithm(A::Sha256)
            .key(key_id())
            .build(),
    );
    invalid(
        BaseContextConfig::builder()
            .algorithm(A::HmacSha256)
            .build(),
    );
    let c = BaseContextConfig::builder()
        .algorithm(A::HmacSha256)
        .key(key_id())
        .build()
        .unwrap();
    assert_eq!(c.key(), Some(key_id()));
    let cert = ResourceId::new(1, ResourceType::Certificate, Persistence::Persistent, 0);
    invalid(
        BaseContextConfig::builder()
            .algorithm(A::Ed25519)
            .key(cert)
            .build(),
    );
    // KDFs, key types, KEMs and agreements have no streaming context.
    for a in [
        A::HkdfSha256,
        A::Aes256Key,
        A::MlKem768,
        A::X25519,
        A::Aes256Kw,
    ] {
        invalid(
            BaseContextConfig::builder()
                .algorithm(a)
                .key(key_id())
                .build(),
        );
    }
}

#[test]
fn context_config_direction_rules() {
    let aead = || {
        ContextConfig::builder()
            .algorithm(A::ChaCha20Poly1305)
            .key(key_id())
    };
    invalid(aead().build());
    let c = aead()
        .direction(CipherDirection::Encrypt)
        .timeout_ms(7)
        .build()
        .unwrap();
    assert_eq!(c.direction(), Some(CipherDirection::Encrypt));
    assert_eq!(c.timeout(), Timeout::Millis(7));
    assert_eq!(c.algorithm(), A::ChaCha20Poly1305);
    assert_eq!(c.key(), Some(key_id()));
    assert_eq!(c.base().algorithm(), A::ChaCha20Poly1305);
    invalid(
        ContextConfig::builder()
            .algorithm(A::Aes256Ctr)
            .key(key_id())
            .build(),
    );
    ContextConfig::builder()
        .algorithm(A::Aes256CbcPkcs7)
        .key(key_id())
        .direction(CipherDirection::Decrypt)
        .disable_timeout()
        .build()
        .unwrap();
    invalid(
        ContextConfig::builder()
            .algorithm(A::Sha256)
            .direction(CipherDirection::Encrypt)
            .build(),
    );
    invalid(
        ContextConfig::builder()
            .algorithm(A::Ed25519)
            .key(key_id())
            .direction(CipherDirection::Encrypt)
            .build(),
    );
    let base = BaseContextConfig::builder()
        .algorithm(A::Ed25519)
        .key(key_id())
        .build()
        .unwrap();
    assert_eq!(ContextConfig::new(base, None).unwrap().direction(), None);
    assert_eq!(
        CipherDirection::from_u8(2).unwrap(),
        CipherDirection::Decrypt
    );
    invalid(CipherDirection::from_u8(0));
}
