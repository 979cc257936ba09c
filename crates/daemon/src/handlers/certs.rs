//! Certificate slots, CSRs and self-signed certificates (issue 16, opcodes 0x0600..=0x0611).
//!
//! Certificate slots live in the caller's namespace like key slots (`name` or `uid/name`):
//! the owner (and admins) manage them, uids the owner grants may read them (export, list,
//! verify). A caller with no right gets `AccessDenied` whether the slot exists or not.
//!
//! A binding to a key slot is accepted only if the certificate's SubjectPublicKeyInfo is the
//! key's own (the caller must hold some right on the key slot to name it). CSRs and
//! self-signed certificates are signed here, by a Sign context on the slot key created
//! through the provider: the key never leaves the daemon, and signing needs the caller's
//! Sign right on the slot, re-read from the store for this request.

use std::sync::Arc;

use warden_cert::{CertInfo, SelfSignedSpec};
use warden_core::{
    Algorithm, ContextConfig, Error, ErrorCode, KeyFormat, Persistence, ResourceId, ResourceType,
};
use warden_crypto::{ContextKind, Key};
use warden_store::{Caller, CertSlot, SlotRef, StoreError};
use warden_wire::Response;
use warden_wire::admin::{CertEntries, CertEntry};
use warden_wire::messages::CertCall;

use super::persistent;
use crate::handlers::slots::restricted_key;
use crate::request::{ConnState, Ctx};
use crate::state::Persistent;

fn code(r: &Result<impl Sized, Error>) -> Result<(), ErrorCode> {
    r.as_ref().map(|_| ()).map_err(Error::code)
}

/// Audits `result` under `op` for `what` and passes it on.
pub(crate) fn audited<T>(
    p: &Persistent,
    state: &ConnState,
    op: &'static str,
    what: &str,
    result: Result<T, Error>,
) -> Result<T, Error> {
    p.audit(&state.peer, op, Some(what), None, code(&result));
    result
}

fn manages(c: &CertSlot, caller: Caller) -> bool {
    caller.is_admin || c.owner_uid == caller.uid
}

fn reads(c: &CertSlot, caller: Caller) -> bool {
    manages(c, caller) || c.grants.contains(&caller.uid)
}

/// The certificate slot `slot` if `caller` may read it (and manage it, with `manage`).
/// Missing and forbidden look the same to non-admins.
fn visible(
    p: &Persistent,
    slot: SlotRef<'_>,
    caller: Caller,
    manage: bool,
) -> Result<CertSlot, Error> {
    let c = match p.store.cert_get(slot) {
        Ok(c) => c,
        Err(StoreError::KeySlotEmpty) if !caller.is_admin => {
            return Err(StoreError::AccessDenied.into());
        }
        Err(e) => return Err(e.into()),
    };
    let ok = if manage {
        manages(&c, caller)
    } else {
        reads(&c, caller)
    };
    if !ok {
        return Err(StoreError::AccessDenied.into());
    }
    Ok(c)
}

/// A readable certificate slot's DER (for verification of a stored leaf).
pub(crate) fn readable_der(
    p: &Persistent,
    state: &ConnState,
    name: &str,
) -> Result<Vec<u8>, Error> {
    let slot = SlotRef::parse(name, state.peer.uid)?;
    Ok(visible(p, slot, p.caller(&state.peer), false)?.der)
}

/// The key of slot `name` as this caller may use it (at least the `required` bits), and the
/// slot's qualified `uid/name`.
fn slot_key(
    p: &Persistent,
    state: &ConnState,
    ctx: &Ctx<'_, '_>,
    name: &str,
    required: u32,
) -> Result<(String, Key), Error> {
    let slot = SlotRef::parse(name, state.peer.uid)?;
    let (meta, rights, secret) = p.store.load_for(slot, p.caller(&state.peer), required)?;
    let key = restricted_key(
        &secret,
        rights.operations,
        meta.algorithm,
        &*ctx.shared.provider,
    )?;
    Ok((slot.to_string(), key))
}

