//! End-to-end operations through a real daemon on a temporary socket: every context kind,
//! key management, the refcount rules of seed decision 2, permissions, quotas, disconnect
//! cleanup and the status operation. Results are compared with the provider in-process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Conn, start};
use warden_core::{
    Algorithm, ContextConfig, ErrorCode, ImportKeyParams, KeyFormat, KeyOperationPermission as P,
};
use warden_daemon::{ResourceKind, RunningDaemon};
use warden_provider_awslc::{AwsLcProvider, ContextKind as CK, Provider};
use warden_wire::messages::{
    CipherDirection, ContextKind, CreateContext, Decapsulate, Encapsulate, GenerateKey, ImportKey,
    KeySpec, Timeout,
};
use warden_wire::{Payload, Request, Response};

fn spec(alg: &str, perms: P, exportable: bool) -> KeySpec<'_> {
    KeySpec {
        algorithm: alg,
        permissions: perms.bits(),
        exportable,
        slot: None,
    }
}

fn generate(c: &mut Conn, alg: &str, perms: P) -> Result<u64, ErrorCode> {
    c.key(&Request::GenerateKey(GenerateKey {
        key: spec(alg, perms, false),
        rsa_bits: None,
        key_len: None,
        provider: None,
    }))
}

fn import(c: &mut Conn, alg: &str, perms: P, material: &[u8]) -> u64 {
    c.key(&Request::ImportKey(ImportKey {
        key: spec(alg, perms, false),
        format: KeyFormat::Raw,
        material: warden_wire::Payload::Inline(material),
    }))
    .unwrap()
}

fn create(
    c: &mut Conn,
    kind: ContextKind,
    alg: &str,
    key: Option<u64>,
    dir: Option<CipherDirection>,
) -> Result<u64, ErrorCode> {
    c.context(&Request::CreateContext(CreateContext {
        kind,
        algorithm: alg,
        key_id: key,
        direction: dir,
        timeout: Timeout::Default,
        options: Default::default(),
    }))
}

fn init(c: &mut Conn, id: u64, iv: &[u8]) -> Result<(), ErrorCode> {
    c.done(&Request::InitContext { context_id: id, iv })
}

fn update(c: &mut Conn, id: u64, data: &[u8]) -> Result<Vec<u8>, ErrorCode> {
    c.output(&Request::Update {
        context_id: id,
        input: Payload::Inline(data),
    })
    .map(|o| o.0)
}

fn finalize(
    c: &mut Conn,
    id: u64,
    data: &[u8],
    tag: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), ErrorCode> {
    c.output(&Request::Finalize {
        context_id: id,
        input: Payload::Inline(data),
        tag,
    })
}

/// One-shot: init + finalize.
fn once(c: &mut Conn, id: u64, data: &[u8]) -> Result<Vec<u8>, ErrorCode> {
    init(c, id, &[])?;
    finalize(c, id, data, &[]).map(|o| o.0)
}

