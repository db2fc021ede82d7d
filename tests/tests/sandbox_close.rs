//! The Close sandbox speaks Close's wire format: paging, error bodies, nested creates,
//! filters, custom-field writes and deletes, over real HTTP on 127.0.0.1.

use std::path::Path;

use crosswalk::sandbox::{RunningSandbox, Sandbox};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const CLOSE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../mappings/close");

/// Acme Robotics, a seed lead with contacts and custom fields.
const ACME: &str = "lead_BAbceJMTbOROU3T8caMd5p9D87KUk0DE3ij1NrnstCQ";
const RENEWAL_DATE: &str = "custom.cf_z9HrIAp3RNgzeHE8KPf6XG82uZ27170dkxLYEc8OHC4";
const PRODUCTS: &str = "custom.cf_7xEBhqkMtFNJkBmhaLx51tQONrhQScoO8nnW8MU00B7";
const INDUSTRY: &str = "custom.cf_gqG3Pl5u8wABurF8a2MdUJuh48wjaD1JF6CPGP6aY6h";

/// A fresh Close sandbox and a client that sends an API key.
struct Close {
    running: RunningSandbox,
    client: Client,
}

impl Close {
    async fn start() -> Close {
        let sandbox = Sandbox::load(Path::new(CLOSE)).expect("the Close sandbox loads");
        let running = sandbox.bind(0).await.expect("the sandbox starts");
        Close {
            running,
            client: Client::new(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.running.base_url());
        let mut request = self
            .client
            .request(method, url)
            .basic_auth("api_key", Some(""));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status();
        let body = response.json().await.expect("a JSON body");
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn ids(&self, path: &str) -> Vec<String> {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        ids(&body["data"])
    }
}

fn ids(records: &Value) -> Vec<String> {
    records
        .as_array()
        .expect("an array of records")
        .iter()
        .map(|record| record["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn seed(name: &str) -> Value {
    let path = Path::new(CLOSE).join(format!("sandbox/seed/{name}.json"));
    let text = std::fs::read_to_string(&path).expect("seed file");
    serde_json::from_str(&text).expect("seed JSON")
}

#[tokio::test]
async fn lead_pages_return_every_seed_lead_once() {
    let close = Close::start().await;
    let expected = ids(&seed("lead"));
    let mut seen = Vec::new();
    let mut skip = 0;
    loop {
        let (status, page) = close.get(&format!("/lead/?_skip={skip}&_limit=7")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total_results"], expected.len());
        let page_ids = ids(&page["data"]);
        assert!(page_ids.len() <= 7);
        skip += page_ids.len();
        seen.extend(page_ids);
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(seen, expected);

    let (_, first) = close.get("/lead/").await;
    assert_eq!(
        first["data"].as_array().map(Vec::len),
        Some(expected.len().min(100))
    );
}

#[tokio::test]
async fn lead_limit_over_200_is_refused_like_close() {
    let close = Close::start().await;
    let (status, body) = close.get("/lead/?_limit=201").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"errors": [], "field-errors": {"_limit": "Input should be less than or equal to 200"}})
    );
    let (status, _) = close.get("/lead/?_limit=200").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = close.get("/contact/?_limit=101").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["field-errors"]["_limit"],
        "Input should be less than or equal to 100"
    );
}

#[tokio::test]
async fn unknown_ids_and_paths_get_close_404_bodies() {
    let close = Close::start().await;
    let (status, body) = close.get("/lead/lead_doesnotexist/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "Empty query: Lead matching query does not exist."})
    );

    let (_, body) = close.get("/contact/cont_doesnotexist/").await;
    assert_eq!(
        body,
        json!({"error": "Empty query: Contact matching query does not exist."})
    );

    let (status, body) = close.get("/no_such_thing/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "The requested URL was not found on the server."})
    );
}

#[tokio::test]
async fn requests_without_credentials_are_unauthorized() {
    let close = Close::start().await;
    let url = format!("{}/lead/", close.running.base_url());
    let response = close.client.get(url).send().await.expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.ok(),
        Some(json!({"error": "Unauthorized"}))
    );
}

#[tokio::test]
async fn a_lead_created_with_contacts_shows_them() {
    let close = Close::start().await;
    let body = json!({
        "name": "Bluefin Logistics",
        "url": "https://bluefin-logistics.example.com",
        "status_id": "stat_XdelS9cJ4Jx5os6cV4H2EgCjaKsOVK1yzw0hZk5QPJF",
        "contacts": [{
            "name": "Ingrid Salo",
            "title": "COO",
            "emails": [{"type": "office", "email": "ingrid.salo@bluefin-logistics.example.com"}]
        }],
        INDUSTRY: "Logistics",
        PRODUCTS: ["Arm Controller"]
    });
    let (status, created) = close.call(Method::POST, "/lead/", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("lead_") && id.len() == 5 + 43, "{id}");
    assert_eq!(created["display_name"], "Bluefin Logistics");
    assert_eq!(created["status_label"], "Qualified");
    assert_eq!(
        created["html_url"],
        format!("https://app.close.com/lead/{id}/")
    );
    assert_eq!(created[INDUSTRY], "Logistics");
    assert_eq!(created["date_created"], created["date_updated"]);

    let (status, fetched) = close.get(&format!("/lead/{id}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched, created);
    let contacts = fetched["contacts"].as_array().expect("contacts");
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["lead_id"], id.as_str());
    assert_eq!(contacts[0]["display_name"], "Ingrid Salo");
    assert!(contacts[0]["id"]
        .as_str()
        .is_some_and(|c| c.starts_with("cont_")));

    let listed = close.ids(&format!("/contact/?lead_id={id}")).await;
    assert_eq!(listed, ids(&fetched["contacts"]));
}

#[tokio::test]
async fn contacts_filter_by_lead_id() {
    let close = Close::start().await;
    let expected: Vec<String> = seed("contact")
        .as_array()
        .expect("contacts")
        .iter()
        .filter(|contact| contact["lead_id"] == ACME)
        .map(|contact| contact["id"].as_str().expect("id").to_owned())
        .collect();
    assert!(expected.len() > 1);
    assert_eq!(
        close.ids(&format!("/contact/?lead_id={ACME}")).await,
        expected
    );

    let (_, lead) = close.get(&format!("/lead/{ACME}/")).await;
    assert_eq!(ids(&lead["contacts"]), expected);
}

#[tokio::test]
async fn custom_fields_set_to_null_disappear() {
    let close = Close::start().await;
    let path = format!("/lead/{ACME}/");
    let (_, before) = close.get(&path).await;
    assert!(before.get(RENEWAL_DATE).is_some());

    let change = json!({
        "status_id": "stat_k2m5GNrcF7HBb5o8syTn5R9y4PI2kNvF8n7cRR30sha",
        RENEWAL_DATE: null,
        format!("{PRODUCTS}.add"): "Safety Fence",
        "contacts": [{"name": "ignored"}]
    });
    let (status, after) = close.call(Method::PUT, &path, Some(change)).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert!(after.get(RENEWAL_DATE).is_none(), "{after}");
    assert_eq!(
        after[PRODUCTS],
        json!(["Arm Controller", "Vision Kit", "Safety Fence"])
    );
    assert_ne!(after["status_label"], before["status_label"]);
    assert_eq!(
        after["contacts"], before["contacts"],
        "contacts are not written through the lead"
    );
    assert_eq!(after["name"], before["name"]);
    assert_ne!(after["date_updated"], before["date_updated"]);

    let (_, again) = close.get(&path).await;
    assert_eq!(again, after);
}

#[tokio::test]
async fn a_deleted_lead_and_its_contacts_are_gone() {
    let close = Close::start().await;
    let path = format!("/lead/{ACME}/");
    let (status, body) = close.call(Method::DELETE, &path, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));

    let (status, body) = close.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": "Empty query: Lead matching query does not exist."})
    );
    assert!(close
        .ids(&format!("/contact/?lead_id={ACME}"))
        .await
        .is_empty());
    assert!(close
        .ids(&format!("/activity/?lead_id={ACME}"))
        .await
        .is_empty());
}

