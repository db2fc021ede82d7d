//! Shared helpers for the workspace test suites.

use std::path::PathBuf;

/// The bundled mappings folder.
pub fn mappings_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../mappings"))
}

/// A folder under the bundled mappings, such as `close`.
pub fn integration_dir(name: &str) -> PathBuf {
    mappings_dir().join(name)
}
