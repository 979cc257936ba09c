//! Failures that say what to do next: the daemon answers with a bare code (error replies
//! carry no detail), so the CLI, which knows the command that failed, adds the advice; where
//! the code alone is ambiguous (a locked slot and missing permissions both deny use), it asks
//! the daemon one more question about the slot before explaining.

use std::path::Path;

use warden_client::{CryptoStack, ErrorCode};

use crate::args::{
    Cli, Command, KemCommand, KeyCommand, MacCommand, PermitCommand, PolicyCommand, ReceiptCommand,
    TrustCommand,
};
use crate::failure::Failure;

/// How the socket path the CLI tried was chosen (connection failures say so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketSource {
    /// `--socket PATH`.
    Flag,
    /// `$WARDEN_SOCKET`.
    Env,
    /// The built-in default for the caller's uid.
    Default,
}

impl SocketSource {
    /// Where the path came from, for `cli`.
    pub fn of(cli: &Cli) -> SocketSource {
        if cli.socket.is_some() {
            SocketSource::Flag
        } else if std::env::var_os(warden_client::SOCKET_ENV).is_some_and(|v| !v.is_empty()) {
            SocketSource::Env
        } else {
            SocketSource::Default
        }
    }

    fn phrase(self) -> String {
        match self {
            SocketSource::Flag => "given by --socket".to_owned(),
            SocketSource::Env => format!("taken from ${}", warden_client::SOCKET_ENV),
            SocketSource::Default => format!(
                "the default for uid {}, as neither --socket nor ${} is set",
                own_uid_text(),
                warden_client::SOCKET_ENV
            ),
        }
    }
}

/// A failed connect, with the question to ask and how the path was chosen.
pub fn connect_failure(e: warden_client::Error, source: SocketSource) -> Failure {
    let code = e.code();
    let warden_client::Error::Connect { path, source: io } = e else {
        return Failure::from_client(e);
    };
    let why = match io.kind() {
        std::io::ErrorKind::PermissionDenied => format!(
            "permission denied: the socket's mode and group do not admit uid {} (the operator \
             can set [socket] group in wardend's config and add you to that group)",
            own_uid_text()
        ),
        _ => format!("{io}; is wardend running?"),
    };
    let mut msg = format!(
        "cannot connect to wardend at {} ({}): {why}",
        path.display(),
        source.phrase()
    );
    if source != SocketSource::Flag {
        msg.push_str(&format!(
            " Use --socket PATH or ${} for another socket",
            warden_client::SOCKET_ENV
        ));
        if path != Path::new(warden_client::SYSTEM_SOCKET_PATH) {
            msg.push_str(&format!(
                " (a system-wide wardend listens on {})",
                warden_client::SYSTEM_SOCKET_PATH
            ));
        }
        msg.push('.');
    }
    Failure::Daemon(code, msg)
}

/// Adds what to do to a failure of `cli`'s command.
pub fn advise(cli: &Cli, stack: &CryptoStack, failure: Failure) -> Failure {
    let Some(code) = failure.daemon_code() else {
        return failure;
    };
    let Failure::Daemon(_, msg) = &failure else {
        return failure;
    };
    if code == ErrorCode::AccessDenied && is_admin_only(&cli.command) {
        return Failure::Daemon(
            code,
            format!(
                "{msg}: this command is for wardend's admins; the operator adds uid {} to \
                 `[access] admin_uids` in wardend's config (and restarts it)",
                own_uid_text()
            ),
        );
    }
    if let Command::Key(KeyCommand::Revoke(a)) = &cli.command
        && code == ErrorCode::ResourceNotFound
    {
        return Failure::Daemon(
            code,
            format!(
                "uid {} holds no grant on slot {}; nothing was revoked (`warden --json key \
                 list` shows each slot's grants)",
                a.uid, a.slot
            ),
        );
    }
    if matches!(
        code,
        ErrorCode::AccessDenied | ErrorCode::KeyOperationNotPermitted
    ) && let Some(slot) = command_slot(&cli.command)
        && let Ok(info) = stack.key_management().slot_info(slot)
        && info.locked
    {
        let what = if matches!(&cli.command, Command::Key(KeyCommand::Unlock(_))) {
            "an admin locked it, so only an admin can `warden key unlock` it".to_owned()
        } else {
            format!(
                "nobody may use it or change its grants until its owner (or an admin, for an \
                 admin's lock) runs `warden key unlock --slot {slot}`"
            )
        };
        return Failure::Daemon(code, format!("slot {slot} is locked: {what}"));
    }
    // The daemon answers the same for a slot that does not exist and one the caller may not
    // see (no existence oracle); the caller's own listing tells which case it can tell apart.
    if code == ErrorCode::AccessDenied
        && let Some(slot) = command_slot(&cli.command)
        && stack.key_management().slot_info(slot).is_err()
    {
        // A bare name is the caller's own slot; `uid/name` is another owner's.
        let why = if slot.contains('/') {
            format!("slot {slot} does not exist, or its owner granted you nothing")
        } else {
            format!("you have no slot named {slot} (another owner's slot is named uid/{slot})")
        };
        return Failure::Daemon(
            code,
            format!("{msg}: {why}; `warden key list` shows the slots you can use"),
        );
    }
    failure
}

/// Commands the daemon reserves to `[access] admin_uids`.
fn is_admin_only(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Policy(PolicyCommand::Load { .. } | PolicyCommand::Unload { .. })
            | Command::Trust(TrustCommand::Add { .. } | TrustCommand::Remove { .. })
            | Command::Receipt(ReceiptCommand::Export { .. })
    )
}

/// The slot a command uses, if it names one.
fn command_slot(cmd: &Command) -> Option<&str> {
    let slot = match cmd {
        Command::Key(k) => match k {
            KeyCommand::Public(a) => &a.slot,
            KeyCommand::Export(a) => &a.slot,
            KeyCommand::Delete(a) | KeyCommand::Lock(a) | KeyCommand::Unlock(a) => &a.slot,
            KeyCommand::Grant(a) => &a.slot,
            KeyCommand::Revoke(a) => &a.slot,
            _ => return None,
        },
        Command::Sign(a) => &a.slot,
        Command::Verify(a) => a.slot.as_ref()?,
        Command::Encrypt(a) | Command::Decrypt(a) => &a.slot,
        Command::Mac(m) => match &m.command {
            Some(MacCommand::Verify(a)) => &a.slot,
            None => m.args.slot.as_ref()?,
        },
        Command::Agree(a) => &a.slot,
        Command::Kem(KemCommand::Encap(a)) => &a.slot,
        Command::Kem(KemCommand::Decap(a)) => &a.slot,
        Command::Derive(a) => &a.slot,
        Command::Permit(PermitCommand::Issue(a)) => &a.slot,
        _ => return None,
    };
    Some(slot)
}

/// This process's uid as text (the owner of `/proc/self`; "your uid" where that is not
/// readable): the CLI has no unsafe code to call getuid with.
pub fn own_uid_text() -> String {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid().to_string())
        .unwrap_or_else(|_| "<your uid>".to_owned())
}
