//! Red-team pass 2: answers the client library reads stay nowhere in its memory once the
//! caller has dropped (and wiped) what it was given.
//!
//! Answers are decoded where they were received, and the consumed bytes of the read buffer
//! are wiped before the rest shifts down (until 2026-12-07 each body was first copied into a
//! `WipedBytes`, wiped on drop). But the read buffer grows as a frame
//! arrives (it starts at 4 KiB): growing moved the part already read to a new allocation and
//! freed the old one unwiped, and shifting a following frame down left its old bytes behind
//! the buffer's end. An answer over 4 KiB (a decryption, an exported ML-DSA key) left its
//! first 4 KiB in freed heap memory, where a core dump or a later bug could find it.
//!
//! The check decrypts, through the daemon, a message whose plaintext exists in this process
//! only as the daemon's answer (it is encrypted here in place), wipes what the call returned,
//! then searches this process's writable anonymous memory for any 64-byte run of it. The
//! plaintext is a computed sequence, so the search holds no copy of what it looks for.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::os::unix::fs::FileExt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use warden_client::*;
use warden_e2e::persistent::{Wardend, config};

const LEN: usize = 16 * 1024;
const RUN: usize = 64;

/// Byte `i` of the plaintext: period 251 (a prime), so any 64 bytes say where they are.
fn p(i: usize) -> u8 {
    ((i * 7 + 3) % 251) as u8
}

/// Whether `m[j..j + RUN]` is a run of the plaintext.
fn run_at(m: &[u8], j: usize) -> bool {
    let Some(&first) = m.get(j) else {
        return false;
    };
    if first >= 251 {
        return false;
    }
    // p(i) = 7i + 3 (mod 251): the phase k with p(k) = first; 36 is 7⁻¹ mod 251.
    let k = ((usize::from(first) + 251 - 3) * 36) % 251;
    (1..RUN).all(|t| m.get(j + t) == Some(&p(k + t)))
}

/// Runs of the plaintext in this process's writable anonymous mappings (heap, thread
/// stacks and arenas).
fn runs_in_memory() -> usize {
    let mut maps = String::new();
    std::fs::File::open("/proc/self/maps")
        .unwrap()
        .read_to_string(&mut maps)
        .unwrap();
    let mem = std::fs::File::open("/proc/self/mem").unwrap();
    let mut found = 0;
    for line in maps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let anonymous = f.len() == 5 || f.get(5).is_some_and(|p| *p == "[heap]");
        if f.get(1).is_none_or(|perm| !perm.starts_with("rw")) || !anonymous {
            continue;
        }
        let (start, end) = f[0].split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let mut buf = vec![0u8; (end - start) as usize];
        if mem.read_exact_at(&mut buf, start).is_err() {
            continue;
        }
        let mut j = 0;
        while j + RUN <= buf.len() {
            if run_at(&buf, j) {
                found += 1;
                j += RUN;
            } else {
                j += 1;
            }
        }
        buf.fill(0);
    }
    found
}

/// Zeroes `v` (black_box: the stores are observed, so they stay).
fn wipe(v: &mut [u8]) {
    v.fill(0);
    std::hint::black_box(v);
}

/// Both tests search for the same plaintext: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_decrypted_answer_leaves_no_copy_in_client_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let stack = d.stack();
    let key = [0x42u8; 32];
    let nonce = [9u8; 12];
    let imported = stack
        .key_management()
        .import_key(
            &ImportKeyParams::builder()
                .algorithm(Algorithm::Aes256Key)
                .permissions(KeyOperationPermission::DECRYPT)
                .format(KeyFormat::Raw)
                .build()
                .unwrap(),
            &key,
        )
        .unwrap();
    // Encrypted here, in place: the plaintext is gone from this buffer afterwards.
    let mut ct: Vec<u8> = (0..LEN).map(p).collect();
    let sealer = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let tag = sealer
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(b"aad"),
            &mut ct,
        )
        .unwrap();
    assert_eq!(
        runs_in_memory(),
        0,
        "the plaintext is nowhere before the call"
    );

    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Aes256Gcm)
        .key(imported.id())
        .direction(CipherDirection::Decrypt)
        .build()
        .unwrap();
    let mut ctx = stack.create_aead_context(&cfg).unwrap();
    let mut pt = ctx.open(&nonce, b"aad", &ct, tag.as_ref()).unwrap();
    assert!(
        pt.len() == LEN && (0..LEN).all(|i| pt[i] == p(i)),
        "decrypts"
    );
    assert!(
        runs_in_memory() > 0,
        "the search finds the answer while it is held"
    );
    wipe(&mut pt);
    drop(pt);
    let left = runs_in_memory();
    drop(ctx);
    drop(stack);
    assert_eq!(
        left, 0,
        "64-byte runs of a decrypted answer left in the client's memory after the caller \
         wiped its copy"
    );
}

