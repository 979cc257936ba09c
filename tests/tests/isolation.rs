//! Isolation between local uids, attacked as a hostile co-tenant would (issue 11):
//! - a slot key held only by a context stays a slot key: pruning the per-connection resolve
//!   cache cannot let revocation, lock or delete be bypassed (item 1);
//! - names are per owner: another uid's pre-created, pre-granted `backup.key` is never what a
//!   victim's bare `backup.key` resolves to (item 3);
//! - per-uid slot and grant quotas bound durable growth (item 5);
//! - an admin's lock is not the owner's to lift (item 7).
//!
//! Tests that need a second uid run a child copy of this binary as that uid and skip with a
//! message when not root.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use warden_client::*;
use warden_e2e::persistent::{Wardend, audit_lines, config, is_root, my_uid, shared_root};

type P = KeyOperationPermission;

const CHILD_SCRIPT: &str = "WARDEN_E2E_ISOLATION_CHILD";
const CHILD_SOCKET: &str = "WARDEN_E2E_ISOLATION_SOCKET";
/// Spare uids the children run as (no account needed).
const GRANTEE_UID: u32 = 4261;
const ATTACKER_UID: u32 = 4262;
const OWNER_UID: u32 = 4263;

fn ed25519(perms: P) -> GenerateKeyParams {
    GenerateKeyParams::builder()
        .algorithm(Algorithm::Ed25519)
        .permissions(perms)
        .build()
        .unwrap()
}

fn sign_ctx(stack: &CryptoStack, key: ResourceId) -> SignContext {
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(key)
        .build()
        .unwrap();
    stack.create_sign_context(&cfg).unwrap()
}

fn code<T: std::fmt::Debug>(r: Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

/// Resolves and releases `filler` `n` times: each resolve after a release is a new id, so
/// the connection's resolve cache passes its prune threshold (256) several times.
fn churn(km: &KeyManagement, filler: &str, n: usize) {
    for _ in 0..n {
        km.resolve(filler).unwrap().release().unwrap();
    }
}

/// A child copy of this test binary running `script` as `uid` (gid 0).
fn child(d: &Wardend, uid: u32, script: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "isolation_child",
        "--include-ignored",
        "--nocapture",
    ])
    .env(CHILD_SCRIPT, script)
    .env(CHILD_SOCKET, &d.socket)
    .uid(uid)
    .gid(0);
    cmd
}

