//! Fault injection: rate limits, retries, timeouts, resets and malformed answers, against
//! scripted servers on 127.0.0.1. Each case asserts what was delivered and how many requests
//! the upstream saw, or the exact error kind.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crosswalk::{Account, Engine, ErrorKind};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A small integration with fast backoffs, so that every fault plays out in milliseconds.
const DEMO: &str = r#"
name: demo
base_url: http://127.0.0.1:9/v1
credentials: [token]
auth:
  kind: bearer
  token: "{{ credentials.token }}"
pagination:
  kind: offset
  records: items
  has_more: more
rate_limit:
  statuses: [429]
  waits:
    - header: RateLimit
      field: reset
    - header: Retry-After
    - body: error.rate_reset
    - body: rate_reset
  info_header: RateLimit
  max_wait_seconds: 2
  attempts: 4
  backoff: {initial_seconds: 0.01, max_seconds: 0.05}
retry:
  statuses: [502, 503, 504]
  attempts: 3
  max_elapsed_seconds: 10
  backoff: {initial_seconds: 0.01, max_seconds: 0.05}
  methods: [GET]
errors:
  message: error.message || error
"#;

const THINGS: &str = r#"
mapping: "{id: id, name: name}"
methods:
  list:
    request: {method: GET, path: /things/}
  get:
    request: {method: GET, path: "/things/{{ id }}/"}
  create:
    request:
      method: POST
      path: /things/
      body: {name: "{{ body.name }}"}
  update:
    retry: true
    request:
      method: PUT
      path: "/things/{{ id }}/"
      body: {name: "{{ body.name }}"}
"#;

struct Demo {
    _dir: tempfile::TempDir,
    engine: Engine,
}

fn demo(timeout: Duration) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("demo");
    std::fs::create_dir_all(root.join("things")).unwrap();
    std::fs::write(root.join("integration.yaml"), DEMO).unwrap();
    std::fs::write(root.join("things/things.yaml"), THINGS).unwrap();
    let engine = Engine::builder(dir.path())
        .timeout(timeout)
        .build()
        .unwrap();
    Demo { _dir: dir, engine }
}

fn account(base_url: &str) -> Account {
    Account::new("demo")
        .with_credential("token", "t0ken-s3cret")
        .with_base_url(base_url)
}

fn thing() -> Value {
    json!({"id": "t1", "name": "First"})
}

/// Answers `first` once, then `then` for every later request.
async fn scripted(verb: &str, first: ResponseTemplate, then: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(verb))
        .and(path("/things/t1/"))
        .respond_with(first)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method(verb))
        .and(path("/things/t1/"))
        .respond_with(then)
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(thing())
}

