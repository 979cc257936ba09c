//! Red-team pass 4: AEAD encryption in place (output range starting at the input) against
//! a real `wardend`, driven the way a hostile client of its own connection would: a context
//! in the middle of its own stream, output ranges shorter or longer than the input, ranges
//! at and past the region's end, an empty message, one range sealed again and again. Each
//! failed attempt must leave the region as it was and the context usable, and no two seals
//! may ever report one nonce (two tags under one GCM nonce give away the GHASH key).

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::collections::HashSet;

use warden_client::*;
use warden_e2e::persistent::{Wardend, config};

type P = KeyOperationPermission;

fn key(s: &CryptoStack, alg: Algorithm) -> ResourceGuard {
    let p = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(P::ENCRYPT | P::DECRYPT)
        .build()
        .unwrap();
    s.key_management().generate_key(&p).unwrap()
}

fn cfg(alg: Algorithm, k: &ResourceGuard, dir: CipherDirection) -> ContextConfig {
    ContextConfig::builder()
        .algorithm(alg)
        .key(k.id())
        .direction(dir)
        .timeout(Timeout::Disabled)
        .build()
        .unwrap()
}

fn fill(buf: &mut [u8], seed: u8) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(seed);
    }
}

#[test]
fn hostile_in_place_seals_leave_the_region_and_context_sound_and_never_repeat_a_nonce() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let c = d.stack_config().dedicated_connection(false);
    let s = CryptoStack::connect(c.clone()).unwrap();
    let mem = MemoryAllocator::connect(c).unwrap();
    for (key_alg, alg) in [
        (Algorithm::Aes256Key, Algorithm::Aes256Gcm),
        (Algorithm::ChaCha20Key, Algorithm::ChaCha20Poly1305),
    ] {
        let k = key(&s, key_alg);
        let mut seal = s
            .create_aead_context(&cfg(alg, &k, CipherDirection::Encrypt))
            .unwrap();
        let mut open = s
            .create_aead_context(&cfg(alg, &k, CipherDirection::Decrypt))
            .unwrap();
        let size = 8192;
        let mut r = mem.allocate(size).unwrap();
        let mut nonces = HashSet::new();
        let mut fresh = |n: &[u8]| assert!(nonces.insert(n.to_vec()), "{alg:?}: nonce reused");
        let mut pristine = vec![0u8; size];
        fill(&mut pristine, 7);
        r.as_mut_slice().copy_from_slice(&pristine);

        // A context in the middle of the client's own stream: refused, region untouched,
        // and the stream still finishes (and opens) afterwards.
        seal.init(&[]).unwrap();
        seal.set_aad(b"mid").unwrap();
        let whole = r.slice(0..100).unwrap();
        let e = seal.seal_region(&mut r, b"", whole, whole).unwrap_err();
        assert_eq!(e.code(), ErrorCode::StreamAlreadyActive, "{alg:?}");
        assert!(
            r.as_slice() == &pristine[..],
            "{alg:?}: mid-stream refusal wrote"
        );
        let ct = seal.finalize(b"streamed").unwrap();
        let (n0, t0) = (seal.nonce().to_vec(), seal.tag().to_vec());
        fresh(&n0);
        open.init(&n0).unwrap();
        open.set_aad(b"mid").unwrap();
        open.set_tag(&t0);
        assert_eq!(open.finalize(&ct).unwrap(), b"streamed");

        // Output shorter than the input, output or input past the region's end, offsets
        // that overflow: refused before anything is written; the context stays usable.
        // (`unchecked_slice`: the client library would refuse the out-of-range ones itself.)
        let sz = size as u64;
        for ((io, il), (oo, ol)) in [
            ((0, 100), (0, 50)),
            ((sz - 96, 96), (sz - 96, 100)),
            ((sz - 96, 100), (sz - 96, 100)),
            ((sz, 1), (sz, 1)),
            ((u64::MAX - 10, 100), (u64::MAX - 10, 100)),
            ((16, u64::MAX), (16, u64::MAX)),
        ] {
            let (i, o) = (r.unchecked_slice(io, il), r.unchecked_slice(oo, ol));
            let e = seal.seal_region(&mut r, b"", i, o).unwrap_err();
            assert!(
                matches!(
                    e.code(),
                    ErrorCode::InsufficientBufferSize | ErrorCode::InvalidMemoryRegion
                ),
                "{alg:?} {io}+{il} -> {oo}+{ol}: {e}"
            );
            assert!(r.as_slice() == &pristine[..], "{alg:?}: refusal wrote");
        }
        // A tag or a separate last piece given to an encryption in place cannot be sent
        // through the client API; the daemon-side refusals are covered by the unit tests.

        // Output longer than the input: only the input's bytes change.
        let (i, o) = (r.slice(0..100).unwrap(), r.slice(0..300).unwrap());
        let sealed = seal.seal_region(&mut r, b"long", i, o).unwrap();
        assert_eq!(sealed.len, 100);
        fresh(&sealed.nonce);
        assert!(
            r.as_slice()[100..] == pristine[100..],
            "{alg:?}: wrote past the input"
        );
        open.open_region(&mut r, &sealed.nonce, b"long", i, &sealed.tag, i)
            .unwrap();
        assert!(
            r.as_slice() == &pristine[..],
            "{alg:?}: in place round trip"
        );

        // At the region's very end, and an empty message there.
        for range in [size - 16..size, size..size] {
            let at = r.slice(range.clone()).unwrap();
            let sealed = seal.seal_region(&mut r, b"end", at, at).unwrap();
            fresh(&sealed.nonce);
            assert_eq!(sealed.len, range.len());
            open.open_region(&mut r, &sealed.nonce, b"end", at, &sealed.tag, at)
                .unwrap();
            assert!(r.as_slice() == &pristine[..], "{alg:?}: at the end");
        }

        // The same range sealed over and over (each seal encrypts the previous ciphertext):
        // every seal reports a nonce of its own, and unwinding them restores the plaintext.
        let at = r.slice(0..4096).unwrap();
        let mut chain = Vec::new();
        for _ in 0..16 {
            let sealed = seal.seal_region(&mut r, b"again", at, at).unwrap();
            fresh(&sealed.nonce);
            chain.push(sealed);
        }
        for sealed in chain.iter().rev() {
            open.open_region(&mut r, &sealed.nonce, b"again", at, &sealed.tag, at)
                .unwrap();
        }
        assert!(r.as_slice() == &pristine[..], "{alg:?}: chain unwound");

        // Pipelined: one batch seals the same range in place twice, then once more out of
        // place into a second range, with a short output between them. Each job is done in
        // order on what the previous one left, each under its own nonce; the refused job
        // writes nothing and the later ones still run.
        let (a, b, short) = (
            r.slice(0..1000).unwrap(),
            r.slice(4096..5096).unwrap(),
            r.slice(0..10).unwrap(),
        );
        let job = |input, output| SealJob {
            aad: b"batch",
            input,
            output,
        };
        let results = seal
            .seal_regions(&mut r, &[job(a, a), job(a, short), job(a, a), job(a, b)])
            .unwrap();
        assert_eq!(
            results[1].as_ref().unwrap_err().code(),
            ErrorCode::InsufficientBufferSize,
            "{alg:?}"
        );
        let [first, second, third] =
            [&results[0], &results[2], &results[3]].map(|x| x.as_ref().unwrap().clone());
        for sealed in [&first, &second, &third] {
            fresh(&sealed.nonce);
        }
        open.open_region(&mut r, &third.nonce, b"batch", b, &third.tag, b)
            .unwrap();
        assert!(
            r.as_slice()[4096..5096] == r.as_slice()[..1000],
            "{alg:?}: third"
        );
        for sealed in [&second, &first] {
            open.open_region(&mut r, &sealed.nonce, b"batch", a, &sealed.tag, a)
                .unwrap();
        }
        assert!(
            r.as_slice()[..4096] == pristine[..4096],
            "{alg:?}: batch unwound"
        );
    }
}

