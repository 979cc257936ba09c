//! Who may control the directories above the daemon's socket.
//!
//! Whoever can rename or replace an entry in any directory on the socket's path can move the
//! real socket away and serve a fake daemon at its name, which then receives the key bytes
//! clients import. So every directory from `/` down to the socket's parent must be owned by
//! root or the daemon's uid and writable by nobody else. The one exception is a root-owned
//! sticky directory such as `/tmp`: there others may create entries but cannot rename or
//! delete ours. A sticky directory owned by anyone else is refused: its owner may rename
//! every entry in it (issue 11 item 2: an attacker pre-creating `/tmp/warden-<uid>` 1777).

use std::fs::{self, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::DaemonError;

/// Refuses `dir` unless it and every ancestor (both as spelled and after resolving symlinks)
/// is safe for a socket of a daemon running as `me`.
pub(crate) fn check_socket_dir(dir: &Path, me: u32) -> Result<(), DaemonError> {
    check_dir_chain(dir, me).map_err(|e| match e {
        Chain::Io(e) => e,
        Chain::Unsafe(u) => DaemonError::UnsafeSocketDir {
            path: u.path,
            owner: u.owner,
            mode: u.mode,
            why: u.why,
        },
    })
}

/// A path component someone other than root or the daemon's uid controls.
pub(crate) struct UnsafeComponent {
    pub(crate) path: PathBuf,
    pub(crate) owner: u32,
    pub(crate) mode: u32,
    pub(crate) why: &'static str,
}

/// Why a directory chain was refused: it could not be read, or a component is unsafe.
pub(crate) enum Chain {
    Io(DaemonError),
    Unsafe(UnsafeComponent),
}

/// The rules of [`check_socket_dir`] for any directory whose entries the daemon trusts
/// (the socket's, the configuration file's, a PKCS#11 module's).
pub(crate) fn check_dir_chain(dir: &Path, me: u32) -> Result<(), Chain> {
    check_spelled(dir, me, 0)?;
    let dir = absolute(dir).map_err(Chain::Io)?;
    // As resolved: the directories the entry actually lies in.
    let real =
        fs::canonicalize(&dir).map_err(|e| Chain::Io(DaemonError::io("resolve", &dir, e)))?;
    for a in real.ancestors() {
        let meta = fs::metadata(a).map_err(|e| Chain::Io(DaemonError::io("stat", a, e)))?;
        check_one(a, &meta, me)?;
    }
    Ok(())
}

/// Symlinks followed while checking one path, as the kernel's `ELOOP` limit.
const MAX_LINK_HOPS: usize = 40;

/// `dir` and every ancestor as spelled, and, for each that is a symlink, the path it points
/// to, the same way (`hops` deep so far). A symlink owned by someone else can be repointed
/// by its owner (in a sticky directory, the owner of an entry may replace it) — also one
/// met only on the way, which neither the spelled nor the resolved path shows: a root-owned
/// link to `/home/u/l`, which `u` points at `/etc` while the daemon checks and at its own
/// directory when it opens the file.
fn check_spelled(dir: &Path, me: u32, hops: usize) -> Result<(), Chain> {
    let dir = absolute(dir).map_err(Chain::Io)?;
    for a in dir.ancestors() {
        let meta = fs::symlink_metadata(a).map_err(|e| Chain::Io(DaemonError::io("stat", a, e)))?;
        check_one(a, &meta, me)?;
        if meta.file_type().is_symlink() {
            let target = link_target(a, hops)?;
            check_spelled(&target, me, hops + 1)?;
        }
    }
    Ok(())
}

/// Where the symlink `link` points, made absolute (relative targets are relative to the
/// link's directory); refused past [`MAX_LINK_HOPS`] as the kernel would.
pub(crate) fn link_target(link: &Path, hops: usize) -> Result<PathBuf, Chain> {
    if hops >= MAX_LINK_HOPS {
        return Err(Chain::Io(DaemonError::io(
            "resolve",
            link,
            std::io::Error::from_raw_os_error(rustix::io::Errno::LOOP.raw_os_error()),
        )));
    }
    let target = fs::read_link(link).map_err(|e| Chain::Io(DaemonError::io("resolve", link, e)))?;
    Ok(link.parent().unwrap_or(Path::new("/")).join(target))
}

fn absolute(dir: &Path) -> Result<PathBuf, DaemonError> {
    if dir.is_absolute() {
        return Ok(dir.to_owned());
    }
    let cwd = std::env::current_dir().map_err(|e| DaemonError::io("resolve", dir, e))?;
    Ok(cwd.join(dir))
}

fn check_one(path: &Path, meta: &Metadata, me: u32) -> Result<(), Chain> {
    let kind = if meta.file_type().is_symlink() {
        Kind::Symlink
    } else if meta.is_dir() {
        Kind::Dir
    } else {
        Kind::Other
    };
    match problem(meta.uid(), meta.mode(), kind, me) {
        None => Ok(()),
        Some(why) => Err(Chain::Unsafe(UnsafeComponent {
            path: path.to_owned(),
            owner: meta.uid(),
            mode: meta.mode() & 0o7777,
            why,
        })),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    Symlink,
    Other,
}

/// Why a path component with this owner and mode is unsafe, or `None`.
fn problem(owner: u32, mode: u32, kind: Kind, me: u32) -> Option<&'static str> {
    if owner != me && owner != 0 {
        return Some("owned by another user, who could move or replace what is in it");
    }
    match kind {
        // A symlink's own mode is meaningless; its target is checked on the resolved walk.
        Kind::Symlink => None,
        Kind::Other => Some("not a directory"),
        Kind::Dir => {
            let writable_by_others = mode & 0o022 != 0;
            let root_sticky = owner == 0 && mode & 0o1000 != 0;
            (writable_by_others && !root_sticky).then_some(
                "writable by group or others (only a root-owned sticky directory like /tmp may be)",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const ME: u32 = 1000;
    const OTHER: u32 = 4270;

    #[test]
    fn owner_rules() {
        assert_eq!(problem(ME, 0o700, Kind::Dir, ME), None);
        assert_eq!(problem(0, 0o755, Kind::Dir, ME), None);
        // The case: another user's sticky world-writable directory.
        assert!(problem(OTHER, 0o1777, Kind::Dir, ME).is_some());
        assert!(problem(OTHER, 0o700, Kind::Dir, ME).is_some());
        assert!(problem(OTHER, 0o777, Kind::Symlink, ME).is_some());
    }

    #[test]
    fn mode_rules() {
        // /tmp itself is fine.
        assert_eq!(problem(0, 0o1777, Kind::Dir, ME), None);
        // Sticky but owned by the daemon's (non-root) user, or not sticky: refused.
        assert!(problem(ME, 0o1777, Kind::Dir, ME).is_some());
        assert!(problem(0, 0o777, Kind::Dir, ME).is_some());
        assert!(problem(ME, 0o770, Kind::Dir, ME).is_some());
        assert!(problem(ME, 0o702, Kind::Dir, ME).is_some());
        assert_eq!(problem(ME, 0o750, Kind::Dir, ME), None);
        assert_eq!(problem(ME, 0o777, Kind::Symlink, ME), None);
        assert!(problem(ME, 0o600, Kind::Other, ME).is_some());
    }

    fn me() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    fn private_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    #[test]
    fn accepts_a_private_dir_and_relative_spelling() {
        let d = private_dir();
        check_socket_dir(d.path(), me()).unwrap();
        let rel = Path::new(".");
        // The test's cwd is the crate directory, which the test runner's user owns.
        if fs::metadata(rel).unwrap().uid() == me() {
            check_socket_dir(rel, me()).unwrap();
        }
    }

    #[test]
    fn refuses_a_group_writable_ancestor_by_name() {
        let d = private_dir();
        let mid = d.path().join("mid");
        let leaf = mid.join("leaf");
        fs::create_dir_all(&leaf).unwrap();
        fs::set_permissions(&mid, fs::Permissions::from_mode(0o770)).unwrap();
        match check_socket_dir(&leaf, me()) {
            Err(DaemonError::UnsafeSocketDir { path, mode, .. }) => {
                assert_eq!(path, mid);
                assert_eq!(mode, 0o770);
            }
            other => panic!("expected UnsafeSocketDir, got {other:?}"),
        }
    }

    #[test]
    fn refuses_another_users_sticky_dir_and_symlink_as_root() {
        if me() != 0 {
            println!("SKIPPED: chown to another uid needs root");
            return;
        }
        let d = private_dir();
        let sticky = d.path().join("warden-1000");
        fs::create_dir(&sticky).unwrap();
        fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
        std::os::unix::fs::chown(&sticky, Some(OTHER), None).unwrap();
        let err = check_socket_dir(&sticky, 0).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("warden-1000") && text.contains("4270"),
            "{text}"
        );

        // A symlink owned by someone else, even to a good directory, can be repointed.
        let good = d.path().join("good");
        fs::create_dir(&good).unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&good, &link).unwrap();
        check_socket_dir(&link, 0).unwrap();
        std::os::unix::fs::lchown(&link, Some(OTHER), None).unwrap();
        assert!(matches!(
            check_socket_dir(&link, 0),
            Err(DaemonError::UnsafeSocketDir { path, owner: OTHER, .. }) if path == link
        ));
    }
}
