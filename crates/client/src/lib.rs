//! Synchronous client library for wardend

#![forbid(unsafe_code)]
