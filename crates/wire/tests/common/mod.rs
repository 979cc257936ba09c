//! Sample messages shared by the integration tests: every request and response variant, every
//! KDF, both payload kinds, present and absent optional fields.

#![allow(dead_code)]

use warden_core::{KeyFormat, SignatureFormat};
use warden_wire::admin::{
    CertEntries, CertEntry, PolicyEntries, PolicyEntry, SlotEntries, SlotEntry, TrustEntries,
    TrustEntry,
};
use warden_wire::messages::{
    AgreeKey, CertCall, CipherDirection, ContextKind, CreateContext, CreateContextOptions,
    Decapsulate, DeriveKey, Encapsulate, ErrorCount, ErrorCounts, GenerateKey, ImportKey, Kdf,
    KeySpec, LiveCounts, ShmSlice, StatusReport, Timeout, UnwrapKey, WrapKey,
};
use warden_wire::{Opcode, Payload, Request, Response};

pub const SPEC: KeySpec<'static> = KeySpec {
    algorithm: "AES-256",
    permissions: 0x0F,
    exportable: true,
    slot: None,
};

pub const SLOT_SPEC: KeySpec<'static> = KeySpec {
    algorithm: "HMAC",
    permissions: 0x40,
    exportable: false,
    slot: Some("app.signing-key_1"),
};

pub const SHM: Payload<'static> = Payload::Shm(ShmSlice {
    region: 7,
    offset: 1 << 40,
    len: 4096,
});

pub fn kdfs() -> Vec<Kdf<'static>> {
    vec![
        Kdf::Hkdf {
            hash: "SHA-384",
            salt: b"salt",
            info: b"info",
        },
        Kdf::Hkdf {
            hash: "SHA-256",
            salt: b"",
            info: b"",
        },
        Kdf::Pbkdf2 {
            salt: b"NaCl",
            iterations: 600_000,
        },
        Kdf::Tls12Prf {
            label: b"key expansion",
            seed: &[1; 64],
        },
        Kdf::Tls13ExpandLabel {
            label: b"derived",
            context: &[0xAB; 32],
        },
        Kdf::Sp800108CounterHmac {
            label: b"label",
            context: b"ctx",
        },
    ]
}

