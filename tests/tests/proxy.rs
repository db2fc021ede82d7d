//! The proxy: any path under the base URL, with auth, retries and paging; nothing outside it.

use crosswalk::{Account, Engine, ErrorKind, ProxyResponse};
use crosswalk_tests::start_sandbox;
use futures_util::TryStreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_list_comes_back_in_the_envelope_and_pages_with_the_integrations_pagination() {
    let (_sandbox, engine, account) = start_sandbox("close").await;
    let first = match engine
        .proxy(&account, "GET", "/lead/")
        .query("_limit", "20")
        .await
        .unwrap()
    {
        ProxyResponse::List(page) => page,
        other => panic!("expected a list, got {other:?}"),
    };
    assert_eq!(first.result.len(), 20);
    let cursor = first.next_cursor.clone().unwrap();
    let second = match engine
        .proxy(&account, "GET", "/lead/")
        .query("_limit", "20")
        .cursor(cursor)
        .await
        .unwrap()
    {
        ProxyResponse::List(page) => page,
        other => panic!("expected a list, got {other:?}"),
    };
    assert_eq!(second.next_cursor, None);
    let all: Vec<Value> = first.result.iter().chain(&second.result).cloned().collect();
    let streamed: Vec<Value> = engine
        .proxy(&account, "GET", "/lead/")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        all, streamed,
        "pages and the stream agree, every record once"
    );
    assert!(
        streamed[0].get("remote_data").is_none(),
        "proxied records are the upstream's own"
    );
}

#[tokio::test]
async fn a_single_object_comes_back_as_sent() {
    let (_sandbox, engine, account) = start_sandbox("close").await;
    let page = engine
        .list(&account, "crm/accounts")
        .limit(1)
        .await
        .unwrap();
    let id = page.result[0]["id"].as_str().unwrap();
    let response = engine
        .proxy(&account, "GET", &format!("/lead/{id}/"))
        .await
        .unwrap();
    assert_eq!(
        response,
        ProxyResponse::Object(page.result[0]["remote_data"].clone())
    );
}

#[tokio::test]
async fn paths_that_leave_the_base_url_are_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let engine = Engine::load(crosswalk_tests::mappings_dir()).unwrap();
    let account = Account::new("close")
        .with_credential("api_key", "k")
        .with_base_url(server.uri());
    for path in [
        "https://evil.test/lead/",
        "//evil.test/lead/",
        "/../lead/",
        "/lead/%2e%2e/%2e%2e/x",
        "lead/",
    ] {
        let error = engine.proxy(&account, "GET", path).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Input, "{path}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_proxy_uses_auth_retries_and_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/activity/note/"))
        .and(header("authorization", "Basic a2V5Og=="))
        .and(body_json(json!({"note": "hi"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "acti_1"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/me/"))
        .and(query_param("_fields", "id"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/me/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "user_1"})))
        .with_priority(2)
        .mount(&server)
        .await;
    let engine = Engine::load(crosswalk_tests::mappings_dir()).unwrap();
    let account = Account::new("close")
        .with_credential("api_key", "key")
        .with_base_url(server.uri());
    let created = engine
        .proxy(&account, "POST", "/activity/note/")
        .body(json!({"note": "hi"}))
        .await
        .unwrap();
    assert_eq!(created.to_json(), json!({"id": "acti_1"}));
    let me = engine
        .proxy(&account, "GET", "/me/")
        .query("_fields", "id")
        .await
        .unwrap();
    assert_eq!(me.to_json(), json!({"id": "user_1"}));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}
