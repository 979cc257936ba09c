//! Key management over the data plane (issue 13): import material and wrapped keys read from
//! a [`MemoryRegion`], exports and wraps written into one. The inline calls in `keys` stay
//! the simple path; these exist so every payload can live in shared memory, e.g. a key
//! exported straight into memory another process of the caller maps.
//!
//! The daemon applies exactly the checks of the inline calls (permissions, exportability,
//! slot rights) before it touches the region; input ranges are read once into its private
//! memory, output ranges receive only the finished bytes.

use warden_core::{ImportKeyParams, KeyFormat, ResourceId, UnwrapKeyParams, WrapKeyParams};
use warden_wire::messages::{self as m, Payload, Request, Response, ShmSlice};

use crate::error::{Error, Result, unexpected};
use crate::keys::{KeyManagement, ResourceGuard, spec};
use crate::memory::{MemoryRegion, RegionSlice};

impl KeyManagement {
    /// Checks that `s` is a range of `region` and that the region lives on this handle's
    /// connection (region ids mean nothing on another one).
    fn region_ref(&self, region: &MemoryRegion, s: &RegionSlice) -> Result<ShmSlice> {
        region.check_link(&self.link)?;
        region.check_slice(s)?;
        Ok(s.wire())
    }

    /// Sends a request whose key bytes go into `output`; returns how many were written (at
    /// the start of `output`).
    fn bytes_into(&self, req: &Request<'_>, asked: ShmSlice) -> Result<usize> {
        self.link.request(req, self.timeout, |r| match r {
            Response::KeyWritten { written }
                if written.region == asked.region
                    && written.offset == asked.offset
                    && written.len <= asked.len =>
            {
                usize::try_from(written.len)
                    .map_err(|_| Error::Protocol("output length out of range"))
            }
            Response::KeyWritten { .. } => Err(Error::Protocol(
                "the daemon wrote outside the output range asked for",
            )),
            // A daemon that predates region outputs answers inline: it ignored the range.
            Response::KeyBytes { .. } => Err(Error::Protocol(
                "the daemon does not write key bytes into regions",
            )),
            _ => Err(unexpected()),
        })
    }

    /// [`KeyManagement::import_key`] with the material in `material` (a range of `region`).
    ///
    /// # Errors
    /// As `import_key`; `InvalidMemoryRegion` for a range the daemon does not know,
    /// [`Error::Invalid`] for a slice of another region or a region of another connection.
    pub fn import_key_region(
        &self,
        p: &ImportKeyParams,
        region: &MemoryRegion,
        material: RegionSlice,
    ) -> Result<ResourceGuard> {
        self.key(&import(p, self.region_ref(region, &material)?, None))
    }

    /// [`KeyManagement::import_key_into`] with the material in `material` (a range of
    /// `region`).
    ///
    /// # Errors
    /// As `import_key_into` and [`KeyManagement::import_key_region`].
    pub fn import_key_into_region(
        &self,
        slot: &str,
        p: &ImportKeyParams,
        region: &MemoryRegion,
        material: RegionSlice,
    ) -> Result<()> {
        self.create_in_slot(&import(p, self.region_ref(region, &material)?, Some(slot)))
    }

    /// [`KeyManagement::export_public_key`] into `output` (a range of `region`); returns the
    /// number of bytes written at its start.
    ///
    /// # Errors
    /// As `export_public_key`; `InsufficientBufferSize` if the key does not fit `output`.
    pub fn export_public_key_region(
        &self,
        key: ResourceId,
        format: Option<KeyFormat>,
        region: &mut MemoryRegion,
        output: RegionSlice,
    ) -> Result<usize> {
        let out = self.region_ref(region, &output)?;
        let req = Request::ExportPublicKey {
            key_id: key.id,
            format,
            output: Some(out),
        };
        self.bytes_into(&req, out)
    }

    /// [`KeyManagement::export_secret_key`] into `output` (a range of `region`); returns the
    /// number of bytes written at its start. The same permission and exportability checks
    /// apply; the secret then lives in the region, which the caller must treat (and wipe)
    /// like any other copy of the key.
    ///
    /// # Errors
    /// As `export_secret_key`; `InsufficientBufferSize` if the key does not fit `output`.
    pub fn export_secret_key_region(
        &self,
        key: ResourceId,
        region: &mut MemoryRegion,
        output: RegionSlice,
    ) -> Result<usize> {
        let out = self.region_ref(region, &output)?;
        let req = Request::ExportSecretKey {
            key_id: key.id,
            output: Some(out),
        };
        self.bytes_into(&req, out)
    }

    /// [`KeyManagement::wrap_key`] into `output` (a range of `region`); returns the number of
    /// bytes written at its start.
    ///
    /// # Errors
    /// As `wrap_key`; `InsufficientBufferSize` if the wrapped key does not fit `output`.
    pub fn wrap_key_region(
        &self,
        kek: ResourceId,
        target: ResourceId,
        p: &WrapKeyParams,
        region: &mut MemoryRegion,
        output: RegionSlice,
    ) -> Result<usize> {
        let out = self.region_ref(region, &output)?;
        let req = Request::WrapKey(m::WrapKey {
            kek_id: kek.id,
            target_key_id: target.id,
            algorithm: p.algorithm().name(),
            output: Some(out),
        });
        self.bytes_into(&req, out)
    }

    /// [`KeyManagement::unwrap_key`] with the wrapped key in `wrapped` (a range of `region`).
    ///
    /// # Errors
    /// As `unwrap_key` and [`KeyManagement::import_key_region`].
    pub fn unwrap_key_region(
        &self,
        kek: ResourceId,
        region: &MemoryRegion,
        wrapped: RegionSlice,
        p: &UnwrapKeyParams,
    ) -> Result<ResourceGuard> {
        self.key(&unwrap(kek, self.region_ref(region, &wrapped)?, p, None))
    }

    /// [`KeyManagement::unwrap_key_into`] with the wrapped key in `wrapped` (a range of
    /// `region`).
    ///
    /// # Errors
    /// As `unwrap_key_into` and [`KeyManagement::import_key_region`].
    pub fn unwrap_key_into_region(
        &self,
        slot: &str,
        kek: ResourceId,
        region: &MemoryRegion,
        wrapped: RegionSlice,
        p: &UnwrapKeyParams,
    ) -> Result<()> {
        self.create_in_slot(&unwrap(
            kek,
            self.region_ref(region, &wrapped)?,
            p,
            Some(slot),
        ))
    }
}

fn import<'a>(p: &'a ImportKeyParams, material: ShmSlice, slot: Option<&'a str>) -> Request<'a> {
    let mut key = spec(p.algorithm(), p.permissions().bits(), p.exportable());
    key.slot = slot;
    Request::ImportKey(m::ImportKey {
        key,
        format: p.format(),
        material: Payload::Shm(material),
    })
}

fn unwrap<'a>(
    kek: ResourceId,
    wrapped: ShmSlice,
    p: &'a UnwrapKeyParams,
    slot: Option<&'a str>,
) -> Request<'a> {
    let mut key = spec(
        p.unwrapped_algorithm(),
        p.permissions().bits(),
        p.exportable(),
    );
    key.slot = slot;
    Request::UnwrapKey(m::UnwrapKey {
        kek_id: kek.id,
        algorithm: p.algorithm().name(),
        wrapped: Payload::Shm(wrapped),
        key,
    })
}