/// The request side: a plaintext sent to be encrypted (or key material to import) was
/// wiped from the frame buffer after sending, but the thread's FlatBuffers builder kept the
/// encoded body (the plaintext whole) until the thread's next request overwrote it.
#[test]
fn a_sealed_request_leaves_no_plaintext_in_client_memory() {
    sealed_request_leaves_no_plaintext(b"aad");
}

/// The same with a 40 KiB AAD: the builder, had it started small, would grow while encoding
/// the request and free its old buffer, with the plaintext already written, unwiped.
#[test]
fn a_sealed_request_with_a_large_aad_leaves_no_plaintext_in_client_memory() {
    sealed_request_leaves_no_plaintext(&vec![0u8; 40 * 1024]);
}

fn sealed_request_leaves_no_plaintext(aad: &[u8]) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let stack = d.stack();
    let key = stack
        .key_management()
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::Aes256Key)
                .permissions(KeyOperationPermission::ENCRYPT)
                .build()
                .unwrap(),
        )
        .unwrap();
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Aes256Gcm)
        .key(key.id())
        .direction(CipherDirection::Encrypt)
        .build()
        .unwrap();
    let mut ctx = stack.create_aead_context(&cfg).unwrap();
    assert_eq!(
        runs_in_memory(),
        0,
        "the plaintext is nowhere before the call"
    );
    let mut pt: Vec<u8> = (0..LEN).map(p).collect();
    let sealed = ctx.seal_fresh(aad, &pt).unwrap();
    assert_eq!(sealed.ciphertext.len(), LEN);
    wipe(&mut pt);
    drop(pt);
    let left = runs_in_memory();
    drop(ctx);
    drop(stack);
    assert_eq!(
        left, 0,
        "64-byte runs of a sent plaintext left in the client's memory after the caller \
         wiped its copy"
    );
}

/// Red-team pass 3: an answer the client gave up on (timed out) and later skipped as stale is
/// wiped too. It is larger than the 4 KiB first read, so the read buffer grows while it
/// arrives; it is read, and skipped, by the next call. A scripted daemon in this process
/// sends it (from a buffer it wipes at once), so the answer's bytes only ever come from the
/// socket.
#[test]
fn a_late_answer_skipped_as_stale_leaves_no_copy_in_client_memory() {
    use std::io::Write;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::time::Duration;
    use warden_wire::handshake::HelloAck;
    use warden_wire::{
        Builder, DEFAULT_MAX_FRAME_LEN, FrameHeader, HEADER_LEN, PROTOCOL_VERSION, Response,
    };

    fn read_frame(s: &mut UnixStream) -> Option<FrameHeader> {
        let mut h = [0u8; HEADER_LEN];
        s.read_exact(&mut h).ok()?;
        let h = FrameHeader::decode(&h, DEFAULT_MAX_FRAME_LEN).ok()?;
        let mut body = vec![0u8; h.body_len as usize];
        s.read_exact(&mut body).ok()?;
        Some(h)
    }
    /// Writes `h` with `body`, then wipes the frame it put together.
    fn write_frame(s: &mut UnixStream, h: &FrameHeader, status: u32, body: &[u8]) {
        let h = h.response(status, body.len() as u32);
        let mut out = h.to_bytes().to_vec();
        out.extend_from_slice(body);
        s.write_all(&out).unwrap();
        wipe(&mut out);
    }
    fn server(mut s: UnixStream) {
        let h = read_frame(&mut s).unwrap();
        let ack = HelloAck {
            version: PROTOCOL_VERSION,
            daemon_version: PROTOCOL_VERSION,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        };
        write_frame(&mut s, &h, 0, &ack.encode());
        // Room for the whole answer: a growing builder would free partial copies of it.
        let mut b = Builder::with_capacity(2 * LEN);
        let mut first = true;
        while let Some(h) = read_frame(&mut s) {
            if first {
                // The secret answer, far too late for the caller.
                first = false;
                std::thread::sleep(Duration::from_millis(300));
                let mut data: Vec<u8> = (0..LEN).map(p).collect();
                let mut body =
                    warden_wire::encode_response(&mut b, &Response::Ping { data: &data }).to_vec();
                wipe(&mut data);
                // Same length again: overwrites the builder's copy (it encodes back to front).
                warden_wire::encode_response(&mut b, &Response::Ping { data: &data });
                write_frame(&mut s, &h, 0, &body);
                wipe(&mut body);
            } else {
                let body = warden_wire::encode_response(&mut b, &Response::Ping { data: b"ok" });
                write_frame(&mut s, &h, 0, body);
            }
        }
    }

    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        if let Some(Ok(s)) = listener.incoming().next() {
            server(s);
        }
    });
    let stack = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .default_timeout_ms(50)
            .client_grace(Duration::from_millis(50))
            .dedicated_connection(true),
    )
    .unwrap();
    assert_eq!(runs_in_memory(), 0, "the answer is nowhere before the call");
    let e = stack.ping(b"slow").unwrap_err();
    assert_eq!(e.code(), ErrorCode::OperationTimedOut, "{e}");
    std::thread::sleep(Duration::from_millis(400));
    // Reads the late answer first (the read buffer grows to take it), skips it, then "ok".
    assert_eq!(stack.ping(b"next").unwrap(), b"ok");
    let left = runs_in_memory();
    drop(stack);
    assert_eq!(
        left, 0,
        "64-byte runs of a late answer left in the client's memory after it was skipped"
    );
}

