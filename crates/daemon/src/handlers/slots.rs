//! Persistent key slots (issue 5, seed decisions 3 and 12): resolve, persist, create in a
//! slot, delete, list, grant, revoke — and the access check on every use of a slot key.
//!
//! Identity is the peer uid from the kernel (`SO_PEERCRED`); the store decides rights
//! (`warden_store::acl`), including existence hiding: a caller with no right to a slot gets
//! `AccessDenied` whether it exists or not.
//!
//! Names are per owner ([`SlotRef`]): a bare name is the caller's own slot, another owner's
//! slot is addressed as `uid/name`, so a name never silently resolves to someone else's key.
//! Listings show each slot the way the caller must address it.
//!
//! A resolved slot key enters the connection's resource table rebuilt with only the caller's
//! effective permission bits, so the provider itself refuses anything else, and its table
//! entry carries its [`SlotOrigin`] for as long as anything references the key. Because
//! rights can change after a resolve (revoke, lock, delete, re-create), every request that
//! uses a slot key — directly or through a context bound to it — re-reads the slot's
//! authenticated metadata first ([`check_uses`]); narrowed rights or a replaced slot deny the
//! use (resolve again to get a key with the current rights). Every key-management action and
//! every denial is audited.

use warden_core::{Algorithm, Error, ErrorCode};
use warden_crypto::{Key, Provider};
use warden_store::{EXPORT_BIT, NewSlot, SlotMeta, SlotRef, StoreError, access};
use warden_wire::Response;
use warden_wire::admin::{SlotEntries, SlotEntry, pack_grants};
use warden_wire::messages::{self, Request};

use super::persistent;
use crate::request::{ConnState, Ctx};
use crate::resources::SlotOrigin;
use crate::state::Persistent;

/// The table-entry origin of a key loaded from (or stored into) `meta`'s slot.
fn origin(meta: &SlotMeta) -> SlotOrigin {
    SlotOrigin {
        owner: meta.owner_uid,
        name: meta.name.as_str().into(),
        created_ms: meta.created_unix_ms,
    }
}

/// The slot a request names: a bare name in the caller's namespace, or `uid/name`.
fn parse<'a>(state: &ConnState, name: &'a str) -> Result<SlotRef<'a>, Error> {
    Ok(SlotRef::parse(name, state.peer.uid)?)
}

/// Errors that say the provider (or its token) is unavailable, not that the record is bad.
fn is_provider_failure(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ProviderNotAvailable | ErrorCode::ProviderBusy | ErrorCode::OperationTimedOut
    )
}

fn code(r: &Result<impl Sized, Error>) -> Result<(), ErrorCode> {
    r.as_ref().map(|_| ()).map_err(Error::code)
}

/// A key object from its storage serialisation, allowed only `operations` (the caller's
/// effective bits, never more than the key's own).
///
/// The record names the provider that owns the key, which rebuilds it. A provider that is
/// not configured, or cannot reach its token, keeps its own typed error
/// (`ProviderNotAvailable`, ...); anything else about the record is `OperationFailed`.
pub(crate) fn restricted_key(
    storage: &[u8],
    operations: u32,
    algorithm: Algorithm,
    provider: &dyn Provider,
) -> Result<Key, Error> {
    let bad = || Error::new(ErrorCode::OperationFailed, "stored key record is malformed");
    let bits = warden_core::KeyOperationPermission::from_bits(operations).map_err(|_| bad())?;
    let stored = Key::parse_storage(storage).map_err(|_| bad())?;
    let key = provider
        .restore_key(&stored)
        .map_err(|e| {
            if is_provider_failure(e.code()) {
                e
            } else {
                bad()
            }
        })?
        .narrowed(bits)
        .map_err(|_| bad())?;
    // The sealed metadata and the key record must agree (both are authenticated, but by
    // different layers): refuse a key that is not what its slot says.
    if key.algorithm() != algorithm {
        return Err(bad());
    }
    Ok(key)
}

