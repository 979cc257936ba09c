//! Operation codes, by family range.
//!
//! Ranges (the high byte names the family, so a range can grow without renumbering):
//!
//! | range | family | status |
//! |---|---|---|
//! | `0x0000` | invalid | never assigned |
//! | `0x0001..=0x00FF` | session: handshake, ping, status | assigned |
//! | `0x0100..=0x01FF` | key management | assigned |
//! | `0x0200..=0x02FF` | crypto contexts | assigned |
//! | `0x0300..=0x03FF` | stateless operations (random) | assigned |
//! | `0x0400..=0x04FF` | persistent slots, grants, locks | assigned |
//! | `0x0500..=0x05FF` | policies, trust store, permits, attestation, receipts | assigned |
//! | `0x0600..=0x06FF` | shared-memory regions (data plane) | assigned |
//! | `0x0700..=0x07FF` | certificates, trust stores, CRLs, CSRs | assigned |
//! | `0x0800..=0xEFFF` | unassigned | |
//! | `0xF000..=0xFFFF` | private use (tests, experiments); never assigned by the protocol | |
//!
//! A response carries the request's opcode with [`crate::FLAG_RESPONSE`] set. Opcode numbers are
//! never reused: a withdrawn operation keeps its number forever.

use crate::error::WireError;
use crate::version::Version;

