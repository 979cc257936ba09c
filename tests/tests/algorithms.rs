//! Every algorithm through the daemon round-trips and agrees with `warden-crypto` run in
//! process on the same key material (byte-equal where the algorithm is deterministic,
//! cross-verified where it is randomised).

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::sync::Arc;

use warden_client::*;
use warden_crypto::{ContextKind, Provider};
use warden_e2e::Daemon;
use warden_e2e::inproc::{self, Stream};

/// Every bit a key of `alg` can carry. For AES and ChaCha20 keys that includes the dangerous
/// `CALLER_NONCE`, granted on purpose: these tests compare byte-for-byte with the library
/// under fixed nonces.
fn all(alg: Algorithm) -> KeyOperationPermission {
    KeyOperationPermission::applicable_to(alg)
}

fn daemon() -> (Daemon, CryptoStack) {
    let d = Daemon::start().unwrap_or_else(|e| panic!("{e}"));
    let s = d.stack().unwrap();
    (d, s)
}

/// The same key in process and in the daemon.
fn twin(stack: &CryptoStack, alg: Algorithm) -> (Arc<warden_crypto::Key>, ResourceGuard) {
    let (local, secret) = inproc::generate(alg);
    let remote = stack
        .key_management()
        .with_timeout(Timeout::Disabled)
        .import_key(&inproc::import_params(alg, all(alg)), &secret)
        .unwrap_or_else(|e| panic!("import {alg:?}: {e}"));
    (local, remote)
}

fn cfg(alg: Algorithm, key: Option<ResourceId>, dir: Option<CipherDirection>) -> ContextConfig {
    let mut b = ContextConfig::builder().algorithm(alg);
    if alg == Algorithm::SlhDsaSha2_128s {
        // Seconds per signature in a debug build: the documented escape hatch for slow
        // operations (the default 5000 ms deadline would rightly stop it).
        b = b.disable_timeout();
    }
    if let Some(k) = key {
        b = b.key(k);
    }
    if let Some(d) = dir {
        b = b.direction(d);
    }
    b.build().unwrap_or_else(|e| panic!("config {alg:?}: {e}"))
}

fn local_cfg(alg: Algorithm, keyed: bool, dir: Option<CipherDirection>) -> ContextConfig {
    cfg(alg, keyed.then(inproc::local_id), dir)
}

const MSG: &[&[u8]] = &[b"the quick brown fox ", b"jumps over the lazy dog", b""];

#[test]
fn hashes_agree() {
    let (_d, stack) = daemon();
    for alg in [
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
        Algorithm::Sha3_256,
        Algorithm::Sha3_384,
        Algorithm::Sha3_512,
    ] {
        let mut h = stack.create_hash_context(&cfg(alg, None, None)).unwrap();
        h.init().unwrap();
        for c in MSG {
            h.update(c).unwrap();
        }
        let got = h.finalize().unwrap();
        let (want, _) = inproc::run(
            ContextKind::Hash,
            &local_cfg(alg, false, None),
            None,
            Stream {
                chunks: MSG,
                ..Stream::default()
            },
        )
        .unwrap();
        assert_eq!(got, want, "{alg:?}");
        assert_eq!(Some(got.len()), alg.digest_len(), "{alg:?}");
        assert_eq!(
            stack.digest(alg, &MSG.concat()).unwrap(),
            want,
            "{alg:?} one-shot"
        );
    }
}

#[test]
fn macs_agree() {
    let (_d, stack) = daemon();
    for alg in [
        Algorithm::HmacSha256,
        Algorithm::HmacSha384,
        Algorithm::HmacSha512,
    ] {
        let (local, remote) = twin(&stack, Algorithm::HmacKey);
        let mut m = stack
            .create_mac_context(&cfg(alg, Some(remote.id()), None))
            .unwrap();
        m.init().unwrap();
        for c in MSG {
            m.update(c).unwrap();
        }
        let got = m.finalize().unwrap();
        let s = Stream {
            chunks: MSG,
            ..Stream::default()
        };
        let (want, _) = inproc::run(
            ContextKind::Mac,
            &local_cfg(alg, true, None),
            Some(local),
            s,
        )
        .unwrap();
        assert_eq!(got, want, "{alg:?}");
    }
}