/// Refuses `der` unless its public key is the key in slot `key_slot`; returns the slot's
/// qualified name for the binding.
fn check_binding(
    p: &Persistent,
    state: &ConnState,
    ctx: &Ctx<'_, '_>,
    der: &[u8],
    key_slot: &str,
) -> Result<String, Error> {
    let (qualified, key) = slot_key(p, state, ctx, key_slot, 0)?;
    let spki = key.public_key(KeyFormat::SubjectPublicKeyInfo)?;
    warden_cert::ensure_key_matches(der, &spki)?;
    Ok(qualified)
}

/// Slots are created in the caller's own namespace only, never under a reserved name.
fn own_new_slot<'a>(state: &ConnState, name: &'a str) -> Result<SlotRef<'a>, Error> {
    let slot = SlotRef::parse(name, state.peer.uid)?;
    if slot.owner != state.peer.uid {
        return Err(Error::new(
            ErrorCode::AccessDenied,
            "certificate slots are created in the caller's own namespace",
        ));
    }
    if warden_store::is_reserved_slot_name(slot.name) {
        return Err(Error::new(
            ErrorCode::AccessDenied,
            "slot names starting with _warden. are reserved",
        ));
    }
    Ok(slot)
}

fn import_inner(
    p: &Persistent,
    state: &ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let slot = own_new_slot(state, c.name)?;
    CertInfo::parse(c.der)?;
    let binding = if c.key_slot.is_empty() {
        None
    } else {
        Some(check_binding(p, state, ctx, c.der, c.key_slot)?)
    };
    p.store.cert_create(slot, c.der, binding)?;
    Ok(())
}

/// CertImport: a new certificate slot holding `der`, bound to `key_slot` if given.
pub(crate) fn import(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = import_inner(p, state, ctx, c);
    audited(p, state, "cert.import", c.name, r)?;
    state.out.reply(&Response::Done)
}

/// CertExport: the DER of a certificate slot the caller may read.
pub(crate) fn export(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let der = readable_der(p, state, c.name)?;
    state.out.reply(&Response::KeyBytes { data: &der })
}

/// CertDelete (owner or admin).
pub(crate) fn delete(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = (|| {
        let slot = SlotRef::parse(c.name, state.peer.uid)?;
        visible(p, slot, p.caller(&state.peer), true)?;
        Ok(p.store.cert_delete(slot)?)
    })();
    audited(p, state, "cert.delete", c.name, r)?;
    state.out.reply(&Response::Done)
}

/// CertBind (owner or admin): bind to `key_slot` (whose key must match), or unbind.
pub(crate) fn bind(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = (|| {
        let slot = SlotRef::parse(c.name, state.peer.uid)?;
        let current = visible(p, slot, p.caller(&state.peer), true)?;
        let binding = if c.key_slot.is_empty() {
            None
        } else {
            Some(check_binding(p, state, ctx, &current.der, c.key_slot)?)
        };
        p.store.cert_update(slot, |rec| {
            // The record must still be the one whose key was checked.
            if rec.der != current.der {
                return Err(StoreError::KeySlotOccupied);
            }
            rec.key_slot = binding;
            Ok(())
        })?;
        Ok(())
    })();
    audited(p, state, "cert.bind", c.name, r)?;
    state.out.reply(&Response::Done)
}

/// CertGrant / CertRevoke (owner or admin): `uid` may (no longer) read the slot.
pub(crate) fn grant(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
    granted: bool,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = (|| {
        let slot = SlotRef::parse(c.name, state.peer.uid)?;
        visible(p, slot, p.caller(&state.peer), true)?;
        p.store.cert_update(slot, |rec| {
            rec.grants.retain(|u| *u != c.uid);
            if granted {
                rec.grants.push(c.uid);
            }
            Ok(())
        })?;
        Ok(())
    })();
    let op = if granted { "cert.grant" } else { "cert.revoke" };
    audited(p, state, op, c.name, r)?;
    state.out.reply(&Response::Done)
}

