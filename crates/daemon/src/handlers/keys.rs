//! Key management: every operation that creates, exports or releases a key object.
//!
//! New keys enter the connection's resource table with the client guard's reference. A key
//! produced after the request's deadline is dropped, never handed out. A key spec naming a
//! slot (seed decision 12's "into slot" overloads) stores the new key durably in that slot
//! before the reply (see `slots::admit_into_slot`). Long kinds (RSA/SLH-DSA, large PBKDF2)
//! are served here too, but on a long-lane thread (see `lane`).
//!
//! Data plane (issue 13): import material and wrapped keys may come from a region range (read
//! once into private memory, wiped after), and exports and wraps may write into one (the
//! same checks first; the reply then names the bytes written).

use std::sync::Arc;

use warden_core::{
    AgreeKeyParams, Algorithm, DeriveKeyParams, EncapsulateParams, Error, ErrorCode,
    GenerateKeyParams, ImportKeyParams, KdfParameters, KeyFormat, KeyOperationPermission,
    UnwrapKeyParams, WrapKeyParams,
};
use warden_crypto::Key;
use warden_shm::Scratch;
use warden_wire::messages::{
    AgreeKey, Decapsulate, DeriveKey, Encapsulate, GenerateKey, ImportKey, Kdf, KeySpec, ShmSlice,
    UnwrapKey, WrapKey,
};
use warden_wire::{Payload, Response};

use crate::request::{ConnState, Ctx};

/// Validated attributes of a key to create.
struct Spec<'a> {
    algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
    /// Create the key directly in this persistent slot.
    slot: Option<&'a str>,
}

fn spec<'a>(s: &KeySpec<'a>) -> Result<Spec<'a>, Error> {
    if let Some(name) = s.slot {
        // Refuse a bad name before any key is made (whose namespace it may be in is
        // decided when it is stored: only the caller's own).
        warden_store::SlotRef::parse(name, 0)?;
    }
    Ok(Spec {
        algorithm: Algorithm::from_name(s.algorithm)?,
        permissions: KeyOperationPermission::from_bits(s.permissions)?,
        exportable: s.exportable,
        slot: s.slot,
    })
}

/// Adds a freshly made key to the table (and first to its slot, if the spec names one),
/// unless the request ran out of time meanwhile.
fn admit(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    key: Key,
    slot: Option<&str>,
) -> Result<u64, Error> {
    if let Some(name) = slot {
        return crate::handlers::slots::admit_into_slot(state, ctx, name, key);
    }
    ctx.deadline.check()?;
    // A refused token key is dropped here, which takes its objects out of the token.
    let charge = crate::token_keys::charge(&state.token_keys, &key)?;
    Ok(state
        .resources
        .insert_charged_key(key, None, &*ctx.shared.provider, charge)?)
}

fn created(state: &mut ConnState, key_id: u64) -> Result<(), Error> {
    state.out.reply(&Response::KeyCreated { key_id })
}

/// Longest key material or wrapped key taken from a region. Far above any key format served
/// (an RSA-16384 PKCS#8 is under 10 KiB); bounds the private copy a request can cause.
const MAX_KEY_INPUT: u64 = 64 << 10;

/// Key bytes a request carries: inline (the session arena's request copy, zeroed after the
/// request) or a private copy of region bytes, taken once so the provider parses bytes the
/// client can no longer change, and wiped on drop.
enum KeyInput<'a> {
    Inline(&'a [u8]),
    Copied(Scratch),
}

impl KeyInput<'_> {
    fn bytes(&self) -> &[u8] {
        match self {
            KeyInput::Inline(b) => b,
            KeyInput::Copied(s) => s.as_slice(),
        }
    }
}

fn key_input<'a>(state: &ConnState, p: &Payload<'a>) -> Result<KeyInput<'a>, Error> {
    match p {
        Payload::Inline(b) => Ok(KeyInput::Inline(b)),
        Payload::Shm(s) if s.len > MAX_KEY_INPUT => Err(Error::invalid_argument(
            "key bytes in a region above 64 KiB",
        )),
        Payload::Shm(s) => Ok(KeyInput::Copied(state.regions.copy_in(s)?)),
    }
}

