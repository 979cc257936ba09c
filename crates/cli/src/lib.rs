//! warden, the command-line interface to wardend

#![forbid(unsafe_code)]
