//! Typed request and response values: the only message types daemon and client code use.
//!
//! Every type borrows its byte and string fields (`&'a [u8]`, `&'a str`). Decoding fills them
//! with slices of the received body (zero-copy); encoding reads them from wherever the caller
//! keeps its data. The same value therefore round-trips: `decode(encode(x)) == x`.
//!
//! Absent byte fields decode as empty slices and an absent [`Payload`] as `Inline(&[])`;
//! absent required strings (algorithm names) are [`crate::WireError::MissingField`].

use core::fmt;

use warden_core::KeyFormat;

use crate::generated::warden::wire as g;
use crate::opcode::Opcode;

/// A byte range in a shared-memory region registered on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShmSlice {
    /// Region id on this connection (from `RegionRegisteredResponse`).
    pub region: u64,
    /// Offset of the first byte in the region.
    pub offset: u64,
    /// Number of bytes.
    pub len: u64,
}

/// A data field: inline bytes in the frame, or a reference into shared memory.
///
/// Control-plane rule: `Inline` borrows from the frame bytes that the daemon copied once into
/// its session arena. `Shm` names bytes of a region registered on the connection (data
/// plane, issue 13); the daemon checks the range against the region with checked arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// Bytes carried in the frame body.
    Inline(&'a [u8]),
    /// Bytes in a shared-memory region.
    Shm(ShmSlice),
}

impl<'a> Payload<'a> {
    /// The inline bytes, or `None` for a shared-memory reference.
    pub fn as_inline(&self) -> Option<&'a [u8]> {
        match self {
            Payload::Inline(b) => Some(b),
            Payload::Shm(_) => None,
        }
    }
}

impl Default for Payload<'_> {
    fn default() -> Self {
        Payload::Inline(&[])
    }
}

/// Attributes of a key an operation creates (generate, import, derive, agree, unwrap,
/// encapsulate, decapsulate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec<'a> {
    /// Algorithm name of the new key (`warden_core::Algorithm::name`).
    pub algorithm: &'a str,
    /// Permission bits (`warden_core::KeyOperationPermission`), validated by the daemon.
    pub permissions: u32,
    /// Whether the secret may ever be exported.
    pub exportable: bool,
    /// Persistent slot to create the key in (issue 5); `None` = ephemeral.
    pub slot: Option<&'a str>,
}

/// KDF and its public inputs (mirrors `warden_core::KdfParameters`, borrowed).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf<'a> {
    /// HKDF (RFC 5869).
    Hkdf {
        /// Hash algorithm name (`SHA-256`, `SHA-384`).
        hash: &'a str,
        /// Salt.
        salt: &'a [u8],
        /// Info.
        info: &'a [u8],
    },
    /// PBKDF2-HMAC-SHA256.
    Pbkdf2 {
        /// Salt.
        salt: &'a [u8],
        /// Iterations.
        iterations: u32,
    },
    /// TLS 1.2 PRF.
    Tls12Prf {
        /// Label.
        label: &'a [u8],
        /// Seed.
        seed: &'a [u8],
    },
    /// TLS 1.3 HKDF-Expand-Label.
    Tls13ExpandLabel {
        /// Label without the `"tls13 "` prefix.
        label: &'a [u8],
        /// Context.
        context: &'a [u8],
    },
    /// SP 800-108 counter mode with HMAC.
    Sp800108CounterHmac {
        /// Label.
        label: &'a [u8],
        /// Context.
        context: &'a [u8],
    },
}

/// Kind of crypto context.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextKind {
    /// Message digest.
    Hash,
    /// Message authentication code.
    Mac,
    /// Unauthenticated cipher.
    Cipher,
    /// Authenticated encryption.
    Aead,
    /// Signature creation.
    Sign,
    /// Signature verification.
    Verify,
}

/// Direction of a cipher or AEAD context, and the per-context timeout: core's types, so the
/// protocol and the API cannot drift apart.
pub use warden_core::{CipherDirection, ContextOptions, SignatureFormat, Timeout};

/// GenerateKey request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateKey<'a> {
    /// The new key.
    pub key: KeySpec<'a>,
    /// RSA modulus size, for RSA algorithms.
    pub rsa_bits: Option<u32>,
    /// Secret length, for `HMAC` and `GENERIC-SECRET`.
    pub key_len: Option<u32>,
    /// The provider that generates and holds the key, by name; `None` = the default.
    pub provider: Option<&'a str>,
}

/// ImportKey request. `Debug` leaves out `material` (key bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ImportKey<'a> {
    /// The new key.
    pub key: KeySpec<'a>,
    /// Encoding of `material`.
    pub format: KeyFormat,
    /// Key material (secret for private/symmetric keys: the daemon zeroes its arena copy),
    /// inline or in a region (the daemon copies it once into private memory, wiped after).
    pub material: Payload<'a>,
}

