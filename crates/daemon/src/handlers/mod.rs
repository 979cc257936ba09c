//! Request handlers, one module per family of opcodes.
//!
//! Reserved for later issues: `slots` (persistent key slots, resolve/persist/list/grant —
//! opcodes 0x04xx, backed by `warden-store`), `policy`/`permits` (0x05xx).

pub(crate) mod session;
