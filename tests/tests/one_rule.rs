//! The one rule: the engine and the CLI hold no integration-specific Rust. Everything about
//! one upstream API lives under `mappings/<integration>/`.

use std::fs;
use std::path::{Path, PathBuf};

/// Words and fragments that only a particular integration would put in Rust.
const FORBIDDEN_FRAGMENTS: &[&str] = &[
    "lead_",
    "cont_",
    "oppo_",
    "custom.cf_",
    "api.close",
    "close.com",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// True when `word` appears in `line` as a whole word that is not a method call or
/// declaration (`.close()`, `fn close`).
fn names_word(line: &str, word: &str) -> bool {
    let lower = line.to_lowercase();
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(found) = lower[from..].find(word) {
        let start = from + found;
        let end = start + word.len();
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(end).copied();
        let is_word_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        let whole = !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char);
        let call = before == Some(b'.') || after == Some(b'(') || lower[..start].ends_with("fn ");
        if whole && !call {
            return true;
        }
        from = end;
    }
    false
}

#[test]
fn engine_and_cli_sources_name_no_integration() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut files = Vec::new();
    for dir in ["engine/src", "engine/tests", "cli/src", "cli/tests"] {
        if root.join(dir).is_dir() {
            rust_files(&root.join(dir), &mut files);
        }
    }
    assert!(
        files.len() > 10,
        "the engine and CLI sources were not found"
    );

    let mut offences = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let lower = line.to_lowercase();
            let fragment = FORBIDDEN_FRAGMENTS.iter().find(|f| lower.contains(*f));
            if fragment.is_some() || names_word(line, "close") {
                offences.push(format!(
                    "{}:{}: {}",
                    file.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "integration-specific Rust found:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_check_catches_what_it_should() {
    assert!(names_word(r#"Account::new("close")"#, "close"));
    assert!(names_word("// talks to Close", "close"));
    assert!(!names_word("sandbox.close().await", "close"));
    assert!(!names_word("fn close(self)", "close"));
    assert!(!names_word("closed and closing", "close"));
}
