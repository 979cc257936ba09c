//! Known-answer tests for ECDH-P256 and ECDH-P384 (RFC 5903 §8.1 and §8.2), run through the
//! provider: both private keys enter warden as PKCS#8 v1 (built here from the published scalar
//! and public point), their public halves must be the published points, and `agree_key` in both
//! directions must give the published shared x-coordinate. Malformed or foreign peer points must
//! fail with `KeyAgreementFailed` and produce no key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::*;
use serde_json::Value;
use warden_core::{
    AgreeKeyParams, Algorithm, ErrorCode, ImportKeyParams, KeyFormat, KeyOperationPermission as P,
};
use warden_provider_awslc::{Key, Provider};

/// DER tag-length-value (definite length, short or long form).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap());
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Named-curve OID (content bytes) for the ECDH algorithm.
fn curve_oid(alg: Algorithm) -> &'static [u8] {
    match alg {
        // 1.2.840.10045.3.1.7 (prime256v1 / P-256)
        Algorithm::EcdhP256 => &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        // 1.3.132.0.34 (secp384r1 / P-384)
        Algorithm::EcdhP384 => &[0x2b, 0x81, 0x04, 0x00, 0x22],
        other => panic!("not ECDH: {other:?}"),
    }
}

/// PKCS#8 v1 `PrivateKeyInfo` (RFC 5208) holding an RFC 5915 `ECPrivateKey` with the scalar and,
/// if given, the SEC1 uncompressed public point.
fn ec_pkcs8(alg: Algorithm, scalar: &[u8], public: Option<&[u8]>) -> Vec<u8> {
    let mut ec = tlv(0x02, &[1]); // version 1 (ecPrivkeyVer1)
    ec.extend(tlv(0x04, scalar));
    if let Some(point) = public {
        let mut bits = vec![0u8]; // no unused bits
        bits.extend_from_slice(point);
        ec.extend(tlv(0xa1, &tlv(0x03, &bits)));
    }
    // AlgorithmIdentifier { id-ecPublicKey 1.2.840.10045.2.1, namedCurve }
    let mut alg_id = tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
    alg_id.extend(tlv(0x06, curve_oid(alg)));
    let mut body = tlv(0x02, &[0]); // PKCS#8 version 0 (v1)
    body.extend(tlv(0x30, &alg_id));
    body.extend(tlv(0x04, &tlv(0x30, &ec)));
    tlv(0x30, &body)
}

/// SEC1 uncompressed point `04 || x || y`.
fn point(case: &Value, x: &str, y: &str) -> Vec<u8> {
    let mut p = vec![4u8];
    p.extend(b(case, x));
    p.extend(b(case, y));
    p
}

fn agree(p: &dyn Provider, alg: Algorithm, sk: &Key, peer: &[u8]) -> warden_core::Result<Key> {
    let params = AgreeKeyParams::builder()
        .algorithm(alg)
        .peer_public(peer.to_vec())
        .output_algorithm(Algorithm::GenericSecret)
        .permissions(P::EXPORT.union(P::DERIVE))
        .exportable(true)
        .build()
        .unwrap();
    p.agree_key(sk, &params)
}

fn try_import(
    p: &dyn Provider,
    alg: Algorithm,
    perms: P,
    format: KeyFormat,
    bytes: &[u8],
) -> warden_core::Result<Key> {
    let params = ImportKeyParams::builder()
        .algorithm(alg)
        .permissions(perms)
        .format(format)
        .build()
        .unwrap();
    p.import_key(&params, bytes)
}