pub fn requests() -> Vec<Request<'static>> {
    let mut v = vec![
        Request::Ping { data: b"" },
        Request::Ping {
            data: &[0x5A; 1000],
        },
        Request::Status,
        Request::GenerateKey(GenerateKey {
            key: SPEC,
            rsa_bits: None,
            key_len: None,
            provider: None,
        }),
        Request::GenerateKey(GenerateKey {
            key: SLOT_SPEC,
            rsa_bits: Some(0),
            key_len: Some(64),
            provider: None,
        }),
        Request::GenerateKey(GenerateKey {
            key: KeySpec {
                algorithm: "RSA-PSS-SHA256",
                permissions: 0x30,
                exportable: false,
                slot: Some(""),
            },
            rsa_bits: Some(3072),
            key_len: None,
            provider: None,
        }),
        Request::ImportKey(ImportKey {
            key: SPEC,
            format: KeyFormat::Raw,
            material: Payload::Inline(&[9; 32]),
        }),
        Request::ImportKey(ImportKey {
            key: SPEC,
            format: KeyFormat::Pkcs8,
            material: Payload::Shm(ShmSlice {
                region: u64::MAX,
                offset: 7,
                len: 1218,
            }),
        }),
        Request::ImportKey(ImportKey {
            key: SLOT_SPEC,
            format: KeyFormat::Pkcs8,
            material: Payload::Inline(b""),
        }),
        Request::ExportPublicKey {
            key_id: u64::MAX,
            format: None,
            output: None,
        },
        Request::ExportPublicKey {
            key_id: 0,
            format: Some(KeyFormat::SubjectPublicKeyInfo),
            output: None,
        },
        Request::ExportPublicKey {
            key_id: 3,
            format: Some(KeyFormat::Der),
            output: Some(ShmSlice {
                region: 9,
                offset: 0,
                len: 4096,
            }),
        },
        Request::ExportSecretKey {
            key_id: 42,
            output: None,
        },
        Request::ExportSecretKey {
            key_id: 42,
            output: Some(ShmSlice {
                region: 1,
                offset: u64::MAX,
                len: 0,
            }),
        },
    ];
    for kdf in kdfs() {
        v.push(Request::DeriveKey(DeriveKey {
            base_key_id: 0xDEAD_BEEF,
            kdf,
            key: SPEC,
            output_len: 32,
        }));
    }
    v.push(Request::DeriveKey(DeriveKey {
        base_key_id: 1,
        kdf: Kdf::Pbkdf2 {
            salt: b"s",
            iterations: 1,
        },
        key: SLOT_SPEC,
        output_len: 0,
    }));
    v.extend([
        Request::AgreeKey(AgreeKey {
            private_key_id: 11,
            algorithm: "X25519",
            peer_public: &[4; 32],
            key: SPEC,
        }),
        Request::WrapKey(WrapKey {
            kek_id: 1,
            target_key_id: 2,
            algorithm: "AES-256-KWP",
            output: None,
        }),
        Request::WrapKey(WrapKey {
            kek_id: 1,
            target_key_id: 2,
            algorithm: "AES-256-KW",
            output: Some(ShmSlice {
                region: 3,
                offset: 64,
                len: 40,
            }),
        }),
        Request::UnwrapKey(UnwrapKey {
            kek_id: 1,
            algorithm: "AES-256-KW",
            wrapped: Payload::Inline(&[7; 40]),
            key: SLOT_SPEC,
        }),
        Request::UnwrapKey(UnwrapKey {
            kek_id: 1,
            algorithm: "AES-256-KW",
            wrapped: Payload::Shm(ShmSlice {
                region: 77,
                offset: 8,
                len: 40,
            }),
            key: SPEC,
        }),
        Request::Encapsulate(Encapsulate {
            public_key_id: 5,
            key: SPEC,
        }),
        Request::Decapsulate(Decapsulate {
            private_key_id: 6,
            ciphertext: &[3; 1088],
            key: SPEC,
        }),
        Request::ReleaseKey { key_id: 77 },
    ]);
    let kinds = [
        ContextKind::Hash,
        ContextKind::Mac,
        ContextKind::Cipher,
        ContextKind::Aead,
        ContextKind::Sign,
        ContextKind::Verify,
    ];
    let timeouts = [
        Timeout::Default,
        Timeout::Millis(0),
        Timeout::Millis(250),
        Timeout::Disabled,
    ];
    let dirs = [
        None,
        Some(CipherDirection::Encrypt),
        Some(CipherDirection::Decrypt),
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        v.push(Request::CreateContext(CreateContext {
            kind,
            algorithm: "AES-256-GCM",
            key_id: if i == 0 { None } else { Some(i as u64) },
            direction: dirs[i % dirs.len()],
            timeout: timeouts[i % timeouts.len()],
            options: match i % 3 {
                0 => CreateContextOptions::default(),
                1 => CreateContextOptions {
                    signature_format: SignatureFormat::Der,
                    ..CreateContextOptions::default()
                },
                _ => CreateContextOptions {
                    pss_salt_len: Some(0),
                    oaep_label: b"label",
                    signature_context: b"ctx",
                    external_mu: true,
                    ..CreateContextOptions::default()
                },
            },
        }));
    }
    v.extend([
        Request::InitContext {
            context_id: 9,
            iv: &[0; 12],
        },
        Request::InitContext {
            context_id: 9,
            iv: b"",
        },
        Request::SetAad {
            context_id: 9,
            aad: Payload::Inline(b"header"),
        },
        Request::SetAad {
            context_id: 9,
            aad: SHM,
        },
        Request::Update {
            context_id: 9,
            input: Payload::Inline(&[1; 4096]),
        },
        Request::Update {
            context_id: 9,
            input: SHM,
        },
        Request::Update {
            context_id: 9,
            input: Payload::Inline(b""),
        },
        Request::Finalize {
            context_id: 9,
            input: Payload::Inline(b""),
            tag: &[0xEE; 16],
        },
        Request::Finalize {
            context_id: 9,
            input: SHM,
            tag: b"",
        },
        Request::Process {
            context_id: 9,
            iv: &[1; 12],
            aad: b"header",
            input: Payload::Inline(b"plaintext"),
            last: b"",
            tag: &[0xEE; 16],
            output: None,
        },
        Request::Process {
            context_id: u64::MAX,
            iv: b"",
            aad: b"",
            input: SHM,
            last: &[7; 64],
            tag: b"",
            output: Some(ShmSlice {
                region: u64::MAX,
                offset: 1 << 40,
                len: 50_000_000,
            }),
        },
        Request::ResetContext { context_id: 9 },
        Request::DestroyContext { context_id: 9 },
        Request::Random { len: 0 },
        Request::Random { len: 1 << 20 },
        Request::SlotResolve { name: "app.key-1" },
        Request::SlotPersist {
            key_id: u64::MAX,
            name: "a",
        },
        Request::SlotDelete { name: "x" },
        Request::SlotList {
            start_after: "",
            limit: 0,
            name: "",
        },
        Request::SlotList {
            start_after: "app.k",
            limit: 100,
            name: "app.key-1",
        },
        Request::SlotGrant {
            name: "shared",
            uid: 1001,
            permissions: 0x30,
        },
        Request::SlotRevoke {
            name: "shared",
            uid: u32::MAX,
        },
        Request::PolicyLoad {
            action: "actuator.set",
            profile: "warden",
            module: b"\0asm\x01\0\0\0",
        },
        Request::PolicyList {
            start_after: "",
            limit: 0,
        },
        Request::PolicyList {
            start_after: "actuator.set",
            limit: 7,
        },
        Request::PolicyUnload {
            action: "actuator.set",
        },
        Request::TrustAdd {
            issuer: "fleet-ops",
            algorithm: "ED25519",
            public_key: &[7; 32],
        },
        Request::TrustList {
            start_after: "",
            limit: 0,
        },
        Request::TrustList {
            start_after: "fleet-ops",
            limit: 3,
        },
        Request::TrustRemove {
            issuer: "fleet-ops",
        },
        Request::PermitVerify {
            permit: b"\xd2\x84",
            action: "actuator.set",
            resource: "valve/3",
            intent: b"{}",
        },
        Request::PermitVerify {
            permit: b"",
            action: "",
            resource: "",
            intent: b"",
        },
        Request::AttestPublicKey,
        Request::SlotSetLocked {
            name: "app.signing",
            locked: true,
        },
        Request::SlotSetLocked {
            name: "",
            locked: false,
        },
        Request::ReceiptExport {
            from: 1,
            max_bytes: 0,
        },
        Request::ReceiptExport {
            from: u64::MAX,
            max_bytes: u32::MAX,
        },
        Request::RegionRegister { len: 50_000_000 },
        Request::RegionRegister { len: u64::MAX },
        Request::RegionRelease {
            region_id: 0x1234_5678_9abc_def0,
        },
    ]);
    // Every certificate opcode, with every field set once and all fields empty once.
    let full = CertCall {
        name: "dev.cert",
        der: b"\x30\x03\x02\x01\x01",
        key_slot: "1000/dev.key",
        store: "@roots",
        subject: "CN=device 7,O=Acme",
        uid: 4242,
        time_unix: 1_700_000_000,
        not_after_unix: u64::MAX,
        eku: "1.3.6.1.5.5.7.3.2",
        key_usage: 0x81,
        chain: b"\x01\x00\x00\x00\x30",
        start_after: "a",
        limit: 9,
    };
    for &op in Opcode::ALL {
        if op.name().starts_with("Cert") {
            v.push(Request::Cert { op, call: full });
            v.push(Request::Cert {
                op,
                call: CertCall::default(),
            });
        }
    }
    v
}