#[test]
fn aeads_agree_and_reject_tampering_like_the_library() {
    let (_d, stack) = daemon();
    for (alg, key_alg) in [
        (Algorithm::Aes128Gcm, Algorithm::Aes128Key),
        (Algorithm::Aes256Gcm, Algorithm::Aes256Key),
        (Algorithm::ChaCha20Poly1305, Algorithm::ChaCha20Key),
    ] {
        let (local, remote) = twin(&stack, key_alg);
        let nonce = [7u8; 12];
        let aad = b"header";
        let enc = Some(CipherDirection::Encrypt);
        let dec = Some(CipherDirection::Decrypt);
        let mut e = stack
            .create_aead_context(&cfg(alg, Some(remote.id()), enc))
            .unwrap();
        e.init(&nonce).unwrap();
        e.set_aad(aad).unwrap();
        let mut ct = Vec::new();
        for c in MSG {
            ct.extend(e.update(c).unwrap());
        }
        ct.extend(e.finalize(&[]).unwrap());
        let tag = e.tag().to_vec();
        let s = Stream {
            iv: &nonce,
            aad: Some(aad),
            chunks: MSG,
            ..Stream::default()
        };
        let (want_ct, want_tag) = inproc::run(
            ContextKind::Aead,
            &local_cfg(alg, true, enc),
            Some(local.clone()),
            s,
        )
        .unwrap();
        assert_eq!((&ct, &tag), (&want_ct, &want_tag), "{alg:?}");
        assert_eq!(tag.len(), 16);

        let mut d = stack
            .create_aead_context(&cfg(alg, Some(remote.id()), dec))
            .unwrap();
        d.init(&nonce).unwrap();
        d.set_aad(aad).unwrap();
        let mut pt = d.update(&ct).unwrap();
        d.set_tag(&tag);
        pt.extend(d.finalize(&[]).unwrap());
        assert_eq!(pt, MSG.concat(), "{alg:?}");

        // A flipped tag bit fails, with the same opaque code as the library.
        let mut bad = tag.clone();
        bad[0] ^= 1;
        let mut d = stack
            .create_aead_context(&cfg(alg, Some(remote.id()), dec))
            .unwrap();
        d.init(&nonce).unwrap();
        d.set_aad(aad).unwrap();
        let _ = d.update(&ct).unwrap();
        d.set_tag(&bad);
        let err = d.finalize(&[]).unwrap_err();
        let s = Stream {
            iv: &nonce,
            aad: Some(aad),
            chunks: &[&ct],
            tag: Some(&bad),
            ..Stream::default()
        };
        let local_err = inproc::run(
            ContextKind::Aead,
            &local_cfg(alg, true, dec),
            Some(local),
            s,
        )
        .unwrap_err();
        assert_eq!(err.code(), local_err.code(), "{alg:?}");
    }
}

#[test]
fn ciphers_agree() {
    let (_d, stack) = daemon();
    for alg in [Algorithm::Aes256Ctr, Algorithm::Aes256CbcPkcs7] {
        let (local, remote) = twin(&stack, Algorithm::Aes256Key);
        let iv = [3u8; 16];
        let enc = Some(CipherDirection::Encrypt);
        let mut e = stack
            .create_cipher_context(&cfg(alg, Some(remote.id()), enc))
            .unwrap();
        e.init(&iv).unwrap();
        let mut ct = Vec::new();
        for c in MSG {
            ct.extend(e.update(c).unwrap());
        }
        ct.extend(e.finalize(b"!").unwrap());
        let s = Stream {
            iv: &iv,
            chunks: MSG,
            last: b"!",
            ..Stream::default()
        };
        let (want, _) = inproc::run(
            ContextKind::Cipher,
            &local_cfg(alg, true, enc),
            Some(local),
            s,
        )
        .unwrap();
        assert_eq!(ct, want, "{alg:?}");
        let dec = Some(CipherDirection::Decrypt);
        let mut d = stack
            .create_cipher_context(&cfg(alg, Some(remote.id()), dec))
            .unwrap();
        d.init(&iv).unwrap();
        let mut pt = d.update(&ct).unwrap();
        pt.extend(d.finalize(&[]).unwrap());
        let mut plain = MSG.concat();
        plain.extend_from_slice(b"!");
        assert_eq!(pt, plain, "{alg:?}");
    }
}

