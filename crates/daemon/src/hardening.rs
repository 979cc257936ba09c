//! Process hardening at start-up: no core dump may carry key bytes.
//!
//! A crashed or signalled daemon would otherwise write its whole address space (master key,
//! decrypted slot secrets, provider key objects) to a core file, and a process of the same
//! uid could read its memory through `/proc/<pid>/mem` or attach with ptrace. Two process-wide
//! settings close both, before any secret is loaded:
//! - `RLIMIT_CORE` 0 (soft and hard): the kernel writes no core file, and the daemon cannot
//!   raise it again;
//! - `PR_SET_DUMPABLE` 0: no core dump even through a `core_pattern` pipe, and only a
//!   `CAP_SYS_PTRACE` holder can ptrace the daemon or open its `/proc/<pid>/{mem,environ,...}`.
//!
//! Session arenas are additionally mapped `MADV_DONTDUMP` (see `warden-arena`), which keeps
//! them out of any dump a privileged debugger forces. Key objects inside the crypto library
//! live on its heap and are covered by the process-wide settings above, not per mapping.

use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};

use crate::DaemonError;

/// Applies both settings to the calling process (all threads).
pub(crate) fn disable_core_dumps() -> Result<(), DaemonError> {
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )
    .map_err(|e| DaemonError::Setup("setting RLIMIT_CORE to 0", e.into()))?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .map_err(|e| DaemonError::Setup("clearing PR_SET_DUMPABLE", e.into()))
}

#[cfg(test)]
mod tests {
    use rustix::process::{Resource, getrlimit};

    /// Runs in a child copy of the test binary so the test process itself stays dumpable.
    #[test]
    fn core_limit_is_zero_and_the_process_is_not_dumpable_afterwards() {
        if std::env::var_os("WARDEN_HARDENING_CHILD").is_some() {
            super::disable_core_dumps().unwrap();
            let core = getrlimit(Resource::Core);
            assert_eq!((core.current, core.maximum), (Some(0), Some(0)));
            assert_eq!(
                rustix::process::dumpable_behavior().unwrap(),
                rustix::process::DumpableBehavior::NotDumpable
            );
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "hardening::tests::core_limit_is_zero_and_the_process_is_not_dumpable_afterwards",
                "--nocapture",
            ])
            .env("WARDEN_HARDENING_CHILD", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("1 passed"), "child ran nothing: {stdout}");
    }
}