/// Another thread of the client scribbles over the region and punches holes in it (the only
/// resize-like change the seals allow) while the daemon seals over it in place, and over a
/// range at the region's very end: the daemon survives, and each seal has a nonce of its own.
#[test]
fn sealing_in_place_over_a_region_punched_and_rewritten_meanwhile_cannot_hurt_the_daemon() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let c = d.stack_config().dedicated_connection(false);
    let s = CryptoStack::connect(c.clone()).unwrap();
    let mem = MemoryAllocator::connect(c).unwrap();
    let len = 1 << 20;
    let r = mem.allocate(len).unwrap();
    let fd = r.clone_fd().unwrap();
    let mut r = r;
    let stop = AtomicBool::new(false);
    let mut nonces = HashSet::new();
    std::thread::scope(|t| {
        let (stop, fd) = (&stop, &fd);
        t.spawn(move || {
            let mut map =
                warden_shm::Mapping::from_client_fd(fd.try_clone().unwrap(), len as u64, u64::MAX)
                    .unwrap();
            let mut x = 0u8;
            while !stop.load(Ordering::Relaxed) {
                x = x.wrapping_add(1);
                map.as_mut_slice()
                    .iter_mut()
                    .step_by(4093)
                    .for_each(|b| *b = x);
                let _ = rustix::fs::fallocate(
                    fd,
                    rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE,
                    0,
                    len as u64,
                );
            }
        });
        for (key_alg, alg) in [
            (Algorithm::Aes256Key, Algorithm::Aes256Gcm),
            (Algorithm::ChaCha20Key, Algorithm::ChaCha20Poly1305),
        ] {
            let k = key(&s, key_alg);
            let mut seal = s
                .create_aead_context(&cfg(alg, &k, CipherDirection::Encrypt))
                .unwrap();
            let (all, end) = (r.slice(0..len).unwrap(), r.slice(len - 1..len).unwrap());
            for _ in 0..6 {
                for at in [all, end] {
                    let sealed = seal.seal_region(&mut r, b"", at, at).unwrap();
                    assert!(nonces.insert(sealed.nonce), "{alg:?}: nonce reused");
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    s.ping(b"alive").unwrap();
    assert!(!d.stderr().contains("panicked"), "{}", d.stderr());
}
