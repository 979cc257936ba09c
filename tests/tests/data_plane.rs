//! The shared-memory data plane (issue 13) against a real `wardend`: 50 MB one-shot round
//! trips, quotas, descriptors the daemon must refuse, region ids of other connections and
//! other uids, a client that rewrites its region mid-operation, and a killed client whose
//! mappings must all go.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::fs::{MemfdFlags, SealFlags, fcntl_add_seals, ftruncate, memfd_create};
use warden_client::*;
use warden_e2e::persistent::{Wardend, config, is_root, shared_root};

type P = KeyOperationPermission;

const MB50: usize = 50 * 1000 * 1000;
const CHILD_SCRIPT: &str = "WARDEN_E2E_DATA_PLANE_CHILD";
const CHILD_SOCKET: &str = "WARDEN_E2E_DATA_PLANE_SOCKET";
const CHILD_REGION: &str = "WARDEN_E2E_DATA_PLANE_REGION";
const OTHER_UID: u32 = 4310;

fn start(root: &std::path::Path, extra: &str) -> Wardend {
    Wardend::start(root, &format!("{}{extra}", config(&[])))
}

fn key(s: &CryptoStack, alg: Algorithm, perms: P) -> ResourceGuard {
    let p = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(perms)
        .build()
        .unwrap();
    s.key_management().generate_key(&p).unwrap()
}

fn cfg(alg: Algorithm, k: &ResourceGuard, dir: Option<CipherDirection>) -> ContextConfig {
    let mut b = ContextConfig::builder()
        .algorithm(alg)
        .key(k.id())
        .timeout(Timeout::Disabled);
    if let Some(d) = dir {
        b = b.direction(d);
    }
    b.build().unwrap()
}

fn fill(buf: &mut [u8], seed: u8) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(seed);
    }
}

fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

/// Memfd mappings of the daemon process (`/proc/<pid>/maps`).
fn memfd_maps(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("memfd:warden-region"))
        .count()
}

/// A stack and an allocator on one connection (the process's shared one for this socket).
fn pair(d: &Wardend) -> (CryptoStack, MemoryAllocator) {
    let c = d.stack_config().dedicated_connection(false);
    let s = CryptoStack::connect(c.clone()).unwrap();
    (s, MemoryAllocator::connect(c).unwrap())
}

fn live_regions(s: &CryptoStack) -> u64 {
    s.status().unwrap().live_of("region")
}

#[test]
fn fifty_megabytes_seal_open_sign_verify_through_regions() {
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    let (s, mem) = pair(&d);

    // AES-256-GCM and ChaCha20-Poly1305: plaintext | ciphertext | decrypted, one region.
    for (alg, kt) in [
        (Algorithm::Aes256Gcm, Algorithm::Aes256Key),
        (Algorithm::ChaCha20Poly1305, Algorithm::ChaCha20Key),
    ] {
        let k = key(&s, kt, P::ENCRYPT | P::DECRYPT);
        let mut r = mem.allocate(3 * MB50).unwrap();
        fill(&mut r.as_mut_slice()[..MB50], 7);
        let (pt, ct, back) = (
            r.slice(0..MB50).unwrap(),
            r.slice(MB50..2 * MB50).unwrap(),
            r.slice(2 * MB50..3 * MB50).unwrap(),
        );
        let mut seal = s
            .create_aead_context(&cfg(alg, &k, Some(CipherDirection::Encrypt)))
            .unwrap();
        let sealed = seal.seal_region(&mut r, b"aad", pt, ct).unwrap();
        assert_eq!(sealed.len, MB50);
        assert_ne!(r.as_slice()[MB50..MB50 + 64], r.as_slice()[..64]);
        let mut open = s
            .create_aead_context(&cfg(alg, &k, Some(CipherDirection::Decrypt)))
            .unwrap();
        let n = open
            .open_region(&mut r, &sealed.nonce, b"aad", ct, &sealed.tag, back)
            .unwrap();
        assert_eq!(n, MB50);
        assert!(r.as_slice()[..MB50] == r.as_slice()[2 * MB50..], "{alg:?}");

        // A wrong tag: an opaque error, and not one byte of plaintext reaches the region.
        r.as_mut_slice()[2 * MB50..].fill(0xAA);
        let mut bad = sealed.tag.clone();
        bad[0] ^= 1;
        let e = open.open_region(&mut r, &sealed.nonce, b"aad", ct, &bad, back);
        assert_eq!(code(e), ErrorCode::OperationFailed);
        assert!(r.as_slice()[2 * MB50..].iter().all(|&b| b == 0xAA));
        // Input and output overlapping: refused before anything runs.
        let overlap = r.slice(MB50 / 2..MB50 / 2 + MB50).unwrap();
        assert_eq!(
            code(seal.seal_region(&mut r, b"", pt, overlap)),
            ErrorCode::InvalidMemoryRegion
        );
        // The same context seals again (reused contexts, any size).
        seal.seal_region(&mut r, b"", pt, ct).unwrap();
    }

    // Ed25519 and ML-DSA-65 over 50 MB, SLH-DSA over 5 MB: sign, verify, a flipped byte fails.
    let mut r = mem.allocate(MB50).unwrap();
    fill(r.as_mut_slice(), 3);
    for (alg, len) in [
        (Algorithm::Ed25519, MB50),
        (Algorithm::MlDsa65, MB50),
        (Algorithm::SlhDsaSha2_128f, 5_000_000),
    ] {
        let k = key(&s, alg, P::SIGN | P::VERIFY);
        let msg = r.slice(0..len).unwrap();
        let sig = s
            .create_sign_context(&cfg(alg, &k, None))
            .unwrap()
            .sign_region(&r, msg)
            .unwrap();
        let mut v = s.create_verify_context(&cfg(alg, &k, None)).unwrap();
        v.verify_region(&r, msg, &sig).unwrap();
        r.as_mut_slice()[len - 1] ^= 1;
        assert_eq!(
            code(v.verify_region(&r, msg, &sig)),
            ErrorCode::OperationFailed,
            "{alg:?}"
        );
        r.as_mut_slice()[len - 1] ^= 1;
    }
    // Hash over a region equals the inline digest.
    let mut h = s
        .create_hash_context(
            &ContextConfig::builder()
                .algorithm(Algorithm::Sha256)
                .build()
                .unwrap(),
        )
        .unwrap();
    let small = r.slice(0..1000).unwrap();
    let want = h.digest(&r.as_slice()[..1000]).unwrap();
    assert_eq!(h.digest_region(&r, small).unwrap(), want);
}

