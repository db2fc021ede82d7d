//! OAuth 2.0 against a scripted Close on 127.0.0.1: one refresh per account under concurrency,
//! rotated refresh tokens stored before use, a refresh without a new refresh token keeping the
//! old one, a 401 refreshed once, and failed refreshes reported as auth errors.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use crosswalk::{Account, CredentialStore, Engine, ErrorKind, TokenSet};
use crosswalk_tests::mappings_dir;
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Remembers what it was given; checks, when given new tokens, that the upstream has not yet
/// seen the new access token.
struct Recorder {
    seen: Seen,
    stored: Mutex<Vec<TokenSet>>,
    used_before_stored: Mutex<bool>,
}

/// Authorization headers the scripted API saw, in order.
type Seen = Arc<Mutex<Vec<String>>>;

impl CredentialStore for Recorder {
    fn store<'a>(
        &'a self,
        _account: &'a Account,
        tokens: &'a TokenSet,
    ) -> Pin<Box<dyn Future<Output = crosswalk::Result<()>> + Send + 'a>> {
        Box::pin(async move {
            let bearer = format!("Bearer {}", tokens.access_token);
            let seen = self.seen.lock().unwrap().iter().any(|auth| auth == &bearer);
            if seen {
                *self.used_before_stored.lock().unwrap() = true;
            }
            self.stored.lock().unwrap().push(tokens.clone());
            Ok(())
        })
    }
}

/// An API that accepts one bearer token and notes every Authorization header it sees.
struct Api(&'static str, Seen);

impl wiremock::Respond for Api {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.1.lock().unwrap().push(auth.clone());
        if auth == format!("Bearer {}", self.0) {
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "lead_1", "name": "Acme", "display_name": "Acme"}))
        } else {
            ResponseTemplate::new(401).set_body_json(json!({"error": "Unauthorized"}))
        }
    }
}

fn account(server: &MockServer, access: &str, expires_at: u64) -> Account {
    Account::new("close")
        .with_credential("client_id", "cid")
        .with_credential("client_secret", "csecret")
        .with_credential("access_token", access)
        .with_credential("refresh_token", "refresh-1")
        .with_credential("expires_at", expires_at.to_string())
        .with_base_url(format!("{}/api/v1", server.uri()))
        .with_option("oauth_base", json!(server.uri()))
}

