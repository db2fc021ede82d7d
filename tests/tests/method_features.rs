//! Definition features beyond request and mapping: `keep` checks on listed records, filters
//! on single-record methods, and one value per filter.

use crosswalk::{Account, Engine, ErrorKind};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const INTEGRATION: &str = "name: demo\nbase_url: http://127.0.0.1:9\npagination:\n  kind: offset\n  records: data\n  has_more: more\n";

const PEOPLE: &str = r#"
mapping: "{id: id, email: email}"
methods:
  list:
    request:
      method: GET
      path: /people/
    filters:
      email:
        query: {q: "{{ value }}"}
    # The upstream matches words; only exact addresses (any case) are kept.
    keep: "{{ filters.email is not defined or record.email | lower == filters.email | lower }}"
  get:
    request:
      method: GET
      path: "/{{ filters.kind }}/{{ id }}/"
    filters:
      kind: {query: {}}
"#;

async fn demo() -> (tempfile::TempDir, MockServer, Engine, Account) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("demo/api")).unwrap();
    std::fs::write(dir.path().join("demo/integration.yaml"), INTEGRATION).unwrap();
    std::fs::write(dir.path().join("demo/api/people.yaml"), PEOPLE).unwrap();
    let server = MockServer::start().await;
    let engine = Engine::load(dir.path()).unwrap();
    let account = Account::new("demo").with_base_url(server.uri());
    (dir, server, engine, account)
}

#[tokio::test]
async fn keep_drops_records_that_only_matched_loosely_and_paging_goes_on() {
    let (_dir, server, engine, account) = demo().await;
    let people = |ids: &[(&str, &str)], more: bool| {
        let data: Vec<Value> = ids
            .iter()
            .map(|(id, email)| json!({"id": id, "email": email}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": data, "more": more}))
    };
    Mock::given(method("GET"))
        .and(path("/people/"))
        .and(query_param("offset", "0"))
        .respond_with(people(
            &[("1", "ann@acme.example"), ("2", "ann@acme.example.org")],
            true,
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/people/"))
        .and(query_param("offset", "2"))
        .respond_with(people(
            &[("3", "jo@acme.example"), ("4", "ANN@ACME.EXAMPLE")],
            false,
        ))
        .mount(&server)
        .await;
    let page = engine
        .list(&account, "api/people")
        .limit(2)
        .filter("email", "ann@acme.example")
        .await
        .unwrap();
    assert_eq!(page.result.len(), 1);
    let cursor = page
        .next_cursor
        .expect("paging follows the upstream, not the kept count");
    let next = engine
        .list(&account, "api/people")
        .filter("email", "ann@acme.example")
        .cursor(cursor)
        .await
        .unwrap();
    let ids: Vec<&str> = next
        .result
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["4"]);
}

#[tokio::test]
async fn a_single_record_method_takes_its_declared_filters() {
    let (_dir, server, engine, account) = demo().await;
    Mock::given(method("GET"))
        .and(path("/staff/7/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "7", "email": "s@x.example"})),
        )
        .mount(&server)
        .await;
    let found = engine
        .get(&account, "api/people", "7")
        .filter("kind", "staff")
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(found, json!({"id": "7", "email": "s@x.example"}));

    let error = engine
        .get(&account, "api/people", "7")
        .filter("email", "x")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(error.details()["supported"], json!(["kind"]));
}

#[tokio::test]
async fn a_filter_given_twice_is_refused() {
    let (_dir, server, engine, account) = demo().await;
    let error = engine
        .list(&account, "api/people")
        .filter("email", "a@x.example")
        .filter("email", "b@x.example")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("more than once"), "{error}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_method_pagination_block_without_kind_refines_the_integrations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("paged/api")).unwrap();
    std::fs::write(
        dir.path().join("paged/integration.yaml"),
        "name: paged\nbase_url: http://127.0.0.1:9\npagination:\n  kind: page\n  page_param: p\n  limit_param: per_page\n  first_page: 0\n  records: items\n  has_more: more\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("paged/api/things.yaml"),
        "methods:\n  list:\n    request: {method: GET, path: /things/}\n    pagination: {max_limit: 5}\n",
    )
    .unwrap();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/things/"))
        .and(query_param("p", "0"))
        .and(query_param("per_page", "5"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"items": [{"id": 1}], "more": false})),
        )
        .mount(&server)
        .await;
    let engine = Engine::load(dir.path()).unwrap();
    let account = Account::new("paged").with_base_url(server.uri());
    let page = engine.list(&account, "api/things").limit(50).await.unwrap();
    assert_eq!(page.result, vec![json!({"id": 1})]);
}