#[test]
fn region_quotas_give_quota_exceeded() {
    let root = tempfile::tempdir().unwrap();
    let d = start(
        root.path(),
        "[limits]\nregion_bytes_per_connection = 1048576\nregion_bytes_per_uid = 1572864\n\
         region_bytes_total = 4194304\nmax_regions_per_connection = 3\n",
    );
    assert!(
        d.stderr()
            .contains("shared regions mapped: at most 4.0 MiB")
    );
    let mem = MemoryAllocator::connect(d.stack_config()).unwrap();
    let a = mem.allocate(1 << 20).unwrap();
    assert_eq!(
        code(mem.allocate(1)),
        ErrorCode::QuotaExceeded,
        "per connection"
    );
    drop(a);
    // Released bytes come back.
    let small: Vec<_> = (0..3).map(|_| mem.allocate(4096).unwrap()).collect();
    assert_eq!(
        code(mem.allocate(4096)),
        ErrorCode::QuotaExceeded,
        "region count"
    );
    drop(small);
    // Per uid, over two connections.
    let a = mem.allocate(1 << 20).unwrap();
    let other = MemoryAllocator::connect(d.stack_config().dedicated_connection(true)).unwrap();
    let b = other.allocate(512 << 10).unwrap();
    assert_eq!(
        code(other.allocate(4096)),
        ErrorCode::QuotaExceeded,
        "per uid"
    );
    // Client-side quota and usage.
    let capped = other.clone().with_quota(512 << 10);
    assert_eq!(capped.in_use(), 512 << 10);
    assert_eq!(code(capped.allocate(1)), ErrorCode::QuotaExceeded);
    drop((a, b));
    assert_eq!(live_regions(&d.stack()), 0);
}

#[test]
fn the_daemon_refuses_what_is_not_a_shrink_sealed_memfd_of_the_declared_size() {
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    let mem = MemoryAllocator::connect(d.stack_config()).unwrap();
    let refused = |fd: std::os::fd::BorrowedFd<'_>, len: u64| {
        let e = mem.register_fd(fd, len).expect_err("must be refused");
        assert_eq!(e.code(), ErrorCode::InvalidMemoryRegion, "{e}");
    };
    // A regular file, a socket.
    let f = tempfile::tempfile().unwrap();
    f.set_len(4096).unwrap();
    refused(f.as_fd(), 4096);
    let (sock, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    refused(sock.as_fd(), 4096);
    // An unsealed memfd.
    let m = memfd_create(
        "warden-region",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )
    .unwrap();
    ftruncate(&m, 4096).unwrap();
    refused(m.as_fd(), 4096);
    // Sealed, but not the declared size (as if shrunk or grown since).
    fcntl_add_seals(&m, SealFlags::SHRINK | SealFlags::GROW).unwrap();
    refused(m.as_fd(), 8192);
    refused(m.as_fd(), 2048);
    // ...and the sealed one of the right size is accepted; the kernel refuses any resize.
    let id = mem.register_fd(m.as_fd(), 4096).unwrap();
    assert!(ftruncate(&m, 0).is_err() && ftruncate(&m, 8192).is_err());
    mem.release_id(id).unwrap();
    assert_eq!(
        code(mem.release_id(id)),
        ErrorCode::InvalidMemoryRegion,
        "released"
    );
    // Zero length.
    refused(m.as_fd(), 0);
    // The daemon is fine afterwards.
    d.stack().ping(b"still here").unwrap();
}

