//! Descriptors a hostile co-tenant attaches to `RegionRegister` (red-team pass): the daemon
//! must decide a descriptor is not a memfd without asking the file's filesystem anything.
//!
//! The attack: a file on a FUSE filesystem whose server (the attacker) never answers. The
//! daemon used to `fstatfs` the descriptor first; on FUSE that is a request to the
//! attacker's server, and the worker thread serving the attacker's connection blocked in it
//! until the server answered — every other connection on that worker (any uid) stalled with
//! it. The kernel forwards root's `statfs` to the server only on a mount with `allow_other`
//! (`user_allow_other` in `/etc/fuse.conf` lets any user mount one with `fusermount`).
//! `F_GET_SEALS` is answered by the VFS alone (`EINVAL` for anything but shmem/hugetlbfs),
//! so asking it first keeps every other filesystem out of the daemon's check.
//!
//! Needs root (to mount the FUSE filesystem and run the attacker as another uid); skips
//! with a printed reason otherwise, or when FUSE cannot be mounted here.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use warden_client::*;
use warden_e2e::persistent::{Wardend, config, is_root, shared_root};

const CHILD_FILE: &str = "WARDEN_E2E_REGION_FDS_FILE";
const CHILD_SOCKET: &str = "WARDEN_E2E_REGION_FDS_SOCKET";
/// The attacker (a spare uid of the red-team range; no account needed).
const ATTACKER_UID: u32 = 4300;

/// The attacker's side, run by the parent test as [`ATTACKER_UID`]: opens the FUSE file and
/// registers it as a region.
#[test]
#[ignore = "run by the parent test as another uid"]
fn region_fds_child() {
    let (Ok(file), Ok(socket)) = (std::env::var(CHILD_FILE), std::env::var(CHILD_SOCKET)) else {
        return;
    };
    let f = std::fs::File::open(&file).unwrap();
    let connect = || {
        MemoryAllocator::connect(
            StackConfig::new()
                .socket_path(&socket)
                .dedicated_connection(true)
                .default_timeout_ms(60_000),
        )
    };
    let mem = connect().unwrap();
    let first = mem.register_fd(f.as_fd(), 4096);
    println!("CHILD-FIRST {:?}", first.map_err(|e| e.code()));
    // The flood: the same file again and again, on this and new connections.
    let mut cut_off = false;
    for _ in 0..40 {
        let Ok(mem) = connect() else {
            cut_off = true;
            break;
        };
        for _ in 0..8 {
            if let Err(e) = mem.register_fd(f.as_fd(), 4096)
                && e.code() != ErrorCode::InvalidMemoryRegion
            {
                break;
            }
        }
    }
    if cut_off {
        println!("CHILD-CUT-OFF");
    }
    println!("CHILD-DONE");
}

/// A minimal FUSE server: one regular file `f`, 4096 bytes. It answers what opening the file
/// needs and never answers `STATFS` (it only records that one came).
mod fuse {
    use super::*;

    const LOOKUP: u32 = 1;
    const FORGET: u32 = 2;
    const GETATTR: u32 = 3;
    const OPEN: u32 = 14;
    const STATFS: u32 = 17;
    const RELEASE: u32 = 18;
    const FLUSH: u32 = 25;
    const INIT: u32 = 26;
    const INTERRUPT: u32 = 36;
    const BATCH_FORGET: u32 = 42;
    const ENOENT: i32 = 2;
    const ENOSYS: i32 = 38;
    const FILE_NODE: u64 = 2;

    /// Requests read and not answered, with a handle on the device to answer them later.
    pub type Held = std::sync::Mutex<Vec<(u64, std::fs::File)>>;

    #[derive(Clone)]
    pub struct Server {
        /// A `STATFS` came (from the daemon: nothing else here asks).
        pub statfs_seen: Arc<AtomicBool>,
        /// `FLUSH`es that came: every close of a descriptor of our file, the daemon's too.
        pub flushes: Arc<std::sync::atomic::AtomicUsize>,
        pub held: Arc<Held>,
        /// From now on answer everything (the test's cleanup).
        pub answer_all: Arc<AtomicBool>,
        /// The daemon's pid.
        pub daemon: Arc<std::sync::atomic::AtomicU32>,
    }

