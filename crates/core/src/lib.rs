//! Shared vocabulary of warden: ids, algorithms, permissions, error codes, parameter structs

#![forbid(unsafe_code)]