/// Waits (bounded) until the daemon's live-resource count reaches `n`.
fn wait_live(d: &RunningDaemon, n: u64) {
    let until = Instant::now() + Duration::from_secs(5);
    while d.status().live_total() != n {
        assert!(
            Instant::now() < until,
            "live resources stuck at {:?}",
            d.status().live
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn hash_streams_resets_and_matches_known_vector() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let h = create(&mut c, ContextKind::Hash, "SHA-256", None, None).unwrap();
    let abc =
        hex::decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad").unwrap();
    assert_eq!(once(&mut c, h, b"abc").unwrap(), abc);
    // Finalized: update is refused until reset, then the context is reusable.
    assert_eq!(update(&mut c, h, b"x"), Err(ErrorCode::InvalidOperation));
    c.done(&Request::ResetContext { context_id: h }).unwrap();
    init(&mut c, h, &[]).unwrap();
    update(&mut c, h, b"a").unwrap();
    update(&mut c, h, b"b").unwrap();
    assert_eq!(finalize(&mut c, h, b"c", &[]).unwrap().0, abc);
    // Update before init is a typed stream error.
    c.done(&Request::ResetContext { context_id: h }).unwrap();
    assert_eq!(
        update(&mut c, h, b"a"),
        Err(ErrorCode::StreamNotInitialized)
    );
}

#[test]
fn hmac_agrees_with_in_process_provider() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let secret = [0x0bu8; 32];
    let k = import(&mut c, "HMAC", P::MAC, &secret);
    let m = create(&mut c, ContextKind::Mac, "HMAC-SHA256", Some(k), None).unwrap();
    // MAC: data goes through update; finalize with no input yields the tag (with input it
    // would verify an expected tag).
    init(&mut c, m, &[]).unwrap();
    update(&mut c, m, b"what do ya want for nothing?").unwrap();
    let remote = finalize(&mut c, m, &[], &[]).unwrap().0;
    // Verify mode: the right tag passes, a wrong one fails opaquely.
    c.done(&Request::ResetContext { context_id: m }).unwrap();
    init(&mut c, m, &[]).unwrap();
    update(&mut c, m, b"what do ya want for nothing?").unwrap();
    finalize(&mut c, m, &remote, &[]).unwrap();
    c.done(&Request::ResetContext { context_id: m }).unwrap();
    init(&mut c, m, &[]).unwrap();
    update(&mut c, m, b"what do ya want for nothing!").unwrap();
    assert_eq!(
        finalize(&mut c, m, &remote, &[]),
        Err(ErrorCode::OperationFailed)
    );

    let p = AwsLcProvider::new();
    let params = ImportKeyParams::builder()
        .algorithm(Algorithm::HmacKey)
        .permissions(P::MAC)
        .format(KeyFormat::Raw)
        .build()
        .unwrap();
    let key = Arc::new(p.import_key(&params, &secret).unwrap());
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::HmacSha256)
        .key(warden_core::ResourceId::new(
            1,
            warden_core::ResourceType::Key,
            warden_core::Persistence::Ephemeral,
            0,
        ))
        .build()
        .unwrap();
    let mut ctx = p.create_context(CK::Mac, &cfg, Some(key)).unwrap();
    ctx.init(&[]).unwrap();
    let mut out = [0u8; 64];
    ctx.update(b"what do ya want for nothing?", &mut [])
        .unwrap();
    let n = ctx.finalize(&[], &mut out).unwrap();
    assert_eq!(remote, out[..n]);
}

#[test]
fn ed25519_sign_verify_and_permissions() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let k = generate(&mut c, "ED25519", P::SIGN.union(P::VERIFY)).unwrap();
    let s = create(&mut c, ContextKind::Sign, "ED25519", Some(k), None).unwrap();
    let sig = once(&mut c, s, b"message").unwrap();
    assert_eq!(sig.len(), 64);
    let v = create(&mut c, ContextKind::Verify, "ED25519", Some(k), None).unwrap();
    init(&mut c, v, &[]).unwrap();
    update(&mut c, v, b"message").unwrap();
    finalize(&mut c, v, &sig, &[]).unwrap();
    c.done(&Request::ResetContext { context_id: v }).unwrap();
    init(&mut c, v, &[]).unwrap();
    update(&mut c, v, b"messagE").unwrap();
    assert_eq!(
        finalize(&mut c, v, &sig, &[]),
        Err(ErrorCode::OperationFailed)
    );

    // Public key export works without any permission bit; secret export needs Export.
    let public = c
        .bytes(&Request::ExportPublicKey {
            key_id: k,
            format: None,
            output: None,
        })
        .unwrap();
    assert_eq!(public.len(), 32);
    assert_eq!(
        c.bytes(&Request::ExportSecretKey {
            key_id: k,
            output: None,
        }),
        Err(ErrorCode::KeyNotExportable)
    );

    // A verify-only key cannot sign; an unknown key id is not found.
    let vk = generate(&mut c, "ED25519", P::VERIFY).unwrap();
    assert_eq!(
        create(&mut c, ContextKind::Sign, "ED25519", Some(vk), None),
        Err(ErrorCode::KeyOperationNotPermitted)
    );
    assert_eq!(
        create(&mut c, ContextKind::Sign, "ED25519", Some(12345), None),
        Err(ErrorCode::ResourceNotFound)
    );
}

