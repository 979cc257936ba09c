//! Encoding and decoding of FlatBuffers bodies to and from the typed [`crate::messages`].
//!
//! Decoding is zero-copy and allocation-free: planus' `XxxRef` accessors read little-endian
//! scalars and hand out `&'a [u8]` / `&'a str` slices of the input (strings are UTF-8
//! validated in place); errors are `Copy` values with static strings. Every field is read (and
//! so validated) during decode, so later code holds plain values and never meets a lazy
//! FlatBuffers error. `tests/no_alloc.rs` proves it with a counting global allocator.
//!
//! Encoding writes into a caller-owned [`Builder`] (cleared first). A builder grows its buffer
//! on demand and keeps the capacity across `clear`, so a builder reused per connection stops
//! allocating once it has seen the largest body.

use planus::ReadAsRoot;
use planus::errors::ErrorKind;
use warden_core::KeyFormat;

use crate::error::WireError;
use crate::generated::warden::wire as g;
use crate::messages::{
    AgreeKey, CipherDirection, ContextKind, CreateContext, Decapsulate, DeriveKey, Encapsulate,
    ErrorCount, ErrorCounts, GenerateKey, ImportKey, Kdf, KeySpec, LiveCounts, Payload, Request,
    Response, ResponseKind, ShmSlice, StatusReport, Timeout, UnwrapKey, WrapKey, response_kind,
};
use crate::opcode::Opcode;

/// The FlatBuffers builder that encoding writes into (re-exported from planus so callers do
/// not depend on planus themselves). Reuse one per connection.
pub use planus::Builder;

fn malformed(e: planus::Error) -> WireError {
    WireError::MalformedBody(match e.error_kind {
        ErrorKind::InvalidOffset => "invalid offset",
        ErrorKind::InvalidLength => "invalid length",
        ErrorKind::UnknownEnumTag { .. } => "unknown enum value",
        ErrorKind::UnknownUnionTag { .. } => "unknown union variant",
        ErrorKind::InvalidVtableLength { .. } => "invalid vtable length",
        ErrorKind::InvalidUtf8 { .. } => "invalid utf-8 string",
        ErrorKind::MissingNullTerminator => "string without terminator",
        _ => "invalid flatbuffer",
    })
}

fn val<T>(r: planus::Result<T>) -> Result<T, WireError> {
    r.map_err(malformed)
}

fn bytes(r: planus::Result<Option<&[u8]>>) -> Result<&[u8], WireError> {
    Ok(val(r)?.unwrap_or(&[]))
}

fn string<'a>(
    r: planus::Result<Option<&'a str>>,
    field: &'static str,
) -> Result<&'a str, WireError> {
    val(r)?.ok_or(WireError::MissingField(field))
}

/// An optional string field: absent when empty.
fn opt_str(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

fn root<'a, T: ReadAsRoot<'a>>(body: &'a [u8]) -> Result<T, WireError> {
    T::read_as_root(body).map_err(malformed)
}

/// `None` for an empty slice: an absent vector costs no bytes and decodes as empty.
fn opt(b: &[u8]) -> Option<&[u8]> {
    if b.is_empty() { None } else { Some(b) }
}

// ---------------------------------------------------------------- payloads and small enums

fn write_payload(b: &mut Builder, p: &Payload<'_>) -> planus::UnionOffset<g::Payload> {
    match p {
        Payload::Inline(data) => {
            let o = g::Inline::create(b, opt(data));
            g::Payload::create_inline(b, o)
        }
        Payload::Shm(s) => {
            let o = g::Shm::create(b, s.region, s.offset, s.len);
            g::Payload::create_shm(b, o)
        }
    }
}

fn read_payload<'a>(
    r: planus::Result<Option<g::PayloadRef<'a>>>,
) -> Result<Payload<'a>, WireError> {
    Ok(match val(r)? {
        None => Payload::Inline(&[]),
        Some(g::PayloadRef::Inline(i)) => Payload::Inline(bytes(i.data())?),
        Some(g::PayloadRef::Shm(s)) => Payload::Shm(ShmSlice {
            region: val(s.region())?,
            offset: val(s.offset())?,
            len: val(s.len())?,
        }),
    })
}

fn write_format(f: Option<KeyFormat>) -> g::KeyFormat {
    // The wire enum shares warden_core's stable values; 0 is Unspecified.
    let v = f.map_or(0, KeyFormat::as_u8);
    g::KeyFormat::try_from(v).unwrap_or(g::KeyFormat::Unspecified)
}

fn read_format(f: g::KeyFormat) -> Result<Option<KeyFormat>, WireError> {
    match f {
        g::KeyFormat::Unspecified => Ok(None),
        other => KeyFormat::from_u8(u8::from(other))
            .map(Some)
            .map_err(|_| WireError::MalformedBody("unknown enum value")),
    }
}

fn write_kind(k: ContextKind) -> g::ContextKind {
    match k {
        ContextKind::Hash => g::ContextKind::Hash,
        ContextKind::Mac => g::ContextKind::Mac,
        ContextKind::Cipher => g::ContextKind::Cipher,
        ContextKind::Aead => g::ContextKind::Aead,
        ContextKind::Sign => g::ContextKind::Sign,
        ContextKind::Verify => g::ContextKind::Verify,
    }
}