pub const ERRORS: &[ErrorCount] = &[
    ErrorCount {
        code: 0x0108_000A,
        count: 3,
    },
    ErrorCount {
        code: 0x0103_0006,
        count: u64::MAX,
    },
];

/// Per-kind counters of a status report: the first and last known kinds, the largest count.
pub fn live_counts() -> LiveCounts {
    let mut live = LiveCounts::default();
    for (kind, count) in [(1, 10), (5, u64::MAX), (10, 1)] {
        assert!(live.set(kind, count));
    }
    // Unknown codes are refused, not stored.
    assert!(!live.set(0, 1) && !live.set(11, 1));
    live
}

const PROVIDER_CAPS: &[warden_wire::messages::ProviderCap<'static>] = &[
    warden_wire::messages::ProviderCap {
        algorithm: "ECDSA-P256-SHA256",
        operations: 0x1030,
    },
    warden_wire::messages::ProviderCap {
        algorithm: "HMAC-SHA256",
        operations: 2,
    },
];

const PROVIDERS: &[warden_wire::messages::ProviderDesc<'static>] = &[
    warden_wire::messages::ProviderDesc {
        name: "aws-lc-rs",
        hardware: false,
        capabilities: &[],
    },
    warden_wire::messages::ProviderDesc {
        name: "hsm",
        hardware: true,
        capabilities: PROVIDER_CAPS,
    },
];

