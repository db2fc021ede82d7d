//! Snapshots of every method of the Close accounts and contacts mappings: a Close-shaped
//! response in, the unified output and the request Crosswalk sent out.

use crosswalk::{Account, Engine, ErrorKind};
use crosswalk_tests::{fixture, mappings_dir};
use insta::assert_json_snapshot;
use serde_json::{json, Value};

use crosswalk_tests::scripted_close as upstream;

fn lead(index: usize) -> Value {
    fixture("close/lead-page.json")["data"][index].clone()
}

fn contact(index: usize) -> Value {
    fixture("close/contact-page.json")["data"][index].clone()
}

#[tokio::test]
async fn accounts_list() {
    let up = upstream("GET", "/lead/", 200, fixture("close/lead-page.json")).await;
    let page = up
        .engine
        .list(&up.account, "crm/accounts")
        .limit(3)
        .await
        .unwrap();
    assert!(page.next_cursor.is_some(), "has_more: true gives a cursor");
    assert_json_snapshot!(
        "accounts_list",
        json!({
            "request": up.sent().await,
            "result": page.result,
            "result_count": page.result_count(),
        })
    );
}

#[tokio::test]
async fn accounts_list_without_remote_data() {
    let up = upstream("GET", "/lead/", 200, fixture("close/lead-page.json")).await;
    let page = up
        .engine
        .list(&up.account, "crm/accounts")
        .remote_data(false)
        .await
        .unwrap();
    assert!(page
        .result
        .iter()
        .all(|record| record.get("remote_data").is_none()));
    assert_eq!(
        up.sent().await["query"],
        json!({"_limit": "100", "_skip": "0", "query": "sort:date_created"})
    );
}

#[tokio::test]
async fn accounts_list_limit_is_clamped_to_the_endpoint_cap() {
    let up = upstream("GET", "/lead/", 200, json!({"data": [], "has_more": false})).await;
    up.engine
        .list(&up.account, "crm/accounts")
        .limit(5000)
        .await
        .unwrap();
    assert_eq!(up.sent().await["query"]["_limit"], "200");
}

#[tokio::test]
async fn accounts_get() {
    let record = lead(0);
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("GET", &format!("/lead/{id}/"), 200, record).await;
    let account = up
        .engine
        .get(&up.account, "crm/accounts", &id)
        .await
        .unwrap();
    assert_json_snapshot!(
        "accounts_get",
        json!({ "request": up.sent().await, "response": account })
    );
}

#[tokio::test]
async fn accounts_get_awkward_records() {
    for (index, name) in [
        (1, "accounts_get_empty_name"),
        (2, "accounts_get_non_ascii"),
    ] {
        let record = lead(index);
        let id = record["id"].as_str().unwrap().to_owned();
        let up = upstream("GET", &format!("/lead/{id}/"), 200, record).await;
        let account = up
            .engine
            .get(&up.account, "crm/accounts", &id)
            .remote_data(false)
            .await
            .unwrap();
        assert_json_snapshot!(name, account);
    }
}

#[tokio::test]
async fn accounts_create() {
    let up = upstream("POST", "/lead/", 200, lead(0)).await;
    let body = json!({
        "name": "Harbor Freight Robotics",
        "description": "Palletising cells for cold-chain warehouses.",
        "website": "https://harbor-robotics.example.com",
        "status": {"id": "stat_XdelS9cJ4Jx5os6cV4H2EgCjaKsOVK1yzw0hZk5QPJF"},
        "addresses": [
            {"street_1": "1200 Foundry Way", "street_2": "Suite 400", "city": "Columbus",
             "state": "OH", "postal_code": "43215", "country": "US", "type": "business"},
            {"street_1": "Königstraße 12", "city": "Düsseldorf", "postal_code": "40212", "country": "DE"}
        ],
        "custom_fields": {
            "cf_numb0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a": 85,
            "cf_mult0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a": ["Arm Controller"],
            "cf_text0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a": "478"
        }
    });
    let created = up
        .engine
        .create(&up.account, "crm/accounts", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "accounts_create",
        json!({ "request": up.sent().await, "response": created })
    );
}

#[tokio::test]
async fn accounts_update_sends_only_given_fields() {
    let record = lead(0);
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("PUT", &format!("/lead/{id}/"), 200, record).await;
    let body = json!({
        "description": "Now also ships to Canada.",
        "custom_fields": {
            "cf_numb0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a": 0,
            "cf_hidn0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a": null
        }
    });
    up.engine
        .update(&up.account, "crm/accounts", &id, &body)
        .await
        .unwrap();
    assert_json_snapshot!("accounts_update", up.sent().await);
}