fn token_response(access: &str, refresh: Option<&str>) -> ResponseTemplate {
    let mut body = json!({"token_type": "Bearer", "access_token": access, "expires_in": 3600, "scope": "all.full_access offline_access"});
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

async fn refreshes(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/oauth2/token/")
        .map(|r| String::from_utf8(r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn fifty_concurrent_calls_with_an_expired_token_refresh_once() {
    let server = MockServer::start().await;
    let seen = Seen::default();
    Mock::given(method("POST"))
        .and(path("/oauth2/token/"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-1"))
        .and(body_string_contains("client_id=cid"))
        .and(body_string_contains("client_secret=csecret"))
        .respond_with(
            token_response("access-2", Some("refresh-2"))
                .set_delay(std::time::Duration::from_millis(50)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/lead/lead_1/"))
        .respond_with(Api("access-2", seen.clone()))
        .mount(&server)
        .await;

    let recorder = Arc::new(Recorder {
        seen,
        stored: Mutex::new(Vec::new()),
        used_before_stored: Mutex::new(false),
    });
    let engine = Engine::builder(mappings_dir())
        .credential_store(recorder.clone())
        .build()
        .unwrap();
    let account = account(&server, "access-1", 1);

    let calls = (0..50).map(|_| {
        let engine = engine.clone();
        let account = account.clone();
        tokio::spawn(async move {
            engine
                .get(&account, "crm/accounts", "lead_1")
                .remote_data(false)
                .await
        })
    });
    for call in calls {
        let record = call.await.unwrap().unwrap();
        assert_eq!(record["name"], "Acme");
    }
    assert_eq!(refreshes(&server).await.len(), 1, "exactly one refresh");
    let stored = recorder.stored.lock().unwrap().clone();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].refresh_token.as_deref(),
        Some("refresh-2"),
        "the rotated token is handed over"
    );
    assert!(
        !*recorder.used_before_stored.lock().unwrap(),
        "stored before the new token was used"
    );
}

#[tokio::test]
async fn a_refresh_without_a_refresh_token_keeps_the_old_one() {
    let server = MockServer::start().await;
    // Each token lasts 0 seconds, so every call refreshes.
    Mock::given(method("POST"))
        .and(path("/oauth2/token/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "access-x", "expires_in": 0})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/lead/lead_1/"))
        .respond_with(Api("access-x", Seen::default()))
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    let account = account(&server, "access-1", 1);
    engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap();
    engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap();
    let bodies = refreshes(&server).await;
    assert_eq!(bodies.len(), 2);
    assert!(
        bodies
            .iter()
            .all(|body| body.contains("refresh_token=refresh-1")),
        "{bodies:?}"
    );
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token/"))
        .respond_with(token_response("access-2", Some("refresh-2")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/lead/lead_1/"))
        .respond_with(Api("access-2", Seen::default()))
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    // Not expired by the clock, but revoked upstream.
    let account = account(&server, "revoked", u64::MAX / 2);
    let record = engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap();
    assert_eq!(record["id"], "lead_1");
    assert_eq!(refreshes(&server).await.len(), 1);
    let api_calls = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path().starts_with("/api/"))
        .count();
    assert_eq!(api_calls, 2);
}

#[tokio::test]
async fn a_401_after_a_refresh_is_an_auth_error_not_a_loop() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token/"))
        .respond_with(token_response("access-2", Some("refresh-2")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/lead/lead_1/"))
        .respond_with(Api("never-valid", Seen::default()))
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    let account = account(&server, "revoked", u64::MAX / 2);
    let error = engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert_eq!(refreshes(&server).await.len(), 1);
}

#[tokio::test]
async fn a_failed_refresh_is_an_auth_error_that_says_so_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token/"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "refresh_token": "refresh-1"})),
        )
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    let account = account(&server, "access-1", 1);
    let error = engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    assert!(
        error
            .message()
            .contains("refreshing the OAuth token failed"),
        "{error}"
    );
    assert!(error.message().contains("invalid_grant"), "{error}");
    let shown = format!("{error} {error:?} {}", error.to_json());
    for secret in ["refresh-1", "csecret", "access-1"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[tokio::test]
async fn an_api_key_account_is_untouched_by_oauth() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/lead/lead_1/"))
        .and(header("authorization", "Basic a2V5Og=="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "lead_1"})))
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    let account = Account::new("close")
        .with_credential("api_key", "key")
        .with_base_url(format!("{}/api/v1", server.uri()));
    engine
        .get(&account, "crm/accounts", "lead_1")
        .await
        .unwrap();
}

#[tokio::test]
async fn the_authorization_code_flow_builds_the_url_and_exchanges_the_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token/"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .respond_with(token_response("access-1", Some("refresh-1")))
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    let account = Account::new("close")
        .with_credential("client_id", "cid")
        .with_credential("client_secret", "csecret")
        .with_option("oauth_base", json!(server.uri()));
    let url = engine
        .authorize_url(&account, "http://127.0.0.1:5/callback", "st4te")
        .unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/oauth2/authorize/?client_id=cid&response_type=code",
            server.uri()
        )),
        "{url}"
    );
    assert!(
        url.contains("state=st4te") && url.contains("scope=all.full_access+offline_access"),
        "{url}"
    );
    let tokens = engine
        .exchange_code(&account, "the-code", "http://127.0.0.1:5/callback")
        .await
        .unwrap();
    assert_eq!(tokens.access_token, "access-1");
    assert_eq!(tokens.refresh_token.as_deref(), Some("refresh-1"));
    assert!(!format!("{tokens:?}").contains("access-1"));
}

#[tokio::test]
async fn token_endpoint_descriptions_and_new_tokens_never_reach_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-NEW-secret", "refresh_token": "rt-NEW-secret", "expires_in": 1e20
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/lead/lead_1/"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": "token at-NEW-secret lacks scope"})),
        )
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    // An enormous lifetime is clamped, not overflowed; the echoed new token is redacted.
    let error = engine
        .get(&account(&server, "access-1", 1), "crm/accounts", "lead_1")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Auth);
    let shown = format!("{error} {error:?} {}", error.to_json());
    assert!(!shown.contains("at-NEW-secret"), "{shown}");

    let failing = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token/"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant",
            "error_description": "refresh token refresh-1 for client cid / secret csecret is invalid"
        })))
        .mount(&failing)
        .await;
    // A fresh engine: the first one already holds refreshed tokens for this account.
    let engine = Engine::load(mappings_dir()).unwrap();
    let error = engine
        .get(&account(&failing, "access-1", 1), "crm/accounts", "lead_1")
        .await
        .unwrap_err();
    let shown = format!("{error} {}", error.to_json());
    assert!(shown.contains("invalid_grant"), "{shown}");
    for secret in ["refresh-1", "csecret"] {
        assert!(!shown.contains(secret), "{secret}: {shown}");
    }
}