pub fn responses() -> Vec<Response<'static>> {
    vec![
        Response::Ping { data: b"" },
        Response::Ping { data: b"echo" },
        Response::Status(StatusReport::default()),
        Response::Status(StatusReport {
            uptime_ms: 123_456,
            connections: 3,
            max_connections: 1024,
            live_keys: 10,
            live_contexts: 4,
            arenas_in_use: 3,
            arenas_total: 64,
            requests_served: 1_000_000,
            errors: ErrorCounts::from_slice(ERRORS),
            live_by_kind: live_counts(),
            providers: warden_wire::messages::ProviderList::from_slice(PROVIDERS),
        }),
        Response::KeyCreated { key_id: 0 },
        Response::KeyCreated {
            key_id: 0x1234_5678_9ABC_DEF0,
        },
        Response::KeyBytes { data: &[0x30; 91] },
        Response::KeyWritten {
            written: ShmSlice {
                region: 5,
                offset: 10,
                len: 91,
            },
        },
        Response::Encapsulated {
            ciphertext: &[1; 1088],
            key_id: 8,
        },
        Response::ContextCreated {
            context_id: 99,
            applied_options: 1,
        },
        Response::Output {
            output: Payload::Inline(&[2; 64]),
            tag: b"",
            iv: b"",
        },
        Response::Output {
            output: Payload::Inline(b""),
            tag: &[3; 16],
            iv: &[4; 12],
        },
        Response::Output {
            output: SHM,
            tag: b"",
            iv: &[5; 16],
        },
        Response::Done,
        Response::SlotList {
            slots: SlotEntries::default(),
            more: false,
        },
        Response::SlotList {
            slots: SlotEntries::from_slice(SLOTS),
            more: true,
        },
        Response::PolicyList {
            policies: PolicyEntries::from_slice(&[PolicyEntry {
                action: "actuator.set",
                profile: "aether",
                sha256: &[0xAB; 32],
                size: 1234,
            }]),
            more: true,
        },
        Response::TrustList {
            issuers: TrustEntries::from_slice(&[
                TrustEntry {
                    issuer: "a",
                    algorithm: "ED25519",
                    public_key: &[1; 32],
                },
                TrustEntry {
                    issuer: "b",
                    algorithm: "ML-DSA-65",
                    public_key: &[2; 1952],
                },
            ]),
            more: false,
        },
        Response::PermitDecision {
            allowed: false,
            reason: 10,
            counter: 42,
            receipt: b"\xd2\x84receipt",
        },
        Response::AttestPublicKey {
            algorithm: "ED25519",
            public_key: &[9; 32],
        },
        Response::ReceiptExport {
            receipts: b"\xd2\x84one\xd2\x84two",
            count: 2,
            head: 7,
            pruned: 0,
            checkpoint: b"",
        },
        Response::ReceiptExport {
            receipts: b"\xd2\x84six",
            count: 1,
            head: 6,
            pruned: 5,
            checkpoint: b"\xd2\x84checkpoint",
        },
        Response::ReceiptExport {
            receipts: b"",
            count: 0,
            head: 0,
            pruned: 0,
            checkpoint: b"",
        },
        Response::CertList {
            certs: CertEntries::from_slice(CERTS),
            more: true,
        },
        Response::CertList {
            certs: CertEntries::default(),
            more: false,
        },
        Response::RegionRegistered {
            region_id: u64::MAX,
        },
    ]
}