/// A key's bits that its slot's rights must cover (Export does not count on a key that can
/// never be exported: the ACL strips it from everyone).
fn needed_bits(key: &Key) -> u32 {
    let bits = key.permissions().bits();
    if key.exportable() {
        bits
    } else {
        bits & !EXPORT_BIT
    }
}

/// Resolve: the per-connection id of a slot's key (the same id again, with one more guard
/// reference, while a guard lives and the caller's rights are unchanged).
pub(crate) fn resolve(state: &mut ConnState, ctx: &Ctx<'_, '_>, name: &str) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let slot = parse(state, name)?;
    let audit_name = slot.to_string();
    let caller = p.caller(&state.peer);
    let loaded = p.store.load_for(slot, caller, 0);
    let (meta, rights, secret) = match loaded {
        Ok(v) => v,
        Err(e) => {
            let e = Error::from(e);
            p.audit(
                &state.peer,
                "slot.resolve",
                Some(&audit_name),
                None,
                Err(e.code()),
            );
            return Err(e);
        }
    };
    if let Some(id) = state.slots.cached(slot)
        && state.resources.key_origin(id) == Some(&origin(&meta))
        && let Ok(k) = state.resources.guarded_key(id)
        && k.permissions().bits() == rights.operations
    {
        // Same id, one more guard: the client makes a handle per resolve and each releases
        // once, so one part of a process dropping its handle must not end another's.
        state.resources.add_guard(id)?;
        return state.out.reply(&Response::KeyCreated { key_id: id });
    }
    state.resources.check_quota()?;
    let key = restricted_key(
        &secret,
        rights.operations,
        meta.algorithm,
        &*ctx.shared.provider,
    )?;
    drop(secret);
    let id = state
        .resources
        .insert_key(key, Some(origin(&meta)), &*ctx.shared.provider)?;
    state.slots.bind(slot, id, &state.resources);
    p.audit(
        &state.peer,
        "slot.resolve",
        Some(&audit_name),
        Some(meta.algorithm),
        Ok(()),
    );
    state.out.reply(&Response::KeyCreated { key_id: id })
}

/// Stores `key` durably in a new slot of the caller's own namespace (`name` may spell the
/// caller's uid out; any other owner is refused: nobody creates keys in another's namespace).
fn store_key(p: &Persistent, state: &ConnState, name: &str, key: &Key) -> Result<SlotMeta, Error> {
    let slot = parse(state, name)?;
    if slot.owner != state.peer.uid {
        return Err(Error::new(
            ErrorCode::AccessDenied,
            "slots are created in the caller's own namespace (use a bare name)",
        ));
    }
    if warden_store::is_reserved_slot_name(slot.name) {
        return Err(Error::new(
            ErrorCode::AccessDenied,
            "slot names starting with _warden. are reserved",
        ));
    }
    let secret = key.danger_storage_bytes()?;
    let new = NewSlot {
        name: slot.name.to_owned(),
        owner_uid: state.peer.uid,
        algorithm: key.algorithm(),
        permissions: key.permissions().bits(),
        exportable: key.exportable(),
    };
    Ok(p.store.create_slot(&new, &secret)?)
}

/// The fully qualified name for audit lines (the text as given if it does not parse).
fn audit_name(state: &ConnState, name: &str) -> String {
    parse(state, name).map_or_else(|_| name.to_owned(), |s| s.to_string())
}

/// Creates a freshly made key directly in slot `name` (the "into slot" overloads): durable
/// before this returns; then the key joins the table as this connection's handle on the
/// slot, and its id is what the reply carries.
pub(crate) fn admit_into_slot(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    name: &str,
    key: Key,
) -> Result<u64, Error> {
    ctx.deadline.check()?;
    let p = persistent(ctx)?;
    state.resources.check_quota()?;
    let algorithm = key.algorithm();
    let stored = store_key(p, state, name, &key);
    p.audit(
        &state.peer,
        "slot.create",
        Some(&audit_name(state, name)),
        Some(algorithm),
        code(&stored),
    );
    let meta = stored?;
    // The slot is durable now; the reply must not claim otherwise even if time ran out.
    let id = state
        .resources
        .insert_key(key, Some(origin(&meta)), &*ctx.shared.provider)?;
    state.slots.bind(meta.slot(), id, &state.resources);
    Ok(id)
}

