//! Permission bit values (from seed-facts), presets, and CLI name parsing/formatting.

use warden_core::{ErrorCode, KeyOperationPermission as P};

/// Bit values exactly as seed-facts lists them.
const BITS: &[(&str, P, u32)] = &[
    ("encrypt", P::ENCRYPT, 0x1),
    ("decrypt", P::DECRYPT, 0x2),
    ("wrap", P::WRAP, 0x4),
    ("unwrap", P::UNWRAP, 0x8),
    ("sign", P::SIGN, 0x10),
    ("verify", P::VERIFY, 0x20),
    ("mac", P::MAC, 0x40),
    ("agree", P::AGREE, 0x80),
    ("derive", P::DERIVE, 0x100),
    ("export", P::EXPORT, 0x200),
    ("import", P::IMPORT, 0x400),
    // Added for issue 11: caller-chosen encryption nonces are a separate, dangerous right.
    ("caller-nonce", P::CALLER_NONCE, 0x800),
];

#[test]
fn bit_and_preset_values_match_the_seed() {
    for &(name, p, v) in BITS {
        assert_eq!(p.bits(), v, "{name}");
        assert_eq!(P::parse(name).unwrap(), p);
        assert_eq!(p.to_string(), name);
    }
    assert_eq!(P::DATA_PROTECTION.bits(), 0x00F);
    assert_eq!(P::AUTHENTICATION.bits(), 0x0F0);
    assert_eq!(P::FULL_LIFECYCLE.bits(), 0x700);
    assert_eq!(P::ALL.bits(), 0xFFF);
    assert_eq!(
        P::DATA_PROTECTION,
        P::ENCRYPT | P::DECRYPT | P::WRAP | P::UNWRAP
    );
    assert_eq!(P::AUTHENTICATION, P::SIGN | P::VERIFY | P::MAC | P::AGREE);
    assert_eq!(P::FULL_LIFECYCLE, P::DERIVE | P::EXPORT | P::IMPORT);
    assert_eq!(
        P::DATA_PROTECTION | P::AUTHENTICATION | P::FULL_LIFECYCLE | P::CALLER_NONCE,
        P::ALL
    );
    // No preset hands out the dangerous bit by accident.
    for preset in [P::DATA_PROTECTION, P::AUTHENTICATION, P::FULL_LIFECYCLE] {
        assert!(!preset.contains(P::CALLER_NONCE));
    }
}

#[test]
fn from_bits_rejects_unknown_bits() {
    assert_eq!(P::from_bits(0xFFF).unwrap(), P::ALL);
    assert_eq!(P::from_bits(0).unwrap(), P::NONE);
    for bad in [0x1000, 0x2000, 0x8000_0000, u32::MAX, 0x1801] {
        assert_eq!(
            P::from_bits(bad).unwrap_err().code(),
            ErrorCode::InvalidArgument,
            "{bad:#x}"
        );
        assert!(P::try_from(bad).is_err());
    }
}

#[test]
fn contains_and_set_operations() {
    let sv = P::SIGN | P::VERIFY;
    assert!(sv.contains(P::SIGN));
    assert!(!sv.contains(P::ENCRYPT));
    assert!(!sv.contains(P::SIGN | P::ENCRYPT));
    assert!(sv.contains(P::NONE));
    assert!(P::ALL.contains(sv));
    assert!(P::AUTHENTICATION.contains(sv));
    assert_eq!(sv & P::SIGN, P::SIGN);
    assert_eq!(sv.difference(P::SIGN), P::VERIFY);
    assert!(P::NONE.is_empty());
    let mut p = P::NONE;
    p |= P::EXPORT;
    assert_eq!(p, P::EXPORT);
}

#[test]
fn parse_lists_and_presets() {
    assert_eq!(P::parse("sign,verify").unwrap(), P::SIGN | P::VERIFY);
    assert_eq!(P::parse(" sign , verify ").unwrap(), P::SIGN | P::VERIFY);
    assert_eq!(P::parse("sign,sign").unwrap(), P::SIGN);
    assert_eq!(P::parse("all").unwrap(), P::ALL);
    assert_eq!(P::parse("none").unwrap(), P::NONE);
    assert_eq!(P::parse("data-protection").unwrap(), P::DATA_PROTECTION);
    assert_eq!(P::parse("authentication").unwrap(), P::AUTHENTICATION);
    assert_eq!(P::parse("full-lifecycle").unwrap(), P::FULL_LIFECYCLE);
    assert_eq!(
        P::parse("data-protection,export").unwrap(),
        P::DATA_PROTECTION | P::EXPORT
    );
    assert_eq!("mac,derive".parse::<P>().unwrap(), P::MAC | P::DERIVE);
}

