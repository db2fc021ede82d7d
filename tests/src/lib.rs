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

/// A scripted Close on 127.0.0.1 for mapping snapshots: one answer to one request, and the
/// engine and account that talk to it.
pub struct ScriptedClose {
    /// The mock server, for inspecting what Crosswalk sent.
    pub server: wiremock::MockServer,
    /// An engine over the bundled mappings.
    pub engine: crosswalk::Engine,
    /// An API-key account whose base URL is the mock server.
    pub account: crosswalk::Account,
}

/// A Close answering `verb /api/v1<at>` (any query) with `status` and `body`, exactly once.
/// It also answers the pipelines lookup that stage reads make, from the seed.
pub async fn scripted_close(
    verb: &str,
    at: &str,
    status: u16,
    body: serde_json::Value,
) -> ScriptedClose {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let server = wiremock::MockServer::start().await;
    Mock::given(method(verb))
        .and(path(format!("/api/v1{at}")))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let pipelines = seed_page(sandbox_seed_records("close", "pipeline"), false);
    Mock::given(method("GET"))
        .and(path("/api/v1/pipeline/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(pipelines))
        .with_priority(10)
        .mount(&server)
        .await;
    connect_close(server)
}

/// A Close that answers nothing: for inputs Crosswalk must refuse before sending.
pub async fn silent_close() -> ScriptedClose {
    connect_close(wiremock::MockServer::start().await)
}

/// An engine and account for a Close already scripted on `server`.
pub fn connect_close(server: wiremock::MockServer) -> ScriptedClose {
    let account = crosswalk::Account::new("close")
        .with_credential("api_key", "test_key_123")
        .with_base_url(format!("{}/api/v1", server.uri()));
    ScriptedClose {
        engine: crosswalk::Engine::load(mappings_dir()).unwrap(),
        server,
        account,
    }
}

impl ScriptedClose {
    /// The one request Crosswalk sent (besides a pipelines lookup), in a stable shape, after
    /// checking it carried the API key as Basic auth with an empty password.
    pub async fn sent(&self) -> serde_json::Value {
        let requests = self.server.received_requests().await.unwrap();
        let lookup =
            |r: &&wiremock::Request| r.url.path() == "/api/v1/pipeline/" && r.url.query().is_none();
        let main: Vec<&wiremock::Request> = match requests.len() {
            1 => requests.iter().collect(),
            _ => requests.iter().filter(|r| !lookup(r)).collect(),
        };
        assert_eq!(main.len(), 1, "expected exactly one upstream request");
        let auth = main[0]
            .headers
            .get("authorization")
            .expect("an Authorization header");
        // base64("test_key_123:"): the key as user name, an empty password.
        assert_eq!(auth, "Basic dGVzdF9rZXlfMTIzOg==");
        describe_request(main[0])
    }

    /// Every request Crosswalk sent, in order.
    pub async fn all_sent(&self) -> Vec<serde_json::Value> {
        let requests = self.server.received_requests().await.unwrap();
        requests.iter().map(describe_request).collect()
    }

    /// Fails when anything reached the upstream.
    pub async fn assert_nothing_sent(&self) {
        let requests = self.server.received_requests().await.unwrap();
        assert!(
            requests.is_empty(),
            "a refused input reached the upstream: {:?}",
            requests.iter().map(describe_request).collect::<Vec<_>>()
        );
    }
}

/// One seed record of the Close sandbox by id.
pub fn seed_record(collection: &str, id: &str) -> serde_json::Value {
    sandbox_seed_records("close", collection)
        .into_iter()
        .find(|record| record["id"] == id)
        .unwrap_or_else(|| panic!("no {collection} {id} in the seed"))
}

/// A Close list page.
pub fn seed_page(records: Vec<serde_json::Value>, has_more: bool) -> serde_json::Value {
    serde_json::json!({"data": records, "has_more": has_more})
}

/// A record's `id`, which must be a string.
pub fn id_of(record: &serde_json::Value) -> String {
    record["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a record without a string id: {record}"))
        .to_owned()
}

/// The ids of records, in order.
pub fn ids(records: &[serde_json::Value]) -> Vec<String> {
    records.iter().map(id_of).collect()
}

/// Every record of a filtered list, following every page `limit` at a time.
pub async fn list_all(
    engine: &crosswalk::Engine,
    account: &crosswalk::Account,
    resource: &str,
    filters: &[(&str, &str)],
    limit: u64,
) -> Vec<serde_json::Value> {
    use futures_util::StreamExt;
    let mut call = engine.list(account, resource).limit(limit);
    for (name, value) in filters {
        call = call.filter(*name, *value);
    }
    call.stream()
        .map(|record| record.unwrap_or_else(|e| panic!("{resource} {filters:?}: {e}")))
        .collect()
        .await
}
