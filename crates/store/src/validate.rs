//! Input validation shared by every entry point.

use warden_core::KeyOperationPermission;

use crate::error::StoreError;

/// Longest slot name accepted.
pub const MAX_SLOT_NAME_LEN: usize = 64;
/// Every permission bit the protocol defines (Encrypt 0x1 ... Import 0x400, CallerNonce 0x800).
pub const ALL_PERMISSION_BITS: u32 = KeyOperationPermission::ALL.bits();
/// The Export permission bit.
pub const EXPORT_BIT: u32 = KeyOperationPermission::EXPORT.bits();

/// Prefix of slot names the daemon keeps for itself (e.g. its attestation key). Callers can
/// neither see, use, create nor delete such slots through the caller-aware API.
pub const RESERVED_SLOT_PREFIX: &str = "_warden.";

/// Whether `name` is reserved for the daemon's own keys.
pub fn is_reserved_slot_name(name: &str) -> bool {
    name.starts_with(RESERVED_SLOT_PREFIX)
}

/// Checks a slot name against `[A-Za-z0-9._-]{1,64}`.
pub fn validate_slot_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.len() > MAX_SLOT_NAME_LEN {
        return Err(StoreError::InvalidArgument(
            "slot name must be 1 to 64 characters",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(StoreError::InvalidArgument(
            "slot name may only contain A-Z a-z 0-9 . _ -",
        ));
    }
    Ok(())
}

pub(crate) fn validate_permissions(bits: u32) -> Result<(), StoreError> {
    KeyOperationPermission::from_bits(bits)
        .map(|_| ())
        .map_err(|_| StoreError::InvalidArgument("unknown permission bits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names() {
        for ok in ["a", "A-z_0.9", &"x".repeat(64), "..", "-"] {
            assert!(validate_slot_name(ok).is_ok(), "{ok:?} should be accepted");
        }
        for bad in [
            "",
            &"x".repeat(65),
            "a b",
            "a/b",
            "ä",
            "a\0",
            "slot:1",
            "a\n",
        ] {
            assert!(
                matches!(validate_slot_name(bad), Err(StoreError::InvalidArgument(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn permissions() {
        assert!(validate_permissions(0).is_ok());
        assert!(validate_permissions(ALL_PERMISSION_BITS).is_ok());
        assert!(validate_permissions(0x800).is_ok());
        assert!(validate_permissions(0x1000).is_err());
        assert!(validate_permissions(u32::MAX).is_err());
    }
}