#[test]
fn parse_rejects_bad_input() {
    for bad in [
        "",
        "  ",
        "sing",
        "sign,",
        ",sign",
        "sign,,verify",
        "SIGN",
        "sign;verify",
        "0x10",
    ] {
        assert_eq!(
            P::parse(bad).unwrap_err().code(),
            ErrorCode::InvalidArgument,
            "{bad:?}"
        );
    }
}

#[test]
fn format_then_parse_round_trips_for_every_value() {
    for bits in 0..=0xFFF {
        let p = P::from_bits(bits).unwrap();
        let s = p.to_string();
        assert_eq!(P::parse(&s).unwrap(), p, "{bits:#x} -> {s}");
    }
    assert_eq!(P::ALL.to_string(), "all");
    assert_eq!(P::NONE.to_string(), "none");
    assert_eq!((P::VERIFY | P::SIGN).to_string(), "sign,verify");
    assert_eq!(
        format!("{:?}", P::SIGN),
        "KeyOperationPermission(0x010: sign)"
    );
}

/// Issue 11 item 4: which bits each key type may carry. The crossings the rule exists for:
/// an HMAC key must not derive (PBKDF2 with one iteration is a MAC), a KDF input must not MAC,
/// and only nonce-taking symmetric ciphers know `caller-nonce`.
#[test]
fn applicable_bits_per_key_type() {
    use warden_core::Algorithm as A;
    let life = P::EXPORT | P::IMPORT;
    let cipher = P::ENCRYPT | P::DECRYPT | P::CALLER_NONCE | life;
    let expect: &[(A, P)] = &[
        (A::Aes256Key, cipher | P::WRAP | P::UNWRAP),
        // Issue 15: AES-KW/KWP under every AES key size.
        (A::Aes128Key, cipher | P::WRAP | P::UNWRAP),
        (A::Aes192Key, cipher | P::WRAP | P::UNWRAP),
        (A::ChaCha20Key, cipher),
        (A::HmacKey, P::MAC | life),
        (A::GenericSecret, P::DERIVE | life),
        (A::Ed25519, P::SIGN | P::VERIFY | life),
        (A::MlDsa65, P::SIGN | P::VERIFY | life),
        (A::RsaOaepSha256, P::ENCRYPT | P::DECRYPT | life),
        (A::MlKem768, P::ENCRYPT | P::DECRYPT | life),
        (A::X25519, P::AGREE | life),
        (A::Aes256Gcm, P::NONE),
        (A::Sha256, P::NONE),
    ];
    for &(alg, bits) in expect {
        assert_eq!(P::applicable_to(alg), bits, "{alg}");
    }
    for alg in A::ALL.iter().copied() {
        let ok = P::applicable_to(alg);
        assert!(ok.check_applicable(alg).is_ok(), "{alg}");
        assert!(P::NONE.check_applicable(alg).is_ok(), "{alg}");
        if alg.is_key_algorithm() {
            // Every key type refuses some bit, so `all` never passes.
            assert!(P::ALL.check_applicable(alg).is_err(), "{alg}");
        }
        // Each bit outside the set is refused with a detail naming exactly that bit.
        for &(name, bit) in P::NAMED_BITS {
            let r = (ok | bit).check_applicable(alg);
            if ok.contains(bit) {
                assert!(r.is_ok(), "{alg} {name}");
            } else {
                let e = r.unwrap_err();
                assert_eq!(e.code(), ErrorCode::InvalidArgument, "{alg} {name}");
                assert!(
                    e.detail().contains(&format!("`{name}`")),
                    "{alg} {name}: {e}"
                );
            }
        }
    }
    // The two crossings of the issue.
    assert!((P::MAC | P::DERIVE).check_applicable(A::HmacKey).is_err());
    assert!(
        (P::DERIVE | P::SIGN)
            .check_applicable(A::GenericSecret)
            .is_err()
    );
    assert!(
        (P::DERIVE | P::MAC)
            .check_applicable(A::GenericSecret)
            .is_err()
    );
}
