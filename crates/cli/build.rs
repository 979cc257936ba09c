//! Sets `WARDEN_VERSION` for `--version` (shared with wardend: see build_version.rs).

include!("build_version.rs");
