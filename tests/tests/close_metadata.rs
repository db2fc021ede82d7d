//! Snapshots of every method of the Close metadata, user-directory and search mappings
//! (crm/fields, crm/pipelines, crm/stages, crm/associations, user-directory/users,
//! user-directory/roles, search/search): a Close-shaped answer in (seed records and
//! hand-written awkward shapes), the unified output and the request Crosswalk sent out. Every
//! mapped record is checked against its unified schema, and every refused input is checked to
//! send nothing upstream.

use crosswalk::{Error, ErrorKind};
use crosswalk_tests::{sandbox_seed_records, unified_schema_violations};
use insta::assert_json_snapshot;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACME: &str = "lead_BAbceJMTbOROU3T8caMd5p9D87KUk0DE3ij1NrnstCQ";
const BLUEBIRD: &str = "lead_4J91xS78CkPw6hEfYuln0hXUJfYPBKaxTLtPntPG3aZ";
const NORTHWIND: &str = "lead_VVjjPbaK6z95NU2BQzgoGLdXw9r9RlfdWsicUDbFaKV";
const PRIYA: &str = "cont_8UVTK4WdizbYcaN25lmQcWQx05S3vD6K57FkLrpTefC";
const TOMASZ: &str = "cont_P8g8SaaWhMdrNgFAUPhTbyl0ng21Mwao8074dVbSOXn";
const ORGANIZATION: &str = "orga_v8oDjQd0x3YFLtnN8GOQcUbZsjYVL378kFU8TcEJfpr";
const SALES_PIPELINE: &str = "pipe_62ounCcmpa45xKpbh8tqlC";
const RENEWALS_PIPELINE: &str = "pipe_95F5qi9a82Ne0pFFcer5UE";
/// Opportunity statuses of the Sales pipeline.
const STATUS_WON: &str = "stat_KIjjsKBlSPdlOPvlQ7njZZtQlNKxdCdKI5GtMYfsyY5";
const STATUS_NEGOTIATION: &str = "stat_WeYPa0q6oDKRdITEs9Ofv47YixJ2mbNklTTvNwDvxxc";
/// Lead custom field "Lead Score" (number, editable by admins and superusers only).
const CF_LEAD_SCORE: &str = "cf_63eAFeP33owBtR65CpHZfZiigWg3abCt48yXeMnpdFu";
/// Opportunity custom field "Deal Tier" (choices).
const CF_DEAL_TIER: &str = "cf_ZJmH707OVia7P267RiqkhHQeS7FLONYn3HGlGo0BdLL";

// ---------------------------------------------------------------------------------------------
// Harness

use crosswalk_tests::{
    connect_close as connect, scripted_close as upstream, silent_close as silent,
    ScriptedClose as Upstream,
};

fn seed(collection: &str, id: &str) -> Value {
    crosswalk_tests::seed_record(collection, id)
}

fn seed_all(collection: &str) -> Vec<Value> {
    sandbox_seed_records("close", collection)
}

fn page(records: Vec<Value>, has_more: bool) -> Value {
    crosswalk_tests::seed_page(records, has_more)
}