#[test]
fn rsa_oaep_round_trips_both_ways() {
    let (_d, stack) = daemon();
    let alg = Algorithm::RsaOaepSha256;
    let (local, remote) = twin(&stack, alg);
    let enc = Some(CipherDirection::Encrypt);
    let dec = Some(CipherDirection::Decrypt);
    let mut e = stack
        .create_cipher_context(&cfg(alg, Some(remote.id()), enc))
        .unwrap();
    e.init(&[]).unwrap();
    let ct = e.finalize(b"session key").unwrap();
    let s = Stream {
        last: &ct,
        ..Stream::default()
    };
    let (pt, _) = inproc::run(
        ContextKind::Cipher,
        &local_cfg(alg, true, dec),
        Some(local.clone()),
        s,
    )
    .unwrap();
    assert_eq!(pt, b"session key");
    let s = Stream {
        last: b"other way",
        ..Stream::default()
    };
    let (ct, _) = inproc::run(
        ContextKind::Cipher,
        &local_cfg(alg, true, enc),
        Some(local),
        s,
    )
    .unwrap();
    let mut d = stack
        .create_cipher_context(&cfg(alg, Some(remote.id()), dec))
        .unwrap();
    d.init(&[]).unwrap();
    assert_eq!(d.finalize(&ct).unwrap(), b"other way");
}

#[test]
fn signatures_cross_verify() {
    let (_d, stack) = daemon();
    for alg in [
        Algorithm::Ed25519,
        Algorithm::EcdsaP256Sha256,
        Algorithm::EcdsaP384Sha384,
        Algorithm::RsaPssSha256,
        Algorithm::MlDsa44,
        Algorithm::MlDsa65,
        Algorithm::MlDsa87,
        Algorithm::SlhDsaSha2_128f,
        Algorithm::SlhDsaSha2_128s,
    ] {
        let (local, remote) = twin(&stack, alg);
        // Daemon signs, library verifies.
        let mut s = stack
            .create_sign_context(&cfg(alg, Some(remote.id()), None))
            .unwrap();
        s.init().unwrap();
        for c in MSG {
            s.update(c).unwrap();
        }
        let sig = s.finalize().unwrap();
        let v = Stream {
            chunks: MSG,
            last: &sig,
            ..Stream::default()
        };
        inproc::run(
            ContextKind::Verify,
            &local_cfg(alg, true, None),
            Some(local.clone()),
            v,
        )
        .unwrap_or_else(|e| panic!("{alg:?}: library rejects daemon signature: {e}"));
        // Library signs, daemon verifies; a different message fails like in the library.
        let sg = Stream {
            chunks: MSG,
            ..Stream::default()
        };
        let (lsig, _) = inproc::run(
            ContextKind::Sign,
            &local_cfg(alg, true, None),
            Some(local.clone()),
            sg,
        )
        .unwrap();
        if alg == Algorithm::Ed25519 {
            assert_eq!(sig, lsig, "Ed25519 is deterministic");
        }
        let mut v = stack
            .create_verify_context(&cfg(alg, Some(remote.id()), None))
            .unwrap();
        v.init().unwrap();
        v.update(&MSG.concat()).unwrap();
        v.finalize(&lsig)
            .unwrap_or_else(|e| panic!("{alg:?}: daemon rejects: {e}"));
        v.reset().unwrap();
        v.init().unwrap();
        v.update(b"another message").unwrap();
        let err = v.finalize(&lsig).unwrap_err();
        let bad = Stream {
            chunks: &[b"another message"],
            last: &lsig,
            ..Stream::default()
        };
        let lerr = inproc::run(
            ContextKind::Verify,
            &local_cfg(alg, true, None),
            Some(local.clone()),
            bad,
        )
        .unwrap_err();
        assert_eq!(err.code(), lerr.code(), "{alg:?}");
        // Public keys agree.
        let raw = stack
            .key_management()
            .export_public_key(remote.id(), Some(KeyFormat::Raw))
            .unwrap();
        assert_eq!(raw, local.public_key(KeyFormat::Raw).unwrap(), "{alg:?}");
    }
}

