//! Every permission bit and key-type mismatch is enforced, and state-machine misuse returns the
//! documented codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::sync::Arc;

use common::*;
use warden_core::{
    AgreeKeyParams, Algorithm, CipherDirection, EncapsulateParams, ErrorCode, GenerateKeyParams,
    KeyFormat, KeyOperationPermission as P, UnwrapKeyParams, WrapKeyParams,
};
use warden_provider_awslc::{ContextKind, ContextState, Key, Provider};

/// A key of `alg` with `perms`, cut to the bits its type can carry (so `P::ALL` means
/// "every bit this key may have"; key creation refuses the others).
fn generate(p: &dyn Provider, alg: Algorithm, perms: P) -> Key {
    let mut b = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(perms & P::applicable_to(alg));
    if alg.is_rsa() {
        b = b.rsa_bits(2048);
    }
    if matches!(alg, Algorithm::HmacKey | Algorithm::GenericSecret) {
        b = b.key_len(32);
    }
    p.generate_key(&b.build().unwrap()).unwrap()
}

fn ctx_err(
    p: &dyn Provider,
    kind: ContextKind,
    alg: Algorithm,
    dir: Option<CipherDirection>,
    key: Key,
) -> ErrorCode {
    p.create_context(kind, &config(alg, dir), Some(Arc::new(key)))
        .err()
        .unwrap()
        .code()
}

#[test]
fn context_permission_bits_are_enforced() {
    let p = provider();
    let all_but = |bit: P| P::ALL.difference(bit);
    let cases: Vec<(
        ContextKind,
        Algorithm,
        Option<CipherDirection>,
        Algorithm,
        P,
    )> = vec![
        (
            ContextKind::Mac,
            Algorithm::HmacSha256,
            None,
            Algorithm::HmacKey,
            P::MAC,
        ),
        (
            ContextKind::Aead,
            Algorithm::Aes256Gcm,
            Some(CipherDirection::Encrypt),
            Algorithm::Aes256Key,
            P::ENCRYPT,
        ),
        (
            ContextKind::Aead,
            Algorithm::Aes256Gcm,
            Some(CipherDirection::Decrypt),
            Algorithm::Aes256Key,
            P::DECRYPT,
        ),
        (
            ContextKind::Cipher,
            Algorithm::Aes256Ctr,
            Some(CipherDirection::Encrypt),
            Algorithm::Aes256Key,
            P::ENCRYPT,
        ),
        (
            ContextKind::Cipher,
            Algorithm::Aes256CbcPkcs7,
            Some(CipherDirection::Decrypt),
            Algorithm::Aes256Key,
            P::DECRYPT,
        ),
        (
            ContextKind::Sign,
            Algorithm::Ed25519,
            None,
            Algorithm::Ed25519,
            P::SIGN,
        ),
        (
            ContextKind::Verify,
            Algorithm::EcdsaP256Sha256,
            None,
            Algorithm::EcdsaP256Sha256,
            P::VERIFY,
        ),
        (
            ContextKind::Sign,
            Algorithm::MlDsa44,
            None,
            Algorithm::MlDsa44,
            P::SIGN,
        ),
    ];
    for (kind, alg, dir, key_alg, bit) in cases {
        let missing = generate(&p, key_alg, all_but(bit));
        assert_eq!(
            ctx_err(&p, kind, alg, dir, missing),
            ErrorCode::KeyOperationNotPermitted,
            "{kind:?} {alg}"
        );
        let ok = generate(&p, key_alg, bit);
        assert!(
            p.create_context(kind, &config(alg, dir), Some(Arc::new(ok)))
                .is_ok(),
            "{kind:?} {alg}"
        );
    }
}

