//! Permission bits must not cross between operations (issue 11 item 4), attacked against a
//! real `wardend`:
//! - ENCRYPT-only is not DECRYPT: a caller who picks an AES-GCM / ChaCha20-Poly1305 / AES-CTR
//!   nonce can re-encrypt zeros under a victim's nonce and read the keystream, so encryption
//!   nonces are drawn by the daemon and a caller nonce needs the `caller-nonce` bit;
//! - DERIVE is not MAC: PBKDF2 with one iteration and salt M is HMAC(K, M‖00000001), so an HMAC
//!   key can neither carry DERIVE nor feed any KDF, even from a store written before the rule;
//! - bits a key type cannot use are refused at generation, import and grant.
//!
//! The cross-uid test runs a child copy of this binary as another uid and skips with a
//! message when not root.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use warden_client::*;
use warden_e2e::persistent::{Wardend, config, is_root, my_uid, shared_root};
use warden_wire::handshake::Hello;
use warden_wire::messages::{GenerateKey, ImportKey, KeySpec};
use warden_wire::{Builder, DEFAULT_MAX_FRAME_LEN, FrameHeader, HEADER_LEN, PROTOCOL_VERSION};

type P = KeyOperationPermission;

const CHILD_SCRIPT: &str = "WARDEN_E2E_CROSSING_CHILD";
const CHILD_SOCKET: &str = "WARDEN_E2E_CROSSING_SOCKET";
/// Spare uid the grantee child runs as (no account needed).
const GRANTEE_UID: u32 = 4271;
/// A nonce the owner's messages used, known to the grantee (nonces are not secret).
const VICTIMS_NONCE: [u8; 12] = [0x5A; 12];

fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

/// The error code of an attack that must fail; `what` says what succeeding would mean.
fn denied<T>(r: Result<T>, what: &str) -> ErrorCode {
    match r {
        Ok(_) => panic!("ATTACK SUCCEEDED: {what}"),
        Err(e) => e.code(),
    }
}

fn ctx_cfg(alg: Algorithm, key: ResourceId, dir: CipherDirection) -> ContextConfig {
    ContextConfig::builder()
        .algorithm(alg)
        .key(key)
        .direction(dir)
        .build()
        .unwrap()
}

fn import(km: &KeyManagement, alg: Algorithm, perms: P, secret: &[u8]) -> ResourceGuard {
    let p = ImportKeyParams::builder()
        .algorithm(alg)
        .permissions(perms)
        .build()
        .unwrap();
    km.import_key(&p, secret).unwrap()
}

const AEADS: &[(Algorithm, Algorithm, usize)] = &[
    (Algorithm::Aes256Gcm, Algorithm::Aes256Key, 32),
    (Algorithm::Aes128Gcm, Algorithm::Aes128Key, 16),
    (Algorithm::ChaCha20Poly1305, Algorithm::ChaCha20Key, 32),
];
const CIPHERS: &[Algorithm] = &[Algorithm::Aes256Ctr, Algorithm::Aes256CbcPkcs7];

const MSG: &[u8] = b"transfer 1000 to account 42; the PIN is 1234";
const AAD: &[u8] = b"header";

