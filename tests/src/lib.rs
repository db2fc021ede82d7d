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

/// Reads `mappings/<integration>/sandbox/seed/<collection>.json`: the records a fresh
/// sandbox of that integration starts with, in storage order.
pub fn sandbox_seed(integration: &str, collection: &str) -> serde_json::Value {
    let full = integration_dir(integration).join(format!("sandbox/seed/{collection}.json"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Starts a fresh sandbox of a bundled integration on 127.0.0.1 (any free port), and returns
/// it with an engine over the bundled mappings and an account pointed at it. Every credential
/// the integration asks for is set to `sandbox` (a sandbox accepts any value). Keep the
/// [`RunningSandbox`](crosswalk::sandbox::RunningSandbox) alive: dropping it stops the server.
pub async fn start_sandbox(
    integration: &str,
) -> (
    crosswalk::sandbox::RunningSandbox,
    crosswalk::Engine,
    crosswalk::Account,
) {
    let sandbox = crosswalk::sandbox::Sandbox::load(&integration_dir(integration))
        .unwrap_or_else(|e| panic!("the {integration} sandbox loads: {e}"));
    let running = sandbox
        .bind(0)
        .await
        .unwrap_or_else(|e| panic!("the {integration} sandbox starts: {e}"));
    let engine = crosswalk::Engine::load(mappings_dir())
        .unwrap_or_else(|e| panic!("the bundled definitions load: {e}"));
    let info = engine
        .integrations()
        .into_iter()
        .find(|info| info.name == integration)
        .unwrap_or_else(|| panic!("no integration `{integration}` under the mappings"));
    let account = info
        .credentials
        .iter()
        .fold(crosswalk::Account::new(integration), |account, name| {
            account.with_credential(name.as_str(), "sandbox")
        })
        .with_base_url(running.base_url());
    (running, engine, account)
}

/// The seed records of one sandbox collection (`sandbox/seed/<collection>.json`), in order.
pub fn sandbox_seed_records(integration: &str, collection: &str) -> Vec<serde_json::Value> {
    match sandbox_seed(integration, collection) {
        serde_json::Value::Array(records) => records,
        other => panic!("seed {collection} of {integration} is not an array: {other}"),
    }
}

/// Reads `schemas/unified/<api>/<model>.schema.json`, e.g. `("crm", "opportunity")`.
pub fn unified_schema(api: &str, model: &str) -> serde_json::Value {
    let full = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/unified"))
        .join(api)
        .join(format!("{model}.schema.json"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Every violation of a unified model's schema by any of `records`, one line each, naming the
/// record and the place. Formats (`date`, `date-time`) are checked too.
pub fn unified_schema_violations(
    api: &str,
    model: &str,
    records: &[serde_json::Value],
) -> Vec<String> {
    let schema = unified_schema(api, model);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the {api}/{model} schema does not compile: {e}"));
    records
        .iter()
        .flat_map(|record| {
            let id = record.get("id").cloned().unwrap_or_default();
            validator
                .iter_errors(record)
                .map(|error| format!("{model} {id}: at `{}`: {error}", error.instance_path))
                .collect::<Vec<_>>()
        })
        .collect()
}
