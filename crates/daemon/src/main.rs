//! `wardend`: the warden crypto daemon.

#![forbid(unsafe_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use warden_daemon::{Config, Daemon};

/// The warden crypto daemon: keys never leave it unless permitted.
#[derive(Parser, Debug)]
#[command(name = "wardend", version, about)]
struct Args {
    /// Unix socket path (default: $WARDEN_SOCKET, then /run/warden/wardend.sock as root,
    /// else $XDG_RUNTIME_DIR/warden.sock or /tmp/warden-UID/wardend.sock).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// TOML configuration file (default: none, embedded secure defaults).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory for persistent key slots (default: $WARDEN_DATA_DIR, then
    /// /var/lib/warden as root, else ~/.local/share/warden).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print the default configuration as TOML and exit.
    #[arg(long)]
    print_default_config: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.print_default_config {
        print!("{}", Config::default_toml());
        return ExitCode::SUCCESS;
    }
    let mut config = match &args.config {
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
