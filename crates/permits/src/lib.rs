//! Daemon-side action permits and receipts (issue 6).
#![forbid(unsafe_code)]
