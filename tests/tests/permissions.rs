//! The permission matrix: every key-using operation succeeds with exactly its permission bit
//! and fails with `KeyOperationNotPermitted` when only that bit is missing (seed decision 8:
//! enforced when the context is created, or when the key-management call runs).

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use warden_client::*;
use warden_e2e::Daemon;

type P = KeyOperationPermission;

/// One row: key type, the bit the operation needs, and the operation itself.
struct Case {
    name: &'static str,
    key: Algorithm,
    needs: P,
    op: fn(&CryptoStack, ResourceId) -> Result<()>,
}

fn ctx(alg: Algorithm, key: ResourceId, dir: Option<CipherDirection>) -> ContextConfig {
    let b = ContextConfig::builder().algorithm(alg).key(key);
    match dir {
        Some(d) => b.direction(d).build().unwrap(),
        None => b.build().unwrap(),
    }
}

fn secret_out() -> (P, bool) {
    (P::EXPORT, true)
}

const CASES: &[Case] = &[
    Case {
        name: "mac",
        key: Algorithm::HmacKey,
        needs: P::MAC,
        op: |s, k| {
            s.create_mac_context(&ctx(Algorithm::HmacSha256, k, None))
                .map(drop)
        },
    },
    Case {
        name: "sign",
        key: Algorithm::Ed25519,
        needs: P::SIGN,
        op: |s, k| {
            s.create_sign_context(&ctx(Algorithm::Ed25519, k, None))
                .map(drop)
        },
    },
    Case {
        name: "verify",
        key: Algorithm::EcdsaP256Sha256,
        needs: P::VERIFY,
        op: |s, k| {
            s.create_verify_context(&ctx(Algorithm::EcdsaP256Sha256, k, None))
                .map(drop)
        },
    },
    Case {
        name: "aead encrypt",
        key: Algorithm::Aes256Key,
        needs: P::ENCRYPT,
        op: |s, k| {
            let c = ctx(Algorithm::Aes256Gcm, k, Some(CipherDirection::Encrypt));
            s.create_aead_context(&c).map(drop)
        },
    },
    Case {
        name: "aead decrypt",
        key: Algorithm::Aes256Key,
        needs: P::DECRYPT,
        op: |s, k| {
            let c = ctx(Algorithm::Aes256Gcm, k, Some(CipherDirection::Decrypt));
            s.create_aead_context(&c).map(drop)
        },
    },
    Case {
        name: "cipher encrypt",
        key: Algorithm::Aes256Key,
        needs: P::ENCRYPT,
        op: |s, k| {
            let c = ctx(Algorithm::Aes256Ctr, k, Some(CipherDirection::Encrypt));
            s.create_cipher_context(&c).map(drop)
        },
    },
    Case {
        name: "derive",
        key: Algorithm::GenericSecret,
        needs: P::DERIVE,
        op: |s, k| {
            let (perms, exp) = secret_out();
            let p = DeriveKeyParams::builder()
                .kdf(KdfParameters::Hkdf {
                    hash: Algorithm::Sha256,
                    salt: vec![],
                    info: vec![],
                })
                .output_algorithm(Algorithm::GenericSecret)
                .output_len(32)
                .permissions(perms)
                .exportable(exp)
                .build()
                .unwrap();
            s.key_management().derive_key(k, &p).map(drop)
        },
    },
    Case {
        name: "agree",
        key: Algorithm::X25519,
        needs: P::AGREE,
        op: |s, k| {
            let p = AgreeKeyParams::builder()
                .algorithm(Algorithm::X25519)
                .peer_public(vec![9u8; 32])
                .output_algorithm(Algorithm::GenericSecret)
                .permissions(P::EXPORT)
                .build()
                .unwrap();
            s.key_management().agree_key(k, &p).map(drop)
        },
    },
    Case {
        name: "wrap",
        key: Algorithm::Aes256Key,
        needs: P::WRAP,
        op: |s, kek| {
            let km = s.key_management();
            // Wrapping is a form of export: the target must be exportable.
            let target = km.generate_key(&aes(P::ALL, true)).unwrap();
            let wp = WrapKeyParams::new(Algorithm::Aes256Kw).unwrap();
            km.wrap_key(kek, target.id(), &wp).map(drop)
        },
    },
    Case {
        name: "unwrap",
        key: Algorithm::Aes256Key,
        needs: P::UNWRAP,
        op: |s, kek| {
            // Wrap with a separate all-permission KEK is not possible (different key), so
            // unwrap garbage: the permission check comes before the cryptography.
            let up = UnwrapKeyParams::builder()
                .algorithm(Algorithm::Aes256Kw)
                .unwrapped_algorithm(Algorithm::Aes256Key)
                .permissions(P::ENCRYPT)
                .build()
                .unwrap();
            match s.key_management().unwrap_key(kek, &[0u8; 40], &up) {
                Err(e) if e.code() == ErrorCode::WrapUnwrapFailed => Ok(()),
                other => other.map(drop),
            }
        },
    },
    Case {
        name: "encapsulate",
        key: Algorithm::MlKem768,
        needs: P::ENCRYPT,
        op: |s, k| s.key_management().encapsulate(k, &kem()).map(drop),
    },
    Case {
        name: "decapsulate",
        key: Algorithm::MlKem768,
        needs: P::DECRYPT,
        op: |s, k| {
            s.key_management()
                .decapsulate(k, &[0u8; 1088], &kem())
                .map(drop)
        },
    },
];