fn run_child(d: &Wardend, uid: u32, script: &str) {
    let out = child(d, uid, script).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(&format!("CHILD-DONE {script}")),
        "child script {script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Blocks until the parent writes a line on stdin (after announcing `what` on stdout).
fn wait_for_parent(what: &str) {
    println!("CHILD-WAITING {what}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
}

#[test]
#[ignore = "helper: run as another uid by the tests in this file"]
fn isolation_child() {
    let (Ok(script), Ok(socket)) = (std::env::var(CHILD_SCRIPT), std::env::var(CHILD_SOCKET))
    else {
        println!("not started as a child: nothing to do");
        return;
    };
    let s = CryptoStack::connect(
        StackConfig::new()
            .socket_path(socket)
            .dedicated_connection(true),
    )
    .unwrap();
    let km = s.key_management();
    match script.as_str() {
        // Item 1, as the grantee: a context on the shared key, guard released, cache churned;
        // after the owner revokes, the context must be refused.
        "grantee-holds-context" => {
            let k = km.resolve("0/shared").unwrap();
            let mut ctx = sign_ctx(&s, k.id());
            ctx.sign(b"while granted").unwrap();
            k.release().unwrap();
            churn(&km, "0/filler", 300);
            ctx.sign(b"still granted").unwrap();
            wait_for_parent("revoke");
            assert_eq!(
                code(ctx.sign(b"after revoke")),
                ErrorCode::AccessDenied,
                "a revoked grant must stop a context bound to the slot key"
            );
        }
        // Item 1, as a grantee with an open decrypt stream (a block oracle while it lives):
        // revoking must stop the stream mid-way, not only new operations.
        "grantee-holds-stream" => {
            let k = km.resolve("0/stream").unwrap();
            let cfg = ContextConfig::builder()
                .algorithm(Algorithm::Aes256CbcPkcs7)
                .key(k.id())
                .direction(CipherDirection::Decrypt)
                .build()
                .unwrap();
            let mut ctx = s.create_cipher_context(&cfg).unwrap();
            k.release().unwrap();
            ctx.init(&[0u8; 16]).unwrap();
            ctx.update(&[0x11; 32]).unwrap();
            wait_for_parent("revoke");
            assert_eq!(
                code(ctx.update(&[0x22; 32])),
                ErrorCode::AccessDenied,
                "a revoked grant must stop an open stream on the slot key"
            );
            assert_eq!(code(ctx.finalize(&[0x33; 16])), ErrorCode::AccessDenied);
        }
        // A uid trying to take every connection slot (red-team finding): it gets its share.
        "hog-connections" => {
            let socket = std::env::var(CHILD_SOCKET).unwrap();
            let mut held = Vec::new();
            let mut refused = None;
            for _ in 0..24 {
                match CryptoStack::connect(
                    StackConfig::new()
                        .socket_path(&socket)
                        .dedicated_connection(true),
                ) {
                    Ok(c) => held.push(c),
                    Err(e) => {
                        refused = Some(e.code());
                        break;
                    }
                }
            }
            // The first stack (`s`) is one of this uid's connections too.
            assert_eq!(
                held.len() + 1,
                16,
                "one uid holds at most its 16 connections"
            );
            assert_eq!(refused, Some(ErrorCode::QuotaExceeded));
            wait_for_parent("holding");
            drop(held);
        }
        // A uid filling every general slot (the daemon allows it 8 of 4 here).
        "fill-slots" => {
            let socket = std::env::var(CHILD_SOCKET).unwrap();
            let mut held = Vec::new();
            let refused = loop {
                match CryptoStack::connect(
                    StackConfig::new()
                        .socket_path(&socket)
                        .dedicated_connection(true),
                ) {
                    Ok(c) if held.len() < 16 => held.push(c),
                    Ok(_) => break None,
                    Err(e) => break Some(e.code()),
                }
            };
            assert_eq!(held.len() + 1, 4, "the general slots are 4");
            assert_eq!(refused, Some(ErrorCode::ProviderBusy));
            wait_for_parent("holding");
            drop(held);
        }
        // Successes cannot flood the audit log either (each resolve after a release makes a
        // new key object and is audited).
        "resolve-spam" => {
            km.generate_key_into("mine", &ed25519(P::SIGN)).unwrap();
            for _ in 0..2000 {
                km.resolve("mine").unwrap().release().unwrap();
            }
        }
        // Denials are enforced every time but cannot flood the audit log.
        "deny-spam" => {
            for _ in 0..2000 {
                assert_eq!(code(km.resolve("0/secret")), ErrorCode::AccessDenied);
            }
        }
        // Item 3, as the attacker: squat the name and push an unsolicited grant to root.
        "squat" => {
            let p = GenerateKeyParams::builder()
                .algorithm(Algorithm::Aes256Key)
                .permissions(P::ENCRYPT | P::DECRYPT | P::EXPORT)
                .exportable(true)
                .build()
                .unwrap();
            km.generate_key_into("backup.key", &p).unwrap();
            km.grant("backup.key", 0, P::ENCRYPT | P::DECRYPT | P::EXPORT)
                .unwrap();
            // The attacker cannot plant a slot in the victim's namespace either.
            assert_eq!(
                code(km.generate_key_into("0/backup.key", &p)),
                ErrorCode::AccessDenied
            );
        }
        // Item 7, as an owner whose slot an admin (root) locks.
        "own-frozen" => km.generate_key_into("frozen", &ed25519(P::SIGN)).unwrap(),
        "try-unlock-frozen" => {
            assert_eq!(
                code(km.set_slot_locked("frozen", false)),
                ErrorCode::AccessDenied,
                "the owner must not lift an admin's lock"
            );
            assert_eq!(
                code(km.resolve("frozen")),
                ErrorCode::KeyOperationNotPermitted
            );
            // Locking it again as the owner does not downgrade the admin's lock.
            km.set_slot_locked("frozen", true).unwrap();
            assert_eq!(
                code(km.set_slot_locked("frozen", false)),
                ErrorCode::AccessDenied
            );
            // Nor by deleting the frozen slot and re-creating the name (red-team finding).
            assert_eq!(
                code(km.delete_slot("frozen")),
                ErrorCode::AccessDenied,
                "the owner must not delete an admin-locked slot"
            );
            // The frozen key is still there: the name cannot be taken over.
            assert_eq!(
                code(km.generate_key_into("frozen", &ed25519(P::SIGN))),
                ErrorCode::KeySlotOccupied
            );
        }
        "use-frozen" => {
            let k = km.resolve("frozen").unwrap();
            sign_ctx(&s, k.id()).sign(b"thawed").unwrap();
            // An owner's own lock is the owner's to lift.
            km.set_slot_locked("frozen", true).unwrap();
            km.set_slot_locked("frozen", false).unwrap();
        }
        other => panic!("unknown child script {other}"),
    }
    println!("CHILD-DONE {script}");
}

/// Item 1 with one uid: lock and delete reach a context whose key's guard is gone, however
/// many resolves the connection made since.
#[test]
fn a_context_on_a_slot_key_is_rechecked_after_the_resolve_cache_is_pruned() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let km = s.key_management();
    km.generate_key_into("victim", &ed25519(P::SIGN | P::VERIFY))
        .unwrap();
    km.generate_key_into("filler", &ed25519(P::SIGN)).unwrap();
    let k = km.resolve("victim").unwrap();
    let mut ctx = sign_ctx(&s, k.id());
    ctx.sign(b"before").unwrap();
    k.release().unwrap();
    churn(&km, "filler", 300);

    km.set_slot_locked("victim", true).unwrap();
    assert_eq!(
        code(ctx.sign(b"while locked")),
        ErrorCode::KeyOperationNotPermitted,
        "a lock must stop a context whose key guard was released"
    );
    km.set_slot_locked("victim", false).unwrap();
    ctx.sign(b"unlocked again").unwrap();
    churn(&km, "filler", 300);
    km.delete_slot("victim").unwrap();
    assert_eq!(
        code(ctx.sign(b"after delete")),
        ErrorCode::AccessDenied,
        "a deleted slot's key must not be usable through an old context"
    );
    // Every refused use was audited under the slot's qualified name.
    let uid = my_uid();
    let log = audit_lines(&d);
    let denied = log
        .iter()
        .filter(|l| {
            l.contains("\"op\":\"key.use.context\"")
                && l.contains(&format!("\"slot\":\"{uid}/victim\""))
                && !l.contains("\"result\":\"Success\"")
        })
        .count();
    assert_eq!(denied, 2, "{log:#?}");
}

/// Item 1 as the issue reported it: a grantee's context survives a revoke.
#[test]
fn revoking_a_grant_stops_the_grantees_old_contexts() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let km = s.key_management();
    km.generate_key_into("shared", &ed25519(P::SIGN | P::VERIFY))
        .unwrap();
    km.generate_key_into("filler", &ed25519(P::SIGN)).unwrap();
    km.grant("shared", GRANTEE_UID, P::SIGN).unwrap();
    km.grant("filler", GRANTEE_UID, P::SIGN).unwrap();
    run_revoked_child(&d, &km, "shared", "grantee-holds-context");
}

