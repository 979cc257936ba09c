//! Successful response bodies: [`encode_response`] and [`decode_response`].

use crate::error::WireError;
use crate::generated::warden::wire as g;
use crate::messages::{
    ErrorCounts, LiveCounts, Payload, Response, ResponseKind, StatusReport, response_kind,
};
use crate::opcode::Opcode;

use super::Builder;
use super::fields::*;

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
            let providers = crate::providers::write(b, &s.providers);
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
                providers,
            );
            b.finish(o, None)
        }
        Response::KeyCreated { key_id } => {
            let o = g::KeyCreatedResponse::create(b, key_id);
            b.finish(o, None)
        }
        Response::KeyBytes { data } => {
            let o = g::KeyBytesResponse::create(b, opt(data), None::<planus::Offset<g::Shm>>);
            b.finish(o, None)
        }
        Response::KeyWritten { written } => {
            let w = write_shm(b, &written);
            let o = g::KeyBytesResponse::create(b, None::<&[u8]>, w);
            b.finish(o, None)
        }
        Response::Encapsulated { ciphertext, key_id } => {
            let o = g::EncapsulateResponse::create(b, opt(ciphertext), key_id);
            b.finish(o, None)
        }
        Response::ContextCreated {
            context_id,
            applied_options,
        } => {
            let o = g::ContextCreatedResponse::create(b, context_id, applied_options);
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
        Response::CertList {
            certs: ref list,
            more,
        } => {
            let v = crate::admin::write_certs(b, list);
            let o = g::CertListResponse::create(b, v, more);
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
        Response::RegionRegistered { region_id } => {
            let o = g::RegionRegisteredResponse::create(b, region_id);
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

pub(super) fn write_error_counts(
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

pub(super) fn write_live_counts(
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

pub(super) fn read_live_counts(
    v: Option<planus::Vector<'_, g::ResourceCountRef<'_>>>,
) -> LiveCounts {
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
/// Errors as [`crate::decode_request`]; `Hello` is [`WireError::InvalidHandshake`] (use
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
                providers: match val(r.providers())? {
                    Some(v) => crate::providers::ProviderList::from_wire(v)
                        .ok_or(WireError::MalformedBody("provider entry"))?,
                    None => crate::providers::ProviderList::default(),
                },
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
            match read_bytes_or_shm(r.data(), r.written())? {
                Payload::Inline(data) => Response::KeyBytes { data },
                Payload::Shm(written) => Response::KeyWritten { written },
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
                applied_options: val(r.applied_options())?,
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
        ResponseKind::CertList => {
            let r: g::CertListResponseRef<'_> = root(body)?;
            Response::CertList {
                certs: match val(r.certs())? {
                    Some(v) => crate::admin::CertEntries::from_wire(v)?,
                    None => crate::admin::CertEntries::default(),
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
        ResponseKind::RegionRegistered => {
            let r: g::RegionRegisteredResponseRef<'_> = root(body)?;
            Response::RegionRegistered {
                region_id: val(r.region_id())?,
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
