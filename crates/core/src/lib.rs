//! Shared vocabulary of warden: ids, algorithm names, permissions, error codes and the
//! parameter structs every other crate speaks.
//!
//! `no_std` + `alloc`, no dependencies, no `unsafe`. Everything here is plain data with
//! validation; no cryptography happens in this crate.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod algorithm;
mod algorithm_id;
mod error;
mod permission;
mod resource;

pub use algorithm::{AeadLengths, Algorithm, AlgorithmClass, KemLengths};
pub use algorithm_id::AlgorithmId;
pub use error::{Error, ErrorCode, Result};
pub use permission::KeyOperationPermission;
pub use resource::{Persistence, ResourceId, ResourceType};
