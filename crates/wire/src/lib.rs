//! Versioned wire protocol between wardend and its clients

#![forbid(unsafe_code)]
