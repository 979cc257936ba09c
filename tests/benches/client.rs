//! Client benchmarks (placeholder until the daemon serves operations).

fn main() {}
