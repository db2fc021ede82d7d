//! Recorded mapping cases: every folder `mappings/<integration>/tests/<case>/` holding a
//! `case.yaml` (the operation) and a `recording.json` (the upstream exchanges) is replayed
//! offline and its unified output snapshotted. Adding a case needs no Rust:
//!
//! ```sh
//! crosswalk unified crm accounts list --sandbox --all --record mappings/close/tests/<case>/recording.json
//! # write mappings/close/tests/<case>/case.yaml, then:
//! cargo insta test --review
//! ```
//!
//! A case fails when its recording lacks an exchange the operation needs, and also when the
//! recording holds exchanges the operation never asked for (a recording that stops after
//! page one, or one that has pages the mapping no longer reads, cannot pass quietly).

use std::collections::BTreeMap;
use std::path::Path;

use crosswalk::{Account, Engine};
use crosswalk_tests::mappings_dir;
use futures_util::TryStreamExt;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[allow(dead_code, reason = "documentation for readers of the case")]
    description: String,
    resource: String,
    method: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    body: Option<serde_json::Value>,
    #[serde(default)]
    limit: Option<u64>,
    #[serde(default)]
    all: bool,
    #[serde(default)]
    filters: BTreeMap<String, String>,
    #[serde(default = "yes")]
    remote_data: bool,
}

fn yes() -> bool {
    true
}

async fn run_case(path: &Path) -> serde_json::Value {
    let folder = path.parent().unwrap();
    let integration = folder
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let case: Case = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));

    let engine = Engine::builder(mappings_dir())
        .replay(folder.join("recording.json"))
        .build()
        .unwrap();
    let info = engine
        .integrations()
        .into_iter()
        .find(|i| i.name == integration)
        .unwrap();
    let account = info
        .credentials
        .iter()
        .fold(Account::new(integration), |account, name| {
            account.with_credential(name, "replayed")
        })
        .with_base_url("http://replay.invalid");

    let id = case.id.as_deref().unwrap_or_default();
    let body = case.body.clone().unwrap_or_default();
    let outcome = match case.method.as_str() {
        "list" => {
            let mut call = engine
                .list(&account, &case.resource)
                .remote_data(case.remote_data);
            if let Some(limit) = case.limit {
                call = call.limit(limit);
            }
            for (key, value) in &case.filters {
                call = call.filter(key, value);
            }
            if case.all {
                call.stream()
                    .try_collect::<Vec<_>>()
                    .await
                    .map(|records| serde_json::json!({ "result": records, "result_count": records.len() }))
            } else {
                call.await.map(|page| page.to_json())
            }
        }
        "get" => {
            engine
                .get(&account, &case.resource, id)
                .remote_data(case.remote_data)
                .await
        }
        "create" => {
            engine
                .create(&account, &case.resource, &body)
                .remote_data(case.remote_data)
                .await
        }
        "update" => {
            engine
                .update(&account, &case.resource, id, &body)
                .remote_data(case.remote_data)
                .await
        }
        "delete" => engine.delete(&account, &case.resource, id).await,
        other => panic!("{}: unknown method `{other}`", path.display()),
    };
    let output = outcome.unwrap_or_else(|error| error.to_json());

    let unused = engine.unused_recordings();
    assert!(
        unused.is_empty(),
        "{}: the recording holds exchanges the operation never asked for:\n{}",
        path.display(),
        unused.join("\n")
    );
    output
}

#[test]
fn recorded_cases() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    insta::glob!("../../mappings", "*/tests/*/case.yaml", |path| {
        let output = runtime.block_on(run_case(path));
        insta::assert_json_snapshot!(output);
    });
}