/// Red-team pass 3: a decryption larger than one frame travels as several `Update` answers
/// (each chunk decoded into its own `Vec`) appended to one output. The chunks were dropped
/// unwiped and the output's growth freed its earlier, shorter copies: the plaintext was left
/// in freed heap memory many times over.
#[test]
fn a_decryption_over_several_frames_leaves_no_copy_in_client_memory() {
    const NAME: &str = "a_decryption_over_several_frames_leaves_no_copy_in_client_memory";
    const TUNED: &str = "WARDEN_E2E_WIPE_TUNED";
    if std::env::var_os(TUNED).is_none() {
        // glibc hands freed memory at the top of a heap back to the kernel, which can hide
        // what a free left behind; in a process whose heap top is held by a later allocation
        // it stays. So the check runs in a copy of this binary with trimming off.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env(TUNED, "1")
            .env(
                "GLIBC_TUNABLES",
                "glibc.malloc.trim_threshold=4294967295:glibc.malloc.mmap_threshold=33554432",
            )
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && text.contains("1 passed"),
            "the check failed:\n{text}"
        );
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    const BIG: usize = 200 * 1024;
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let stack = d.stack();
    let key = stack
        .key_management()
        .generate_key(
            &GenerateKeyParams::builder()
                .algorithm(Algorithm::Aes256Key)
                .permissions(KeyOperationPermission::ENCRYPT | KeyOperationPermission::DECRYPT)
                .build()
                .unwrap(),
        )
        .unwrap();
    let cfg = |dir| {
        ContextConfig::builder()
            .algorithm(Algorithm::Aes256Ctr)
            .key(key.id())
            .direction(dir)
            .build()
            .unwrap()
    };
    // CTR: encrypting zeros gives the keystream; the ciphertext of the plaintext is made from
    // it byte by byte, so the plaintext itself never exists in this process before the call.
    let mut enc = stack
        .create_cipher_context(&cfg(CipherDirection::Encrypt))
        .unwrap();
    let (iv, mut ct) = enc.encrypt(&vec![0u8; BIG]).unwrap();
    for (i, c) in ct.iter_mut().enumerate() {
        *c ^= p(i);
    }
    assert_eq!(
        runs_in_memory(),
        0,
        "the plaintext is nowhere before the call"
    );
    let mut dec = stack
        .create_cipher_context(&cfg(CipherDirection::Decrypt))
        .unwrap();
    let mut pt = dec.apply(&iv, &ct).unwrap();
    assert!(
        pt.len() == BIG && (0..BIG).all(|i| pt[i] == p(i)),
        "decrypts"
    );
    wipe(&mut pt);
    drop(pt);
    let left = runs_in_memory();
    drop((enc, dec, stack));
    assert_eq!(
        left, 0,
        "64-byte runs of a multi-frame decryption left in the client's memory after the \
         caller wiped its copy"
    );
}