#[test]
fn context_key_types_are_enforced() {
    let p = provider();
    let cases = [
        (
            ContextKind::Aead,
            Algorithm::Aes256Gcm,
            Some(CipherDirection::Encrypt),
            Algorithm::Aes128Key,
        ),
        (
            ContextKind::Aead,
            Algorithm::ChaCha20Poly1305,
            Some(CipherDirection::Encrypt),
            Algorithm::Aes256Key,
        ),
        (
            ContextKind::Mac,
            Algorithm::HmacSha256,
            None,
            Algorithm::Aes256Key,
        ),
        (
            ContextKind::Sign,
            Algorithm::Ed25519,
            None,
            Algorithm::EcdsaP256Sha256,
        ),
        (
            ContextKind::Verify,
            Algorithm::MlDsa65,
            None,
            Algorithm::MlDsa44,
        ),
        (
            ContextKind::Cipher,
            Algorithm::Aes256Ctr,
            Some(CipherDirection::Encrypt),
            Algorithm::GenericSecret,
        ),
    ];
    for (kind, alg, dir, key_alg) in cases {
        let key = generate(&p, key_alg, P::ALL);
        assert_eq!(
            ctx_err(&p, kind, alg, dir, key),
            ErrorCode::IncompatibleKeyType,
            "{kind:?} {alg} with {key_alg}"
        );
    }
    // Wrong algorithm class for the context kind.
    let key = generate(&p, Algorithm::Aes256Key, P::ALL);
    assert_eq!(
        ctx_err(
            &p,
            ContextKind::Mac,
            Algorithm::Aes256Gcm,
            Some(CipherDirection::Encrypt),
            key
        ),
        ErrorCode::AlgorithmMismatch
    );
    // A public-only key cannot sign.
    let pair = generate(&p, Algorithm::Ed25519, P::ALL);
    let public = import(
        &p,
        Algorithm::Ed25519,
        P::applicable_to(Algorithm::Ed25519),
        KeyFormat::Raw,
        &pair.public_key(KeyFormat::Raw).unwrap(),
    );
    assert_eq!(
        ctx_err(&p, ContextKind::Sign, Algorithm::Ed25519, None, public),
        ErrorCode::IncompatibleKeyType
    );
}

#[test]
fn key_management_permission_bits_are_enforced() {
    let p = provider();
    // Agree.
    let mine = generate(&p, Algorithm::X25519, P::ALL.difference(P::AGREE));
    let peer = generate(&p, Algorithm::X25519, P::ALL);
    let agree = AgreeKeyParams::builder()
        .algorithm(Algorithm::X25519)
        .peer_public(peer.public_key(KeyFormat::Raw).unwrap())
        .output_algorithm(Algorithm::GenericSecret)
        .permissions(P::DERIVE)
        .build()
        .unwrap();
    assert_eq!(
        p.agree_key(&mine, &agree).unwrap_err().code(),
        ErrorCode::KeyOperationNotPermitted
    );
    let ecdh = generate(&p, Algorithm::EcdhP256, P::ALL);
    assert_eq!(
        p.agree_key(&ecdh, &agree).unwrap_err().code(),
        ErrorCode::IncompatibleKeyType
    );
    assert!(p.agree_key(&peer, &agree).is_ok());
    // Wrap: KEK needs WRAP, target needs EXPORT and exportable.
    let wrap = WrapKeyParams::new(Algorithm::Aes256Kw).unwrap();
    let kek_no_wrap = generate(&p, Algorithm::Aes256Key, P::ALL.difference(P::WRAP));
    let target_ok = p
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::Aes256Key)
                .permissions(P::applicable_to(Algorithm::Aes256Key))
                .exportable(true)
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(
        p.wrap_key(&kek_no_wrap, &target_ok, &wrap)
            .unwrap_err()
            .code(),
        ErrorCode::KeyOperationNotPermitted
    );
    let kek = generate(&p, Algorithm::Aes256Key, P::WRAP.union(P::UNWRAP));
    let target_not_exportable = generate(&p, Algorithm::Aes256Key, P::ALL);
    assert_eq!(
        p.wrap_key(&kek, &target_not_exportable, &wrap)
            .unwrap_err()
            .code(),
        ErrorCode::KeyNotExportable
    );
    let wrapped = p.wrap_key(&kek, &target_ok, &wrap).unwrap();
    let hmac_kek = generate(&p, Algorithm::HmacKey, P::ALL);
    assert_eq!(
        p.wrap_key(&hmac_kek, &target_ok, &wrap).unwrap_err().code(),
        ErrorCode::IncompatibleKeyType
    );
    // Unwrap needs UNWRAP.
    let unwrap = UnwrapKeyParams::builder()
        .algorithm(Algorithm::Aes256Kw)
        .unwrapped_algorithm(Algorithm::Aes256Key)
        .permissions(P::ENCRYPT)
        .build()
        .unwrap();
    let kek_no_unwrap = generate(&p, Algorithm::Aes256Key, P::WRAP);
    assert_eq!(
        p.unwrap_key(&kek_no_unwrap, &wrapped, &unwrap)
            .unwrap_err()
            .code(),
        ErrorCode::KeyOperationNotPermitted
    );
    assert_eq!(
        p.unwrap_key(&kek, &wrapped, &unwrap).unwrap().algorithm(),
        Algorithm::Aes256Key
    );
    // KEM: ENCRYPT to encapsulate, DECRYPT to decapsulate.
    let kem = EncapsulateParams::builder()
        .algorithm(Algorithm::MlKem512)
        .permissions(P::DERIVE)
        .build()
        .unwrap();
    let no_enc = generate(&p, Algorithm::MlKem512, P::DECRYPT);
    assert_eq!(
        p.encapsulate(&no_enc, &kem).unwrap_err().code(),
        ErrorCode::KeyOperationNotPermitted
    );
    let full = generate(&p, Algorithm::MlKem512, P::ENCRYPT.union(P::DECRYPT));
    let (ct, ss) = p.encapsulate(&full, &kem).unwrap();
    assert_eq!(ss.permissions(), P::DERIVE);
    let no_dec = generate(&p, Algorithm::MlKem512, P::ENCRYPT);
    assert_eq!(
        p.decapsulate(&no_dec, &ct, &kem).unwrap_err().code(),
        ErrorCode::KeyOperationNotPermitted
    );
    let xwing = generate(&p, Algorithm::XWing, P::ALL);
    assert_eq!(
        p.decapsulate(&xwing, &ct, &kem).unwrap_err().code(),
        ErrorCode::IncompatibleKeyType
    );
}

