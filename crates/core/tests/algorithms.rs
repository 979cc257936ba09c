//! Algorithm names, classes, metadata and `AlgorithmId` edge cases.

use warden_core::{Algorithm, AlgorithmClass, AlgorithmId, ErrorCode};

/// Canonical names exactly as issue 3 lists them, with the class each must have.
const ISSUE_NAMES: &[(&str, AlgorithmClass)] = &[
    ("SHA-256", AlgorithmClass::Hash),
    ("SHA-384", AlgorithmClass::Hash),
    ("SHA-512", AlgorithmClass::Hash),
    ("SHA3-256", AlgorithmClass::Hash),
    ("SHA3-384", AlgorithmClass::Hash),
    ("SHA3-512", AlgorithmClass::Hash),
    ("HMAC-SHA256", AlgorithmClass::Mac),
    ("HMAC-SHA384", AlgorithmClass::Mac),
    ("HMAC-SHA512", AlgorithmClass::Mac),
    ("AES-128-GCM", AlgorithmClass::Aead),
    ("AES-256-GCM", AlgorithmClass::Aead),
    ("CHACHA20-POLY1305", AlgorithmClass::Aead),
    ("AES-256-CTR", AlgorithmClass::Cipher),
    ("AES-256-CBC-PKCS7", AlgorithmClass::Cipher),
    ("AES-256-KW", AlgorithmClass::KeyWrap),
    ("AES-256-KWP", AlgorithmClass::KeyWrap),
    ("HKDF-SHA256", AlgorithmClass::Kdf),
    ("HKDF-SHA384", AlgorithmClass::Kdf),
    ("PBKDF2-HMAC-SHA256", AlgorithmClass::Kdf),
    ("TLS12-PRF-SHA256", AlgorithmClass::Kdf),
    ("TLS13-HKDF-SHA256", AlgorithmClass::Kdf),
    ("SP800-108-CTR-HMAC-SHA256", AlgorithmClass::Kdf),
    ("ED25519", AlgorithmClass::Signature),
    ("ECDSA-P256-SHA256", AlgorithmClass::Signature),
    ("ECDSA-P384-SHA384", AlgorithmClass::Signature),
    ("RSA-PSS-SHA256", AlgorithmClass::Signature),
    ("RSA-OAEP-SHA256", AlgorithmClass::AsymmetricEncryption),
    ("X25519", AlgorithmClass::KeyAgreement),
    ("ECDH-P256", AlgorithmClass::KeyAgreement),
    ("ECDH-P384", AlgorithmClass::KeyAgreement),
    ("ML-KEM-512", AlgorithmClass::Kem),
    ("ML-KEM-768", AlgorithmClass::Kem),
    ("ML-KEM-1024", AlgorithmClass::Kem),
    ("ML-DSA-44", AlgorithmClass::Signature),
    ("ML-DSA-65", AlgorithmClass::Signature),
    ("ML-DSA-87", AlgorithmClass::Signature),
    ("SLH-DSA-SHA2-128S", AlgorithmClass::Signature),
    ("SLH-DSA-SHA2-128F", AlgorithmClass::Signature),
    ("X-WING", AlgorithmClass::Kem),
    ("AES-128", AlgorithmClass::KeyType),
    ("AES-256", AlgorithmClass::KeyType),
    ("HMAC", AlgorithmClass::KeyType),
    ("GENERIC-SECRET", AlgorithmClass::KeyType),
];

/// Names issue 15 added (AES-192, and AES-128 in every mode AES-256 has).
const ISSUE_15_NAMES: &[(&str, AlgorithmClass, usize)] = &[
    ("AES-192", AlgorithmClass::KeyType, 24),
    ("AES-192-GCM", AlgorithmClass::Aead, 24),
    ("AES-128-CTR", AlgorithmClass::Cipher, 16),
    ("AES-192-CTR", AlgorithmClass::Cipher, 24),
    ("AES-128-CBC-PKCS7", AlgorithmClass::Cipher, 16),
    ("AES-192-CBC-PKCS7", AlgorithmClass::Cipher, 24),
    ("AES-128-KW", AlgorithmClass::KeyWrap, 16),
    ("AES-192-KW", AlgorithmClass::KeyWrap, 24),
    ("AES-128-KWP", AlgorithmClass::KeyWrap, 16),
    ("AES-192-KWP", AlgorithmClass::KeyWrap, 24),
];

