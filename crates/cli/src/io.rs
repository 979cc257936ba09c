//! Input and output: stdin/stdout by default, files on request, streaming in chunks, binary
//! never sprayed onto a terminal, progress for long inputs.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::failure::Failure;

/// Largest chunk streamed through a context's `update`; smaller when the daemon's frame limit
/// (negotiated at connect) is smaller.
pub const CHUNK: usize = 64 * 1024;

/// Room left in a frame for the header and the FlatBuffers envelope around a payload.
const FRAME_OVERHEAD: usize = 512;

/// The chunk size that fits the daemon's frame limit.
pub fn chunk_for(max_frame_len: u32) -> usize {
    let max = usize::try_from(max_frame_len).unwrap_or(usize::MAX);
    max.saturating_sub(FRAME_OVERHEAD).clamp(1024, CHUNK)
}

/// Inputs larger than this show progress on a terminal.
const PROGRESS_THRESHOLD: u64 = 4 * 1024 * 1024;

/// Whether `path` is `-`, which means stdin for an input and stdout for an output, as
/// everywhere else on Unix.
pub fn is_std(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// `path` unless it is `-` (then `None`: the standard stream).
pub fn named(path: Option<&Path>) -> Option<&Path> {
    path.filter(|p| !is_std(p))
}

/// A source of input bytes: a file or stdin.
pub struct Input {
    reader: Box<dyn Read>,
    total: Option<u64>,
    label: String,
}

impl Input {
    /// Opens `path`, or stdin when `None` or `-`.
    pub fn open(path: Option<&Path>) -> Result<Input, Failure> {
        match named(path) {
            Some(p) => {
                let f = File::open(p).map_err(|e| Failure::io(p, e))?;
                let total = f.metadata().ok().map(|m| m.len());
                Ok(Input {
                    reader: Box::new(f),
                    total,
                    label: p.display().to_string(),
                })
            }
            None => Ok(Input {
                reader: Box::new(io::stdin().lock()),
                total: None,
                label: "stdin".into(),
            }),
        }
    }

    /// Feeds the whole input to `f` in chunks of at most [`CHUNK`] bytes, showing progress
    /// on stderr when it is a terminal and the input is large.
    pub fn stream(
        mut self,
        chunk: usize,
        mut f: impl FnMut(&[u8]) -> Result<(), Failure>,
    ) -> Result<u64, Failure> {
        let mut buf = vec![0u8; chunk.max(1)];
        let mut done: u64 = 0;
        let mut progress = Progress::new(self.total);
        loop {
            let n = match self.reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Failure::io(Path::new(&self.label), e)),
            };
            let chunk = buf
                .get(..n)
                .ok_or(Failure::Internal("read overran buffer"))?;
            f(chunk)?;
            done += n as u64;
            progress.tick(done);
        }
        progress.finish(done);
        Ok(done)
    }

    /// Reads the whole input into memory (for small inputs such as signatures).
    pub fn read_all(mut self, limit: usize) -> Result<Vec<u8>, Failure> {
        let mut out = Vec::new();
        let read = (&mut self.reader)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| Failure::io(Path::new(&self.label), e))?;
        if read > limit {
            return Err(Failure::Usage(format!(
                "{} is larger than {limit} bytes",
                self.label
            )));
        }
        Ok(out)
    }
}

/// Reads a small file whole.
pub fn read_file(path: &Path, limit: usize) -> Result<Vec<u8>, Failure> {
    Input::open(Some(path))?.read_all(limit)
}

/// Where binary output goes.
pub struct Output {
    path: Option<PathBuf>,
    hex: bool,
}

impl Output {
    /// Output to `path` (or stdout, also for `-`), as hex when asked. Refuses raw binary to a
    /// terminal.
    pub fn new(path: Option<&Path>, hex: bool) -> Result<Output, Failure> {
        let path = named(path);
        if path.is_none() && !hex && io::stdout().is_terminal() {
            return Err(Failure::Usage(
                "refusing to write binary output to a terminal; use --out FILE or --hex".into(),
            ));
        }
        Ok(Output {
            path: path.map(Path::to_path_buf),
            hex,
        })
    }

    /// Writes `bytes` (hex-encoded with a newline when asked).
    pub fn write(&self, bytes: &[u8]) -> Result<(), Failure> {
        // Raw bytes are written as they are: no copy (outputs can be plaintext, and large).
        // A hex copy is wiped when dropped, like the plaintext it may spell out (encoded into
        // one buffer of its final size: no intermediate copy left behind).
        let encoded;
        let data: &[u8] = if self.hex {
            let hex_len = bytes.len().saturating_mul(2);
            let mut s = zeroize::Zeroizing::new(vec![0u8; hex_len.saturating_add(1)]);
            let (digits, newline) = s.split_at_mut(hex_len);
            hex::encode_to_slice(bytes, digits).map_err(|_| Failure::Internal("hex length"))?;
            newline.fill(b'\n');
            encoded = s;
            &encoded[..]
        } else {
            bytes
        };
        match &self.path {
            Some(p) => write_private(p, data).map_err(|e| Failure::io(p, e)),
            None => {
                let mut out = io::stdout().lock();
                out.write_all(data)
                    .and_then(|()| out.flush())
                    .map_err(|e| Failure::io(Path::new("stdout"), e))
            }
        }
    }
}

/// A progress line on stderr for long inputs, only when stderr is a terminal.
struct Progress {
    total: Option<u64>,
    enabled: bool,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new(total: Option<u64>) -> Progress {
        Progress {
            total,
            enabled: io::stderr().is_terminal(),
            last: Instant::now(),
            shown: false,
        }
    }

    fn tick(&mut self, done: u64) {
        if !self.enabled || done < PROGRESS_THRESHOLD {
            return;
        }
        if self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        let mib = done as f64 / (1024.0 * 1024.0);
        match self.total {
            Some(t) if t > 0 => {
                let pct = (done as f64 / t as f64 * 100.0).min(100.0);
                eprint!("\r{mib:.1} MiB ({pct:.0}%)   ");
            }
            _ => eprint!("\r{mib:.1} MiB   "),
        }
    }

    fn finish(&self, done: u64) {
        if self.shown {
            eprintln!("\r{:.1} MiB done     ", done as f64 / (1024.0 * 1024.0));
        }
    }
}

/// Writes binary `bytes` where the user asked: to `--out`, as hex, or (with `--json` and no
/// `--out`) hex-encoded inside the JSON report under `field`.
pub fn emit_binary(
    bytes: &[u8],
    out: Option<&Path>,
    hex: bool,
    json_mode: bool,
    field: &str,
) -> Result<crate::report::Report, Failure> {
    use serde_json::json;
    let out = named(out);
    if json_mode && out.is_none() {
        let mut map = serde_json::Map::new();
        map.insert(field.to_owned(), json!(hex::encode(bytes)));
        map.insert("len".to_owned(), json!(bytes.len()));
        return Ok(crate::report::Report::quiet(serde_json::Value::Object(map)));
    }
    Output::new(out, hex)?.write(bytes)?;
    Ok(crate::report::Report::quiet(json!({
        field: out.map(|p| p.display().to_string()),
        "len": bytes.len(),
    })))
}

/// Writes an output file created with mode 0600 (it may hold plaintext or key material, so
/// the umask must not decide who can read it); an existing file is truncated and keeps its
/// mode. `-` writes to stdout.
pub fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if is_std(path) {
        let mut out = io::stdout().lock();
        out.write_all(data)?;
        return out.flush();
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.flush()
}