#[test]
fn kems_agree_both_directions() {
    let (_d, stack) = daemon();
    let p = inproc::provider();
    let km = stack.key_management();
    for alg in [
        Algorithm::MlKem512,
        Algorithm::MlKem768,
        Algorithm::MlKem1024,
        Algorithm::XWing,
    ] {
        let params = EncapsulateParams::builder()
            .algorithm(alg)
            .output_algorithm(Algorithm::GenericSecret)
            .permissions(KeyOperationPermission::EXPORT.union(KeyOperationPermission::DERIVE))
            .exportable(true)
            .build()
            .unwrap();
        let (local, remote) = twin(&stack, alg);
        // Daemon encapsulates, library decapsulates.
        let (ct, ss) = km.encapsulate(remote.id(), &params).unwrap();
        let mine = km.export_secret_key(ss.id()).unwrap();
        let theirs = p.decapsulate(&local, &ct, &params).unwrap();
        assert_eq!(&mine[..], &theirs.export_secret().unwrap()[..], "{alg:?}");
        // Library encapsulates, daemon decapsulates.
        let (ct, lss) = p.encapsulate(&local, &params).unwrap();
        let dss = km.decapsulate(remote.id(), &ct, &params).unwrap();
        assert_eq!(
            &km.export_secret_key(dss.id()).unwrap()[..],
            &lss.export_secret().unwrap()[..],
            "{alg:?}"
        );
        // A corrupted ciphertext does not yield the same secret (implicit rejection) or fails.
        let mut bad = ct.clone();
        bad[0] ^= 0xff;
        if let Ok(k) = km.decapsulate(remote.id(), &bad, &params) {
            assert_ne!(
                &km.export_secret_key(k.id()).unwrap()[..],
                &lss.export_secret().unwrap()[..]
            );
        }
    }
}

#[test]
fn agreements_agree() {
    let (_d, stack) = daemon();
    let p = inproc::provider();
    let km = stack.key_management();
    for alg in [Algorithm::X25519, Algorithm::EcdhP256, Algorithm::EcdhP384] {
        let (_la, remote_a) = twin(&stack, alg);
        let (local_b, _) = inproc::generate(alg);
        let a_pub = km
            .export_public_key(remote_a.id(), Some(KeyFormat::Raw))
            .unwrap();
        let b_pub = local_b.public_key(KeyFormat::Raw).unwrap();
        let params = |peer: Vec<u8>| {
            AgreeKeyParams::builder()
                .algorithm(alg)
                .peer_public(peer)
                .output_algorithm(Algorithm::GenericSecret)
                .permissions(KeyOperationPermission::EXPORT)
                .exportable(true)
                .build()
                .unwrap()
        };
        let shared = km.agree_key(remote_a.id(), &params(b_pub)).unwrap();
        let local_shared = p.agree_key(&local_b, &params(a_pub)).unwrap();
        assert_eq!(
            &km.export_secret_key(shared.id()).unwrap()[..],
            &local_shared.export_secret().unwrap()[..],
            "{alg:?}"
        );
    }
}

#[test]
fn every_kdf_agrees() {
    let (_d, stack) = daemon();
    let p = inproc::provider();
    let km = stack.key_management();
    let (local, remote) = twin(&stack, Algorithm::GenericSecret);
    let kdfs = vec![
        KdfParameters::Hkdf {
            hash: Algorithm::Sha256,
            salt: b"salt".to_vec(),
            info: b"info".to_vec(),
        },
        KdfParameters::Hkdf {
            hash: Algorithm::Sha384,
            salt: vec![],
            info: b"info".to_vec(),
        },
        KdfParameters::Pbkdf2 {
            salt: b"saltsalt".to_vec(),
            iterations: 1000,
        },
        KdfParameters::Tls12Prf {
            label: b"key expansion".to_vec(),
            seed: vec![9; 64],
        },
        KdfParameters::Tls13ExpandLabel {
            label: b"key".to_vec(),
            context: vec![],
        },
        KdfParameters::Sp800108CounterHmac {
            label: b"label".to_vec(),
            context: b"ctx".to_vec(),
        },
    ];
    for kdf in kdfs {
        let params = DeriveKeyParams::builder()
            .kdf(kdf.clone())
            .output_algorithm(Algorithm::GenericSecret)
            .output_len(48)
            .permissions(KeyOperationPermission::EXPORT)
            .exportable(true)
            .build()
            .unwrap();
        let derived = km.derive_key(remote.id(), &params).unwrap();
        let mine = km.export_secret_key(derived.id()).unwrap();
        let want = p
            .derive_key(&local, &params)
            .unwrap()
            .export_secret()
            .unwrap();
        assert_eq!(&mine[..], &want[..], "{kdf:?}");
        assert_eq!(mine.len(), 48);
    }
}

