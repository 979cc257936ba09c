//! Persistent key slots (issue 5, seed decisions 3 and 12): resolve, persist, create in a
//! slot, delete, list, grant, revoke — and the access check on every use of a slot key.
//!
//! Identity is the peer uid from the kernel (`SO_PEERCRED`); the store decides rights
//! (`warden_store::acl`), including existence hiding: a caller with no right to a slot gets
//! `AccessDenied` whether it exists or not.
//!
//! A resolved slot key enters the connection's resource table like an ephemeral key, but
//! rebuilt with only the caller's effective permission bits, so the provider itself refuses
//! anything else. Because rights can change after a resolve (revoke, delete, re-create),
//! every request that names a slot key re-reads the slot's authenticated metadata first
//! ([`check_uses`]); narrowed rights or a replaced slot deny the use (resolve again to get a
//! key with the current rights). Every key-management action and every denial is audited.

use std::collections::HashMap;

use warden_core::{Algorithm, Error, ErrorCode};
use warden_crypto::Key;
use warden_store::{EXPORT_BIT, NewSlot, SlotMeta, StoreError, access};
use warden_wire::Response;
use warden_wire::admin::{SlotEntries, SlotEntry, pack_grants};
use warden_wire::messages::{self, Request};

use crate::connection::ConnState;
use crate::dispatch::Ctx;
use crate::state::Persistent;

/// Stale bindings are pruned once a connection holds this many.
const PRUNE_AT: usize = 256;

/// Which slot (and which incarnation of it) a per-connection key id stands for.
struct Binding {
    name: String,
    /// Creation time of the slot the key was loaded from: a slot deleted and re-created
    /// under the same name is a different key.
    created_ms: u64,
}

/// Per-connection name ↔ id map of slot keys.
#[derive(Default)]
pub(crate) struct SlotBindings {
    by_name: HashMap<String, u64>,
    by_id: HashMap<u64, Binding>,
}

impl SlotBindings {
    fn bind(&mut self, name: &str, id: u64, created_ms: u64, state: &crate::provider::Resources) {
        if self.by_id.len() >= PRUNE_AT {
            self.by_id.retain(|id, _| state.guarded_key(*id).is_ok());
            let by_id = &self.by_id;
            self.by_name.retain(|_, id| by_id.contains_key(id));
        }
        // An older id of the same name keeps its binding: it must still be checked (and
        // denied) on use, never mistaken for an ephemeral key.
        self.by_name.insert(name.to_owned(), id);
        self.by_id.insert(
            id,
            Binding {
                name: name.to_owned(),
                created_ms,
            },
        );
    }

    /// Whether `id` is a slot key of this connection.
    pub(crate) fn is_slot_key(&self, id: u64) -> bool {
        self.by_id.contains_key(&id)
    }
}

fn persistent<'a>(ctx: &'a Ctx<'_, '_>) -> Result<&'a Persistent, Error> {
    Ok(ctx.shared.persistent.get()?.as_ref())
}

fn code(r: &Result<impl Sized, Error>) -> Result<(), ErrorCode> {
    r.as_ref().map(|_| ()).map_err(Error::code)
}