#[test]
fn aead_round_trip_and_tamper_is_opaque() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let k = generate(&mut c, "AES-256", P::ENCRYPT.union(P::DECRYPT)).unwrap();
    let e = create(
        &mut c,
        ContextKind::Aead,
        "AES-256-GCM",
        Some(k),
        Some(CipherDirection::Encrypt),
    )
    .unwrap();
    // No CALLER_NONCE on the key: a chosen encryption nonce is refused, an empty one is drawn
    // by the daemon and comes back with the finalize output.
    assert_eq!(
        init(&mut c, e, &[7u8; 12]),
        Err(ErrorCode::KeyOperationNotPermitted)
    );
    init(&mut c, e, &[]).unwrap();
    c.done(&Request::SetAad {
        context_id: e,
        aad: Payload::Inline(b"header"),
    })
    .unwrap();
    let (ct, tag, nonce) = c
        .output_iv(&Request::Finalize {
            context_id: e,
            input: Payload::Inline(b"secret payload"),
            tag: &[],
        })
        .unwrap();
    assert_eq!(nonce.len(), 12);
    assert_ne!(nonce, [0u8; 12]);
    assert_eq!(ct.len(), 14);
    assert_eq!(tag.len(), 16);
    assert_ne!(&ct[..], b"secret payload");

    let dc = create(
        &mut c,
        ContextKind::Aead,
        "AES-256-GCM",
        Some(k),
        Some(CipherDirection::Decrypt),
    )
    .unwrap();
    init(&mut c, dc, &nonce).unwrap();
    c.done(&Request::SetAad {
        context_id: dc,
        aad: Payload::Inline(b"header"),
    })
    .unwrap();
    assert_eq!(
        finalize(&mut c, dc, &ct, &tag).unwrap().0,
        b"secret payload"
    );

    let mut bad = tag.clone();
    bad[0] ^= 1;
    c.done(&Request::ResetContext { context_id: dc }).unwrap();
    init(&mut c, dc, &nonce).unwrap();
    c.done(&Request::SetAad {
        context_id: dc,
        aad: Payload::Inline(b"header"),
    })
    .unwrap();
    assert_eq!(
        finalize(&mut c, dc, &ct, &bad),
        Err(ErrorCode::OperationFailed)
    );

    // A key made for encryption only cannot decrypt.
    let eo = generate(&mut c, "AES-256", P::ENCRYPT).unwrap();
    assert_eq!(
        create(
            &mut c,
            ContextKind::Aead,
            "AES-256-GCM",
            Some(eo),
            Some(CipherDirection::Decrypt)
        ),
        Err(ErrorCode::KeyOperationNotPermitted)
    );
}

#[test]
fn ml_kem_shared_secrets_agree() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let kp = c
        .key(&Request::GenerateKey(GenerateKey {
            key: spec("ML-KEM-768", P::ENCRYPT.union(P::DECRYPT), false),
            rsa_bits: None,
            key_len: None,
            provider: None,
        }))
        .unwrap();
    let out = spec("GENERIC-SECRET", P::EXPORT, true);
    let (ct, a) = c
        .call(
            &Request::Encapsulate(Encapsulate {
                public_key_id: kp,
                key: out,
            }),
            |r| match r {
                Response::Encapsulated { ciphertext, key_id } => (ciphertext.to_vec(), key_id),
                other => panic!("{other:?}"),
            },
        )
        .unwrap();
    assert_eq!(ct.len(), 1088);
    let b = c
        .key(&Request::Decapsulate(Decapsulate {
            private_key_id: kp,
            ciphertext: &ct,
            key: out,
        }))
        .unwrap();
    let sa = c
        .bytes(&Request::ExportSecretKey {
            key_id: a,
            output: None,
        })
        .unwrap();
    let sb = c
        .bytes(&Request::ExportSecretKey {
            key_id: b,
            output: None,
        })
        .unwrap();
    assert_eq!(sa.len(), 32);
    assert_eq!(sa, sb);
}

#[test]
fn random_bytes_differ_and_respect_frame_limit() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let a = c.bytes(&Request::Random { len: 32 }).unwrap();
    let b = c.bytes(&Request::Random { len: 32 }).unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(a, b);
    assert_eq!(
        c.bytes(&Request::Random { len: 10 << 20 }),
        Err(ErrorCode::QuotaExceeded)
    );
}

#[test]
fn guard_release_rules() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let k = generate(&mut c, "ED25519", P::SIGN).unwrap();
    let s = create(&mut c, ContextKind::Sign, "ED25519", Some(k), None).unwrap();
    c.done(&Request::ReleaseKey { key_id: k }).unwrap();
    // The context keeps the key alive; the guard is gone.
    assert_eq!(once(&mut c, s, b"still works").unwrap().len(), 64);
    assert_eq!(
        create(&mut c, ContextKind::Sign, "ED25519", Some(k), None),
        Err(ErrorCode::ResourceNotFound)
    );
    assert_eq!(
        c.done(&Request::ReleaseKey { key_id: k }),
        Err(ErrorCode::ResourceNotFound)
    );
    assert_eq!(
        c.bytes(&Request::ExportPublicKey {
            key_id: k,
            format: None,
            output: None,
        }),
        Err(ErrorCode::ResourceNotFound)
    );
    assert_eq!(d.status().live_of(ResourceKind::Key), 1);
    c.done(&Request::DestroyContext { context_id: s }).unwrap();
    assert_eq!(d.status().live_total(), 0, "last reference freed the key");
    assert_eq!(
        c.done(&Request::DestroyContext { context_id: s }),
        Err(ErrorCode::ResourceNotFound)
    );
    // Ids of one kind are not accepted where the other is expected.
    let k2 = generate(&mut c, "ED25519", P::SIGN).unwrap();
    assert_eq!(
        c.done(&Request::DestroyContext { context_id: k2 }),
        Err(ErrorCode::InvalidResourceType)
    );
}

