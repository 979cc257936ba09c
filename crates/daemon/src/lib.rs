//! wardend, the warden crypto daemon

#![forbid(unsafe_code)]
