//! Paging past the upstream's deepest offset: the list continues by windows on an ascending
//! key inside the opaque cursor, and every record arrives exactly once.

use std::collections::HashMap;
use std::time::Duration;

use crosswalk::{Account, Engine, ErrorKind};
use futures_util::TryStreamExt;
use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const INTEGRATION: &str = r#"
name: capped
base_url: http://127.0.0.1:9
pagination:
  kind: offset
  offset_param: skip
  limit_param: limit
  records: data
  has_more: has_more
  max_limit: 50
  max_offset: 10
  window:
    key: created
    id: id
    query:
      created_gte: "{{ window }}"
"#;

const RECORDS: &str = r#"
mapping: "{id: id, created: created}"
methods:
  list:
    request:
      method: GET
      path: /records/
      query: {order: created}
"#;

/// An upstream that sorts by `created`, honours `created_gte`, and refuses `skip` above 10.
struct Capped {
    records: Vec<Value>,
}

impl wiremock::Respond for Capped {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let skip: usize = query.get("skip").and_then(|v| v.parse().ok()).unwrap_or(0);
        let limit: usize = query
            .get("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        if skip > 10 {
            return ResponseTemplate::new(400).set_body_json(json!({"error": "skip too deep"}));
        }
        let matching: Vec<&Value> = self
            .records
            .iter()
            .filter(|r| {
                query
                    .get("created_gte")
                    .is_none_or(|gte| r["created"].as_str().unwrap() >= gte.as_str())
            })
            .collect();
        let page: Vec<&Value> = matching.iter().skip(skip).take(limit).copied().collect();
        let has_more = skip + page.len() < matching.len();
        ResponseTemplate::new(200).set_body_json(json!({"data": page, "has_more": has_more}))
    }
}

async fn setup(records: Vec<Value>) -> (tempfile::TempDir, MockServer, Engine, Account) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("capped");
    std::fs::create_dir_all(root.join("api")).unwrap();
    std::fs::write(root.join("integration.yaml"), INTEGRATION).unwrap();
    std::fs::write(root.join("api/records.yaml"), RECORDS).unwrap();
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::path("/records/"))
        .respond_with(Capped { records })
        .mount(&server)
        .await;
    let engine = Engine::builder(dir.path())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let account = Account::new("capped").with_base_url(server.uri());
    (dir, server, engine, account)
}

/// 57 records whose keys repeat in runs of three, so windows start inside runs.
fn dataset() -> Vec<Value> {
    (0..57)
        .map(|i| json!({"id": format!("r{i:02}"), "created": format!("2026-01-{:02}T00:00:00Z", 1 + i / 3)}))
        .collect()
}

#[tokio::test]
async fn every_record_arrives_exactly_once_past_the_deepest_offset() {
    for limit in [1, 3, 4, 5, 7] {
        let (_dir, _server, engine, account) = setup(dataset()).await;
        let records: Vec<Value> = engine
            .list(&account, "api/records")
            .limit(limit)
            .stream()
            .try_collect()
            .await
            .unwrap();
        let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let expected: Vec<String> = (0..57).map(|i| format!("r{i:02}")).collect();
        assert_eq!(ids, expected, "page size {limit}");
    }
}

#[tokio::test]
async fn windows_hide_inside_the_opaque_cursor() {
    let (_dir, _server, engine, account) = setup(dataset()).await;
    let mut cursor: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let mut call = engine.list(&account, "api/records").limit(4);
        if let Some(cursor) = cursor.take() {
            call = call.cursor(cursor);
        }
        let page = call.await.unwrap();
        seen.extend(
            page.result
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 57);
    seen.dedup();
    assert_eq!(seen.len(), 57);
}

#[tokio::test]
async fn a_key_shared_by_more_records_than_the_deepest_offset_is_an_error() {
    let same: Vec<Value> = (0..30)
        .map(|i| json!({"id": format!("s{i:02}"), "created": "2026-01-01T00:00:00Z"}))
        .collect();
    let (_dir, _server, engine, account) = setup(same).await;
    let result: Result<Vec<Value>, _> = engine
        .list(&account, "api/records")
        .limit(5)
        .stream()
        .try_collect()
        .await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Mapping);
    assert!(error.message().contains("share the window key"), "{error}");
}