fn read_kind(k: g::ContextKind) -> Result<ContextKind, WireError> {
    Ok(match k {
        g::ContextKind::Unspecified => return Err(WireError::MissingField("context kind")),
        g::ContextKind::Hash => ContextKind::Hash,
        g::ContextKind::Mac => ContextKind::Mac,
        g::ContextKind::Cipher => ContextKind::Cipher,
        g::ContextKind::Aead => ContextKind::Aead,
        g::ContextKind::Sign => ContextKind::Sign,
        g::ContextKind::Verify => ContextKind::Verify,
    })
}

fn write_direction(d: Option<CipherDirection>) -> g::CipherDirection {
    match d {
        None => g::CipherDirection::Unspecified,
        Some(CipherDirection::Encrypt) => g::CipherDirection::Encrypt,
        Some(CipherDirection::Decrypt) => g::CipherDirection::Decrypt,
        // A direction this protocol version cannot carry: the daemon then sees none and
        // refuses a cipher context without one.
        Some(_) => g::CipherDirection::Unspecified,
    }
}

fn read_direction(d: g::CipherDirection) -> Option<CipherDirection> {
    match d {
        g::CipherDirection::Unspecified => None,
        g::CipherDirection::Encrypt => Some(CipherDirection::Encrypt),
        g::CipherDirection::Decrypt => Some(CipherDirection::Decrypt),
    }
}

fn write_timeout(t: Timeout) -> (g::TimeoutMode, u32) {
    match t {
        Timeout::Default => (g::TimeoutMode::Default, 0),
        Timeout::Millis(ms) => (g::TimeoutMode::Millis, ms),
        Timeout::Disabled => (g::TimeoutMode::Disabled, 0),
        // A mode this protocol version cannot carry: the daemon's default applies.
        _ => (g::TimeoutMode::Default, 0),
    }
}

fn read_timeout(mode: g::TimeoutMode, ms: u32) -> Timeout {
    match mode {
        g::TimeoutMode::Default => Timeout::Default,
        g::TimeoutMode::Millis => Timeout::Millis(ms),
        g::TimeoutMode::Disabled => Timeout::Disabled,
    }
}

fn write_kdf(b: &mut Builder, kdf: &Kdf<'_>) -> planus::UnionOffset<g::Kdf> {
    match *kdf {
        Kdf::Hkdf { hash, salt, info } => {
            let o = g::HkdfParams::create(b, hash, opt(salt), opt(info));
            g::Kdf::create_hkdf_params(b, o)
        }
        Kdf::Pbkdf2 { salt, iterations } => {
            let o = g::Pbkdf2Params::create(b, opt(salt), iterations);
            g::Kdf::create_pbkdf2_params(b, o)
        }
        Kdf::Tls12Prf { label, seed } => {
            let o = g::Tls12PrfParams::create(b, opt(label), opt(seed));
            g::Kdf::create_tls12_prf_params(b, o)
        }
        Kdf::Tls13ExpandLabel { label, context } => {
            let o = g::Tls13ExpandLabelParams::create(b, opt(label), opt(context));
            g::Kdf::create_tls13_expand_label_params(b, o)
        }
        Kdf::Sp800108CounterHmac { label, context } => {
            let o = g::Sp800108CounterHmacParams::create(b, opt(label), opt(context));
            g::Kdf::create_sp800108_counter_hmac_params(b, o)
        }
    }
}

fn read_kdf<'a>(r: planus::Result<Option<g::KdfRef<'a>>>) -> Result<Kdf<'a>, WireError> {
    Ok(match val(r)?.ok_or(WireError::MissingField("kdf"))? {
        g::KdfRef::HkdfParams(p) => Kdf::Hkdf {
            hash: string(p.hash(), "hkdf hash")?,
            salt: bytes(p.salt())?,
            info: bytes(p.info())?,
        },
        g::KdfRef::Pbkdf2Params(p) => Kdf::Pbkdf2 {
            salt: bytes(p.salt())?,
            iterations: val(p.iterations())?,
        },
        g::KdfRef::Tls12PrfParams(p) => Kdf::Tls12Prf {
            label: bytes(p.label())?,
            seed: bytes(p.seed())?,
        },
        g::KdfRef::Tls13ExpandLabelParams(p) => Kdf::Tls13ExpandLabel {
            label: bytes(p.label())?,
            context: bytes(p.context())?,
        },
        g::KdfRef::Sp800108CounterHmacParams(p) => Kdf::Sp800108CounterHmac {
            label: bytes(p.label())?,
            context: bytes(p.context())?,
        },
    })
}

// ---------------------------------------------------------------- requests

