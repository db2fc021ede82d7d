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

// ---------------------------------------------------------------------------------------------
// Advanced Filtering, organizations and pipelines

const PRIYA: &str = "cont_8UVTK4WdizbYcaN25lmQcWQx05S3vD6K57FkLrpTefC";
const ORGANIZATION: &str = "orga_v8oDjQd0x3YFLtnN8GOQcUbZsjYVL378kFU8TcEJfpr";
const SALES_PIPELINE: &str = "pipe_62ounCcmpa45xKpbh8tqlC";

/// A `field_condition` on a contact email, as Close's script helpers write it.
fn email_condition(mode: &str, value: &str) -> Value {
    json!({
        "type": "field_condition",
        "field": {"type": "regular_field", "object_type": "contact_email", "field_name": "email"},
        "condition": {"type": "text", "mode": mode, "value": value}
    })
}

/// Leads that have a contact with an email matching `condition`.
fn lead_by_email(condition: Value) -> Value {
    json!({
        "type": "has_related",
        "this_object_type": "lead",
        "related_object_type": "contact",
        "related_query": {
            "type": "has_related",
            "this_object_type": "contact",
            "related_object_type": "contact_email",
            "related_query": condition
        }
    })
}

#[tokio::test]
async fn search_answers_the_documented_request_in_the_documented_shape() {
    let close = Close::start().await;
    // The request of close-fixtures/data-search-request.json: leads updated since a date
    // whose contact has an address, sorted by update.
    let body = json!({
        "query": {"type": "and", "queries": [
            {"type": "object_type", "object_type": "lead"},
            {"type": "field_condition",
             "field": {"type": "regular_field", "object_type": "lead", "field_name": "date_updated"},
             "condition": {"type": "moment_range",
                           "on_or_after": {"type": "fixed_local_date", "value": "2026-03-01", "which": "start"}}},
            lead_by_email(email_condition("phrase", "priya.raman@acme-robotics.example.com"))
        ]},
        "_fields": {"lead": ["id", "display_name", "status_id", "status_label", "date_updated", "contacts"]},
        "sort": [{"direction": "asc",
                  "field": {"type": "regular_field", "object_type": "lead", "field_name": "date_updated"}}],
        "_limit": 100,
        "results_limit": null,
        "cursor": null
    });
    let (status, answer) = close.call(Method::POST, "/data/search/", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // As close-fixtures/data-search.json: `data` and `cursor`, each hit its type, its id and
    // the fields asked for in the order asked, contacts embedded whole.
    let keys: Vec<&str> = answer
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["data", "cursor"]);
    assert_eq!(answer["cursor"], Value::Null);
    let hits = answer["data"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{answer}");
    let hit = hits[0].as_object().unwrap();
    let keys: Vec<&str> = hit.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "__object_type",
            "id",
            "display_name",
            "status_id",
            "status_label",
            "date_updated",
            "contacts"
        ]
    );
    assert_eq!(hit["__object_type"], "lead");
    assert_eq!(hit["id"], ACME);
    assert_eq!(hit["display_name"], "Acme Robotics");
    let contacts = ids(&hit["contacts"]);
    assert!(contacts.contains(&PRIYA.to_owned()), "{contacts:?}");
    assert!(hit["contacts"][0]["emails"].is_array());

    // A date bound after the lead's last update leaves nothing.
    let (_, later) = close
        .call(
            Method::POST,
            "/data/search/",
            Some(json!({"query": {"type": "and", "queries": [
                {"type": "object_type", "object_type": "lead"},
                {"type": "field_condition",
                 "field": {"type": "regular_field", "object_type": "lead", "field_name": "date_updated"},
                 "condition": {"type": "moment_range",
                               "on_or_after": {"type": "fixed_local_date", "value": "2099-01-01", "which": "start"}}}
            ]}})),
        )
        .await;
    assert_eq!(later, json!({"data": [], "cursor": null}));
}