impl fmt::Debug for ImportKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = match self.material {
            Payload::Inline(m) => m.len() as u64,
            Payload::Shm(s) => s.len,
        };
        f.debug_struct("ImportKey")
            .field("key", &self.key)
            .field("format", &self.format)
            .field("material", &format_args!("<{} bytes redacted>", len))
            .finish()
    }
}

/// DeriveKey request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeriveKey<'a> {
    /// Base key (the KDF's secret input).
    pub base_key_id: u64,
    /// The KDF and its public inputs.
    pub kdf: Kdf<'a>,
    /// The derived key.
    pub key: KeySpec<'a>,
    /// Output length in bytes.
    pub output_len: u32,
}

/// AgreeKey request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgreeKey<'a> {
    /// Our private key.
    pub private_key_id: u64,
    /// Agreement algorithm name (`X25519`, `ECDH-P256`...).
    pub algorithm: &'a str,
    /// Peer public key bytes.
    pub peer_public: &'a [u8],
    /// The resulting key.
    pub key: KeySpec<'a>,
}

/// WrapKey request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapKey<'a> {
    /// Key-encryption key.
    pub kek_id: u64,
    /// Key to wrap.
    pub target_key_id: u64,
    /// Wrap algorithm name (`AES-256-KW`, `AES-256-KWP`).
    pub algorithm: &'a str,
    /// Write the wrapped key into this region range instead of the reply (→ `KeyWritten`).
    pub output: Option<ShmSlice>,
}

/// UnwrapKey request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnwrapKey<'a> {
    /// Key-encryption key.
    pub kek_id: u64,
    /// Wrap algorithm name.
    pub algorithm: &'a str,
    /// Wrapped key bytes, inline or in a region (read once into private memory).
    pub wrapped: Payload<'a>,
    /// The unwrapped key.
    pub key: KeySpec<'a>,
}

/// Encapsulate request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encapsulate<'a> {
    /// Recipient's KEM public key (a key object).
    pub public_key_id: u64,
    /// The shared-secret key object.
    pub key: KeySpec<'a>,
}

/// Decapsulate request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decapsulate<'a> {
    /// Our KEM private key.
    pub private_key_id: u64,
    /// KEM ciphertext.
    pub ciphertext: &'a [u8],
    /// The shared-secret key object.
    pub key: KeySpec<'a>,
}

/// CreateContext request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateContext<'a> {
    /// Kind of context.
    pub kind: ContextKind,
    /// Algorithm name.
    pub algorithm: &'a str,
    /// Key for keyed kinds (MAC, cipher, AEAD, sign, verify); `None` for hash.
    pub key_id: Option<u64>,
    /// Direction for cipher and AEAD; `None` otherwise.
    pub direction: Option<CipherDirection>,
    /// Timeout for operations on this context.
    pub timeout: Timeout,
    /// Per-context options (appended in issue 15; defaults travel as absent fields).
    pub options: CreateContextOptions<'a>,
}

/// The per-context options of a CreateContext body, borrowed from the frame like every other
/// field ([`ContextOptions`] holds fixed-size copies, too large to travel in every
/// [`Request`]). Convert with `From<&ContextOptions>` and [`CreateContextOptions::to_options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateContextOptions<'a> {
    /// ECDSA signature encoding.
    pub signature_format: SignatureFormat,
    /// RSA-PSS salt length; `None` = the hash length.
    pub pss_salt_len: Option<u16>,
    /// RSA-OAEP label (empty = none).
    pub oaep_label: &'a [u8],
    /// Signature context string (empty = none).
    pub signature_context: &'a [u8],
    /// ML-DSA: the message is the caller's 64-byte μ.
    pub external_mu: bool,
}

impl<'a> From<&'a ContextOptions> for CreateContextOptions<'a> {
    fn from(o: &'a ContextOptions) -> Self {
        CreateContextOptions {
            signature_format: o.signature_format(),
            pss_salt_len: o.pss_salt_len(),
            oaep_label: o.oaep_label(),
            signature_context: o.signature_context(),
            external_mu: o.external_mu(),
        }
    }
}

impl CreateContextOptions<'_> {
    /// The options as `warden_core` holds them; `InvalidArgument` if a label or context
    /// string is longer than its bound. Whether each option suits the algorithm is checked
    /// when the context configuration is built.
    pub fn to_options(&self) -> warden_core::Result<ContextOptions> {
        let mut o = ContextOptions::default().with_signature_format(self.signature_format);
        if let Some(n) = self.pss_salt_len {
            o = o.with_pss_salt_len(n);
        }
        Ok(o.with_oaep_label(self.oaep_label)?
            .with_signature_context(self.signature_context)?
            .with_external_mu(self.external_mu))
    }
}