fn assert_valid(api: &str, model: &str, records: &[Value]) {
    let violations = unified_schema_violations(api, model, records);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// An input error whose message contains `needle`.
fn assert_input_error(result: Result<impl std::fmt::Debug, Error>, needle: &str) {
    let error = result.expect_err("the input should be refused");
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
    assert!(error.message().contains(needle), "{}", error.message());
}

/// A list refused before anything was sent.
async fn assert_list_refused(
    up: &Upstream,
    resource: &str,
    filters: &[(&str, &str)],
    needle: &str,
) {
    let mut call = up.engine.list(&up.account, resource);
    for (name, value) in filters {
        call = call.filter(*name, *value);
    }
    assert_input_error(call.await, needle);
    up.assert_nothing_sent().await;
}

// ---------------------------------------------------------------------------------------------
// Fields

/// A lead field created before May 2021: a legacy `lcf_` id, and none of the keys Close added
/// later (`is_shared`, `editable_with_roles`, `accepts_multiple_values`, ...).
fn legacy_field() -> Value {
    json!({
        "id": "lcf_0ldF1e1dXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "organization_id": ORGANIZATION,
        "name": "Région",
        "description": "",
        "type": "choices",
        "choices": ["Île-de-France", "Bretagne"],
        "date_created": "2019-04-02T08:00:00+00:00",
        "date_updated": "2019-04-02T08:00:00+00:00"
    })
}

#[tokio::test]
async fn fields_list_every_lead_field_type() {
    // Every seed lead field: choices (single and multiple), number, user (single and
    // multiple), date, datetime, contact, text, hidden, and one restricted to two roles.
    let mut records = seed_all("custom_field_lead");
    records.push(legacy_field());
    let up = upstream("GET", "/custom_field/lead/", 200, page(records, false)).await;
    let result = up
        .engine
        .list(&up.account, "crm/fields")
        .filter("entity", "account")
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(result.next_cursor, None);
    assert_valid("crm", "field", &result.result);
    assert_json_snapshot!(
        "fields_list_account",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn fields_list_asks_for_at_most_1000() {
    let up = upstream("GET", "/custom_field/contact/", 200, page(vec![], false)).await;
    up.engine
        .list(&up.account, "crm/fields")
        .filter("entity", "contact")
        .limit(5000)
        .await
        .unwrap();
    assert_eq!(up.sent().await["query"]["_limit"], "1000");
}

#[tokio::test]
async fn fields_refuse_a_missing_or_unknown_entity() {
    let up = silent().await;
    assert_list_refused(
        &up,
        "crm/fields",
        &[],
        "crm/fields needs the entity filter: account, contact or opportunity",
    )
    .await;
    assert_list_refused(
        &up,
        "crm/fields",
        &[("entity", "lead")],
        "entity must be account, contact or opportunity, not `lead`",
    )
    .await;
    let get = up.engine.get(&up.account, "crm/fields", CF_DEAL_TIER).await;
    assert_input_error(get, "crm/fields needs the entity filter");
    let delete = up
        .engine
        .delete(&up.account, "crm/fields", CF_DEAL_TIER)
        .filter("entity", "task")
        .await;
    assert_input_error(delete, "not `task`");
    up.assert_nothing_sent().await;
}

#[tokio::test]
async fn fields_get_reads_the_entity_endpoint() {
    let record = seed("custom_field_opportunity", CF_DEAL_TIER);
    let up = upstream(
        "GET",
        &format!("/custom_field/opportunity/{CF_DEAL_TIER}/"),
        200,
        record,
    )
    .await;
    let found = up
        .engine
        .get(&up.account, "crm/fields", CF_DEAL_TIER)
        .filter("entity", "opportunity")
        .await
        .unwrap();
    assert_valid("crm", "field", std::slice::from_ref(&found));
    assert_json_snapshot!(
        "fields_get_opportunity",
        json!({"request": up.sent().await, "response": found})
    );
}

#[tokio::test]
async fn fields_create_a_multiple_choice_field() {
    let answer = json!({
        "id": "cf_NewF1e1dXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "organization_id": ORGANIZATION,
        "name": "Buying Signals",
        "description": "From product analytics",
        "type": "choices",
        "choices": ["Trial started", "Seats added"],
        "accepts_multiple_values": true,
        "editable_with_roles": [],
        "is_shared": false,
        "referenced_custom_type_id": null,
        "back_reference_is_visible": false,
        "created_by": "user_q08FuA4HQFYcDY9soN0Jc16OyhdHjICoqtM2xbd6j48",
        "updated_by": "user_q08FuA4HQFYcDY9soN0Jc16OyhdHjICoqtM2xbd6j48",
        "date_created": "2026-03-09T10:00:00.000000+00:00",
        "date_updated": "2026-03-09T10:00:00.000000+00:00"
    });
    let up = upstream("POST", "/custom_field/contact/", 200, answer).await;
    let body = json!({
        "entity_type": "contact",
        "label": "Buying Signals",
        "description": "From product analytics",
        "type": "array",
        "options": [{"label": "Trial started", "value": "Trial started"}, {"label": "Seats added"}],
        // Read-only on the unified side: not sent.
        "name": "ignored",
        "is_required": true
    });
    let created = up
        .engine
        .create(&up.account, "crm/fields", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "field", std::slice::from_ref(&created));
    assert_json_snapshot!(
        "fields_create",
        json!({"request": up.sent().await, "response": created})
    );
}

#[tokio::test]
async fn fields_create_takes_the_entity_filter_and_a_close_type() {
    let up = upstream(
        "POST",
        "/custom_field/lead/",
        200,
        seed(
            "custom_field_lead",
            "cf_h50DFn25v89RArm1Vz21QkmQyjJUpYetKs3BGhLuwXJ",
        ),
    )
    .await;
    let body = json!({"label": "Lead Owner", "remote_type": "user"});
    up.engine
        .create(&up.account, "crm/fields", &body)
        .filter("entity", "account")
        .await
        .unwrap();
    assert_eq!(
        up.sent().await["body"],
        json!({"name": "Lead Owner", "type": "user"})
    );
}

#[tokio::test]
async fn fields_refuse_bodies_they_cannot_write() {
    let up = silent().await;
    let cases = [
        (json!({"label": "X", "type": "string"}), "needs its entity"),
        (
            json!({"entity_type": "lead", "label": "X", "type": "string"}),
            "not `lead`",
        ),
        (
            json!({"entity_type": "account", "type": "string"}),
            "label is required",
        ),
        (
            json!({"entity_type": "account", "label": "X"}),
            "type is required",
        ),
        (
            json!({"entity_type": "account", "label": "X", "type": "boolean"}),
            "Close has no custom-field type for `boolean`",
        ),
    ];
    for (body, needle) in cases {
        let result = up.engine.create(&up.account, "crm/fields", &body).await;
        assert_input_error(result, needle);
    }
    up.assert_nothing_sent().await;
}

#[tokio::test]
async fn fields_update_sends_only_what_changes() {
    let mut answer = seed(
        "custom_field_lead",
        "cf_7xEBhqkMtFNJkBmhaLx51tQONrhQScoO8nnW8MU00B7",
    );
    answer["accepts_multiple_values"] = json!(false);
    answer["name"] = json!("Main Product");
    let up = upstream(
        "PUT",
        "/custom_field/lead/cf_7xEBhqkMtFNJkBmhaLx51tQONrhQScoO8nnW8MU00B7/",
        200,
        answer,
    )
    .await;
    let updated = up
        .engine
        .update(
            &up.account,
            "crm/fields",
            "cf_7xEBhqkMtFNJkBmhaLx51tQONrhQScoO8nnW8MU00B7",
            &json!({"label": "Main Product", "type": "enum"}),
        )
        .filter("entity", "account")
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "field", std::slice::from_ref(&updated));
    assert_json_snapshot!(
        "fields_update",
        json!({"request": up.sent().await, "response": updated})
    );
}

#[tokio::test]
async fn fields_delete() {
    let up = upstream(
        "DELETE",
        &format!("/custom_field/lead/{CF_LEAD_SCORE}/"),
        200,
        json!({}),
    )
    .await;
    let deleted = up
        .engine
        .delete(&up.account, "crm/fields", CF_LEAD_SCORE)
        .filter("entity", "account")
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": CF_LEAD_SCORE}));
    assert_eq!(up.sent().await["method"], "DELETE");
}

#[tokio::test]
async fn fields_are_named_by_label_for_label_keyed_accounts() {
    // The lookup of lead fields and the list both read `/custom_field/lead/`.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/custom_field/lead/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(vec![seed("custom_field_lead", CF_LEAD_SCORE)], false)),
        )
        .mount(&server)
        .await;
    let mut up = connect(server);
    up.account = up
        .account
        .clone()
        .with_option("custom_field_keys", json!("label"));
    let result = up
        .engine
        .list(&up.account, "crm/fields")
        .filter("entity", "account")
        .await
        .unwrap();
    assert_eq!(result.result[0]["id"], CF_LEAD_SCORE);
    assert_eq!(result.result[0]["name"], "Lead Score");
    assert_eq!(result.result[0]["is_editable"], false);
}

// ---------------------------------------------------------------------------------------------
// Pipelines and stages

/// A pipeline without stages, in the shape Close's scripts have seen: no `created_by`, and
/// a status keyed `status_type` (as a secondary source names it).
fn bare_pipeline() -> Value {
    json!({
        "id": "pipe_EmptyP1pe1ineXXXXXXXX",
        "name": "Partnerships",
        "organization_id": ORGANIZATION,
        "date_created": "2026-01-05T09:00:00.000000",
        "date_updated": "2026-01-05T09:00:00.000000",
        "statuses": []
    })
}

fn odd_pipeline() -> Value {
    json!({
        "id": "pipe_OddP1pe1ineXXXXXXXXXX",
        "name": "Expansion",
        "organization_id": ORGANIZATION,
        "date_created": "2026-02-01T12:30:00.120000",
        "date_updated": "2026-02-03T08:00:00",
        "statuses": [
            {"id": "stat_OddS1XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "label": "Scoping", "status_type": "active"},
            {"id": "stat_OddS2XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "label": "Signed", "status_type": "won"}
        ]
    })
}

#[tokio::test]
async fn pipelines_list_their_stages_in_order() {
    let mut records = seed_all("pipeline");
    records.push(bare_pipeline());
    records.push(odd_pipeline());
    let up = upstream("GET", "/pipeline/", 200, page(records, false)).await;
    let result = up
        .engine
        .list(&up.account, "crm/pipelines")
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "pipeline", &result.result);
    assert_json_snapshot!(
        "pipelines_list",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn pipelines_get() {
    let record = seed("pipeline", RENEWALS_PIPELINE);
    let up = upstream(
        "GET",
        &format!("/pipeline/{RENEWALS_PIPELINE}/"),
        200,
        record,
    )
    .await;
    let found = up
        .engine
        .get(&up.account, "crm/pipelines", RENEWALS_PIPELINE)
        .await
        .unwrap();
    assert_valid("crm", "pipeline", std::slice::from_ref(&found));
    assert_json_snapshot!(
        "pipelines_get",
        json!({"request": up.sent().await, "response": found})
    );
}

#[tokio::test]
async fn pipelines_create_with_existing_stages() {
    let answer = json!({
        "id": "pipe_NewP1pe1ineXXXXXXXXXX",
        "name": "Enterprise",
        "organization_id": ORGANIZATION,
        "created_by": "user_q08FuA4HQFYcDY9soN0Jc16OyhdHjICoqtM2xbd6j48",
        "updated_by": "user_q08FuA4HQFYcDY9soN0Jc16OyhdHjICoqtM2xbd6j48",
        "date_created": "2026-03-09T10:00:00.000000",
        "date_updated": "2026-03-09T10:00:00.000000",
        "statuses": [{"id": STATUS_NEGOTIATION, "label": "Negotiation", "type": "active"}]
    });
    let up = upstream("POST", "/pipeline/", 201, answer).await;
    let body =
        json!({"name": "Enterprise", "stages": [{"id": STATUS_NEGOTIATION, "name": "ignored"}]});
    let created = up
        .engine
        .create(&up.account, "crm/pipelines", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "pipeline", std::slice::from_ref(&created));
    assert_json_snapshot!(
        "pipelines_create",
        json!({"request": up.sent().await, "response": created})
    );
}

#[tokio::test]
async fn pipelines_refuse_new_stages_and_a_missing_name() {
    let up = silent().await;
    let cases = [
        (json!({"stages": []}), "name is required"),
        (
            json!({"name": "Enterprise", "stages": [{"name": "Qualify"}]}),
            "create new stages with crm/stages",
        ),
    ];
    for (body, needle) in cases {
        assert_input_error(
            up.engine.create(&up.account, "crm/pipelines", &body).await,
            needle,
        );
    }
    up.assert_nothing_sent().await;
}

#[tokio::test]
async fn pipelines_update_renames_and_reorders_then_delete() {
    let mut answer = seed("pipeline", SALES_PIPELINE);
    answer["name"] = json!("New Business");
    let up = upstream("PUT", &format!("/pipeline/{SALES_PIPELINE}/"), 200, answer).await;
    let order =
        json!({"name": "New Business", "stages": [{"id": STATUS_WON}, {"id": STATUS_NEGOTIATION}]});
    let updated = up
        .engine
        .update(&up.account, "crm/pipelines", SALES_PIPELINE, &order)
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(updated["name"], "New Business");
    assert_eq!(
        up.sent().await["body"],
        json!({"name": "New Business", "statuses": [{"id": STATUS_WON}, {"id": STATUS_NEGOTIATION}]})
    );

    let up = upstream(
        "DELETE",
        &format!("/pipeline/{SALES_PIPELINE}/"),
        200,
        json!({}),
    )
    .await;
    let deleted = up
        .engine
        .delete(&up.account, "crm/pipelines", SALES_PIPELINE)
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": SALES_PIPELINE}));
}

#[tokio::test]
async fn stages_are_filtered_by_pipeline_and_outcome_after_close_answers() {
    let mut records = seed_all("status_opportunity");
    // A status keyed `status_type`, as a secondary source names the key.
    records.push(json!({
        "id": "stat_OddS2XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "organization_id": ORGANIZATION,
        "label": "Signed",
        "status_type": "won",
        "pipeline_id": SALES_PIPELINE
    }));
    let up = upstream("GET", "/status/opportunity/", 200, page(records, false)).await;
    let result = up
        .engine
        .list(&up.account, "crm/stages")
        .filter("pipeline_id", SALES_PIPELINE)
        .filter("outcome", "won")
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "stage", &result.result);
    assert_json_snapshot!(
        "stages_list_won_in_sales",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn stages_list_everything_without_filters_and_refuse_an_unknown_outcome() {
    let records = seed_all("status_opportunity");
    let up = upstream(
        "GET",
        "/status/opportunity/",
        200,
        page(records.clone(), false),
    )
    .await;
    let result = up.engine.list(&up.account, "crm/stages").await.unwrap();
    assert_eq!(result.result.len(), records.len());
    assert_valid("crm", "stage", &result.result);
    for (stage, raw) in result.result.iter().zip(&records) {
        assert_eq!(stage["remote_data"], *raw);
    }

    let up = silent().await;
    assert_list_refused(
        &up,
        "crm/stages",
        &[("outcome", "closed")],
        "outcome must be open, won or lost, not `closed`",
    )
    .await;
}

#[tokio::test]
async fn stages_get_create_update_delete() {
    let up = upstream(
        "GET",
        &format!("/status/opportunity/{STATUS_WON}/"),
        200,
        seed("status_opportunity", STATUS_WON),
    )
    .await;
    let found = up
        .engine
        .get(&up.account, "crm/stages", STATUS_WON)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "stage", std::slice::from_ref(&found));
    assert_json_snapshot!("stages_get", found);

    let answer = json!({
        "id": "stat_NewS1XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "organization_id": ORGANIZATION,
        "label": "Legal Review",
        "type": "active",
        "pipeline_id": SALES_PIPELINE
    });
    let up = upstream("POST", "/status/opportunity/", 200, answer).await;
    let created = up
        .engine
        .create(
            &up.account,
            "crm/stages",
            &json!({"name": "Legal Review", "pipeline": {"id": SALES_PIPELINE}, "position": 3}),
        )
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "stage", std::slice::from_ref(&created));
    assert_json_snapshot!(
        "stages_create",
        json!({"request": up.sent().await, "response": created})
    );

    let mut renamed = seed("status_opportunity", STATUS_WON);
    renamed["label"] = json!("Closed Won");
    let up = upstream(
        "PUT",
        &format!("/status/opportunity/{STATUS_WON}/"),
        200,
        renamed,
    )
    .await;
    let updated = up
        .engine
        .update(
            &up.account,
            "crm/stages",
            STATUS_WON,
            &json!({"name": "Closed Won"}),
        )
        .await
        .unwrap();
    assert_eq!(updated["name"], "Closed Won");
    assert_eq!(up.sent().await["body"], json!({"label": "Closed Won"}));

    let up = upstream(
        "DELETE",
        &format!("/status/opportunity/{STATUS_WON}/"),
        200,
        json!({}),
    )
    .await;
    let deleted = up
        .engine
        .delete(&up.account, "crm/stages", STATUS_WON)
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": STATUS_WON}));
}

#[tokio::test]
async fn stages_refuse_writes_close_cannot_make() {
    let up = silent().await;
    let creates = [
        (json!({"outcome": "won"}), "name is required"),
        (
            json!({"name": "Done", "outcome": "closed"}),
            "outcome must be open, won or lost",
        ),
    ];
    for (body, needle) in creates {
        assert_input_error(
            up.engine.create(&up.account, "crm/stages", &body).await,
            needle,
        );
    }
    let updates = [
        (
            json!({"name": "Won", "outcome": "lost"}),
            "does not change the outcome",
        ),
        (
            json!({"pipeline": {"id": RENEWALS_PIPELINE}}),
            "crm/pipelines",
        ),
        (json!({"position": 1}), "crm/pipelines"),
    ];
    for (body, needle) in updates {
        let result = up
            .engine
            .update(&up.account, "crm/stages", STATUS_WON, &body)
            .await;
        assert_input_error(result, needle);
    }
    up.assert_nothing_sent().await;
}

// ---------------------------------------------------------------------------------------------
// Associations

#[tokio::test]
async fn associations_move_a_contact_to_an_account() {
    let mut answer = seed("contact", PRIYA);
    answer["lead_id"] = json!(NORTHWIND);
    let up = upstream("PUT", &format!("/contact/{PRIYA}/"), 200, answer).await;
    let body = json!({"entity": "contact", "entity_id": PRIYA, "associations": {"accounts": [{"id": NORTHWIND}]}});
    let made = up
        .engine
        .create(&up.account, "crm/associations", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "association", std::slice::from_ref(&made));
    assert_json_snapshot!(
        "associations_contact_to_account",
        json!({"request": up.sent().await, "response": made})
    );
}

#[tokio::test]
async fn associations_link_an_opportunity_to_an_account_and_a_contact() {
    let id = "oppo_Eq4peVNBCH7ZXVBcfxV4Ykd57LpTiuCNF1sl2ghG5lI";
    let mut answer = seed("opportunity", id);
    answer["contact_id"] = json!(TOMASZ);
    let up = upstream("PUT", &format!("/opportunity/{id}/"), 200, answer).await;
    let body = json!({
        "entity": "opportunity",
        "entity_id": id,
        "associations": {"accounts": [{"id": ACME}], "contacts": [{"id": TOMASZ}]}
    });
    let made = up
        .engine
        .create(&up.account, "crm/associations", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "association", std::slice::from_ref(&made));
    assert_json_snapshot!(
        "associations_opportunity_to_account_and_contact",
        json!({"request": up.sent().await, "response": made})
    );
}

#[tokio::test]
async fn associations_of_notes_and_tasks_use_their_endpoints() {
    let note = "acti_7HBZdom7QrjqU3gLlb1ApemUUQxq9zyVUG3eCvSI9V6";
    let answer = seed("activity_note", note);
    let up = upstream("PUT", &format!("/activity/note/{note}/"), 200, answer).await;
    // Truto's misspelled `acocunts` is read as `accounts`.
    let body = json!({"entity": "note", "entity_id": note, "associations": {"acocunts": [{"id": ACME}], "contacts": [{"id": PRIYA}]}});
    let made = up
        .engine
        .create(&up.account, "crm/associations", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "association", std::slice::from_ref(&made));
    assert_eq!(made["entity"], "note");
    assert_eq!(
        up.sent().await["body"],
        json!({"lead_id": ACME, "contact_id": PRIYA})
    );

    let task = "noti_6KihpBarUpwpAWozK90HydJeyI4MLssYQXgkqlhjB3v";
    let answer = seed("task", task);
    let up = upstream("PUT", &format!("/task/{task}/"), 200, answer).await;
    let body =
        json!({"entity": "task", "entity_id": task, "associations": {"contacts": [{"id": PRIYA}]}});
    let made = up
        .engine
        .create(&up.account, "crm/associations", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("crm", "association", std::slice::from_ref(&made));
    assert_eq!(made["entity"], "task");
    assert_eq!(up.sent().await["body"], json!({"contact_id": PRIYA}));
}

#[tokio::test]
async fn associations_refuse_more_parents_than_close_allows() {
    let up = silent().await;
    let cases = [
        (
            json!({"entity_id": PRIYA, "associations": {"accounts": [{"id": ACME}]}}),
            "entity is required",
        ),
        (
            json!({"entity": "account", "entity_id": ACME, "associations": {"contacts": [{"id": PRIYA}]}}),
            "entity must be contact, opportunity, task or note, not `account`",
        ),
        (
            json!({"entity": "contact", "associations": {"accounts": [{"id": ACME}]}}),
            "entity_id is required",
        ),
        (
            json!({"entity": "contact", "entity_id": PRIYA}),
            "associations is required",
        ),
        (
            json!({"entity": "contact", "entity_id": PRIYA, "associations": {}}),
            "associations is required",
        ),
        (
            json!({"entity": "contact", "entity_id": PRIYA, "associations": {"accounts": [{"id": ACME}, {"id": NORTHWIND}]}}),
            "a Close contact belongs to exactly one account",
        ),
        (
            json!({"entity": "task", "entity_id": "task_x", "associations": {"accounts": []}}),
            "a Close task belongs to exactly one account",
        ),
        (
            json!({"entity": "note", "entity_id": "acti_x", "associations": {"accounts": [ACME]}}),
            "takes one {\"id\": ...}",
        ),
        (
            json!({"entity": "contact", "entity_id": PRIYA, "associations": {"contacts": [{"id": TOMASZ}]}}),
            "a contact belongs to an account, not to another contact",
        ),
        (
            json!({"entity": "opportunity", "entity_id": "oppo_x", "associations": {"contacts": [{"id": PRIYA}, {"id": TOMASZ}]}}),
            "a Close opportunity has at most one contact",
        ),
        (
            json!({"entity": "contact", "entity_id": PRIYA, "associations": {"opportunities": [{"id": "oppo_x"}]}}),
            "accounts and contacts only",
        ),
    ];
    for (body, needle) in cases {
        let result = up
            .engine
            .create(&up.account, "crm/associations", &body)
            .await;
        assert_input_error(result, needle);
    }
    up.assert_nothing_sent().await;
}

// ---------------------------------------------------------------------------------------------
// User directory

/// The organization as Close answers it with `_expand=memberships__user,...`, plus a member
/// in the older flattened shape (`user_*` keys) and one whose user was not expanded.
fn organization() -> Value {
    let users = seed_all("user");
    let user = |id: &str| users.iter().find(|u| u["id"] == id).cloned().unwrap();
    let member = |membership: &Value| {
        json!({
            "id": membership["id"],
            "organization_id": ORGANIZATION,
            "user_id": membership["user_id"],
            "role_id": membership["role_id"],
            "auto_record_calls": "unset",
            "track_email_opens": true,
            "user": user(membership["user_id"].as_str().unwrap())
        })
    };
    let memberships = seed_all("membership");
    let active: Vec<Value> = memberships
        .iter()
        .filter(|m| m["status"] == "active")
        .take(3)
        .map(member)
        .chain([
            json!({
                "id": "memb_F1atXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                "organization_id": ORGANIZATION,
                "user_id": "user_F1atXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                "user_email": "ines.ferreira@example.com",
                "user_first_name": "Inês",
                "user_last_name": "Ferreira",
                "user_full_name": "Inês Ferreira",
                "user_phone": "+351210000000",
                "role_id": "role_ggHIAUPr7gw46bOXdE6168hKCm4fbUHf7oHsVkeoTxP",
                "permissions_granted": ["calling"]
            }),
            json!({
                "id": "memb_NoUserXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                "organization_id": ORGANIZATION,
                "user_id": "user_NoUserXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                "role_id": "user",
                "user": null
            }),
        ])
        .collect();
    let inactive: Vec<Value> = memberships
        .iter()
        .filter(|m| m["status"] == "inactive")
        .map(member)
        .collect();
    json!({
        "id": ORGANIZATION,
        "name": "Northbeam Sales",
        "memberships": active,
        "inactive_memberships": inactive
    })
}

#[tokio::test]
async fn users_list_the_members_of_the_organization() {
    let up = upstream(
        "GET",
        &format!("/organization/{ORGANIZATION}/"),
        200,
        organization(),
    )
    .await;
    let result = up
        .engine
        .list(&up.account, "user-directory/users")
        .filter("organization_id", ORGANIZATION)
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(result.next_cursor, None);
    assert_valid("user-directory", "user", &result.result);
    assert_json_snapshot!(
        "users_list",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn users_take_the_organization_from_the_account_and_require_one() {
    let up = upstream(
        "GET",
        &format!("/organization/{ORGANIZATION}/"),
        200,
        organization(),
    )
    .await;
    let account = up
        .account
        .clone()
        .with_option("organization_id", json!(ORGANIZATION));
    let result = up
        .engine
        .list(&account, "user-directory/users")
        .await
        .unwrap();
    assert_eq!(result.result.len(), 5);
    assert!(result.result.iter().all(|user| user["status"] == "active"));

    let up = silent().await;
    assert_list_refused(
        &up,
        "user-directory/users",
        &[],
        "listing users needs the organization",
    )
    .await;
}

#[tokio::test]
async fn users_get_answers_the_user_without_membership() {
    let id = "user_OUktQSXVmy8DlMxzfVoZAWcA0IhILqXPg3o8UruhcPS";
    let up = upstream("GET", &format!("/user/{id}/"), 200, seed("user", id)).await;
    let found = up
        .engine
        .get(&up.account, "user-directory/users", id)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("user-directory", "user", std::slice::from_ref(&found));
    assert_json_snapshot!(
        "users_get",
        json!({"request": up.sent().await, "response": found})
    );
}

#[tokio::test]
async fn roles_list_built_in_and_custom_roles() {
    let up = upstream("GET", "/role/", 200, page(seed_all("role"), false)).await;
    let result = up
        .engine
        .list(&up.account, "user-directory/roles")
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("user-directory", "role", &result.result);
    assert_json_snapshot!(
        "roles_list",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn roles_get_and_refuse_writes() {
    let id = "role_ggHIAUPr7gw46bOXdE6168hKCm4fbUHf7oHsVkeoTxP";
    let up = upstream("GET", &format!("/role/{id}/"), 200, seed("role", id)).await;
    let found = up
        .engine
        .get(&up.account, "user-directory/roles", id)
        .await
        .unwrap();
    assert_valid("user-directory", "role", std::slice::from_ref(&found));
    assert_eq!(found["type"], "custom");
    assert_eq!(found["created_at"], "2025-11-20T13:44:09.118Z");

    let up = silent().await;
    let result = up
        .engine
        .create(&up.account, "user-directory/roles", &json!({"name": "x"}))
        .await;
    assert!(result.is_err());
    up.assert_nothing_sent().await;
}

// ---------------------------------------------------------------------------------------------
// Search

/// A lead as `/data/search/` answers it for the `_fields` the search mapping asks for.
fn lead_hit(id: &str) -> Value {
    let lead = seed("lead", id);
    let contacts: Vec<Value> = seed_all("contact")
        .into_iter()
        .filter(|contact| contact["lead_id"] == id)
        .collect();
    let mut hit = json!({"__object_type": "lead", "id": id});
    for field in [
        "display_name",
        "name",
        "description",
        "url",
        "html_url",
        "status_id",
        "status_label",
        "date_created",
        "date_updated",
    ] {
        hit[field] = lead.get(field).cloned().unwrap_or(Value::Null);
    }
    hit["html_url"] = json!(format!("https://app.close.com/lead/{id}/"));
    hit["contacts"] = Value::Array(contacts);
    hit
}

fn contact_hit(id: &str) -> Value {
    let contact = seed("contact", id);
    let mut hit = json!({"__object_type": "contact", "id": id});
    for field in [
        "display_name",
        "name",
        "title",
        "lead_id",
        "emails",
        "date_created",
        "date_updated",
    ] {
        hit[field] = contact.get(field).cloned().unwrap_or(Value::Null);
    }
    hit
}

#[tokio::test]
async fn search_finds_accounts_by_domain_and_keeps_only_exact_ones() {
    // Close matches the domain's words: besides Acme it answers a lead whose contact is on a
    // longer domain, and one whose website only mentions the words in its path. Bluebird's
    // website is on a subdomain (www.) of its domain.
    let mut lookalike = lead_hit("lead_v0Y3oRotTHIsY5Gej3Uxyz61cICHn4A9qFN3dJZS55I");
    lookalike["contacts"][0]["emails"] =
        json!([{"type": "office", "email": "someone@acme-robotics.example.com.evil.example"}]);
    let mut in_path = lead_hit("lead_KwIOkrs7vEwKepZ8tCxUFxEAThLK7aNwJRVGpVcP8hp");
    in_path["url"] = json!("https://example.com/acme-robotics");
    let up = upstream(
        "POST",
        "/data/search/",
        200,
        json!({"data": [lead_hit(ACME), lookalike, in_path], "cursor": "c1"}),
    )
    .await;
    let result = up
        .engine
        .list(&up.account, "search/search")
        .filter("domain", "ACME-robotics.example.com")
        .limit(3)
        .remote_data(false)
        .await
        .unwrap();
    assert!(result.next_cursor.is_some(), "Close's cursor goes on");
    assert_valid("search", "result", &result.result);
    assert_json_snapshot!(
        "search_accounts_by_domain",
        json!({"request": up.sent().await, "result": result.result})
    );

    let up = upstream(
        "POST",
        "/data/search/",
        200,
        json!({"data": [lead_hit(BLUEBIRD)], "cursor": null}),
    )
    .await;
    let result = up
        .engine
        .list(&up.account, "search/search")
        .filter("domain", "bluebird-dental.example.com")
        .await
        .unwrap();
    let ids: Vec<&Value> = result.result.iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [BLUEBIRD]);
}

#[tokio::test]
async fn search_finds_a_contact_by_exact_address_in_any_case() {
    let mut near = contact_hit(TOMASZ);
    near["emails"] =
        json!([{"type": "office", "email": "priya.raman@acme-robotics.example.com.au"}]);
    let up = upstream(
        "POST",
        "/data/search/",
        200,
        json!({"data": [near, contact_hit(PRIYA)], "cursor": null}),
    )
    .await;
    let result = up
        .engine
        .list(&up.account, "search/search")
        .filter("email", "Priya.Raman@ACME-robotics.example.com")
        .filter("type", "contact")
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(result.next_cursor, None);
    assert_valid("search", "result", &result.result);
    assert_json_snapshot!(
        "search_contact_by_email",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn search_by_words_pages_with_closes_cursor_in_the_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/data/search/"))
        .and(body_partial_json(json!({"cursor": "next-1"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [lead_hit(BLUEBIRD)], "cursor": null})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/data/search/"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [lead_hit(ACME)], "cursor": "next-1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let up = connect(server);
    use futures_util::StreamExt;
    let found: Vec<Value> = up
        .engine
        .list(&up.account, "search/search")
        .filter("search_term", "robotics dental")
        .limit(1)
        .stream()
        .map(|record| record.unwrap())
        .collect()
        .await;
    let ids: Vec<&Value> = found.iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [ACME, BLUEBIRD]);
    assert_valid("search", "result", &found);
    let sent = up.all_sent().await;
    assert_eq!(sent.len(), 2);
    assert!(sent[0]["body"].get("cursor").is_none(), "{}", sent[0]);
    assert_eq!(sent[1]["body"]["cursor"], "next-1");
    assert_eq!(sent[1]["body"]["_limit"], 1);
    assert_json_snapshot!("search_accounts_by_words_request", sent[0]["body"]);
}

#[tokio::test]
async fn search_refuses_what_close_cannot_search() {
    let up = silent().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "search needs search_term, email or domain"),
        (
            &[("type", "contact")],
            "search needs search_term, email or domain",
        ),
        (
            &[("search_term", "acme"), ("type", "opportunity")],
            "Close searches accounts and contacts only",
        ),
        (
            &[("search_term", "acme"), ("type", "lead")],
            "type must be account or contact",
        ),
        (&[("search_term", "  ")], "search_term is empty"),
        (&[("email", "acme.com")], "email must be one email address"),
        (
            &[("domain", "priya@acme.com")],
            "domain must be a bare domain",
        ),
        (
            &[("domain", "https://acme.com/")],
            "domain must be a bare domain",
        ),
        (&[("name", "Acme")], "`name`"),
    ];
    for (filters, needle) in cases {
        assert_list_refused(&up, "search/search", filters, needle).await;
    }
}
