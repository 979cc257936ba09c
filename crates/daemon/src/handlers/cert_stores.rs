//! Verification trust stores, CRLs and chain verification (opcodes
//! 0x0720..=0x0730).
//!
//! A trust store is a named set of anchors (and the CRLs admitted for it). `@name` is a
//! global store: every uid may verify against it, only admins change it. Any other name is a
//! per-owner store like a slot (`name` is the caller's own, `uid/name` another's): only its
//! owner and admins use or change it, and a caller with no right gets `AccessDenied` whether
//! it exists or not. Entries live in the records namespace [`NAMESPACE`] keyed
//! `"<owner>/<store>/a/<sha256>"` (anchors) and `"<owner>/<store>/c/<sha256 of issuer>"`
//! (one CRL per issuer); the owner of a global store is `g`.

use warden_cert::{CertInfo, Usage};
use warden_core::{Error, ErrorCode};
use warden_store::{Caller, SlotRef};
use warden_wire::Response;
use warden_wire::messages::CertCall;

use crate::handlers::certs::{Listed, audited, listed_cost, page, readable_der, reply_list};
use crate::handlers::persistent;
use crate::request::{ConnState, Ctx};
use crate::state::Persistent;

/// Records namespace of trust stores.
pub(crate) const NAMESPACE: &str = "warden.truststores";
/// Entries (anchors + CRLs) one store may hold.
const MAX_ENTRIES_PER_STORE: usize = 256;
/// Entries one uid's stores may hold together.
const MAX_ENTRIES_PER_OWNER: usize = 256;

/// A parsed store address.
struct StoreRef {
    /// `None` for a global store.
    owner: Option<u32>,
    /// Key prefix of its entries (`"<owner>/<store>/"`).
    prefix: String,
}

fn parse(state: &ConnState, text: &str) -> Result<StoreRef, Error> {
    if let Some(name) = text.strip_prefix('@') {
        warden_store::validate_slot_name(name)?;
        return Ok(StoreRef {
            owner: None,
            prefix: format!("g/{name}/"),
        });
    }
    let s = SlotRef::parse(text, state.peer.uid)?;
    Ok(StoreRef {
        owner: Some(s.owner),
        prefix: format!("{}/{}/", s.owner, s.name),
    })
}

/// Whether `caller` may use (`manage == false`) or change the store; `AccessDenied` if not.
fn check(store: &StoreRef, caller: Caller, manage: bool) -> Result<(), Error> {
    let ok = match store.owner {
        None => caller.is_admin || !manage,
        Some(owner) => caller.is_admin || owner == caller.uid,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::AccessDenied, "access denied"))
    }
}

fn entries(p: &Persistent, prefix: &str) -> Result<Vec<warden_store::RecordEntry>, Error> {
    Ok(p.store.records(NAMESPACE)?.scan(prefix.as_bytes())?)
}

/// Room for one more entry in the store and its owner's stores.
fn check_room(p: &Persistent, store: &StoreRef, replacing: bool) -> Result<(), Error> {
    if replacing {
        return Ok(());
    }
    let full = |what| Error::new(ErrorCode::QuotaExceeded, what);
    if entries(p, &store.prefix)?.len() >= MAX_ENTRIES_PER_STORE {
        return Err(full("a trust store holds at most 256 anchors and crls"));
    }
    if let Some(owner) = store.owner
        && entries(p, &format!("{owner}/"))?.len() >= MAX_ENTRIES_PER_OWNER
    {
        return Err(full(
            "a uid's trust stores hold at most 256 entries together",
        ));
    }
    Ok(())
}

/// CertStoreAdd: `der` becomes an anchor of the store (created by its first anchor).
pub(crate) fn add(state: &mut ConnState, ctx: &Ctx<'_, '_>, c: &CertCall<'_>) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = (|| {
        let store = parse(state, c.store)?;
        check(&store, p.caller(&state.peer), true)?;
        CertInfo::parse(c.der)?;
        let key = format!("{}a/{}", store.prefix, warden_cert::fingerprint(c.der));
        let records = p.store.records(NAMESPACE)?;
        let exists = records.get(key.as_bytes())?.is_some();
        check_room(p, &store, exists)?;
        records.put(key.as_bytes(), c.der)?;
        Ok(())
    })();
    audited(p, state, "truststore.add", c.store, r)?;
    state.out.reply(&Response::Done)
}

/// CertStoreRemove: one entry (`name` as listed, `a/<sha256>` or `c/<sha256>`), or the
/// whole store when `name` is empty.
pub(crate) fn remove(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = (|| {
        let store = parse(state, c.store)?;
        check(&store, p.caller(&state.peer), true)?;
        let records = p.store.records(NAMESPACE)?;
        let gone = if c.name.is_empty() {
            records.remove_prefix(store.prefix.as_bytes())? > 0
        } else {
            records.remove(format!("{}{}", store.prefix, c.name).as_bytes())?
        };
        if gone {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::ResourceNotFound,
                "no such trust store entry",
            ))
        }
    })();
    audited(p, state, "truststore.remove", c.store, r)?;
    state.out.reply(&Response::Done)
}

