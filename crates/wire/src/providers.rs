//! The provider list of a status report (issue 14): each crypto provider of the daemon and
//! what it can do. A borrowed slice when encoding, a view over the body when decoded (the
//! decoder checks every entry once, so reading it later cannot fail).

use crate::generated::warden::wire as g;

/// One algorithm a provider serves (`operations` as in the schema: `warden_crypto::Operations`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderCap<'a> {
    /// Canonical algorithm name.
    pub algorithm: &'a str,
    /// Operation bit set.
    pub operations: u32,
}

/// One provider, for encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderDesc<'a> {
    /// Provider name (what `--provider` takes).
    pub name: &'a str,
    /// Keys in hardware rather than process memory.
    pub hardware: bool,
    /// What it can do.
    pub capabilities: &'a [ProviderCap<'a>],
}

/// One provider, decoded (owned; status is an operator path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSummary {
    /// Provider name.
    pub name: String,
    /// Keys in hardware rather than process memory.
    pub hardware: bool,
    /// `(algorithm name, operation bits)`.
    pub capabilities: Vec<(String, u32)>,
}

#[derive(Clone, Copy)]
enum Repr<'a> {
    Slice(&'a [ProviderDesc<'a>]),
    Wire(planus::Vector<'a, planus::Result<g::ProviderEntryRef<'a>>>),
}

/// The providers of a status report.
#[derive(Clone, Copy)]
pub struct ProviderList<'a>(Repr<'a>);

impl<'a> ProviderList<'a> {
    /// From a slice (for encoding).
    pub const fn from_slice(s: &'a [ProviderDesc<'a>]) -> Self {
        ProviderList(Repr::Slice(s))
    }

    /// A view over a decoded vector; `None` if any entry is malformed.
    pub(crate) fn from_wire(
        v: planus::Vector<'a, planus::Result<g::ProviderEntryRef<'a>>>,
    ) -> Option<Self> {
        for e in v.iter() {
            let e = e.ok()?;
            e.name().ok()?;
            e.hardware().ok()?;
            if let Some(caps) = e.capabilities().ok()? {
                for c in caps.iter() {
                    let c = c.ok()?;
                    c.algorithm().ok()?;
                    c.operations().ok()?;
                }
            }
        }
        Some(ProviderList(Repr::Wire(v)))
    }

    /// The providers, owned.
    pub fn to_vec(&self) -> Vec<ProviderSummary> {
        match self.0 {
            Repr::Slice(s) => s
                .iter()
                .map(|p| ProviderSummary {
                    name: p.name.to_owned(),
                    hardware: p.hardware,
                    capabilities: p
                        .capabilities
                        .iter()
                        .map(|c| (c.algorithm.to_owned(), c.operations))
                        .collect(),
                })
                .collect(),
            // Checked in `from_wire`: the `ok()`s below never drop anything.
            Repr::Wire(v) => v
                .iter()
                .filter_map(|e| e.ok())
                .map(|e| ProviderSummary {
                    name: e.name().ok().flatten().unwrap_or_default().to_owned(),
                    hardware: e.hardware().unwrap_or(false),
                    capabilities: e
                        .capabilities()
                        .ok()
                        .flatten()
                        .map(|caps| {
                            caps.iter()
                                .filter_map(|c| c.ok())
                                .map(|c| {
                                    (
                                        c.algorithm().ok().flatten().unwrap_or_default().to_owned(),
                                        c.operations().unwrap_or(0),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }
}

impl Default for ProviderList<'_> {
    fn default() -> Self {
        ProviderList::from_slice(&[])
    }
}

impl<'a> ProviderList<'a> {
    fn len(&self) -> usize {
        match self.0 {
            Repr::Slice(s) => s.len(),
            Repr::Wire(v) => v.len(),
        }
    }

    /// Name, hardware flag and number of capabilities of entry `i`.
    fn entry(&self, i: usize) -> Option<(&'a str, bool, usize)> {
        match self.0 {
            Repr::Slice(s) => s.get(i).map(|p| (p.name, p.hardware, p.capabilities.len())),
            Repr::Wire(v) => {
                let e = v.get(i)?.ok()?;
                let n = e.capabilities().ok()?.map_or(0, |c| c.len());
                Some((e.name().ok()?.unwrap_or_default(), e.hardware().ok()?, n))
            }
        }
    }

    /// Capability `j` of entry `i`.
    fn cap(&self, i: usize, j: usize) -> Option<(&'a str, u32)> {
        match self.0 {
            Repr::Slice(s) => s
                .get(i)?
                .capabilities
                .get(j)
                .map(|c| (c.algorithm, c.operations)),
            Repr::Wire(v) => {
                let c = v.get(i)?.ok()?.capabilities().ok()??.get(j)?.ok()?;
                Some((
                    c.algorithm().ok()?.unwrap_or_default(),
                    c.operations().ok()?,
                ))
            }
        }
    }
}

/// Element by element, without allocating (decoding is checked to be allocation-free).
impl PartialEq for ProviderList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && (0..self.len()).all(|i| {
                let (a, b) = (self.entry(i), other.entry(i));
                a.is_some()
                    && a == b
                    && (0..a.map_or(0, |e| e.2)).all(|j| self.cap(i, j) == other.cap(i, j))
            })
    }
}

impl Eq for ProviderList<'_> {}

impl core::fmt::Debug for ProviderList<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.to_vec()).finish()
    }
}

/// Writes the list; `None` when empty. A decoded view re-encodes to the same entries (the
/// typed layer loses nothing it accepted: `fuzz/fuzz_targets/request_decoder.rs`).
pub(crate) fn write(
    b: &mut planus::Builder,
    list: &ProviderList<'_>,
) -> Option<planus::Offset<[planus::Offset<g::ProviderEntry>]>> {
    let n = list.len();
    if n == 0 {
        return None;
    }
    let mut entries = Vec::with_capacity(n);
    for i in 0..n {
        // Decoded views were checked entry by entry in `from_wire`, so nothing is skipped.
        let Some((name, hardware, n_caps)) = list.entry(i) else {
            continue;
        };
        let caps: Vec<planus::Offset<g::ProviderCapability>> = (0..n_caps)
            .filter_map(|j| list.cap(i, j))
            .map(|(algorithm, operations)| g::ProviderCapability::create(b, algorithm, operations))
            .collect();
        let caps = b.create_vector(caps.as_slice());
        entries.push(g::ProviderEntry::create(b, name, hardware, caps));
    }
    Some(b.create_vector(entries.as_slice()))
}