/// RSA names issue 15 added; each accepts any key of its scheme.
const ISSUE_15_RSA: &[(&str, AlgorithmClass)] = &[
    ("RSA-PSS-SHA384", AlgorithmClass::Signature),
    ("RSA-PSS-SHA512", AlgorithmClass::Signature),
    ("RSA-OAEP-SHA1", AlgorithmClass::AsymmetricEncryption),
    ("RSA-OAEP-SHA384", AlgorithmClass::AsymmetricEncryption),
    ("RSA-OAEP-SHA512", AlgorithmClass::AsymmetricEncryption),
];

#[test]
fn ed25519ph_takes_ed25519_keys_and_prehashes_with_sha512() {
    let a = Algorithm::from_name("ED25519PH").unwrap();
    assert_eq!(a, Algorithm::Ed25519ph);
    assert_eq!(a.class(), AlgorithmClass::Signature);
    assert!(a.accepts_key(Algorithm::Ed25519) && Algorithm::Ed25519.accepts_key(a));
    assert!(!a.accepts_key(Algorithm::EcdsaP256Sha256));
    assert_eq!(a.hash(), Some(Algorithm::Sha512));
}

#[test]
fn issue_15_rsa_names_take_any_key_of_their_scheme() {
    for &(name, class) in ISSUE_15_RSA {
        let a = Algorithm::from_name(name).unwrap();
        assert_eq!(a.class(), class);
        assert!(a.is_rsa());
        let (same, other) = if class == AlgorithmClass::Signature {
            (Algorithm::RsaPssSha256, Algorithm::RsaOaepSha256)
        } else {
            (Algorithm::RsaOaepSha256, Algorithm::RsaPssSha256)
        };
        assert!(a.accepts_key(same) && a.accepts_key(a), "{name}");
        assert!(
            !a.accepts_key(other),
            "{name}: PSS and OAEP keys stay apart"
        );
    }
    assert_eq!(Algorithm::RsaPssSha512.hash(), Some(Algorithm::Sha512));
}

#[test]
fn issue_15_aes_names_have_class_key_length_and_key_type() {
    for &(name, class, key_len) in ISSUE_15_NAMES {
        let a = Algorithm::from_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.class(), class, "{name}");
        assert_eq!(a.key_len(), Some(key_len), "{name}");
        let key = if key_len == 16 {
            Algorithm::Aes128Key
        } else {
            Algorithm::Aes192Key
        };
        if class != AlgorithmClass::KeyType {
            assert_eq!(a.key_algorithms(), &[key], "{name}");
            assert!(!a.accepts_key(Algorithm::Aes256Key), "{name}");
        }
    }
    assert_eq!(Algorithm::Aes192Gcm.aead_lengths().unwrap().key_len, 24);
    assert_eq!(Algorithm::Aes192Ctr.iv_len(), Some(16));
    assert_eq!(Algorithm::Aes128Kwp.block_len(), Some(8));
}

#[test]
fn every_issue_name_resolves_with_the_right_class() {
    for &(name, class) in ISSUE_NAMES {
        let a = Algorithm::from_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(a.name(), name);
        assert_eq!(a.class(), class, "{name}");
        assert_eq!(a.to_string(), name);
        assert_eq!(name.parse::<Algorithm>().unwrap(), a);
    }
}

#[test]
fn all_names_are_unique_upper_case_and_round_trip_through_ids() {
    for (i, a) in Algorithm::ALL.iter().enumerate() {
        assert!(!a.name().chars().any(|c| c.is_ascii_lowercase()), "{a:?}");
        assert!(
            Algorithm::ALL[i + 1..].iter().all(|b| b.name() != a.name()),
            "dup {a:?}"
        );
        let id = a.id();
        assert_eq!(id.as_str(), a.name());
        assert_eq!(Algorithm::from_id(&id).unwrap(), *a);
        assert_eq!(Algorithm::try_from(AlgorithmId::from(*a)).unwrap(), *a);
    }
    // Only one addition beyond issue 3's list, the CHACHA20 key type, then issue 15's names.
    assert_eq!(
        Algorithm::ALL.len(),
        ISSUE_NAMES.len() + 1 + ISSUE_15_NAMES.len() + ISSUE_15_RSA.len() + 1 // ED25519PH
            + 3 // HASH-ML-DSA-44/65/87-SHA512
    );
    assert_eq!(
        Algorithm::from_name("CHACHA20").unwrap(),
        Algorithm::ChaCha20Key
    );
}

