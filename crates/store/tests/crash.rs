//! Crash test (written next).
fn main() {}