/// A certificate operation (opcodes `Cert*`, issue 16). One body shape serves them all;
/// each operation reads only these fields (the others are empty / zero):
///
/// | op | fields |
/// |---|---|
/// | `CertImport` | `name`, `der`, `key_slot` (optional binding) |
/// | `CertExport`, `CertDelete` | `name` |
/// | `CertList` | `start_after`, `limit` |
/// | `CertBind` | `name`, `key_slot` (empty = unbind) |
/// | `CertGrant`, `CertRevoke` | `name`, `uid` |
/// | `CertCsr` | `key_slot`, `subject` |
/// | `CertSelfSign` | `key_slot`, `subject`, `time_unix` (notBefore, 0 = now), `not_after_unix`, `name` (optional: also store it in this certificate slot, bound to the key) |
/// | `CertStoreAdd` | `store`, `der` |
/// | `CertStoreRemove` | `store`, `name` (entry id from `CertStoreList`; empty = the whole store) |
/// | `CertStoreList` | `store`, `start_after`, `limit` |
/// | `CertCrlImport` | `store`, `der` (the CRL), `chain` (optional intermediate issuer) |
/// | `CertVerify` | `store`, `der` (leaf) or `name` (a certificate slot), `chain`, `time_unix` (0 = now), `eku`, `key_usage` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CertCall<'a> {
    /// Certificate slot or trust-store entry.
    pub name: &'a str,
    /// Certificate or CRL DER.
    pub der: &'a [u8],
    /// Key slot.
    pub key_slot: &'a str,
    /// Trust store.
    pub store: &'a str,
    /// RFC 4514 subject.
    pub subject: &'a str,
    /// Grantee.
    pub uid: u32,
    /// Verification time or notBefore, Unix seconds.
    pub time_unix: u64,
    /// notAfter, Unix seconds.
    pub not_after_unix: u64,
    /// Required EKU (dotted OID).
    pub eku: &'a str,
    /// Required keyUsage bits.
    pub key_usage: u32,
    /// Further certificates: u32 LE length + DER, repeated ([`CertCall::chain_certs`]).
    pub chain: &'a [u8],
    /// Listing start.
    pub start_after: &'a str,
    /// Listing limit.
    pub limit: u32,
}

impl<'a> CertCall<'a> {
    /// The certificates in `chain`, or `InvalidFormat` if the framing is broken.
    pub fn chain_certs(&self) -> Result<Vec<&'a [u8]>, crate::WireError> {
        let mut rest = self.chain;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let bad = crate::WireError::MalformedBody("certificate chain framing");
            let (len, tail) = rest.split_at_checked(4).ok_or(bad)?;
            let mut n = [0u8; 4];
            n.copy_from_slice(len);
            let n = usize::try_from(u32::from_le_bytes(n)).map_err(|_| bad)?;
            let (cert, tail) = tail.split_at_checked(n).ok_or(bad)?;
            out.push(cert);
            rest = tail;
        }
        Ok(out)
    }
}

