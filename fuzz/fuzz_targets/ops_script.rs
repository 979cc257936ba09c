//! The script a `dispatch_ops` input decodes into (via `arbitrary`), and how its fields map
//! onto wire values: algorithm names, permission bits, slot names, speed clamps.

use arbitrary::Arbitrary;
use warden_core::Algorithm;
use warden_wire::messages::{ContextKind, KeySpec};

/// `KeyOperationPermission::EXPORT`.
pub const EXPORT: u32 = 0x200;
/// `KeyOperationPermission::ALL`.
pub const ALL_PERMS: u32 = 0x7FF;
/// Slot, action and issuer names (valid and hostile).
pub const SLOT_NAMES: &[&str] = &[
    "k0",
    "k1",
    "a.b-c_d",
    "",
    "../escape",
    "with/slash",
    "\0nul",
];
/// Grantee uids.
pub const UIDS: &[u32] = &[0, 1, 1000, 65534, u32::MAX];

#[derive(Arbitrary, Debug)]
pub struct Script {
    pub admin: bool,
    pub steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
pub struct Step {
    pub op: Op,
    /// Header deadline: mostly none, sometimes 1..=5 ms (timeout paths).
    pub deadline: u8,
}

/// A resource id.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Ref {
    /// The n-th key this connection was given (mod count).
    Key(u8),
    /// The n-th context (mod count).
    Ctx(u8),
    /// Any value (unknown ids, 0, collisions with nothing).
    Raw(u64),
}

/// A byte field.
#[derive(Arbitrary, Debug)]
pub enum Bytes {
    Lit(Vec<u8>),
    /// The last successful reply's data (output, key bytes, ciphertext, receipt).
    Last,
    /// The last AEAD tag.
    LastTag,
    /// The last data with one byte flipped (tamper detection paths).
    LastFlipped(u16),
}

/// An algorithm name: mostly a known one.
#[derive(Arbitrary, Debug)]
pub enum Alg {
    Known(u8),
    Name(String),
}

#[derive(Arbitrary, Debug)]
pub enum Perms {
    All,
    Bits(u16),
}

#[derive(Arbitrary, Debug)]
pub struct Spec {
    pub alg: Alg,
    pub perms: Perms,
    pub exportable: bool,
    pub slot: Option<u8>,
}

#[derive(Arbitrary, Debug)]
pub enum KdfOp {
    Hkdf {
        sha384: bool,
        salt: Vec<u8>,
        info: Vec<u8>,
    },
    HkdfNamed {
        hash: Alg,
        salt: Vec<u8>,
        info: Vec<u8>,
    },
    Pbkdf2 {
        salt: Vec<u8>,
        iterations: u32,
    },
    Tls12 {
        label: Vec<u8>,
        seed: Vec<u8>,
    },
    Tls13 {
        label: Vec<u8>,
        context: Vec<u8>,
    },
    Sp800108 {
        label: Vec<u8>,
        context: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
pub enum Op {
    Ping(Vec<u8>),
    Status,
    Generate {
        key: Spec,
        rsa_bits: Option<u32>,
        key_len: Option<u16>,
    },
    Import {
        key: Spec,
        format: u8,
        material: Bytes,
    },
    ExportPublic {
        key: Ref,
        format: Option<u8>,
    },
    ExportSecret {
        key: Ref,
    },
    Derive {
        base: Ref,
        kdf: KdfOp,
        key: Spec,
        output_len: u16,
    },
    Agree {
        private: Ref,
        alg: Alg,
        peer: Bytes,
        key: Spec,
    },
    Wrap {
        kek: Ref,
        target: Ref,
        alg: Alg,
    },
    Unwrap {
        kek: Ref,
        alg: Alg,
        wrapped: Bytes,
        key: Spec,
    },
    Encapsulate {
        public: Ref,
        key: Spec,
    },
    Decapsulate {
        private: Ref,
        ciphertext: Bytes,
        key: Spec,
    },
    Release(Ref),
    Create {
        kind: u8,
        alg: Alg,
        key: Option<Ref>,
        decrypt: Option<bool>,
        timeout: Option<Option<u8>>,
    },
    Init {
        ctx: Ref,
        iv: Bytes,
    },
    SetAad {
        ctx: Ref,
        aad: Bytes,
    },
    Update {
        ctx: Ref,
        input: Bytes,
    },
    UpdateShm {
        ctx: Ref,
        region: u32,
        offset: u64,
        len: u64,
    },
    Finalize {
        ctx: Ref,
        input: Bytes,
        tag: Bytes,
    },
    Reset(Ref),
    Destroy(Ref),
    Random(u16),
    SlotResolve(u8),
    SlotPersist {
        key: Ref,
        name: u8,
    },
    SlotDelete(u8),
    SlotList,
    SlotGrant {
        name: u8,
        uid: u8,
        perms: Perms,
    },
    SlotRevoke {
        name: u8,
        uid: u8,
    },
    PolicyLoad {
        action: u8,
        profile: bool,
        module: Vec<u8>,
    },
    PolicyList,
    PolicyUnload(u8),
    TrustAdd {
        issuer: u8,
        alg: Alg,
        public_key: Bytes,
    },
    TrustList,
    TrustRemove(u8),
    PermitVerify {
        permit: Bytes,
        action: u8,
        resource: u8,
        intent: Vec<u8>,
    },
    AttestPublicKey,
    /// Any opcode with any body (decoder and dispatcher error paths mid-session).
    Raw {
        opcode: u16,
        body: Vec<u8>,
    },
}

/// What the script knows about a key it was given.
pub fn alg_name(a: &Alg) -> &str {
    match a {
        Alg::Known(i) => Algorithm::ALL[usize::from(*i) % Algorithm::ALL.len()].name(),
        Alg::Name(s) => s,
    }
}

pub fn perm_bits(p: &Perms) -> u32 {
    match p {
        Perms::All => ALL_PERMS,
        Perms::Bits(b) => u32::from(*b),
    }
}

pub fn slot_name(i: u8) -> &'static str {
    SLOT_NAMES[usize::from(i) % SLOT_NAMES.len()]
}

pub fn key_spec(s: &Spec) -> KeySpec<'_> {
    KeySpec {
        algorithm: alg_name(&s.alg),
        permissions: perm_bits(&s.perms),
        exportable: s.exportable,
        slot: s.slot.map(slot_name),
    }
}

/// Keeps runs fast: RSA keys only at 2048 bits, PBKDF2 with few iterations (out-of-range
/// counts are kept so the range check is still exercised).
pub fn rsa_bits(bits: Option<u32>) -> Option<u32> {
    bits.map(|b| if b == 3072 || b == 4096 { 2048 } else { b })
}

pub fn pbkdf2_iterations(n: u32) -> u32 {
    if (1_000..=10_000_000).contains(&n) {
        n % 1_000
    } else {
        n
    }
}

/// The permission bit a context kind needs from its key.
pub fn needed_bit(kind: ContextKind, decrypt: bool) -> Option<u32> {
    match kind {
        ContextKind::Hash => None,
        ContextKind::Mac => Some(0x40),
        ContextKind::Sign => Some(0x10),
        ContextKind::Verify => Some(0x20),
        ContextKind::Cipher | ContextKind::Aead => Some(if decrypt { 0x2 } else { 0x1 }),
        _ => None,
    }
}
