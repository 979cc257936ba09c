//! Slot benchmarks (written next).
fn main() {}
