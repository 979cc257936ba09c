//! Typed lists of the management replies (slots, policies, trusted issuers).
//!
//! Like [`crate::messages::ErrorCounts`], a list is either a slice the encoder reads from, or
//! a view over the received vector; every entry is validated when the reply is decoded, so
//! iteration never meets a FlatBuffers error.

use crate::error::WireError;
use crate::generated::warden::wire as g;

/// One slot, as the caller may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotEntry<'a> {
    /// Slot name.
    pub name: &'a str,
    /// Algorithm name of its key.
    pub algorithm: &'a str,
    /// Owner uid.
    pub owner_uid: u32,
    /// The slot's permission bits.
    pub permissions: u32,
    /// What the caller may do with it.
    pub effective: u32,
    /// Whether the secret may be exported.
    pub exportable: bool,
    /// Creation time, Unix milliseconds.
    pub created_unix_ms: u64,
    /// Packed little-endian `(uid: u32, permissions: u32)` pairs; see [`SlotEntry::grants`].
    pub grants_packed: &'a [u8],
    /// Locked: the key stays stored but grants no use (since 1.1; a 1.0 daemon never sets it).
    pub locked: bool,
}

impl<'a> SlotEntry<'a> {
    /// The grants as `(uid, permissions)` pairs (an incomplete trailing pair is ignored).
    pub fn grants(&self) -> impl Iterator<Item = (u32, u32)> + 'a {
        self.grants_packed.chunks_exact(8).map(|c| {
            let (uid, perms) = c.split_at(4);
            (le_u32(uid), le_u32(perms))
        })
    }
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b.get(..4).unwrap_or(&[0; 4]));
    u32::from_le_bytes(a)
}

/// Packs grants for [`SlotEntry::grants_packed`].
pub fn pack_grants(grants: &[(u32, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(grants.len() * 8);
    for (uid, perms) in grants {
        out.extend_from_slice(&uid.to_le_bytes());
        out.extend_from_slice(&perms.to_le_bytes());
    }
    out
}

/// One loaded policy module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyEntry<'a> {
    /// The action it decides on.
    pub action: &'a str,
    /// Host-bridge profile.
    pub profile: &'a str,
    /// SHA-256 of the module.
    pub sha256: &'a [u8],
    /// Module size in bytes.
    pub size: u64,
}

/// One trusted permit issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustEntry<'a> {
    /// Issuer name.
    pub issuer: &'a str,
    /// Signature algorithm name.
    pub algorithm: &'a str,
    /// Raw public key.
    pub public_key: &'a [u8],
}

/// One certificate slot or trust-store entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertEntry<'a> {
    /// Slot name as the caller addresses it, or the store entry's id.
    pub name: &'a str,
    /// Owner uid.
    pub owner_uid: u32,
    /// Bound key slot (empty: none).
    pub key_slot: &'a str,
    /// Subject (RFC 4514); a CRL's issuer for CRL entries.
    pub subject: &'a str,
    /// Issuer (RFC 4514).
    pub issuer: &'a str,
    /// notBefore (CRL: thisUpdate), Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds (0 for CRLs).
    pub not_after: i64,
    /// Packed little-endian u32 grantee uids (owner and admins only).
    pub grants_packed: &'a [u8],
    /// `cert`, `anchor` or `crl`.
    pub kind: &'a str,
}

impl<'a> CertEntry<'a> {
    /// The grantees.
    pub fn grants(&self) -> impl Iterator<Item = u32> + 'a {
        self.grants_packed.chunks_exact(4).map(le_u32)
    }
}

fn val<T>(r: planus::Result<T>) -> Result<T, WireError> {
    r.map_err(|_| WireError::MalformedBody("invalid list entry"))
}

fn text<'a>(r: planus::Result<Option<&'a str>>, f: &'static str) -> Result<&'a str, WireError> {
    val(r)?.ok_or(WireError::MissingField(f))
}

fn bytes(r: planus::Result<Option<&[u8]>>) -> Result<&[u8], WireError> {
    Ok(val(r)?.unwrap_or(&[]))
}