#[test]
fn unknown_or_miscased_names_are_unsupported() {
    for name in ["aes-256-gcm", "SHA256", "", "AES-256-GCM ", "MD5"] {
        assert_eq!(
            Algorithm::from_name(name).unwrap_err().code(),
            ErrorCode::UnsupportedAlgorithm,
            "{name:?}"
        );
    }
    let id = AlgorithmId::new("BLAKE3").unwrap();
    assert_eq!(
        Algorithm::from_id(&id).unwrap_err().code(),
        ErrorCode::UnsupportedAlgorithm
    );
}

#[test]
fn key_algorithm_mapping() {
    use Algorithm as A;
    assert_eq!(A::Aes256Gcm.key_algorithms(), &[A::Aes256Key]);
    assert_eq!(A::Aes128Gcm.key_algorithms(), &[A::Aes128Key]);
    assert!(A::Aes256Gcm.accepts_key(A::Aes256Key));
    assert!(!A::Aes256Gcm.accepts_key(A::Aes128Key));
    assert!(!A::Aes128Gcm.accepts_key(A::Aes256Key));
    assert_eq!(A::HmacSha256.key_algorithms(), &[A::HmacKey]);
    assert!(!A::HmacSha256.accepts_key(A::Aes256Key));
    // Issue 15: an Ed25519 key also signs ED25519PH.
    assert_eq!(A::Ed25519.key_algorithms(), &[A::Ed25519, A::Ed25519ph]);
    assert!(!A::Ed25519.accepts_key(A::EcdsaP256Sha256));
    // HashML-DSA signs with the ML-DSA key of its parameter set and is no key type itself.
    assert_eq!(A::HashMlDsa65Sha512.key_algorithms(), &[A::MlDsa65]);
    assert!(!A::HashMlDsa44Sha512.accepts_key(A::MlDsa65));
    assert!(!A::HashMlDsa87Sha512.is_key_algorithm());
    assert_eq!(A::ChaCha20Poly1305.key_algorithms(), &[A::ChaCha20Key]);
    assert!(A::HkdfSha256.accepts_key(A::GenericSecret));
    assert!(!A::HkdfSha256.accepts_key(A::Aes256Key));
    for a in Algorithm::ALL {
        for k in a.key_algorithms() {
            assert!(k.is_key_algorithm(), "{a:?} accepts non-key {k:?}");
        }
        if a.is_key_algorithm() {
            assert!(a.accepts_key(*a), "{a:?}");
        }
        assert_eq!(
            a.key_algorithms().is_empty(),
            a.class() == AlgorithmClass::Hash,
            "{a:?}"
        );
    }
}

#[test]
fn digest_and_hash_metadata() {
    use Algorithm as A;
    assert_eq!(A::Sha256.digest_len(), Some(32));
    assert_eq!(A::Sha3_384.digest_len(), Some(48));
    assert_eq!(A::HmacSha512.digest_len(), Some(64));
    assert_eq!(A::Aes256Gcm.digest_len(), None);
    for a in Algorithm::ALL {
        let is_digest = matches!(a.class(), AlgorithmClass::Hash | AlgorithmClass::Mac);
        assert_eq!(a.digest_len().is_some(), is_digest, "{a:?}");
        if let Some(h) = a.hash() {
            assert_eq!(h.class(), AlgorithmClass::Hash, "{a:?}");
        }
        if a.class() == AlgorithmClass::Mac || a.class() == AlgorithmClass::Kdf {
            let h = a.hash().unwrap();
            if a.class() == AlgorithmClass::Mac {
                assert_eq!(a.digest_len(), h.digest_len());
            }
        }
    }
    assert_eq!(A::HkdfSha384.hash(), Some(A::Sha384));
    assert_eq!(A::EcdsaP384Sha384.hash(), Some(A::Sha384));
    assert_eq!(A::Ed25519.hash(), None);
}