/// Item 1 (red-team finding): a decrypt stream opened before the revoke stops mid-stream.
#[test]
fn revoking_a_grant_stops_an_open_stream() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let km = s.key_management();
    let aes = GenerateKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(P::ENCRYPT | P::DECRYPT)
        .build()
        .unwrap();
    km.generate_key_into("stream", &aes).unwrap();
    km.grant("stream", GRANTEE_UID, P::DECRYPT).unwrap();
    run_revoked_child(&d, &km, "stream", "grantee-holds-stream");
}

/// Runs `script` as the grantee; revokes its grant on `slot` when it asks, then checks it
/// finished its assertions.
fn run_revoked_child(d: &Wardend, km: &KeyManagement, slot: &str, script: &str) {
    while_child_waits(d, GRANTEE_UID, script, || {
        km.revoke(slot, GRANTEE_UID).unwrap();
    });
}

/// Runs `script` as `uid`; when it announces `CHILD-WAITING`, runs `meanwhile` and lets it
/// go on, then checks that it finished all its assertions.
fn while_child_waits(d: &Wardend, uid: u32, script: &str, meanwhile: impl FnOnce()) {
    let mut c = child(d, uid, script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(c.stdout.take().unwrap());
    let mut seen = String::new();
    let mut meanwhile = Some(meanwhile);
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.starts_with("CHILD-WAITING")
            && let Some(f) = meanwhile.take()
        {
            f();
            writeln!(c.stdin.as_mut().unwrap(), "go").unwrap();
        }
    }
    let status = c.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut c.stderr.take().unwrap(), &mut err).unwrap();
    assert!(meanwhile.is_none(), "{script} never waited:\n{seen}\n{err}");
    assert!(
        status.success() && seen.contains(&format!("CHILD-DONE {script}")),
        "child failed:\n{seen}\n{err}"
    );
}

