//! The per-connection slot resolve cache (a leaf: `ConnState` holds it, the slot handlers
//! fill it).

use std::collections::HashMap;

use warden_store::SlotRef;

/// Stale entries of the resolve cache are pruned once a connection holds this many.
const PRUNE_AT: usize = 256;

/// Per-connection cache of the last id each slot resolved to, so a repeated resolve hands out
/// the same id with one more guard. Only a cache: which slot a key belongs to lives in the
/// key's own table entry ([`crate::resources::SlotOrigin`]), so pruning here can never make a slot key look
/// ephemeral.
#[derive(Default)]
pub(crate) struct SlotBindings {
    by_slot: HashMap<(u32, Box<str>), u64>,
}

impl SlotBindings {
    pub(crate) fn bind(&mut self, slot: SlotRef<'_>, id: u64, state: &crate::provider::Resources) {
        if self.by_slot.len() >= PRUNE_AT {
            self.by_slot.retain(|_, id| state.guarded_key(*id).is_ok());
        }
        self.by_slot.insert((slot.owner, slot.name.into()), id);
    }

    pub(crate) fn cached(&self, slot: SlotRef<'_>) -> Option<u64> {
        self.by_slot
            .get(&(slot.owner, Box::from(slot.name)))
            .copied()
    }
}
