//! Where `wardend` listens and keeps its data by default: one definition the daemon, the
//! client and the CLI all use, so they cannot disagree. Pure functions of the uid and the
//! environment values passed in (callers read the environment), so they are testable.

use std::ffi::OsStr;
use std::format;
use std::path::PathBuf;

/// Environment variable naming the socket path (daemon and clients).
pub const SOCKET_ENV: &str = "WARDEN_SOCKET";
/// Environment variable naming the daemon's data directory.
pub const DATA_DIR_ENV: &str = "WARDEN_DATA_DIR";
/// Socket path of a daemon running as root.
pub const SYSTEM_SOCKET_PATH: &str = "/run/warden/wardend.sock";
/// Data directory of a daemon running as root.
pub const SYSTEM_DATA_DIR: &str = "/var/lib/warden";

fn non_empty(v: Option<&OsStr>) -> Option<&OsStr> {
    v.filter(|v| !v.is_empty())
}

/// Default socket path for `uid`: [`SYSTEM_SOCKET_PATH`] for root; otherwise
/// `$XDG_RUNTIME_DIR/warden.sock`, else `/tmp/warden-<uid>/wardend.sock`.
pub fn default_socket_path(uid: u32, xdg_runtime_dir: Option<&OsStr>) -> PathBuf {
    if uid == 0 {
        return PathBuf::from(SYSTEM_SOCKET_PATH);
    }
    match non_empty(xdg_runtime_dir) {
        Some(d) => PathBuf::from(d).join("warden.sock"),
        None => PathBuf::from(format!("/tmp/warden-{uid}/wardend.sock")),
    }
}

/// The per-user data directory: `$XDG_DATA_HOME/warden`, else `$HOME/.local/share/warden`,
/// else `/tmp/warden-<uid>/data`.
pub fn user_data_dir(uid: u32, xdg_data_home: Option<&OsStr>, home: Option<&OsStr>) -> PathBuf {
    if let Some(d) = non_empty(xdg_data_home) {
        return PathBuf::from(d).join("warden");
    }
    match non_empty(home) {
        Some(h) => PathBuf::from(h).join(".local/share/warden"),
        None => PathBuf::from(format!("/tmp/warden-{uid}/data")),
    }
}

/// Default data directory for `uid`: [`SYSTEM_DATA_DIR`] for root, else [`user_data_dir`].
pub fn default_data_dir(uid: u32, xdg_data_home: Option<&OsStr>, home: Option<&OsStr>) -> PathBuf {
    if uid == 0 {
        return PathBuf::from(SYSTEM_DATA_DIR);
    }
    user_data_dir(uid, xdg_data_home, home)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_gets_the_system_paths_others_their_own() {
        let run = Some(OsStr::new("/run/user/1000"));
        assert_eq!(
            default_socket_path(0, run),
            PathBuf::from(SYSTEM_SOCKET_PATH)
        );
        assert_eq!(
            default_socket_path(1000, run),
            PathBuf::from("/run/user/1000/warden.sock")
        );
        assert_eq!(
            default_socket_path(1000, Some(OsStr::new(""))),
            PathBuf::from("/tmp/warden-1000/wardend.sock")
        );
        let home = Some(OsStr::new("/home/a"));
        assert_eq!(
            default_data_dir(0, None, home),
            PathBuf::from(SYSTEM_DATA_DIR)
        );
        assert_eq!(
            default_data_dir(1000, Some(OsStr::new("/x")), home),
            PathBuf::from("/x/warden")
        );
        assert_eq!(
            default_data_dir(1000, None, home),
            PathBuf::from("/home/a/.local/share/warden")
        );
        assert_eq!(
            default_data_dir(1000, None, None),
            PathBuf::from("/tmp/warden-1000/data")
        );
    }
}