#[test]
fn region_ids_of_another_connection_or_uid_are_unknown() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = start(root.path(), "");
    let (s, mem) = pair(&d);
    let mut r = mem.allocate(4096).unwrap();
    let k = key(&s, Algorithm::Ed25519, P::SIGN);
    let msg = r.slice(0..100).unwrap();
    s.create_sign_context(&cfg(Algorithm::Ed25519, &k, None))
        .unwrap()
        .sign_region(&r, msg)
        .unwrap();
    // Another connection of the same uid: the id means nothing there, like a made-up one.
    let other = MemoryAllocator::connect(d.stack_config().dedicated_connection(true)).unwrap();
    assert_eq!(
        code(other.release_id(r.id())),
        ErrorCode::InvalidMemoryRegion
    );
    assert_eq!(
        code(other.release_id(r.id() ^ 1)),
        ErrorCode::InvalidMemoryRegion
    );
    // The client library refuses to use a region on a stack of another connection.
    let s2 = CryptoStack::connect(d.stack_config().dedicated_connection(true)).unwrap();
    let k2 = key(&s2, Algorithm::Ed25519, P::SIGN);
    let e = s2
        .create_sign_context(&cfg(Algorithm::Ed25519, &k2, None))
        .unwrap()
        .sign_region(&r, msg);
    assert_eq!(code(e), ErrorCode::InvalidArgument);
    // Another uid, using and releasing our id on its own connection.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "data_plane_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD_SCRIPT, "foreign-id")
        .env(CHILD_SOCKET, &d.socket)
        .env(CHILD_REGION, r.id().to_string())
        .uid(OTHER_UID)
        .gid(0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-DONE foreign-id"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Our region is untouched and still ours.
    r.as_mut_slice()[0] = 1;
    mem.release_id(r.id()).unwrap();
}

#[test]
fn a_killed_client_leaves_nothing_mapped() {
    let root = shared_root();
    let d = start(root.path(), "");
    let s = d.stack();
    assert_eq!(memfd_maps(d.pid()), 0);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "data_plane_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD_SCRIPT, "hold")
        .env(CHILD_SOCKET, &d.socket)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let l = lines.next().expect("child ended early").unwrap();
        if l.contains("CHILD-READY") {
            break;
        }
    }
    assert_eq!(memfd_maps(d.pid()), 3, "three regions mapped in wardend");
    assert_eq!(live_regions(&s), 3);
    child.kill().unwrap();
    child.wait().unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while (memfd_maps(d.pid()) > 0 || live_regions(&s) > 0) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        memfd_maps(d.pid()),
        0,
        "every mapping went with the connection"
    );
    assert_eq!(live_regions(&s), 0);
}

#[test]
fn rewriting_region_bytes_mid_operation_cannot_hurt_the_daemon() {
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    let (s, mem) = pair(&d);
    let len = 1 << 20;
    let mut r = mem.allocate(2 * len).unwrap();
    let fd = r.clone_fd().unwrap();
    // Another thread of the client scribbles over the whole region and punches holes in it
    // (the only resize-like change the seals allow) while operations run.
    let stop = AtomicBool::new(false);
    std::thread::scope(|t| {
        let stop = &stop;
        let fd = &fd;
        t.spawn(move || {
            let map = warden_shm::Mapping::from_client_fd(
                fd.try_clone().unwrap(),
                2 * len as u64,
                u64::MAX,
            )
            .unwrap();
            let mut map = map;
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
                    (2 * len) as u64,
                );
            }
        });
        let kd = key(&s, Algorithm::Aes256Key, P::ENCRYPT | P::DECRYPT);
        let ks = key(&s, Algorithm::Ed25519, P::SIGN | P::VERIFY);
        let mut seal = s
            .create_aead_context(&cfg(
                Algorithm::Aes256Gcm,
                &kd,
                Some(CipherDirection::Encrypt),
            ))
            .unwrap();
        let mut open = s
            .create_aead_context(&cfg(
                Algorithm::Aes256Gcm,
                &kd,
                Some(CipherDirection::Decrypt),
            ))
            .unwrap();
        let mut sign = s
            .create_sign_context(&cfg(Algorithm::Ed25519, &ks, None))
            .unwrap();
        let (a, b) = (r.slice(0..len).unwrap(), r.slice(len..2 * len).unwrap());
        for _ in 0..4 {
            let sealed = seal.seal_region(&mut r, b"", a, b).unwrap();
            // Opening what was scribbled over fails (or, rarely, succeeds): never crashes.
            let _ = open.open_region(&mut r, &sealed.nonce, b"", b, &sealed.tag, a);
            sign.sign_region(&r, a).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
    });
    s.ping(b"alive").unwrap();
    assert!(d.stderr().is_empty() || !d.stderr().contains("panicked"));
}