#[test]
fn encrypt_only_aead_keys_cannot_pick_nonces_and_get_fresh_ones() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let km = s.key_management();
    for &(alg, key_alg, key_len) in AEADS {
        let secret = s.random(key_len).unwrap();
        let enc_only = import(&km, key_alg, P::ENCRYPT, &secret);
        let dec_only = import(&km, key_alg, P::DECRYPT, &secret);
        let mut enc = s
            .create_aead_context(&ctx_cfg(alg, enc_only.id(), CipherDirection::Encrypt))
            .unwrap();
        let mut dec = s
            .create_aead_context(&ctx_cfg(alg, dec_only.id(), CipherDirection::Decrypt))
            .unwrap();

        // The attack: zeros under a victim's nonce would give the keystream. Refused in the
        // one-request form and in the streamed form alike.
        let victims_nonce = [0x5Au8; 12];
        let what = format!("{alg}: ENCRYPT-only key encrypted zeros under a chosen nonce");
        assert_eq!(
            denied(enc.seal(&victims_nonce, AAD, &[0u8; 64]), &what),
            ErrorCode::KeyOperationNotPermitted,
        );
        assert_eq!(
            denied(enc.init(&victims_nonce), &what),
            ErrorCode::KeyOperationNotPermitted,
        );

        // Without a nonce the daemon draws one per message and returns it.
        let a = enc.seal_fresh(AAD, MSG).unwrap();
        let b = enc.seal_fresh(AAD, MSG).unwrap();
        assert_eq!(a.nonce.len(), 12, "{alg}");
        assert_ne!(a.nonce, b.nonce, "{alg}: nonce repeated");
        assert_ne!(a.ciphertext, b.ciphertext, "{alg}");
        for sealed in [&a, &b] {
            let plain = dec
                .open(&sealed.nonce, AAD, &sealed.ciphertext, &sealed.tag)
                .unwrap();
            assert_eq!(plain, MSG, "{alg}");
        }
        // The streamed path reports the nonce with finalize.
        enc.reset().unwrap();
        enc.init(&[]).unwrap();
        enc.set_aad(AAD).unwrap();
        let mut ct = enc.update(MSG).unwrap();
        ct.extend(enc.finalize(&[]).unwrap());
        let nonce = enc.nonce().to_vec();
        assert_eq!(nonce.len(), 12, "{alg}");
        assert!(
            nonce != a.nonce && nonce != b.nonce,
            "{alg}: nonce repeated"
        );
        assert_eq!(dec.open(&nonce, AAD, &ct, enc.tag()).unwrap(), MSG);
        // Decryption still takes the nonce: none is an error, not a fresh one.
        assert_eq!(
            code(dec.open(&[], AAD, &a.ciphertext, &a.tag)),
            ErrorCode::InvalidArgument
        );

        // With the separately granted, dangerous bit the caller's nonce is used as given.
        let trusted = import(&km, key_alg, P::ENCRYPT | P::CALLER_NONCE, &secret);
        let mut fixed = s
            .create_aead_context(&ctx_cfg(alg, trusted.id(), CipherDirection::Encrypt))
            .unwrap();
        let (ct, tag) = fixed.seal(&victims_nonce, AAD, MSG).unwrap();
        assert_eq!(fixed.nonce(), victims_nonce, "{alg}");
        assert_eq!(dec.open(&victims_nonce, AAD, &ct, &tag).unwrap(), MSG);
    }
}

#[test]
fn encrypt_only_ctr_and_cbc_keys_cannot_pick_ivs_and_get_fresh_ones() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let km = s.key_management();
    for &alg in CIPHERS {
        let secret = s.random(32).unwrap();
        let enc_only = import(&km, Algorithm::Aes256Key, P::ENCRYPT, &secret);
        let dec_only = import(&km, Algorithm::Aes256Key, P::DECRYPT, &secret);
        let mut enc = s
            .create_cipher_context(&ctx_cfg(alg, enc_only.id(), CipherDirection::Encrypt))
            .unwrap();
        let mut dec = s
            .create_cipher_context(&ctx_cfg(alg, dec_only.id(), CipherDirection::Decrypt))
            .unwrap();
        let victims_iv = [0xA5u8; 16];
        let what = format!("{alg}: ENCRYPT-only key encrypted zeros under a chosen IV");
        assert_eq!(
            denied(enc.apply(&victims_iv, &[0u8; 64]), &what),
            ErrorCode::KeyOperationNotPermitted,
        );
        assert_eq!(
            denied(enc.init(&victims_iv), &what),
            ErrorCode::KeyOperationNotPermitted,
        );
        let (iv_a, ct_a) = enc.encrypt(MSG).unwrap();
        let (iv_b, ct_b) = enc.encrypt(MSG).unwrap();
        assert_eq!(iv_a.len(), 16, "{alg}");
        assert_ne!(iv_a, iv_b, "{alg}: IV repeated");
        assert_ne!(ct_a, ct_b, "{alg}");
        assert_eq!(dec.apply(&iv_a, &ct_a).unwrap(), MSG, "{alg}");
        assert_eq!(dec.apply(&iv_b, &ct_b).unwrap(), MSG, "{alg}");
        // Streamed: init without an IV, the IV comes back with finalize.
        enc.reset().unwrap();
        enc.init(&[]).unwrap();
        let mut ct = enc.update(&MSG[..10]).unwrap();
        ct.extend(enc.finalize(&MSG[10..]).unwrap());
        let iv = enc.iv().to_vec();
        assert_eq!(iv.len(), 16, "{alg}");
        assert!(iv != iv_a && iv != iv_b, "{alg}: IV repeated");
        assert_eq!(dec.apply(&iv, &ct).unwrap(), MSG, "{alg}");

        let trusted = import(
            &km,
            Algorithm::Aes256Key,
            P::ENCRYPT | P::CALLER_NONCE,
            &secret,
        );
        let mut fixed = s
            .create_cipher_context(&ctx_cfg(alg, trusted.id(), CipherDirection::Encrypt))
            .unwrap();
        let ct = fixed.apply(&victims_iv, MSG).unwrap();
        assert_eq!(fixed.iv(), victims_iv, "{alg}");
        assert_eq!(dec.apply(&victims_iv, &ct).unwrap(), MSG, "{alg}");
    }
}

