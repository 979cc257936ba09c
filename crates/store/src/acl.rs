//! Access decisions over a slot's metadata.
//!
//! The rules (issue 5): the owner may use every permission bit of the slot; a grantee may use
//! the granted subset (always intersected with the slot's bits, so a stale grant can never
//! exceed them); admins may see and delete any slot but gain no operation bits from being
//! admins, so they can never read the secret of a non-exportable key. Export is removed from
//! everyone on a non-exportable key, and a locked slot grants nothing.

use crate::record::{SlotMeta, SlotState};
use crate::validate::EXPORT_BIT;

/// What a caller may do with one slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotAccess {
    /// Operation permission bits the caller may use.
    pub operations: u32,
    /// Whether the slot appears in the caller's listing and resolves for it at all. A caller
    /// for whom this is false must get `AccessDenied`, exactly as for a missing slot.
    pub visible: bool,
    /// Whether the caller may delete or lock/unlock the slot (owner or admin).
    pub manage: bool,
    /// Whether the caller may grant and revoke (owner only).
    pub grant: bool,
}

/// The caller's rights on a slot.
pub fn access(meta: &SlotMeta, caller_uid: u32, is_admin: bool) -> SlotAccess {
    let is_owner = caller_uid == meta.owner_uid;
    let granted = meta.grants.get(&caller_uid).copied();
    let mut operations = if is_owner {
        meta.permissions
    } else {
        granted.unwrap_or(0) & meta.permissions
    };
    if !meta.exportable {
        operations &= !EXPORT_BIT;
    }
    if meta.state == SlotState::Locked {
        operations = 0;
    }
    SlotAccess {
        operations,
        visible: is_owner || granted.is_some() || is_admin,
        manage: is_owner || is_admin,
        grant: is_owner,
    }
}

/// Operation bits `caller_uid` may use on the slot (see the module docs for the rules;
/// `is_admin` adds no bits: admins manage slots, they do not use other users' keys).
pub fn effective_permissions(meta: &SlotMeta, caller_uid: u32, is_admin: bool) -> u32 {
    access(meta, caller_uid, is_admin).operations
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn meta(exportable: bool) -> SlotMeta {
        SlotMeta {
            name: "k".into(),
            owner_uid: 1000,
            algorithm: warden_core::Algorithm::Aes256Key,
            permissions: 0x3 | EXPORT_BIT,
            exportable,
            grants: BTreeMap::from([(2000, 0x1 | EXPORT_BIT), (3000, 0x1 | 0x10)]),
            state: SlotState::Occupied,
            locked_by_admin: false,
            created_unix_ms: 0,
        }
    }

    #[test]
    fn owner_grantee_stranger_admin() {
        let m = meta(true);
        assert_eq!(effective_permissions(&m, 1000, false), 0x3 | EXPORT_BIT);
        assert_eq!(effective_permissions(&m, 2000, false), 0x1 | EXPORT_BIT);
        // A stored grant wider than the slot is clipped to the slot's bits.
        assert_eq!(effective_permissions(&m, 3000, false), 0x1);
        assert_eq!(effective_permissions(&m, 4000, false), 0);
        assert_eq!(effective_permissions(&m, 0, true), 0);
        let a = access(&m, 0, true);
        assert!(a.visible && a.manage && !a.grant);
        let s = access(&m, 4000, false);
        assert!(!s.visible && !s.manage && !s.grant);
        let g = access(&m, 2000, false);
        assert!(g.visible && !g.manage && !g.grant);
        let o = access(&m, 1000, false);
        assert!(o.visible && o.manage && o.grant);
    }

    #[test]
    fn non_exportable_strips_export_for_everyone() {
        let m = meta(false);
        for (uid, admin) in [(1000, false), (1000, true), (2000, false), (0, true)] {
            assert_eq!(effective_permissions(&m, uid, admin) & EXPORT_BIT, 0);
        }
        assert_eq!(effective_permissions(&m, 1000, false), 0x3);
    }

    #[test]
    fn locked_grants_nothing_but_stays_visible() {
        let mut m = meta(true);
        m.state = SlotState::Locked;
        assert_eq!(effective_permissions(&m, 1000, false), 0);
        assert_eq!(effective_permissions(&m, 2000, false), 0);
        assert!(access(&m, 1000, false).visible);
    }
}