/// A key object from its storage serialisation, with its permission bits replaced by
/// `operations` (the caller's effective bits). The layout is `warden_crypto::Key`'s
/// documented storage layout: magic (4), version (1), name length (1), name, permission
/// bits (u32 LE), exportable (1), ...
fn restricted_key(storage: &[u8], operations: u32, algorithm: Algorithm) -> Result<Key, Error> {
    let bad = || Error::new(ErrorCode::OperationFailed, "stored key record is malformed");
    let name_len = usize::from(*storage.get(5).ok_or_else(bad)?);
    let at = 6 + name_len;
    let mut bytes = zeroize::Zeroizing::new(storage.to_vec());
    bytes
        .get_mut(at..at + 4)
        .ok_or_else(bad)?
        .copy_from_slice(&operations.to_le_bytes());
    let key = Key::from_storage_bytes(&bytes).map_err(|_| bad())?;
    // The sealed metadata and the key record must agree (both are authenticated, but by
    // different layers): refuse a key that is not what its slot says.
    if key.algorithm() != algorithm || key.permissions().bits() != operations {
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
    let caller = p.caller(&state.peer);
    let loaded = p.store.load_for(name, caller, 0);
    let (meta, rights, secret) = match loaded {
        Ok(v) => v,
        Err(e) => {
            let e = Error::from(e);
            p.audit(&state.peer, "slot.resolve", Some(name), None, Err(e.code()));
            return Err(e);
        }
    };
    if let Some(&id) = state.slots.by_name.get(name)
        && let Some(b) = state.slots.by_id.get(&id)
        && b.created_ms == meta.created_unix_ms
        && let Ok(k) = state.resources.guarded_key(id)
        && k.permissions().bits() == rights.operations
    {
        // Same id, one more guard: the client makes a handle per resolve and each releases
        // once, so one part of a process dropping its handle must not end another's.
        state.resources.add_guard(id)?;
        return state.out.reply(&Response::KeyCreated { key_id: id });
    }
    state.resources.check_quota()?;
    let key = restricted_key(&secret, rights.operations, meta.algorithm)?;
    drop(secret);
    let id = state.resources.insert_key(key, &*ctx.shared.provider)?;
    state
        .slots
        .bind(name, id, meta.created_unix_ms, &state.resources);
    p.audit(
        &state.peer,
        "slot.resolve",
        Some(name),
        Some(meta.algorithm),
        Ok(()),
    );
    state.out.reply(&Response::KeyCreated { key_id: id })
}

/// Stores `key` durably in a new slot owned by the caller.
fn store_key(p: &Persistent, state: &ConnState, name: &str, key: &Key) -> Result<SlotMeta, Error> {
    if warden_store::is_reserved_slot_name(name) {
        return Err(Error::new(
            ErrorCode::AccessDenied,
            "slot names starting with _warden. are reserved",
        ));
    }
    let secret = key.danger_storage_bytes()?;
    let new = NewSlot {
        name: name.to_owned(),
        owner_uid: state.peer.uid,
        algorithm: key.algorithm(),
        permissions: key.permissions().bits(),
        exportable: key.exportable(),
    };
    Ok(p.store.create_slot(&new, &secret)?)
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
        Some(name),
        Some(algorithm),
        code(&stored),
    );
    let meta = stored?;
    // The slot is durable now; the reply must not claim otherwise even if time ran out.
    let id = state.resources.insert_key(key, &*ctx.shared.provider)?;
    state
        .slots
        .bind(name, id, meta.created_unix_ms, &state.resources);
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
    let result = if state.slots.is_slot_key(key_id) {
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
        Some(name),
        Some(key.algorithm()),
        code(&result),
    );
    result?;
    state.out.reply(&Response::Done)
}

/// Delete (owner or admin).
pub(crate) fn delete(state: &mut ConnState, ctx: &Ctx<'_, '_>, name: &str) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let caller = p.caller(&state.peer);
    let algorithm = p
        .store
        .meta_for(name, caller)
        .ok()
        .map(|(m, _)| m.algorithm);
    let result = p.store.delete_for(name, caller).map_err(Error::from);
    p.audit(
        &state.peer,
        "slot.delete",
        Some(name),
        algorithm,
        code(&result),
    );
    result?;
    state.out.reply(&Response::Done)
}