// ---- raw requests: the daemon's own checks, not the client's builders -------------------

/// A handshaken raw connection.
fn raw(d: &Wardend) -> UnixStream {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut body = [0u8; 16];
    let n = Hello {
        min: PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
        client_name: "raw",
    }
    .encode(&mut body)
    .unwrap();
    let h = FrameHeader {
        body_len: n as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, 0, warden_wire::Opcode::Hello.as_u16())
    };
    s.write_all(&h.to_bytes()).unwrap();
    s.write_all(&body[..n]).unwrap();
    assert_eq!(read_reply(&mut s).0, 0);
    s
}

/// Status and body of the next reply.
fn read_reply(s: &mut UnixStream) -> (u32, Vec<u8>) {
    let mut h = [0u8; HEADER_LEN];
    s.read_exact(&mut h).unwrap();
    let h = FrameHeader::decode(&h, DEFAULT_MAX_FRAME_LEN).unwrap();
    let mut body = vec![0u8; h.body_len as usize];
    s.read_exact(&mut body).unwrap();
    (h.status, body)
}

/// Sends `req` and returns the status code (0 = success). (The daemon sends codes only; the
/// detail naming the bit is what the client's builders report locally.)
fn raw_call(s: &mut UnixStream, req: &warden_wire::Request<'_>) -> u32 {
    let mut b = Builder::new();
    let body = warden_wire::encode_request(&mut b, req).to_vec();
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, 1, req.opcode().as_u16())
    };
    s.write_all(&h.to_bytes()).unwrap();
    s.write_all(&body).unwrap();
    read_reply(s).0
}

fn raw_generate(s: &mut UnixStream, alg: Algorithm, perms: P) -> u32 {
    let key_len = matches!(alg, Algorithm::HmacKey | Algorithm::GenericSecret).then_some(32);
    raw_call(
        s,
        &warden_wire::Request::GenerateKey(GenerateKey {
            key: KeySpec {
                algorithm: alg.name(),
                permissions: perms.bits(),
                exportable: false,
                slot: None,
            },
            rsa_bits: None,
            key_len,
            provider: None,
        }),
    )
}

fn raw_import(s: &mut UnixStream, alg: Algorithm, perms: P, material: &[u8]) -> u32 {
    raw_call(
        s,
        &warden_wire::Request::ImportKey(ImportKey {
            key: KeySpec {
                algorithm: alg.name(),
                permissions: perms.bits(),
                exportable: false,
                slot: None,
            },
            format: KeyFormat::Raw,
            material: warden_wire::Payload::Inline(material),
        }),
    )
}

/// The daemon refused with `InvalidArgument`, and the client's builder refuses the same set
/// before sending, with a detail naming `bit`.
fn assert_refused_naming(status: u32, alg: Algorithm, bits: P, bit: &str) {
    assert_eq!(
        status,
        ErrorCode::InvalidArgument.as_u32(),
        "{alg} {bits}: the daemon accepted permission bits the key type cannot use"
    );
    let local = ImportKeyParams::builder()
        .algorithm(alg)
        .permissions(bits)
        .build()
        .unwrap_err();
    assert!(
        local.detail().contains(&format!("`{bit}`")),
        "{alg} {bits}: detail {:?} does not name `{bit}`",
        local.detail()
    );
}

// ---- (b) the PBKDF2 MAC forgery -------------------------------------------------------------

fn kdfs(salt: &[u8]) -> Vec<KdfParameters> {
    vec![
        KdfParameters::Pbkdf2 {
            salt: salt.to_vec(),
            iterations: 1,
        },
        KdfParameters::Hkdf {
            hash: Algorithm::Sha256,
            salt: salt.to_vec(),
            info: vec![],
        },
        KdfParameters::Tls12Prf {
            label: b"master secret".to_vec(),
            seed: salt.to_vec(),
        },
        KdfParameters::Tls13ExpandLabel {
            label: b"derived".to_vec(),
            context: salt.to_vec(),
        },
        KdfParameters::Sp800108CounterHmac {
            label: b"label".to_vec(),
            context: salt.to_vec(),
        },
    ]
}

/// PBKDF2 output exported as bytes: the forgery's last step.
fn exportable_out(kdf: KdfParameters) -> DeriveKeyParams {
    DeriveKeyParams::builder()
        .kdf(kdf)
        .output_algorithm(Algorithm::GenericSecret)
        .output_len(32)
        .permissions(P::EXPORT)
        .exportable(true)
        .build()
        .unwrap()
}

