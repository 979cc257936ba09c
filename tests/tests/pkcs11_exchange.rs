//! Key agreement and key wrap inside a SoftHSMv2 token through a real `wardend` (issue 14):
//! ECDH from a token private key lands in a token key that MACs like the software side's
//! shared secret; AES key wrap moves only keys created exportable, and what it unwraps is
//! never extractable. Skips, saying why, only when SoftHSMv2 is not installed.

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

fn gen_params(alg: Algorithm, perms: P, exportable: bool) -> GenerateKeyParams {
    GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(perms)
        .exportable(exportable)
        .build()
        .unwrap()
}

fn hmac(stack: &CryptoStack, key: ResourceId, msg: &[u8]) -> Result<Vec<u8>> {
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::HmacSha256)
        .key(key)
        .build()
        .unwrap();
    stack.create_mac_context(&cfg)?.compute(msg)
}

fn agree_params(alg: Algorithm, peer: Vec<u8>, exportable: bool) -> AgreeKeyParams {
    AgreeKeyParams::builder()
        .algorithm(alg)
        .peer_public(peer)
        .output_algorithm(Algorithm::HmacKey)
        .permissions(P::MAC)
        .exportable(exportable)
        .build()
        .unwrap()
}

/// The operations bitmask `wardend` reports for `alg` on the token.
fn token_ops(stack: &CryptoStack, alg: &str) -> u32 {
    let providers = stack.status().unwrap().providers;
    let token = providers.iter().find(|p| p.name == "hsm").expect("hsm");
    token
        .capabilities
        .iter()
        .find(|(a, _)| a == alg)
        .map_or(0, |(_, b)| *b)
}

/// The token's digests are reported from its mechanism list; hash requests carry no key and
/// no provider name, so wardend serves them with the default provider (the token's digest
/// contexts are tested on the provider itself: provider-pkcs11/tests/softhsm_digest.rs).
#[test]
fn token_digests_are_listed_and_hash_requests_still_work() {
    let Some(hsm) = SoftHsm::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    for alg in ["SHA-256", "SHA-384", "SHA-512"] {
        assert_eq!(token_ops(&stack, alg), 0x1, "{alg}: hash only");
    }
    assert_eq!(token_ops(&stack, "SHA3-256"), 0, "not a token mechanism");
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Sha256)
        .build()
        .unwrap();
    let mut h = stack.create_hash_context(&cfg).unwrap();
    h.init().unwrap();
    let digest = h.finalize_with(b"abc").unwrap();
    assert_eq!(digest[..4], [0xba, 0x78, 0x16, 0xbf], "SHA-256(\"abc\")");
}

