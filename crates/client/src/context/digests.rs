//! Hash, MAC, signing and verification contexts: kinds whose output is a digest, a tag or a
//! signature.

use super::{ContextCore, RegionOp};
use crate::error::Result;
use crate::memory::{MemoryRegion, RegionSlice};

/// A hash context. Create with [`crate::CryptoStack::create_hash_context`].
#[derive(Debug)]
pub struct HashContext {
    pub(super) core: ContextCore,
}

impl HashContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        HashContext { core }
    }

    /// Starts a digest.
    pub fn init(&mut self) -> Result<()> {
        self.core.init(&[])
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.core.update(data).map(drop)
    }

    /// Returns the digest.
    pub fn finalize(&mut self) -> Result<Vec<u8>> {
        self.core.finalize(&[], &[]).map(|p| p.data)
    }

    /// Absorbs `last` and returns the digest in one round trip (saves an `update` call).
    pub fn finalize_with(&mut self, last: &[u8]) -> Result<Vec<u8>> {
        self.core.finalize_data(last, &[]).map(|p| p.data)
    }

    /// The digest of the bytes `data` names in `region` (data plane: any size), as a whole
    /// operation.
    pub fn digest_region(&mut self, region: &MemoryRegion, data: RegionSlice) -> Result<Vec<u8>> {
        let op = RegionOp::default();
        Ok(self.core.process_region(region, op, data, None)?.1.data)
    }

    /// The digest of `data` as a whole operation: one request to a 1.1 daemon (the context
    /// is reset first if a previous operation finished), reusable any number of times.
    pub fn digest(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.core.process(&[], &[], data, &[], &[]).map(|p| p.data)
    }

    common_methods!();
}

/// A MAC context. Create with [`crate::CryptoStack::create_mac_context`].
#[derive(Debug)]
pub struct MacContext {
    pub(super) core: ContextCore,
}

impl MacContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        MacContext { core }
    }

    /// Starts a MAC computation.
    pub fn init(&mut self) -> Result<()> {
        self.core.init(&[])
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.core.update(data).map(drop)
    }

    /// Returns the tag.
    pub fn finalize(&mut self) -> Result<Vec<u8>> {
        self.core.finalize(&[], &[]).map(|p| p.data)
    }

    /// Finishes by checking `expected` against the computed tag inside the daemon (constant
    /// time); a mismatch is an opaque error and the tag never leaves the daemon.
    pub fn verify(&mut self, expected: &[u8]) -> Result<()> {
        if expected.is_empty() {
            // An empty input would mean "return the tag" on the wire.
            return Err(crate::error::Error::Invalid(
                warden_core::Error::invalid_argument("empty expected tag"),
            ));
        }
        self.core.finalize(expected, &[]).map(drop)
    }

    /// The tag of `data` as a whole operation (one request to a 1.1 daemon; reusable).
    pub fn compute(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        self.core.process(&[], &[], data, &[], &[]).map(|p| p.data)
    }

    /// Checks `expected` against the tag of `data` inside the daemon as a whole operation
    /// (one request to a 1.1 daemon; reusable). A mismatch is an opaque error.
    pub fn check(&mut self, data: &[u8], expected: &[u8]) -> Result<()> {
        if expected.is_empty() {
            return Err(crate::error::Error::Invalid(
                warden_core::Error::invalid_argument("empty expected tag"),
            ));
        }
        self.core.process(&[], &[], data, expected, &[]).map(drop)
    }

    common_methods!();
}

/// A signing context. Create with [`crate::CryptoStack::create_sign_context`].
#[derive(Debug)]
pub struct SignContext {
    pub(super) core: ContextCore,
}

impl SignContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        SignContext { core }
    }

    /// Starts a message.
    pub fn init(&mut self) -> Result<()> {
        self.core.init(&[])
    }

    /// Appends message bytes.
    pub fn update(&mut self, msg: &[u8]) -> Result<()> {
        self.core.update(msg).map(drop)
    }

    /// Returns the signature over everything passed to `update`.
    pub fn finalize(&mut self) -> Result<Vec<u8>> {
        self.core.finalize(&[], &[]).map(|p| p.data)
    }

    /// Appends `last` and returns the signature in one round trip.
    pub fn finalize_with(&mut self, last: &[u8]) -> Result<Vec<u8>> {
        self.core.finalize_data(last, &[]).map(|p| p.data)
    }

    /// The signature over the bytes `msg` names in `region` (data plane: any size). The
    /// daemon signs a private copy, so changing the bytes meanwhile cannot leak the key.
    pub fn sign_region(&mut self, region: &MemoryRegion, msg: RegionSlice) -> Result<Vec<u8>> {
        let op = RegionOp::default();
        Ok(self.core.process_region(region, op, msg, None)?.1.data)
    }

    /// The signature over `msg` as a whole operation (one request to a 1.1 daemon;
    /// reusable for the next message without a `reset`).
    pub fn sign(&mut self, msg: &[u8]) -> Result<Vec<u8>> {
        self.core.process(&[], &[], msg, &[], &[]).map(|p| p.data)
    }

    common_methods!();
}

/// A verification context. Create with [`crate::CryptoStack::create_verify_context`].
#[derive(Debug)]
pub struct VerifyContext {
    pub(super) core: ContextCore,
}

impl VerifyContext {
    pub(crate) fn new(core: ContextCore) -> Self {
        VerifyContext { core }
    }

    /// Starts a message.
    pub fn init(&mut self) -> Result<()> {
        self.core.init(&[])
    }

    /// Appends message bytes.
    pub fn update(&mut self, msg: &[u8]) -> Result<()> {
        self.core.update(msg).map(drop)
    }

    /// Checks `signature`; a bad signature is an opaque `OperationFailed`-class error.
    pub fn finalize(&mut self, signature: &[u8]) -> Result<()> {
        self.core.finalize(signature, &[]).map(drop)
    }

    /// Verifies `signature` over the bytes `msg` names in `region` (data plane: any size).
    pub fn verify_region(
        &mut self,
        region: &MemoryRegion,
        msg: RegionSlice,
        signature: &[u8],
    ) -> Result<()> {
        let op = RegionOp {
            last: signature,
            ..RegionOp::default()
        };
        self.core.process_region(region, op, msg, None).map(|_| ())
    }

    /// Checks `signature` over `msg` as a whole operation (one request to a 1.1 daemon;
    /// reusable). A bad signature is an opaque error.
    pub fn verify(&mut self, msg: &[u8], signature: &[u8]) -> Result<()> {
        self.core.process(&[], &[], msg, signature, &[]).map(drop)
    }

    common_methods!();
}
