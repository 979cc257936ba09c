//! WASM policy sandbox: wake, run, scrub

#![forbid(unsafe_code)]