#[tokio::test]
async fn accounts_delete() {
    let id = "lead_Qw3Xx8R0b1cDe2FgH3iJk4LmN5oPq6RsT7uVw8XyZ9a";
    let up = upstream("DELETE", &format!("/lead/{id}/"), 200, json!({})).await;
    let deleted = up
        .engine
        .delete(&up.account, "crm/accounts", id)
        .await
        .unwrap();
    assert_eq!(deleted, json!({ "id": id }));
    assert_eq!(up.sent().await["path"], format!("/api/v1/lead/{id}/"));
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let body = json!({"error": "Empty query: Lead matching query does not exist."});
    let up = upstream("GET", "/lead/a%2Fb%3Fc/", 404, body).await;
    let error = up
        .engine
        .get(&up.account, "crm/accounts", "a/b?c")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn unknown_lead_is_not_found_with_closes_message() {
    let body = json!({"error": "Empty query: Lead matching query does not exist."});
    let up = upstream("GET", "/lead/lead_missing/", 404, body).await;
    let error = up
        .engine
        .get(&up.account, "crm/accounts", "lead_missing")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_json_snapshot!("accounts_get_not_found", error.to_json());
}

#[tokio::test]
async fn contacts_list() {
    let up = upstream("GET", "/contact/", 200, fixture("close/contact-page.json")).await;
    let page = up
        .engine
        .list(&up.account, "crm/contacts")
        .filter(
            "account_id",
            "lead_Qw3Xx8R0b1cDe2FgH3iJk4LmN5oPq6RsT7uVw8XyZ9a",
        )
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(page.next_cursor, None, "has_more: false ends the list");
    assert_json_snapshot!(
        "contacts_list",
        json!({ "request": up.sent().await, "result": page.result })
    );
}

#[tokio::test]
async fn contacts_get() {
    let record = contact(0);
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("GET", &format!("/contact/{id}/"), 200, record).await;
    let found = up
        .engine
        .get(&up.account, "crm/contacts", &id)
        .await
        .unwrap();
    assert_json_snapshot!(
        "contacts_get",
        json!({ "request": up.sent().await, "response": found })
    );
}

#[tokio::test]
async fn contacts_create_joins_first_and_last_name() {
    let up = upstream("POST", "/contact/", 200, contact(0)).await;
    let body = json!({
        "first_name": "Mary Ann",
        "last_name": "Whitfield",
        "title": "VP of Operations",
        "account": {"id": "lead_Qw3Xx8R0b1cDe2FgH3iJk4LmN5oPq6RsT7uVw8XyZ9a"},
        "email_addresses": [{"email": "maryann@harbor-robotics.example.com", "type": "office"}],
        "phone_numbers": [{"number": "+14155550132", "type": "office"}],
        "urls": [{"url": "https://www.linkedin.example.com/in/mawhitfield", "type": "url"}],
        "custom_fields": {"cf_cnum0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a": 0}
    });
    let created = up
        .engine
        .create(&up.account, "crm/contacts", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "contacts_create",
        json!({ "request": up.sent().await, "response": created })
    );
}

#[tokio::test]
async fn contacts_update_sends_only_given_fields() {
    let record = contact(1);
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("PUT", &format!("/contact/{id}/"), 200, record).await;
    let body = json!({"title": "Singer", "phone_numbers": []});
    let updated = up
        .engine
        .update(&up.account, "crm/contacts", &id, &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "contacts_update",
        json!({ "request": up.sent().await, "response": updated })
    );
}

#[tokio::test]
async fn contacts_delete() {
    let id = "cont_8UVTK4WdizbYcaN25lmQcWQx05S3vD6K57FkLrpTefC";
    let up = upstream("DELETE", &format!("/contact/{id}/"), 200, json!({})).await;
    let deleted = up
        .engine
        .delete(&up.account, "crm/contacts", id)
        .await
        .unwrap();
    assert_eq!(deleted, json!({ "id": id }));
    assert_eq!(up.sent().await["method"], "DELETE");
}

#[tokio::test]
async fn contacts_refuse_an_unsupported_filter() {
    let engine = Engine::load(mappings_dir()).unwrap();
    let account = Account::new("close")
        .with_credential("api_key", "k")
        .with_base_url("http://127.0.0.1:9");
    let error = engine
        .list(&account, "crm/contacts")
        .filter("industry", "x")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("`industry`"), "{error}");
    assert_eq!(error.details()["supported"], json!(["account_id"]));
}

#[tokio::test]
async fn validation_errors_keep_closes_field_errors() {
    let body = json!({"errors": [], "field-errors": {"lead": "Object does not exist."}});
    let up = upstream("POST", "/contact/", 400, body).await;
    let error = up
        .engine
        .create(
            &up.account,
            "crm/contacts",
            &json!({"name": "X", "account": {"id": "lead_nope"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Upstream);
    assert_eq!(error.status_code(), 400);
    assert_json_snapshot!("contacts_create_field_error", error.to_json());
}
