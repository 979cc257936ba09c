//! Shared vocabulary of warden: ids, algorithm names, permissions, error codes and the
//! parameter structs every other crate speaks.
//!
//! `no_std` + `alloc`, no dependencies, no `unsafe`. Everything here is plain data with
//! validation; no cryptography happens in this crate. Parameter builders fail with
//! [`ErrorCode::InvalidArgument`] (never a panic) when a required field is missing or a value
//! is out of range; the bounds are in [`limits`].

#![no_std]
#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod algorithm;
mod algorithm_id;
mod context;
mod context_options;
mod derive_params;
mod error;
mod exchange_params;
mod key_params;
mod key_usage;
pub mod limits;
#[cfg(feature = "std")]
pub mod paths;
mod permission;
mod resource;

pub use algorithm::{AeadLengths, Algorithm, AlgorithmClass, KemLengths};
pub use algorithm_id::AlgorithmId;
pub use context::{
    BaseContextConfig, BaseContextConfigBuilder, CipherDirection, ContextConfig,
    ContextConfigBuilder, Timeout,
};
pub use context_options::{
    ContextOptions, MAX_OAEP_LABEL_LEN, MAX_PSS_SALT_LEN, MAX_SIGNATURE_CONTEXT_LEN, ML_DSA_MU_LEN,
    SignatureFormat, option_bits,
};
pub use derive_params::{DeriveKeyParams, DeriveKeyParamsBuilder, KdfParameters};
pub use error::{Error, ErrorCode, Result};
pub use exchange_params::{
    AgreeKeyParams, AgreeKeyParamsBuilder, EncapsulateParams, EncapsulateParamsBuilder,
    UnwrapKeyParams, UnwrapKeyParamsBuilder, WrapKeyParams, WrapKeyParamsBuilder,
};
pub use key_params::{
    GenerateKeyParams, GenerateKeyParamsBuilder, ImportKeyParams, ImportKeyParamsBuilder, KeyFormat,
};
pub use permission::KeyOperationPermission;
pub use resource::{Persistence, ResourceId, ResourceType};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