pub const CERTS: &[CertEntry<'static>] = &[
    CertEntry {
        name: "dev.cert",
        owner_uid: 1000,
        key_slot: "dev.key",
        subject: "CN=device 7",
        issuer: "CN=Acme CA",
        not_before: -5,
        not_after: i64::MAX,
        grants_packed: b"\x92\x10\x00\x00",
        kind: "cert",
    },
    CertEntry {
        name: "ab12",
        owner_uid: 0,
        key_slot: "",
        subject: "",
        issuer: "",
        not_before: 0,
        not_after: 0,
        grants_packed: b"",
        kind: "crl",
    },
];

pub const SLOTS: &[SlotEntry<'static>] = &[
    SlotEntry {
        name: "app.signing",
        algorithm: "ED25519",
        owner_uid: 1000,
        permissions: 0x30,
        effective: 0x30,
        exportable: false,
        created_unix_ms: 1_800_000_000_000,
        grants_packed: &[0xE9, 0x03, 0, 0, 0x20, 0, 0, 0],
        locked: false,
    },
    SlotEntry {
        name: "b",
        algorithm: "AES-256",
        owner_uid: 0,
        permissions: 0x7FF,
        effective: 0,
        exportable: true,
        created_unix_ms: 0,
        grants_packed: &[],
        locked: true,
    },
];

/// The opcode each sample response answers (the first opcode with that response shape).
pub fn response_opcode(r: &Response<'_>) -> warden_wire::Opcode {
    use warden_wire::Opcode;
    match r {
        Response::Ping { .. } => Opcode::Ping,
        Response::Status(_) => Opcode::Status,
        Response::KeyCreated { .. } => Opcode::GenerateKey,
        Response::KeyBytes { .. } | Response::KeyWritten { .. } => Opcode::ExportPublicKey,
        Response::Encapsulated { .. } => Opcode::Encapsulate,
        Response::ContextCreated { .. } => Opcode::CreateContext,
        Response::Output { .. } => Opcode::Update,
        Response::Done => Opcode::ReleaseKey,
        Response::SlotList { .. } => Opcode::SlotList,
        Response::PolicyList { .. } => Opcode::PolicyList,
        Response::TrustList { .. } => Opcode::TrustList,
        Response::PermitDecision { .. } => Opcode::PermitVerify,
        Response::AttestPublicKey { .. } => Opcode::AttestPublicKey,
        Response::ReceiptExport { .. } => Opcode::ReceiptExport,
        Response::CertList { .. } => Opcode::CertList,
        Response::RegionRegistered { .. } => Opcode::RegionRegister,
        _ => unreachable!("new response variant: extend the samples"),
    }
}
