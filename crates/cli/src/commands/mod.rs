//! One module per command family; each takes parsed arguments and returns what to print.

pub mod certs;
pub mod exchange;
pub mod keys;
pub mod local;
pub mod ops;
pub mod options;
pub mod permits;
pub mod receipt;
pub mod regions;
pub mod session;