fn kem() -> EncapsulateParams {
    EncapsulateParams::builder()
        .algorithm(Algorithm::MlKem768)
        .output_algorithm(Algorithm::GenericSecret)
        .permissions(P::DERIVE)
        .build()
        .unwrap()
}

/// An AES-256 key with `perms` cut to what the type can carry (`P::ALL` = all of those).
fn aes(perms: P, exportable: bool) -> GenerateKeyParams {
    GenerateKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(perms & P::applicable_to(Algorithm::Aes256Key))
        .exportable(exportable)
        .build()
        .unwrap()
}

/// A key of `alg` with `perms` cut to what the type can carry: `P::ALL.difference(bit)` is
/// "everything this key may do but `bit`" (generation refuses bits a type cannot use).
fn key_with(stack: &CryptoStack, alg: Algorithm, perms: P, exportable: bool) -> ResourceGuard {
    let mut b = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(perms & P::applicable_to(alg))
        .exportable(exportable);
    if matches!(alg, Algorithm::HmacKey | Algorithm::GenericSecret) {
        b = b.key_len(32);
    }
    stack
        .key_management()
        .generate_key(&b.build().unwrap())
        .unwrap()
}

#[test]
fn each_operation_needs_exactly_its_bit() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    for c in CASES {
        let without = key_with(&stack, c.key, P::ALL.difference(c.needs), false);
        let err = (c.op)(&stack, without.id()).unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::KeyOperationNotPermitted,
            "{}: {err}",
            c.name
        );
        let only = key_with(&stack, c.key, c.needs, false);
        (c.op)(&stack, only.id()).unwrap_or_else(|e| panic!("{} with only its bit: {e}", c.name));
    }
}

#[test]
fn secret_export_needs_the_export_bit_and_the_exportable_flag() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let ok = key_with(&stack, Algorithm::Aes256Key, P::EXPORT, true);
    assert_eq!(km.export_secret_key(ok.id()).unwrap().len(), 32);
    let no_bit = key_with(
        &stack,
        Algorithm::Aes256Key,
        P::ALL.difference(P::EXPORT),
        true,
    );
    let e = km.export_secret_key(no_bit.id()).unwrap_err();
    assert!(
        matches!(
            e.code(),
            ErrorCode::KeyOperationNotPermitted | ErrorCode::KeyNotExportable
        ),
        "{e}"
    );
    let not_exportable = key_with(&stack, Algorithm::Aes256Key, P::ALL, false);
    let e = km.export_secret_key(not_exportable.id()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KeyNotExportable, "{e}");
    // Wrapping a non-exportable key is refused like exporting it.
    let kek = key_with(&stack, Algorithm::Aes256Key, P::WRAP, false);
    let wp = WrapKeyParams::new(Algorithm::Aes256Kw).unwrap();
    let e = km.wrap_key(kek.id(), not_exportable.id(), &wp).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KeyNotExportable, "{e}");
    // Public halves are always exportable.
    let sig = key_with(&stack, Algorithm::Ed25519, P::SIGN, false);
    assert_eq!(
        km.export_public_key(sig.id(), Some(KeyFormat::Raw))
            .unwrap()
            .len(),
        32
    );
}

#[test]
fn unknown_permission_bits_and_wrong_key_types_are_rejected() {
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    // A key of the wrong type for the context.
    let ed = key_with(&stack, Algorithm::Ed25519, P::ALL, false);
    let e = stack
        .create_mac_context(&ctx(Algorithm::HmacSha256, ed.id(), None))
        .unwrap_err();
    assert!(
        matches!(
            e.code(),
            ErrorCode::IncompatibleKeyType | ErrorCode::AlgorithmMismatch
        ),
        "{e}"
    );
    // Unknown permission bits never get past the core vocabulary.
    assert_eq!(
        KeyOperationPermission::from_bits(0x8000_0000)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
}