pub(crate) fn read_slot(r: g::SlotEntryRef<'_>) -> Result<SlotEntry<'_>, WireError> {
    Ok(SlotEntry {
        name: text(r.name(), "name")?,
        algorithm: text(r.algorithm(), "algorithm")?,
        owner_uid: val(r.owner_uid())?,
        permissions: val(r.permissions())?,
        effective: val(r.effective())?,
        exportable: val(r.exportable())?,
        created_unix_ms: val(r.created_unix_ms())?,
        grants_packed: bytes(r.grants())?,
        locked: val(r.locked())?,
    })
}

pub(crate) fn read_policy(r: g::PolicyEntryRef<'_>) -> Result<PolicyEntry<'_>, WireError> {
    Ok(PolicyEntry {
        action: text(r.action(), "action")?,
        profile: text(r.profile(), "profile")?,
        sha256: bytes(r.sha256())?,
        size: val(r.size())?,
    })
}

pub(crate) fn read_cert(r: g::CertEntryRef<'_>) -> Result<CertEntry<'_>, WireError> {
    Ok(CertEntry {
        name: text(r.name(), "name")?,
        owner_uid: val(r.owner_uid())?,
        key_slot: val(r.key_slot())?.unwrap_or(""),
        subject: val(r.subject())?.unwrap_or(""),
        issuer: val(r.issuer())?.unwrap_or(""),
        not_before: val(r.not_before())?,
        not_after: val(r.not_after())?,
        grants_packed: bytes(r.grants())?,
        kind: val(r.kind())?.unwrap_or(""),
    })
}

pub(crate) fn read_trust(r: g::TrustEntryRef<'_>) -> Result<TrustEntry<'_>, WireError> {
    Ok(TrustEntry {
        issuer: text(r.issuer(), "issuer")?,
        algorithm: text(r.algorithm(), "algorithm")?,
        public_key: bytes(r.public_key())?,
    })
}

macro_rules! entry_list {
    ($(#[$doc:meta])* $list:ident, $item:ident, $gref:ident, $read:path) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $list<'a>(ListRepr<'a, $item<'a>, g::$gref<'a>>);

        impl<'a> $list<'a> {
            /// A list to encode.
            pub const fn from_slice(s: &'a [$item<'a>]) -> Self {
                $list(ListRepr::Slice(s))
            }

            /// A view over a received vector; every entry is validated here.
            pub(crate) fn from_wire(
                v: planus::Vector<'a, planus::Result<g::$gref<'a>>>,
            ) -> Result<Self, WireError> {
                for r in v.iter() {
                    $read(val(r)?)?;
                }
                Ok($list(ListRepr::Wire(v)))
            }

            /// Number of entries.
            pub fn len(&self) -> usize {
                match self.0 {
                    ListRepr::Slice(s) => s.len(),
                    ListRepr::Wire(v) => v.len(),
                }
            }

            /// Whether the list is empty.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// The entries.
            pub fn iter(&self) -> impl Iterator<Item = $item<'a>> + 'a {
                let (slice, wire) = match self.0 {
                    ListRepr::Slice(s) => (Some(s.iter().copied()), None),
                    // Validated in `from_wire`, so nothing is dropped here.
                    ListRepr::Wire(v) => (
                        None,
                        Some(v.iter().filter_map(|r| r.ok().and_then(|r| $read(r).ok()))),
                    ),
                };
                slice.into_iter().flatten().chain(wire.into_iter().flatten())
            }
        }

        impl Default for $list<'_> {
            fn default() -> Self {
                $list(ListRepr::Slice(&[]))
            }
        }

        impl PartialEq for $list<'_> {
            fn eq(&self, other: &Self) -> bool {
                self.len() == other.len() && self.iter().eq(other.iter())
            }
        }

        impl Eq for $list<'_> {}

        impl core::fmt::Debug for $list<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }
    };
}

#[derive(Clone, Copy)]
enum ListRepr<'a, T, R> {
    Slice(&'a [T]),
    Wire(planus::Vector<'a, planus::Result<R>>),
}

entry_list!(
    /// The reply to `SlotList`.
    SlotEntries, SlotEntry, SlotEntryRef, read_slot
);
entry_list!(
    /// The reply to `PolicyList`.
    PolicyEntries, PolicyEntry, PolicyEntryRef, read_policy
);
entry_list!(
    /// The reply to `CertList` and `CertStoreList`.
    CertEntries, CertEntry, CertEntryRef, read_cert
);
entry_list!(
    /// The reply to `TrustList`.
    TrustEntries, TrustEntry, TrustEntryRef, read_trust
);

pub(crate) fn write_slots(
    b: &mut planus::Builder,
    list: &SlotEntries<'_>,
) -> planus::Offset<[planus::Offset<g::SlotEntry>]> {
    let offsets: Vec<_> = list
        .iter()
        .map(|e| {
            g::SlotEntry::create(
                b,
                e.name,
                e.algorithm,
                e.owner_uid,
                e.permissions,
                e.effective,
                e.exportable,
                e.created_unix_ms,
                e.grants_packed,
                e.locked,
            )
        })
        .collect();
    b.create_vector(offsets.as_slice())
}

pub(crate) fn write_policies(
    b: &mut planus::Builder,
    list: &PolicyEntries<'_>,
) -> planus::Offset<[planus::Offset<g::PolicyEntry>]> {
    let offsets: Vec<_> = list
        .iter()
        .map(|e| g::PolicyEntry::create(b, e.action, e.profile, e.sha256, e.size))
        .collect();
    b.create_vector(offsets.as_slice())
}

pub(crate) fn write_certs(
    b: &mut planus::Builder,
    list: &CertEntries<'_>,
) -> planus::Offset<[planus::Offset<g::CertEntry>]> {
    let offsets: Vec<_> = list
        .iter()
        .map(|e| {
            g::CertEntry::create(
                b,
                e.name,
                e.owner_uid,
                e.key_slot,
                e.subject,
                e.issuer,
                e.not_before,
                e.not_after,
                e.grants_packed,
                e.kind,
            )
        })
        .collect();
    b.create_vector(offsets.as_slice())
}

pub(crate) fn write_trust(
    b: &mut planus::Builder,
    list: &TrustEntries<'_>,
) -> planus::Offset<[planus::Offset<g::TrustEntry>]> {
    let offsets: Vec<_> = list
        .iter()
        .map(|e| g::TrustEntry::create(b, e.issuer, e.algorithm, e.public_key))
        .collect();
    b.create_vector(offsets.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_pack_and_unpack() {
        let packed = pack_grants(&[(1000, 0x30), (u32::MAX, 0x7FF)]);
        let e = SlotEntry {
            name: "a",
            algorithm: "ED25519",
            owner_uid: 0,
            permissions: 0,
            effective: 0,
            exportable: false,
            created_unix_ms: 0,
            grants_packed: &packed,
            locked: false,
        };
        assert_eq!(
            e.grants().collect::<Vec<_>>(),
            [(1000, 0x30), (u32::MAX, 0x7FF)]
        );
    }
}
