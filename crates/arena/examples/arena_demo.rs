//! Arena demo (the README's "main job" until the daemon exists): claims an arena, runs a few
//! request-like sessions, prints the counters and high-water marks, and proves that every
//! byte a session used is zero again after it ends.
//!
//! `cargo run --release -p warden-arena --example arena_demo`

use std::time::Instant;

use allocator_api2::vec::Vec as ArenaVec;
use warden_arena::{Arena, ArenaFull, ArenaPool};

/// A request-like record: fixed-size, `Copy`, as the daemon would keep per request.
#[derive(Clone, Copy)]
struct KeyHandle {
    id: u64,
    algorithm: [u8; 16],
    permissions: u32,
}

fn run_request(arena: &mut Arena, request: u64) -> Result<(usize, usize), ArenaFull> {
    let session = arena.session();
    let handle = session.try_alloc(KeyHandle {
        id: request,
        algorithm: *b"aes-256-gcm\0\0\0\0\0",
        permissions: 0x00F,
    })?;
    // A fake "secret": the demo checks later that it does not survive the session.
    let secret = session.try_alloc([0xA5u8; 32])?;
    secret[0] ^= request as u8;
    let body = session.try_alloc_slice_copy(&[request as u8; 200])?;
    let output = session.try_alloc_zeroed_slice(1024)?;
    output[..body.len()].copy_from_slice(body);
    output[body.len()..body.len() + 16].copy_from_slice(&handle.algorithm);
    let mut log: ArenaVec<u32, _> = ArenaVec::new_in(&session);
    for i in 0..(16 * (request as u32 + 1)) {
        log.try_reserve(1).map_err(|_| ArenaFull {
            requested: 4,
            remaining: session.remaining(),
        })?;
        log.push(i ^ handle.permissions);
    }
    handle.id += u64::from(log.len() as u32);
    Ok((session.used(), session.high_water()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let capacity = 64 * 1024;
    let mut arena = Arena::with_capacity(capacity)?;
    println!("claimed a {capacity}-byte arena (page-aligned, prefaulted)");

    for request in 0..4 {
        let (used, high_water) = run_request(&mut arena, request)?;
        let zero = arena.is_zeroed();
        println!(
            "session {request}: used {used:>5} B, high-water {high_water:>5} B, region all zero after end: {zero}"
        );
        if !zero {
            return Err("session bytes survived the end of the session".into());
        }
    }

    // A request that does not fit fails with a typed error instead of growing.
    {
        let session = arena.session();
        match session.try_alloc([0u8; 128 * 1024]) {
            Err(full) => println!("oversized request refused: {full}"),
            Ok(_) => return Err("a 128 KiB value fit in a 64 KiB arena".into()),
        }
    }

    let stats = arena.stats();
    println!(
        "counters: sessions {}, allocations {}, failed {}, peak {} B, zeroed {} B",
        stats.sessions,
        stats.allocations,
        stats.failed_allocations,
        stats.peak_bytes,
        stats.bytes_zeroed
    );

    // Throughput of the request pattern above: one session per request.
    let started = Instant::now();
    let rounds = 100_000u64;
    for request in 0..rounds {
        let session = arena.session();
        for i in 0..8u64 {
            session.try_alloc([request, i, request ^ i])?;
        }
    }
    let per_session = started.elapsed() / rounds as u32;
    println!(
        "{rounds} sessions of 8 × 24-byte allocations: {per_session:?} per session (incl. zeroing)"
    );

    // The daemon's layout: a pool of arenas, one per connection.
    let pool = ArenaPool::new(4, 16 * 1024)?;
    let mut connections = Vec::new();
    for _ in 0..4 {
        connections.push(pool.checkout()?);
    }
    if let Err(exhausted) = pool.checkout() {
        println!("pool: {exhausted}");
    }
    connections.clear();
    let ps = pool.stats();
    println!(
        "pool: {} arenas of {} B, peak in use {}, checkouts {}, refused {}",
        ps.arenas,
        pool.arena_capacity(),
        ps.peak_in_use,
        ps.checkouts,
        ps.exhausted
    );
    Ok(())
}
