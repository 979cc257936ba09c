//! In-process benchmarks of every provider operation: the baseline the daemon's overhead is
//! measured against. Groups named `*-baseline` call aws-lc-rs directly, so the cost of the
//! provider abstraction (state machine, checks, copies into caller buffers) is visible in the
//! same run.
//!
//! Run: `cargo bench -p warden-crypto --bench provider` (settings below keep it to minutes).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use warden_core::{
    AgreeKeyParams, Algorithm, CipherDirection, ContextConfig, DeriveKeyParams, EncapsulateParams,
    GenerateKeyParams, KdfParameters, KeyFormat, KeyOperationPermission as P, Persistence,
    ResourceId, ResourceType, UnwrapKeyParams, WrapKeyParams,
};
use warden_provider_awslc::{AwsLcProvider, ContextKind, CryptoContext, Key, Provider};

/// Bench setup must not fail; a failure is a bug worth a loud stop.
fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("benchmark setup failed: {e}"),
    }
}

fn config(alg: Algorithm, dir: Option<CipherDirection>) -> ContextConfig {
    let mut b = ContextConfig::builder().algorithm(alg);
    if !alg.key_algorithms().is_empty() {
        b = b.key(ResourceId::new(
            1,
            ResourceType::Key,
            Persistence::Ephemeral,
            0,
        ));
    }
    if let Some(d) = dir {
        b = b.direction(d);
    }
    ok(b.build())
}

fn key(p: &AwsLcProvider, alg: Algorithm) -> Arc<Key> {
    let mut b = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(P::applicable_to(alg))
        .exportable(true);
    if alg.is_rsa() {
        b = b.rsa_bits(2048);
    }
    if matches!(alg, Algorithm::HmacKey | Algorithm::GenericSecret) {
        b = b.key_len(32);
    }
    Arc::new(ok(p.generate_key(&ok(b.build()))))
}

fn ctx(
    p: &AwsLcProvider,
    kind: ContextKind,
    alg: Algorithm,
    dir: Option<CipherDirection>,
    k: Option<Arc<Key>>,
) -> Box<dyn CryptoContext> {
    ok(p.create_context(kind, &config(alg, dir), k))
}

/// One complete stream on a reused context: reset, init, finalize(input).
fn one_shot(c: &mut dyn CryptoContext, iv: &[u8], input: &[u8], out: &mut [u8]) -> usize {
    ok(c.reset());
    ok(c.init(iv));
    ok(c.finalize(input, out))
}

fn hashes_and_macs(c: &mut Criterion) {
    let p = AwsLcProvider::new();
    let mut g = c.benchmark_group("hash");
    for (alg, size) in [
        (Algorithm::Sha256, 64usize),
        (Algorithm::Sha256, 1 << 20),
        (Algorithm::Sha3_256, 1 << 20),
        (Algorithm::Sha512, 1 << 20),
    ] {
        let data = vec![0x61u8; size];
        let mut cx = ctx(&p, ContextKind::Hash, alg, None, None);
        let mut out = [0u8; 64];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new(alg.name(), size), &data, |b, d| {
            b.iter(|| one_shot(cx.as_mut(), &[], black_box(d), &mut out))
        });
    }
    let data = vec![0x61u8; 64];
    g.throughput(Throughput::Bytes(64));
    g.bench_function("SHA-256-baseline/64", |b| {
        b.iter(|| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, black_box(&data)))
    });
    let big = vec![0x61u8; 1 << 20];
    g.throughput(Throughput::Bytes(1 << 20));
    g.bench_function("SHA-256-baseline/1048576", |b| {
        b.iter(|| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, black_box(&big)))
    });
    g.finish();

    let mut g = c.benchmark_group("mac");
    let k = key(&p, Algorithm::HmacKey);
    let mut cx = ctx(
        &p,
        ContextKind::Mac,
        Algorithm::HmacSha256,
        None,
        Some(k.clone()),
    );
    let mut out = [0u8; 32];
    for size in [64usize, 1024] {
        let data = vec![0x61u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("HMAC-SHA256", size), &data, |b, d| {
            b.iter(|| {
                ok(cx.reset());
                ok(cx.init(&[]));
                ok(cx.update(black_box(d), &mut []));
                ok(cx.finalize(&[], &mut out))
            })
        });
    }
    let hk = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &[7u8; 32]);
    let data = vec![0x61u8; 64];
    g.throughput(Throughput::Bytes(64));
    g.bench_function("HMAC-SHA256-baseline/64", |b| {
        b.iter(|| aws_lc_rs::hmac::sign(&hk, black_box(&data)))
    });
    g.finish();
}

