//! Property tests: any data, AAD and chunking round-trips through the AEAD and cipher
//! contexts, and streamed output equals one-shot output.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::sync::Arc;

use common::*;
use proptest::prelude::*;
use warden_core::{
    Algorithm, CipherDirection, EncapsulateParams, ImportKeyParams, KeyFormat,
    KeyOperationPermission as P,
};
use warden_provider_awslc::{AwsLcProvider, ContextKind, Key, Provider};

fn aes_key(p: &AwsLcProvider, bytes: &[u8; 32]) -> Arc<Key> {
    Arc::new(import(
        p,
        Algorithm::Aes256Key,
        P::ENCRYPT.union(P::DECRYPT).union(P::CALLER_NONCE),
        KeyFormat::Raw,
        bytes,
    ))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn aead_round_trips(key in any::<[u8; 32]>(), nonce in any::<[u8; 12]>(),
                        aad in proptest::collection::vec(any::<u8>(), 0..64),
                        data in proptest::collection::vec(any::<u8>(), 0..2048),
                        chunk in 1usize..300, chacha in any::<bool>()) {
        let p = provider();
        let (alg, key_alg) = if chacha {
            (Algorithm::ChaCha20Poly1305, Algorithm::ChaCha20Key)
        } else {
            (Algorithm::Aes256Gcm, Algorithm::Aes256Key)
        };
        let k = Arc::new(import(&p, key_alg, P::ENCRYPT.union(P::DECRYPT).union(P::CALLER_NONCE), KeyFormat::Raw, &key));
        let mut enc = context(&p, ContextKind::Aead, alg, Some(CipherDirection::Encrypt), Some(k.clone()));
        enc.init(&nonce).unwrap();
        enc.set_aad(&aad).unwrap();
        for piece in data.chunks(chunk) {
            enc.update(piece, &mut []).unwrap();
        }
        let mut ct = vec![0u8; data.len()];
        prop_assert_eq!(enc.finalize(&[], &mut ct).unwrap(), data.len());
        let mut tag = [0u8; 16];
        enc.get_tag(&mut tag).unwrap();
        // One-shot encryption gives the same ciphertext and tag.
        let mut once = vec![0u8; data.len()];
        enc.reset().unwrap();
        enc.init(&nonce).unwrap();
        enc.set_aad(&aad).unwrap();
        enc.finalize(&data, &mut once).unwrap();
        let mut tag2 = [0u8; 16];
        enc.get_tag(&mut tag2).unwrap();
        prop_assert_eq!(&once, &ct);
        prop_assert_eq!(tag, tag2);
        let mut dec = context(&p, ContextKind::Aead, alg, Some(CipherDirection::Decrypt), Some(k));
        dec.init(&nonce).unwrap();
        dec.set_aad(&aad).unwrap();
        dec.set_tag(&tag).unwrap();
        let mut pt = vec![0u8; ct.len()];
        dec.finalize(&ct, &mut pt).unwrap();
        prop_assert_eq!(pt, data);
    }

    #[test]
    fn ciphers_round_trip_with_any_chunking(key in any::<[u8; 32]>(), iv in any::<[u8; 16]>(),
                                            data in proptest::collection::vec(any::<u8>(), 0..2048),
                                            chunk in 1usize..300, cbc in any::<bool>()) {
        let p = provider();
        let alg = if cbc { Algorithm::Aes256CbcPkcs7 } else { Algorithm::Aes256Ctr };
        let k = aes_key(&p, &key);
        let mut enc = context(&p, ContextKind::Cipher, alg, Some(CipherDirection::Encrypt), Some(k.clone()));
        let ct = stream(enc.as_mut(), &iv, &data, chunk, &[]);
        enc.reset().unwrap();
        let once = stream(enc.as_mut(), &iv, &[], 1, &data);
        prop_assert_eq!(&ct, &once);
        let expected_len = if cbc { (data.len() / 16 + 1) * 16 } else { data.len() };
        prop_assert_eq!(ct.len(), expected_len);
        let mut dec = context(&p, ContextKind::Cipher, alg, Some(CipherDirection::Decrypt), Some(k));
        prop_assert_eq!(stream(dec.as_mut(), &iv, &ct, chunk, &[]), data);
    }

    #[test]
    fn hash_chunking_never_changes_the_digest(data in proptest::collection::vec(any::<u8>(), 0..4096),
                                              chunk in 1usize..500) {
        let p = provider();
        let mut a = context(&p, ContextKind::Hash, Algorithm::Sha3_256, None, None);
        let streamed = stream(a.as_mut(), &[], &data, chunk, &[]);
        a.reset().unwrap();
        let once = stream(a.as_mut(), &[], &[], 1, &data);
        prop_assert_eq!(streamed, once);
    }

    #[test]
    fn storage_bytes_never_panic_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = warden_provider_awslc::from_storage_bytes(&bytes);
    }

    #[test]
    fn imports_never_panic_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..3300),
                                      idx in 0usize..64, fmt in 1u8..=4) {
        let p = provider();
        let algs: Vec<Algorithm> = Algorithm::ALL.iter().copied().filter(|a| a.is_key_algorithm()).collect();
        let alg = algs[idx % algs.len()];
        let params = ImportKeyParams::builder()
            .algorithm(alg)
            .permissions(P::applicable_to(alg))
            .format(KeyFormat::from_u8(fmt).unwrap())
            .build();
        if let Ok(params) = params {
            // Ok or a typed error; never a panic. Accepted keys must re-encode.
            if let Ok(key) = p.import_key(&params, &bytes) {
                prop_assert!(key.danger_storage_bytes().is_ok());
            }
        }
    }

    #[test]
    fn decapsulation_of_random_ciphertexts_never_panics(ct in proptest::collection::vec(any::<u8>(), 1000..1200),
                                                        xwing in any::<bool>()) {
        let p = provider();
        let alg = if xwing { Algorithm::XWing } else { Algorithm::MlKem768 };
        let sk = p.generate_key(&warden_core::GenerateKeyParams::builder().algorithm(alg).permissions(P::DECRYPT).build().unwrap()).unwrap();
        let params = EncapsulateParams::builder().algorithm(alg).permissions(P::DERIVE).build().unwrap();
        let r = p.decapsulate(&sk, &ct, &params);
        // Right length: implicit rejection yields some key; wrong length: InvalidArgument.
        prop_assert_eq!(r.is_ok(), ct.len() == alg.kem_lengths().unwrap().ciphertext_len);
    }
}
