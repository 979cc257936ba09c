//! Sets `WARDEN_VERSION` for `--version` (shared with warden: see crates/cli/build_version.rs).

include!("../cli/build_version.rs");