#[test]
fn quota_and_namespaces() {
    let (_dir, d) = start(|c| c.limits.max_resources_per_connection = 3);
    let mut a = Conn::open(&d);
    let k = generate(&mut a, "ED25519", P::SIGN).unwrap();
    generate(&mut a, "ED25519", P::SIGN).unwrap();
    create(&mut a, ContextKind::Hash, "SHA-256", None, None).unwrap();
    assert_eq!(
        generate(&mut a, "ED25519", P::SIGN),
        Err(ErrorCode::QuotaExceeded)
    );
    assert_eq!(
        create(&mut a, ContextKind::Hash, "SHA-256", None, None),
        Err(ErrorCode::QuotaExceeded)
    );
    // Another connection cannot see or use a's key.
    let mut b = Conn::open(&d);
    assert_eq!(
        create(&mut b, ContextKind::Sign, "ED25519", Some(k), None),
        Err(ErrorCode::ResourceNotFound)
    );
    assert_eq!(
        b.done(&Request::ReleaseKey { key_id: k }),
        Err(ErrorCode::ResourceNotFound)
    );
    a.done(&Request::ReleaseKey { key_id: k }).unwrap();
    generate(&mut a, "ED25519", P::SIGN).unwrap();
}

#[test]
fn disconnect_frees_everything_and_status_reports_it() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    for _ in 0..5 {
        let k = generate(&mut c, "ED25519", P::SIGN).unwrap();
        create(&mut c, ContextKind::Sign, "ED25519", Some(k), None).unwrap();
    }
    let _ = c.bytes(&Request::ExportSecretKey {
        key_id: 1,
        output: None,
    });
    let status = c
        .call(&Request::Status, |r| match r {
            Response::Status(s) => (
                s.live_keys,
                s.live_contexts,
                s.connections,
                s.arenas_in_use,
                s.errors
                    .iter()
                    .map(|e| (e.code, e.count))
                    .collect::<Vec<_>>(),
            ),
            other => panic!("{other:?}"),
        })
        .unwrap();
    assert_eq!((status.0, status.1, status.2, status.3), (5, 5, 1, 1));
    assert!(
        status
            .4
            .contains(&(ErrorCode::ResourceNotFound.as_u32(), 1))
    );
    assert_eq!(d.status().live_of(ResourceKind::SignContext), 5);
    drop(c);
    wait_live(&d, 0);
    let until = Instant::now() + Duration::from_secs(5);
    while d.status().arenas_in_use != 0 {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(d.status().connections_open, 0);
}

#[test]
fn shared_memory_payloads_are_refused() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let h = create(&mut c, ContextKind::Hash, "SHA-256", None, None).unwrap();
    init(&mut c, h, &[]).unwrap();
    let shm = Payload::Shm(warden_wire::messages::ShmSlice {
        region: 1,
        offset: 0,
        len: 10,
    });
    assert_eq!(
        c.output(&Request::Update {
            context_id: h,
            input: shm
        }),
        Err(ErrorCode::InvalidMemoryRegion)
    );
}