fn aes_import(perms: P, exportable: bool) -> ImportKeyParams {
    ImportKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(perms)
        .exportable(exportable)
        .format(KeyFormat::Raw)
        .build()
        .unwrap()
}

#[test]
fn key_bytes_round_trip_through_regions() {
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    let (s, mem) = pair(&d);
    let km = s.key_management();
    let mut r = mem.allocate(8192).unwrap();
    r.as_mut_slice().fill(0xEE);
    let material: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(7) ^ 0x5A);
    r.as_mut_slice()[..32].copy_from_slice(&material);

    // Import from a region: the key is the region's bytes.
    let imp = aes_import(P::ENCRYPT | P::DECRYPT | P::EXPORT, true);
    let k = km
        .import_key_region(&imp, &r, r.slice(0..32).unwrap())
        .unwrap();
    assert_eq!(&km.export_secret_key(k.id()).unwrap()[..], &material);

    // Secret export into a region: exactly the key, at the start of the range, nothing
    // around it touched.
    let at = r.slice(1000..1100).unwrap();
    let n = km.export_secret_key_region(k.id(), &mut r, at).unwrap();
    assert_eq!(n, 32);
    assert_eq!(r.as_slice()[1000..1032], material);
    assert!(r.as_slice()[1032..1100].iter().all(|&b| b == 0xEE));
    assert_eq!(r.as_slice()[999], 0xEE);

    // Public export into a region equals the inline export.
    let ed = key(&s, Algorithm::Ed25519, P::SIGN | P::VERIFY);
    let want = km.export_public_key(ed.id(), None).unwrap();
    let at = r.slice(2000..2200).unwrap();
    let n = km
        .export_public_key_region(ed.id(), None, &mut r, at)
        .unwrap();
    assert_eq!(r.as_slice()[2000..2000 + n], want[..]);

    // Wrap into a region (AES-KW is deterministic: equals the inline wrap), unwrap from it.
    let kek = key(&s, Algorithm::Aes256Key, P::WRAP | P::UNWRAP);
    let wp = WrapKeyParams::new(Algorithm::Aes256Kw).unwrap();
    let inline = km.wrap_key(kek.id(), k.id(), &wp).unwrap();
    let at = r.slice(3000..3100).unwrap();
    let n = km
        .wrap_key_region(kek.id(), k.id(), &wp, &mut r, at)
        .unwrap();
    assert_eq!(n, 40);
    assert_eq!(r.as_slice()[3000..3040], inline[..]);
    let up = UnwrapKeyParams::builder()
        .algorithm(Algorithm::Aes256Kw)
        .unwrapped_algorithm(Algorithm::Aes256Key)
        .permissions(P::EXPORT)
        .exportable(true)
        .build()
        .unwrap();
    let wrapped = r.slice(3000..3040).unwrap();
    let back = km.unwrap_key_region(kek.id(), &r, wrapped, &up).unwrap();
    assert_eq!(&km.export_secret_key(back.id()).unwrap()[..], &material);
    // Straight into slots, from the same region bytes.
    km.import_key_into_region("from.region", &imp, &r, r.slice(0..32).unwrap())
        .unwrap();
    km.unwrap_key_into_region("unwrapped.region", kek.id(), &r, wrapped, &up)
        .unwrap();
    for slot in ["from.region", "unwrapped.region"] {
        let k = km.resolve(slot).unwrap();
        assert_eq!(
            &km.export_secret_key(k.id()).unwrap()[..],
            &material,
            "{slot}"
        );
    }
    // A changed byte in the region: the integrity check fails, no key is made.
    r.as_mut_slice()[3010] ^= 1;
    assert_eq!(
        code(km.unwrap_key_region(kek.id(), &r, wrapped, &up)),
        ErrorCode::WrapUnwrapFailed
    );
    assert_eq!(
        code(km.unwrap_key_into_region("bad.region", kek.id(), &r, wrapped, &up)),
        ErrorCode::WrapUnwrapFailed
    );
    assert_eq!(code(km.slot_info("bad.region")), ErrorCode::AccessDenied);
}