#[test]
fn ecdh_in_the_token_agrees_with_a_software_peer() {
    let Some(hsm) = SoftHsm::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let km = stack.key_management();
    // From the token's mechanism list: CKM_EC_KEY_PAIR_GEN + CKM_ECDH1_DERIVE.
    for alg in ["ECDH-P256", "ECDH-P384"] {
        assert_eq!(
            token_ops(&stack, alg) & 0x1080,
            0x1080,
            "{alg}: generate, agree"
        );
    }

    for alg in [Algorithm::EcdhP256, Algorithm::EcdhP384] {
        let token_key = km
            .generate_key_with(&gen_params(alg, P::AGREE, false), Some("hsm"))
            .unwrap();
        let soft_key = km.generate_key(&gen_params(alg, P::AGREE, false)).unwrap();
        let other = km.generate_key(&gen_params(alg, P::AGREE, false)).unwrap();
        let public =
            |k: &ResourceGuard| km.export_public_key(k.id(), Some(KeyFormat::Raw)).unwrap();
        let (t_pub, s_pub, o_pub) = (public(&token_key), public(&soft_key), public(&other));

        // Each side with its own private key and the other's public key.
        let in_token = km
            .agree_key(token_key.id(), &agree_params(alg, s_pub.clone(), false))
            .unwrap();
        let in_software = km
            .agree_key(soft_key.id(), &agree_params(alg, t_pub.clone(), false))
            .unwrap();
        let msg = b"both sides hold the same secret";
        let tag = hmac(&stack, in_token.id(), msg).unwrap();
        assert_eq!(tag, hmac(&stack, in_software.id(), msg).unwrap(), "{alg:?}");
        // Another peer gives another secret.
        let with_other = km
            .agree_key(token_key.id(), &agree_params(alg, o_pub, false))
            .unwrap();
        assert_ne!(tag, hmac(&stack, with_other.id(), msg).unwrap());

        // OpenSC sees it in the token: sensitive, never extractable.
        if let Some(objects) = hsm.list_objects() {
            let secret = objects
                .split("Secret Key Object")
                .nth(1)
                .expect("an agreed secret key object");
            let access = secret.lines().find(|l| l.contains("Access:")).unwrap();
            assert!(access.contains("sensitive"), "{objects}");
            assert!(access.contains("never extractable"), "{objects}");
        }
        // The peer knows this value, so it must never serve as a KEK.
        assert_eq!(
            km.wrap_key(
                in_token.id(),
                in_token.id(),
                &WrapKeyParams::new(Algorithm::Aes256Kw).unwrap()
            )
            .unwrap_err()
            .code(),
            ErrorCode::IncompatibleKeyType
        );
        // The agreed key stays in the token.
        assert_eq!(
            km.export_secret_key(in_token.id()).unwrap_err().code(),
            ErrorCode::KeyNotExportable
        );
        assert_eq!(
            km.agree_key(token_key.id(), &agree_params(alg, s_pub.clone(), true))
                .unwrap_err()
                .code(),
            ErrorCode::KeyNotExportable,
            "an exportable shared secret is refused, not silently made non-exportable"
        );
        // A point off the curve, the wrong length, another curve: typed refusals.
        let mut off_curve = s_pub.clone();
        let last = off_curve.len() - 1;
        off_curve[last] ^= 1;
        for bad in [off_curve, s_pub[..33].to_vec(), vec![4u8; s_pub.len()]] {
            assert_eq!(
                km.agree_key(token_key.id(), &agree_params(alg, bad, false))
                    .unwrap_err()
                    .code(),
                ErrorCode::KeyAgreementFailed
            );
        }
    }

    // A key without AGREE, and a signing key: refused before the token is asked.
    let no_agree = km
        .generate_key_with(
            &gen_params(Algorithm::EcdhP256, P::NONE, false),
            Some("hsm"),
        )
        .unwrap();
    let peer = km
        .export_public_key(
            km.generate_key(&gen_params(Algorithm::EcdhP256, P::AGREE, false))
                .unwrap()
                .id(),
            Some(KeyFormat::Raw),
        )
        .unwrap();
    assert_eq!(
        km.agree_key(
            no_agree.id(),
            &agree_params(Algorithm::EcdhP256, peer.clone(), false)
        )
        .unwrap_err()
        .code(),
        ErrorCode::KeyOperationNotPermitted
    );
    let signer = km
        .generate_key_with(
            &gen_params(Algorithm::EcdsaP256Sha256, P::SIGN, false),
            Some("hsm"),
        )
        .unwrap();
    assert_eq!(
        km.agree_key(signer.id(), &agree_params(Algorithm::EcdhP256, peer, false))
            .unwrap_err()
            .code(),
        ErrorCode::IncompatibleKeyType
    );
}

fn wrap_params(alg: Algorithm) -> WrapKeyParams {
    WrapKeyParams::new(alg).unwrap()
}

fn unwrap_params(alg: Algorithm, to: Algorithm, perms: P, exportable: bool) -> UnwrapKeyParams {
    UnwrapKeyParams::builder()
        .algorithm(alg)
        .unwrapped_algorithm(to)
        .permissions(perms)
        .exportable(exportable)
        .build()
        .unwrap()
}

