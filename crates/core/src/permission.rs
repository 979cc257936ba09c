//! Key operation permission bits (seed 004's bitmask) and their CLI names.

use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

use crate::error::{Error, Result};

/// The operations a key may be used for, as a `u32` bitmask with stable bit values.
///
/// Names for the CLI: `encrypt`, `decrypt`, `wrap`, `unwrap`, `sign`, `verify`, `mac`,
/// `agree`, `derive`, `export`, `import`, `caller-nonce`, presets `data-protection`,
/// `authentication`, `full-lifecycle`, `all`, and `none` for the empty set.
///
/// Not every bit makes sense for every key: [`KeyOperationPermission::applicable_to`] says
/// which do, and key creation refuses the others (see `key_usage`).
///
/// ```
/// use warden_core::{ErrorCode, KeyOperationPermission as P};
/// let p: P = "sign,verify".parse()?;
/// assert_eq!(p, P::SIGN | P::VERIFY);
/// assert_eq!(p.to_string(), "sign,verify");
/// assert!(P::ALL.contains(p));
/// assert_eq!("sing".parse::<P>().unwrap_err().code(), ErrorCode::InvalidArgument);
/// assert_eq!(P::from_bits(0x1000).unwrap_err().code(), ErrorCode::InvalidArgument);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KeyOperationPermission(u32);

impl KeyOperationPermission {
    /// No operation allowed.
    pub const NONE: Self = Self(0);
    /// Encrypt with the key.
    pub const ENCRYPT: Self = Self(0x1);
    /// Decrypt with the key.
    pub const DECRYPT: Self = Self(0x2);
    /// Wrap other keys with this key.
    pub const WRAP: Self = Self(0x4);
    /// Unwrap other keys with this key.
    pub const UNWRAP: Self = Self(0x8);
    /// Sign with the key.
    pub const SIGN: Self = Self(0x10);
    /// Verify with the key.
    pub const VERIFY: Self = Self(0x20);
    /// Compute or verify MACs with the key.
    pub const MAC: Self = Self(0x40);
    /// Use the key in key agreement / decapsulation.
    pub const AGREE: Self = Self(0x80);
    /// Derive keys from the key.
    pub const DERIVE: Self = Self(0x100);
    /// Export the secret key material.
    pub const EXPORT: Self = Self(0x200);
    /// Import: the key may be replaced by imported material.
    pub const IMPORT: Self = Self(0x400);
    /// DANGER: encrypting contexts (AES-GCM, ChaCha20-Poly1305, AES-CTR, AES-CBC) accept a
    /// nonce / IV chosen by the caller. Without it the daemon draws a fresh one for every
    /// message and returns it with the output. With it, anyone holding `ENCRYPT` can repeat a
    /// nonce: re-encrypting zeros under a victim's nonce yields the keystream, so ENCRYPT
    /// becomes DECRYPT (and GCM's authentication key leaks). Grant it only for protocols that
    /// fix the nonce themselves (test vectors, TLS record layers with a counter nonce).
    pub const CALLER_NONCE: Self = Self(0x800);
    /// Preset: encrypt, decrypt, wrap, unwrap (0x00F).
    pub const DATA_PROTECTION: Self = Self(0x00F);
    /// Preset: sign, verify, mac, agree (0x0F0).
    pub const AUTHENTICATION: Self = Self(0x0F0);
    /// Preset: derive, export, import (0x700).
    pub const FULL_LIFECYCLE: Self = Self(0x700);
    /// Every defined bit (0xFFF), `CALLER_NONCE` included. No key type accepts all of them.
    pub const ALL: Self = Self(0xFFF);

    /// Single bits with their names, in bit order (used for parsing and formatting).
    pub const NAMED_BITS: &'static [(&'static str, Self)] = &[
        ("encrypt", Self::ENCRYPT),
        ("decrypt", Self::DECRYPT),
        ("wrap", Self::WRAP),
        ("unwrap", Self::UNWRAP),
        ("sign", Self::SIGN),
        ("verify", Self::VERIFY),
        ("mac", Self::MAC),
        ("agree", Self::AGREE),
        ("derive", Self::DERIVE),
        ("export", Self::EXPORT),
        ("import", Self::IMPORT),
        ("caller-nonce", Self::CALLER_NONCE),
    ];

    /// Preset names accepted by the parser.
    pub const PRESETS: &'static [(&'static str, Self)] = &[
        ("data-protection", Self::DATA_PROTECTION),
        ("authentication", Self::AUTHENTICATION),
        ("full-lifecycle", Self::FULL_LIFECYCLE),
        ("all", Self::ALL),
        ("none", Self::NONE),
    ];

    /// The permission set with these bits; unknown bits fail with `InvalidArgument`.
    pub const fn from_bits(bits: u32) -> Result<Self> {
        if bits & !Self::ALL.0 != 0 {
            return Err(Error::invalid_argument("unknown permission bits"));
        }
        Ok(Self(bits))
    }

    /// The raw bits (the value stored and sent on the wire).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Bits set in either.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Bits set in both.
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Bits of `self` not in `other`.
    pub const fn difference(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// Parses a comma-separated list of names (see the type docs); whitespace around names
    /// is ignored, case matters. Empty input, empty items and unknown names fail with
    /// `InvalidArgument`.
    pub fn parse(s: &str) -> Result<Self> {
        if s.trim().is_empty() {
            return Err(Error::invalid_argument("empty permission list"));
        }
        let mut acc = Self::NONE;
        for item in s.split(',') {
            let item = item.trim();
            let bits = Self::NAMED_BITS
                .iter()
                .chain(Self::PRESETS.iter())
                .find(|(name, _)| *name == item)
                .map(|(_, p)| *p)
                .ok_or(Error::invalid_argument("unknown permission name"))?;
            acc = acc.union(bits);
        }
        Ok(acc)
    }
}

impl fmt::Display for KeyOperationPermission {
    /// `all` for every bit, `none` for none, otherwise the single-bit names in bit order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Self::ALL {
            return f.write_str("all");
        }
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (name, bit) in Self::NAMED_BITS {
            if self.contains(*bit) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for KeyOperationPermission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyOperationPermission({:#05x}: {})", self.0, self)
    }
}

impl core::str::FromStr for KeyOperationPermission {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<u32> for KeyOperationPermission {
    type Error = Error;
    fn try_from(bits: u32) -> Result<Self> {
        Self::from_bits(bits)
    }
}

impl From<KeyOperationPermission> for u32 {
    fn from(p: KeyOperationPermission) -> u32 {
        p.0
    }
}

impl BitOr for KeyOperationPermission {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        self.union(rhs)
    }
}

impl BitOrAssign for KeyOperationPermission {
    fn bitor_assign(&mut self, rhs: Self) {
        *self = self.union(rhs);
    }
}

impl BitAnd for KeyOperationPermission {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        self.intersection(rhs)
    }
}