#[test]
fn key_bytes_through_regions_get_the_same_checks_and_region_errors() {
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    let (s, mem) = pair(&d);
    let km = s.key_management();
    let mut r = mem.allocate(8192).unwrap();
    r.as_mut_slice().fill(0xEE);
    let untouched = |r: &MemoryRegion| r.as_slice().iter().all(|&b| b == 0xEE);
    let out = r.slice(0..100).unwrap();

    // Exportability and the Export bit are checked as for an inline export; the region
    // receives nothing.
    let material = [7u8; 32];
    let locked = km
        .import_key(&aes_import(P::EXPORT | P::ENCRYPT, false), &material)
        .unwrap();
    assert_eq!(
        code(km.export_secret_key(locked.id())),
        ErrorCode::KeyNotExportable
    );
    assert_eq!(
        code(km.export_secret_key_region(locked.id(), &mut r, out)),
        ErrorCode::KeyNotExportable
    );
    let no_bit = km
        .import_key(&aes_import(P::ENCRYPT, true), &material)
        .unwrap();
    let inline_code = code(km.export_secret_key(no_bit.id()));
    assert!(matches!(
        inline_code,
        ErrorCode::KeyNotExportable | ErrorCode::KeyOperationNotPermitted
    ));
    assert_eq!(
        code(km.export_secret_key_region(no_bit.id(), &mut r, out)),
        inline_code
    );
    let kek = key(&s, Algorithm::Aes256Key, P::ENCRYPT);
    let wp = WrapKeyParams::new(Algorithm::Aes256Kw).unwrap();
    assert_eq!(
        code(km.wrap_key_region(kek.id(), no_bit.id(), &wp, &mut r, out)),
        code(km.wrap_key(kek.id(), no_bit.id(), &wp))
    );
    assert!(untouched(&r));

    // An output range too small: InsufficientBufferSize, nothing written.
    let ok = km
        .import_key(&aes_import(P::EXPORT, true), &material)
        .unwrap();
    let short = r.slice(0..31).unwrap();
    assert_eq!(
        code(km.export_secret_key_region(ok.id(), &mut r, short)),
        ErrorCode::InsufficientBufferSize
    );
    assert!(untouched(&r));

    // Ranges outside the region (the client's own check bypassed): InvalidMemoryRegion,
    // as for context payloads.
    let imp = aes_import(P::EXPORT, true);
    for (off, len) in [(8192 - 16, 32), (u64::MAX, 2), (8193, 0)] {
        let bad = r.unchecked_slice(off, len);
        assert_eq!(
            code(km.export_secret_key_region(ok.id(), &mut r, bad)),
            ErrorCode::InvalidMemoryRegion,
            "{off} {len}"
        );
        assert_eq!(
            code(km.import_key_region(&imp, &r, bad)),
            ErrorCode::InvalidMemoryRegion
        );
    }
    let up = UnwrapKeyParams::builder()
        .algorithm(Algorithm::Aes256Kw)
        .unwrapped_algorithm(Algorithm::Aes256Key)
        .permissions(P::EXPORT)
        .build()
        .unwrap();
    let wrapper = key(&s, Algorithm::Aes256Key, P::WRAP | P::UNWRAP);
    assert_eq!(
        code(km.unwrap_key_region(wrapper.id(), &r, r.unchecked_slice(8180, 40), &up)),
        ErrorCode::InvalidMemoryRegion
    );
    let past_end = r.unchecked_slice(8190, 40);
    assert_eq!(
        code(km.wrap_key_region(wrapper.id(), ok.id(), &wp, &mut r, past_end)),
        ErrorCode::InvalidMemoryRegion
    );
    assert!(untouched(&r));

    // Key bytes above 64 KiB from a region are refused before any copy.
    let mut big = mem.allocate(80 << 10).unwrap();
    assert_eq!(
        code(km.import_key_region(&imp, &big, big.slice(0..(64 << 10) + 1).unwrap())),
        ErrorCode::InvalidArgument
    );
    // A region id this connection no longer has (the same error as another connection's).
    let gone = big.slice(0..32).unwrap();
    mem.release_id(big.id()).unwrap();
    assert_eq!(
        code(km.import_key_region(&imp, &big, gone)),
        ErrorCode::InvalidMemoryRegion
    );
    assert_eq!(
        code(km.export_secret_key_region(ok.id(), &mut big, gone)),
        ErrorCode::InvalidMemoryRegion
    );
    // A region of another connection: refused by the client library.
    let other = MemoryAllocator::connect(d.stack_config().dedicated_connection(true)).unwrap();
    let mut foreign = other.allocate(4096).unwrap();
    let f = foreign.slice(0..64).unwrap();
    assert_eq!(
        code(km.export_secret_key_region(ok.id(), &mut foreign, f)),
        ErrorCode::InvalidArgument
    );
    assert!(foreign.as_slice().iter().all(|&b| b == 0));
    s.ping(b"still serving").unwrap();
}

