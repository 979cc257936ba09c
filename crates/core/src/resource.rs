//! Resource identifiers: what the daemon hands out instead of key material.

use crate::error::{Error, ErrorCode, Result};

/// The kind of object a [`ResourceId`] names. Values are stable (wire and store).
#[repr(u16)]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceType {
    /// A crypto provider.
    Provider = 1,
    /// A persistent key slot.
    KeySlot = 2,
    /// A certificate slot.
    CertSlot = 3,
    /// A store of trust anchors for verification.
    VerificationTrustStore = 4,
    /// A key object.
    Key = 5,
    /// A certificate.
    Certificate = 6,
    /// A certificate revocation list.
    Crl = 7,
    /// A generic secure object.
    SecureObject = 8,
    /// A generic data object.
    DataObject = 9,
}

impl ResourceType {
    /// Every type, in value order.
    pub const ALL: &'static [ResourceType] = &[
        ResourceType::Provider,
        ResourceType::KeySlot,
        ResourceType::CertSlot,
        ResourceType::VerificationTrustStore,
        ResourceType::Key,
        ResourceType::Certificate,
        ResourceType::Crl,
        ResourceType::SecureObject,
        ResourceType::DataObject,
    ];

    /// The stable value.
    pub const fn as_u16(self) -> u16 {
        self as u16
    }

    /// The type with value `v`; unknown values fail with `InvalidResourceType`.
    pub const fn from_u16(v: u16) -> Result<Self> {
        Ok(match v {
            1 => ResourceType::Provider,
            2 => ResourceType::KeySlot,
            3 => ResourceType::CertSlot,
            4 => ResourceType::VerificationTrustStore,
            5 => ResourceType::Key,
            6 => ResourceType::Certificate,
            7 => ResourceType::Crl,
            8 => ResourceType::SecureObject,
            9 => ResourceType::DataObject,
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidResourceType,
                    "unknown resource type",
                ));
            }
        })
    }
}

/// Whether a resource outlives the connection that created it.
#[repr(u8)]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Persistence {
    /// Stored by the daemon across restarts.
    Persistent = 1,
    /// Lives as long as the owning connection/session.
    Ephemeral = 2,
}

impl Persistence {
    /// The stable value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The persistence with value `v`; unknown values fail with `InvalidResourceId`.
    pub const fn from_u8(v: u8) -> Result<Self> {
        match v {
            1 => Ok(Persistence::Persistent),
            2 => Ok(Persistence::Ephemeral),
            _ => Err(Error::new(
                ErrorCode::InvalidResourceId,
                "unknown persistence value",
            )),
        }
    }
}

/// Names a resource held by the daemon: `{ id, type, persistence, provider }`.
///
/// ```
/// use warden_core::{Persistence, ResourceId, ResourceType};
/// let r = ResourceId::new(42, ResourceType::Key, Persistence::Ephemeral, 0);
/// assert_eq!(ResourceId::decode(&r.encode())?, r);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourceId {
    /// Per-provider number of the resource.
    pub id: u64,
    /// What it is.
    pub resource_type: ResourceType,
    /// Whether it survives the connection.
    pub persistence: Persistence,
    /// The provider that owns it.
    pub provider: u16,
}

impl ResourceId {
    /// Length of [`ResourceId::encode`]'s output.
    pub const ENCODED_LEN: usize = 16;

    /// A resource id from its parts.
    pub const fn new(
        id: u64,
        resource_type: ResourceType,
        persistence: Persistence,
        provider: u16,
    ) -> Self {
        ResourceId {
            id,
            resource_type,
            persistence,
            provider,
        }
    }

    /// Fixed little-endian encoding: id u64, type u16, persistence u8, a zero byte,
    /// provider u16, two zero bytes.
    pub fn encode(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        let (id, rest) = out.split_at_mut(8);
        id.copy_from_slice(&self.id.to_le_bytes());
        let (ty, rest) = rest.split_at_mut(2);
        ty.copy_from_slice(&self.resource_type.as_u16().to_le_bytes());
        let (pers, rest) = rest.split_at_mut(2);
        if let Some(p) = pers.first_mut() {
            *p = self.persistence.as_u8();
        }
        let (prov, _) = rest.split_at_mut(2);
        prov.copy_from_slice(&self.provider.to_le_bytes());
        out
    }

    /// Decodes [`ResourceId::encode`]'s format. Wrong length or non-zero reserved bytes fail
    /// with `InvalidResourceId`; an unknown type with `InvalidResourceType`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let bad = Error::new(ErrorCode::InvalidResourceId, "malformed resource id");
        let b: &[u8; Self::ENCODED_LEN] = bytes.try_into().map_err(|_| bad)?;
        let [
            i0,
            i1,
            i2,
            i3,
            i4,
            i5,
            i6,
            i7,
            t0,
            t1,
            pers,
            r0,
            p0,
            p1,
            r1,
            r2,
        ] = *b;
        if r0 != 0 || r1 != 0 || r2 != 0 {
            return Err(bad);
        }
        Ok(ResourceId {
            id: u64::from_le_bytes([i0, i1, i2, i3, i4, i5, i6, i7]),
            resource_type: ResourceType::from_u16(u16::from_le_bytes([t0, t1]))?,
            persistence: Persistence::from_u8(pers)?,
            provider: u16::from_le_bytes([p0, p1]),
        })
    }
}