/// Replies with key bytes: inline, or written into the region range the request named.
fn key_bytes(state: &mut ConnState, data: &[u8], output: Option<ShmSlice>) -> Result<(), Error> {
    match output {
        None => state.out.reply(&Response::KeyBytes { data }),
        Some(target) => {
            let written = state.regions.write_out(&target, data)?;
            state.out.reply(&Response::KeyWritten { written })
        }
    }
}

/// A key the client still holds a guard on (`ResourceNotFound` after release).
fn key(state: &ConnState, id: u64) -> Result<Arc<Key>, Error> {
    Ok(state.resources.guarded_key(id)?.clone())
}

pub(crate) fn generate(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    r: &GenerateKey<'_>,
) -> Result<(), Error> {
    let s = spec(&r.key)?;
    let mut b = GenerateKeyParams::builder()
        .algorithm(s.algorithm)
        .permissions(s.permissions)
        .exportable(s.exportable);
    if let Some(bits) = r.rsa_bits {
        b = b.rsa_bits(bits);
    }
    if let Some(len) = r.key_len {
        b = b.key_len(len);
    }
    let params = b.build()?;
    state.resources.check_quota()?;
    // An empty name is the default provider, like an absent one.
    let key = match r.provider.filter(|p| !p.is_empty()) {
        Some(name) => ctx.shared.provider.generate_key_in(name, &params)?,
        None => ctx.shared.provider.generate_key(&params)?,
    };
    let id = admit(state, ctx, key, s.slot)?;
    created(state, id)
}

pub(crate) fn import(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    r: &ImportKey<'_>,
) -> Result<(), Error> {
    let s = spec(&r.key)?;
    let params = ImportKeyParams::builder()
        .algorithm(s.algorithm)
        .permissions(s.permissions)
        .exportable(s.exportable)
        .format(r.format)
        .build()?;
    state.resources.check_quota()?;
    // Inline `material` lives in the session arena and is zeroed with it after the request;
    // region material is copied once into private memory, wiped when `material` drops.
    let material = key_input(state, &r.material)?;
    let key = ctx.shared.provider.import_key(&params, material.bytes())?;
    drop(material);
    let id = admit(state, ctx, key, s.slot)?;
    created(state, id)
}

pub(crate) fn export_public(
    state: &mut ConnState,
    key_id: u64,
    format: Option<KeyFormat>,
    output: Option<ShmSlice>,
) -> Result<(), Error> {
    let k = key(state, key_id)?;
    let data = k.public_key(format.unwrap_or_default())?;
    key_bytes(state, &data, output)
}

pub(crate) fn export_secret(
    state: &mut ConnState,
    key_id: u64,
    output: Option<ShmSlice>,
) -> Result<(), Error> {
    let k = key(state, key_id)?;
    // Checks the Export bit and the exportable flag, whatever the destination; the copy is
    // zeroized on drop and the reply buffer is scrubbed after sending. A region destination
    // is the caller's own memory: the secret goes where an inline reply would have put it.
    let secret = k.export_secret()?;
    key_bytes(state, &secret, output)
}

fn kdf(k: &Kdf<'_>) -> Result<KdfParameters, Error> {
    Ok(match *k {
        Kdf::Hkdf { hash, salt, info } => KdfParameters::Hkdf {
            hash: Algorithm::from_name(hash)?,
            salt: salt.to_vec(),
            info: info.to_vec(),
        },
        Kdf::Pbkdf2 { salt, iterations } => KdfParameters::Pbkdf2 {
            salt: salt.to_vec(),
            iterations,
        },
        Kdf::Tls12Prf { label, seed } => KdfParameters::Tls12Prf {
            label: label.to_vec(),
            seed: seed.to_vec(),
        },
        Kdf::Tls13ExpandLabel { label, context } => KdfParameters::Tls13ExpandLabel {
            label: label.to_vec(),
            context: context.to_vec(),
        },
        Kdf::Sp800108CounterHmac { label, context } => KdfParameters::Sp800108CounterHmac {
            label: label.to_vec(),
            context: context.to_vec(),
        },
        _ => return Err(Error::new(ErrorCode::UnsupportedAlgorithm, "unknown kdf")),
    })
}