/// Another uid holding a slot grant without Export cannot export the key into its own region
/// (the slot rights are checked as for an inline export); with Export it can.
#[test]
fn a_grantee_exports_into_a_region_only_with_the_export_grant() {
    if !is_root() {
        println!("SKIPPED: needs root to run a client as another uid");
        return;
    }
    let root = shared_root();
    let d = start(root.path(), "");
    let km = d.stack().key_management();
    let aes = GenerateKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(P::ENCRYPT | P::EXPORT)
        .exportable(true)
        .build()
        .unwrap();
    km.generate_key_into("no-export", &aes).unwrap();
    km.generate_key_into("export", &aes).unwrap();
    km.grant("no-export", OTHER_UID, P::ENCRYPT).unwrap();
    km.grant("export", OTHER_UID, P::ENCRYPT | P::EXPORT)
        .unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "data_plane_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD_SCRIPT, "slot-export")
        .env(CHILD_SOCKET, &d.socket)
        .env(CHILD_REGION, warden_e2e::persistent::my_uid().to_string())
        .uid(OTHER_UID)
        .gid(0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-DONE slot-export"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs inside a child process (see the tests above); ignored when run directly.
#[test]
#[ignore = "runs as a child of the data-plane tests"]
fn data_plane_child() {
    let Ok(script) = std::env::var(CHILD_SCRIPT) else {
        return;
    };
    let socket = std::env::var(CHILD_SOCKET).unwrap();
    let config = StackConfig::new()
        .socket_path(&socket)
        .trusted_daemon_uids([0]);
    match script.as_str() {
        "foreign-id" => {
            let id: u64 = std::env::var(CHILD_REGION).unwrap().parse().unwrap();
            let mem = MemoryAllocator::connect(config).unwrap();
            assert_eq!(code(mem.release_id(id)), ErrorCode::InvalidMemoryRegion);
            assert_eq!(
                code(mem.release_id(id ^ 0xFF)),
                ErrorCode::InvalidMemoryRegion
            );
        }
        "slot-export" => {
            let owner = std::env::var(CHILD_REGION).unwrap();
            let s = CryptoStack::connect(config.clone()).unwrap();
            let mem = MemoryAllocator::for_stack(&s);
            let km = s.key_management();
            let mut r = mem.allocate(4096).unwrap();
            let at = r.slice(0..64).unwrap();
            let denied = km.resolve(&format!("{owner}/no-export")).unwrap();
            let inline = code(km.export_secret_key(denied.id()));
            assert_ne!(inline, ErrorCode::InvalidMemoryRegion);
            assert_eq!(
                code(km.export_secret_key_region(denied.id(), &mut r, at)),
                inline
            );
            assert!(r.as_slice().iter().all(|&b| b == 0), "nothing written");
            let allowed = km.resolve(&format!("{owner}/export")).unwrap();
            let n = km
                .export_secret_key_region(allowed.id(), &mut r, at)
                .unwrap();
            assert_eq!(
                r.as_slice()[..n],
                km.export_secret_key(allowed.id()).unwrap()[..]
            );
        }
        "hold" => {
            let mem = MemoryAllocator::connect(config).unwrap();
            let held: Vec<_> = (0..3).map(|_| mem.allocate(1 << 20).unwrap()).collect();
            println!("CHILD-READY");
            std::thread::sleep(Duration::from_secs(60));
            drop(held);
        }
        other => panic!("unknown script {other}"),
    }
    println!("CHILD-DONE {script}");
}

/// `warden` next to `wardend`.
fn warden_bin() -> std::path::PathBuf {
    let p = warden_e2e::wardend_path().unwrap().with_file_name("warden");
    assert!(p.is_file(), "warden binary not found at {}", p.display());
    p
}

fn cli(d: &Wardend, args: &[&str], code: i32) -> Vec<u8> {
    let out = Command::new(warden_bin())
        .arg("--socket")
        .arg(&d.socket)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "warden {args:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A file that grows while the CLI reads it into a region is refused (exit 4, saying so),
/// not signed or encrypted in part: the size found before reading must still hold after.
#[test]
fn a_file_that_grows_while_it_is_read_is_refused_not_used_in_part() {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    cli(
        &d,
        &["key", "generate", "--alg", "ED25519", "--slot", "g"],
        0,
    );
    cli(
        &d,
        &["key", "generate", "--alg", "AES-256", "--slot", "a"],
        0,
    );
    for cmd in ["sign", "encrypt"] {
        let path = root.path().join(format!("growing-{cmd}"));
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        // Appends without pause until the CLI is done.
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let appender = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    f.write_all(&[1u8; 16]).unwrap();
                }
            })
        };
        let out = Command::new(warden_bin())
            .arg("--socket")
            .arg(&d.socket)
            .args([cmd, "--slot", if cmd == "sign" { "g" } else { "a" }])
            .args(["--in", path.to_str().unwrap(), "--out", "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        stop.store(true, Ordering::Relaxed);
        appender.join().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{cmd}: {err}");
        assert!(
            err.contains("changed size while it was read"),
            "{cmd}: {err}"
        );
    }
}

#[test]
fn the_cli_signs_verifies_encrypts_and_decrypts_a_50_mb_file() {
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    let dir = tempfile::tempdir().unwrap();
    let f = |n: &str| dir.path().join(n).to_str().unwrap().to_owned();
    let mut big = vec![0u8; MB50];
    fill(&mut big, 11);
    std::fs::write(f("big"), &big).unwrap();
    let mut tampered = big.clone();
    tampered[MB50 / 2] ^= 1;
    std::fs::write(f("tampered"), &tampered).unwrap();

    for (alg, slot) in [("ED25519", "big.ed"), ("ML-DSA-65", "big.mldsa")] {
        cli(&d, &["key", "generate", "--alg", alg, "--slot", slot], 0);
        cli(
            &d,
            &[
                "sign",
                "--slot",
                slot,
                "--in",
                &f("big"),
                "--out",
                &f("sig"),
            ],
            0,
        );
        cli(
            &d,
            &[
                "verify",
                "--slot",
                slot,
                "--sig",
                &f("sig"),
                "--in",
                &f("big"),
            ],
            0,
        );
        cli(
            &d,
            &[
                "verify",
                "--slot",
                slot,
                "--sig",
                &f("sig"),
                "--in",
                &f("tampered"),
            ],
            1,
        );
    }
    // Ed25519 (RFC 8032, pure) checks out with openssl over the raw 50 MB message.
    cli(
        &d,
        &[
            "sign",
            "--slot",
            "big.ed",
            "--in",
            &f("big"),
            "--out",
            &f("sig"),
        ],
        0,
    );
    let pem = cli(&d, &["key", "public", "--slot", "big.ed"], 0);
    std::fs::write(f("pub.pem"), pem).unwrap();
    match Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            &f("pub.pem"),
            "-rawin",
        ])
        .args(["-in", &f("big"), "-sigfile", &f("sig")])
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "openssl: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => println!("SKIPPED openssl cross-check: {e}"),
    }

    cli(
        &d,
        &["key", "generate", "--alg", "AES-256", "--slot", "big.aes"],
        0,
    );
    cli(
        &d,
        &[
            "encrypt",
            "--slot",
            "big.aes",
            "--aad",
            "h",
            "--in",
            &f("big"),
            "--out",
            &f("ct"),
        ],
        0,
    );
    let ct = std::fs::read(f("ct")).unwrap();
    assert_eq!(ct.len(), MB50 + 12 + 16);
    cli(
        &d,
        &[
            "decrypt",
            "--slot",
            "big.aes",
            "--aad",
            "h",
            "--in",
            &f("ct"),
            "--out",
            &f("back"),
        ],
        0,
    );
    assert!(std::fs::read(f("back")).unwrap() == big);
    // Wrong AAD: exit 1, no plaintext written.
    cli(
        &d,
        &[
            "decrypt",
            "--slot",
            "big.aes",
            "--aad",
            "x",
            "--in",
            &f("ct"),
            "--out",
            &f("no"),
        ],
        1,
    );
    assert!(!std::path::Path::new(&f("no")).exists());
}

