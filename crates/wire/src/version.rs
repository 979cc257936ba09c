//! Protocol versions and the connect-time negotiation rule.

use core::fmt;

use crate::error::WireError;

/// A protocol version `major.minor`.
///
/// Minor versions of one major are wire compatible in the header layout; a minor bump may add
/// opcodes, flags and appended body fields. Ordering is by major, then minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Incompatible changes bump the major version.
    pub major: u8,
    /// Compatible additions bump the minor version.
    pub minor: u8,
}

impl Version {
    /// A version from its two parts.
    pub const fn new(major: u8, minor: u8) -> Self {
        Version { major, minor }
    }

    /// The previous minor version of the same major, if any (`1.3` → `1.2`, `1.0` → none).
    pub const fn previous_minor(self) -> Option<Version> {
        match self.minor.checked_sub(1) {
            Some(minor) => Some(Version {
                major: self.major,
                minor,
            }),
            None => None,
        }
    }

    /// Whether a daemon at version `self` serves `v`: its own version or the previous minor.
    pub fn serves(self, v: Version) -> bool {
        v == self || self.previous_minor() == Some(v)
    }

    /// Lowest version a daemon at `self` serves.
    pub fn oldest_served(self) -> Version {
        self.previous_minor().unwrap_or(self)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The version this build of the protocol implements.
///
/// History: 1.0 first release; 1.1 adds `Process`, `SlotSetLocked`, `ReceiptExport` and the
/// `SlotList` name filter (a 1.1 daemon still serves 1.0 clients, without those operations).
pub const PROTOCOL_VERSION: Version = Version::new(1, 1);

/// Chooses the version for a connection: the highest version that the daemon serves (its own
/// version `daemon` and the previous minor) and that lies in the client's range
/// `client_min..=client_max`.
///
/// Errors: [`WireError::InvalidHandshake`] if `client_min > client_max`;
/// [`WireError::UnsupportedVersion`] (carrying the client's range) if the ranges do not meet.
pub fn negotiate(
    daemon: Version,
    client_min: Version,
    client_max: Version,
) -> Result<Version, WireError> {
    if client_min > client_max {
        return Err(WireError::InvalidHandshake("client min version above max"));
    }
    let in_range = |v: Version| client_min <= v && v <= client_max;
    if in_range(daemon) {
        return Ok(daemon);
    }
    match daemon.previous_minor() {
        Some(prev) if in_range(prev) => Ok(prev),
        _ => Err(WireError::UnsupportedVersion {
            min: client_min,
            max: client_max,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn v(major: u8, minor: u8) -> Version {
        Version::new(major, minor)
    }

    #[test]
    fn picks_daemon_version_when_client_range_covers_it() {
        assert_eq!(negotiate(v(1, 3), v(1, 0), v(1, 9)), Ok(v(1, 3)));
        assert_eq!(negotiate(v(1, 3), v(1, 3), v(1, 3)), Ok(v(1, 3)));
    }

    #[test]
    fn falls_back_to_previous_minor_for_older_client() {
        assert_eq!(negotiate(v(1, 3), v(1, 0), v(1, 2)), Ok(v(1, 2)));
        assert_eq!(negotiate(v(1, 3), v(1, 2), v(1, 2)), Ok(v(1, 2)));
    }

    #[test]
    fn refuses_two_minors_back() {
        let err = negotiate(v(1, 3), v(1, 0), v(1, 1)).unwrap_err();
        assert_eq!(
            err,
            WireError::UnsupportedVersion {
                min: v(1, 0),
                max: v(1, 1)
            }
        );
    }

    #[test]
    fn refuses_newer_only_client_and_other_major() {
        assert!(matches!(
            negotiate(v(1, 3), v(1, 4), v(1, 9)),
            Err(WireError::UnsupportedVersion { .. })
        ));
        assert!(matches!(
            negotiate(v(1, 0), v(2, 0), v(2, 5)),
            Err(WireError::UnsupportedVersion { .. })
        ));
        // A x.0 daemon has no previous minor: it does not reach back into the old major.
        assert!(matches!(
            negotiate(v(2, 0), v(1, 0), v(1, 255)),
            Err(WireError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn rejects_inverted_client_range() {
        assert_eq!(
            negotiate(v(1, 0), v(1, 2), v(1, 1)),
            Err(WireError::InvalidHandshake("client min version above max"))
        );
    }

    #[test]
    fn serves_own_and_previous_minor_only() {
        let d = v(1, 3);
        assert!(d.serves(v(1, 3)));
        assert!(d.serves(v(1, 2)));
        assert!(!d.serves(v(1, 1)));
        assert!(!d.serves(v(1, 4)));
        assert_eq!(d.oldest_served(), v(1, 2));
        assert_eq!(v(1, 0).oldest_served(), v(1, 0));
        assert!(v(1, 0).serves(v(1, 0)));
        assert!(!v(1, 0).serves(v(0, 255)));
    }

    #[test]
    fn negotiation_agrees_with_serves_exhaustively_over_small_versions() {
        // Brute force over a small grid: the result must be served, in range, and maximal.
        let all: Vec<Version> = (0..3u8)
            .flat_map(|ma| (0..4u8).map(move |mi| v(ma, mi)))
            .collect();
        for &d in &all {
            for &lo in &all {
                for &hi in &all {
                    let got = negotiate(d, lo, hi);
                    if lo > hi {
                        assert!(matches!(got, Err(WireError::InvalidHandshake(_))));
                        continue;
                    }
                    let best = all
                        .iter()
                        .copied()
                        .filter(|&c| d.serves(c) && lo <= c && c <= hi)
                        .max();
                    match best {
                        Some(b) => assert_eq!(got, Ok(b), "d={d} lo={lo} hi={hi}"),
                        None => assert!(matches!(got, Err(WireError::UnsupportedVersion { .. }))),
                    }
                }
            }
        }
    }
}