/// Persist: copies an ephemeral key into a new slot; the key's guard stays valid.
pub(crate) fn persist(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    key_id: u64,
    name: &str,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let key = state.resources.guarded_key(key_id)?.clone();
    let result = if state.resources.key_origin(key_id).is_some() {
        // A grantee must not become the owner of a copy it could then grant onwards.
        Err(Error::new(
            ErrorCode::KeyOperationNotPermitted,
            "a slot key cannot be copied into another slot",
        ))
    } else {
        store_key(p, state, name, &key).map(|_| ())
    };
    p.audit(
        &state.peer,
        "slot.persist",
        Some(&audit_name(state, name)),
        Some(key.algorithm()),
        code(&result),
    );
    result?;
    state.out.reply(&Response::Done)
}

/// Delete (owner or admin).
pub(crate) fn delete(state: &mut ConnState, ctx: &Ctx<'_, '_>, name: &str) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let slot = parse(state, name)?;
    let caller = p.caller(&state.peer);
    let algorithm = p
        .store
        .meta_for(slot, caller)
        .ok()
        .map(|(m, _)| m.algorithm);
    let result = p.store.delete_for(slot, caller).map_err(Error::from);
    p.audit(
        &state.peer,
        "slot.delete",
        Some(&slot.to_string()),
        algorithm,
        code(&result),
    );
    discard_if_unreferenced(p, &*ctx.shared.provider, &result?);
    // Certificates bound to the deleted key slot no longer name it: a key created later
    // under the same name is not their key. Best effort (the slot is gone either way).
    let _ = p.store.cert_unbind_key_slot(&slot.to_string());
    state.out.reply(&Response::Done)
}

/// A deleted slot's key may live outside its record: a token provider keeps it as token
/// objects, which would otherwise stay for good (a create/delete loop could fill the token).
/// They are released unless another record refers to the same material (a key stored under
/// two names) — or when that cannot be told (a record that does not authenticate): then they
/// are kept. Software keys live only in their record, so nothing is scanned for them. Best
/// effort: the slot is gone either way; a token that cannot be reached keeps its objects.
fn discard_if_unreferenced(p: &Persistent, provider: &dyn Provider, secret: &[u8]) {
    let Ok(stored) = Key::parse_storage(secret) else {
        return;
    };
    if stored.provider == provider.info().name() {
        return;
    }
    let shared = p.store.any_secret(|other| {
        Key::parse_storage(other)
            .is_ok_and(|o| o.provider == stored.provider && o.material == stored.material)
    });
    if matches!(shared, Ok(false)) {
        let _ = provider.discard_stored(&stored);
    }
}

/// Locks or unlocks a slot (owner or admin). A locked slot keeps its key but grants no use
/// (resolving it or using a resolved id fails `KeyOperationNotPermitted`) and its grants
/// are frozen until it is unlocked (grant and revoke answer `AccessDenied`, "key slot is
/// locked"). An admin's lock is recorded as such and only an admin can lift it.
pub(crate) fn set_locked(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    name: &str,
    locked: bool,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let slot = parse(state, name)?;
    let caller = p.caller(&state.peer);
    let result = p
        .store
        .set_locked_for(slot, caller, locked)
        .map_err(Error::from);
    let algorithm = result.as_ref().ok().map(|m| m.algorithm);
    let op = if locked { "slot.lock" } else { "slot.unlock" };
    p.audit(
        &state.peer,
        op,
        Some(&slot.to_string()),
        algorithm,
        code(&result),
    );
    result?;
    state.out.reply(&Response::Done)
}

