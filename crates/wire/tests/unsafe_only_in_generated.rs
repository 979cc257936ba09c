//! `warden-wire` is `deny(unsafe_code)` with one exception, the planus-generated module; this
//! test fails if `unsafe` appears in any hand-written source file.

use std::path::Path;

fn scan(dir: &Path, hits: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "generated") {
                continue;
            }
            scan(&path, hits)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)?;
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("unsafe ") || code.contains("unsafe{") {
                    hits.push(format!("{}:{}", path.display(), i + 1));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn no_unsafe_outside_the_generated_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut hits = Vec::new();
    scan(&src, &mut hits).unwrap();
    assert!(hits.is_empty(), "unsafe in hand-written code: {hits:?}");
    // The scan itself works: the generated module does contain unsafe blocks.
    let generated = std::fs::read_to_string(src.join("generated/mod.rs")).unwrap();
    assert!(generated.contains("unsafe {"));
}
