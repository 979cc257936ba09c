//! Crypto provider trait and the default aws-lc-rs provider

#![forbid(unsafe_code)]