#[tokio::test]
async fn search_pages_every_lead_once_through_its_cursor() {
    let close = Close::start().await;
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let body = json!({"query": {"type": "object_type", "object_type": "lead"}, "_limit": 7, "cursor": cursor});
        let (status, page) = close.call(Method::POST, "/data/search/", Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        // Without `_fields`, a hit is only its type and id.
        for hit in page["data"].as_array().unwrap() {
            assert_eq!(hit.as_object().unwrap().len(), 2, "{hit}");
            assert_eq!(hit["__object_type"], "lead");
        }
        seen.extend(ids(&page["data"]));
        pages += 1;
        cursor = page["cursor"].clone();
        if cursor.is_null() {
            break;
        }
        assert!(cursor.is_string());
    }
    assert_eq!(seen, ids(&seed("lead")));
    assert_eq!(pages, ids(&seed("lead")).len().div_ceil(7));

    // Counts, and a cursor of another query refused as Close refuses a stale one.
    let (_, counted) = close
        .call(
            Method::POST,
            "/data/search/",
            Some(
                json!({"query": {"type": "object_type", "object_type": "contact"},
                        "_limit": 1, "include_counts": true, "results_limit": 5}),
            ),
        )
        .await;
    let contacts = seed("contact").as_array().unwrap().len();
    assert_eq!(counted["count"], json!({"limited": 5, "total": contacts}));
    let (status, refused) = close
        .call(
            Method::POST,
            "/data/search/",
            Some(json!({"query": {"type": "object_type", "object_type": "lead"}, "cursor": counted["cursor"]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused,
        json!({"errors": [], "field-errors": {"cursor": "Expired cursor"}})
    );
}

#[tokio::test]
async fn search_finds_contacts_and_leads_by_address_and_domain_words() {
    let close = Close::start().await;
    let search = |query: Value| {
        let close = &close;
        async move {
            let (status, page) = close
                .call(
                    Method::POST,
                    "/data/search/",
                    Some(json!({"query": query, "_limit": 200})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            ids(&page["data"])
        }
    };
    // A contact by one of its addresses, in any case.
    let found = search(json!({"type": "and", "queries": [
        {"type": "object_type", "object_type": "contact"},
        {"type": "has_related", "this_object_type": "contact", "related_object_type": "contact_email",
         "related_query": email_condition("phrase", "PRIYA.R@example.com")}
    ]}))
    .await;
    assert_eq!(found, [PRIYA]);
    // Leads with a contact on a domain: every seed lead with such an address.
    let domain = "acme-robotics.example.com";
    let expected: Vec<String> = seed("contact")
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["emails"].as_array().is_some_and(|e| {
                e.iter().any(|e| {
                    e["email"]
                        .as_str()
                        .unwrap()
                        .ends_with(&format!("@{domain}"))
                })
            })
        })
        .map(|c| c["lead_id"].as_str().unwrap().to_owned())
        .collect();
    let mut expected = expected;
    expected.dedup();
    assert_eq!(expected, [ACME]);
    let found = search(json!({"type": "and", "queries": [
        {"type": "object_type", "object_type": "lead"},
        lead_by_email(email_condition("full_words", domain))
    ]}))
    .await;
    assert_eq!(found, expected);
    // Words, not substrings: part of a word finds nothing.
    let found = search(json!({"type": "and", "queries": [
        {"type": "object_type", "object_type": "lead"},
        lead_by_email(email_condition("full_words", "acme-robot"))
    ]}))
    .await;
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test]
async fn search_refuses_what_close_cannot_search() {
    let close = Close::start().await;
    let cases = [
        (
            json!({"query": {"type": "object_type", "object_type": "opportunity"}}),
            "query",
            "`opportunity` cannot be searched; searchable: lead, contact",
        ),
        (
            json!({"query": {"type": "saved_search", "saved_search_id": "save_x"}}),
            "query",
            "unknown query type `saved_search`",
        ),
        (
            json!({"query": {"type": "object_type", "object_type": "lead"}, "_limit": 201}),
            "_limit",
            "Input should be less than or equal to 200",
        ),
    ];
    for (body, field, needle) in cases {
        let (status, answer) = close
            .call(Method::POST, "/data/search/", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = answer["field-errors"][field].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}: {answer}");
    }
    let (status, _) = close.get("/data/search/").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_organization_lists_active_and_inactive_members_with_their_users() {
    let close = Close::start().await;
    let (status, organization) = close
        .get(&format!(
            "/organization/{ORGANIZATION}/?_expand=memberships__user,inactive_memberships__user"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{organization}");
    let memberships = seed("membership");
    let users = seed("user");
    let of_status = |wanted: &str| -> Vec<String> {
        memberships
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["status"] == wanted)
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&organization["memberships"]), of_status("active"));
    assert_eq!(
        ids(&organization["inactive_memberships"]),
        of_status("inactive")
    );
    for membership in organization["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .chain(organization["inactive_memberships"].as_array().unwrap())
    {
        let user = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == membership["user_id"])
            .expect("every member is a seed user");
        assert_eq!(&membership["user"], user);
        assert!(membership.get("status").is_none(), "{membership}");
        assert!(membership["role_id"].is_string());
    }
    assert_eq!(ids(&organization["pipelines"]), ids(&seed("pipeline")));
    let (status, _) = close
        .call(
            Method::PUT,
            &format!("/organization/{ORGANIZATION}/"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn pipelines_show_their_statuses_as_they_change() {
    let close = Close::start().await;
    let path = format!("/pipeline/{SALES_PIPELINE}/");
    let (_, before) = close.get(&path).await;
    let seeded = seed("pipeline");
    let stored = seeded
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == SALES_PIPELINE)
        .unwrap();
    assert_eq!(
        before["statuses"], stored["statuses"],
        "seed order and shape"
    );

    let (status, created) = close
        .call(
            Method::POST,
            "/status/opportunity/",
            Some(json!({"label": "Legal Review", "type": "active", "pipeline_id": SALES_PIPELINE})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (_, after) = close.get(&path).await;
    let statuses = after["statuses"].as_array().unwrap();
    assert_eq!(
        statuses.last(),
        Some(&json!({"id": created["id"], "label": "Legal Review", "type": "active"}))
    );

    let (status, _) = close
        .call(
            Method::DELETE,
            &format!("/status/opportunity/{}/", created["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, again) = close.get(&path).await;
    assert_eq!(again["statuses"], before["statuses"]);
}