/// Encodes a request body into `b` (cleared first) and returns the finished bytes. The frame
/// header's opcode is [`Request::opcode`].
pub fn encode_request<'b>(b: &'b mut Builder, req: &Request<'_>) -> &'b [u8] {
    b.clear();
    match *req {
        Request::Ping { data } => {
            let o = g::PingRequest::create(b, opt(data));
            b.finish(o, None)
        }
        Request::Status => {
            let o = g::StatusRequest::create(b);
            b.finish(o, None)
        }
        Request::GenerateKey(GenerateKey {
            key,
            rsa_bits,
            key_len,
        }) => {
            let o = g::GenerateKeyRequest::create(
                b,
                key.algorithm,
                key.permissions,
                key.exportable,
                rsa_bits,
                key_len,
                key.slot,
            );
            b.finish(o, None)
        }
        Request::ImportKey(ImportKey {
            key,
            format,
            material,
        }) => {
            let o = g::ImportKeyRequest::create(
                b,
                key.algorithm,
                key.permissions,
                key.exportable,
                write_format(Some(format)),
                opt(material),
                key.slot,
            );
            b.finish(o, None)
        }
        Request::ExportPublicKey { key_id, format } => {
            let o = g::ExportPublicKeyRequest::create(b, key_id, write_format(format));
            b.finish(o, None)
        }
        Request::ExportSecretKey { key_id } => {
            let o = g::ExportSecretKeyRequest::create(b, key_id);
            b.finish(o, None)
        }
        Request::DeriveKey(DeriveKey {
            base_key_id,
            ref kdf,
            key,
            output_len,
        }) => {
            let kdf = write_kdf(b, kdf);
            let o = g::DeriveKeyRequest::create(
                b,
                base_key_id,
                kdf,
                key.algorithm,
                key.permissions,
                key.exportable,
                output_len,
                key.slot,
            );
            b.finish(o, None)
        }
        Request::AgreeKey(AgreeKey {
            private_key_id,
            algorithm,
            peer_public,
            key,
        }) => {
            let o = g::AgreeKeyRequest::create(
                b,
                private_key_id,
                algorithm,
                opt(peer_public),
                key.algorithm,
                key.permissions,
                key.exportable,
                key.slot,
            );
            b.finish(o, None)
        }
        Request::WrapKey(WrapKey {
            kek_id,
            target_key_id,
            algorithm,
        }) => {
            let o = g::WrapKeyRequest::create(b, kek_id, target_key_id, algorithm);
            b.finish(o, None)
        }
        Request::UnwrapKey(UnwrapKey {
            kek_id,
            algorithm,
            wrapped,
            key,
        }) => {
            let o = g::UnwrapKeyRequest::create(
                b,
                kek_id,
                opt(wrapped),
                algorithm,
                key.algorithm,
                key.permissions,
                key.exportable,
                key.slot,
            );
            b.finish(o, None)
        }
        Request::Encapsulate(Encapsulate { public_key_id, key }) => {
            let o = g::EncapsulateRequest::create(
                b,
                public_key_id,
                key.algorithm,
                key.permissions,
                key.exportable,
                key.slot,
            );
            b.finish(o, None)
        }
        Request::Decapsulate(Decapsulate {
            private_key_id,
            ciphertext,
            key,
        }) => {
            let o = g::DecapsulateRequest::create(
                b,
                private_key_id,
                opt(ciphertext),
                key.algorithm,
                key.permissions,
                key.exportable,
                key.slot,
            );
            b.finish(o, None)
        }
        Request::ReleaseKey { key_id } => {
            let o = g::ReleaseKeyRequest::create(b, key_id);
            b.finish(o, None)
        }
        Request::CreateContext(CreateContext {
            kind,
            algorithm,
            key_id,
            direction,
            timeout,
        }) => {
            let (mode, ms) = write_timeout(timeout);
            let o = g::CreateContextRequest::create(
                b,
                write_kind(kind),
                algorithm,
                key_id,
                write_direction(direction),
                mode,
                ms,
            );
            b.finish(o, None)
        }
        Request::InitContext { context_id, iv } => {
            let o = g::InitContextRequest::create(b, context_id, opt(iv));
            b.finish(o, None)
        }
        Request::SetAad { context_id, aad } => {
            let p = write_payload(b, &aad);
            let o = g::SetAadRequest::create(b, context_id, p);
            b.finish(o, None)
        }
        Request::Update { context_id, input } => {
            let p = write_payload(b, &input);
            let o = g::UpdateRequest::create(b, context_id, p);
            b.finish(o, None)
        }
        Request::Finalize {
            context_id,
            input,
            tag,
        } => {
            let p = write_payload(b, &input);
            let o = g::FinalizeRequest::create(b, context_id, p, opt(tag));
            b.finish(o, None)
        }
        Request::Process {
            context_id,
            iv,
            aad,
            input,
            last,
            tag,
        } => {
            let p = write_payload(b, &input);
            let o =
                g::ProcessRequest::create(b, context_id, opt(iv), opt(aad), p, opt(last), opt(tag));
            b.finish(o, None)
        }
        Request::ResetContext { context_id } => {
            let o = g::ResetContextRequest::create(b, context_id);
            b.finish(o, None)
        }
        Request::DestroyContext { context_id } => {
            let o = g::DestroyContextRequest::create(b, context_id);
            b.finish(o, None)
        }
        Request::Random { len } => {
            let o = g::RandomRequest::create(b, len);
            b.finish(o, None)
        }
        Request::SlotResolve { name } => {
            let o = g::SlotResolveRequest::create(b, name);
            b.finish(o, None)
        }
        Request::SlotPersist { key_id, name } => {
            let o = g::SlotPersistRequest::create(b, key_id, name);
            b.finish(o, None)
        }
        Request::SlotDelete { name } => {
            let o = g::SlotDeleteRequest::create(b, name);
            b.finish(o, None)
        }
        Request::SlotList {
            start_after,
            limit,
            name,
        } => {
            let o = g::SlotListRequest::create(b, opt_str(start_after), limit, opt_str(name));
            b.finish(o, None)
        }
        Request::SlotGrant {
            name,
            uid,
            permissions,
        } => {
            let o = g::SlotGrantRequest::create(b, name, uid, permissions);
            b.finish(o, None)
        }
        Request::SlotRevoke { name, uid } => {
            let o = g::SlotRevokeRequest::create(b, name, uid);
            b.finish(o, None)
        }
        Request::SlotSetLocked { name, locked } => {
            let o = g::SlotSetLockedRequest::create(b, name, locked);
            b.finish(o, None)
        }
        Request::ReceiptExport { from, max_bytes } => {
            let o = g::ReceiptExportRequest::create(b, from, max_bytes);
            b.finish(o, None)
        }
        Request::PolicyLoad {
            action,
            profile,
            module,
        } => {
            let o = g::PolicyLoadRequest::create(b, action, profile, opt(module));
            b.finish(o, None)
        }
        Request::PolicyList { start_after, limit } => {
            let o = g::PolicyListRequest::create(b, opt_str(start_after), limit);
            b.finish(o, None)
        }
        Request::PolicyUnload { action } => {
            let o = g::PolicyUnloadRequest::create(b, action);
            b.finish(o, None)
        }
        Request::TrustAdd {
            issuer,
            algorithm,
            public_key,
        } => {
            let o = g::TrustAddRequest::create(b, issuer, algorithm, opt(public_key));
            b.finish(o, None)
        }
        Request::TrustList { start_after, limit } => {
            let o = g::TrustListRequest::create(b, opt_str(start_after), limit);
            b.finish(o, None)
        }
        Request::TrustRemove { issuer } => {
            let o = g::TrustRemoveRequest::create(b, issuer);
            b.finish(o, None)
        }
        Request::PermitVerify {
            permit,
            action,
            resource,
            intent,
        } => {
            let o = g::PermitVerifyRequest::create(b, opt(permit), action, resource, opt(intent));
            b.finish(o, None)
        }
        Request::AttestPublicKey => {
            let o = g::AttestPublicKeyRequest::create(b);
            b.finish(o, None)
        }
    }
}