fn mac(s: &CryptoStack, key: ResourceId, data: &[u8]) -> Vec<u8> {
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::HmacSha256)
        .key(key)
        .build()
        .unwrap();
    s.create_mac_context(&cfg).unwrap().compute(data).unwrap()
}

#[test]
fn hmac_keys_cannot_derive_so_pbkdf2_cannot_forge_their_macs() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let mut r = raw(&d);
    // Generation and import of an HMAC key with DERIVE are refused by the daemon itself.
    let (hmac, md) = (Algorithm::HmacKey, P::MAC | P::DERIVE);
    assert_refused_naming(raw_generate(&mut r, hmac, md), hmac, md, "derive");
    assert_refused_naming(raw_import(&mut r, hmac, md, &[7u8; 32]), hmac, md, "derive");

    // A MAC key is no KDF input, for every HMAC-based KDF.
    let s = d.stack();
    let km = s.key_management();
    let hmac = import(&km, Algorithm::HmacKey, P::MAC, &[7u8; 32]);
    for kdf in kdfs(b"forged message") {
        let name = format!("{kdf:?}");
        assert_eq!(
            code(km.derive_key(hmac.id(), &exportable_out(kdf))),
            ErrorCode::IncompatibleKeyType,
            "{name}"
        );
    }
}

/// A key record in `warden_crypto::Key`'s documented storage layout, with any bits: what a
/// store written before the per-type rules may hold.
fn legacy_record(alg: Algorithm, bits: u32, material: &[u8]) -> Vec<u8> {
    let mut v = b"WKEY".to_vec();
    v.push(1);
    v.push(alg.name().len() as u8);
    v.extend_from_slice(alg.name().as_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.push(0); // not exportable
    v.push(0); // secret material
    v.extend_from_slice(&(material.len() as u32).to_le_bytes());
    v.extend_from_slice(material);
    v
}

/// Item 3: a store from before the rule holds an HMAC key with MAC and DERIVE. It still
/// loads and MACs, but no KDF takes it (so the PBKDF2 forgery stays impossible) and the
/// owner cannot grant its DERIVE bit on.
#[test]
fn a_legacy_hmac_slot_with_derive_still_macs_but_forges_nothing() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    drop(d.stack().ping(b"store is open").unwrap());
    let data = d.data.clone();
    d.stop();
    let k = [0x4Bu8; 32];
    {
        let store =
            warden_store::SlotStore::open(&data, &warden_store::FileMasterKey::in_dir(&data))
                .unwrap();
        let bits = (P::MAC | P::DERIVE).bits();
        store
            .create_slot(
                &warden_store::NewSlot {
                    name: "legacy.hmac".into(),
                    owner_uid: my_uid(),
                    algorithm: Algorithm::HmacKey,
                    permissions: bits,
                    exportable: false,
                },
                &legacy_record(Algorithm::HmacKey, bits, &k),
            )
            .unwrap();
    }
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let km = s.key_management();
    let key = km.resolve("legacy.hmac").unwrap();
    let salt = b"pay mallory 1000";
    let mut block = salt.to_vec();
    block.extend_from_slice(&1u32.to_be_bytes());
    let tag = mac(&s, key.id(), &block);
    for kdf in kdfs(salt) {
        let name = format!("{kdf:?}");
        match km.derive_key(key.id(), &exportable_out(kdf)) {
            Err(e) => assert_eq!(e.code(), ErrorCode::IncompatibleKeyType, "{name}"),
            Ok(out) => {
                let bytes = km.export_secret_key(out.id()).unwrap();
                assert!(
                    bytes.as_slice() != tag.as_slice(),
                    "FORGERY: PBKDF2(K, M, 1) exported the HMAC tag of M‖00000001"
                );
                panic!("{name}: an HMAC key was accepted as a KDF input");
            }
        }
    }
    // The nonsense bit cannot be handed on; the sensible one can.
    assert_eq!(
        code(km.grant("legacy.hmac", GRANTEE_UID, P::DERIVE)),
        ErrorCode::InvalidArgument
    );
    km.grant("legacy.hmac", GRANTEE_UID, P::MAC).unwrap();
}

// ---- (c) nonsense bits on other key types ---------------------------------------------------

