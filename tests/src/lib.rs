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

/// Reads a JSON fixture from `tests/fixtures/`.
pub fn fixture(path: &str) -> serde_json::Value {
    let full = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// What the engine sent upstream, in a stable shape for snapshots: method, path, sorted
/// query and JSON body.
pub fn describe_request(request: &wiremock::Request) -> serde_json::Value {
    let mut query: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    query.sort();
    let body: serde_json::Value = if request.body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&request.body).expect("the engine sends JSON bodies")
    };
    serde_json::json!({
        "method": request.method.to_string(),
        "path": request.url.path(),
        "query": query
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect::<serde_json::Map<_, _>>(),
        "body": body,
    })
}
