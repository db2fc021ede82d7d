//! Regressions for inputs found to misbehave: dot segments in ids, answers without a record,
//! endless empty pages, forged page sizes, echoed credentials, bad base URLs, empty keys.

use crosswalk::{Account, Engine, ErrorKind};
use crosswalk_tests::mappings_dir;
use futures_util::TryStreamExt;
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn upstream(response: ResponseTemplate) -> (MockServer, Engine, Account) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&server)
        .await;
    let account = Account::new("close")
        .with_credential("api_key", "SEKRIT_k3y_ZZQ9")
        .with_base_url(format!("{}/api/v1", server.uri()));
    (server, Engine::load(mappings_dir()).unwrap(), account)
}

#[tokio::test]
async fn dot_segments_are_refused_as_ids() {
    let (server, engine, account) =
        upstream(ResponseTemplate::new(200).set_body_json(json!({}))).await;
    for id in [".", ".."] {
        let error = engine.get(&account, "crm/accounts", id).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Input, "{id}");
        let error = engine
            .delete(&account, "crm/accounts", id)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Input, "{id}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_answer_without_a_record_is_a_mapping_error() {
    for body in ["", r#"{"has_more": false}"#, r#"{"data": "nope"}"#] {
        let (_server, engine, account) =
            upstream(ResponseTemplate::new(200).set_body_string(body)).await;
        let error = engine
            .get(&account, "crm/accounts", "lead_1")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Mapping, "{body:?}: {error}");
    }
}

#[tokio::test]
async fn endless_empty_pages_stop_with_an_error() {
    let (server, engine, account) =
        upstream(ResponseTemplate::new(200).set_body_json(json!({"data": [], "has_more": true})))
            .await;
    let result: Result<Vec<Value>, _> = engine
        .list(&account, "crm/accounts")
        .stream()
        .try_collect()
        .await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Mapping);
    assert!(error.message().contains("empty pages"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 20);
}

#[tokio::test]
async fn a_cursor_page_size_must_fit_the_endpoint_and_an_explicit_limit_wins() {
    let (server, engine, account) = upstream(
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": [{"id": "lead_1", "name": "A"}], "has_more": true})),
    )
    .await;
    let page = engine
        .list(&account, "crm/accounts")
        .limit(200)
        .await
        .unwrap();
    let cursor = page.next_cursor.unwrap();
    let next = engine
        .list(&account, "crm/accounts")
        .cursor(cursor.clone())
        .limit(7)
        .await;
    next.unwrap();
    let requests = server.received_requests().await.unwrap();
    let last_limit = requests
        .last()
        .unwrap()
        .url
        .query_pairs()
        .find(|(k, _)| k == "_limit")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(last_limit, "7");
}

#[tokio::test]
async fn an_echoed_key_is_redacted_from_errors() {
    let basic = "U0VLUklUX2szeV9aWlE5Og=="; // base64 of the key and a colon
    let body = json!({"error": format!("key SEKRIT_k3y_ZZQ9 revoked (sent {basic})")});
    let (_server, engine, account) = upstream(ResponseTemplate::new(401).set_body_json(body)).await;
    let error = engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    let shown = format!("{error} {error:?} {}", error.to_json());
    assert!(
        !shown.contains("SEKRIT_k3y_ZZQ9") && !shown.contains(basic),
        "{shown}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
}

#[test]
fn a_base_url_that_is_not_an_http_url_is_refused_when_the_account_is_read() {
    for base in [
        "not a url",
        "ftp://127.0.0.1/x",
        "http://user:pw@127.0.0.1/api",
    ] {
        let text =
            format!("integration: close\ncredentials:\n  api_key: k\nbase_url: \"{base}\"\n");
        let error = Account::from_yaml(&text).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Input, "{base}");
        assert!(!error.message().contains("pw@"), "{error}");
    }
}

#[tokio::test]
async fn an_empty_api_key_is_missing() {
    let (server, engine, _) = upstream(ResponseTemplate::new(200)).await;
    let account = Account::new("close")
        .with_credential("api_key", " ")
        .with_base_url(server.uri());
    let error = engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(error.message().contains("api_key"), "{error}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn redirects_are_answers_not_detours() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/admin/secret"))
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    let account = Account::new("close")
        .with_credential("api_key", "k3y_value")
        .with_base_url(server.uri());
    let error = engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Upstream);
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "the redirect was not followed"
    );
}

#[tokio::test]
async fn proxy_streams_stop_on_endless_empty_pages() {
    let (server, engine, account) =
        upstream(ResponseTemplate::new(200).set_body_json(json!({"data": [], "has_more": true})))
            .await;
    let result: Result<Vec<Value>, _> = engine
        .proxy(&account, "GET", "/lead/")
        .stream()
        .try_collect()
        .await;
    let error = result.unwrap_err();
    assert!(error.message().contains("empty pages"), "{error}");
    assert_eq!(server.received_requests().await.unwrap().len(), 20);
}
