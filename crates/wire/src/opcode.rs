//! Operation codes and the ranges reserved for later issues.
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
//! | `0x0400..=0x04FF` | persistent slots, grants (issue 5) | reserved, see [`reserved`] |
//! | `0x0500..=0x05FF` | policies, trust store, permits, attestation (issue 6) | reserved |
//! | `0x0600..=0xEFFF` | unassigned | |
//! | `0xF000..=0xFFFF` | private use (tests, experiments); never assigned by the protocol | |
//!
//! A response carries the request's opcode with [`crate::FLAG_RESPONSE`] set. Opcode numbers are
//! never reused: a withdrawn operation keeps its number forever.

use crate::error::WireError;

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

    /// Random bytes from the provider.
    Random = 0x0300,
}

impl Opcode {
    /// The raw value.
    pub const fn as_u16(self) -> u16 {
        self as u16
    }
}

/// Opcode ranges and numbers reserved for later issues. They are not yet [`Opcode`] variants
/// (bodies are not defined yet), so [`Opcode::from_u16`] rejects them with
/// [`WireError::UnknownOpcode`] and a daemon answers `UnsupportedOperation`. When an issue lands,
/// its operations become variants with exactly these numbers.
pub mod reserved {
    use core::ops::RangeInclusive;

    /// Persistent slots, grants (issue 5).
    pub const SLOTS: RangeInclusive<u16> = 0x0400..=0x04FF;
    /// Resolve a slot name to a per-connection id.
    pub const SLOT_RESOLVE: u16 = 0x0400;
    /// Persist an ephemeral key into a slot.
    pub const SLOT_PERSIST: u16 = 0x0401;
    /// Delete a slot.
    pub const SLOT_DELETE: u16 = 0x0402;
    /// List the slots the caller may see.
    pub const SLOT_LIST: u16 = 0x0403;
    /// Grant another uid a subset of a slot's permissions.
    pub const SLOT_GRANT: u16 = 0x0404;
    /// Revoke a grant.
    pub const SLOT_REVOKE: u16 = 0x0405;

    /// Policies, trust store, permits, attestation (issue 6).
    pub const POLICY: RangeInclusive<u16> = 0x0500..=0x05FF;
    /// Load a policy module.
    pub const POLICY_LOAD: u16 = 0x0500;
    /// List policy modules.
    pub const POLICY_LIST: u16 = 0x0501;
    /// Unload a policy module.
    pub const POLICY_UNLOAD: u16 = 0x0502;
    /// Add an issuer key to the trust store.
    pub const TRUST_ADD: u16 = 0x0510;
    /// List the trust store.
    pub const TRUST_LIST: u16 = 0x0511;
    /// Remove an issuer key from the trust store.
    pub const TRUST_REMOVE: u16 = 0x0512;
    /// Verify an action permit and obtain a receipt.
    pub const PERMIT_VERIFY: u16 = 0x0520;
    /// Export the daemon's attestation public key.
    pub const ATTEST_PUBLIC_KEY: u16 = 0x0530;

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
            0x0000,
            0x0004,
            0x010B,
            0x0207,
            reserved::SLOT_RESOLVE,
            reserved::PERMIT_VERIFY,
            0xF000,
            0xFFFF,
        ] {
            assert_eq!(Opcode::from_u16(v), Err(WireError::UnknownOpcode(v)));
        }
    }

    #[test]
    fn assigned_opcodes_stay_out_of_reserved_ranges() {
        for &op in Opcode::ALL {
            let v = op.as_u16();
            assert_ne!(v, 0);
            assert!(!reserved::SLOTS.contains(&v), "{op:?}");
            assert!(!reserved::POLICY.contains(&v), "{op:?}");
            assert!(!reserved::PRIVATE.contains(&v), "{op:?}");
        }
        assert!(Opcode::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
