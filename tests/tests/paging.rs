//! Every pagination kind against scripted servers: records arrive exactly once, lists stop
//! only on the upstream's own signal, and loops are refused.

use std::time::Duration;

use crosswalk::{Account, Engine, ErrorKind};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const INTEGRATION: &str = r#"
name: demo
base_url: http://127.0.0.1:9/v1
pagination:
  kind: offset
  offset_param: skip
  limit_param: limit
  records: items
  has_more: more
  max_limit: 50
"#;

const RESOURCES: &[(&str, &str)] = &[
    ("offset", "methods:\n  list:\n    request: {method: GET, path: /offset/}\n"),
    (
        "pages",
        "methods:\n  list:\n    request: {method: GET, path: /pages/}\n    pagination: {kind: page, page_param: p, limit_param: per_page}\n",
    ),
    (
        "search",
        r#"methods:
  list:
    request:
      method: POST
      path: /search/
      body: {query: "{{ filters.q if filters.q is defined }}"}
    filters:
      q: {query: {}}
    pagination: {kind: cursor, cursor_param: cursor, next_cursor: cursor, limit_param: _limit, params_in: body}
"#,
    ),
    (
        "events",
        "methods:\n  list:\n    request: {method: GET, path: /events/}\n    pagination: {kind: cursor, cursor_param: _cursor, next_cursor: cursor_next, limit_param: _limit}\n",
    ),
    (
        "links",
        "methods:\n  list:\n    request: {method: GET, path: /links/}\n    pagination: {kind: next_link, next_link: {header: Link}}\n",
    ),
    (
        "bodylinks",
        "methods:\n  list:\n    request: {method: GET, path: /bodylinks/}\n    pagination: {kind: next_link, next_link: {body: links.next}}\n",
    ),
];

struct Demo {
    _dir: tempfile::TempDir,
    engine: Engine,
    server: MockServer,
}

impl Demo {
    async fn new(max_pages: u64) -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        std::fs::create_dir_all(root.join("api")).unwrap();
        std::fs::write(root.join("integration.yaml"), INTEGRATION).unwrap();
        for (name, text) in RESOURCES {
            std::fs::write(root.join(format!("api/{name}.yaml")), text).unwrap();
        }
        let engine = Engine::builder(dir.path())
            .timeout(Duration::from_secs(5))
            .max_pages(max_pages)
            .build()
            .unwrap();
        Demo {
            _dir: dir,
            engine,
            server: MockServer::start().await,
        }
    }

    fn account(&self) -> Account {
        Account::new("demo").with_base_url(format!("{}/v1", self.server.uri()))
    }

    async fn all(&self, resource: &str, limit: u64) -> Result<Vec<String>, crosswalk::Error> {
        let account = self.account();
        let records: Vec<Value> = self
            .engine
            .list(&account, resource)
            .limit(limit)
            .stream()
            .try_collect()
            .await?;
        Ok(records
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect())
    }
}

fn items(ids: &[&str]) -> Value {
    ids.iter().map(|id| json!({"id": id})).collect()
}

fn page(ids: &[&str], extra: Value) -> ResponseTemplate {
    let mut body = json!({"items": items(ids)});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn offset_continues_through_an_empty_page_that_says_more_and_stops_when_the_flag_is_missing()
{
    let demo = Demo::new(100).await;
    let at = |skip: &str, response: ResponseTemplate| {
        Mock::given(method("GET"))
            .and(path("/v1/offset/"))
            .and(query_param("skip", skip))
            .respond_with(response)
    };
    at("0", page(&["a", "b"], json!({"more": true})))
        .mount(&demo.server)
        .await;
    at("2", page(&[], json!({"more": true})))
        .mount(&demo.server)
        .await;
    // A short page that still says more does not end the list either.
    at("4", page(&["c"], json!({"more": true})))
        .mount(&demo.server)
        .await;
    at("5", page(&["d"], json!({}))).mount(&demo.server).await;
    assert_eq!(
        demo.all("api/offset", 2).await.unwrap(),
        ["a", "b", "c", "d"]
    );
}

#[tokio::test]
async fn page_numbers_advance_until_has_more_is_false() {
    let demo = Demo::new(100).await;
    for (number, ids, more) in [
        ("1", vec!["a", "b"], true),
        ("2", vec!["c"], true),
        ("3", vec![], false),
    ] {
        Mock::given(method("GET"))
            .and(path("/v1/pages/"))
            .and(query_param("p", number))
            .and(query_param("per_page", "2"))
            .respond_with(page(&ids, json!({"more": more})))
            .mount(&demo.server)
            .await;
    }
    assert_eq!(demo.all("api/pages", 2).await.unwrap(), ["a", "b", "c"]);
}

#[tokio::test]
async fn a_cursor_in_the_body_is_sent_back_in_the_body_until_it_is_null() {
    let demo = Demo::new(100).await;
    let search = |cursor: Value, response: ResponseTemplate| {
        Mock::given(method("POST"))
            .and(path("/v1/search/"))
            .and(body_partial_json(
                json!({"cursor": cursor, "_limit": 2, "query": "acme"}),
            ))
            .respond_with(response)
    };
    Mock::given(method("POST"))
        .and(path("/v1/search/"))
        .and(body_partial_json(json!({"_limit": 2, "query": "acme"})))
        .respond_with(page(&["a", "b"], json!({"cursor": "c1"})))
        .with_priority(10)
        .mount(&demo.server)
        .await;
    search(json!("c1"), page(&[], json!({"cursor": "c2"})))
        .mount(&demo.server)
        .await;
    search(json!("c2"), page(&["c"], json!({"cursor": null})))
        .mount(&demo.server)
        .await;

    let account = demo.account();
    let records: Vec<Value> = demo
        .engine
        .list(&account, "api/search")
        .limit(2)
        .filter("q", "acme")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let first = &demo.server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&first.body).unwrap();
    assert!(
        body.get("cursor").is_none(),
        "the first page sends no cursor: {body}"
    );
}