/// Bytes of a listing page kept free for the frame header and FlatBuffers envelope.
const PAGE_SLACK: usize = 1024;

/// Encoded size of one entry, rounded up generously (strings, grant bytes, vtable, offsets).
fn entry_cost(m: &SlotMeta) -> usize {
    96 + m.name.len() + m.algorithm.name().len() + 8 * m.grants.len()
}

/// List: one page of the slots the caller may see (grants only for the owner and admins),
/// or only the slot `only` names, in name order, after `start_after`, as many as fit in a
/// frame (and at most `limit` when non-zero); `more` tells the client to ask again.
pub(crate) fn list(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    start_after: &str,
    limit: u32,
    only: &str,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let caller = p.caller(&state.peer);
    let metas = if only.is_empty() {
        p.store.list_for(caller)?
    } else {
        // One record read (and authenticated), not the whole store: `AccessDenied` exactly
        // as for a resolve, so the filter reveals nothing a listing would not.
        vec![p.store.meta_for(parse(state, only)?, caller)?.0]
    };
    // Each slot under the name the caller must use for it (bare for its own, `uid/name` for
    // others'); pages are in that name's order.
    let mut metas: Vec<(String, SlotMeta)> = metas
        .into_iter()
        .map(|m| (m.slot().display_for(caller.uid), m))
        .filter(|(shown, _)| start_after.is_empty() || shown.as_str() > start_after)
        .collect();
    metas.sort_by(|a, b| a.0.cmp(&b.0));
    let budget = usize::try_from(ctx.shared.config.limits.max_frame_size)
        .unwrap_or(usize::MAX)
        .saturating_sub(PAGE_SLACK);
    let max_entries = if limit == 0 {
        usize::MAX
    } else {
        limit as usize
    };
    let mut used = 0usize;
    let mut fit = 0usize;
    for (shown, m) in &metas {
        let cost = entry_cost(m) + shown.len();
        if fit == max_entries || used + cost > budget {
            break;
        }
        used += cost;
        fit += 1;
    }
    let more = fit < metas.len();
    metas.truncate(fit);
    let packed: Vec<Vec<u8>> = metas
        .iter()
        .map(|(_, m)| {
            if access(m, caller.uid, caller.is_admin).manage {
                let grants: Vec<(u32, u32)> = m.grants.iter().map(|(u, b)| (*u, *b)).collect();
                pack_grants(&grants)
            } else {
                Vec::new()
            }
        })
        .collect();
    let entries: Vec<SlotEntry<'_>> = metas
        .iter()
        .zip(&packed)
        .map(|((shown, m), g)| SlotEntry {
            name: shown,
            algorithm: m.algorithm.name(),
            owner_uid: m.owner_uid,
            permissions: m.permissions,
            effective: access(m, caller.uid, caller.is_admin).operations,
            exportable: m.exportable,
            created_unix_ms: m.created_unix_ms,
            grants_packed: g,
            locked: m.state == warden_store::SlotState::Locked,
        })
        .collect();
    state.out.reply(&Response::SlotList {
        slots: SlotEntries::from_slice(&entries),
        more,
    })
}

/// Grant (owner only): `uid` may use a subset of the slot's bits.
pub(crate) fn grant(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    name: &str,
    uid: u32,
    permissions: u32,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let slot = parse(state, name)?;
    let caller = p.caller(&state.peer);
    let result = p.store.grant_for(slot, caller, uid, permissions);
    let algorithm = result.as_ref().ok().map(|m| m.algorithm);
    let result = result.map(|_| ()).map_err(Error::from);
    p.audit(
        &state.peer,
        "slot.grant",
        Some(&slot.to_string()),
        algorithm,
        code(&result),
    );
    result?;
    state.out.reply(&Response::Done)
}

