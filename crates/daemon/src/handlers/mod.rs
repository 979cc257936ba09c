//! Request handlers, one module per family of opcodes.
//!
//! `slots` serves persistent key slots (opcodes 0x04xx and `KeySpec::slot`, backed by
//! `warden-store`); `permits` serves policies, the trust store and permit verification
//! (0x05xx, backed by `warden-permits`), whose paged listings are in `permit_lists`;
//! `certs` serves certificate slots, CSRs and self-signed certificates and `cert_stores`
//! trust stores, CRLs and chain verification (0x07xx, on `warden-cert`); `regions` serves
//! shared-memory regions (0x06xx, on `warden-shm`).

pub(crate) mod cert_stores;
pub(crate) mod certs;
pub(crate) mod contexts;
pub(crate) mod keys;
pub(crate) mod permit_lists;
pub(crate) mod permits;
pub(crate) mod regions;
pub(crate) mod session;
pub(crate) mod slots;

use warden_core::Error;

use crate::request::Ctx;
use crate::state::Persistent;

/// The daemon's persistent state (store, permit service) for handlers that need it;
/// `ctx.shared.persistent` answers the typed error when it could not be opened.
pub(super) fn persistent<'a>(ctx: &'a Ctx<'_, '_>) -> Result<&'a Persistent, Error> {
    Ok(ctx.shared.persistent.get()?.as_ref())
}
