//! `[socket] group`: the group the socket file (and a socket directory the daemon creates)
//! is given, so that uids in that group can connect.
//!
//! Names resolve through `/etc/group` only (no NSS: the daemon links no C resolver and runs
//! no unsafe code); a numeric gid works for groups that live elsewhere (LDAP, sssd).

use std::path::Path;

use crate::DaemonError;

/// The group database read for names.
const GROUP_FILE: &str = "/etc/group";

/// The gid of `group`: a decimal gid, or a name looked up in `/etc/group`.
pub(crate) fn resolve(group: &str) -> Result<u32, DaemonError> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let text = std::fs::read_to_string(GROUP_FILE)
        .map_err(|e| DaemonError::io("read group database", Path::new(GROUP_FILE), e))?;
    lookup(&text, group).ok_or_else(|| {
        DaemonError::Unsafe(
            "socket.group names no group in /etc/group (use a numeric gid for others)",
            Path::new(GROUP_FILE).to_owned(),
        )
    })
}

/// `name`'s gid in `/etc/group` text (`name:password:gid:members` lines).
fn lookup(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let n = fields.next()?;
        let _password = fields.next()?;
        let gid = fields.next()?;
        (n == name).then(|| gid.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        let db = "root:x:0:\n# comment\nwarden:x:4250:alice,bob\nbad:x:notanumber:\nwardenx:x:1:\n";
        assert_eq!(lookup(db, "warden"), Some(4250));
        assert_eq!(lookup(db, "root"), Some(0));
        assert_eq!(lookup(db, "ward"), None);
        assert_eq!(lookup(db, "bad"), None);
        assert_eq!(lookup(db, "nobody-here"), None);
        assert_eq!(resolve("4251").unwrap(), 4251);
        assert!(resolve("no-such-group-anywhere-4250").is_err());
    }
}