#[test]
fn aead_cipher_and_kem_lengths() {
    use Algorithm as A;
    let gcm = A::Aes256Gcm.aead_lengths().unwrap();
    assert_eq!((gcm.key_len, gcm.nonce_len, gcm.tag_len), (32, 12, 16));
    let gcm128 = A::Aes128Gcm.aead_lengths().unwrap();
    assert_eq!(gcm128.key_len, 16);
    let chacha = A::ChaCha20Poly1305.aead_lengths().unwrap();
    assert_eq!(
        (chacha.key_len, chacha.nonce_len, chacha.tag_len),
        (32, 12, 16)
    );
    for a in Algorithm::ALL {
        assert_eq!(
            a.aead_lengths().is_some(),
            a.class() == AlgorithmClass::Aead,
            "{a:?}"
        );
        assert_eq!(
            a.kem_lengths().is_some(),
            a.class() == AlgorithmClass::Kem,
            "{a:?}"
        );
        // The key an operation takes has the length the operation expects.
        if let (Some(len), [key]) = (a.key_len(), a.key_algorithms()) {
            assert_eq!(key.key_len(), Some(len), "{a:?}");
        }
    }
    assert_eq!(A::Aes256Ctr.iv_len(), Some(16));
    assert_eq!(A::Aes256CbcPkcs7.iv_len(), Some(16));
    assert_eq!(A::Aes256Gcm.iv_len(), Some(12));
    assert_eq!(A::Sha256.iv_len(), None);
    assert_eq!(A::HmacKey.key_len(), None);
    assert_eq!(A::GenericSecret.key_len(), None);
    let mlkem = A::MlKem768.kem_lengths().unwrap();
    assert_eq!(
        (
            mlkem.public_key_len,
            mlkem.ciphertext_len,
            mlkem.shared_secret_len
        ),
        (1184, 1088, 32)
    );
    let xwing = A::XWing.kem_lengths().unwrap();
    assert_eq!((xwing.public_key_len, xwing.ciphertext_len), (1216, 1120));
}

#[test]
fn algorithm_id_length_edges() {
    let n63 = "A".repeat(63);
    let n64 = "B".repeat(64);
    let n65 = "C".repeat(65);
    assert_eq!(AlgorithmId::new(&n63).unwrap().as_str(), n63);
    let id64 = AlgorithmId::new(&n64).unwrap();
    assert_eq!(id64.as_str(), n64);
    assert_eq!(id64.len(), AlgorithmId::CAPACITY);
    let err = AlgorithmId::new(&n65).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ParamTruncated);
    assert_eq!(
        AlgorithmId::new(&"D".repeat(1000)).unwrap_err().code(),
        ErrorCode::ParamTruncated
    );
    assert_eq!(AlgorithmId::try_from("X").unwrap().len(), 1);
}

#[test]
fn algorithm_id_rejects_empty_and_non_ascii() {
    for bad in ["", "AES-256-GCMé", "AES 256", "AES\t256", "AES\0", "ÄES"] {
        assert_eq!(
            AlgorithmId::new(bad).unwrap_err().code(),
            ErrorCode::InvalidArgument,
            "{bad:?}"
        );
    }
    assert_eq!(
        AlgorithmId::from_bytes(&[0xFF, 0x41]).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        AlgorithmId::from_bytes(b"SHA-256").unwrap(),
        Algorithm::Sha256.id()
    );
    // A 65-byte non-ASCII name is reported as too long first: length is checked before content.
    assert_eq!(
        AlgorithmId::from_bytes(&[0xFF; 65]).unwrap_err().code(),
        ErrorCode::ParamTruncated
    );
}

#[test]
fn algorithm_id_is_copy_and_compares_by_name() {
    let a = AlgorithmId::new("SHA-256").unwrap();
    let b = a; // Copy
    assert_eq!(a, b);
    assert_ne!(a, AlgorithmId::new("SHA-2566").unwrap());
    assert_ne!(a, AlgorithmId::new("SHA-25").unwrap());
    assert_eq!(format!("{a}"), "SHA-256");
    assert_eq!(format!("{a:?}"), "AlgorithmId(\"SHA-256\")");
    assert_eq!(core::mem::size_of::<AlgorithmId>(), 65);
}

#[test]
fn algorithm_id_accepts_exactly_printable_ascii_bytes() {
    for b in 0u8..=255 {
        let name = [b'A', b, b'Z'];
        let r = AlgorithmId::from_bytes(&name);
        if (0x21..=0x7E).contains(&b) {
            assert_eq!(r.unwrap().as_bytes(), &name, "{b:#x}");
        } else {
            assert_eq!(r.unwrap_err().code(), ErrorCode::InvalidArgument, "{b:#x}");
        }
    }
}