pub(crate) fn derive(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    r: &DeriveKey<'_>,
) -> Result<(), Error> {
    let s = spec(&r.key)?;
    let base = key(state, r.base_key_id)?;
    let params = DeriveKeyParams::builder()
        .kdf(kdf(&r.kdf)?)
        .output_algorithm(s.algorithm)
        .permissions(s.permissions)
        .exportable(s.exportable)
        .output_len(r.output_len)
        .build()?;
    state.resources.check_quota()?;
    // PBKDF2's work factor is the caller's: the provider checks the deadline between chunks
    // and stops with OperationTimedOut rather than run seconds past it (issue 12), or
    // delay a shutdown by seconds.
    let expired = || ctx.deadline.expired() || ctx.shared.stopping();
    let derived = ctx
        .shared
        .provider
        .derive_key_within(&base, &params, &expired)?;
    let id = admit(state, ctx, derived, s.slot)?;
    created(state, id)
}

pub(crate) fn agree(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    r: &AgreeKey<'_>,
) -> Result<(), Error> {
    let s = spec(&r.key)?;
    let private = key(state, r.private_key_id)?;
    let params = AgreeKeyParams::builder()
        .algorithm(Algorithm::from_name(r.algorithm)?)
        .peer_public(r.peer_public.to_vec())
        .output_algorithm(s.algorithm)
        .permissions(s.permissions)
        .exportable(s.exportable)
        .build()?;
    state.resources.check_quota()?;
    let shared_key = ctx.shared.provider.agree_key(&private, &params)?;
    let id = admit(state, ctx, shared_key, s.slot)?;
    created(state, id)
}

pub(crate) fn wrap(state: &mut ConnState, ctx: &Ctx<'_, '_>, r: &WrapKey<'_>) -> Result<(), Error> {
    let kek = key(state, r.kek_id)?;
    let target = key(state, r.target_key_id)?;
    let params = WrapKeyParams::new(Algorithm::from_name(r.algorithm)?)?;
    let wrapped = ctx.shared.provider.wrap_key(&kek, &target, &params)?;
    ctx.deadline.check()?;
    key_bytes(state, &wrapped, r.output)
}

pub(crate) fn unwrap(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    r: &UnwrapKey<'_>,
) -> Result<(), Error> {
    let s = spec(&r.key)?;
    let kek = key(state, r.kek_id)?;
    let params = UnwrapKeyParams::builder()
        .algorithm(Algorithm::from_name(r.algorithm)?)
        .unwrapped_algorithm(s.algorithm)
        .permissions(s.permissions)
        .exportable(s.exportable)
        .build()?;
    state.resources.check_quota()?;
    // Region bytes are read once: the integrity check and the decryption see the same bytes.
    let wrapped = key_input(state, &r.wrapped)?;
    let unwrapped = ctx
        .shared
        .provider
        .unwrap_key(&kek, wrapped.bytes(), &params)?;
    drop(wrapped);
    let id = admit(state, ctx, unwrapped, s.slot)?;
    created(state, id)
}

fn kem_params(kem: Algorithm, s: &Spec) -> Result<EncapsulateParams, Error> {
    EncapsulateParams::builder()
        .algorithm(kem)
        .output_algorithm(s.algorithm)
        .permissions(s.permissions)
        .exportable(s.exportable)
        .build()
}

pub(crate) fn encapsulate(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    r: &Encapsulate<'_>,
) -> Result<(), Error> {
    let s = spec(&r.key)?;
    let public = key(state, r.public_key_id)?;
    let params = kem_params(public.algorithm(), &s)?;
    state.resources.check_quota()?;
    let (ciphertext, secret) = ctx.shared.provider.encapsulate(&public, &params)?;
    let key_id = admit(state, ctx, secret, s.slot)?;
    state.out.reply(&Response::Encapsulated {
        ciphertext: &ciphertext,
        key_id,
    })
}

pub(crate) fn decapsulate(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    r: &Decapsulate<'_>,
) -> Result<(), Error> {
    let s = spec(&r.key)?;
    let private = key(state, r.private_key_id)?;
    let params = kem_params(private.algorithm(), &s)?;
    state.resources.check_quota()?;
    let secret = ctx
        .shared
        .provider
        .decapsulate(&private, r.ciphertext, &params)?;
    let id = admit(state, ctx, secret, s.slot)?;
    created(state, id)
}

/// Drops the guard's reference; the key lives on while contexts still use it.
pub(crate) fn release(state: &mut ConnState, key_id: u64) -> Result<(), Error> {
    state.resources.release_key(key_id)?;
    state.out.reply(&Response::Done)
}
