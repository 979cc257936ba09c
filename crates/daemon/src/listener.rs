//! The listening Unix socket: created with its final permissions, never replacing a live
//! daemon's socket or a non-socket file, and removed on shutdown only if it is still ours.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use crate::DaemonError;
use crate::socket_dir::check_socket_dir;

/// A bound listener plus what is needed to remove its socket file safely.
#[derive(Debug)]
pub(crate) struct BoundSocket {
    pub(crate) listener: UnixListener,
    path: PathBuf,
    dev: u64,
    ino: u64,
    /// Whether the daemon created the socket file (and so removes it on shutdown). An
    /// inherited socket (systemd activation) belongs to its creator.
    owned: bool,
}

impl BoundSocket {
    /// Binds `path` with file mode `mode`, owned by group `group` when given.
    ///
    /// The socket is bound under a temporary name, given its mode and group, then renamed
    /// into place, so no client can ever see it with the process umask's looser permissions
    /// or the wrong group.
    pub(crate) fn bind(path: &Path, mode: u32, group: Option<u32>) -> Result<Self, DaemonError> {
        prepare_parent(path, group)?;
        remove_stale(path)?;
        let tmp = temp_name(path);
        // A leftover temp name from a crashed start-up is ours to remove.
        let _ = fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp).map_err(|e| DaemonError::io("bind", &tmp, e))?;
        let finish = || -> io::Result<()> {
            if group.is_some() {
                std::os::unix::fs::chown(&tmp, None, group)?;
            }
            fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
            fs::rename(&tmp, path)
        };
        if let Err(e) = finish() {
            let _ = fs::remove_file(&tmp);
            return Err(DaemonError::io("install socket", path, e));
        }
        listener
            .set_nonblocking(true)
            .map_err(|e| DaemonError::io("configure", path, e))?;
        let meta = fs::symlink_metadata(path).map_err(|e| DaemonError::io("stat", path, e))?;
        Ok(Self {
            listener,
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
            owned: true,
        })
    }

    /// A listening socket handed over by the service manager (socket activation): its
    /// path, mode and group are the unit's business, and it is not removed on shutdown.
    pub(crate) fn inherited(listener: UnixListener) -> Result<Self, DaemonError> {
        let addr = listener
            .local_addr()
            .map_err(|e| DaemonError::Setup("inherited socket address", e))?;
        // The unit decides who may connect, but the daemon's own rules still hold: an
        // abstract or unnamed socket has no permissions at all (every local uid could
        // connect), and a file others may connect to or an unsafe directory above it are
        // refused as for a socket the daemon binds itself.
        let path = addr.as_pathname().map(Path::to_owned).ok_or_else(|| {
            DaemonError::Unsafe(
                "an inherited socket without a path (abstract or unnamed): anyone may connect",
                PathBuf::from("(inherited socket)"),
            )
        })?;
        let meta = fs::metadata(&path).map_err(|e| DaemonError::io("stat", &path, e))?;
        // Connecting needs write permission: others' write bit lets every uid in (systemd's
        // default SocketMode is 0666).
        if meta.mode() & 0o002 != 0 {
            return Err(DaemonError::Unsafe(
                "inherited socket lets others connect (SocketMode must not grant others write)",
                path,
            ));
        }
        if let Some(parent) = path.parent() {
            check_socket_dir(parent, rustix::process::geteuid().as_raw())?;
        }
        listener
            .set_nonblocking(true)
            .map_err(|e| DaemonError::io("configure", &path, e))?;
        Ok(Self {
            listener,
            path,
            dev: 0,
            ino: 0,
            owned: false,
        })
    }

    /// The path clients connect to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the socket file if it is still the one we created.
    pub(crate) fn remove(&self) {
        if !self.owned {
            return;
        }
        if let Ok(meta) = fs::symlink_metadata(&self.path)
            && meta.dev() == self.dev
            && meta.ino() == self.ino
        {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn temp_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}.tmp", std::process::id()));
    PathBuf::from(name)
}

