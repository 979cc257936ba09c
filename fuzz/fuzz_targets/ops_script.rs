//! The script a `dispatch_ops` input decodes into (via `arbitrary`), and how its fields map
//! onto wire values: algorithm names, permission bits, slot names, speed clamps.

use arbitrary::Arbitrary;
use warden_core::{Algorithm, KeyOperationPermission};
use warden_wire::messages::{ContextKind, KeySpec};

/// `KeyOperationPermission::EXPORT`.
pub const EXPORT: u32 = 0x200;
/// `KeyOperationPermission::ALL`.
pub const ALL_PERMS: u32 = KeyOperationPermission::ALL.bits();
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
    /// The newest key (for a key field) or context (for a context field).
    Newest,
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

/// The algorithm of an operation on a key: derived from the key's own algorithm (so most
/// requests are coherent and get past validation), or any name.
#[derive(Arbitrary, Debug)]
pub enum CtxAlg {
    /// The n-th algorithm usable with the key (see [`algs_for_key`]).
    FromKey(u8),
    Any(Alg),
}

/// A context to create.
#[derive(Arbitrary, Debug)]
pub struct NewCtx {
    pub kind: Kind,
    pub alg: CtxAlg,
    pub key: Option<Ref>,
    pub dir: Dir,
}

/// Context kind: from the algorithm's class, or any kind.
#[derive(Arbitrary, Debug)]
pub enum Kind {
    Auto { verify: bool },
    Pick(u8),
}

/// Cipher direction: encrypt for cipher/AEAD kinds, or explicit, or absent.
#[derive(Arbitrary, Debug)]
pub enum Dir {
    Auto,
    Encrypt,
    Decrypt,
    Missing,
}

/// Secret length for generation: 32 for `HMAC`/`GENERIC-SECRET` (absent otherwise), or any.
#[derive(Arbitrary, Debug)]
pub enum KeyLen {
    Auto,
    Len(Option<u16>),
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
        key_len: KeyLen,
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
        alg: CtxAlg,
        peer: Bytes,
        key: Spec,
    },
    Wrap {
        kek: Ref,
        target: Ref,
        alg: CtxAlg,
    },
    Unwrap {
        kek: Ref,
        alg: CtxAlg,
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
        kind: Kind,
        alg: CtxAlg,
        key: Option<Ref>,
        dir: Dir,
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
        region: u64,
        offset: u64,
        len: u64,
    },
    /// Init, updates and finalize on one context: a whole stream in one step, so streams
    /// complete far more often than with independently chosen steps.
    Stream {
        /// Create the context first (then `ctx` is ignored).
        new: Option<NewCtx>,
        ctx: Ref,
        iv: Bytes,
        aad: Option<Bytes>,
        chunks: Vec<Bytes>,
        last: Bytes,
        tag: Bytes,
    },
    Finalize {
        ctx: Ref,
        input: Bytes,
        tag: Bytes,
    },
    /// A whole operation in one request (protocol 1.1).
    Process {
        ctx: Ref,
        iv: Bytes,
        aad: Bytes,
        input: Bytes,
        last: Bytes,
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
    /// One page: after the action named by the byte (none for `None`), at most `limit`.
    PolicyList {
        after: Option<u8>,
        limit: u8,
    },
    PolicyUnload(u8),
    TrustAdd {
        issuer: u8,
        alg: Alg,
        public_key: Bytes,
    },
    /// One page: after the issuer named by the byte (none for `None`), at most `limit`.
    TrustList {
        after: Option<u8>,
        limit: u8,
    },
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
        // "All" for a new key means every bit its type can carry: key creation refuses
        // bits a type cannot use, which would leave the script without keys.
        permissions: match (&s.perms, Algorithm::from_name(alg_name(&s.alg))) {
            (Perms::All, Ok(alg)) => KeyOperationPermission::applicable_to(alg).bits(),
            (p, _) => perm_bits(p),
        },
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

/// Algorithms an operation on a key of algorithm `key_alg` can name.
pub fn algs_for_key(key_alg: &str) -> Vec<&'static str> {
    match key_alg {
        "AES-256" => vec![
            "AES-256-GCM",
            "AES-256-CTR",
            "AES-256-CBC-PKCS7",
            "AES-256-KW",
            "AES-256-KWP",
        ],
        "AES-128" => vec!["AES-128-GCM"],
        "CHACHA20" => vec!["CHACHA20-POLY1305"],
        "HMAC" => vec!["HMAC-SHA256", "HMAC-SHA384", "HMAC-SHA512"],
        "GENERIC-SECRET" => vec!["HKDF-SHA256", "HMAC-SHA256"],
        other => Algorithm::from_name(other)
            .map(|a| vec![a.name()])
            .unwrap_or_default(),
    }
}

/// The context kind that fits algorithm `alg` (`verify` picks Verify over Sign).
pub fn kind_for(alg: &str, verify: bool) -> ContextKind {
    use warden_core::AlgorithmClass as C;
    match Algorithm::from_name(alg).map(Algorithm::class) {
        Ok(C::Mac) => ContextKind::Mac,
        Ok(C::Cipher) => ContextKind::Cipher,
        Ok(C::Aead) => ContextKind::Aead,
        Ok(C::Signature) if verify => ContextKind::Verify,
        Ok(C::Signature) => ContextKind::Sign,
        _ => ContextKind::Hash,
    }
}

/// Kinds in `Kind::Pick` order.
pub const KINDS: [ContextKind; 6] = [
    ContextKind::Hash,
    ContextKind::Mac,
    ContextKind::Cipher,
    ContextKind::Aead,
    ContextKind::Sign,
    ContextKind::Verify,
];

/// The generation length for `k` and algorithm `alg`.
pub fn key_len(k: &KeyLen, alg: &str) -> Option<u32> {
    match k {
        KeyLen::Auto => (alg == "HMAC" || alg == "GENERIC-SECRET").then_some(32),
        KeyLen::Len(l) => l.map(u32::from),
    }
}