/// Bytes of a listing page kept free for the frame header and FlatBuffers envelope.
const PAGE_SLACK: usize = 1024;

/// Keeps the entries after `start_after` that fit one frame (and `limit` when non-zero);
/// returns whether more follow.
pub(crate) fn page<T>(
    ctx: &Ctx<'_, '_>,
    items: &mut Vec<(String, T)>,
    start_after: &str,
    limit: u32,
    cost: impl Fn(&T) -> usize,
) -> bool {
    items.retain(|(n, _)| start_after.is_empty() || n.as_str() > start_after);
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let budget = usize::try_from(ctx.shared.config.limits.max_frame_size)
        .unwrap_or(usize::MAX)
        .saturating_sub(PAGE_SLACK);
    let max = if limit == 0 {
        usize::MAX
    } else {
        limit as usize
    };
    let (mut used, mut fit) = (0usize, 0usize);
    for (n, t) in items.iter() {
        let c = 96 + n.len() + cost(t);
        if fit == max || used + c > budget {
            break;
        }
        used += c;
        fit += 1;
    }
    let more = fit < items.len();
    items.truncate(fit);
    more
}

/// One owned listing entry (the wire entry borrows from it).
pub(crate) struct Listed {
    pub(crate) owner_uid: u32,
    pub(crate) key_slot: String,
    pub(crate) info: Option<CertInfo>,
    pub(crate) grants: Vec<u8>,
    pub(crate) kind: &'static str,
    /// CRLs: issuer and thisUpdate.
    pub(crate) crl: Option<(String, i64)>,
}

pub(crate) fn listed_cost(l: &Listed) -> usize {
    l.key_slot.len()
        + l.grants.len()
        + l.info
            .as_ref()
            .map_or(0, |i| i.subject.len() + i.issuer.len())
        + l.crl.as_ref().map_or(0, |c| c.0.len())
}

/// Replies with one page of `items`.
pub(crate) fn reply_list(
    state: &mut ConnState,
    items: &[(String, Listed)],
    more: bool,
) -> Result<(), Error> {
    let entries: Vec<CertEntry<'_>> = items
        .iter()
        .map(|(name, l)| {
            let (subject, issuer, nb, na) = match (&l.info, &l.crl) {
                (Some(i), _) => (
                    i.subject.as_str(),
                    i.issuer.as_str(),
                    i.not_before,
                    i.not_after,
                ),
                (None, Some((iss, this))) => ("", iss.as_str(), *this, 0),
                (None, None) => ("", "", 0, 0),
            };
            CertEntry {
                name,
                owner_uid: l.owner_uid,
                key_slot: &l.key_slot,
                subject,
                issuer,
                not_before: nb,
                not_after: na,
                grants_packed: &l.grants,
                kind: l.kind,
            }
        })
        .collect();
    state.out.reply(&Response::CertList {
        certs: CertEntries::from_slice(&entries),
        more,
    })
}

/// CertList: the certificate slots the caller may read (all for admins), under the names
/// the caller must use; grants shown to those who manage the slot.
pub(crate) fn list(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let caller = p.caller(&state.peer);
    let mut items: Vec<(String, Listed)> = p
        .store
        .cert_list()?
        .into_iter()
        .filter(|s| reads(s, caller))
        .map(|s| {
            let grants = if manages(&s, caller) {
                s.grants.iter().flat_map(|u| u.to_le_bytes()).collect()
            } else {
                Vec::new()
            };
            let name = s.slot().display_for(caller.uid);
            let listed = Listed {
                owner_uid: s.owner_uid,
                key_slot: s.key_slot.clone().unwrap_or_default(),
                // A stored certificate parsed when imported; a record that no longer does
                // is listed without its fields rather than hiding the slot.
                info: CertInfo::parse(&s.der).ok(),
                grants,
                kind: "cert",
                crl: None,
            };
            (name, listed)
        })
        .collect();
    let more = page(ctx, &mut items, c.start_after, c.limit, listed_cost);
    reply_list(state, &items, more)
}