/// Frames certificates for [`CertCall::chain`].
pub fn pack_chain<T: AsRef<[u8]>>(certs: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in certs {
        let c = c.as_ref();
        out.extend_from_slice(&u32::try_from(c.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(c);
    }
    out
}

/// A request body, one variant per operation (the header's opcode selects it on decode).
///
/// `Debug` names the operation only: bodies carry key material, plaintexts and signatures,
/// and a request printed by mistake (a log line, a test failure) must not show them.
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// Liveness check; the daemon echoes `data`.
    Ping {
        /// Bytes to echo.
        data: &'a [u8],
    },
    /// Daemon counters.
    Status,
    /// Generate a key.
    GenerateKey(GenerateKey<'a>),
    /// Import a key.
    ImportKey(ImportKey<'a>),
    /// Export a public key.
    ExportPublicKey {
        /// Key.
        key_id: u64,
        /// Encoding; `None` = the algorithm's default.
        format: Option<KeyFormat>,
        /// Write the key into this region range instead of the reply (→ `KeyWritten`).
        output: Option<ShmSlice>,
    },
    /// Export secret key bytes.
    ExportSecretKey {
        /// Key.
        key_id: u64,
        /// Write the key into this region range instead of the reply (→ `KeyWritten`).
        output: Option<ShmSlice>,
    },
    /// Derive a key.
    DeriveKey(DeriveKey<'a>),
    /// Key agreement.
    AgreeKey(AgreeKey<'a>),
    /// Wrap a key.
    WrapKey(WrapKey<'a>),
    /// Unwrap a key.
    UnwrapKey(UnwrapKey<'a>),
    /// KEM encapsulation.
    Encapsulate(Encapsulate<'a>),
    /// KEM decapsulation.
    Decapsulate(Decapsulate<'a>),
    /// Drop the client guard's reference.
    ReleaseKey {
        /// Key.
        key_id: u64,
    },
    /// Create a context.
    CreateContext(CreateContext<'a>),
    /// Start a stream.
    InitContext {
        /// Context.
        context_id: u64,
        /// IV or nonce (empty for hash, MAC, sign, verify). Encryption: empty, and the daemon
        /// draws one (returned in the `Output` reply's `iv`); a non-empty encryption IV needs
        /// the key's caller-nonce permission.
        iv: &'a [u8],
    },
    /// AEAD associated data.
    SetAad {
        /// Context.
        context_id: u64,
        /// Associated data.
        aad: Payload<'a>,
    },
    /// Stream input.
    Update {
        /// Context.
        context_id: u64,
        /// Input chunk.
        input: Payload<'a>,
    },
    /// Finish the stream.
    Finalize {
        /// Context.
        context_id: u64,
        /// Last input (Verify: the signature); may be empty.
        input: Payload<'a>,
        /// AEAD decrypt: the expected tag; empty otherwise.
        tag: &'a [u8],
    },
    /// A whole operation in one request (→ `Output`; since 1.1): reset if finished or
    /// failed, init(iv), set_aad(aad) if non-empty, update(input) if non-empty,
    /// finalize(last) with `tag` if non-empty.
    Process {
        /// Context.
        context_id: u64,
        /// IV or nonce (empty for hash, MAC, sign, verify). Encryption: empty, and the daemon
        /// draws one (returned in the `Output` reply's `iv`); a non-empty encryption IV needs
        /// the key's caller-nonce permission.
        iv: &'a [u8],
        /// AEAD associated data (may be empty).
        aad: &'a [u8],
        /// The data (message, plaintext, ciphertext).
        input: Payload<'a>,
        /// Finalize's input: Verify the signature, MAC verification the expected tag.
        last: &'a [u8],
        /// AEAD decrypt: the expected tag; empty otherwise.
        tag: &'a [u8],
        /// Where the output goes instead of inline in the reply (a region range that must
        /// not overlap a region `input`, except: a decryption reads a private copy of its
        /// input and may write over it in any way; an AEAD encryption may start exactly where
        /// its input does, sealed in place); `None` = inline.
        output: Option<ShmSlice>,
    },
    /// Return a context to its created state.
    ResetContext {
        /// Context.
        context_id: u64,
    },
    /// Destroy a context.
    DestroyContext {
        /// Context.
        context_id: u64,
    },
    /// Random bytes.
    Random {
        /// Number of bytes.
        len: u32,
    },
    /// Resolve a persistent slot to a per-connection key id (→ `KeyCreated`).
    SlotResolve {
        /// Slot name.
        name: &'a str,
    },
    /// Copy an ephemeral key into a new slot (→ `Done`).
    SlotPersist {
        /// The ephemeral key.
        key_id: u64,
        /// New slot name.
        name: &'a str,
    },
    /// Delete a slot (→ `Done`).
    SlotDelete {
        /// Slot name.
        name: &'a str,
    },
    /// One page of the visible slots, in name order (→ `SlotList`).
    SlotList {
        /// List names after this one (empty = from the first).
        start_after: &'a str,
        /// Most entries wanted (0 = as many as fit in a frame).
        limit: u32,
        /// Only this slot (exact name; empty = all). Since 1.1; a 1.0 daemon ignores it.
        name: &'a str,
    },
    /// Grant a uid a subset of a slot's permissions (→ `Done`).
    SlotGrant {
        /// Slot name.
        name: &'a str,
        /// Grantee.
        uid: u32,
        /// Permission bits granted.
        permissions: u32,
    },
    /// Revoke a uid's grant (→ `Done`).
    SlotRevoke {
        /// Slot name.
        name: &'a str,
        /// Grantee.
        uid: u32,
    },
    /// Bind a policy module to an action (→ `KeyBytes` with its SHA-256).
    PolicyLoad {
        /// Action (tool id).
        action: &'a str,
        /// Host-bridge profile (`warden`, `aether`).
        profile: &'a str,
        /// WASM module bytes.
        module: &'a [u8],
    },
    /// One page of the policies, in action order (→ `PolicyList`).
    PolicyList {
        /// List actions after this one (empty = from the first).
        start_after: &'a str,
        /// Most entries wanted (0 = as many as fit in a frame).
        limit: u32,
    },
    /// Unload an action's policy (→ `Done`).
    PolicyUnload {
        /// Action.
        action: &'a str,
    },
    /// Trust an issuer key (→ `Done`).
    TrustAdd {
        /// Issuer name.
        issuer: &'a str,
        /// Signature algorithm name.
        algorithm: &'a str,
        /// Raw public key.
        public_key: &'a [u8],
    },
    /// One page of the trusted issuers, in issuer order (→ `TrustList`).
    TrustList {
        /// List issuers after this one (empty = from the first).
        start_after: &'a str,
        /// Most entries wanted (0 = as many as fit in a frame).
        limit: u32,
    },
    /// Stop trusting an issuer (→ `Done`).
    TrustRemove {
        /// Issuer name.
        issuer: &'a str,
    },
    /// Verify a permit for an intent (→ `PermitDecision`).
    PermitVerify {
        /// COSE_Sign1 permit.
        permit: &'a [u8],
        /// Requested action.
        action: &'a str,
        /// Requested resource.
        resource: &'a str,
        /// Intent payload.
        intent: &'a [u8],
    },
    /// The attestation public key (→ `AttestPublicKey`).
    AttestPublicKey,
    /// Lock or unlock a slot (→ `Done`; since 1.1).
    SlotSetLocked {
        /// Slot name.
        name: &'a str,
        /// Lock (`true`) or unlock.
        locked: bool,
    },
    /// One page of the receipt chain from counter `from` (→ `ReceiptExport`; since 1.1).
    ReceiptExport {
        /// First counter wanted (1 = genesis).
        from: u64,
        /// Most receipt bytes in the reply (0 = as many as fit in one frame).
        max_bytes: u32,
    },
    /// A certificate operation `op` (one of the `Cert*` opcodes; → `Done`, `KeyBytes` for
    /// CertExport / CertCsr / CertSelfSign, `CertList` for CertList / CertStoreList).
    Cert {
        /// Which operation (a `Cert*` opcode).
        op: Opcode,
        /// Its fields.
        call: CertCall<'a>,
    },
    /// Register the shared-memory region whose memfd travels with this frame (SCM_RIGHTS)
    /// (→ `RegionRegistered`; issue 13, appended to 1.1 before release).
    RegionRegister {
        /// The memfd's size in bytes.
        len: u64,
    },
    /// Unmap a registered region (→ `Done`).
    RegionRelease {
        /// Its id on this connection.
        region_id: u64,
    },
}

impl Request<'_> {
    /// The opcode that carries this request.
    pub fn opcode(&self) -> Opcode {
        match self {
            Request::Ping { .. } => Opcode::Ping,
            Request::Status => Opcode::Status,
            Request::GenerateKey(_) => Opcode::GenerateKey,
            Request::ImportKey(_) => Opcode::ImportKey,
            Request::ExportPublicKey { .. } => Opcode::ExportPublicKey,
            Request::ExportSecretKey { .. } => Opcode::ExportSecretKey,
            Request::DeriveKey(_) => Opcode::DeriveKey,
            Request::AgreeKey(_) => Opcode::AgreeKey,
            Request::WrapKey(_) => Opcode::WrapKey,
            Request::UnwrapKey(_) => Opcode::UnwrapKey,
            Request::Encapsulate(_) => Opcode::Encapsulate,
            Request::Decapsulate(_) => Opcode::Decapsulate,
            Request::ReleaseKey { .. } => Opcode::ReleaseKey,
            Request::CreateContext(_) => Opcode::CreateContext,
            Request::InitContext { .. } => Opcode::InitContext,
            Request::SetAad { .. } => Opcode::SetAad,
            Request::Update { .. } => Opcode::Update,
            Request::Finalize { .. } => Opcode::Finalize,
            Request::Process { .. } => Opcode::Process,
            Request::ResetContext { .. } => Opcode::ResetContext,
            Request::DestroyContext { .. } => Opcode::DestroyContext,
            Request::Random { .. } => Opcode::Random,
            Request::SlotResolve { .. } => Opcode::SlotResolve,
            Request::SlotPersist { .. } => Opcode::SlotPersist,
            Request::SlotDelete { .. } => Opcode::SlotDelete,
            Request::SlotList { .. } => Opcode::SlotList,
            Request::SlotGrant { .. } => Opcode::SlotGrant,
            Request::SlotRevoke { .. } => Opcode::SlotRevoke,
            Request::SlotSetLocked { .. } => Opcode::SlotSetLocked,
            Request::PolicyLoad { .. } => Opcode::PolicyLoad,
            Request::PolicyList { .. } => Opcode::PolicyList,
            Request::PolicyUnload { .. } => Opcode::PolicyUnload,
            Request::TrustAdd { .. } => Opcode::TrustAdd,
            Request::TrustList { .. } => Opcode::TrustList,
            Request::TrustRemove { .. } => Opcode::TrustRemove,
            Request::PermitVerify { .. } => Opcode::PermitVerify,
            Request::AttestPublicKey => Opcode::AttestPublicKey,
            Request::ReceiptExport { .. } => Opcode::ReceiptExport,
            Request::Cert { op, .. } => *op,
            Request::RegionRegister { .. } => Opcode::RegionRegister,
            Request::RegionRelease { .. } => Opcode::RegionRelease,
        }
    }
}

pub use crate::providers::{ProviderCap, ProviderDesc, ProviderList, ProviderSummary};

/// One error counter of a [`StatusReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCount {
    /// `warden_core::ErrorCode` value.
    pub code: u32,
    /// How often it was returned.
    pub count: u64,
}

#[derive(Clone, Copy)]
enum ErrorCountsRepr<'a> {
    Slice(&'a [ErrorCount]),
    Wire(planus::Vector<'a, g::ErrorCountRef<'a>>),
}

/// The error counters of a status report: a borrowed slice when encoding, a view over the
/// body when decoded. Iterate with [`ErrorCounts::iter`].
#[derive(Clone, Copy)]
pub struct ErrorCounts<'a>(ErrorCountsRepr<'a>);

impl<'a> ErrorCounts<'a> {
    /// Counters from a slice (for encoding).
    pub const fn from_slice(s: &'a [ErrorCount]) -> Self {
        ErrorCounts(ErrorCountsRepr::Slice(s))
    }

    pub(crate) fn from_wire(v: planus::Vector<'a, g::ErrorCountRef<'a>>) -> Self {
        ErrorCounts(ErrorCountsRepr::Wire(v))
    }

    /// Number of counters.
    pub fn len(&self) -> usize {
        match self.0 {
            ErrorCountsRepr::Slice(s) => s.len(),
            ErrorCountsRepr::Wire(v) => v.len(),
        }
    }

    /// Whether there are no counters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The counters in order.
    pub fn iter(&self) -> impl Iterator<Item = ErrorCount> + 'a {
        let (slice, wire) = match self.0 {
            ErrorCountsRepr::Slice(s) => (Some(s.iter().copied()), None),
            ErrorCountsRepr::Wire(v) => (
                None,
                Some(v.iter().map(|r| ErrorCount {
                    code: r.code(),
                    count: r.count(),
                })),
            ),
        };
        slice
            .into_iter()
            .flatten()
            .chain(wire.into_iter().flatten())
    }
}

impl Default for ErrorCounts<'_> {
    fn default() -> Self {
        ErrorCounts::from_slice(&[])
    }
}

impl PartialEq for ErrorCounts<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ErrorCounts<'_> {}

impl core::fmt::Debug for ErrorCounts<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Name of a [`ResourceCount::kind`] code (`None` for a code this version does not know).
pub const fn live_kind_name(kind: u32) -> Option<&'static str> {
    Some(match kind {
        1 => "key",
        2 => "hash",
        3 => "mac",
        4 => "cipher",
        5 => "aead",
        6 => "sign",
        7 => "verify",
        8 => "random",
        9 => "failed",
        10 => "region",
        _ => return None,
    })
}

/// Live resources of one kind in a [`StatusReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResourceCount {
    /// Kind code, see [`live_kind_name`].
    pub kind: u32,
    /// Live resources of that kind over all connections.
    pub count: u64,
}

/// The per-kind live counters of a status report, held inline (no borrow, no heap): one
/// count per kind code this version knows (1..=[`LiveCounts::KINDS`]). A decoder drops codes
/// it does not know (a newer daemon's new kinds), an encoder refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveCounts {
    counts: [u64; LiveCounts::KINDS],
}

impl LiveCounts {
    /// Number of kind codes this version knows (codes 1..=KINDS).
    pub const KINDS: usize = 10;

    /// Sets the count of one kind; `false` (nothing stored) for an unknown code.
    pub fn set(&mut self, kind: u32, count: u64) -> bool {
        let slot = usize::try_from(kind)
            .ok()
            .and_then(|k| k.checked_sub(1))
            .and_then(|i| self.counts.get_mut(i));
        match slot {
            Some(slot) => {
                *slot = count;
                true
            }
            None => false,
        }
    }

    /// The count of one kind (0 for an unknown code).
    pub fn get(&self, kind: u32) -> u64 {
        usize::try_from(kind)
            .ok()
            .and_then(|k| k.checked_sub(1))
            .and_then(|i| self.counts.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// The kinds with a non-zero count, in code order.
    pub fn iter(&self) -> impl Iterator<Item = ResourceCount> + '_ {
        (1u32..)
            .zip(self.counts.iter())
            .filter(|(_, n)| **n != 0)
            .map(|(kind, n)| ResourceCount { kind, count: *n })
    }
}

/// Daemon counters (reply to Status). Daemon-wide for admins; for any other uid, that uid's
/// own connections, requests, errors, live resources and arenas only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusReport<'a> {
    /// Milliseconds since the daemon started.
    pub uptime_ms: u64,
    /// Open connections.
    pub connections: u32,
    /// Configured connection limit.
    pub max_connections: u32,
    /// Live key objects over all connections.
    pub live_keys: u64,
    /// Live contexts over all connections.
    pub live_contexts: u64,
    /// Arenas checked out of the pool.
    pub arenas_in_use: u32,
    /// Arenas in the pool.
    pub arenas_total: u32,
    /// Requests answered since start.
    pub requests_served: u64,
    /// Error replies by code.
    pub errors: ErrorCounts<'a>,
    /// Live resources per kind (only kinds with a non-zero count); `live_keys` and
    /// `live_contexts` are its two sums.
    pub live_by_kind: LiveCounts,
    /// The daemon's crypto providers and what each can do, the default first (issue 14).
    pub providers: ProviderList<'a>,
}

/// A successful response body. (Errors travel as a non-zero header status with an optional
/// detail string, see [`crate::encode_error_detail`].)
///
/// `Debug` names the response shape only (replies carry exported keys and outputs).
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    /// Reply to Ping.
    Ping {
        /// Echoed bytes.
        data: &'a [u8],
    },
    /// Reply to Status.
    Status(StatusReport<'a>),
    /// Reply to GenerateKey, ImportKey, DeriveKey, AgreeKey, UnwrapKey, Decapsulate.
    KeyCreated {
        /// Per-connection id of the new key object.
        key_id: u64,
    },
    /// Reply to ExportPublicKey, ExportSecretKey, WrapKey.
    KeyBytes {
        /// The key bytes (secret for ExportSecretKey: zeroize the receive buffer).
        data: &'a [u8],
    },
    /// Reply to ExportPublicKey, ExportSecretKey and WrapKey that named an output region
    /// range: the bytes written there (a prefix of the range asked for).
    KeyWritten {
        /// Region, offset and length of the bytes written.
        written: ShmSlice,
    },
    /// Reply to Encapsulate.
    Encapsulated {
        /// KEM ciphertext for the peer.
        ciphertext: &'a [u8],
        /// Shared-secret key object.
        key_id: u64,
    },
    /// Reply to CreateContext.
    ContextCreated {
        /// Per-connection id of the context.
        context_id: u64,
        /// `warden_core::option_bits` of the options the daemon applied (0 from daemons that
        /// predate options).
        applied_options: u32,
    },
    /// Reply to Update, Finalize, Process and Random.
    Output {
        /// Produced bytes (ciphertext, plaintext, digest, MAC, signature, random).
        output: Payload<'a>,
        /// AEAD encryption: the tag; empty otherwise.
        tag: &'a [u8],
        /// Finalize / Process of an encrypting AEAD or AES-CTR/CBC context: the nonce / IV
        /// the stream used (drawn by the daemon unless the key allows caller nonces); empty
        /// otherwise and from daemons before this field.
        iv: &'a [u8],
    },
    /// Reply with no data (ReleaseKey, InitContext, SetAad, ResetContext, DestroyContext).
    Done,
    /// One page of visible slots.
    SlotList {
        /// The entries, in name order.
        slots: crate::admin::SlotEntries<'a>,
        /// Further slots follow the last one listed.
        more: bool,
    },
    /// One page of the loaded policies.
    PolicyList {
        /// The entries, in action order.
        policies: crate::admin::PolicyEntries<'a>,
        /// Further policies follow the last one listed.
        more: bool,
    },
    /// One page of the trusted issuers.
    TrustList {
        /// The entries, in issuer order.
        issuers: crate::admin::TrustEntries<'a>,
        /// Further issuers follow the last one listed.
        more: bool,
    },
    /// A permit decision and its signed receipt.
    PermitDecision {
        /// Whether the action is allowed.
        allowed: bool,
        /// 0 when allowed, else the deny reason (`warden_attest::DenyReason` value).
        reason: u32,
        /// The receipt's position in the daemon's chain.
        counter: u64,
        /// The COSE_Sign1 receipt.
        receipt: &'a [u8],
    },
    /// One page of certificate slots or trust-store entries.
    CertList {
        /// The entries, in name order.
        certs: crate::admin::CertEntries<'a>,
        /// Further entries follow the last one listed.
        more: bool,
    },
    /// The daemon's attestation public key.
    AttestPublicKey {
        /// Signature algorithm name.
        algorithm: &'a str,
        /// Raw public key.
        public_key: &'a [u8],
    },
    /// One page of the receipt chain.
    ReceiptExport {
        /// Whole receipts in counter order, concatenated.
        receipts: &'a [u8],
        /// How many receipts `receipts` holds.
        count: u32,
        /// Counter of the newest receipt in the chain (0 = none yet).
        head: u64,
        /// Counter of the last receipt pruned by retention (0 = none).
        pruned: u64,
        /// The signed retention checkpoint for `pruned` (empty when none).
        checkpoint: &'a [u8],
    },
    /// Reply to RegionRegister.
    RegionRegistered {
        /// The region's id on this connection (random, never 0).
        region_id: u64,
    },
}

/// The response shape each opcode answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseKind {
    Ping,
    Status,
    KeyCreated,
    KeyBytes,
    Encapsulated,
    ContextCreated,
    Output,
    Done,
    SlotList,
    PolicyList,
    TrustList,
    PermitDecision,
    AttestPublicKey,
    ReceiptExport,
    CertList,
    RegionRegistered,
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("opcode", &self.opcode())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl Response<'_> {
    pub(crate) fn kind(&self) -> ResponseKind {
        match self {
            Response::Ping { .. } => ResponseKind::Ping,
            Response::Status(_) => ResponseKind::Status,
            Response::KeyCreated { .. } => ResponseKind::KeyCreated,
            Response::KeyBytes { .. } | Response::KeyWritten { .. } => ResponseKind::KeyBytes,
            Response::Encapsulated { .. } => ResponseKind::Encapsulated,
            Response::ContextCreated { .. } => ResponseKind::ContextCreated,
            Response::Output { .. } => ResponseKind::Output,
            Response::Done => ResponseKind::Done,
            Response::SlotList { .. } => ResponseKind::SlotList,
            Response::PolicyList { .. } => ResponseKind::PolicyList,
            Response::TrustList { .. } => ResponseKind::TrustList,
            Response::PermitDecision { .. } => ResponseKind::PermitDecision,
            Response::AttestPublicKey { .. } => ResponseKind::AttestPublicKey,
            Response::ReceiptExport { .. } => ResponseKind::ReceiptExport,
            Response::CertList { .. } => ResponseKind::CertList,
            Response::RegionRegistered { .. } => ResponseKind::RegionRegistered,
        }
    }
}

/// Which response shape answers `op`; `None` for the handshake (fixed layout, not FlatBuffers).
pub(crate) fn response_kind(op: Opcode) -> Option<ResponseKind> {
    Some(match op {
        Opcode::Hello => return None,
        Opcode::Ping => ResponseKind::Ping,
        Opcode::Status => ResponseKind::Status,
        Opcode::GenerateKey
        | Opcode::ImportKey
        | Opcode::DeriveKey
        | Opcode::AgreeKey
        | Opcode::UnwrapKey
        | Opcode::Decapsulate
        | Opcode::SlotResolve => ResponseKind::KeyCreated,
        Opcode::ExportPublicKey
        | Opcode::ExportSecretKey
        | Opcode::WrapKey
        | Opcode::PolicyLoad
        | Opcode::CertExport
        | Opcode::CertCsr
        | Opcode::CertSelfSign => ResponseKind::KeyBytes,
        Opcode::Encapsulate => ResponseKind::Encapsulated,
        Opcode::CreateContext => ResponseKind::ContextCreated,
        Opcode::Update | Opcode::Finalize | Opcode::Process | Opcode::Random => {
            ResponseKind::Output
        }
        Opcode::ReleaseKey
        | Opcode::InitContext
        | Opcode::SetAad
        | Opcode::ResetContext
        | Opcode::DestroyContext
        | Opcode::SlotPersist
        | Opcode::SlotDelete
        | Opcode::SlotGrant
        | Opcode::SlotRevoke
        | Opcode::PolicyUnload
        | Opcode::TrustAdd
        | Opcode::TrustRemove
        | Opcode::SlotSetLocked
        | Opcode::CertImport
        | Opcode::CertDelete
        | Opcode::CertBind
        | Opcode::CertGrant
        | Opcode::CertRevoke
        | Opcode::CertStoreAdd
        | Opcode::CertStoreRemove
        | Opcode::CertCrlImport
        | Opcode::CertVerify => ResponseKind::Done,
        Opcode::CertList | Opcode::CertStoreList => ResponseKind::CertList,
        Opcode::SlotList => ResponseKind::SlotList,
        Opcode::PolicyList => ResponseKind::PolicyList,
        Opcode::TrustList => ResponseKind::TrustList,
        Opcode::PermitVerify => ResponseKind::PermitDecision,
        Opcode::AttestPublicKey => ResponseKind::AttestPublicKey,
        Opcode::ReceiptExport => ResponseKind::ReceiptExport,
        Opcode::RegionRegister => ResponseKind::RegionRegistered,
        Opcode::RegionRelease => ResponseKind::Done,
    })
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_key_or_payload_bytes() {
        let secret = [0xA7u8; 32];
        let import = ImportKey {
            key: KeySpec {
                algorithm: "AES-256",
                permissions: 0,
                exportable: false,
                slot: None,
            },
            format: KeyFormat::Raw,
            material: Payload::Inline(&secret),
        };
        let texts = [
            format!("{:?}", Request::ImportKey(import)),
            format!("{import:?}"),
            format!("{:#?}", Request::Ping { data: &secret }),
            format!("{:?}", Response::KeyBytes { data: &secret }),
            format!("{:?}", Response::Ping { data: &secret }),
        ];
        for t in &texts {
            assert!(
                !t.contains("167") && !t.to_lowercase().contains("a7"),
                "{t}"
            );
        }
        assert!(texts[0].contains("ImportKey"), "{}", texts[0]);
        assert!(texts[1].contains("32 bytes redacted"), "{}", texts[1]);
        assert!(texts[3].contains("KeyBytes"), "{}", texts[3]);
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn chains_round_trip_and_broken_framing_is_an_error() {
        let certs: [&[u8]; 3] = [b"one", b"", b"three"];
        let packed = pack_chain(&certs);
        let call = CertCall {
            chain: &packed,
            ..CertCall::default()
        };
        assert_eq!(call.chain_certs().unwrap(), certs);
        assert!(CertCall::default().chain_certs().unwrap().is_empty());
        for cut in 1..packed.len() {
            let call = CertCall {
                chain: &packed[..cut],
                ..CertCall::default()
            };
            // Every truncation either ends on a certificate boundary or is refused.
            if let Ok(got) = call.chain_certs() {
                assert!(got.len() < 3, "cut {cut}");
            }
        }
        let huge = [0xFF, 0xFF, 0xFF, 0xFF, 1];
        let call = CertCall {
            chain: &huge,
            ..CertCall::default()
        };
        assert!(call.chain_certs().is_err());
    }
}