fn key_spec<'a>(
    algorithm: planus::Result<Option<&'a str>>,
    field: &'static str,
    permissions: planus::Result<u32>,
    exportable: planus::Result<bool>,
    slot: planus::Result<Option<&'a str>>,
) -> Result<KeySpec<'a>, WireError> {
    Ok(KeySpec {
        algorithm: string(algorithm, field)?,
        permissions: val(permissions)?,
        exportable: val(exportable)?,
        slot: val(slot)?,
    })
}

/// Decodes the body of a request with opcode `op`. The result borrows from `body`; nothing is
/// allocated. Every field is validated here (see the module docs).
///
/// Errors: [`WireError::MalformedBody`] for a body that is not a valid FlatBuffer of the
/// opcode's table; [`WireError::MissingField`] for an absent algorithm name, KDF or context
/// kind; [`WireError::InvalidHandshake`] for `Hello` (a fixed-layout message, see
/// [`crate::handshake`]).
pub fn decode_request(op: Opcode, body: &[u8]) -> Result<Request<'_>, WireError> {
    Ok(match op {
        Opcode::Hello => return Err(WireError::InvalidHandshake("hello after handshake")),
        Opcode::Ping => {
            let r: g::PingRequestRef<'_> = root(body)?;
            Request::Ping {
                data: bytes(r.data())?,
            }
        }
        Opcode::Status => {
            let _: g::StatusRequestRef<'_> = root(body)?;
            Request::Status
        }
        Opcode::GenerateKey => {
            let r: g::GenerateKeyRequestRef<'_> = root(body)?;
            Request::GenerateKey(GenerateKey {
                key: key_spec(
                    r.algorithm(),
                    "algorithm",
                    r.permissions(),
                    r.exportable(),
                    r.slot(),
                )?,
                rsa_bits: val(r.rsa_bits())?,
                key_len: val(r.key_len())?,
            })
        }
        Opcode::ImportKey => {
            let r: g::ImportKeyRequestRef<'_> = root(body)?;
            Request::ImportKey(ImportKey {
                key: key_spec(
                    r.algorithm(),
                    "algorithm",
                    r.permissions(),
                    r.exportable(),
                    r.slot(),
                )?,
                format: read_format(val(r.format())?)?
                    .ok_or(WireError::MissingField("key format"))?,
                material: bytes(r.material())?,
            })
        }
        Opcode::ExportPublicKey => {
            let r: g::ExportPublicKeyRequestRef<'_> = root(body)?;
            Request::ExportPublicKey {
                key_id: val(r.key_id())?,
                format: read_format(val(r.format())?)?,
            }
        }
        Opcode::ExportSecretKey => {
            let r: g::ExportSecretKeyRequestRef<'_> = root(body)?;
            Request::ExportSecretKey {
                key_id: val(r.key_id())?,
            }
        }
        Opcode::DeriveKey => {
            let r: g::DeriveKeyRequestRef<'_> = root(body)?;
            Request::DeriveKey(DeriveKey {
                base_key_id: val(r.base_key_id())?,
                kdf: read_kdf(r.kdf())?,
                key: key_spec(
                    r.output_algorithm(),
                    "output algorithm",
                    r.permissions(),
                    r.exportable(),
                    r.slot(),
                )?,
                output_len: val(r.output_len())?,
            })
        }
        Opcode::AgreeKey => {
            let r: g::AgreeKeyRequestRef<'_> = root(body)?;
            Request::AgreeKey(AgreeKey {
                private_key_id: val(r.private_key_id())?,
                algorithm: string(r.algorithm(), "algorithm")?,
                peer_public: bytes(r.peer_public())?,
                key: key_spec(
                    r.output_algorithm(),
                    "output algorithm",
                    r.permissions(),
                    r.exportable(),
                    r.slot(),
                )?,
            })
        }
        Opcode::WrapKey => {
            let r: g::WrapKeyRequestRef<'_> = root(body)?;
            Request::WrapKey(WrapKey {
                kek_id: val(r.kek_id())?,
                target_key_id: val(r.target_key_id())?,
                algorithm: string(r.algorithm(), "algorithm")?,
            })
        }
        Opcode::UnwrapKey => {
            let r: g::UnwrapKeyRequestRef<'_> = root(body)?;
            Request::UnwrapKey(UnwrapKey {
                kek_id: val(r.kek_id())?,
                algorithm: string(r.algorithm(), "algorithm")?,
                wrapped: bytes(r.wrapped())?,
                key: key_spec(
                    r.unwrapped_algorithm(),
                    "unwrapped algorithm",
                    r.permissions(),
                    r.exportable(),
                    r.slot(),
                )?,
            })
        }
        Opcode::Encapsulate => {
            let r: g::EncapsulateRequestRef<'_> = root(body)?;
            Request::Encapsulate(Encapsulate {
                public_key_id: val(r.public_key_id())?,
                key: key_spec(
                    r.shared_secret_algorithm(),
                    "shared secret algorithm",
                    r.permissions(),
                    r.exportable(),
                    r.slot(),
                )?,
            })
        }
        Opcode::Decapsulate => {
            let r: g::DecapsulateRequestRef<'_> = root(body)?;
            Request::Decapsulate(Decapsulate {
                private_key_id: val(r.private_key_id())?,
                ciphertext: bytes(r.ciphertext())?,
                key: key_spec(
                    r.shared_secret_algorithm(),
                    "shared secret algorithm",
                    r.permissions(),
                    r.exportable(),
                    r.slot(),
                )?,
            })
        }
        Opcode::ReleaseKey => {
            let r: g::ReleaseKeyRequestRef<'_> = root(body)?;
            Request::ReleaseKey {
                key_id: val(r.key_id())?,
            }
        }
        Opcode::CreateContext => {
            let r: g::CreateContextRequestRef<'_> = root(body)?;
            Request::CreateContext(CreateContext {
                kind: read_kind(val(r.kind())?)?,
                algorithm: string(r.algorithm(), "algorithm")?,
                key_id: val(r.key_id())?,
                direction: read_direction(val(r.direction())?),
                timeout: read_timeout(val(r.timeout_mode())?, val(r.timeout_ms())?),
            })
        }
        Opcode::InitContext => {
            let r: g::InitContextRequestRef<'_> = root(body)?;
            Request::InitContext {
                context_id: val(r.context_id())?,
                iv: bytes(r.iv())?,
            }
        }
        Opcode::SetAad => {
            let r: g::SetAadRequestRef<'_> = root(body)?;
            Request::SetAad {
                context_id: val(r.context_id())?,
                aad: read_payload(r.aad())?,
            }
        }
        Opcode::Update => {
            let r: g::UpdateRequestRef<'_> = root(body)?;
            Request::Update {
                context_id: val(r.context_id())?,
                input: read_payload(r.input())?,
            }
        }
        Opcode::Finalize => {
            let r: g::FinalizeRequestRef<'_> = root(body)?;
            Request::Finalize {
                context_id: val(r.context_id())?,
                input: read_payload(r.input())?,
                tag: bytes(r.tag())?,
            }
        }
        Opcode::Process => {
            let r: g::ProcessRequestRef<'_> = root(body)?;
            Request::Process {
                context_id: val(r.context_id())?,
                iv: bytes(r.iv())?,
                aad: bytes(r.aad())?,
                input: read_payload(r.input())?,
                last: bytes(r.last())?,
                tag: bytes(r.tag())?,
            }
        }
        Opcode::ResetContext => {
            let r: g::ResetContextRequestRef<'_> = root(body)?;
            Request::ResetContext {
                context_id: val(r.context_id())?,
            }
        }
        Opcode::DestroyContext => {
            let r: g::DestroyContextRequestRef<'_> = root(body)?;
            Request::DestroyContext {
                context_id: val(r.context_id())?,
            }
        }
        Opcode::Random => {
            let r: g::RandomRequestRef<'_> = root(body)?;
            Request::Random { len: val(r.len())? }
        }
        Opcode::SlotResolve => {
            let r: g::SlotResolveRequestRef<'_> = root(body)?;
            Request::SlotResolve {
                name: string(r.name(), "name")?,
            }
        }
        Opcode::SlotPersist => {
            let r: g::SlotPersistRequestRef<'_> = root(body)?;
            Request::SlotPersist {
                key_id: val(r.key_id())?,
                name: string(r.name(), "name")?,
            }
        }
        Opcode::SlotDelete => {
            let r: g::SlotDeleteRequestRef<'_> = root(body)?;
            Request::SlotDelete {
                name: string(r.name(), "name")?,
            }
        }
        Opcode::SlotList => {
            let r: g::SlotListRequestRef<'_> = root(body)?;
            Request::SlotList {
                start_after: val(r.start_after())?.unwrap_or(""),
                limit: val(r.limit())?,
                name: val(r.name())?.unwrap_or(""),
            }
        }
        Opcode::SlotGrant => {
            let r: g::SlotGrantRequestRef<'_> = root(body)?;
            Request::SlotGrant {
                name: string(r.name(), "name")?,
                uid: val(r.uid())?,
                permissions: val(r.permissions())?,
            }
        }
        Opcode::SlotRevoke => {
            let r: g::SlotRevokeRequestRef<'_> = root(body)?;
            Request::SlotRevoke {
                name: string(r.name(), "name")?,
                uid: val(r.uid())?,
            }
        }
        Opcode::SlotSetLocked => {
            let r: g::SlotSetLockedRequestRef<'_> = root(body)?;
            Request::SlotSetLocked {
                name: string(r.name(), "name")?,
                locked: val(r.locked())?,
            }
        }
        Opcode::ReceiptExport => {
            let r: g::ReceiptExportRequestRef<'_> = root(body)?;
            Request::ReceiptExport {
                from: val(r.from())?,
                max_bytes: val(r.max_bytes())?,
            }
        }
        Opcode::PolicyLoad => {
            let r: g::PolicyLoadRequestRef<'_> = root(body)?;
            Request::PolicyLoad {
                action: string(r.action(), "action")?,
                profile: string(r.profile(), "profile")?,
                module: bytes(r.module())?,
            }
        }
        Opcode::PolicyList => {
            let r: g::PolicyListRequestRef<'_> = root(body)?;
            Request::PolicyList {
                start_after: val(r.start_after())?.unwrap_or(""),
                limit: val(r.limit())?,
            }
        }
        Opcode::PolicyUnload => {
            let r: g::PolicyUnloadRequestRef<'_> = root(body)?;
            Request::PolicyUnload {
                action: string(r.action(), "action")?,
            }
        }
        Opcode::TrustAdd => {
            let r: g::TrustAddRequestRef<'_> = root(body)?;
            Request::TrustAdd {
                issuer: string(r.issuer(), "issuer")?,
                algorithm: string(r.algorithm(), "algorithm")?,
                public_key: bytes(r.public_key())?,
            }
        }
        Opcode::TrustList => {
            let r: g::TrustListRequestRef<'_> = root(body)?;
            Request::TrustList {
                start_after: val(r.start_after())?.unwrap_or(""),
                limit: val(r.limit())?,
            }
        }
        Opcode::TrustRemove => {
            let r: g::TrustRemoveRequestRef<'_> = root(body)?;
            Request::TrustRemove {
                issuer: string(r.issuer(), "issuer")?,
            }
        }
        Opcode::PermitVerify => {
            let r: g::PermitVerifyRequestRef<'_> = root(body)?;
            Request::PermitVerify {
                permit: bytes(r.permit())?,
                action: string(r.action(), "action")?,
                resource: string(r.resource(), "resource")?,
                intent: bytes(r.intent())?,
            }
        }
        Opcode::AttestPublicKey => {
            let _: g::AttestPublicKeyRequestRef<'_> = root(body)?;
            Request::AttestPublicKey
        }
    })
}