#[test]
fn state_machine_misuse_returns_documented_codes() {
    let p = provider();
    let mut ctx = context(&p, ContextKind::Hash, Algorithm::Sha256, None, None);
    let mut out = [0u8; 32];
    assert_eq!(ctx.state(), ContextState::Created);
    assert_eq!(
        ctx.update(b"x", &mut out).unwrap_err().code(),
        ErrorCode::StreamNotInitialized
    );
    assert_eq!(
        ctx.finalize(b"x", &mut out).unwrap_err().code(),
        ErrorCode::StreamNotInitialized
    );
    ctx.init(&[]).unwrap();
    assert_eq!(ctx.state(), ContextState::Initialized);
    assert_eq!(
        ctx.init(&[]).unwrap_err().code(),
        ErrorCode::StreamAlreadyActive
    );
    ctx.update(b"abc", &mut out).unwrap();
    assert_eq!(ctx.state(), ContextState::Updating);
    assert_eq!(
        ctx.init(&[]).unwrap_err().code(),
        ErrorCode::StreamAlreadyActive
    );
    assert_eq!(
        ctx.reset().unwrap_err().code(),
        ErrorCode::ContextResetFailed
    );
    // Too-small output: typed error, state kept, retry works.
    assert_eq!(
        ctx.finalize(&[], &mut out[..31]).unwrap_err().code(),
        ErrorCode::InsufficientBufferSize
    );
    assert_eq!(ctx.state(), ContextState::Updating);
    assert_eq!(ctx.finalize(&[], &mut out).unwrap(), 32);
    assert_eq!(ctx.state(), ContextState::Finalized);
    assert_eq!(
        ctx.finalize(&[], &mut out).unwrap_err().code(),
        ErrorCode::InvalidOperation
    );
    assert_eq!(
        ctx.update(b"x", &mut out).unwrap_err().code(),
        ErrorCode::InvalidOperation
    );
    assert_eq!(
        ctx.init(&[]).unwrap_err().code(),
        ErrorCode::InvalidOperation
    );
    // Reset keeps the configuration: the same digest comes out again.
    let first = out;
    ctx.reset().unwrap();
    assert_eq!(ctx.state(), ContextState::Created);
    ctx.init(&[]).unwrap();
    ctx.finalize(b"abc", &mut out).unwrap();
    assert_eq!(out, first);
}