#[test]
fn ecdh_rfc5903_both_directions() {
    let p = provider();
    let file = vectors("ecdh_rfc5903.json");
    let mut covered = Vec::new();
    for case in cases(&file, "ecdh") {
        let alg = alg(case);
        covered.push(alg);
        let sec = s(case, "section");
        let (gi, gr) = (point(case, "gix", "giy"), point(case, "grx", "gry"));
        let girx = b(case, "girx");
        for (private, own, peer) in [("i", &gi, &gr), ("r", &gr, &gi)] {
            // Scalar alone (public point computed by aws-lc) and scalar plus the published point.
            for with_public in [false, true] {
                let der = ec_pkcs8(
                    alg,
                    &b(case, private),
                    with_public.then_some(own.as_slice()),
                );
                let sk = import(&p, alg, P::AGREE, KeyFormat::Pkcs8, &der);
                assert_eq!(
                    sk.public_key(KeyFormat::Raw).unwrap(),
                    *own,
                    "§{sec} g{private}"
                );
                let shared = agree(&p, alg, &sk, peer).unwrap();
                assert_eq!(
                    shared.export_secret().unwrap().to_vec(),
                    girx,
                    "§{sec} {private} with the peer point"
                );
                assert_eq!(shared.algorithm(), Algorithm::GenericSecret);
            }
        }
        // The published points are valid public keys for this curve (Raw and SPKI round trip).
        let public = import(&p, alg, P::AGREE, KeyFormat::Raw, &gr);
        let spki = public.public_key(KeyFormat::SubjectPublicKeyInfo).unwrap();
        let again = import(&p, alg, P::AGREE, KeyFormat::SubjectPublicKeyInfo, &spki);
        assert_eq!(again.public_key(KeyFormat::Raw).unwrap(), gr);
        // A public-only key cannot agree.
        assert_eq!(
            agree(&p, alg, &public, &gi).unwrap_err().code(),
            ErrorCode::IncompatibleKeyType
        );
    }
    assert_eq!(covered, [Algorithm::EcdhP256, Algorithm::EcdhP384]);
}

#[test]
fn ecdh_rfc5903_invalid_peer_points_fail() {
    let p = provider();
    let file = vectors("ecdh_rfc5903.json");
    let list = cases(&file, "ecdh");
    for (n, case) in list.iter().enumerate() {
        let alg = alg(case);
        let sk = import(
            &p,
            alg,
            P::AGREE,
            KeyFormat::Pkcs8,
            &ec_pkcs8(alg, &b(case, "i"), None),
        );
        let gr = point(case, "grx", "gry");
        let coord = (gr.len() - 1) / 2;
        // y + 1: the point (grx, gry + 1) is not on the curve (invalid-curve attack input).
        let mut off_curve = gr.clone();
        *off_curve.last_mut().unwrap() ^= 1;
        // Compressed-point prefix on an uncompressed-length encoding.
        let mut bad_prefix = gr.clone();
        bad_prefix[0] = 2;
        // x = p would be an unreduced coordinate; all-0xff is >= p for both curves.
        let mut unreduced = vec![4u8];
        unreduced.extend(vec![0xffu8; coord]);
        unreduced.extend_from_slice(&gr[1 + coord..]);
        // The other curve's published point.
        let other = &list[1 - n];
        let foreign = point(other, "grx", "gry");
        let peers: [(&str, Vec<u8>); 7] = [
            ("off curve", off_curve),
            ("bad prefix", bad_prefix),
            ("unreduced x", unreduced),
            ("truncated", gr[..gr.len() - 1].to_vec()),
            ("x only", gr[..=coord].to_vec()),
            ("point at infinity", vec![0u8]),
            ("other curve", foreign),
        ];
        for (what, peer) in peers {
            let err = agree(&p, alg, &sk, &peer).unwrap_err();
            assert_eq!(err.code(), ErrorCode::KeyAgreementFailed, "{alg:?} {what}");
        }
        // The same off-curve point is also refused as a public key.
        let mut off_curve = gr.clone();
        *off_curve.last_mut().unwrap() ^= 1;
        assert_eq!(
            try_import(&p, alg, P::AGREE, KeyFormat::Raw, &off_curve)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidFormat
        );
        // A PKCS#8 whose embedded public point does not belong to the scalar is rejected.
        let mismatched = ec_pkcs8(alg, &b(case, "i"), Some(&gr));
        assert_eq!(
            try_import(&p, alg, P::AGREE, KeyFormat::Pkcs8, &mismatched)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidFormat
        );
    }
}