/// Signs `tbs` with `key` through a Sign context from the provider (the connection's
/// buffer budget pays for buffered algorithms).
fn sign_with(
    state: &ConnState,
    ctx: &Ctx<'_, '_>,
    key: &Arc<Key>,
    tbs: &[u8],
) -> Result<Vec<u8>, Error> {
    ctx.deadline.check()?;
    // The config names a key only to pass validation; the key object is given directly and
    // never enters the connection's table (id 1 is never looked up).
    let config = ContextConfig::builder()
        .algorithm(key.algorithm())
        .key(ResourceId::new(
            1,
            ResourceType::Key,
            Persistence::Ephemeral,
            0,
        ))
        .build()?;
    let mut sc = ctx.shared.provider.create_context_in(
        ContextKind::Sign,
        &config,
        Some(key.clone()),
        &state.buffers,
    )?;
    sc.init(&[])?;
    let mut out = vec![0u8; sc.max_output_len(tbs.len())];
    let n = sc.finalize(tbs, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// The signing key of `key_slot` (Sign right required), its algorithm and SPKI.
fn signer(
    p: &Persistent,
    state: &ConnState,
    ctx: &Ctx<'_, '_>,
    key_slot: &str,
) -> Result<(String, Algorithm, Vec<u8>, Arc<Key>), Error> {
    let sign_bit = warden_core::KeyOperationPermission::SIGN.bits();
    let (qualified, key) = slot_key(p, state, ctx, key_slot, sign_bit)?;
    let spki = key.public_key(KeyFormat::SubjectPublicKeyInfo)?;
    Ok((qualified, key.algorithm(), spki, Arc::new(key)))
}

/// CertCsr: a PKCS#10 request for `subject`, signed by the key in `key_slot`.
pub(crate) fn csr(state: &mut ConnState, ctx: &Ctx<'_, '_>, c: &CertCall<'_>) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = (|| {
        let (_, alg, spki, key) = signer(p, state, ctx, c.key_slot)?;
        let mut sign = |tbs: &[u8]| sign_with(state, ctx, &key, tbs);
        warden_cert::csr(alg, &spki, c.subject, &mut sign)
    })();
    let der = audited(p, state, "cert.csr", c.key_slot, r)?;
    state.out.reply(&Response::KeyBytes { data: &der })
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// CertSelfSign: a self-signed CA certificate for the key in `key_slot`, valid from
/// `time_unix` (0 = now) to `not_after_unix`; also stored in certificate slot `name`, bound
/// to the key, when `name` is given.
pub(crate) fn self_sign(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = (|| {
        let target = if c.name.is_empty() {
            None
        } else {
            Some(own_new_slot(state, c.name)?)
        };
        let (qualified, alg, spki, key) = signer(p, state, ctx, c.key_slot)?;
        let mut serial = [0u8; 16];
        ctx.shared.provider.random(&mut serial)?;
        // Positive and without a leading zero byte, so it encodes in exactly 16 bytes.
        if let Some(first) = serial.first_mut() {
            *first = (*first & 0x7f) | 0x40;
        }
        let not_before = if c.time_unix == 0 {
            now_unix()
        } else {
            c.time_unix
        };
        let spec = SelfSignedSpec {
            subject: c.subject,
            not_before,
            not_after: c.not_after_unix,
            serial: &serial,
        };
        let mut sign = |tbs: &[u8]| sign_with(state, ctx, &key, tbs);
        let der = warden_cert::self_signed(alg, &spki, &spec, &mut sign)?;
        if let Some(slot) = target {
            p.store.cert_create(slot, &der, Some(qualified))?;
        }
        Ok(der)
    })();
    let der = audited(p, state, "cert.self_sign", c.key_slot, r)?;
    state.out.reply(&Response::KeyBytes { data: &der })
}