// ---------------------------------------------------------------- responses

/// Encodes a successful response body into `b` (cleared first) and returns the bytes. The
/// caller sends it with status 0 and the request's opcode; [`decode_response`] checks that the
/// response shape fits that opcode.
pub fn encode_response<'b>(b: &'b mut Builder, resp: &Response<'_>) -> &'b [u8] {
    b.clear();
    match *resp {
        Response::Ping { data } => {
            let o = g::PingResponse::create(b, opt(data));
            b.finish(o, None)
        }
        Response::Status(ref s) => {
            // Written back to front by planus: prepare the vector before the table.
            let errors = write_error_counts(b, &s.errors);
            let live = write_live_counts(b, &s.live_by_kind);
            let o = g::StatusResponse::create(
                b,
                s.uptime_ms,
                s.connections,
                s.max_connections,
                s.live_keys,
                s.live_contexts,
                s.arenas_in_use,
                s.arenas_total,
                s.requests_served,
                errors,
                live,
            );
            b.finish(o, None)
        }
        Response::KeyCreated { key_id } => {
            let o = g::KeyCreatedResponse::create(b, key_id);
            b.finish(o, None)
        }
        Response::KeyBytes { data } => {
            let o = g::KeyBytesResponse::create(b, opt(data));
            b.finish(o, None)
        }
        Response::Encapsulated { ciphertext, key_id } => {
            let o = g::EncapsulateResponse::create(b, opt(ciphertext), key_id);
            b.finish(o, None)
        }
        Response::ContextCreated { context_id } => {
            let o = g::ContextCreatedResponse::create(b, context_id);
            b.finish(o, None)
        }
        Response::Output { output, tag, iv } => {
            let p = write_payload(b, &output);
            let o = g::OutputResponse::create(b, p, opt(tag), opt(iv));
            b.finish(o, None)
        }
        Response::Done => {
            let o = g::Empty::create(b);
            b.finish(o, None)
        }
        Response::SlotList {
            slots: ref list,
            more,
        } => {
            let v = crate::admin::write_slots(b, list);
            let o = g::SlotListResponse::create(b, v, more);
            b.finish(o, None)
        }
        Response::PolicyList {
            policies: ref list,
            more,
        } => {
            let v = crate::admin::write_policies(b, list);
            let o = g::PolicyListResponse::create(b, v, more);
            b.finish(o, None)
        }
        Response::TrustList {
            issuers: ref list,
            more,
        } => {
            let v = crate::admin::write_trust(b, list);
            let o = g::TrustListResponse::create(b, v, more);
            b.finish(o, None)
        }
        Response::PermitDecision {
            allowed,
            reason,
            counter,
            receipt,
        } => {
            let o = g::PermitDecisionResponse::create(b, allowed, reason, counter, opt(receipt));
            b.finish(o, None)
        }
        Response::AttestPublicKey {
            algorithm,
            public_key,
        } => {
            let o = g::AttestPublicKeyResponse::create(b, algorithm, opt(public_key));
            b.finish(o, None)
        }
        Response::ReceiptExport {
            receipts,
            count,
            head,
            pruned,
            checkpoint,
        } => {
            let o = g::ReceiptExportResponse::create(
                b,
                opt(receipts),
                count,
                head,
                pruned,
                opt(checkpoint),
            );
            b.finish(o, None)
        }
    }
}