#[test]
fn generic_secrets_only_derive_and_other_types_refuse_foreign_bits() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let mut r = raw(&d);
    let refused: &[(Algorithm, P, &str)] = &[
        (Algorithm::GenericSecret, P::DERIVE | P::SIGN, "sign"),
        (Algorithm::GenericSecret, P::MAC, "mac"),
        (Algorithm::Aes256Key, P::ENCRYPT | P::DERIVE, "derive"),
        (Algorithm::Ed25519, P::SIGN | P::ENCRYPT, "encrypt"),
        (Algorithm::X25519, P::AGREE | P::DERIVE, "derive"),
        (Algorithm::HmacKey, P::MAC | P::CALLER_NONCE, "caller-nonce"),
    ];
    for &(alg, bits, bit) in refused {
        assert_refused_naming(raw_generate(&mut r, alg, bits), alg, bits, bit);
    }
    let (gs, sign) = (Algorithm::GenericSecret, P::SIGN);
    assert_refused_naming(raw_import(&mut r, gs, sign, &[1u8; 32]), gs, sign, "sign");
    // The sensible sets still work.
    for (alg, bits) in [
        (Algorithm::GenericSecret, P::DERIVE | P::EXPORT),
        (
            Algorithm::Aes256Key,
            P::ENCRYPT | P::DECRYPT | P::CALLER_NONCE,
        ),
        (Algorithm::Ed25519, P::SIGN | P::VERIFY),
    ] {
        assert_eq!(raw_generate(&mut r, alg, bits), 0, "{alg} {bits}");
    }
}

// ---- cross-uid: a grantee with ENCRYPT on the owner's slot ----------------------------------

#[test]
#[ignore = "helper: run as another uid by the tests in this file"]
fn crossing_child() {
    let (Ok(script), Ok(socket)) = (std::env::var(CHILD_SCRIPT), std::env::var(CHILD_SOCKET))
    else {
        println!("not started as a child: nothing to do");
        return;
    };
    let s = CryptoStack::connect(
        StackConfig::new()
            .socket_path(socket)
            .dedicated_connection(true),
    )
    .unwrap();
    let km = s.key_management();
    match script.as_str() {
        // The grantee holds ENCRYPT on root's data key and knows a nonce root used: with a
        // chosen nonce it would get root's keystream and read root's messages.
        "grantee-encrypts" => {
            let k = km.resolve("0/data.key").unwrap();
            let mut enc = s
                .create_aead_context(&ctx_cfg(
                    Algorithm::Aes256Gcm,
                    k.id(),
                    CipherDirection::Encrypt,
                ))
                .unwrap();
            let victims_nonce = VICTIMS_NONCE;
            assert_eq!(
                denied(
                    enc.seal(&victims_nonce, b"", &[0u8; 64]),
                    "a grantee with ENCRYPT re-encrypted zeros under the owner's nonce"
                ),
                ErrorCode::KeyOperationNotPermitted,
            );
            // Encrypting for the owner still works, under a fresh nonce.
            let sealed = enc.seal_fresh(b"", b"for the owner").unwrap();
            assert_ne!(sealed.nonce, victims_nonce);
            // Nor can it decrypt directly.
            assert_eq!(
                code(s.create_aead_context(&ctx_cfg(
                    Algorithm::Aes256Gcm,
                    k.id(),
                    CipherDirection::Decrypt,
                ))),
                ErrorCode::KeyOperationNotPermitted
            );
        }
        other => panic!("unknown child script {other}"),
    }
    println!("CHILD-DONE {script}");
}

#[test]
fn a_grantee_with_encrypt_cannot_reuse_the_owners_nonce() {
    if !is_root() {
        return;
    }
    // A root the children (gid 0) can reach the socket in.
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let km = s.key_management();
    let p = GenerateKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(P::ENCRYPT | P::DECRYPT)
        .build()
        .unwrap();
    km.generate_key_into("data.key", &p).unwrap();
    km.grant("data.key", GRANTEE_UID, P::ENCRYPT).unwrap();
    // The owner cannot hand out CALLER_NONCE it does not hold.
    assert_eq!(
        code(km.grant("data.key", GRANTEE_UID, P::ENCRYPT | P::CALLER_NONCE)),
        ErrorCode::InvalidArgument
    );
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crossing_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD_SCRIPT, "grantee-encrypts")
        .env(CHILD_SOCKET, &d.socket)
        .uid(GRANTEE_UID)
        .gid(0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-DONE grantee-encrypts"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The owner's own messages get fresh nonces too: no nonce is ever the caller's pick.
    let k = km.resolve("data.key").unwrap();
    let mut enc = s
        .create_aead_context(&ctx_cfg(
            Algorithm::Aes256Gcm,
            k.id(),
            CipherDirection::Encrypt,
        ))
        .unwrap();
    let sealed = enc.seal_fresh(b"", MSG).unwrap();
    assert_eq!(sealed.nonce.len(), 12);
    assert_ne!(sealed.nonce, VICTIMS_NONCE);
}
