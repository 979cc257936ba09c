//! Files the daemon runs on that are not its own data: the configuration file (it names the
//! admins, the socket's mode and group, the PKCS#11 modules and their PIN files) and each
//! PKCS#11 module (loaded into the daemon: its code runs as the daemon, root on a system
//! install). Whoever can write one of them, or replace it in its directory, controls the
//! daemon — a uid of the socket group given a group-writable `/etc/warden`, say. So, like the
//! PIN file and the socket's directory, they must be owned by root or the daemon's uid,
//! writable by no one else, in directories that only root or the daemon's uid control
//! (`socket_dir` rules: a root-owned sticky directory such as `/tmp` is allowed). Start-up
//! stops otherwise, naming the file and the component at fault.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::DaemonError;
use crate::socket_dir::{Chain, UnsafeComponent, check_dir_chain, link_target};

/// Refuses `path` (a `what`) unless root or the daemon's uid alone can change it. A path
/// with nothing at it passes if no one else could create it (its reader then fails with its
/// usual error).
pub fn check_trusted_file(path: &Path, what: &'static str) -> Result<(), DaemonError> {
    let me = rustix::process::geteuid().as_raw();
    let refuse = |u: UnsafeComponent| DaemonError::UntrustedFile {
        what,
        file: path.to_owned(),
        path: u.path,
        owner: u.owner,
        mode: u.mode,
        why: u.why,
    };
    let chain = |dir: &Path| {
        check_dir_chain(dir, me).map_err(|e| match e {
            Chain::Io(e) => e,
            Chain::Unsafe(u) => refuse(u),
        })
    };
    let io = |op| move |e| DaemonError::io(op, path, e);
    // The file as named (a symlink's owner could repoint it) and its directories...
    let link = match fs::symlink_metadata(path) {
        Ok(m) => m,
        // Nothing there: its reader reports the missing file as before, unless someone else
        // could put a file there between now and the read (a deleted module in a writable
        // directory, recreated in that moment): the nearest existing directory must be safe.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut dir = path.parent();
            while let Some(d) = dir {
                let d = if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                };
                if fs::symlink_metadata(d).is_ok() {
                    return chain(d);
                }
                dir = d.parent();
            }
            return Ok(());
        }
        Err(e) => return Err(io("stat")(e)),
    };
    let component = |meta: &fs::Metadata, p: &Path, why| {
        refuse(UnsafeComponent {
            path: p.to_owned(),
            owner: meta.uid(),
            mode: meta.mode() & 0o7777,
            why,
        })
    };
    let trusted_owner = |meta: &fs::Metadata| meta.uid() == 0 || meta.uid() == me;
    // Every link on the way, not only the first: one owned by someone else, or in a
    // directory someone else controls, can be repointed between this check and the read.
    let (mut hop, mut meta, mut hops) = (path.to_owned(), link, 0);
    loop {
        chain(hop.parent().unwrap_or(Path::new(".")))?;
        if !trusted_owner(&meta) {
            return Err(component(&meta, &hop, "owned by another user"));
        }
        if !meta.file_type().is_symlink() {
            break;
        }
        hop = link_target(&hop, hops).map_err(|e| match e {
            Chain::Io(e) => e,
            Chain::Unsafe(u) => refuse(u),
        })?;
        hops += 1;
        meta = fs::symlink_metadata(&hop).map_err(io("stat"))?;
    }
    // ...and the file it resolves to, in its own directories.
    let real = fs::canonicalize(path).map_err(io("resolve"))?;
    let meta = fs::metadata(&real).map_err(io("stat"))?;
    chain(real.parent().unwrap_or(Path::new("/")))?;
    if !meta.is_file() {
        return Err(component(&meta, &real, "not a regular file"));
    }
    if !trusted_owner(&meta) {
        return Err(component(&meta, &real, "owned by another user"));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(component(&meta, &real, "writable by group or others"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    #[test]
    fn private_files_pass_and_writable_ones_do_not() {
        let d = dir();
        let f = d.path().join("wardend.toml");
        fs::write(&f, "").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        check_trusted_file(&f, "configuration file").unwrap();
        for mode in [0o664, 0o646] {
            fs::set_permissions(&f, fs::Permissions::from_mode(mode)).unwrap();
            let e = check_trusted_file(&f, "configuration file").unwrap_err();
            assert!(e.to_string().contains("writable by group or others"), "{e}");
        }
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        // A directory others may write to: they could replace the file.
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let e = check_trusted_file(&f, "configuration file").unwrap_err();
        assert!(e.to_string().contains("refusing configuration file"), "{e}");
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o700)).unwrap();
        // A symlink is judged by its target too.
        let link = d.path().join("link.toml");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        check_trusted_file(&link, "configuration file").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o666)).unwrap();
        assert!(check_trusted_file(&link, "configuration file").is_err());
        // Not a regular file; missing (left to the reader), unless others could create it.
        assert!(check_trusted_file(d.path(), "configuration file").is_err());
        check_trusted_file(&d.path().join("none"), "configuration file").unwrap();
        check_trusted_file(&d.path().join("no/such/dir"), "configuration file").unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_trusted_file(&d.path().join("none"), "configuration file").is_err());
        assert!(check_trusted_file(&d.path().join("no/such"), "configuration file").is_err());
    }
}