    /// The process a thread (FUSE names the calling thread) belongs to.
    fn tgid_of(tid: u32) -> Option<u32> {
        let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Tgid:"))?
            .trim()
            .parse()
            .ok()
    }

    /// Answers every held request (with an error) and all that come from now on: a
    /// process waiting for a FUSE answer the server has read cannot even be killed, so the
    /// test's cleanup must end the wait.
    pub fn release(server: &Server) {
        server.answer_all.store(true, Ordering::SeqCst);
        for (unique, mut dev) in server.held.lock().unwrap().drain(..) {
            reply(&mut dev, unique, ENOSYS, &[]);
        }
    }

    fn hold(server: &Server, dev: &std::fs::File, unique: u64) -> bool {
        if server.answer_all.load(Ordering::SeqCst) {
            return false;
        }
        server
            .held
            .lock()
            .unwrap()
            .push((unique, dev.try_clone().unwrap()));
        true
    }

    fn attr(out: &mut Vec<u8>, node: u64) {
        let (mode, size, nlink) = if node == 1 {
            (0o040_755u32, 0u64, 2u32)
        } else {
            (0o100_666, 4096, 1)
        };
        for v in [node, size, 8, 0, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        // atimensec mtimensec ctimensec mode nlink uid gid rdev blksize flags
        for v in [0, 0, 0, mode, nlink, ATTACKER_UID, 0, 0, 4096, 0u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn reply(dev: &mut std::fs::File, unique: u64, error: i32, body: &[u8]) {
        let mut m = Vec::with_capacity(16 + body.len());
        m.extend_from_slice(&u32::try_from(16 + body.len()).unwrap().to_le_bytes());
        m.extend_from_slice(&(-error).to_le_bytes());
        m.extend_from_slice(&unique.to_le_bytes());
        m.extend_from_slice(body);
        // A request interrupted meanwhile makes the kernel refuse the reply: harmless.
        let _ = dev.write_all(&m);
    }

    /// Serves `dev` until the connection ends.
    pub fn serve(mut dev: std::fs::File, server: &Server) {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let Ok(n) = dev.read(&mut buf) else { return };
            if n < 40 {
                return;
            }
            let u32_at = |o: usize| u32::from_le_bytes(buf[o..o + 4].try_into().unwrap());
            let u64_at = |o: usize| u64::from_le_bytes(buf[o..o + 8].try_into().unwrap());
            let (opcode, unique, node) = (u32_at(4), u64_at(8), u64_at(16));
            let arg = &buf[40..n];
            let mut body = Vec::new();
            match opcode {
                INIT => {
                    let max_readahead = u32::from_le_bytes(arg[8..12].try_into().unwrap());
                    for v in [7u32, 31, max_readahead, 0] {
                        body.extend_from_slice(&v.to_le_bytes());
                    }
                    body.extend_from_slice(&[0u8; 4]); // max_background, congestion_threshold
                    body.extend_from_slice(&4096u32.to_le_bytes()); // max_write
                    body.extend_from_slice(&1u32.to_le_bytes()); // time_gran
                    body.resize(64, 0);
                    reply(&mut dev, unique, 0, &body);
                }
                LOOKUP if node == 1 && arg.starts_with(b"f\0") => {
                    for v in [FILE_NODE, 0, 60, 60] {
                        body.extend_from_slice(&v.to_le_bytes());
                    }
                    body.extend_from_slice(&[0u8; 8]);
                    attr(&mut body, FILE_NODE);
                    reply(&mut dev, unique, 0, &body);
                }
                LOOKUP => reply(&mut dev, unique, ENOENT, &[]),
                GETATTR => {
                    body.extend_from_slice(&60u64.to_le_bytes());
                    body.extend_from_slice(&[0u8; 8]);
                    attr(&mut body, node);
                    reply(&mut dev, unique, 0, &body);
                }
                OPEN => reply(&mut dev, unique, 0, &[0u8; 16]),
                RELEASE => reply(&mut dev, unique, 0, &[]),
                // Only the daemon's closes wait; the attacker's own are answered.
                FLUSH if tgid_of(u32_at(32)) != Some(server.daemon.load(Ordering::SeqCst)) => {
                    reply(&mut dev, unique, 0, &[]);
                }
                FLUSH => {
                    server.flushes.fetch_add(1, Ordering::SeqCst);
                    if !hold(server, &dev, unique) {
                        reply(&mut dev, unique, 0, &[]);
                    }
                }
                STATFS => {
                    server.statfs_seen.store(true, Ordering::SeqCst);
                    if !hold(server, &dev, unique) {
                        reply(&mut dev, unique, ENOSYS, &[]);
                    }
                }
                FORGET | BATCH_FORGET | INTERRUPT => {}
                _ => reply(&mut dev, unique, ENOSYS, &[]),
            }
        }
    }
}

/// Mounts the FUSE filesystem at `dir` (as `fusermount` would for `ATTACKER_UID` with
/// `allow_other`) and starts serving it; `None` (with a printed reason) if this machine
/// cannot mount FUSE.
fn mount_fuse(dir: &std::path::Path) -> Option<fuse::Server> {
    use std::os::fd::AsRawFd;
    let dev = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        Ok(d) => d,
        Err(e) => {
            println!("SKIPPED: cannot open /dev/fuse: {e}");
            return None;
        }
    };
    let data = format!(
        "fd={},rootmode=40000,user_id={ATTACKER_UID},group_id=0,allow_other",
        dev.as_raw_fd()
    );
    if let Err(e) = rustix::mount::mount(
        "warden-red",
        dir,
        "fuse",
        rustix::mount::MountFlags::NOSUID | rustix::mount::MountFlags::NODEV,
        Some(std::ffi::CString::new(data).unwrap().as_c_str()),
    ) {
        println!("SKIPPED: cannot mount FUSE here: {e}");
        return None;
    }
    let server = fuse::Server {
        statfs_seen: Arc::new(AtomicBool::new(false)),
        flushes: Arc::default(),
        held: Arc::default(),
        answer_all: Arc::new(AtomicBool::new(false)),
        daemon: Arc::default(),
    };
    let serving = server.clone();
    // Never joined: it ends when the filesystem is unmounted and its last file closed.
    std::thread::spawn(move || fuse::serve(dev, &serving));
    Some(server)
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Another uid's ping, on a fresh connection, with a short deadline.
fn victim_ping(socket: &std::path::Path) -> Result<Vec<u8>> {
    CryptoStack::connect(
        StackConfig::new()
            .socket_path(socket)
            .dedicated_connection(true)
            .default_timeout_ms(2_000)
            .client_grace(Duration::from_millis(500))
            .connect_timeout(Duration::from_secs(3)),
    )
    .and_then(|s| s.ping(b"victim"))
}

#[test]
fn a_descriptor_on_a_stalling_filesystem_does_not_block_a_worker() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let mnt = tempfile::tempdir().unwrap();
    let Some(fs) = mount_fuse(mnt.path()) else {
        return;
    };

    // One worker: whatever blocks it blocks every connection.
    let d = Wardend::start(
        root.path(),
        &format!("{}[limits]\nworker_threads = 1\n", config(&[])),
    );
    fs.daemon.store(d.pid(), Ordering::SeqCst);
    // However the test ends (a failed unwrap included), and before the daemon is killed
    // (a process waiting for a FUSE answer cannot die): answer what waits, unmount.
    struct Cleanup<'a>(&'a fuse::Server, &'a std::path::Path);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            fuse::release(self.0);
            let _ = rustix::mount::unmount(self.1, rustix::mount::UnmountFlags::DETACH);
        }
    }
    let _cleanup = Cleanup(&fs, mnt.path());
    d.stack().ping(b"before").unwrap();
    let fds_before = open_fds(d.pid());

    let mut attacker = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "region_fds_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD_FILE, mnt.path().join("f"))
        .env(CHILD_SOCKET, &d.socket)
        .uid(ATTACKER_UID)
        .gid(0)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = attacker.stdout.take().unwrap();
    let out = Arc::new(std::sync::Mutex::new(String::new()));
    let collected = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            collected
                .lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    // Wait until the attacker is done, or the daemon is stuck on its filesystem.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if out.lock().unwrap().contains("CHILD-DONE")
            || (fs.statfs_seen.load(Ordering::SeqCst) && start.elapsed() > Duration::from_secs(1))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Give a stalled worker time to show: another uid's ping must still be answered.
    std::thread::sleep(Duration::from_millis(200));
    let victim = victim_ping(&d.socket);
    let asked = fs.statfs_seen.load(Ordering::SeqCst);
    let flushes = fs.flushes.load(Ordering::SeqCst);
    let fds_during = open_fds(d.pid());
    // Cleanup before asserting, so a failure cannot leave a hung daemon or mount behind.
    fuse::release(&fs);
    let start = Instant::now();
    while !out.lock().unwrap().contains("CHILD-DONE") && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = attacker.kill();
    let _ = attacker.wait();
    let after = victim_ping(&d.socket);
    drop(d);
    let _ = rustix::mount::unmount(mnt.path(), rustix::mount::UnmountFlags::DETACH);
    let child_out = out.lock().unwrap().clone();
    println!(
        "flushes held {flushes}, daemon fds {fds_before} before / {fds_during} during; attacker: {child_out}"
    );
    assert!(
        victim.is_ok(),
        "another uid's ping while the attacker's descriptors are closed: {victim:?} \
         (statfs sent to the attacker's filesystem: {asked}; attacker: {child_out})"
    );
    assert!(
        !asked,
        "the daemon asked the attacker's filesystem (STATFS) about a non-memfd"
    );
    assert!(flushes > 0, "the daemon closed the attacker's descriptors");
    assert!(
        child_out.contains("CHILD-FIRST Err(InvalidMemoryRegion)"),
        "the attacker gets the typed refusal: {child_out}"
    );
    // What the attacker pinned is bounded: it was cut off after a few stuck descriptors.
    assert!(
        child_out.contains("CHILD-CUT-OFF"),
        "the attacker's flood was cut off: {child_out}"
    );
    assert!(
        fds_during < fds_before + 40,
        "descriptors held by the daemon: {fds_before} before, {fds_during} during the flood"
    );
    after.unwrap();
}

