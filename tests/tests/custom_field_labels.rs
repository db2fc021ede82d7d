//! Custom fields keyed by label: an account option resolves labels through Close's
//! custom-field definitions, fetched once per account and cached.

use crosswalk::{Account, Engine, ErrorKind};
use crosswalk_tests::{mappings_dir, start_sandbox};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LEAD_SCORE: &str = "cf_63eAFeP33owBtR65CpHZfZiigWg3abCt48yXeMnpdFu";
const ACME: &str = "lead_BAbceJMTbOROU3T8caMd5p9D87KUk0DE3ij1NrnstCQ";

#[tokio::test]
async fn reads_and_writes_by_label_round_trip() {
    let (_sandbox, engine, by_id) = start_sandbox("close").await;
    let by_label = by_id
        .clone()
        .with_option("custom_field_keys", json!("label"));

    let acme = engine.get(&by_label, "crm/accounts", ACME).await.unwrap();
    assert_eq!(acme["custom_fields"]["Lead Score"], 82);
    assert_eq!(
        acme["custom_fields"]["Products of Interest"],
        json!(["Arm Controller", "Vision Kit"])
    );
    assert!(acme["custom_fields"].get(LEAD_SCORE).is_none());

    let body = json!({"custom_fields": {"Lead Score": 97, "Products of Interest": ["Vision Kit"], "Renewal Date": null}});
    engine
        .update(&by_label, "crm/accounts", ACME, &body)
        .await
        .unwrap();
    let stored = engine.get(&by_id, "crm/accounts", ACME).await.unwrap();
    assert_eq!(
        stored["custom_fields"][LEAD_SCORE], 97,
        "written under the field's id"
    );
    assert_eq!(
        stored["custom_fields"]["cf_7xEBhqkMtFNJkBmhaLx51tQONrhQScoO8nnW8MU00B7"],
        json!(["Vision Kit"])
    );
    assert!(
        stored["custom_fields"]
            .get("cf_z9HrIAp3RNgzeHE8KPf6XG82uZ27170dkxLYEc8OHC4")
            .is_none(),
        "null cleared it"
    );
}

#[tokio::test]
async fn an_unknown_label_is_an_input_error_and_nothing_is_written() {
    let (_sandbox, engine, by_id) = start_sandbox("close").await;
    let by_label = by_id
        .clone()
        .with_option("custom_field_keys", json!("label"));
    let before = engine.get(&by_id, "crm/accounts", ACME).await.unwrap();
    let body = json!({"description": "changed", "custom_fields": {"Lead Scroe": 1}});
    let error = engine
        .update(&by_label, "crm/accounts", ACME, &body)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(
        error.message().contains("Lead Scroe") && error.message().contains("Lead Score"),
        "{error}"
    );
    assert_eq!(
        engine.get(&by_id, "crm/accounts", ACME).await.unwrap(),
        before
    );
}

#[tokio::test]
async fn the_definitions_are_fetched_once_per_account_and_not_at_all_by_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/custom_field/lead/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": LEAD_SCORE, "name": "Lead Score"}], "has_more": false
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/lead/{ACME}/")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": ACME, "name": "Acme", "display_name": "Acme", format!("custom.{LEAD_SCORE}"): 5
        })))
        .mount(&server)
        .await;
    let engine = Engine::load(mappings_dir()).unwrap();
    let by_id = Account::new("close")
        .with_credential("api_key", "k")
        .with_base_url(server.uri());
    let by_label = by_id
        .clone()
        .with_option("custom_field_keys", json!("label"));

    for _ in 0..3 {
        let record = engine.get(&by_label, "crm/accounts", ACME).await.unwrap();
        assert_eq!(record["custom_fields"], json!({"Lead Score": 5}));
    }
    let record = engine.get(&by_id, "crm/accounts", ACME).await.unwrap();
    assert_eq!(record["custom_fields"], json!({ LEAD_SCORE: 5 }));

    let requests = server.received_requests().await.unwrap();
    let definitions = requests
        .iter()
        .filter(|r| r.url.path() == "/custom_field/lead/")
        .count();
    assert_eq!(definitions, 1);
}