/// Revoke (owner only); `ResourceNotFound` when the uid holds no grant on the slot.
pub(crate) fn revoke(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    name: &str,
    uid: u32,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let slot = parse(state, name)?;
    let caller = p.caller(&state.peer);
    // Revoking a grant that does not exist is an error, not a silent success: a typo in the
    // uid must not leave the operator believing a real grant is gone. (Only a caller with the
    // grant right gets this far, and it sees the slot's grants anyway.)
    let result = match p.store.revoke_for(slot, caller, uid) {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::new(
            ErrorCode::ResourceNotFound,
            "that uid holds no grant on this slot",
        )),
        Err(e) => Err(Error::from(e)),
    };
    p.audit(
        &state.peer,
        "slot.revoke",
        Some(&slot.to_string()),
        None,
        code(&result),
    );
    result?;
    state.out.reply(&Response::Done)
}

/// A use of slot keys by one request, for auditing its outcome.
pub(crate) struct SlotUse {
    operation: &'static str,
    slot: String,
    algorithm: Algorithm,
}

/// Key ids a request uses, with the audit name of the use.
fn used_keys(req: &Request<'_>, state: &ConnState) -> (&'static str, [Option<u64>; 2]) {
    match *req {
        // Every request on a context, not only its creation or a new operation: a context
        // bound to a slot key must stop working once the right is revoked or the slot locked
        // or deleted, even mid-stream (an open CBC/CTR decrypt stream is a block or keystream
        // oracle; a stream that never finalizes would otherwise outlive every revocation).
        Request::InitContext { context_id, .. }
        | Request::Process { context_id, .. }
        | Request::SetAad { context_id, .. }
        | Request::Update { context_id, .. }
        | Request::Finalize { context_id, .. } => (
            "key.use.context",
            [state.resources.context_key_id(context_id), None],
        ),
        Request::CreateContext(ref r) => {
            let op = match r.kind {
                messages::ContextKind::Sign => "key.use.sign",
                messages::ContextKind::Verify => "key.use.verify",
                messages::ContextKind::Mac => "key.use.mac",
                messages::ContextKind::Aead => "key.use.aead",
                messages::ContextKind::Cipher => "key.use.cipher",
                _ => "key.use",
            };
            (op, [r.key_id, None])
        }
        Request::ExportPublicKey { key_id, .. } => ("key.export_public", [Some(key_id), None]),
        Request::ExportSecretKey { key_id, .. } => ("key.export_secret", [Some(key_id), None]),
        Request::DeriveKey(ref r) => ("key.derive", [Some(r.base_key_id), None]),
        Request::AgreeKey(ref r) => ("key.agree", [Some(r.private_key_id), None]),
        Request::WrapKey(ref r) => ("key.wrap", [Some(r.kek_id), Some(r.target_key_id)]),
        Request::UnwrapKey(ref r) => ("key.unwrap", [Some(r.kek_id), None]),
        Request::Encapsulate(ref r) => ("key.encapsulate", [Some(r.public_key_id), None]),
        Request::Decapsulate(ref r) => ("key.decapsulate", [Some(r.private_key_id), None]),
        _ => ("", [None, None]),
    }
}

/// Re-checks the caller's rights on every slot key `req` uses (directly, or through the
/// context it names), against the slot's current authenticated metadata. Which slot a key
/// came from is read from the key's own table entry, so nothing the client does with its
/// guards or other resolves can make a slot key skip this. Denials are audited and
/// returned; `Ok(Some(_))` is a use to audit once its outcome is known ([`audit_use`]).
/// Requests without slot keys cost a lookup or two in the connection's table.
pub(crate) fn check_uses(
    req: &Request<'_>,
    state: &ConnState,
    ctx: &Ctx<'_, '_>,
) -> Result<Option<SlotUse>, Error> {
    let (operation, ids) = used_keys(req, state);
    let mut first = None;
    for id in ids.into_iter().flatten() {
        let Some(origin) = state.resources.key_origin(id) else {
            continue;
        };
        let p = persistent(ctx)?;
        let caller = p.caller(&state.peer);
        let key = state.resources.live_key(id)?;
        let slot = SlotRef::new(origin.owner, &origin.name);
        let verdict = match p.store.meta_for(slot, caller) {
            Err(e) => Err(Error::from(e)),
            Ok((meta, _)) if meta.created_unix_ms != origin.created_ms => Err(Error::new(
                ErrorCode::KeySlotEmpty,
                "the slot was deleted since it was resolved",
            )),
            Ok((_, rights)) if needed_bits(key) & !rights.operations != 0 => {
                Err(Error::from(StoreError::NotPermitted))
            }
            Ok(_) => Ok(()),
        };
        if let Err(e) = verdict {
            p.audit_use(
                &state.peer,
                operation,
                &slot.to_string(),
                Some(key.algorithm()),
                Err(e.code()),
            );
            return Err(e);
        }
        if first.is_none() {
            first = Some(SlotUse {
                operation,
                slot: slot.to_string(),
                algorithm: key.algorithm(),
            });
        }
    }
    Ok(first)
}