#[test]
fn key_spec_slot_creates_a_durable_slot_once() {
    let (dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    let key = KeySpec {
        algorithm: "ED25519",
        permissions: P::SIGN.bits(),
        exportable: false,
        slot: Some("app.key"),
    };
    let gen_req = Request::GenerateKey(GenerateKey {
        key,
        rsa_bits: None,
        key_len: None,
        provider: None,
    });
    assert!(c.key(&gen_req).is_ok());
    assert_eq!(c.key(&gen_req), Err(ErrorCode::KeySlotOccupied));
    assert!(dir.path().join("data").join("store.redb").is_file());
    let bad = KeySpec {
        slot: Some("no spaces"),
        ..key
    };
    assert_eq!(
        c.key(&Request::GenerateKey(GenerateKey {
            key: bad,
            rsa_bits: None,
            key_len: None,
            provider: None
        })),
        Err(ErrorCode::InvalidArgument)
    );
}

#[test]
fn in_process_daemon_without_data_dir_serves_no_slots() {
    let (_dir, d) = start(|c| c.storage.data_dir = None);
    let mut c = Conn::open(&d);
    assert_eq!(
        c.key(&Request::SlotResolve { name: "app.key" }),
        Err(ErrorCode::PersistFailed)
    );
}

/// `ReceiptExport` pages: `max_bytes` smaller than a receipt still yields one whole receipt
/// per page (paging never stalls), pages follow the counters, and past the head is empty.
#[test]
fn receipt_export_pages_through_the_chain() {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    let (_dir, d) = start(|c| {
        c.access.admin_uids = vec![me];
        c.permits.audience = Some("aud".into());
    });
    let mut c = Conn::open(&d);
    let issuer = warden_attest::LocalSigner::generate(warden_attest::SigAlg::Ed25519).unwrap();
    let pk = issuer.public_key().unwrap();
    c.call(
        &Request::TrustAdd {
            issuer: "iss",
            algorithm: "ED25519",
            public_key: pk.as_bytes(),
        },
        |r| assert!(matches!(r, Response::Done)),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = warden_attest::PermitClaims {
        issuer: "iss".into(),
        subject: "agent".into(),
        audience: "aud".into(),
        not_before: now - 60,
        expires: now + 600,
        permit_id: b"once".to_vec(),
        action: "a".into(),
        resource: "r".into(),
        max_uses: None,
        intent_hash: warden_attest::sha256(b""),
    };
    let permit = warden_attest::issue_permit(&issuer, &claims).unwrap();
    let verify = |c: &mut Conn, permit: &[u8]| {
        c.call(
            &Request::PermitVerify {
                permit,
                action: "a",
                resource: "r",
                intent: b"",
            },
            |r| match r {
                Response::PermitDecision {
                    allowed, receipt, ..
                } => (allowed, receipt.to_vec()),
                other => panic!("unexpected {other:?}"),
            },
        )
    };
    // Not a permit at all: refused, and no receipt (the head below stays at 3).
    assert_eq!(
        verify(&mut c, &[7; 4]).unwrap_err(),
        ErrorCode::InvalidFormat
    );
    let mut receipts = Vec::new();
    for i in 0..3 {
        // Allowed once, then denied as replays: each decision is a receipt in the chain.
        let (allowed, receipt) = verify(&mut c, &permit).unwrap();
        assert_eq!(allowed, i == 0);
        receipts.push(receipt);
    }
    let page = |c: &mut Conn, from: u64, max_bytes: u32| {
        c.call(&Request::ReceiptExport { from, max_bytes }, |r| match r {
            Response::ReceiptExport {
                receipts,
                count,
                head,
                ..
            } => (receipts.to_vec(), count, head),
            other => panic!("unexpected {other:?}"),
        })
        .unwrap()
    };
    for from in 1..=3u64 {
        let (bytes, count, head) = page(&mut c, from, 1);
        assert_eq!((count, head), (1, 3));
        assert_eq!(bytes, receipts[from as usize - 1]);
    }
    let (bytes, count, head) = page(&mut c, 1, 0);
    assert_eq!((count, head), (3, 3));
    assert_eq!(bytes, receipts.concat());
    let (bytes, count, _) = page(&mut c, 4, 0);
    assert_eq!((bytes.len(), count), (0, 0));
}

/// `SlotList { name }` (1.1) answers with that one slot only, and hides a missing one
/// exactly as a resolve does.
#[test]
fn slot_list_name_filter_returns_one_slot() {
    let (_dir, d) = start(|_| {});
    let mut c = Conn::open(&d);
    for name in ["a.one", "b.two", "c.three"] {
        let key = KeySpec {
            slot: Some(name),
            ..spec("ED25519", P::SIGN, false)
        };
        c.key(&Request::GenerateKey(GenerateKey {
            key,
            rsa_bits: None,
            key_len: None,
            provider: None,
        }))
        .unwrap();
    }
    let names = |c: &mut Conn, only: &str| {
        c.call(
            &Request::SlotList {
                start_after: "",
                limit: 0,
                name: only,
            },
            |r| match r {
                Response::SlotList { slots, more } => {
                    assert!(!more);
                    slots.iter().map(|e| e.name.to_owned()).collect::<Vec<_>>()
                }
                other => panic!("unexpected {other:?}"),
            },
        )
    };
    assert_eq!(names(&mut c, "").unwrap().len(), 3);
    assert_eq!(names(&mut c, "b.two").unwrap(), vec!["b.two".to_owned()]);
    assert_eq!(names(&mut c, "d.none"), Err(ErrorCode::AccessDenied));
}