#[tokio::test]
async fn a_cursor_in_the_query_follows_cursor_next() {
    let demo = Demo::new(100).await;
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .and(query_param_is_missing("_cursor"))
        .respond_with(page(&["a"], json!({"cursor_next": "n1"})))
        .mount(&demo.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .and(query_param("_cursor", "n1"))
        .respond_with(page(&["b"], json!({"cursor_next": null})))
        .mount(&demo.server)
        .await;
    assert_eq!(demo.all("api/events", 1).await.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn a_repeating_cursor_is_an_error_not_a_loop() {
    let demo = Demo::new(100).await;
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .and(query_param_is_missing("_cursor"))
        .respond_with(page(&["a"], json!({"cursor_next": "same"})))
        .mount(&demo.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .and(query_param("_cursor", "same"))
        .respond_with(page(&["b"], json!({"cursor_next": "same"})))
        .mount(&demo.server)
        .await;
    let error = demo.all("api/events", 1).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Mapping);
    assert!(error.message().contains("looping"), "{error}");
    assert_eq!(demo.server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_cycle_across_pages_is_caught_by_the_stream() {
    let demo = Demo::new(100).await;
    let at = |cursor: Option<&str>, next: &str, id: &str| {
        let mock = Mock::given(method("GET")).and(path("/v1/events/"));
        let mock = match cursor {
            Some(cursor) => mock.and(query_param("_cursor", cursor)),
            None => mock.and(query_param_is_missing("_cursor")),
        };
        mock.respond_with(page(&[id], json!({"cursor_next": next})))
    };
    at(None, "x", "a").mount(&demo.server).await;
    at(Some("x"), "y", "b").mount(&demo.server).await;
    at(Some("y"), "x", "c").mount(&demo.server).await;
    let error = demo.all("api/events", 1).await.unwrap_err();
    assert!(error.message().contains("already sent"), "{error}");
}

#[tokio::test]
async fn link_headers_are_followed_relative_and_absolute() {
    let demo = Demo::new(100).await;
    let absolute = format!("<{}/v1/links/?page=3>; rel=\"next\"", demo.server.uri());
    Mock::given(method("GET"))
        .and(path("/v1/links/"))
        .and(query_param_is_missing("page"))
        .respond_with(page(&["a"], json!({})).insert_header(
            "Link",
            "</v1/links/?page=2>; rel=\"next\", </v1/links/>; rel=\"first\"",
        ))
        .mount(&demo.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/links/"))
        .and(query_param("page", "2"))
        .respond_with(page(&[], json!({})).insert_header("Link", absolute.as_str()))
        .mount(&demo.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/links/"))
        .and(query_param("page", "3"))
        .respond_with(page(&["b"], json!({})))
        .mount(&demo.server)
        .await;
    assert_eq!(demo.all("api/links", 10).await.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn body_links_may_be_relative_to_the_page() {
    let demo = Demo::new(100).await;
    Mock::given(method("GET"))
        .and(path("/v1/bodylinks/"))
        .and(query_param_is_missing("after"))
        .respond_with(page(&["a"], json!({"links": {"next": "?after=a"}})))
        .mount(&demo.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/bodylinks/"))
        .and(query_param("after", "a"))
        .respond_with(page(&["b"], json!({"links": {"next": null}})))
        .mount(&demo.server)
        .await;
    assert_eq!(demo.all("api/bodylinks", 10).await.unwrap(), ["a", "b"]);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let demo = Demo::new(100).await;
    Mock::given(method("GET"))
        .and(path("/v1/bodylinks/"))
        .respond_with(page(
            &["a"],
            json!({"links": {"next": "https://elsewhere.invalid/v1/bodylinks/?after=a"}}),
        ))
        .mount(&demo.server)
        .await;
    let error = demo.all("api/bodylinks", 10).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Mapping);
    assert!(error.message().contains("outside"), "{error}");
}

#[tokio::test]
async fn the_maximum_pages_guard_stops_a_runaway_list() {
    let demo = Demo::new(3).await;
    Mock::given(method("GET"))
        .and(path("/v1/offset/"))
        .respond_with(page(&["x"], json!({"more": true})))
        .mount(&demo.server)
        .await;
    let account = demo.account();
    let results: Vec<_> = demo
        .engine
        .list(&account, "api/offset")
        .limit(1)
        .stream()
        .collect()
        .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
    let error = results.last().unwrap().as_ref().unwrap_err();
    assert!(error.message().contains("stopped after 3 pages"), "{error}");
}

#[tokio::test]
async fn one_page_at_a_time_through_opaque_cursors() {
    let demo = Demo::new(100).await;
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .and(query_param_is_missing("_cursor"))
        .respond_with(page(&["a"], json!({"cursor_next": "n1"})))
        .mount(&demo.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events/"))
        .and(query_param("_cursor", "n1"))
        .respond_with(page(&["b"], json!({"cursor_next": null})))
        .mount(&demo.server)
        .await;
    let account = demo.account();
    let first = demo
        .engine
        .list(&account, "api/events")
        .limit(1)
        .await
        .unwrap();
    let cursor = first.next_cursor.unwrap();
    assert!(
        !cursor.contains("n1"),
        "the upstream cursor stays inside the opaque one"
    );
    let second = demo
        .engine
        .list(&account, "api/events")
        .cursor(cursor.clone())
        .await
        .unwrap();
    assert_eq!(second.result[0]["id"], "b");
    assert_eq!(second.next_cursor, None);
    let error = demo
        .engine
        .list(&account, "api/offset")
        .cursor(cursor)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
}
