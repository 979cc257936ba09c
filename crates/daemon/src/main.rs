//! `wardend`: the warden crypto daemon.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use warden_daemon::{Config, Daemon};

/// The configuration file read when `--config` is not given, if it exists.
const DEFAULT_CONFIG: &str = "/etc/warden/wardend.toml";

/// The warden crypto daemon: keys never leave it unless permitted.
///
/// Under systemd socket activation (LISTEN_FDS/LISTEN_PID) it serves the socket it is given.
#[derive(Parser, Debug)]
#[command(name = "wardend", version = env!("WARDEN_VERSION"), about)]
struct Args {
    /// Unix socket path (default: $WARDEN_SOCKET, then /run/warden/wardend.sock as root,
    /// else $XDG_RUNTIME_DIR/warden.sock or /tmp/warden-UID/wardend.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// TOML configuration file (default: /etc/warden/wardend.toml when it exists, else the
    /// embedded secure defaults).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory for persistent key slots (default: $WARDEN_DATA_DIR, then
    /// /var/lib/warden as root, else ~/.local/share/warden).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print the default configuration (the commented example file, which states exactly
    /// the embedded defaults) and exit.
    #[arg(long)]
    print_default_config: bool,
    /// Print this program's man page (roff, section 8) and exit (for packagers).
    #[arg(long)]
    print_man: bool,
}

/// Which configuration file to read: `--config` when given (it must exist), else the default
/// path when a file is there, else none (embedded defaults: the quick start needs no file).
fn config_source(flag: Option<&Path>, default: &Path) -> Option<PathBuf> {
    match flag {
        Some(p) => Some(p.to_owned()),
        None => default.is_file().then(|| default.to_owned()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_man {
        use clap::CommandFactory as _;
        let mut out = Vec::new();
        let man = clap_mangen::Man::new(Args::command()).section("8");
        return match man.render(&mut out) {
            Ok(()) => {
                print!("{}", String::from_utf8_lossy(&out));
                ExitCode::SUCCESS
            }
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "wardend: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.print_default_config {
        print!("{}", Config::default_toml());
        return ExitCode::SUCCESS;
    }
    let source = config_source(args.config.as_deref(), Path::new(DEFAULT_CONFIG));
    // The file names the admins and the modules loaded into the daemon: only root or the
    // daemon's own uid may be able to change it.
    if let Some(path) = &source
        && let Err(e) = warden_daemon::check_trusted_file(path, "configuration file")
    {
        let _ = writeln!(std::io::stderr(), "wardend: {e}");
        return ExitCode::from(2);
    }
    let mut config = match &source {
        Some(path) => match Config::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "wardend: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if args.socket.is_some() {
        config.socket.path = args.socket;
    }
    if args.data_dir.is_some() {
        config.storage.data_dir = args.data_dir;
    }
    let workers = config.effective_workers();
    let max = config.limits.max_connections;
    let admins = config.access.admin_uids.clone();
    match Daemon::new(config)
        .accept_socket_activation()
        .harden_process()
        .handle_signals()
        .open_store_at_start()
        .launch()
    {
        Ok(daemon) => {
            let _ = writeln!(
                std::io::stderr(),
                "wardend: listening on {} ({workers} workers, up to {max} connections)",
                daemon.socket_path().display()
            );
            let _ = writeln!(
                std::io::stderr(),
                "wardend: config: {}",
                source.as_deref().map_or_else(
                    || "embedded defaults".to_owned(),
                    |p| p.display().to_string()
                )
            );
            let _ = writeln!(std::io::stderr(), "wardend: admin uids: {admins:?}");
            let _ = writeln!(std::io::stderr(), "wardend: {}", daemon.memory_budget());
            daemon.wait();
            let _ = writeln!(std::io::stderr(), "wardend: stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "wardend: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_default_file_then_none() {
        let dir = tempfile::tempdir().unwrap();
        let default = dir.path().join("wardend.toml");
        let flag = dir.path().join("other.toml");
        assert_eq!(config_source(None, &default), None);
        assert_eq!(config_source(Some(&flag), &default), Some(flag.clone()));
        std::fs::write(&default, "").unwrap();
        assert_eq!(config_source(None, &default), Some(default.clone()));
        assert_eq!(config_source(Some(&flag), &default), Some(flag));
        // A directory at the default path is not a config file.
        let d2 = dir.path().join("dir.toml");
        std::fs::create_dir(&d2).unwrap();
        assert_eq!(config_source(None, &d2), None);
    }
}