fn write_error_counts(
    b: &mut Builder,
    counts: &ErrorCounts<'_>,
) -> Option<planus::Offset<[g::ErrorCount]>> {
    if counts.is_empty() {
        return None;
    }
    // planus writes a vector from a slice; status is an operator path, not the allocation-free
    // request path, so collecting the (at most a few dozen) counters is fine.
    let v: Vec<g::ErrorCount> = counts
        .iter()
        .map(|c| g::ErrorCount {
            code: c.code,
            count: c.count,
        })
        .collect();
    Some(b.create_vector(v.as_slice()))
}

fn write_live_counts(
    b: &mut Builder,
    counts: &LiveCounts,
) -> Option<planus::Offset<[g::ResourceCount]>> {
    let mut v = [g::ResourceCount { kind: 0, count: 0 }; LiveCounts::KINDS];
    let mut n = 0;
    for (dst, c) in v.iter_mut().zip(counts.iter()) {
        *dst = g::ResourceCount {
            kind: c.kind,
            count: c.count,
        };
        n += 1;
    }
    if n == 0 {
        return None;
    }
    Some(b.create_vector(v.get(..n).unwrap_or(&[])))
}

fn read_live_counts(v: Option<planus::Vector<'_, g::ResourceCountRef<'_>>>) -> LiveCounts {
    let mut out = LiveCounts::default();
    let Some(v) = v else { return out };
    for r in v.iter() {
        // A kind this version does not know (a newer daemon) is dropped, never an error.
        let _known = out.set(r.kind(), r.count());
    }
    out
}

