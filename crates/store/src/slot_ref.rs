//! Slot addresses: per-owner namespaces.
//!
//! Every slot lives in the namespace of the uid that owns it. A caller addresses its own
//! slots by bare name (`backup.key`) and anyone else's only with the owner spelled out
//! (`1000/backup.key`), so a name a caller types can never silently resolve to a key that
//! another uid created (no first-come squatting of global names). Slot names cannot contain
//! `/`, so both forms parse unambiguously. In the database a slot is keyed `"<owner>/<name>"`,
//! which also keeps each owner's slots contiguous (cheap per-owner counting for quotas).

use std::fmt;

use crate::error::StoreError;
use crate::validate::validate_slot_name;

/// Separates the owner uid from the name in a qualified slot address.
pub const OWNER_SEPARATOR: char = '/';

/// A slot's address: owner uid and name inside the owner's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotRef<'a> {
    /// The owning uid (the namespace).
    pub owner: u32,
    /// The name inside that namespace (`[A-Za-z0-9._-]{1,64}`, validated on use).
    pub name: &'a str,
}

impl<'a> SlotRef<'a> {
    /// The slot `name` in `owner`'s namespace.
    pub const fn new(owner: u32, name: &'a str) -> Self {
        Self { owner, name }
    }

    /// Parses what a caller wrote: a bare `name` means the caller's own namespace
    /// (`caller_uid`); `uid/name` names another owner's slot explicitly. The uid is plain
    /// decimal (no sign, no leading zeros); the name must pass [`validate_slot_name`].
    pub fn parse(text: &'a str, caller_uid: u32) -> Result<Self, StoreError> {
        let slot = match text.split_once(OWNER_SEPARATOR) {
            None => Self::new(caller_uid, text),
            Some((uid, name)) => Self::new(parse_uid(uid)?, name),
        };
        validate_slot_name(slot.name)?;
        Ok(slot)
    }

    /// The database key, `"<owner>/<name>"`.
    pub(crate) fn key(&self) -> String {
        self.to_string()
    }

    /// How `viewer` addresses this slot: its bare name in the viewer's own namespace,
    /// `owner/name` everywhere else (what listings show, so every listed name can be used
    /// as it is).
    pub fn display_for(&self, viewer: u32) -> String {
        if self.owner == viewer {
            self.name.to_owned()
        } else {
            self.to_string()
        }
    }
}

impl fmt::Display for SlotRef<'_> {
    /// The fully qualified form, `owner/name` (audit lines, database keys).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{OWNER_SEPARATOR}{}", self.owner, self.name)
    }
}

fn parse_uid(text: &str) -> Result<u32, StoreError> {
    let bad = StoreError::InvalidArgument("a slot owner must be a decimal uid (uid/name)");
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(bad);
    }
    text.parse().map_err(|_| bad)
}

/// The first and one-past-last database keys of `owner`'s namespace (`'0'` follows `'/'`).
pub(crate) fn owner_range(owner: u32) -> (String, String) {
    (format!("{owner}/"), format!("{owner}0"))
}

/// Splits a database key back into its address (`None` for a malformed key).
pub(crate) fn split_key(key: &str) -> Option<SlotRef<'_>> {
    let (uid, name) = key.split_once(OWNER_SEPARATOR)?;
    Some(SlotRef::new(parse_uid(uid).ok()?, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_are_the_callers_own() {
        assert_eq!(
            SlotRef::parse("backup.key", 1000).unwrap(),
            SlotRef::new(1000, "backup.key")
        );
        assert_eq!(
            SlotRef::parse("2000/backup.key", 1000).unwrap(),
            SlotRef::new(2000, "backup.key")
        );
        assert_eq!(SlotRef::parse("0/k", 5).unwrap(), SlotRef::new(0, "k"));
        assert_eq!(
            SlotRef::parse("4294967295/k", 5).unwrap(),
            SlotRef::new(u32::MAX, "k")
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "/k",
            "1000/",
            "x/k",
            "+1/k",
            "01/k",
            "-1/k",
            "4294967296/k",
            "1/2/k",
            "1 /k",
            "1/a b",
        ] {
            assert!(
                matches!(SlotRef::parse(bad, 7), Err(StoreError::InvalidArgument(_))),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn display_and_keys_round_trip() {
        let s = SlotRef::new(1000, "a.b");
        assert_eq!(s.key(), "1000/a.b");
        assert_eq!(split_key(&s.key()), Some(s));
        assert_eq!(s.display_for(1000), "a.b");
        assert_eq!(s.display_for(2000), "1000/a.b");
        let (lo, hi) = owner_range(1000);
        assert!(lo.as_str() <= "1000/a" && "1000/zzz" < hi.as_str());
        assert!(!("10000/a" >= lo.as_str() && "10000/a" < hi.as_str()));
        assert!(!("100/a" >= lo.as_str() && "100/a" < hi.as_str()));
        assert_eq!(split_key("no-separator"), None);
    }
}
