//! Which context calls allocate on the Rust heap. The daemon proves its request path
//! heap-free with a counting allocator; this test pins down the provider's share: `update` and
//! `finalize` of Hash, MAC, AEAD, Cipher, Sign and Verify make no Rust-heap allocation, with
//! the exceptions listed in `EXPECTED_ALLOCATING` (asserted, so a change is noticed).
//! aws-lc's own `malloc` calls (C heap) are not visible here; see `warden_provider_awslc::design`.
//!
//! Counts are per thread (`warden_arena::counting`), so other tests' threads do not disturb them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::sync::Arc;

use common::*;
use warden_arena::counting::{CountingAlloc, measure};
use warden_core::{Algorithm, CipherDirection, GenerateKeyParams, KeyOperationPermission as P};
use warden_provider_awslc::{ContextKind, CryptoContext, Key, Provider};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Streams whose `finalize` allocates: aws-lc-rs's *signing* wrappers allocate on the Rust heap
/// (temporary signature / DER conversion buffers inside aws-lc-rs: Ed25519 1, ECDSA 3-4,
/// RSA-PSS 1, ML-DSA 1 allocation per signature, measured). Our own sign path uses only the
/// buffer reserved at context creation; every verify path and SLH-DSA signing allocate nothing.
const EXPECTED_ALLOCATING: &[(ContextKind, Algorithm)] = &[
    (ContextKind::Sign, Algorithm::Ed25519),
    (ContextKind::Sign, Algorithm::EcdsaP256Sha256),
    (ContextKind::Sign, Algorithm::EcdsaP384Sha384),
    (ContextKind::Sign, Algorithm::RsaPssSha256),
    (ContextKind::Sign, Algorithm::MlDsa65),
];

fn key(p: &dyn Provider, alg: Algorithm) -> Arc<Key> {
    let mut b = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(P::applicable_to(alg));
    if alg.is_rsa() {
        b = b.rsa_bits(2048);
    }
    if matches!(alg, Algorithm::HmacKey) {
        b = b.key_len(32);
    }
    Arc::new(p.generate_key(&b.build().unwrap()).unwrap())
}

/// Allocations made by `update` + `finalize` (after `init`, which may allocate).
fn count(
    ctx: &mut dyn CryptoContext,
    iv: &[u8],
    tag: Option<&[u8]>,
    data: &[u8],
    last: &[u8],
    out: &mut [u8],
) -> usize {
    ctx.reset().unwrap();
    ctx.init(iv).unwrap();
    if let Some(t) = tag {
        ctx.set_tag(t).unwrap();
    }
    let ((), allocations) = measure(|| {
        let n = ctx.update(data, out).unwrap();
        ctx.finalize(last, &mut out[n..]).unwrap();
    });
    usize::try_from(allocations).unwrap()
}

#[test]
fn update_and_finalize_do_not_allocate() {
    let p = provider();
    let data = vec![0x42u8; 1000];
    let mut out = vec![0u8; 64 * 1024];
    let mut measured: Vec<(ContextKind, Algorithm, usize)> = Vec::new();

    for alg in [
        Algorithm::Sha256,
        Algorithm::Sha384,
        Algorithm::Sha512,
        Algorithm::Sha3_256,
    ] {
        let mut c = context(&p, ContextKind::Hash, alg, None, None);
        measured.push((
            ContextKind::Hash,
            alg,
            count(c.as_mut(), &[], None, &data, &data, &mut out),
        ));
    }
    let hk = key(&p, Algorithm::HmacKey);
    let mut c = context(&p, ContextKind::Mac, Algorithm::HmacSha256, None, Some(hk));
    measured.push((
        ContextKind::Mac,
        Algorithm::HmacSha256,
        count(c.as_mut(), &[], None, &data, &[], &mut out),
    ));

    let aes = key(&p, Algorithm::Aes256Key);
    for alg in [Algorithm::Aes256Ctr, Algorithm::Aes256CbcPkcs7] {
        let mut c = context(
            &p,
            ContextKind::Cipher,
            alg,
            Some(CipherDirection::Encrypt),
            Some(aes.clone()),
        );
        measured.push((
            ContextKind::Cipher,
            alg,
            count(c.as_mut(), &[1u8; 16], None, &data, &data, &mut out),
        ));
    }
    let mut enc = context(
        &p,
        ContextKind::Aead,
        Algorithm::Aes256Gcm,
        Some(CipherDirection::Encrypt),
        Some(aes.clone()),
    );
    measured.push((
        ContextKind::Aead,
        Algorithm::Aes256Gcm,
        count(enc.as_mut(), &[1u8; 12], None, &data, &data, &mut out),
    ));
    let mut tag = [0u8; 16];
    enc.get_tag(&mut tag).unwrap();
    let ct = out[..2000].to_vec();
    let mut dec = context(
        &p,
        ContextKind::Aead,
        Algorithm::Aes256Gcm,
        Some(CipherDirection::Decrypt),
        Some(aes),
    );
    measured.push((
        ContextKind::Aead,
        Algorithm::Aes256Gcm,
        count(
            dec.as_mut(),
            &[1u8; 12],
            Some(&tag),
            &ct[..1000],
            &ct[1000..],
            &mut out,
        ),
    ));

    for alg in [
        Algorithm::Ed25519,
        Algorithm::EcdsaP256Sha256,
        Algorithm::EcdsaP384Sha384,
        Algorithm::RsaPssSha256,
        Algorithm::MlDsa65,
        Algorithm::SlhDsaSha2_128f,
    ] {
        let k = key(&p, alg);
        let mut s = context(&p, ContextKind::Sign, alg, None, Some(k.clone()));
        measured.push((
            ContextKind::Sign,
            alg,
            count(s.as_mut(), &[], None, &data, &data, &mut out),
        ));
        s.reset().unwrap();
        s.init(&[]).unwrap();
        s.update(&data, &mut []).unwrap();
        let mut sig = vec![0u8; s.max_output_len(0)];
        let n = s.finalize(&data, &mut sig).unwrap();
        let mut v = context(&p, ContextKind::Verify, alg, None, Some(k));
        let mut msg = data.clone();
        msg.extend_from_slice(&data);
        v.init(&[]).unwrap();
        let ((), allocations) = measure(|| {
            v.update(&msg, &mut []).unwrap();
            v.finalize(&sig[..n], &mut []).unwrap();
        });
        measured.push((
            ContextKind::Verify,
            alg,
            usize::try_from(allocations).unwrap(),
        ));
    }

    let mut report = String::new();
    for (kind, alg, n) in &measured {
        report.push_str(&format!("{kind:?} {alg}: {n}\n"));
    }
    println!("{report}");
    for (kind, alg, n) in measured {
        let expected = EXPECTED_ALLOCATING.contains(&(kind, alg));
        assert_eq!(
            n > 0,
            expected,
            "{kind:?} {alg} allocated {n} times (expected allocating: {expected})\n{report}"
        );
    }
}