/// Creates a missing parent directory and refuses a socket directory (or any ancestor) that
/// another user controls, since whoever controls it can swap the socket (see `socket_dir`).
///
/// A system daemon (root) creates it 0755 so applications of other users can reach the
/// socket, whose own mode then decides who may connect; a per-user daemon creates it 0700,
/// or 0750 owned by the socket group when one is configured (its members must traverse it).
fn prepare_parent(path: &Path, group: Option<u32>) -> Result<(), DaemonError> {
    // A bare file name lives in the working directory, which must be just as safe.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let me = rustix::process::geteuid();
    if !parent.exists() {
        // Vet what already exists before creating anything inside it.
        let existing = parent
            .ancestors()
            .skip(1)
            .map(|a| {
                if a.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    a
                }
            })
            .find(|a| a.exists());
        if let Some(existing) = existing {
            check_socket_dir(existing, me.as_raw())?;
        }
        let mode = match (me.is_root(), group) {
            (true, _) => 0o755,
            (false, Some(_)) => 0o750,
            (false, None) => 0o700,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(parent)
            .map_err(|e| DaemonError::io("create socket directory", parent, e))?;
        if group.is_some() && !me.is_root() {
            std::os::unix::fs::chown(parent, None, group)
                .map_err(|e| DaemonError::io("set socket directory group", parent, e))?;
        }
    }
    check_socket_dir(parent, me.as_raw())
}

/// Removes a socket left behind by a daemon that died; refuses to touch a live socket or
/// anything that is not a socket.
fn remove_stale(path: &Path) -> Result<(), DaemonError> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(DaemonError::io("stat", path, e)),
    };
    if !meta.file_type().is_socket() {
        return Err(DaemonError::Unsafe(
            "socket path exists and is not a socket",
            path.into(),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(DaemonError::AlreadyRunning(path.into())),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            fs::remove_file(path).map_err(|e| DaemonError::io("remove stale socket", path, e))
        }
        Err(e) => Err(DaemonError::io("probe existing socket", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_with_mode_and_removes_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let b = BoundSocket::bind(&path, 0o600, None).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A second daemon must not steal a live socket.
        assert!(matches!(
            BoundSocket::bind(&path, 0o600, None),
            Err(DaemonError::AlreadyRunning(_))
        ));
        b.remove();
        assert!(!path.exists());
    }

    #[test]
    fn replaces_stale_socket_but_not_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        drop(UnixListener::bind(&path).unwrap()); // stale: nobody listening
        let b = BoundSocket::bind(&path, 0o660, None).unwrap();
        b.remove();
        fs::write(&path, b"not a socket").unwrap();
        assert!(matches!(
            BoundSocket::bind(&path, 0o660, None),
            Err(DaemonError::Unsafe(..))
        ));
        assert_eq!(fs::read(&path).unwrap(), b"not a socket");
    }

    #[test]
    fn creates_missing_parent_reachable_for_a_system_daemon_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/warden/s.sock");
        let b = BoundSocket::bind(&path, 0o660, None).unwrap();
        let mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        let expected = if rustix::process::geteuid().is_root() {
            0o755
        } else {
            0o700
        };
        assert_eq!(mode, expected);
        b.remove();
    }

    #[test]
    fn a_socket_group_owns_the_socket_and_a_created_directory() {
        if !rustix::process::geteuid().is_root() {
            println!("SKIPPED: chgrp to an arbitrary gid needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/s.sock");
        let b = BoundSocket::bind(&path, 0o660, Some(4250)).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(
            (meta.gid(), meta.permissions().mode() & 0o777),
            (4250, 0o660)
        );
        b.remove();
        // An inherited listener is not ours to remove.
        let l = UnixListener::bind(&path).unwrap();
        let inherited = BoundSocket::inherited(l).unwrap();
        assert_eq!(inherited.path(), path);
        inherited.remove();
        assert!(path.exists());
    }

    #[test]
    fn refuses_a_directory_writable_by_others() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            BoundSocket::bind(&open.join("s.sock"), 0o600, None),
            Err(DaemonError::UnsafeSocketDir { .. })
        ));
        // Nor may a missing directory be created inside it.
        assert!(matches!(
            BoundSocket::bind(&open.join("sub/s.sock"), 0o600, None),
            Err(DaemonError::UnsafeSocketDir { .. })
        ));
        assert!(!open.join("sub").exists());
    }

    #[test]
    fn refuses_another_users_sticky_directory() {
        if !rustix::process::geteuid().is_root() {
            println!("SKIPPED: chown to another uid needs root");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let sticky = dir.path().join("warden-0");
        fs::create_dir(&sticky).unwrap();
        fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
        std::os::unix::fs::chown(&sticky, Some(4270), None).unwrap();
        let path = sticky.join("wardend.sock");
        assert!(matches!(
            BoundSocket::bind(&path, 0o600, None),
            Err(DaemonError::UnsafeSocketDir { owner: 4270, .. })
        ));
        assert!(!path.exists());
    }

    #[test]
    fn does_not_remove_a_replaced_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let b = BoundSocket::bind(&path, 0o600, None).unwrap();
        fs::remove_file(&path).unwrap();
        let _other = UnixListener::bind(&path).unwrap();
        b.remove();
        assert!(
            path.exists(),
            "someone else's socket must survive our shutdown"
        );
    }
}