#[test]
fn key_wrap_agrees_and_unwraps() {
    let (_d, stack) = daemon();
    let p = inproc::provider();
    let km = stack.key_management();
    for alg in [Algorithm::Aes256Kw, Algorithm::Aes256Kwp] {
        let (local_kek, kek) = twin(&stack, Algorithm::Aes256Key);
        let (local_target, target) = twin(&stack, Algorithm::Aes256Key);
        let wp = WrapKeyParams::new(alg).unwrap();
        let wrapped = km.wrap_key(kek.id(), target.id(), &wp).unwrap();
        let want = p.wrap_key(&local_kek, &local_target, &wp).unwrap();
        assert_eq!(wrapped, want, "{alg:?}");
        let up = UnwrapKeyParams::builder()
            .algorithm(alg)
            .unwrapped_algorithm(Algorithm::Aes256Key)
            .permissions(KeyOperationPermission::EXPORT)
            .exportable(true)
            .build()
            .unwrap();
        let back = km.unwrap_key(kek.id(), &wrapped, &up).unwrap();
        assert_eq!(
            &km.export_secret_key(back.id()).unwrap()[..],
            &local_target.export_secret().unwrap()[..]
        );
        let mut bad = wrapped.clone();
        bad[3] ^= 1;
        assert_eq!(
            km.unwrap_key(kek.id(), &bad, &up).unwrap_err().code(),
            ErrorCode::WrapUnwrapFailed
        );
    }
}

#[test]
fn generated_keys_of_every_type_work() {
    let (_d, stack) = daemon();
    // RSA and SLH-DSA key generation can exceed the default deadline in debug builds.
    let km = stack.key_management().with_timeout(Timeout::Disabled);
    for alg in Algorithm::ALL
        .iter()
        .copied()
        .filter(|a| a.is_key_algorithm())
    {
        let mut b = GenerateKeyParams::builder()
            .algorithm(alg)
            .permissions(all(alg));
        if matches!(alg, Algorithm::HmacKey | Algorithm::GenericSecret) {
            b = b.key_len(32);
        }
        if alg.is_rsa() {
            b = b.rsa_bits(2048);
        }
        let key = km
            .generate_key(&b.build().unwrap())
            .unwrap_or_else(|e| panic!("generate {alg:?}: {e}"));
        if alg.is_asymmetric() {
            assert!(
                !km.export_public_key(key.id(), None).unwrap().is_empty(),
                "{alg:?}"
            );
        }
        key.release().unwrap();
    }
    assert_eq!(stack.status().unwrap().live_keys, 0);
}

#[test]
fn inputs_larger_than_a_frame_are_streamed_transparently() {
    let (_d, stack) = daemon();
    let big: Vec<u8> = (0..(3 * stack.max_frame_len() as usize + 123))
        .map(|i| (i * 7) as u8)
        .collect();
    // Hash through update and through finalize_with.
    let cfg_h = cfg(Algorithm::Sha256, None, None);
    let mut h = stack.create_hash_context(&cfg_h).unwrap();
    h.init().unwrap();
    h.update(&big).unwrap();
    let a = h.finalize().unwrap();
    h.reset().unwrap();
    h.init().unwrap();
    let b = h.finalize_with(&big).unwrap();
    let s = Stream {
        chunks: &[&big],
        ..Stream::default()
    };
    let (want, _) = inproc::run(
        ContextKind::Hash,
        &local_cfg(Algorithm::Sha256, false, None),
        None,
        s,
    )
    .unwrap();
    assert_eq!((&a, &b), (&want, &want));
    // A cipher's output for a multi-frame input equals the library's.
    let (local, remote) = twin(&stack, Algorithm::Aes256Key);
    let enc = Some(CipherDirection::Encrypt);
    let iv = [1u8; 16];
    let mut e = stack
        .create_cipher_context(&cfg(Algorithm::Aes256Ctr, Some(remote.id()), enc))
        .unwrap();
    e.init(&iv).unwrap();
    let ct = e.finalize(&big).unwrap();
    let s = Stream {
        iv: &iv,
        last: &big,
        ..Stream::default()
    };
    let (want, _) = inproc::run(
        ContextKind::Cipher,
        &local_cfg(Algorithm::Aes256Ctr, true, enc),
        Some(local),
        s,
    )
    .unwrap();
    assert_eq!(ct.len(), big.len());
    assert_eq!(ct, want);
}