/// Audits the outcome of a checked slot-key use (denials always; successes with
/// `audit.log_uses`). The provider's own refusals (e.g. a grantee's key lacks the bit for
/// this context kind) are denials too.
pub(crate) fn audit_use(
    slot_use: Option<SlotUse>,
    state: &ConnState,
    ctx: &Ctx<'_, '_>,
    result: &Result<(), Error>,
) {
    let (Some(u), Some(p)) = (slot_use, ctx.shared.persistent.opened()) else {
        return;
    };
    p.audit_use(
        &state.peer,
        u.operation,
        &u.slot,
        Some(u.algorithm),
        code(result),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::{GenerateKeyParams, KeyOperationPermission as P};
    use warden_provider_awslc::AwsLcProvider;

    fn key(alg: Algorithm, perms: P, exportable: bool) -> Key {
        let p = GenerateKeyParams::builder()
            .algorithm(alg)
            .permissions(perms)
            .exportable(exportable)
            .build()
            .unwrap();
        AwsLcProvider::new().generate_key(&p).unwrap()
    }

    #[test]
    fn restricted_key_carries_only_the_given_bits() {
        let full = key(Algorithm::Ed25519, P::SIGN | P::VERIFY | P::EXPORT, true);
        let stored = full.danger_storage_bytes().unwrap();
        let k = restricted_key(
            &stored,
            P::SIGN.bits(),
            Algorithm::Ed25519,
            &AwsLcProvider::new(),
        )
        .unwrap();
        assert_eq!(k.permissions(), P::SIGN);
        assert_eq!(
            k.public_key(Default::default()).unwrap(),
            full.public_key(Default::default()).unwrap(),
            "same key material"
        );
        // No Export bit: the secret cannot leave, although the key is exportable.
        assert!(matches!(
            k.export_secret().unwrap_err().code(),
            ErrorCode::KeyNotExportable | ErrorCode::KeyOperationNotPermitted
        ));
        assert!(full.export_secret().is_ok());
        // Metadata that disagrees with the record is refused, as is a truncated record.
        assert!(
            restricted_key(
                &stored,
                P::SIGN.bits(),
                Algorithm::EcdsaP256Sha256,
                &AwsLcProvider::new()
            )
            .is_err()
        );
        assert!(
            restricted_key(
                &stored[..8],
                P::SIGN.bits(),
                Algorithm::Ed25519,
                &AwsLcProvider::new()
            )
            .is_err()
        );
        assert!(restricted_key(&[], 0, Algorithm::Ed25519, &AwsLcProvider::new()).is_err());
    }

    #[test]
    fn export_counts_only_on_exportable_keys() {
        let k = key(Algorithm::Aes256Key, P::ENCRYPT | P::EXPORT, false);
        assert_eq!(needed_bits(&k), P::ENCRYPT.bits());
        let k = key(Algorithm::Aes256Key, P::ENCRYPT | P::EXPORT, true);
        assert_eq!(needed_bits(&k), (P::ENCRYPT | P::EXPORT).bits());
    }
}
