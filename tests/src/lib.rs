//! Harness for end-to-end tests that start a real `wardend`.

#![forbid(unsafe_code)]