/// Decodes the body of a successful response (header status 0) to a request with opcode `op`.
///
/// Errors as [`decode_request`]; `Hello` is [`WireError::InvalidHandshake`] (use
/// [`crate::handshake::HelloReply::decode`]).
pub fn decode_response(op: Opcode, body: &[u8]) -> Result<Response<'_>, WireError> {
    let kind = response_kind(op).ok_or(WireError::InvalidHandshake("hello after handshake"))?;
    Ok(match kind {
        ResponseKind::Ping => {
            let r: g::PingResponseRef<'_> = root(body)?;
            Response::Ping {
                data: bytes(r.data())?,
            }
        }
        ResponseKind::Status => {
            let r: g::StatusResponseRef<'_> = root(body)?;
            Response::Status(StatusReport {
                uptime_ms: val(r.uptime_ms())?,
                connections: val(r.connections())?,
                max_connections: val(r.max_connections())?,
                live_keys: val(r.live_keys())?,
                live_contexts: val(r.live_contexts())?,
                arenas_in_use: val(r.arenas_in_use())?,
                arenas_total: val(r.arenas_total())?,
                requests_served: val(r.requests_served())?,
                errors: match val(r.errors())? {
                    Some(v) => ErrorCounts::from_wire(v),
                    None => ErrorCounts::default(),
                },
                live_by_kind: read_live_counts(val(r.live_by_kind())?),
            })
        }
        ResponseKind::KeyCreated => {
            let r: g::KeyCreatedResponseRef<'_> = root(body)?;
            Response::KeyCreated {
                key_id: val(r.key_id())?,
            }
        }
        ResponseKind::KeyBytes => {
            let r: g::KeyBytesResponseRef<'_> = root(body)?;
            Response::KeyBytes {
                data: bytes(r.data())?,
            }
        }
        ResponseKind::Encapsulated => {
            let r: g::EncapsulateResponseRef<'_> = root(body)?;
            Response::Encapsulated {
                ciphertext: bytes(r.ciphertext())?,
                key_id: val(r.key_id())?,
            }
        }
        ResponseKind::ContextCreated => {
            let r: g::ContextCreatedResponseRef<'_> = root(body)?;
            Response::ContextCreated {
                context_id: val(r.context_id())?,
            }
        }
        ResponseKind::Output => {
            let r: g::OutputResponseRef<'_> = root(body)?;
            Response::Output {
                output: read_payload(r.output())?,
                tag: bytes(r.tag())?,
                iv: bytes(r.iv())?,
            }
        }
        ResponseKind::Done => {
            let _: g::EmptyRef<'_> = root(body)?;
            Response::Done
        }
        ResponseKind::SlotList => {
            let r: g::SlotListResponseRef<'_> = root(body)?;
            Response::SlotList {
                slots: match val(r.slots())? {
                    Some(v) => crate::admin::SlotEntries::from_wire(v)?,
                    None => crate::admin::SlotEntries::default(),
                },
                more: val(r.more())?,
            }
        }
        ResponseKind::PolicyList => {
            let r: g::PolicyListResponseRef<'_> = root(body)?;
            Response::PolicyList {
                policies: match val(r.policies())? {
                    Some(v) => crate::admin::PolicyEntries::from_wire(v)?,
                    None => crate::admin::PolicyEntries::default(),
                },
                more: val(r.more())?,
            }
        }
        ResponseKind::TrustList => {
            let r: g::TrustListResponseRef<'_> = root(body)?;
            Response::TrustList {
                issuers: match val(r.issuers())? {
                    Some(v) => crate::admin::TrustEntries::from_wire(v)?,
                    None => crate::admin::TrustEntries::default(),
                },
                more: val(r.more())?,
            }
        }
        ResponseKind::PermitDecision => {
            let r: g::PermitDecisionResponseRef<'_> = root(body)?;
            Response::PermitDecision {
                allowed: val(r.allowed())?,
                reason: val(r.reason())?,
                counter: val(r.counter())?,
                receipt: bytes(r.receipt())?,
            }
        }
        ResponseKind::AttestPublicKey => {
            let r: g::AttestPublicKeyResponseRef<'_> = root(body)?;
            Response::AttestPublicKey {
                algorithm: string(r.algorithm(), "algorithm")?,
                public_key: bytes(r.public_key())?,
            }
        }
        ResponseKind::ReceiptExport => {
            let r: g::ReceiptExportResponseRef<'_> = root(body)?;
            Response::ReceiptExport {
                receipts: bytes(r.receipts())?,
                count: val(r.count())?,
                head: val(r.head())?,
                pruned: val(r.pruned())?,
                checkpoint: bytes(r.checkpoint())?,
            }
        }
    })
}

