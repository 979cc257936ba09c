//! The protocol versions this client speaks (a leaf module: the connection negotiates them,
//! errors name them).

use warden_wire::{PROTOCOL_VERSION, Version};

/// Lowest protocol version this client speaks: 1.0 daemons are served too, without the
/// operations added later ([`warden_wire::Opcode::since`]), which fail before sending.
pub const MIN_VERSION: Version = Version::new(1, 0);
/// Highest protocol version this client speaks.
pub const MAX_VERSION: Version = PROTOCOL_VERSION;
