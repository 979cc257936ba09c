//! Request bodies: [`encode_request`] and [`decode_request`], one arm per operation in each.

use crate::error::WireError;
use crate::generated::warden::wire as g;
use crate::messages::{
    AgreeKey, CreateContext, CreateContextOptions, Decapsulate, DeriveKey, Encapsulate,
    GenerateKey, ImportKey, KeySpec, Request, UnwrapKey, WrapKey,
};
use crate::opcode::Opcode;

use super::Builder;
use super::fields::*;

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
            provider,
        }) => {
            let o = g::GenerateKeyRequest::create(
                b,
                key.algorithm,
                key.permissions,
                key.exportable,
                rsa_bits,
                key_len,
                key.slot,
                provider,
            );
            b.finish(o, None)
        }
        Request::ImportKey(ImportKey {
            key,
            format,
            material,
        }) => {
            let (inline, region) = write_bytes_or_shm(b, &material);
            let o = g::ImportKeyRequest::create(
                b,
                key.algorithm,
                key.permissions,
                key.exportable,
                write_format(Some(format)),
                inline,
                key.slot,
                region,
            );
            b.finish(o, None)
        }
        Request::ExportPublicKey {
            key_id,
            format,
            output,
        } => {
            let out = output.map(|s| write_shm(b, &s));
            let o = g::ExportPublicKeyRequest::create(b, key_id, write_format(format), out);
            b.finish(o, None)
        }
        Request::ExportSecretKey { key_id, output } => {
            let out = output.map(|s| write_shm(b, &s));
            let o = g::ExportSecretKeyRequest::create(b, key_id, out);
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
            output,
        }) => {
            let out = output.map(|s| write_shm(b, &s));
            let o = g::WrapKeyRequest::create(b, kek_id, target_key_id, algorithm, out);
            b.finish(o, None)
        }
        Request::UnwrapKey(UnwrapKey {
            kek_id,
            algorithm,
            wrapped,
            key,
        }) => {
            let (inline, region) = write_bytes_or_shm(b, &wrapped);
            let o = g::UnwrapKeyRequest::create(
                b,
                kek_id,
                inline,
                algorithm,
                key.algorithm,
                key.permissions,
                key.exportable,
                key.slot,
                region,
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
            options,
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
                write_signature_format(options.signature_format),
                options.pss_salt_len,
                opt(options.oaep_label),
                opt(options.signature_context),
                options.external_mu,
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
            output,
        } => {
            let p = write_payload(b, &input);
            let out = output.map(|s| write_shm(b, &s));
            let o = g::ProcessRequest::create(
                b,
                context_id,
                opt(iv),
                opt(aad),
                p,
                opt(last),
                opt(tag),
                out,
            );
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
        Request::Cert { call: c, .. } => {
            let o = g::CertRequest::create(
                b,
                opt_str(c.name),
                opt(c.der),
                opt_str(c.key_slot),
                opt_str(c.store),
                opt_str(c.subject),
                c.uid,
                c.time_unix,
                c.not_after_unix,
                opt_str(c.eku),
                c.key_usage,
                opt(c.chain),
                opt_str(c.start_after),
                c.limit,
            );
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
        Request::RegionRegister { len } => {
            let o = g::RegionRegisterRequest::create(b, len);
            b.finish(o, None)
        }
        Request::RegionRelease { region_id } => {
            let o = g::RegionReleaseRequest::create(b, region_id);
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
                provider: val(r.provider())?,
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
                material: read_bytes_or_shm(r.material(), r.material_region())?,
            })
        }
        Opcode::ExportPublicKey => {
            let r: g::ExportPublicKeyRequestRef<'_> = root(body)?;
            Request::ExportPublicKey {
                key_id: val(r.key_id())?,
                format: read_format(val(r.format())?)?,
                output: val(r.output())?.map(read_shm).transpose()?,
            }
        }
        Opcode::ExportSecretKey => {
            let r: g::ExportSecretKeyRequestRef<'_> = root(body)?;
            Request::ExportSecretKey {
                key_id: val(r.key_id())?,
                output: val(r.output())?.map(read_shm).transpose()?,
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
                output: val(r.output())?.map(read_shm).transpose()?,
            })
        }
        Opcode::UnwrapKey => {
            let r: g::UnwrapKeyRequestRef<'_> = root(body)?;
            Request::UnwrapKey(UnwrapKey {
                kek_id: val(r.kek_id())?,
                algorithm: string(r.algorithm(), "algorithm")?,
                wrapped: read_bytes_or_shm(r.wrapped(), r.wrapped_region())?,
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
                options: CreateContextOptions {
                    signature_format: read_signature_format(val(r.signature_format())?),
                    pss_salt_len: val(r.pss_salt_len())?,
                    oaep_label: bytes(r.oaep_label())?,
                    signature_context: bytes(r.signature_context())?,
                    external_mu: val(r.external_mu())?,
                },
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
                output: val(r.output())?.map(read_shm).transpose()?,
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
        Opcode::CertImport
        | Opcode::CertExport
        | Opcode::CertList
        | Opcode::CertDelete
        | Opcode::CertBind
        | Opcode::CertGrant
        | Opcode::CertRevoke
        | Opcode::CertCsr
        | Opcode::CertSelfSign
        | Opcode::CertStoreAdd
        | Opcode::CertStoreRemove
        | Opcode::CertStoreList
        | Opcode::CertCrlImport
        | Opcode::CertVerify => {
            let r: g::CertRequestRef<'_> = root(body)?;
            Request::Cert {
                op,
                call: crate::messages::CertCall {
                    name: val(r.name())?.unwrap_or(""),
                    der: bytes(r.der())?,
                    key_slot: val(r.key_slot())?.unwrap_or(""),
                    store: val(r.store())?.unwrap_or(""),
                    subject: val(r.subject())?.unwrap_or(""),
                    uid: val(r.uid())?,
                    time_unix: val(r.time_unix())?,
                    not_after_unix: val(r.not_after_unix())?,
                    eku: val(r.eku())?.unwrap_or(""),
                    key_usage: val(r.key_usage())?,
                    chain: bytes(r.chain())?,
                    start_after: val(r.start_after())?.unwrap_or(""),
                    limit: val(r.limit())?,
                },
            }
        }
        Opcode::RegionRegister => {
            let r: g::RegionRegisterRequestRef<'_> = root(body)?;
            Request::RegionRegister { len: val(r.len())? }
        }
        Opcode::RegionRelease => {
            let r: g::RegionReleaseRequestRef<'_> = root(body)?;
            Request::RegionRelease {
                region_id: val(r.region_id())?,
            }
        }
    })
}