/// Whether `resp` is the shape that answers opcode `op` (for debug assertions in the daemon).
pub fn response_fits(op: Opcode, resp: &Response<'_>) -> bool {
    response_kind(op) == Some(resp.kind())
}

/// Encodes the optional body of an error response: a static, non-secret detail string.
pub fn encode_error_detail<'b>(b: &'b mut Builder, detail: &str) -> &'b [u8] {
    b.clear();
    let o = g::ErrorDetail::create(b, detail);
    b.finish(o, None)
}

/// Decodes an error response body; an empty body (no detail) gives `""`.
pub fn decode_error_detail(body: &[u8]) -> Result<&str, WireError> {
    if body.is_empty() {
        return Ok("");
    }
    let r: g::ErrorDetailRef<'_> = root(body)?;
    Ok(val(r.detail())?.unwrap_or(""))
}

/// Converts a status-report counter (used by tests and by the daemon when building reports).
impl From<(u32, u64)> for ErrorCount {
    fn from((code, count): (u32, u64)) -> Self {
        ErrorCount { code, count }
    }
}

/// A response frame as the client sees it: a success body or the daemon's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// Status 0: the decoded body.
    Ok(Response<'a>),
    /// Non-zero status: the raw code (map it with `warden_core::ErrorCode::from_u32`) and the
    /// daemon's static detail string (may be empty).
    Err {
        /// `warden_core::ErrorCode` value from the header.
        code: u32,
        /// Static, non-secret detail.
        detail: &'a str,
    },
}

/// Decodes a response frame (header already checked by [`crate::FrameHeader::decode`]) whose
/// request had opcode `sent`.
///
/// Errors: [`WireError::MalformedBody`] if the frame is not a response or answers another
/// opcode; body errors as [`decode_response`].
pub fn decode_reply<'a>(
    sent: Opcode,
    header: &crate::FrameHeader,
    body: &'a [u8],
) -> Result<Reply<'a>, WireError> {
    if !header.is_response() {
        return Err(WireError::MalformedBody(
            "request frame where a response was expected",
        ));
    }
    if header.opcode != sent.as_u16() {
        return Err(WireError::MalformedBody("response to a different opcode"));
    }
    if header.status == 0 {
        decode_response(sent, body).map(Reply::Ok)
    } else {
        Ok(Reply::Err {
            code: header.status,
            detail: decode_error_detail(body)?,
        })
    }
}
