//! Request handlers, one module per family of opcodes.
//!
//! Reserved for later issues: `slots` (persistent key slots, resolve/persist/list/grant —
//! opcodes 0x04xx, backed by `warden-store`; `KeySpec::slot` is refused until then) and
//! `permits` (0x05xx, policy sandbox and action permits).

pub(crate) mod contexts;
pub(crate) mod keys;
pub(crate) mod session;