#[tokio::test]
async fn writes_naming_a_missing_lead_are_refused() {
    let close = Close::start().await;
    let body = json!({"lead_id": "lead_missing", "name": "Nobody"});
    let (status, body) = close.call(Method::POST, "/contact/", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"errors": [], "field-errors": {"lead": "Object does not exist."}})
    );
}

#[tokio::test]
async fn activities_merge_every_type_newest_first() {
    let close = Close::start().await;
    let total: usize = [
        "activity_note",
        "activity_call",
        "activity_email",
        "activity_meeting",
    ]
    .iter()
    .map(|name| seed(name).as_array().map_or(0, Vec::len))
    .sum();
    let (_, page) = close.get("/activity/?_limit=100").await;
    let records = page["data"].as_array().expect("activities");
    assert_eq!(records.len(), total.min(100));
    let created: Vec<&str> = records
        .iter()
        .filter_map(|r| r["date_created"].as_str())
        .collect();
    assert!(
        created.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first"
    );

    let (_, calls) = close.get("/activity/?_type=Call").await;
    let calls = calls["data"].as_array().expect("calls");
    assert_eq!(
        calls.len(),
        seed("activity_call").as_array().map_or(0, Vec::len)
    );
    assert!(calls.iter().all(|call| call["_type"] == "Call"));
}

#[tokio::test]
async fn tasks_list_lead_tasks_unless_asked_for_all() {
    let close = Close::start().await;
    let tasks = seed("task");
    let all = tasks.as_array().expect("tasks");
    let lead_tasks = all.iter().filter(|task| task["_type"] == "lead").count();
    assert_eq!(close.ids("/task/?_limit=1000").await.len(), lead_tasks);
    assert_eq!(
        close.ids("/task/?_type=all&_limit=1000").await.len(),
        all.len()
    );
}

#[tokio::test]
async fn the_engine_runs_against_the_sandbox() {
    use crosswalk::{Account, Engine, ErrorKind};
    use futures_util::StreamExt;

    let close = Close::start().await;
    let engine = Engine::load(crosswalk_tests::mappings_dir()).expect("definitions load");
    let account = Account::new("close")
        .with_credential("api_key", "sandbox")
        .with_base_url(close.running.base_url());

    let accounts: Vec<_> = engine
        .list(&account, "crm/accounts")
        .stream()
        .collect()
        .await;
    assert_eq!(accounts.len(), ids(&seed("lead")).len());
    assert!(accounts.iter().all(Result::is_ok));

    let id = ACME;
    engine
        .delete(&account, "crm/accounts", id)
        .send()
        .await
        .expect("deletes");
    let gone = engine.get(&account, "crm/accounts", id).send().await;
    assert_eq!(
        gone.err().map(|error| error.kind()),
        Some(ErrorKind::NotFound)
    );
}