/// CertStoreList: the store's anchors and CRLs.
pub(crate) fn list(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let store = parse(state, c.store)?;
    check(&store, p.caller(&state.peer), false)?;
    let owner_uid = store.owner.unwrap_or(0);
    let mut items: Vec<(String, Listed)> = entries(p, &store.prefix)?
        .into_iter()
        .filter_map(|(k, v)| {
            let name = String::from_utf8(k)
                .ok()?
                .strip_prefix(&store.prefix)?
                .to_owned();
            let anchor = name.starts_with("a/");
            let listed = Listed {
                owner_uid,
                key_slot: String::new(),
                info: if anchor {
                    CertInfo::parse(&v).ok()
                } else {
                    None
                },
                grants: Vec::new(),
                kind: if anchor { "anchor" } else { "crl" },
                crl: if anchor {
                    None
                } else {
                    warden_cert::crl_summary(&v).ok()
                },
            };
            Some((name, listed))
        })
        .collect();
    let more = page(ctx, &mut items, c.start_after, c.limit, listed_cost);
    reply_list(state, &items, more)
}

/// A store's anchors and CRLs (DER).
#[derive(Default)]
struct Material {
    anchors: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
}

/// The anchors and CRLs of a store.
fn material(p: &Persistent, store: &StoreRef) -> Result<Material, Error> {
    let mut m = Material::default();
    for (k, v) in entries(p, &store.prefix)? {
        match k.get(store.prefix.len()..) {
            Some([b'a', b'/', ..]) => m.anchors.push(v),
            Some([b'c', b'/', ..]) => m.crls.push(v),
            _ => {}
        }
    }
    Ok(m)
}

/// CertCrlImport: a CRL signed by an anchor of the store (or by the intermediate CA given in
/// `chain`, itself signed by an anchor) replaces the store's CRL from the same issuer,
/// unless that one is newer.
pub(crate) fn crl_import(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let r = (|| {
        let store = parse(state, c.store)?;
        check(&store, p.caller(&state.peer), true)?;
        let chain = c.chain_certs()?;
        if chain.len() > 1 {
            return Err(Error::invalid_argument(
                "a crl names at most one intermediate issuer",
            ));
        }
        let anchors = material(p, &store)?.anchors;
        let info = warden_cert::check_crl(c.der, &anchors, chain.first().copied())?;
        let key = format!(
            "{}c/{}",
            store.prefix,
            warden_cert::fingerprint(&info.issuer_der)
        );
        let records = p.store.records(NAMESPACE)?;
        let existing = records.get(key.as_bytes())?;
        if let Some(old) = &existing
            && let Ok((_, this)) = warden_cert::crl_summary(old)
            && this > info.this_update
        {
            // Rolling revocation back to an older list would un-revoke certificates.
            return Err(Error::new(
                ErrorCode::CrlImportFailed,
                "the store holds a newer crl from this issuer",
            ));
        }
        check_room(p, &store, existing.is_some())?;
        records.put(key.as_bytes(), c.der)?;
        Ok(())
    })();
    audited(p, state, "truststore.crl_import", c.store, r)?;
    state.out.reply(&Response::Done)
}

/// CertVerify: the leaf (`der`, or certificate slot `name`) through `chain` to an anchor of
/// the store at `time_unix` (0 = now), with the EKU / keyUsage asked for, against the
/// store's CRLs. `Done`, or the certificate error that says why not.
pub(crate) fn verify(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    c: &CertCall<'_>,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let store = parse(state, c.store)?;
    check(&store, p.caller(&state.peer), false)?;
    let leaf = match (c.der.is_empty(), c.name.is_empty()) {
        (false, true) => c.der.to_vec(),
        (true, false) => readable_der(p, state, c.name)?,
        _ => {
            return Err(Error::invalid_argument(
                "give the leaf as der or as a certificate slot name, not both",
            ));
        }
    };
    let chain: Vec<Vec<u8>> = c.chain_certs()?.into_iter().map(<[u8]>::to_vec).collect();
    if chain.len() > 16 {
        return Err(Error::invalid_argument("at most 16 intermediates"));
    }
    let Material { anchors, crls } = material(p, &store)?;
    let at = if c.time_unix == 0 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    } else {
        c.time_unix
    };
    let usage = Usage {
        eku: (!c.eku.is_empty()).then_some(c.eku),
        key_usage: u16::try_from(c.key_usage)
            .map_err(|_| Error::invalid_argument("key usage has 9 bits"))?,
    };
    ctx.deadline.check()?;
    warden_cert::verify_chain(&anchors, &leaf, &chain, &crls, at, &usage)?;
    state.out.reply(&Response::Done)
}
