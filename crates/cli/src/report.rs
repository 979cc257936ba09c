//! What a successful command prints: text for people, JSON for `--json`.

use serde_json::Value;
use std::io::Write as _;

/// The printable result of a command.
#[derive(Debug)]
pub struct Report {
    text: String,
    json: Value,
}

impl Report {
    /// A result with a text form and a JSON form.
    pub fn new(text: impl Into<String>, json: Value) -> Report {
        Report {
            text: text.into(),
            json,
        }
    }

    /// A result that already wrote its payload (e.g. binary output) and prints nothing more
    /// unless `--json` asks for a summary.
    pub fn quiet(json: Value) -> Report {
        Report {
            text: String::new(),
            json,
        }
    }

    /// Adds a field to the JSON form.
    pub fn add_json(&mut self, key: &str, value: Value) {
        if let Value::Object(map) = &mut self.json {
            map.insert(key.to_owned(), value);
        }
    }

    /// Prints the report. A closed stdout (`warden key list | head -1`) is not an error worth
    /// a panic: `println!` would panic on EPIPE, so write and ignore the result.
    pub fn print(&self, json: bool) {
        let mut out = std::io::stdout().lock();
        let _ignored = if json {
            writeln!(out, "{}", self.json)
        } else if self.text.is_empty() {
            Ok(())
        } else if self.text.ends_with('\n') {
            write!(out, "{}", self.text)
        } else {
            writeln!(out, "{}", self.text)
        };
    }
}