fn ciphers(c: &mut Criterion) {
    let p = AwsLcProvider::with_buffer_limit(1 << 20);
    let mut g = c.benchmark_group("aead");
    let aes = key(&p, Algorithm::Aes256Key);
    let aes128 = key(&p, Algorithm::Aes128Key);
    let chacha = key(&p, Algorithm::ChaCha20Key);
    for (alg, k, size) in [
        (Algorithm::Aes256Gcm, &aes, 1024usize),
        (Algorithm::Aes256Gcm, &aes, 1 << 20),
        (Algorithm::Aes128Gcm, &aes128, 1024),
        (Algorithm::ChaCha20Poly1305, &chacha, 16 * 1024),
    ] {
        let data = vec![0x61u8; size];
        let mut out = vec![0u8; size];
        let mut enc = ctx(
            &p,
            ContextKind::Aead,
            alg,
            Some(CipherDirection::Encrypt),
            Some(k.clone()),
        );
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(
            BenchmarkId::new(format!("{}-seal", alg.name()), size),
            &data,
            |b, d| b.iter(|| one_shot(enc.as_mut(), &[1u8; 12], black_box(d), &mut out)),
        );
        // Ciphertext and tag for the open benchmark.
        let mut ct = vec![0u8; size];
        one_shot(enc.as_mut(), &[1u8; 12], &data, &mut ct);
        let mut tag = [0u8; 16];
        ok(enc.get_tag(&mut tag));
        let mut dec = ctx(
            &p,
            ContextKind::Aead,
            alg,
            Some(CipherDirection::Decrypt),
            Some(k.clone()),
        );
        g.bench_with_input(
            BenchmarkId::new(format!("{}-open", alg.name()), size),
            &ct,
            |b, d| {
                b.iter(|| {
                    ok(dec.reset());
                    ok(dec.init(&[1u8; 12]));
                    ok(dec.set_tag(&tag));
                    ok(dec.finalize(black_box(d), &mut out))
                })
            },
        );
    }
    // Baseline: aws-lc-rs LessSafeKey sealing in place, same sizes as the first two rows.
    let lk = aws_lc_rs::aead::LessSafeKey::new(ok(aws_lc_rs::aead::UnboundKey::new(
        &aws_lc_rs::aead::AES_256_GCM,
        &[7u8; 32],
    )));
    for size in [1024usize, 1 << 20] {
        let mut buf = vec![0x61u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("AES-256-GCM-seal-baseline", size), |b| {
            b.iter(|| {
                let nonce = aws_lc_rs::aead::Nonce::assume_unique_for_key([1u8; 12]);
                ok(lk.seal_in_place_separate_tag(
                    nonce,
                    aws_lc_rs::aead::Aad::empty(),
                    black_box(&mut buf),
                ))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("cipher");
    let size = 1 << 20;
    let data = vec![0x61u8; size];
    let mut out = vec![0u8; size + 32];
    for alg in [Algorithm::Aes256Ctr, Algorithm::Aes256CbcPkcs7] {
        let mut enc = ctx(
            &p,
            ContextKind::Cipher,
            alg,
            Some(CipherDirection::Encrypt),
            Some(aes.clone()),
        );
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new(alg.name(), size), &data, |b, d| {
            b.iter(|| one_shot(enc.as_mut(), &[2u8; 16], black_box(d), &mut out))
        });
    }
    let rsa = key(&p, Algorithm::RsaOaepSha256);
    let mut enc = ctx(
        &p,
        ContextKind::Cipher,
        Algorithm::RsaOaepSha256,
        Some(CipherDirection::Encrypt),
        Some(rsa.clone()),
    );
    let mut dec = ctx(
        &p,
        ContextKind::Cipher,
        Algorithm::RsaOaepSha256,
        Some(CipherDirection::Decrypt),
        Some(rsa),
    );
    let mut ct = [0u8; 256];
    g.throughput(Throughput::Elements(1));
    g.bench_function("RSA-OAEP-SHA256-2048-encrypt", |b| {
        b.iter(|| one_shot(enc.as_mut(), &[], black_box(&[5u8; 32]), &mut ct))
    });
    let n = one_shot(enc.as_mut(), &[], &[5u8; 32], &mut ct);
    let mut pt = [0u8; 256];
    g.bench_function("RSA-OAEP-SHA256-2048-decrypt", |b| {
        b.iter(|| one_shot(dec.as_mut(), &[], black_box(&ct[..n]), &mut pt))
    });
    g.finish();
}

fn signatures(c: &mut Criterion) {
    let p = AwsLcProvider::new();
    let msg = [0x61u8; 64];
    let mut g = c.benchmark_group("signature");
    g.throughput(Throughput::Elements(1));
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
        let k = key(&p, alg);
        let mut s = ctx(&p, ContextKind::Sign, alg, None, Some(k.clone()));
        let mut sig = vec![0u8; s.max_output_len(0)];
        if alg == Algorithm::SlhDsaSha2_128s {
            g.sample_size(10); // ~0.2 s per signature
        }
        g.bench_function(format!("{}-sign", alg.name()), |b| {
            b.iter(|| one_shot(s.as_mut(), &[], black_box(&msg), &mut sig))
        });
        let n = one_shot(s.as_mut(), &[], &msg, &mut sig);
        let mut v = ctx(&p, ContextKind::Verify, alg, None, Some(k));
        g.bench_function(format!("{}-verify", alg.name()), |b| {
            b.iter(|| {
                ok(v.reset());
                ok(v.init(&[]));
                ok(v.update(black_box(&msg), &mut []));
                ok(v.finalize(&sig[..n], &mut []))
            })
        });
    }
    g.sample_size(100);
    let ed = ok(aws_lc_rs::signature::Ed25519KeyPair::generate());
    g.bench_function("ED25519-sign-baseline", |b| {
        b.iter(|| ed.sign(black_box(&msg)))
    });
    let ec = ok(aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    ));
    let rng = aws_lc_rs::rand::SystemRandom::new();
    g.bench_function("ECDSA-P256-SHA256-sign-baseline", |b| {
        b.iter(|| ok(ec.sign(&rng, black_box(&msg))))
    });
    g.finish();
}

fn key_establishment(c: &mut Criterion) {
    let p = AwsLcProvider::new();
    let mut g = c.benchmark_group("kem");
    g.throughput(Throughput::Elements(1));
    for alg in [
        Algorithm::MlKem512,
        Algorithm::MlKem768,
        Algorithm::MlKem1024,
        Algorithm::XWing,
    ] {
        let params = ok(EncapsulateParams::builder()
            .algorithm(alg)
            .permissions(P::DERIVE)
            .build());
        let gen_params = ok(GenerateKeyParams::builder()
            .algorithm(alg)
            .permissions(P::applicable_to(alg))
            .build());
        g.bench_function(format!("{}-keygen", alg.name()), |b| {
            b.iter(|| ok(p.generate_key(&gen_params)))
        });
        let k = key(&p, alg);
        g.bench_function(format!("{}-encaps", alg.name()), |b| {
            b.iter(|| ok(p.encapsulate(&k, &params)))
        });
        let (ct, _) = ok(p.encapsulate(&k, &params));
        g.bench_function(format!("{}-decaps", alg.name()), |b| {
            b.iter(|| ok(p.decapsulate(&k, black_box(&ct), &params)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("agree");
    g.throughput(Throughput::Elements(1));
    for alg in [Algorithm::X25519, Algorithm::EcdhP256, Algorithm::EcdhP384] {
        let peer = key(&p, alg);
        let params = ok(AgreeKeyParams::builder()
            .algorithm(alg)
            .peer_public(ok(peer.public_key(KeyFormat::Raw)))
            .output_algorithm(Algorithm::GenericSecret)
            .permissions(P::DERIVE)
            .build());
        let gen_params = ok(GenerateKeyParams::builder()
            .algorithm(alg)
            .permissions(P::AGREE)
            .build());
        g.bench_function(format!("{}-keygen+agree", alg.name()), |b| {
            b.iter(|| {
                let mine = ok(p.generate_key(&gen_params));
                ok(p.agree_key(&mine, &params))
            })
        });
    }
    g.finish();
}

fn key_management(c: &mut Criterion) {
    let p = AwsLcProvider::new();
    let mut g = c.benchmark_group("keys");
    g.throughput(Throughput::Elements(1));
    for alg in [
        Algorithm::Aes256Key,
        Algorithm::Ed25519,
        Algorithm::EcdsaP256Sha256,
        Algorithm::MlDsa65,
    ] {
        let params = ok(GenerateKeyParams::builder()
            .algorithm(alg)
            .permissions(P::applicable_to(alg))
            .build());
        g.bench_function(format!("{}-generate", alg.name()), |b| {
            b.iter(|| ok(p.generate_key(&params)))
        });
    }
    let base = key(&p, Algorithm::GenericSecret);
    let kdfs = [
        KdfParameters::Hkdf {
            hash: Algorithm::Sha256,
            salt: vec![1; 32],
            info: b"info".to_vec(),
        },
        KdfParameters::Pbkdf2 {
            salt: vec![1; 16],
            iterations: 1000,
        },
        KdfParameters::Tls12Prf {
            label: b"key expansion".to_vec(),
            seed: vec![2; 64],
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
        let name = ok(kdf.algorithm()).name();
        let params = ok(DeriveKeyParams::builder()
            .kdf(kdf)
            .output_algorithm(Algorithm::Aes256Key)
            .permissions(P::ENCRYPT)
            .build());
        g.bench_function(format!("derive-{name}"), |b| {
            b.iter(|| ok(p.derive_key(&base, &params)))
        });
    }
    let kek = key(&p, Algorithm::Aes256Key);
    let target = key(&p, Algorithm::Aes256Key);
    for alg in [Algorithm::Aes256Kw, Algorithm::Aes256Kwp] {
        let params = ok(WrapKeyParams::new(alg));
        g.bench_function(format!("{}-wrap", alg.name()), |b| {
            b.iter(|| ok(p.wrap_key(&kek, &target, &params)))
        });
        let wrapped = ok(p.wrap_key(&kek, &target, &params));
        let up = ok(UnwrapKeyParams::builder()
            .algorithm(alg)
            .unwrapped_algorithm(Algorithm::Aes256Key)
            .permissions(P::ENCRYPT)
            .build());
        g.bench_function(format!("{}-unwrap", alg.name()), |b| {
            b.iter(|| ok(p.unwrap_key(&kek, black_box(&wrapped), &up)))
        });
    }
    let stored = ok(target.danger_storage_bytes());
    g.bench_function("AES-256-storage-restore", |b| {
        b.iter(|| {
            ok(warden_provider_awslc::from_storage_bytes(black_box(
                &stored,
            )))
        })
    });
    let mut rnd = [0u8; 32];
    g.bench_function("random-32", |b| {
        b.iter(|| ok(p.random(black_box(&mut rnd))))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(50);
    targets = hashes_and_macs, ciphers, signatures, key_establishment, key_management
}
criterion_main!(benches);