#[test]
fn ctr_and_cbc_round_trip_through_regions() {
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    let (s, mem) = pair(&d);
    let len = 300_000; // beyond one frame
    let k = key(&s, Algorithm::Aes256Key, P::ENCRYPT | P::DECRYPT);
    for alg in [Algorithm::Aes256Ctr, Algorithm::Aes256CbcPkcs7] {
        let mut r = mem.allocate(3 * len + 64).unwrap();
        fill(&mut r.as_mut_slice()[..len], 9);
        let (pt, ct) = (
            r.slice(0..len).unwrap(),
            r.slice(len..2 * len + 32).unwrap(),
        );
        let mut enc = s
            .create_cipher_context(&cfg(alg, &k, Some(CipherDirection::Encrypt)))
            .unwrap();
        let n = enc.apply_region(&mut r, &[], pt, ct).unwrap();
        let iv = enc.iv().to_vec();
        assert!(n >= len && n <= len + 16, "{alg:?}: {n}");
        let mut dec = s
            .create_cipher_context(&cfg(alg, &k, Some(CipherDirection::Decrypt)))
            .unwrap();
        let back = r.slice(2 * len + 32..3 * len + 64).unwrap();
        let ct = r.slice(len..len + n).unwrap();
        assert_eq!(dec.apply_region(&mut r, &iv, ct, back).unwrap(), len);
        assert!(
            r.as_slice()[..len] == r.as_slice()[2 * len + 32..3 * len + 32],
            "{alg:?}"
        );
    }
}

