// One version scheme for `warden` and `wardend` (both build.rs files include this
// file): the workspace version, plus `git describe` of the tree it was built from when git
// is there, as `WARDEN_VERSION` (e.g. `0.1.0 (v0.1.0-12-g1a2b3c4)`).

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let full = match git(&["describe", "--tags", "--always"]) {
        Some(describe) => format!("{version} ({describe})"),
        None => version,
    };
    println!("cargo:rustc-env=WARDEN_VERSION={full}");
    // Rebuild when the commit changes: HEAD moves, or the branch it names does.
    for path in ["HEAD", "index"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &head_ref])
    {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../cli/build_version.rs");
}