/// Many descriptors in one message, with a frame that is not even complete: the daemon keeps
/// at most four waiting per connection and closes the others, so its descriptor table does
/// not grow with what a client sends. (Since the second red-team pass it takes every
/// descriptor of a read, so the kernel releases none on a worker, and a connection that
/// brings more than its uid may have waiting is ended: a later send may fail.)
#[test]
fn a_flood_of_descriptors_in_one_message_is_not_kept() {
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags, sendmsg};
    use std::io::IoSlice;
    use std::mem::MaybeUninit;
    use std::os::fd::OwnedFd;
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    d.stack().ping(b"before").unwrap();
    let before = open_fds(d.pid());
    let files: Vec<OwnedFd> = (0..200)
        .map(|_| std::fs::File::open("/dev/null").unwrap().into())
        .collect();
    let fds: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    let mut conns = Vec::new();
    for _ in 0..4 {
        let s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
        for chunk in fds.chunks(100) {
            let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(100))];
            let mut control = SendAncillaryBuffer::new(&mut space);
            assert!(control.push(SendAncillaryMessage::ScmRights(chunk)));
            // One byte of a header each time: the frame never completes.
            let _ = sendmsg(
                &s,
                &[IoSlice::new(&[0u8])],
                &mut control,
                SendFlags::NOSIGNAL,
            );
        }
        conns.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let during = open_fds(d.pid());
    assert!(
        during <= before + 4 * (1 + 4),
        "daemon descriptors: {before} before, {during} with 4 connections sending 800"
    );
    d.stack().ping(b"after").unwrap();
    drop(conns);
}