/// Decryption may write over its own input (in place): the daemon decrypts a private copy,
/// so the plaintext is right, and on a wrong tag the region still holds the ciphertext,
/// untouched. Partly overlapping ranges work too. AEAD encryption works exactly in place
/// (output range starting at the input); any other overlap of an encryption is refused.
#[test]
fn aead_works_in_place_and_a_wrong_tag_leaves_the_ciphertext() {
    let root = tempfile::tempdir().unwrap();
    let d = start(root.path(), "");
    let (s, mem) = pair(&d);
    let len = 3_000_000; // far beyond one frame, beyond the kept scratch
    for (key_alg, alg) in [
        (Algorithm::Aes256Key, Algorithm::Aes256Gcm),
        (Algorithm::ChaCha20Key, Algorithm::ChaCha20Poly1305),
    ] {
        let k = key(&s, key_alg, P::ENCRYPT | P::DECRYPT);
        let mut r = mem.allocate(2 * len + 100).unwrap();
        let mut want = vec![0u8; len];
        fill(&mut want, 21);
        r.as_mut_slice()[..len].copy_from_slice(&want);
        let (pt, ct) = (r.slice(0..len).unwrap(), r.slice(len..2 * len).unwrap());
        let mut seal = s
            .create_aead_context(&cfg(alg, &k, Some(CipherDirection::Encrypt)))
            .unwrap();
        // Sealed in place, then the same plaintext sealed out of place: both open.
        let sealed_in_place = seal.seal_region(&mut r, b"in place", pt, pt).unwrap();
        assert_eq!(sealed_in_place.len, len);
        assert!(
            r.as_slice()[..len] != want[..],
            "{alg:?}: sealed where it lay"
        );
        let mut open = s
            .create_aead_context(&cfg(alg, &k, Some(CipherDirection::Decrypt)))
            .unwrap();
        let (nonce, tag) = (&sealed_in_place.nonce, &sealed_in_place.tag);
        open.open_region(&mut r, nonce, b"in place", pt, tag, pt)
            .unwrap();
        assert!(
            r.as_slice()[..len] == want[..],
            "{alg:?}: in place both ways"
        );
        let sealed = seal.seal_region(&mut r, b"in place", pt, ct).unwrap();
        // Partly overlapping, or the output starting inside the input: refused.
        for (i, o) in [(0..len, 1..len + 1), (1..len + 1, 0..len)] {
            let (i, o) = (r.slice(i).unwrap(), r.slice(o).unwrap());
            assert_eq!(
                code(seal.seal_region(&mut r, b"", i, o)),
                ErrorCode::InvalidMemoryRegion,
                "{alg:?}"
            );
        }
        // A wrong tag in place: opaque error, the ciphertext still there, byte for byte.
        let ciphertext = r.as_slice()[len..2 * len].to_vec();
        let mut bad = sealed.tag.clone();
        bad[0] ^= 1;
        let e = open.open_region(&mut r, &sealed.nonce, b"in place", ct, &bad, ct);
        assert_eq!(code(e), ErrorCode::OperationFailed, "{alg:?}");
        assert!(r.as_slice()[len..2 * len] == ciphertext[..], "{alg:?}");
        // Exactly in place.
        let n = open
            .open_region(&mut r, &sealed.nonce, b"in place", ct, &sealed.tag, ct)
            .unwrap();
        assert_eq!(n, len);
        assert!(r.as_slice()[len..2 * len] == want[..], "{alg:?} in place");
        // Partly overlapping: the ciphertext moved 100 bytes on, the plaintext lands at `len`.
        r.as_mut_slice()[len + 100..2 * len + 100].copy_from_slice(&ciphertext);
        let (moved, out) = (
            r.slice(len + 100..2 * len + 100).unwrap(),
            r.slice(len..2 * len).unwrap(),
        );
        let n = open
            .open_region(&mut r, &sealed.nonce, b"in place", moved, &sealed.tag, out)
            .unwrap();
        assert_eq!(n, len);
        assert!(
            r.as_slice()[len..2 * len] == want[..],
            "{alg:?} overlapping"
        );
    }
    // CBC decryption in place (padding checked before anything is written).
    let k = key(&s, Algorithm::Aes256Key, P::ENCRYPT | P::DECRYPT);
    let mut r = mem.allocate(2 * len + 32).unwrap();
    let mut want = vec![0u8; len];
    fill(&mut want, 5);
    r.as_mut_slice()[..len].copy_from_slice(&want);
    let (pt, ct) = (
        r.slice(0..len).unwrap(),
        r.slice(len..2 * len + 32).unwrap(),
    );
    let alg = Algorithm::Aes256CbcPkcs7;
    let mut enc = s
        .create_cipher_context(&cfg(alg, &k, Some(CipherDirection::Encrypt)))
        .unwrap();
    let n = enc.apply_region(&mut r, &[], pt, ct).unwrap();
    let iv = enc.iv().to_vec();
    let ct = r.slice(len..len + n).unwrap();
    let mut dec = s
        .create_cipher_context(&cfg(alg, &k, Some(CipherDirection::Decrypt)))
        .unwrap();
    assert_eq!(dec.apply_region(&mut r, &iv, ct, ct).unwrap(), len);
    assert!(r.as_slice()[len..2 * len] == want[..]);
    // CBC encryption grows by its padding: never in place.
    let (pt, same) = (r.slice(0..len).unwrap(), r.slice(0..len + 16).unwrap());
    assert_eq!(
        code(enc.apply_region(&mut r, &[], pt, same)),
        ErrorCode::InvalidMemoryRegion
    );
}