#[tokio::test]
async fn a_429_with_a_ratelimit_reset_is_waited_out() {
    let server = scripted(
        "GET",
        ResponseTemplate::new(429).insert_header("RateLimit", "limit=100, remaining=0, reset=0.05"),
        ok(),
    )
    .await;
    let demo = demo(Duration::from_secs(5));
    let got = demo
        .engine
        .get(&account(&server.uri()), "things/things", "t1")
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(got, thing());
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_429_with_retry_after_seconds_is_waited_out() {
    let server = scripted(
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", "0"),
        ok(),
    )
    .await;
    let demo = demo(Duration::from_secs(5));
    demo.engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap();
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn both_old_429_body_forms_are_read() {
    for body in [
        json!({"error": {"message": "slow", "rate_reset": 0.02}}),
        json!({"rate_reset": "0.02"}),
    ] {
        let server = scripted(
            "GET",
            ResponseTemplate::new(429).set_body_json(body.clone()),
            ok(),
        )
        .await;
        let demo = demo(Duration::from_secs(5));
        demo.engine
            .get(&account(&server.uri()), "things/things", "t1")
            .await
            .unwrap();
        assert_eq!(requests(&server).await, 2, "{body}");
    }
}

#[tokio::test]
async fn a_429_without_any_signal_backs_off_and_retries() {
    let server = scripted(
        "GET",
        ResponseTemplate::new(429).set_body_string("<html>slow down</html>"),
        ok(),
    )
    .await;
    let demo = demo(Duration::from_secs(5));
    demo.engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap();
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_wait_longer_than_the_maximum_fails_at_once_with_the_suggested_wait() {
    let server = scripted(
        "GET",
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "120")
            .insert_header("RateLimit", "limit=100, remaining=0, reset=90.5"),
        ok(),
    )
    .await;
    let demo = demo(Duration::from_secs(5));
    let error = demo
        .engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(
        error.retry_after(),
        Some(Duration::from_secs(120)),
        "the longest signal wins"
    );
    assert_eq!(error.to_json()["details"]["retry_after_seconds"], 120.0);
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_persistent_429_stops_after_the_declared_attempts() {
    let always =
        ResponseTemplate::new(429).insert_header("RateLimit", "limit=10, remaining=0, reset=0.01");
    let server = scripted("GET", always.clone(), always).await;
    let demo = demo(Duration::from_secs(5));
    let error = demo
        .engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimited);
    assert_eq!(requests(&server).await, 4);
    assert_eq!(error.details()["attempts"], 4);
    assert!(error.message().starts_with("after 4 attempts"), "{error}");
}

#[tokio::test]
async fn a_5xx_then_success_is_retried_for_reads() {
    let server = scripted("GET", ResponseTemplate::new(503).set_body_string(""), ok()).await;
    let demo = demo(Duration::from_secs(5));
    demo.engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap();
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_write_is_not_retried_unless_its_method_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let demo = demo(Duration::from_secs(5));
    let error = demo
        .engine
        .create(
            &account(&server.uri()),
            "things/things",
            &json!({"name": "x"}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Upstream);
    assert_eq!(error.status_code(), 503);
    assert_eq!(requests(&server).await, 1);

    // `update` is marked `retry: true` in the definition.
    let server = scripted("PUT", ResponseTemplate::new(503), ok()).await;
    demo.engine
        .update(
            &account(&server.uri()),
            "things/things",
            "t1",
            &json!({"name": "x"}),
        )
        .await
        .unwrap();
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn a_status_not_declared_retryable_is_not_retried() {
    let server = scripted(
        "GET",
        ResponseTemplate::new(500).set_body_json(json!({"error": "boom"})),
        ok(),
    )
    .await;
    let demo = demo(Duration::from_secs(5));
    let error = demo
        .engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Upstream);
    assert!(error.message().contains("boom"), "{error}");
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn persistent_5xx_reports_attempts_elapsed_time_and_the_last_answer() {
    let bad = ResponseTemplate::new(502).set_body_string("<html><body>Bad gateway</body></html>");
    let server = scripted("GET", bad.clone(), bad).await;
    let demo = demo(Duration::from_secs(5));
    let error = demo
        .engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Upstream);
    assert_eq!(requests(&server).await, 3);
    assert_eq!(error.details()["attempts"], 3);
    assert!(error.details()["elapsed_ms"].is_u64());
    let upstream = error.upstream().unwrap();
    assert_eq!(upstream.status, 502);
    assert!(upstream.body.contains("Bad gateway"));
    assert!(error.message().contains("not JSON"), "{error}");
}

#[tokio::test]
async fn timeouts_are_retried_then_reported_as_transport_errors() {
    let slow = ResponseTemplate::new(200)
        .set_body_json(thing())
        .set_delay(Duration::from_secs(2));
    let server = scripted("GET", slow.clone(), slow).await;
    let demo = demo(Duration::from_millis(100));
    let error = demo
        .engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(error.message().contains("timed out"), "{error}");
    assert_eq!(error.details()["attempts"], 3);
}

#[tokio::test]
async fn connection_resets_are_retried_then_reported() {
    // A server that accepts and hangs up at once, counting connections.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0u8; 1024];
            let _ = stream.read(&mut buffer);
            drop(stream);
        }
    });
    let demo = demo(Duration::from_secs(5));
    let error = demo
        .engine
        .get(
            &account(&format!("http://{address}")),
            "things/things",
            "t1",
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert_eq!(error.details()["attempts"], 3);
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_refused_connection_says_so() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let demo = demo(Duration::from_secs(5));
    let error = demo
        .engine
        .get(
            &account(&format!("http://{address}")),
            "things/things",
            "t1",
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert!(
        error.message().to_lowercase().contains("refused"),
        "{error}"
    );
}

#[tokio::test]
async fn a_success_that_is_not_json_is_a_mapping_error() {
    let server = scripted(
        "GET",
        ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
        ok(),
    )
    .await;
    let demo = demo(Duration::from_secs(5));
    let error = demo
        .engine
        .get(&account(&server.uri()), "things/things", "t1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Mapping);
    assert_eq!(error.upstream().unwrap().body, "<html>maintenance</html>");
}

#[tokio::test]
async fn list_pages_report_the_rate_limit_state() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/things/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("RateLimit", "limit=100, remaining=42, reset=1.5")
                .set_body_json(json!({"items": [thing()], "more": false})),
        )
        .mount(&server)
        .await;
    let demo = demo(Duration::from_secs(5));
    let page = demo
        .engine
        .list(&account(&server.uri()), "things/things")
        .await
        .unwrap();
    let limit = page.rate_limit.unwrap();
    assert_eq!((limit.limit, limit.remaining), (Some(100), Some(42)));
    assert_eq!(limit.reset, Some(Duration::from_millis(1500)));
}

#[tokio::test]
async fn the_token_never_appears_in_errors() {
    let server = scripted(
        "GET",
        ResponseTemplate::new(401).set_body_json(json!({"error": "Unauthorized"})),
        ok(),
    )
    .await;
    let demo = demo(Duration::from_secs(5));
    let acct = account(&server.uri());
    let error = demo
        .engine
        .get(&acct, "things/things", "t1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    let shown = format!("{error} {error:?} {} {acct:?}", error.to_json());
    assert!(!shown.contains("t0ken-s3cret"), "{shown}");
}