/// Locks or unlocks a slot (owner or admin). A locked slot keeps its key but grants no use
/// (resolving it or using a resolved id fails `KeyOperationNotPermitted`) and its grants
/// are frozen until it is unlocked.
pub(crate) fn set_locked(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    name: &str,
    locked: bool,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let caller = p.caller(&state.peer);
    let result = p
        .store
        .set_locked_for(name, caller, locked)
        .map_err(Error::from);
    let algorithm = result.as_ref().ok().map(|m| m.algorithm);
    let op = if locked { "slot.lock" } else { "slot.unlock" };
    p.audit(&state.peer, op, Some(name), algorithm, code(&result));
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
    let mut metas = if only.is_empty() {
        p.store.list_for(caller)?
    } else {
        // One record read (and authenticated), not the whole store: `AccessDenied` exactly
        // as for a resolve, so the filter reveals nothing a listing would not.
        vec![p.store.meta_for(only, caller)?.0]
    };
    metas.sort_by(|a, b| a.name.cmp(&b.name));
    metas.retain(|m| start_after.is_empty() || m.name.as_str() > start_after);
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
    for m in &metas {
        let cost = entry_cost(m);
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
        .map(|m| {
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
        .map(|(m, g)| SlotEntry {
            name: &m.name,
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
    let caller = p.caller(&state.peer);
    let result = p.store.grant_for(name, caller, uid, permissions);
    let algorithm = result.as_ref().ok().map(|m| m.algorithm);
    let result = result.map(|_| ()).map_err(Error::from);
    p.audit(
        &state.peer,
        "slot.grant",
        Some(name),
        algorithm,
        code(&result),
    );
    result?;
    state.out.reply(&Response::Done)
}

/// Revoke (owner only).
pub(crate) fn revoke(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    name: &str,
    uid: u32,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let caller = p.caller(&state.peer);
    let result = p
        .store
        .revoke_for(name, caller, uid)
        .map(|_| ())
        .map_err(Error::from);
    p.audit(&state.peer, "slot.revoke", Some(name), None, code(&result));
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
        // Every new operation on a context, not only its creation: a reusable context bound
        // to a slot key must stop working once the right is revoked or the slot locked
        // (an operation already started may still finish its stream).
        Request::InitContext { context_id, .. } | Request::Process { context_id, .. } => (
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
        Request::ExportSecretKey { key_id } => ("key.export_secret", [Some(key_id), None]),
        Request::DeriveKey(ref r) => ("key.derive", [Some(r.base_key_id), None]),
        Request::AgreeKey(ref r) => ("key.agree", [Some(r.private_key_id), None]),
        Request::WrapKey(ref r) => ("key.wrap", [Some(r.kek_id), Some(r.target_key_id)]),
        Request::UnwrapKey(ref r) => ("key.unwrap", [Some(r.kek_id), None]),
        Request::Encapsulate(ref r) => ("key.encapsulate", [Some(r.public_key_id), None]),
        Request::Decapsulate(ref r) => ("key.decapsulate", [Some(r.private_key_id), None]),
        _ => ("", [None, None]),
    }
}

/// Re-checks the caller's rights on every slot key `req` uses, against the slot's current
/// authenticated metadata. Denials are audited and returned; `Ok(Some(_))` is a use to audit
/// once its outcome is known ([`audit_use`]). Requests without slot keys cost two lookups in
/// an (often empty) map.
pub(crate) fn check_uses(
    req: &Request<'_>,
    state: &ConnState,
    ctx: &Ctx<'_, '_>,
) -> Result<Option<SlotUse>, Error> {
    let (operation, ids) = used_keys(req, state);
    let mut first = None;
    for id in ids.into_iter().flatten() {
        let Some(binding) = state.slots.by_id.get(&id) else {
            continue;
        };
        let p = persistent(ctx)?;
        let caller = p.caller(&state.peer);
        let key = state.resources.live_key(id)?;
        let verdict = match p.store.meta_for(&binding.name, caller) {
            Err(e) => Err(Error::from(e)),
            Ok((meta, _)) if meta.created_unix_ms != binding.created_ms => Err(Error::new(
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
                &binding.name,
                Some(key.algorithm()),
                Err(e.code()),
            );
            return Err(e);
        }
        if first.is_none() {
            first = Some(SlotUse {
                operation,
                slot: binding.name.clone(),
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
    use warden_crypto::{AwsLcProvider, Provider};

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
        let k = restricted_key(&stored, P::SIGN.bits(), Algorithm::Ed25519).unwrap();
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
        assert!(restricted_key(&stored, P::SIGN.bits(), Algorithm::EcdsaP256Sha256).is_err());
        assert!(restricted_key(&stored[..8], P::SIGN.bits(), Algorithm::Ed25519).is_err());
        assert!(restricted_key(&[], 0, Algorithm::Ed25519).is_err());
    }

    #[test]
    fn export_counts_only_on_exportable_keys() {
        let k = key(Algorithm::Aes256Key, P::ENCRYPT | P::EXPORT, false);
        assert_eq!(needed_bits(&k), P::ENCRYPT.bits());
        let k = key(Algorithm::Aes256Key, P::ENCRYPT | P::EXPORT, true);
        assert_eq!(needed_bits(&k), (P::ENCRYPT | P::EXPORT).bits());
    }
}
