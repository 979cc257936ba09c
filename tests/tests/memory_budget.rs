//! The hard memory budget (issue 12), attacked as a hostile local client would: buffering
//! AEAD contexts are bounded per connection, per uid and in all; the limit answers
//! `QuotaExceeded` instead of growing; chunks come back when connections close; and the
//! daemon's resident size stays under the budget it logged at start-up.
//!
//! The per-uid part runs a child copy of this binary as a spare uid and skips with a message
//! when not root.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use warden_client::*;
use warden_e2e::persistent::{Wardend, config, is_root, shared_root};

const CHILD_SCRIPT: &str = "WARDEN_E2E_BUDGET_CHILD";
const CHILD_SOCKET: &str = "WARDEN_E2E_BUDGET_SOCKET";
/// The spare uid the attacking child runs as (no account needed).
const ATTACKER_UID: u32 = 4295;
/// What each context buffers: just under the default 64 KiB chunk (and frame).
const BUFFERED: usize = 60 * 1024;
/// Chunks of the defaults: 1 MiB per connection, 2 MiB per uid, in 64 KiB chunks.
const PER_CONNECTION: usize = 16;
const PER_UID: usize = 32;

/// A fresh ENCRYPT-only AES-256 key and an AES-256-GCM encrypt context configuration for it
/// (keep the guard while contexts are made).
fn encryptor(stack: &CryptoStack) -> (ResourceGuard, ContextConfig) {
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
    (key, cfg)
}

/// Creates AEAD contexts on one connection, each buffering 60 KiB, until the daemon refuses
/// (or `max` succeeded). Returns the contexts held and the first refusal's code.
fn fill(stack: &CryptoStack, max: usize) -> (Vec<AeadContext>, Option<ErrorCode>) {
    let (key, cfg) = encryptor(stack);
    let data = vec![0x5a; BUFFERED];
    let mut held = Vec::new();
    while held.len() < max {
        let mut ctx = match stack.create_aead_context(&cfg) {
            Ok(c) => c,
            Err(e) => return (held, Some(e.code())),
        };
        ctx.init(&[]).unwrap();
        if let Err(e) = ctx.update(&data) {
            return (held, Some(e.code()));
        }
        held.push(ctx);
    }
    std::mem::forget(key); // the guard would release on drop; the connection ends it anyway
    (held, None)
}

/// The total the daemon logged at start-up, in bytes.
fn logged_budget(d: &Wardend) -> u64 {
    let err = d.stderr();
    let line = err
        .lines()
        .find(|l| l.contains("memory budget: "))
        .unwrap_or_else(|| panic!("wardend logged no memory budget:\n{err}"));
    let mib: f64 = line
        .split("memory budget: ")
        .nth(1)
        .and_then(|r| r.split(" MiB").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unparsable budget line: {line}"));
    (mib * 1024.0 * 1024.0) as u64
}

fn rss_bytes(d: &Wardend) -> u64 {
    warden_e2e::vm_rss_kib(d.pid()).unwrap() * 1024
}

/// (a) One connection trying to buffer 1,023 × 60 KiB gets `QuotaExceeded` at its budget;
/// nothing grows, and the daemon stays under the budget it logged.
#[test]
fn one_connection_is_held_to_its_context_buffer_budget() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let (held, refused) = fill(&s, 1023);
    assert_eq!(
        (held.len(), refused),
        (PER_CONNECTION, Some(ErrorCode::QuotaExceeded)),
        "a connection buffers at most its 1 MiB budget"
    );
    // The refused context keeps working once budget is back: end one stream, retry.
    let (more, refused) = fill(&s, 1);
    assert_eq!((more.len(), refused), (0, Some(ErrorCode::QuotaExceeded)));
    let mut first = held.into_iter().next().unwrap();
    first.finalize(&[]).unwrap();
    let (more, _) = fill(&s, 1);
    assert_eq!(
        more.len(),
        1,
        "a finished stream gives its chunk back at once"
    );
    let (rss, budget) = (rss_bytes(&d), logged_budget(&d));
    println!("one connection: RSS {rss} bytes, logged budget {budget} bytes");
    assert!(
        rss <= budget,
        "daemon RSS {rss} above its logged budget {budget}"
    );
    // A one-shot seal of the same size buffers nothing and still works at the limit.
    let sealed = fill_one_shot(&s);
    assert_eq!(sealed, BUFFERED + 16);
}