/// Item 3: another uid pre-creates `backup.key` and grants it to the victim; the victim's
/// bare `backup.key` is its own namespace and never reaches the attacker's key.
#[test]
fn a_squatted_and_granted_name_never_resolves_for_the_victim() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    run_child(&d, ATTACKER_UID, "squat");
    let s = d.stack();
    let km = s.key_management();
    assert_eq!(code(km.resolve("backup.key")), ErrorCode::AccessDenied);
    // The victim sees the grant only under the attacker's explicit name.
    let list = km.list_slots().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let theirs = format!("{ATTACKER_UID}/backup.key");
    assert_eq!(list[0].name, theirs);
    assert_eq!(list[0].owner_uid, ATTACKER_UID);
    // The CLI, as the victim ran it, refuses rather than using the attacker's key.
    let input = root.path().join("secret.txt");
    std::fs::write(&input, b"payroll").unwrap();
    let cli = Command::new(warden_e2e::wardend_path().unwrap().with_file_name("warden"))
        .arg("--socket")
        .arg(&d.socket)
        .args(["encrypt", "--slot", "backup.key", "--in"])
        .arg(&input)
        .arg("--out")
        .arg(root.path().join("secret.enc"))
        .output()
        .unwrap();
    assert!(!cli.status.success(), "encrypt must not use a foreign key");
    assert!(
        String::from_utf8_lossy(&cli.stderr).contains("AccessDenied"),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    // The victim's own `backup.key` is free, and distinct from the attacker's.
    km.generate_key_into(
        "backup.key",
        &GenerateKeyParams::builder()
            .algorithm(Algorithm::Aes256Key)
            .permissions(P::ENCRYPT | P::DECRYPT)
            .build()
            .unwrap(),
    )
    .unwrap();
    let mine = km.slot_info("backup.key").unwrap();
    assert_eq!(mine.owner_uid, 0);
    assert_eq!(km.slot_info(&theirs).unwrap().owner_uid, ATTACKER_UID);
}

/// Item 5: per-uid quotas on slots and on grants issued, from config.
#[test]
fn slot_and_grant_quotas_bound_each_uid() {
    let root = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}[limits]\nmax_slots_per_uid = 3\nmax_grants_per_uid = 2\n",
        config(&[])
    );
    let d = Wardend::start(root.path(), &cfg);
    let s = d.stack();
    let km = s.key_management();
    for i in 0..3 {
        km.generate_key_into(&format!("k{i}"), &ed25519(P::SIGN | P::VERIFY))
            .unwrap();
    }
    assert_eq!(
        code(km.generate_key_into("k3", &ed25519(P::SIGN))),
        ErrorCode::QuotaExceeded
    );
    km.grant("k0", 5001, P::VERIFY).unwrap();
    km.grant("k1", 5002, P::VERIFY).unwrap();
    assert_eq!(
        code(km.grant("k2", 5003, P::VERIFY)),
        ErrorCode::QuotaExceeded
    );
    // Freeing one makes room; the refusals were audited.
    km.delete_slot("k2").unwrap();
    km.generate_key_into("k3", &ed25519(P::SIGN)).unwrap();
    let log = audit_lines(&d).join("\n");
    assert!(log.contains("\"result\":\"QuotaExceeded\""), "{log}");
}