#[test]
fn aead_state_rules() {
    let p = provider();
    let key = Arc::new(generate(&p, Algorithm::Aes256Key, P::ENCRYPT));
    let mut ctx = context(
        &p,
        ContextKind::Aead,
        Algorithm::Aes256Gcm,
        Some(CipherDirection::Encrypt),
        Some(key),
    );
    assert_eq!(
        ctx.set_aad(b"a").unwrap_err().code(),
        ErrorCode::StreamNotInitialized
    );
    // The key has no CALLER_NONCE: any caller nonce is refused, whatever its length.
    for nonce in [&[0u8; 11][..], &[0u8; 12]] {
        assert_eq!(
            ctx.init(nonce).unwrap_err().code(),
            ErrorCode::KeyOperationNotPermitted
        );
        assert_eq!(ctx.state(), ContextState::Created);
        assert!(ctx.iv().is_empty());
    }
    ctx.init(&[]).unwrap();
    assert_eq!(ctx.iv().len(), 12);
    ctx.set_aad(b"a").unwrap();
    ctx.update(b"data", &mut []).unwrap();
    assert_eq!(
        ctx.set_aad(b"late").unwrap_err().code(),
        ErrorCode::InvalidOperation
    );
    let mut tag = [0u8; 16];
    assert_eq!(
        ctx.get_tag(&mut tag).unwrap_err().code(),
        ErrorCode::InvalidOperation
    );
    assert_eq!(
        ctx.set_tag(&tag).unwrap_err().code(),
        ErrorCode::InvalidOperation
    );
    let mut out = [0u8; 4];
    assert_eq!(
        ctx.finalize(&[], &mut out[..3]).unwrap_err().code(),
        ErrorCode::InsufficientBufferSize
    );
    assert_eq!(ctx.finalize(&[], &mut out).unwrap(), 4);
    assert_eq!(
        ctx.get_tag(&mut tag[..15]).unwrap_err().code(),
        ErrorCode::InsufficientBufferSize
    );
    assert_eq!(ctx.get_tag(&mut tag).unwrap(), 16);
}

#[test]
fn buffered_streams_are_bounded() {
    let p = warden_provider_awslc::AwsLcProvider::with_buffer_limit(64);
    let key = Arc::new(generate(&p, Algorithm::Ed25519, P::SIGN));
    let mut ctx = context(&p, ContextKind::Sign, Algorithm::Ed25519, None, Some(key));
    ctx.init(&[]).unwrap();
    ctx.update(&[1u8; 64], &mut []).unwrap();
    assert_eq!(
        ctx.update(&[1u8; 1], &mut []).unwrap_err().code(),
        ErrorCode::QuotaExceeded
    );
    // One-shot finalize is not bounded by the buffer.
    ctx.reset().unwrap_err(); // still Updating
    let mut sig = [0u8; 64];
    assert_eq!(ctx.finalize(&[], &mut sig).unwrap(), 64);
    ctx.reset().unwrap();
    ctx.init(&[]).unwrap();
    assert_eq!(ctx.finalize(&[2u8; 10_000], &mut sig).unwrap(), 64);
    // Pre-hashed algorithms stream without bound.
    let key = Arc::new(generate(&p, Algorithm::EcdsaP384Sha384, P::SIGN));
    let mut ctx = context(
        &p,
        ContextKind::Sign,
        Algorithm::EcdsaP384Sha384,
        None,
        Some(key),
    );
    ctx.init(&[]).unwrap();
    for _ in 0..100 {
        ctx.update(&[3u8; 1000], &mut []).unwrap();
    }
    let mut sig = [0u8; 96];
    assert_eq!(ctx.finalize(&[], &mut sig).unwrap(), 96);
}