fn fill_one_shot(s: &CryptoStack) -> usize {
    let (_key, cfg) = encryptor(s);
    let mut ctx = s.create_aead_context(&cfg).unwrap();
    let sealed = ctx.seal_fresh(b"", &vec![1u8; BUFFERED]).unwrap();
    sealed.ciphertext.len() + sealed.tag.len()
}

#[test]
#[ignore = "helper: run as another uid by the tests in this file"]
fn budget_child() {
    let (Ok(script), Ok(socket)) = (std::env::var(CHILD_SCRIPT), std::env::var(CHILD_SOCKET))
    else {
        println!("not started as a child: nothing to do");
        return;
    };
    assert_eq!(script, "hog");
    // 32 connections, each trying to buffer 20 × 60 KiB.
    let mut stacks = Vec::new();
    let mut held = Vec::new();
    let mut refusals = Vec::new();
    for _ in 0..32 {
        let s = CryptoStack::connect(
            StackConfig::new()
                .socket_path(&socket)
                .dedicated_connection(true),
        )
        .unwrap();
        let (h, r) = fill(&s, 20);
        held.extend(h);
        refusals.extend(r);
        stacks.push(s);
    }
    assert!(refusals.iter().all(|c| *c == ErrorCode::QuotaExceeded));
    println!("CHILD-HELD {}", held.len());
    println!("CHILD-WAITING");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    drop(held);
    drop(stacks);
    println!("CHILD-DONE");
}

/// (b) 32 connections of one uid stop at the per-uid budget while another uid still gets its
/// full per-connection budget; (c) when they close, the budget comes back.
#[test]
fn one_uid_is_held_to_its_budget_and_gets_it_back_on_close() {
    if !is_root() {
        return;
    }
    // A root the children (gid 0) can reach the socket in.
    let root = shared_root();
    // The pool holds the attacker's uid budget plus one connection's: once the attacker is
    // at its limit, one victim connection fits and a second does not, until it lets go.
    // WARDEN_E2E_PRE_BUDGET: leave the key out, to run this against a daemon from before
    // the budget (which rejects unknown keys) and watch it fail.
    let limits = match std::env::var_os("WARDEN_E2E_PRE_BUDGET") {
        Some(_) => String::new(),
        // The attacker's 32 connections exceed the default per-uid connection cap (16),
        // which is not what this test is about: lift it.
        None => format!(
            "[limits]\ncontext_buffer_bytes_total = {}\nmax_connections_per_uid = 64\n",
            (PER_UID + PER_CONNECTION) * 64 * 1024
        ),
    };
    let cfg = format!("{}{limits}", config(&[]));
    let d = Wardend::start(root.path(), &cfg);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "budget_child",
            "--include-ignored",
            "--nocapture",
        ])
        .env(CHILD_SCRIPT, "hog")
        .env(CHILD_SOCKET, &d.socket)
        .uid(ATTACKER_UID)
        .gid(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut held = None;
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if let Some(n) = line.trim().strip_prefix("CHILD-HELD ") {
            held = n.parse::<usize>().ok();
        }
        if line.contains("CHILD-WAITING") {
            break;
        }
        line.clear();
    }
    assert_eq!(
        held,
        Some(PER_UID),
        "32 connections of one uid buffer at most the uid's 2 MiB"
    );
    let (rss, budget) = (rss_bytes(&d), logged_budget(&d));
    println!("uid attack: RSS {rss} bytes, logged budget {budget} bytes");
    assert!(rss <= budget, "RSS {rss} above the logged budget {budget}");

    let victim = d.stack();
    let (v, refused) = fill(&victim, PER_CONNECTION + 1);
    assert_eq!(
        (v.len(), refused),
        (PER_CONNECTION, Some(ErrorCode::QuotaExceeded)),
        "another uid still gets its full per-connection budget"
    );
    let second = d.stack();
    let (none, refused) = fill(&second, 1);
    assert_eq!(
        (none.len(), refused),
        (0, Some(ErrorCode::QuotaExceeded)),
        "the pool is the daemon-wide bound"
    );

    // (c) The attacker's connections close: its chunks come back to the pool.
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "child failed:\n{rest}");
    // The daemon notices the closes asynchronously: allow it a moment.
    let start = std::time::Instant::now();
    loop {
        let (again, _) = fill(&second, PER_CONNECTION);
        if again.len() == PER_CONNECTION {
            break;
        }
        drop(again);
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "budget not returned after the attacker's connections closed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