fn seal(stack: &CryptoStack, key: ResourceId, msg: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Aes256Gcm)
        .key(key)
        .direction(CipherDirection::Encrypt)
        .build()
        .unwrap();
    let mut e = stack.create_aead_context(&cfg).unwrap();
    e.init(&[]).unwrap();
    let ct = e.finalize(msg).unwrap();
    (ct, e.nonce().to_vec(), e.tag().to_vec())
}

fn open(
    stack: &CryptoStack,
    key: ResourceId,
    sealed: &(Vec<u8>, Vec<u8>, Vec<u8>),
) -> Result<Vec<u8>> {
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Aes256Gcm)
        .key(key)
        .direction(CipherDirection::Decrypt)
        .build()
        .unwrap();
    let mut d = stack.create_aead_context(&cfg)?;
    d.init(&sealed.1)?;
    d.set_tag(&sealed.2);
    d.finalize(&sealed.0)
}

#[test]
fn aes_key_wrap_in_the_token_moves_only_wrappable_keys() {
    let Some(hsm) = SoftHsm::new() else { return };
    let root = tempfile::tempdir().unwrap();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let km = stack.key_management();
    for alg in ["AES-256-KW", "AES-256-KWP", "AES-128-KW"] {
        assert_eq!(token_ops(&stack, alg) & 0x300, 0x300, "{alg}: wrap, unwrap");
    }

    km.generate_key_into_with(
        "kek",
        &gen_params(Algorithm::Aes256Key, P::WRAP | P::UNWRAP, false),
        Some("hsm"),
    )
    .unwrap();
    let kek = km.resolve("kek").unwrap();
    // Exportable on a token key means wrappable: CKA_EXTRACTABLE, still CKA_SENSITIVE.
    km.generate_key_into_with(
        "movable",
        &gen_params(
            Algorithm::Aes256Key,
            P::ENCRYPT | P::DECRYPT | P::EXPORT,
            true,
        ),
        Some("hsm"),
    )
    .unwrap();
    let movable = km.resolve("movable").unwrap();
    assert_eq!(
        km.export_secret_key(movable.id()).unwrap_err().code(),
        ErrorCode::KeyNotExportable,
        "never in clear"
    );
    let sealed = seal(&stack, movable.id(), b"sealed before the wrap");

    for alg in [Algorithm::Aes256Kw, Algorithm::Aes256Kwp] {
        let wrapped = km
            .wrap_key(kek.id(), movable.id(), &wrap_params(alg))
            .unwrap();
        assert_eq!(wrapped.len(), 40, "{alg:?}: 32 bytes + one semiblock");
        let back = km
            .unwrap_key(
                kek.id(),
                &wrapped,
                &unwrap_params(alg, Algorithm::Aes256Key, P::DECRYPT | P::EXPORT, false),
            )
            .unwrap();
        assert_eq!(
            open(&stack, back.id(), &sealed).unwrap(),
            b"sealed before the wrap",
            "{alg:?}: the unwrapped key is the same key"
        );
        // OpenSC agrees: of the KEK, the wrappable key and the unwrapped one, only the
        // wrappable key is extractable, and every one is sensitive.
        if let Some(objects) = hsm.list_objects() {
            let keys: Vec<&str> = objects.split("Secret Key Object").skip(1).collect();
            assert_eq!(keys.len(), 3, "{objects}");
            let extractable: Vec<&&str> = keys
                .iter()
                .filter(|k| k.contains(", extractable"))
                .collect();
            assert_eq!(extractable.len(), 1, "{objects}");
            assert!(extractable[0].contains("encrypt, decrypt"), "{objects}");
            assert!(
                keys.iter().all(|k| k.contains("Access:     sensitive")),
                "{objects}"
            );
        }
        // An unwrapped key is never extractable: it cannot be wrapped on.
        assert_eq!(
            km.wrap_key(kek.id(), back.id(), &wrap_params(alg))
                .unwrap_err()
                .code(),
            ErrorCode::KeyNotExportable
        );
        // A tampered blob, the wrong key size, an exportable result: typed refusals.
        let mut bad = wrapped.clone();
        bad[5] ^= 1;
        let refused = |blob: &[u8], to: Algorithm, exportable: bool| {
            km.unwrap_key(
                kek.id(),
                blob,
                &unwrap_params(alg, to, P::DECRYPT, exportable),
            )
            .unwrap_err()
            .code()
        };
        assert_eq!(
            refused(&bad, Algorithm::Aes256Key, false),
            ErrorCode::WrapUnwrapFailed
        );
        assert_eq!(
            refused(&wrapped, Algorithm::Aes128Key, false),
            ErrorCode::WrapUnwrapFailed
        );
        assert_eq!(
            refused(&wrapped, Algorithm::Aes256Key, true),
            ErrorCode::KeyNotExportable
        );
    }

    // A software KEK (whose value a client could know) cannot take the wrappable key out:
    // the software provider would need the secret in clear, and the token never gives it.
    let soft_kek = km
        .generate_key(&gen_params(Algorithm::Aes256Key, P::WRAP, false))
        .unwrap();
    assert_eq!(
        km.wrap_key(
            soft_kek.id(),
            movable.id(),
            &wrap_params(Algorithm::Aes256Kw)
        )
        .unwrap_err()
        .code(),
        ErrorCode::KeyNotExportable
    );

    // A key created non-exportable stays in the token: the wrap is refused, typed.
    let fixed = km
        .generate_key_with(
            &gen_params(Algorithm::Aes256Key, P::ENCRYPT | P::EXPORT, false),
            Some("hsm"),
        )
        .unwrap();
    assert_eq!(
        km.wrap_key(kek.id(), fixed.id(), &wrap_params(Algorithm::Aes256Kw))
            .unwrap_err()
            .code(),
        ErrorCode::KeyNotExportable
    );
    // A software key is not wrapped by a token KEK (it would pass through the daemon in
    // clear), nor a token key by a KEK without WRAP.
    let soft = km
        .generate_key(&gen_params(
            Algorithm::Aes256Key,
            P::ENCRYPT | P::EXPORT,
            true,
        ))
        .unwrap();
    assert_eq!(
        km.wrap_key(kek.id(), soft.id(), &wrap_params(Algorithm::Aes256Kw))
            .unwrap_err()
            .code(),
        ErrorCode::IncompatibleKeyType
    );
    let weak_kek = km
        .generate_key_with(
            &gen_params(Algorithm::Aes256Key, P::UNWRAP, false),
            Some("hsm"),
        )
        .unwrap();
    assert_eq!(
        km.wrap_key(
            weak_kek.id(),
            movable.id(),
            &wrap_params(Algorithm::Aes256Kw)
        )
        .unwrap_err()
        .code(),
        ErrorCode::KeyOperationNotPermitted
    );
    // Token key pairs are never wrappable.
    assert_eq!(
        km.generate_key_with(
            &gen_params(Algorithm::EcdsaP256Sha256, P::SIGN | P::EXPORT, true),
            Some("hsm"),
        )
        .unwrap_err()
        .code(),
        ErrorCode::KeyNotExportable
    );

    // After a restart the slot key is still wrappable (the record's flag and the token's
    // CKA_EXTRACTABLE agree), and its wrap still unwraps under the same KEK.
    drop((kek, movable, fixed, soft, soft_kek, weak_kek, km, stack));
    d.stop();
    let d = start(&hsm, root.path());
    let stack = d.stack();
    let km = stack.key_management();
    let (kek, movable) = (km.resolve("kek").unwrap(), km.resolve("movable").unwrap());
    let wrapped = km
        .wrap_key(kek.id(), movable.id(), &wrap_params(Algorithm::Aes256Kw))
        .unwrap();
    let back = km
        .unwrap_key(
            kek.id(),
            &wrapped,
            &unwrap_params(Algorithm::Aes256Kw, Algorithm::Aes256Key, P::DECRYPT, false),
        )
        .unwrap();
    assert_eq!(
        open(&stack, back.id(), &sealed).unwrap(),
        b"sealed before the wrap"
    );
}
