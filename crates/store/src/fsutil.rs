//! Small filesystem helpers: the data directory, directory fsync, our uid.

use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::error::StoreError;

/// The effective uid of this process (owner every store file must have).
pub(crate) fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// fsync a directory so a newly created entry in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    let d = File::open(dir).map_err(StoreError::io("opening directory for fsync"))?;
    d.sync_all().map_err(StoreError::io("syncing directory"))
}

/// Creates the data directory with mode 0700 if it is missing (parents with the default
/// mode), then checks that it is a directory owned by us and not writable by group or others
/// (anyone who can write there could replace the master key or the database).
pub(crate) fn ensure_data_dir(dir: &Path) -> Result<(), StoreError> {
    match std::fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(StoreError::io("creating data directory parent"))?;
            }
            match DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(StoreError::io("creating data directory")(e)),
            }
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        Err(e) => return Err(StoreError::io("inspecting data directory")(e)),
    }
    let meta = std::fs::metadata(dir).map_err(StoreError::io("inspecting data directory"))?;
    if !meta.is_dir() {
        return Err(StoreError::InvalidArgument(
            "data directory is not a directory",
        ));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(StoreError::InsecurePermissions {
            path: dir.to_path_buf(),
            mode,
        });
    }
    let expected = current_uid();
    if meta.uid() != expected {
        return Err(StoreError::WrongOwner {
            path: dir.to_path_buf(),
            uid: meta.uid(),
            expected,
        });
    }
    Ok(())
}

/// Creates `path` empty with mode 0600 if it does not exist, so the database file never
/// exists with the umask's default mode, even for an instant.
pub(crate) fn precreate_private_file(path: &Path) -> Result<(), StoreError> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => {
            f.sync_all()
                .map_err(StoreError::io("syncing new database file"))?;
            if let Some(parent) = path.parent() {
                sync_dir(parent)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::io("creating database file")(e)),
    }
}