#[test]
fn random_context_and_provider_random() {
    let p = provider();
    let mut ctx = p.create_random_context().unwrap();
    assert_eq!(ctx.algorithm(), None);
    let mut a = [0u8; 32];
    assert_eq!(
        ctx.update(&[], &mut a).unwrap_err().code(),
        ErrorCode::StreamNotInitialized
    );
    ctx.init(&[]).unwrap();
    assert_eq!(ctx.update(&[], &mut a).unwrap(), 32);
    let mut b2 = [0u8; 32];
    p.random(&mut b2).unwrap();
    assert_ne!(a, b2);
    assert_ne!(a, [0u8; 32]);
    assert_eq!(
        p.create_context(ContextKind::Random, &config(Algorithm::Sha256, None), None)
            .err()
            .unwrap()
            .code(),
        ErrorCode::InvalidArgument
    );
}

/// Issue 11: encrypting AEAD / CTR / CBC contexts draw their nonce unless the key carries
/// CALLER_NONCE; the drawn nonce is reported by `iv`, differs per message, and decrypts.
#[test]
fn encryption_nonces_are_drawn_unless_the_key_allows_caller_nonces() {
    let p = provider();
    let cases = [
        (
            ContextKind::Aead,
            Algorithm::Aes256Gcm,
            Algorithm::Aes256Key,
            12,
        ),
        (
            ContextKind::Aead,
            Algorithm::Aes128Gcm,
            Algorithm::Aes128Key,
            12,
        ),
        (
            ContextKind::Aead,
            Algorithm::ChaCha20Poly1305,
            Algorithm::ChaCha20Key,
            12,
        ),
        (
            ContextKind::Cipher,
            Algorithm::Aes256Ctr,
            Algorithm::Aes256Key,
            16,
        ),
        (
            ContextKind::Cipher,
            Algorithm::Aes256CbcPkcs7,
            Algorithm::Aes256Key,
            16,
        ),
    ];
    let enc = Some(CipherDirection::Encrypt);
    let dec = Some(CipherDirection::Decrypt);
    for (kind, alg, key_alg, iv_len) in cases {
        let key = Arc::new(generate(&p, key_alg, P::ENCRYPT | P::DECRYPT));
        let mut e = context(&p, kind, alg, enc, Some(key.clone()));
        assert_eq!(
            e.init(&vec![7u8; iv_len]).unwrap_err().code(),
            ErrorCode::KeyOperationNotPermitted,
            "{alg}"
        );
        let mut seen = Vec::new();
        for _ in 0..2 {
            e.reset().unwrap();
            let ct = stream(e.as_mut(), &[], b"attack at dawn", 5, &[]);
            let iv = e.iv().to_vec();
            assert_eq!(iv.len(), iv_len, "{alg}");
            assert!(!seen.contains(&iv), "{alg}: nonce repeated");
            let mut tag = [0u8; 16];
            let tag_len = if kind == ContextKind::Aead {
                e.get_tag(&mut tag).unwrap()
            } else {
                0
            };
            let mut d = context(&p, kind, alg, dec, Some(key.clone()));
            if kind == ContextKind::Aead {
                d.init(&iv).unwrap();
                d.set_tag(&tag[..tag_len]).unwrap();
                let mut out = vec![0u8; ct.len()];
                let n = d.finalize(&ct, &mut out).unwrap();
                assert_eq!(&out[..n], b"attack at dawn", "{alg}");
            } else {
                assert_eq!(stream(d.as_mut(), &iv, &ct, 3, &[]), b"attack at dawn");
            }
            // Decryption reports no IV: the caller gave it.
            assert!(d.iv().is_empty());
            seen.push(iv);
        }
        // With CALLER_NONCE the caller's nonce is used (and reported); lengths still count.
        let trusted = Arc::new(generate(&p, key_alg, P::ENCRYPT | P::CALLER_NONCE));
        let mut e = context(&p, kind, alg, enc, Some(trusted));
        assert_eq!(
            e.init(&vec![7u8; iv_len - 1]).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
        e.init(&vec![7u8; iv_len]).unwrap();
        assert_eq!(e.iv(), &vec![7u8; iv_len][..], "{alg}");
    }
}