/// Item 7: an admin's lock is recorded as such; the owner cannot lift it.
#[test]
fn an_admin_lock_is_not_the_owners_to_lift() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[0]));
    run_child(&d, OWNER_UID, "own-frozen");
    let km_stack = d.stack();
    let km = km_stack.key_management();
    let frozen = format!("{OWNER_UID}/frozen");
    km.set_slot_locked(&frozen, true).unwrap();
    run_child(&d, OWNER_UID, "try-unlock-frozen");
    assert!(km.slot_info(&frozen).unwrap().locked);
    km.set_slot_locked(&frozen, false).unwrap();
    run_child(&d, OWNER_UID, "use-frozen");
}

/// Hostile load (red-team finding): one uid cannot take every connection slot; others (and
/// root) still connect while it holds its share.
#[test]
fn one_uid_gets_its_share_of_the_connections() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let d = Wardend::start(root.path(), &config(&[]));
    // While it holds its 16, another connection (root, here) is served.
    while_child_waits(&d, ATTACKER_UID, "hog-connections", || {
        assert_eq!(d.stack().ping(b"still room").unwrap(), b"still room");
    });
}

/// Hostile load: with every general slot taken, an admin still connects (the reserved
/// admin slots), so an operator can always inspect and lock.
#[test]
fn an_admin_still_connects_when_the_general_slots_are_full() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let cfg = config(&[0])
        + "[limits]\nmax_connections = 4\nmax_connections_per_uid = 8\nreserved_admin_connections = 1\n";
    let d = Wardend::start(root.path(), &cfg);
    while_child_waits(&d, ATTACKER_UID, "fill-slots", || {
        let admin = d.stack();
        assert_eq!(admin.ping(b"reserved").unwrap(), b"reserved");
    });
}

/// Hostile load (red-team findings): a uid's denials are each enforced and its actions each
/// take effect, but past `audit.lines_per_second_per_uid` they are summarised (at most one
/// marker per second), not written one line each.
#[test]
fn audit_lines_cannot_flood_the_log() {
    if !is_root() {
        return;
    }
    let root = shared_root();
    let cfg = config(&[]).replace(
        "[audit]\n",
        "[audit]\nlines_per_second_per_uid = 10\nline_burst_per_uid = 50\n",
    );
    let d = Wardend::start(root.path(), &cfg);
    let km = d.stack().key_management();
    km.generate_key_into("secret", &ed25519(P::SIGN)).unwrap();
    for (uid, script) in [(ATTACKER_UID, "deny-spam"), (GRANTEE_UID, "resolve-spam")] {
        let started = std::time::Instant::now();
        run_child(&d, uid, script);
        let elapsed = started.elapsed().as_secs_f64();
        let mine: Vec<String> = audit_lines(&d)
            .into_iter()
            .filter(|l| l.contains(&format!("\"uid\":{uid}")))
            .collect();
        let markers = mine
            .iter()
            .filter(|l| l.contains("audit.rate_limited"))
            .count();
        let allowance = 50 + (10.0 * elapsed).ceil() as usize;
        assert!(
            markers >= 1,
            "{script}: no marker among {} lines",
            mine.len()
        );
        // At most one marker per second.
        assert!(
            markers <= 1 + elapsed.ceil() as usize,
            "{script}: {markers} markers"
        );
        assert!(
            mine.len() <= allowance + markers,
            "{script}: {} audit lines in {elapsed:.2} s (allowance {allowance})",
            mine.len()
        );
    }
}