macro_rules! opcodes {
    ($( $(#[$doc:meta])+ $name:ident = $val:literal, )+) => {
        /// An assigned operation code.
        #[repr(u16)]
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Opcode {
            $( $(#[$doc])+ $name = $val, )+
        }

        impl Opcode {
            /// Every assigned opcode, in numeric order.
            pub const ALL: &'static [Opcode] = &[ $( Opcode::$name, )+ ];

            /// Parses a raw opcode; unassigned or reserved values give
            /// [`WireError::UnknownOpcode`].
            pub const fn from_u16(v: u16) -> Result<Self, WireError> {
                match v {
                    $( $val => Ok(Opcode::$name), )+
                    other => Err(WireError::UnknownOpcode(other)),
                }
            }

            /// The operation's name as spelled in the enum (`"GenerateKey"`), for logs.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Opcode::$name => stringify!($name), )+
                }
            }
        }
    };
}

opcodes! {
    /// Connect-time version negotiation (fixed-layout body, see [`crate::handshake`]).
    Hello = 0x0001,
    /// Liveness check; echoes its payload.
    Ping = 0x0002,
    /// Daemon counters for operators and tests.
    Status = 0x0003,

    /// Generate a key (ephemeral, or into a slot once issue 5 lands).
    GenerateKey = 0x0100,
    /// Import key material.
    ImportKey = 0x0101,
    /// Export a key's public part.
    ExportPublicKey = 0x0102,
    /// Export secret key bytes (requires the Export permission bit).
    ExportSecretKey = 0x0103,
    /// Derive a key with a KDF.
    DeriveKey = 0x0104,
    /// Key agreement producing a key object.
    AgreeKey = 0x0105,
    /// Wrap a key under a key-encryption key.
    WrapKey = 0x0106,
    /// Unwrap a wrapped key into a key object.
    UnwrapKey = 0x0107,
    /// KEM encapsulation: ciphertext plus a shared-secret key object.
    Encapsulate = 0x0108,
    /// KEM decapsulation into a shared-secret key object.
    Decapsulate = 0x0109,
    /// Drop the client guard's reference on a key.
    ReleaseKey = 0x010A,

    /// Create a crypto context (hash, MAC, cipher, AEAD, sign, verify).
    CreateContext = 0x0200,
    /// Start a stream with an IV or nonce (empty for hash, MAC, sign, verify).
    InitContext = 0x0201,
    /// Supply AEAD associated data.
    SetAad = 0x0202,
    /// Stream a chunk of input.
    Update = 0x0203,
    /// Finish the stream (optional last input, tag for AEAD decrypt).
    Finalize = 0x0204,
    /// Return a context to its created state, keeping key and configuration.
    ResetContext = 0x0205,
    /// Destroy a context and free its resources.
    DestroyContext = 0x0206,
    /// A whole operation on a context in one request (since 1.1).
    Process = 0x0207,

    /// Random bytes from the provider.
    Random = 0x0300,

    /// Resolve a persistent slot to a per-connection key id.
    SlotResolve = 0x0400,
    /// Copy an ephemeral key into a new slot.
    SlotPersist = 0x0401,
    /// Delete a slot.
    SlotDelete = 0x0402,
    /// List the slots the caller may see.
    SlotList = 0x0403,
    /// Grant a uid a subset of a slot's permissions.
    SlotGrant = 0x0404,
    /// Revoke a uid's grant.
    SlotRevoke = 0x0405,
    /// Lock or unlock a slot (since 1.1).
    SlotSetLocked = 0x0406,

    /// Load a policy module for an action (admins).
    PolicyLoad = 0x0500,
    /// List loaded policies.
    PolicyList = 0x0501,
    /// Unload an action's policy (admins).
    PolicyUnload = 0x0502,
    /// Trust a permit issuer's public key (admins).
    TrustAdd = 0x0510,
    /// List trusted issuers.
    TrustList = 0x0511,
    /// Stop trusting an issuer (admins).
    TrustRemove = 0x0512,
    /// Verify an action permit for an intent; answers with a signed receipt.
    PermitVerify = 0x0520,
    /// The daemon's attestation public key.
    AttestPublicKey = 0x0530,
    /// One page of the receipt chain (admins; since 1.1).
    ReceiptExport = 0x0531,

    /// Register a shared-memory region (its memfd travels with the frame; since 1.1).
    RegionRegister = 0x0600,
    /// Unmap a registered region (since 1.1).
    RegionRelease = 0x0601,

    /// Store a certificate in a new certificate slot, optionally bound to a key slot.
    CertImport = 0x0700,
    /// A certificate slot's DER.
    CertExport = 0x0701,
    /// One page of the certificate slots the caller may see.
    CertList = 0x0702,
    /// Delete a certificate slot.
    CertDelete = 0x0703,
    /// Bind a certificate slot to a key slot (or unbind with an empty key slot).
    CertBind = 0x0704,
    /// Let a uid read a certificate slot.
    CertGrant = 0x0705,
    /// Withdraw a uid's read grant.
    CertRevoke = 0x0706,
    /// A PKCS#10 request signed inside the daemon by a slot key.
    CertCsr = 0x0710,
    /// A self-signed certificate for a slot key, signed inside the daemon.
    CertSelfSign = 0x0711,
    /// Add a trust anchor to a verification trust store.
    CertStoreAdd = 0x0720,
    /// Remove an anchor or CRL from a trust store, or the whole store.
    CertStoreRemove = 0x0721,
    /// One page of a trust store's anchors and CRLs.
    CertStoreList = 0x0722,
    /// Import a CRL into a trust store (its signature checked against the issuer).
    CertCrlImport = 0x0723,
    /// Verify a leaf and intermediates against a trust store.
    CertVerify = 0x0730,
}

impl Opcode {
    /// The raw value.
    pub const fn as_u16(self) -> u16 {
        self as u16
    }

    /// The protocol version that introduced this operation. A connection that negotiated an
    /// older minor version must not use it (evolution rule 6): the daemon answers
    /// `UnsupportedOperation` and the client refuses before sending.
    pub const fn since(self) -> Version {
        match self {
            // The region operations were added to 1.1 before any release (like the Status
            // field appended to 1.0), so they need no minor bump.
            Opcode::Process
            | Opcode::SlotSetLocked
            | Opcode::ReceiptExport
            | Opcode::RegionRegister
            | Opcode::RegionRelease => Version::new(1, 1),
            _ => Version::new(1, 0),
        }
    }

    /// Whether a connection at version `v` may use this operation.
    pub fn available_in(self, v: Version) -> bool {
        v.major == self.since().major && v >= self.since()
    }
}

/// Opcode ranges and numbers reserved for later issues. They are not yet [`Opcode`] variants
/// (bodies are not defined yet), so [`Opcode::from_u16`] rejects them with
/// [`WireError::UnknownOpcode`] and a daemon answers `UnsupportedOperation`. When an issue lands,
/// its operations become variants with exactly these numbers.
pub mod reserved {
    use core::ops::RangeInclusive;

    /// Persistent slots, grants (issue 5): `Opcode::Slot*`.
    pub const SLOTS: RangeInclusive<u16> = 0x0400..=0x04FF;
    /// Policies, trust store, permits, attestation (issue 6): `Opcode::Policy*`, `Trust*`,
    /// `PermitVerify`, `AttestPublicKey`, `ReceiptExport`.
    pub const POLICY: RangeInclusive<u16> = 0x0500..=0x05FF;
    /// Shared-memory regions (the data plane).
    pub const REGIONS: RangeInclusive<u16> = 0x0600..=0x06FF;
    /// Certificates, trust stores, CRLs, CSRs (issue 16): `Opcode::Cert*`.
    pub const CERTS: RangeInclusive<u16> = 0x0700..=0x07FF;
    /// Private use: never assigned by the protocol (test-only operations, experiments).
    pub const PRIVATE: RangeInclusive<u16> = 0xF000..=0xFFFF;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_u16_inverts_as_u16_for_every_opcode() {
        for &op in Opcode::ALL {
            assert_eq!(Opcode::from_u16(op.as_u16()), Ok(op));
        }
    }

    #[test]
    fn unassigned_and_reserved_values_are_unknown() {
        for v in [
            0x0000, 0x0004, 0x010B, 0x0208, 0x0407, 0x0503, 0x0532, 0x0602, 0x0707, 0x0731, 0xF000,
            0xFFFF,
        ] {
            assert_eq!(Opcode::from_u16(v), Err(WireError::UnknownOpcode(v)));
        }
    }

    #[test]
    fn operations_of_1_1_are_unavailable_at_1_0() {
        let v10 = Version::new(1, 0);
        let v11 = Version::new(1, 1);
        for op in [
            Opcode::Process,
            Opcode::SlotSetLocked,
            Opcode::ReceiptExport,
            Opcode::RegionRegister,
            Opcode::RegionRelease,
        ] {
            assert!(!op.available_in(v10), "{op:?}");
            assert!(op.available_in(v11), "{op:?}");
            assert!(!op.available_in(Version::new(2, 0)), "{op:?}");
        }
        for &op in Opcode::ALL {
            assert!(op.since() <= crate::PROTOCOL_VERSION, "{op:?}");
            assert!(op.available_in(crate::PROTOCOL_VERSION), "{op:?}");
        }
        assert!(Opcode::Ping.available_in(v10));
    }

    #[test]
    fn opcodes_sit_in_their_family_ranges() {
        for &op in Opcode::ALL {
            let v = op.as_u16();
            assert_ne!(v, 0);
            assert!(!reserved::PRIVATE.contains(&v), "{op:?}");
            let name = op.name();
            assert_eq!(
                reserved::SLOTS.contains(&v),
                name.starts_with("Slot"),
                "{op:?}"
            );
            let family6 = ["Policy", "Trust", "Permit", "Attest", "Receipt"]
                .iter()
                .any(|p| name.starts_with(p));
            assert_eq!(reserved::POLICY.contains(&v), family6, "{op:?}");
            assert_eq!(
                reserved::REGIONS.contains(&v),
                name.starts_with("Region"),
                "{op:?}"
            );
            assert_eq!(
                reserved::CERTS.contains(&v),
                name.starts_with("Cert"),
                "{op:?}"
            );
        }
        assert!(Opcode::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
