//! Snapshots of every method of the Close opportunities, notes, tasks, users and engagements
//! mappings: a Close-shaped response in (seed records and hand-written awkward shapes), the
//! unified output and the request Crosswalk sent out. Every mapped record is also checked
//! against its unified schema, and every refused input is checked to send nothing upstream.

use crosswalk::{Error, ErrorKind};
use crosswalk_tests::{sandbox_seed_records, unified_schema_violations};
use insta::assert_json_snapshot;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ACME: &str = "lead_BAbceJMTbOROU3T8caMd5p9D87KUk0DE3ij1NrnstCQ";
const PRIYA: &str = "cont_8UVTK4WdizbYcaN25lmQcWQx05S3vD6K57FkLrpTefC";
const DANA: &str = "user_q08FuA4HQFYcDY9soN0Jc16OyhdHjICoqtM2xbd6j48";
const MARCO: &str = "user_hsIiHScrV0a7LLWfut2iV65JdcOJwLt9EXnzs1Vrxrn";
/// Opportunity status "Won" in the Sales pipeline.
const STATUS_WON: &str = "stat_KIjjsKBlSPdlOPvlQ7njZZtQlNKxdCdKI5GtMYfsyY5";
const SALES_PIPELINE: &str = "pipe_62ounCcmpa45xKpbh8tqlC";

// ---------------------------------------------------------------------------------------------
// Harness

use crosswalk_tests::{
    connect_close as connect, scripted_close as upstream, silent_close as silent,
    ScriptedClose as Upstream,
};

fn seed(collection: &str, id: &str) -> Value {
    crosswalk_tests::seed_record(collection, id)
}

fn page(records: Vec<Value>, has_more: bool) -> Value {
    crosswalk_tests::seed_page(records, has_more)
}

fn assert_valid(model: &str, records: &[Value]) {
    let violations = unified_schema_violations("crm", model, records);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// An input error whose message contains `needle`, with nothing sent upstream.
async fn assert_refused(up: &Upstream, result: Result<Value, Error>, needle: &str) {
    let error = result.expect_err("the input should be refused");
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
    assert!(error.message().contains(needle), "{}", error.message());
    up.assert_nothing_sent().await;
}

async fn list_error(up: &Upstream, resource: &str, filters: &[(&str, &str)]) -> Error {
    let mut call = up.engine.list(&up.account, resource);
    for (name, value) in filters {
        call = call.filter(*name, *value);
    }
    call.await.expect_err("the list should be refused")
}

// ---------------------------------------------------------------------------------------------
// Opportunities

/// An opportunity in the shape Close returned before pipelines and rich notes: no
/// `pipeline_*`, `note_html`, `contact_*`, `expected_value` or owner.
fn old_opportunity() -> Value {
    json!({
        "id": "oppo_0ldSh4peXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "lead_id": "lead_VVjjPbaK6z95NU2BQzgoGLdXw9r9RlfdWsicUDbFaKV",
        "lead_name": "Northwind Solar",
        "status_id": "stat_0ldSh4peXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "status_label": "Closed – gewonnen",
        "status_type": "won",
        "value": 1999,
        "value_currency": "EUR",
        "value_period": "monthly",
        "confidence": 100,
        "date_won": "2017-06-30",
        "date_lost": null,
        "note": "",
        "user_id": null,
        "user_name": null,
        "date_created": "2017-06-01T10:00:00+00:00",
        "date_updated": "2017-06-30T10:00:00+00:00"
    })
}

#[tokio::test]
async fn opportunities_list() {
    let records = vec![
        // Acme: contact, pipeline, date_won on an active deal, custom fields of four types.
        seed(
            "opportunity",
            "oppo_Eq4peVNBCH7ZXVBcfxV4Ykd57LpTiuCNF1sl2ghG5lI",
        ),
        // value 0: a free pilot; amount and expected amount stay 0.
        seed(
            "opportunity",
            "oppo_jUb66Wv2ScU2i04tWuYcXs7X7XNdVY4KQwJk5OtuyZL",
        ),
        // value null: amount and expected amount null; non-ASCII lead name.
        seed(
            "opportunity",
            "oppo_p6DJqKrZgLA3dMk4kqh6hb2a3x9W9h1MD0PG848fZNy",
        ),
        // lost with confidence 0 and a date_lost.
        seed(
            "opportunity",
            "oppo_jxiflregxyN9uIdlcQkYT5tVj5gZHHSIh1fnKg8XEqi",
        ),
        // non-round cents 4750050; multi-user and contact custom fields.
        seed(
            "opportunity",
            "oppo_McINrNSAQKGqvqCZqvB8ZMSXl9yfcagBhf9WnXdnmsY",
        ),
        // a hidden custom value that is an object; no contact.
        seed(
            "opportunity",
            "oppo_AqHHYb5mEPqTgEsJxoXNvWiaaN7f7Ln83fy8F4DDepx",
        ),
        old_opportunity(),
    ];
    let up = upstream("GET", "/opportunity/", 200, page(records, true)).await;
    let result = up
        .engine
        .list(&up.account, "crm/opportunities")
        .limit(7)
        .filter("account_id", ACME)
        .filter("status", "open")
        .filter("owner_id", DANA)
        .filter("created_at[gte]", "2026-01-01T00:00:00Z")
        .filter("close_date[lt]", "2026-12-31")
        .filter("sort_by[amount]", "DESC")
        .remote_data(false)
        .await
        .unwrap();
    assert!(
        result.next_cursor.is_some(),
        "has_more: true gives a cursor"
    );
    assert_valid("opportunity", &result.result);
    assert_json_snapshot!(
        "opportunities_list",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn opportunities_list_asks_for_at_most_250() {
    let up = upstream("GET", "/opportunity/", 200, page(vec![], false)).await;
    up.engine
        .list(&up.account, "crm/opportunities")
        .limit(10_000)
        .await
        .unwrap();
    assert_eq!(up.sent().await["query"]["_limit"], "250");
}

#[tokio::test]
async fn opportunities_filters_map_to_close_parameters() {
    let cases: &[(&str, &str, Value)] = &[
        ("stage_id", STATUS_WON, json!({"status_id": STATUS_WON})),
        ("status", "won", json!({"status_type": "won"})),
        ("status", "lost", json!({"status_type": "lost"})),
        ("amount_period", "annual", json!({"value_period": "annual"})),
        (
            "updated_at[gt]",
            "2026-03-01",
            json!({"date_updated__gt": "2026-03-01"}),
        ),
        (
            "updated_at[lte]",
            "2026-03-01",
            json!({"date_updated__lte": "2026-03-01"}),
        ),
        (
            "created_at[lt]",
            "2026-03-01",
            json!({"date_created__lt": "2026-03-01"}),
        ),
        (
            "close_date[gte]",
            "2026-01-01",
            json!({"date_won__gte": "2026-01-01"}),
        ),
        (
            "sort_by[created_at]",
            "asc",
            json!({"_order_by": "date_created"}),
        ),
        (
            "sort_by[updated_at]",
            "desc",
            json!({"_order_by": "-date_updated"}),
        ),
        (
            "sort_by[close_date]",
            "desc",
            json!({"_order_by": "-date_won"}),
        ),
        (
            "sort_by[probability]",
            "asc",
            json!({"_order_by": "confidence"}),
        ),
    ];
    for (name, value, expected) in cases {
        let up = upstream("GET", "/opportunity/", 200, page(vec![], false)).await;
        up.engine
            .list(&up.account, "crm/opportunities")
            .filter(*name, *value)
            .await
            .unwrap();
        let mut query = up.sent().await["query"].clone();
        let query = query.as_object_mut().unwrap();
        query.remove("_skip");
        query.remove("_limit");
        assert_eq!(
            &Value::Object(query.clone()),
            expected,
            "filter {name}={value}"
        );
    }
}

#[tokio::test]
async fn opportunities_refuse_bad_filters() {
    let up = silent().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("status", "closed")], "status must be open, won or lost"),
        (&[("amount_period", "weekly")], "amount_period must be"),
        (
            &[("sort_by[amount]", "up")],
            "sort_by[amount] must be asc or desc",
        ),
        (
            &[("sort_by[amount]", "asc"), ("sort_by[created_at]", "desc")],
            "by one field",
        ),
    ];
    for (filters, needle) in cases {
        let error = list_error(&up, "crm/opportunities", filters).await;
        assert_eq!(error.kind(), ErrorKind::Input, "{filters:?}: {error}");
        assert!(error.message().contains(needle), "{filters:?}: {error}");
    }
    // Close's `/opportunity/` has no pipeline or contact filter: refused with the list.
    let error = list_error(&up, "crm/opportunities", &[("pipeline_id", SALES_PIPELINE)]).await;
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("`pipeline_id`"), "{error}");
    let supported = error.details()["supported"].as_array().unwrap().clone();
    for name in [
        "account_id",
        "owner_id",
        "stage_id",
        "status",
        "sort_by[amount]",
    ] {
        assert!(supported.contains(&json!(name)), "{name} in {supported:?}");
    }
    up.assert_nothing_sent().await;
}

#[tokio::test]
async fn opportunities_get() {
    let record = seed(
        "opportunity",
        "oppo_McINrNSAQKGqvqCZqvB8ZMSXl9yfcagBhf9WnXdnmsY",
    );
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("GET", &format!("/opportunity/{id}/"), 200, record).await;
    let found = up
        .engine
        .get(&up.account, "crm/opportunities", &id)
        .await
        .unwrap();
    assert_valid("opportunity", std::slice::from_ref(&found));
    assert_json_snapshot!(
        "opportunities_get",
        json!({"request": up.sent().await, "response": found})
    );
}

#[tokio::test]
async fn opportunities_create() {
    let answer = seed(
        "opportunity",
        "oppo_Eq4peVNBCH7ZXVBcfxV4Ykd57LpTiuCNF1sl2ghG5lI",
    );
    let up = upstream("POST", "/opportunity/", 200, answer).await;
    let body = json!({
        "name": "Ignored when a description is given",
        "description": "Zwölf Steuerungen – Pilot",
        "description_html": "<body><p>Zwölf Steuerungen – <b>Pilot</b></p></body>",
        "amount": 1234.56,
        "currency": "USD",
        "amount_period": "one_time",
        "probability": 0,
        "owner": {"id": MARCO, "name": "Marco Ibarra"},
        "account": {"id": ACME},
        "contact": [{"id": PRIYA}],
        "stage": {"id": STATUS_WON, "name": "Won"},
        "status": "won",
        "pipeline": {"id": SALES_PIPELINE},
        "close_date": "2026-04-30T17:00:00-05:00",
        "custom_fields": {
            "cf_ZJmH707OVia7P267RiqkhHQeS7FLONYn3HGlGo0BdLL": "Enterprise",
            "cf_hJ4kBlmCAN3XN5suBKiRS2ERGEalErUZIkcEtmBa4o6": 0,
            "cf_Kru1Cfx8icSFLPbqYKqoneGXPhEndqaj3IWilwkrOmB": [DANA, MARCO]
        },
        // Read-only fields a client may echo back are not sent.
        "id": "oppo_ignored",
        "expected_amount": 1,
        "created_at": "2026-01-01T00:00:00Z"
    });
    let created = up
        .engine
        .create(&up.account, "crm/opportunities", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "opportunities_create",
        json!({"request": up.sent().await, "response": created})
    );
}

#[tokio::test]
async fn opportunities_create_uses_the_name_as_note_without_a_description() {
    let answer = seed(
        "opportunity",
        "oppo_Eq4peVNBCH7ZXVBcfxV4Ykd57LpTiuCNF1sl2ghG5lI",
    );
    let up = upstream("POST", "/opportunity/", 200, answer).await;
    let body = json!({"name": "Rooftop pilot", "account": {"id": ACME}});
    up.engine
        .create(&up.account, "crm/opportunities", &body)
        .await
        .unwrap();
    assert_eq!(
        up.sent().await["body"],
        json!({"lead_id": ACME, "note": "Rooftop pilot"})
    );
}

/// Units to cents without float drift: each amount is created once and the `value` sent is
/// snapshotted next to it.
#[tokio::test]
async fn opportunities_amounts_become_whole_cents() {
    let server = MockServer::start().await;
    let answer = seed(
        "opportunity",
        "oppo_jUb66Wv2ScU2i04tWuYcXs7X7XNdVY4KQwJk5OtuyZL",
    );
    Mock::given(method("POST"))
        .and(path("/api/v1/opportunity/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let up = connect(server);
    let amounts = [
        json!(1234.56),
        json!(0.29),
        json!(19.99),
        json!(0),
        json!(0.0),
        json!(100),
        json!(0.1 + 0.2),
        json!(-19.99),
        json!(1e7),
        json!(4.35),
        json!(1.005),
        json!(0.125),
        json!(-0.125),
        json!(0.01),
        json!(123456789.12),
        json!("12.34"),
        Value::Null,
    ];
    for amount in &amounts {
        up.engine
            .create(&up.account, "crm/opportunities", &json!({"amount": amount}))
            .await
            .unwrap();
    }
    let sent: Vec<Value> = up
        .all_sent()
        .await
        .into_iter()
        .zip(&amounts)
        .map(|(request, amount)| json!({"amount": amount, "value": request["body"]["value"]}))
        .collect();
    // The four the issue names, checked here as well as in the snapshot.
    assert_eq!(sent[0]["value"], json!(123456));
    assert_eq!(sent[1]["value"], json!(29));
    assert_eq!(sent[2]["value"], json!(1999));
    assert_eq!(sent[3]["value"], json!(0));
    assert_json_snapshot!("opportunities_amounts_to_cents", sent);
}

#[tokio::test]
async fn opportunities_update_sends_only_given_fields() {
    let record = seed(
        "opportunity",
        "oppo_jUb66Wv2ScU2i04tWuYcXs7X7XNdVY4KQwJk5OtuyZL",
    );
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("PUT", &format!("/opportunity/{id}/"), 200, record).await;
    // A `name` on update never overwrites the note; `[]` clears the contact; null clears the
    // value; a probability of 0 is a value.
    let body = json!({
        "name": "Pinecrest Software",
        "amount": null,
        "probability": 0,
        "contact": [],
        "custom_fields": {"cf_ZJmH707OVia7P267RiqkhHQeS7FLONYn3HGlGo0BdLL": null}
    });
    let updated = up
        .engine
        .update(&up.account, "crm/opportunities", &id, &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "opportunities_update",
        json!({"request": up.sent().await, "response": updated})
    );
}

#[tokio::test]
async fn opportunities_refuse_bodies_they_cannot_write() {
    let up = silent().await;
    let id = "oppo_jUb66Wv2ScU2i04tWuYcXs7X7XNdVY4KQwJk5OtuyZL";
    let resource = "crm/opportunities";
    let cases = [
        (json!({"status": "won"}), "through its stage"),
        (
            json!({"status": "closed"}),
            "status must be open, won or lost",
        ),
        (
            json!({"status": "pending", "stage": {"id": STATUS_WON}}),
            "status must be open, won or lost",
        ),
        (json!({"amount_period": "weekly"}), "amount_period must be"),
        (
            json!({"contact": [{"id": PRIYA}, {"id": "cont_other"}]}),
            "at most one",
        ),
        (json!({"contact": {"id": PRIYA}}), "at most one"),
        (json!({"amount": "lots"}), ""),
    ];
    for (body, needle) in cases {
        let result = up.engine.update(&up.account, resource, id, &body).await;
        assert_refused(&up, result, needle).await;
        let result = up.engine.create(&up.account, resource, &body).await;
        assert_refused(&up, result, needle).await;
    }
}

#[tokio::test]
async fn opportunities_delete() {
    let id = "oppo_jUb66Wv2ScU2i04tWuYcXs7X7XNdVY4KQwJk5OtuyZL";
    let up = upstream("DELETE", &format!("/opportunity/{id}/"), 200, json!({})).await;
    let deleted = up
        .engine
        .delete(&up.account, "crm/opportunities", id)
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": id}));
    assert_eq!(
        up.sent().await["path"],
        format!("/api/v1/opportunity/{id}/")
    );
}

// ---------------------------------------------------------------------------------------------
// Tasks

/// A 2018-shaped dateless task: `date` and `due_date` null, no `contact_*`, `is_complete` null.
fn dateless_task() -> Value {
    json!({
        "id": "task_2018XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "_type": "lead",
        "lead_id": ACME,
        "lead_name": "Acme Robotics",
        "assigned_to": DANA,
        "assigned_to_name": "Dana Whitfield",
        "text": "Réviser le devis — sans date",
        "date": null,
        "due_date": null,
        "is_dateless": true,
        "is_complete": null,
        "view": "inbox",
        "date_created": "2018-05-02T09:00:00+00:00",
        "date_updated": "2018-05-02T09:00:00+00:00"
    })
}

#[tokio::test]
async fn tasks_list_covers_every_task_type() {
    let records = vec![
        // lead task, date-only due date, complete.
        seed("task", "task_0gH9VpMwf2FMOrcCDupczlBBz5fLow8QXdXSsemFL9z"),
        // a date-time due date and a contact.
        seed("task", "task_atEMaxCFa3pyONEfJJBXpf0YrVgDdSP9v1yDGMegB2y"),
        // inbox tasks of other types, `noti_` ids, extra keys per type.
        seed("task", "noti_6KihpBarUpwpAWozK90HydJeyI4MLssYQXgkqlhjB3v"),
        seed("task", "noti_QFDP3P3nyT5yZ5HvcYrHRws9edH4oEjb6GYzQWxlQvU"),
        seed("task", "noti_AnaxBbKpujYnxbHpqF7ZvoaCudGJ1NpAknovLuot37U"),
        // non-ASCII text, on a lead without contacts.
        seed("task", "task_JKSGBlG7Tb8u3ovMYEpU4rGrL0HBphWENKNjYF4KSIa"),
        seed("task", "task_Zt2zLQEkXp73aiI68tDQZxSxqeVd1TzKDZ7CnChdrFW"),
        dateless_task(),
    ];
    let up = upstream("GET", "/task/", 200, page(records, false)).await;
    let result = up
        .engine
        .list(&up.account, "crm/tasks")
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(result.next_cursor, None);
    assert_valid("task", &result.result);
    let sent = up.sent().await;
    assert_eq!(
        sent["query"]["_type"], "all",
        "Close defaults to lead tasks only"
    );
    assert_json_snapshot!(
        "tasks_list",
        json!({"request": sent, "result": result.result})
    );
}

#[tokio::test]
async fn tasks_filters_map_to_close_parameters() {
    let cases: &[(&[(&str, &str)], Value)] = &[
        (
            &[("type", "email_followup")],
            json!({"_type": "email_followup"}),
        ),
        (
            &[("account_id", ACME)],
            json!({"_type": "all", "lead_id": ACME}),
        ),
        (
            &[("owner_id", DANA)],
            json!({"_type": "all", "assigned_to": DANA}),
        ),
        (
            &[("status", "open")],
            json!({"_type": "all", "is_complete": "false"}),
        ),
        (
            &[("status", "completed")],
            json!({"_type": "all", "is_complete": "true"}),
        ),
        (
            &[
                ("due_date[gte]", "2026-03-01"),
                ("due_date[lt]", "2026-04-01"),
            ],
            json!({"_type": "all", "date__gte": "2026-03-01", "date__lt": "2026-04-01"}),
        ),
        (
            &[
                ("created_at[gt]", "2026-01-01"),
                ("updated_at[lte]", "2026-02-01"),
            ],
            json!({"_type": "all", "date_created__gt": "2026-01-01", "date_updated__lte": "2026-02-01"}),
        ),
        (
            &[("sort_by[due_date]", "desc"), ("type", "lead")],
            json!({"_type": "lead", "_order_by": "-date"}),
        ),
        (
            &[("sort_by[created_at]", "asc")],
            json!({"_type": "all", "_order_by": "date_created"}),
        ),
    ];
    for (filters, expected) in cases {
        let up = upstream("GET", "/task/", 200, page(vec![], false)).await;
        let mut call = up.engine.list(&up.account, "crm/tasks");
        for (name, value) in *filters {
            call = call.filter(*name, *value);
        }
        call.await.unwrap();
        let mut query = up.sent().await["query"].clone();
        let query = query.as_object_mut().unwrap();
        query.remove("_skip");
        assert_eq!(query.remove("_limit"), Some(json!("100")));
        assert_eq!(
            &Value::Object(query.clone()),
            expected,
            "filters {filters:?}"
        );
    }
}

#[tokio::test]
async fn tasks_refuse_unsupported_and_bad_filters() {
    let up = silent().await;
    // Close's `/task/` has no contact filter.
    let error = list_error(&up, "crm/tasks", &[("contact_id", PRIYA)]).await;
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("`contact_id`"), "{error}");
    assert!(error.details()["supported"]
        .as_array()
        .unwrap()
        .contains(&json!("type")));
    let error = list_error(&up, "crm/tasks", &[("status", "done")]).await;
    assert!(error.message().contains("open or completed"), "{error}");
    let error = list_error(&up, "crm/tasks", &[("sort_by[due_date]", "newest")]).await;
    assert!(error.message().contains("asc or desc"), "{error}");
    up.assert_nothing_sent().await;
}

#[tokio::test]
async fn tasks_get() {
    let record = seed("task", "noti_6KihpBarUpwpAWozK90HydJeyI4MLssYQXgkqlhjB3v");
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("GET", &format!("/task/{id}/"), 200, record).await;
    let found = up.engine.get(&up.account, "crm/tasks", &id).await.unwrap();
    assert_valid("task", std::slice::from_ref(&found));
    assert_json_snapshot!(
        "tasks_get",
        json!({"request": up.sent().await, "response": found})
    );
}

#[tokio::test]
async fn tasks_create() {
    let answer = seed("task", "task_0gH9VpMwf2FMOrcCDupczlBBz5fLow8QXdXSsemFL9z");
    let up = upstream("POST", "/task/", 200, answer).await;
    let body = json!({
        "subject": "Rückruf: Angebot für 12 Steuerungen",
        "content": "Not sent: subject wins",
        "type": {"id": "outgoing_call"},
        "owner": {"id": MARCO},
        "account": {"id": ACME},
        "contact": [{"id": PRIYA, "name": "Priya Raman"}],
        "due_date": "2026-03-09",
        "status": "open"
    });
    let created = up
        .engine
        .create(&up.account, "crm/tasks", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "tasks_create",
        json!({"request": up.sent().await, "response": created})
    );
}

#[tokio::test]
async fn tasks_create_takes_content_when_there_is_no_subject() {
    let answer = seed("task", "task_0gH9VpMwf2FMOrcCDupczlBBz5fLow8QXdXSsemFL9z");
    let up = upstream("POST", "/task/", 200, answer).await;
    let body = json!({"content": "Send the quote", "account": {"id": ACME}});
    up.engine
        .create(&up.account, "crm/tasks", &body)
        .await
        .unwrap();
    assert_eq!(
        up.sent().await["body"],
        json!({"lead_id": ACME, "text": "Send the quote"})
    );
}

#[tokio::test]
async fn tasks_update() {
    let record = seed("task", "task_atEMaxCFa3pyONEfJJBXpf0YrVgDdSP9v1yDGMegB2y");
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("PUT", &format!("/task/{id}/"), 200, record).await;
    // The type is fixed once a task exists: it is not sent on update.
    let body = json!({
        "status": "completed",
        "due_date": "2026-03-05T15:00:00+00:00",
        "type": {"id": "lead"},
        "contact": null
    });
    let updated = up
        .engine
        .update(&up.account, "crm/tasks", &id, &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "tasks_update",
        json!({"request": up.sent().await, "response": updated})
    );
}

#[tokio::test]
async fn tasks_refuse_bodies_they_cannot_write() {
    let up = silent().await;
    let result = up
        .engine
        .create(
            &up.account,
            "crm/tasks",
            &json!({"type": {"id": "email_followup"}, "subject": "x"}),
        )
        .await;
    assert_refused(&up, result, "only lead and outgoing_call").await;
    let result = up
        .engine
        .update(
            &up.account,
            "crm/tasks",
            "task_x",
            &json!({"status": "done"}),
        )
        .await;
    assert_refused(&up, result, "open or completed").await;
    let result = up
        .engine
        .update(
            &up.account,
            "crm/tasks",
            "task_x",
            &json!({"contact": [{"id": "a"}, {"id": "b"}]}),
        )
        .await;
    assert_refused(&up, result, "at most one").await;
}

#[tokio::test]
async fn tasks_delete() {
    let id = "noti_6KihpBarUpwpAWozK90HydJeyI4MLssYQXgkqlhjB3v";
    let up = upstream("DELETE", &format!("/task/{id}/"), 200, json!({})).await;
    let deleted = up
        .engine
        .delete(&up.account, "crm/tasks", id)
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": id}));
    assert_eq!(up.sent().await["path"], format!("/api/v1/task/{id}/"));
}

// ---------------------------------------------------------------------------------------------
// Notes

/// A 2021-shaped note: only `note` and `note_html`, no `title`, `pinned*` or `user_name`.
fn old_note() -> Value {
    json!({
        "id": "acti_2021XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "_type": "Note",
        "lead_id": ACME,
        "contact_id": null,
        "user_id": DANA,
        "date_created": "2021-07-13T11:39:05.012000+00:00",
        "date_updated": "2021-07-13T11:39:05.012000+00:00",
        "activity_at": "2021-07-13T11:39:05.012000+00:00",
        "note": "test",
        "note_html": "<body><p>test</p></body>"
    })
}

#[tokio::test]
async fn notes_list() {
    let records = vec![
        // pinned, rich text with markup, a contact.
        seed(
            "activity_note",
            "acti_BPeSJDzCQ7v6i42Ev9ifdF4YBSj6niAYczS6MEAUIWc",
        ),
        // title, note and note_html all "".
        seed(
            "activity_note",
            "acti_88GkKOAXKw6pvL9oA0qPHCWrKYMiwSx4KJz4Xu5HxTd",
        ),
        // list markup in note_html.
        seed(
            "activity_note",
            "acti_7HBZdom7QrjqU3gLlb1ApemUUQxq9zyVUG3eCvSI9V6",
        ),
        // an emoji in the title.
        seed(
            "activity_note",
            "acti_TQ8jto1OpsUFEYpMnEH2KIIoX1D9FcaOjHSF2vnoOjn",
        ),
        // imported: created_by null, user_id set.
        seed(
            "activity_note",
            "acti_Xt3GJHLMCTRyVQj1opbI1goSGYNdiFILzgEhA5r0E2W",
        ),
        // Japanese text.
        seed(
            "activity_note",
            "acti_3udxaf8Hboy1GRNv9c3y2ZYAM1KCLOqSNMmpT3ztqN5",
        ),
        old_note(),
    ];
    let up = upstream("GET", "/activity/note/", 200, page(records, false)).await;
    let result = up
        .engine
        .list(&up.account, "crm/notes")
        .filter("account_id", ACME)
        .filter("contact_id", PRIYA)
        .filter("owner_id", DANA)
        .filter("created_at[gte]", "2026-01-01")
        .filter("created_at[lt]", "2026-04-01T00:00:00Z")
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("note", &result.result);
    assert_json_snapshot!(
        "notes_list",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn notes_refuse_an_unsupported_filter() {
    let up = silent().await;
    // `/activity/note/` has no date_updated filter.
    let error = list_error(&up, "crm/notes", &[("updated_at[gte]", "2026-01-01")]).await;
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("`updated_at[gte]`"), "{error}");
    assert_eq!(
        error.details()["supported"],
        json!([
            "account_id",
            "contact_id",
            "owner_id",
            "created_at[gt]",
            "created_at[gte]",
            "created_at[lt]",
            "created_at[lte]"
        ])
    );
    up.assert_nothing_sent().await;
}

#[tokio::test]
async fn notes_get() {
    let record = seed(
        "activity_note",
        "acti_BPeSJDzCQ7v6i42Ev9ifdF4YBSj6niAYczS6MEAUIWc",
    );
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("GET", &format!("/activity/note/{id}/"), 200, record).await;
    let found = up.engine.get(&up.account, "crm/notes", &id).await.unwrap();
    assert_valid("note", std::slice::from_ref(&found));
    assert_json_snapshot!(
        "notes_get",
        json!({"request": up.sent().await, "response": found})
    );
}

#[tokio::test]
async fn notes_create() {
    let answer = seed(
        "activity_note",
        "acti_3udxaf8Hboy1GRNv9c3y2ZYAM1KCLOqSNMmpT3ztqN5",
    );
    let up = upstream("POST", "/activity/note/", 200, answer).await;
    let body = json!({
        "title": "打ち合わせメモ",
        "content": "Plain text\nsecond line",
        "content_html": "<body><p>Plain <b>text</b></p></body>",
        "account": {"id": ACME},
        "contact": [{"id": PRIYA}],
        "owner": {"id": DANA},
        "pinned_at": "2026-01-01T00:00:00Z"
    });
    let created = up
        .engine
        .create(&up.account, "crm/notes", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "notes_create",
        json!({"request": up.sent().await, "response": created})
    );
}

#[tokio::test]
async fn notes_update_sends_only_given_fields() {
    let record = seed(
        "activity_note",
        "acti_88GkKOAXKw6pvL9oA0qPHCWrKYMiwSx4KJz4Xu5HxTd",
    );
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("PUT", &format!("/activity/note/{id}/"), 200, record).await;
    let body = json!({"content": "", "title": null});
    up.engine
        .update(&up.account, "crm/notes", &id, &body)
        .await
        .unwrap();
    let sent = up.sent().await;
    assert_eq!(sent["method"], "PUT");
    assert_eq!(sent["path"], format!("/api/v1/activity/note/{id}/"));
    assert_eq!(sent["body"], json!({"note": "", "title": null}));
}

#[tokio::test]
async fn notes_delete() {
    let id = "acti_88GkKOAXKw6pvL9oA0qPHCWrKYMiwSx4KJz4Xu5HxTd";
    let up = upstream("DELETE", &format!("/activity/note/{id}/"), 200, json!({})).await;
    let deleted = up
        .engine
        .delete(&up.account, "crm/notes", id)
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": id}));
    assert_eq!(up.sent().await["method"], "DELETE");
}

// ---------------------------------------------------------------------------------------------
// Users

#[tokio::test]
async fn users_list() {
    let mut records = sandbox_seed_records("close", "user");
    records.truncate(2);
    // Awkward users: an empty last name and no avatar; no names at all; non-ASCII.
    records.push(json!({
        "id": "user_OnlyFirstXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "email": "cher@example.com",
        "first_name": "Cher",
        "last_name": "",
        "image": null,
        "organizations": [],
        "date_created": "2024-01-02T03:04:05.006000+00:00",
        "date_updated": "2024-01-02T03:04:05.006000+00:00"
    }));
    records.push(json!({
        "id": "user_NoNamesXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "email": "ops@example.com",
        "first_name": null,
        "last_name": null,
        "date_created": "2024-01-02T03:04:05+00:00",
        "date_updated": "2024-01-02T03:04:05+00:00"
    }));
    records.push(json!({
        "id": "user_SoeXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "email": "soren.orsted@example.com",
        "first_name": "Søren",
        "last_name": "Ørsted Å",
        "image": "https://secure.gravatar.com/avatar/00000000000000000000000000000000",
        "date_created": "2025-02-03T04:05:06.700000+00:00",
        "date_updated": "2025-02-03T04:05:06.700000+00:00"
    }));
    let up = upstream("GET", "/user/", 200, page(records, false)).await;
    let result = up
        .engine
        .list(&up.account, "crm/users")
        .limit(5000)
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("user", &result.result);
    assert_json_snapshot!(
        "users_list",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn users_get() {
    let record = seed("user", MARCO);
    let up = upstream("GET", &format!("/user/{MARCO}/"), 200, record).await;
    let found = up
        .engine
        .get(&up.account, "crm/users", MARCO)
        .await
        .unwrap();
    assert_valid("user", std::slice::from_ref(&found));
    assert_json_snapshot!(
        "users_get",
        json!({"request": up.sent().await, "response": found})
    );
}

#[tokio::test]
async fn users_are_read_only_and_take_no_filters() {
    let up = silent().await;
    let error = list_error(&up, "crm/users", &[("email", "dana@example.com")]).await;
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(error.details()["supported"], json!([]));
    let error = up
        .engine
        .create(&up.account, "crm/users", &json!({"name": "New"}))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(
        error.message().contains("does not support `create`"),
        "{error}"
    );
    up.assert_nothing_sent().await;
}

// ---------------------------------------------------------------------------------------------
// Engagements

fn engagement_page() -> Vec<Value> {
    vec![
        // call: outbound, answered, recorded.
        seed(
            "activity_call",
            "acti_aXa5GgoqFofRtwiDyoUv4zPS3bMspxf3tTtFLRczTJr",
        ),
        // call: inbound voicemail, user null, note null, duration 0.
        seed(
            "activity_call",
            "acti_X9vAr4PzDksbELhLwfeQivvjJymtyDKZJH4JW2x4iin",
        ),
        // call: inbound, missed.
        seed(
            "activity_call",
            "acti_ApeY4Zlr2JVN3ioMcGJ393oxFy4uW6zuwS8ht2IXDRx",
        ),
        // call: logged outside Close (source External, no local phone).
        seed(
            "activity_call",
            "acti_N41uUErgRv3XHZ8Jf9rKVSmdvITFou2t1asqLbMqEdj",
        ),
        // email: outgoing, sent, cc.
        seed(
            "activity_email",
            "acti_m1rSfLG05UMYvyTTddH2ycEXGn3j4aLRKQqdFBbN1nq",
        ),
        // email: incoming reply.
        seed(
            "activity_email",
            "acti_tRPmd3ikXU4SMrlvlmG0XZMroMVZqi3ylOUE1k3aaH6",
        ),
        // email: draft, never sent (date_sent null).
        seed(
            "activity_email",
            "acti_5ADeYjxIlWTf6AlZFdOUhjfjYZ7ZcieMZSVLMM4R7wX",
        ),
        // meeting: completed, contacts among the attendees, a user note.
        seed(
            "activity_meeting",
            "acti_ilsZnDcFshqXIR0CzY18kIQ8CKL9EchKOAc2DZylBCv",
        ),
        // meeting: canceled, empty note.
        seed(
            "activity_meeting",
            "acti_SrdFzJUnbEDOwjXDEKjJ0cPd5Y0wjKLQPaSmmZ3BrhC",
        ),
        // meeting: entered by hand, an attendee who is not a contact.
        seed(
            "activity_meeting",
            "acti_lo6BBHgH3Q6DycTZTtAgq85YHHoFqACgbeYLrf2bZwX",
        ),
    ]
}

#[tokio::test]
async fn engagements_list_by_account() {
    let up = upstream("GET", "/activity/", 200, page(engagement_page(), false)).await;
    let result = up
        .engine
        .list(&up.account, "crm/engagements")
        .filter("account_id", ACME)
        .filter("owner_id", DANA)
        .filter("contact_id", PRIYA)
        .filter("created_at[gte]", "2026-01-01")
        .remote_data(false)
        .await
        .unwrap();
    assert_valid("engagement", &result.result);
    assert_json_snapshot!(
        "engagements_list_by_account",
        json!({"request": up.sent().await, "result": result.result})
    );
}

#[tokio::test]
async fn engagements_list_by_type_uses_the_type_endpoint() {
    for (kind, collection, path_part) in [
        ("call", "activity_call", "call"),
        ("email", "activity_email", "email"),
        ("meeting", "activity_meeting", "meeting"),
    ] {
        let records: Vec<Value> = sandbox_seed_records("close", collection)
            .into_iter()
            .take(3)
            .collect();
        let up = upstream(
            "GET",
            &format!("/activity/{path_part}/"),
            200,
            page(records, true),
        )
        .await;
        let result = up
            .engine
            .list(&up.account, "crm/engagements")
            .filter("engagement_type", kind)
            .filter("owner_id", DANA)
            .limit(3)
            .await
            .unwrap();
        assert!(result.next_cursor.is_some());
        assert_valid("engagement", &result.result);
        assert!(result.result.iter().all(|r| r["engagement_type"] == kind));
        assert_eq!(
            up.sent().await,
            json!({
                "method": "GET",
                "path": format!("/api/v1/activity/{path_part}/"),
                "query": {"_limit": "3", "_skip": "0", "user_id": DANA},
                "body": null
            }),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn engagements_list_needs_a_type_or_an_account() {
    let up = silent().await;
    let error = list_error(&up, "crm/engagements", &[]).await;
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("engagement_type"), "{error}");
    assert!(error.message().contains("account_id"), "{error}");
    let error = list_error(&up, "crm/engagements", &[("owner_id", DANA)]).await;
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
    let error = list_error(&up, "crm/engagements", &[("engagement_type", "sms")]).await;
    assert!(
        error.message().contains("call, email or meeting"),
        "{error}"
    );
    let error = list_error(&up, "crm/engagements", &[("engagement_type", "note")]).await;
    assert!(
        error.message().contains("call, email or meeting"),
        "{error}"
    );
    // Activities have no date_updated filter in Close.
    let error = list_error(
        &up,
        "crm/engagements",
        &[("account_id", ACME), ("updated_at[gte]", "2026-01-01")],
    )
    .await;
    assert!(error.message().contains("`updated_at[gte]`"), "{error}");
    up.assert_nothing_sent().await;
}

#[tokio::test]
async fn engagements_get_finds_any_type_by_id() {
    let record = seed(
        "activity_meeting",
        "acti_ilsZnDcFshqXIR0CzY18kIQ8CKL9EchKOAc2DZylBCv",
    );
    let id = record["id"].as_str().unwrap().to_owned();
    let up = upstream("GET", "/activity/", 200, page(vec![record], false)).await;
    let found = up
        .engine
        .get(&up.account, "crm/engagements", &id)
        .await
        .unwrap();
    assert_valid("engagement", std::slice::from_ref(&found));
    assert_json_snapshot!(
        "engagements_get",
        json!({"request": up.sent().await, "response": found})
    );
}

#[tokio::test]
async fn engagements_get_of_an_unknown_id_is_not_found() {
    let up = upstream("GET", "/activity/", 200, page(vec![], false)).await;
    let error = up
        .engine
        .get(&up.account, "crm/engagements", "acti_missing")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert_eq!(up.sent().await["query"], json!({"id__in": "acti_missing"}));
}

/// `GET /activity/?id__in=` answers an activity of any type. A note is not an engagement: the
/// mapping fails loudly rather than passing it off as one with a null type.
#[tokio::test]
async fn engagements_get_of_a_note_is_refused_not_passed_off() {
    let note = seed(
        "activity_note",
        "acti_BPeSJDzCQ7v6i42Ev9ifdF4YBSj6niAYczS6MEAUIWc",
    );
    let up = upstream("GET", "/activity/", 200, page(vec![note], false)).await;
    let error = up
        .engine
        .get(
            &up.account,
            "crm/engagements",
            "acti_BPeSJDzCQ7v6i42Ev9ifdF4YBSj6niAYczS6MEAUIWc",
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Mapping, "{error}");
}

#[tokio::test]
async fn engagements_create_a_call() {
    let answer = seed(
        "activity_call",
        "acti_N41uUErgRv3XHZ8Jf9rKVSmdvITFou2t1asqLbMqEdj",
    );
    let up = upstream("POST", "/activity/call/", 200, answer).await;
    let body = json!({
        "engagement_type": "call",
        "account": {"id": ACME},
        "contact": [{"id": PRIYA}],
        "owner": {"id": MARCO},
        "direction": "outbound",
        "status": "completed",
        "duration": "75",
        "start_time": "2026-03-06T10:00:00Z",
        "content": "Logged from my mobile",
        "content_html": "<body><p>Logged from my <b>mobile</b></p></body>",
        "phone_numbers": [{"number": "+16175550146", "type": "remote"}],
        "recording_url": "https://recordings.example.com/1.mp3",
        // Fields a call does not have are not sent.
        "subject": "not a call field",
        "end_time": "2026-03-06T10:01:15Z",
        "disposition": "answered"
    });
    let created = up
        .engine
        .create(&up.account, "crm/engagements", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "engagements_create_call",
        json!({"request": up.sent().await, "response": created})
    );
}

#[tokio::test]
async fn engagements_create_an_email() {
    let answer = seed(
        "activity_email",
        "acti_5ADeYjxIlWTf6AlZFdOUhjfjYZ7ZcieMZSVLMM4R7wX",
    );
    let up = upstream("POST", "/activity/email/", 200, answer).await;
    let body = json!({
        "engagement_type": "email",
        "account": {"id": ACME},
        "direction": "outbound",
        "status": "draft",
        "subject": "Angebot – 12 Steuerungen",
        "content": "Hallo Priya,",
        "content_html": "<div>Hallo Priya,</div>",
        "duration": "30"
    });
    let created = up
        .engine
        .create(&up.account, "crm/engagements", &body)
        .remote_data(false)
        .await
        .unwrap();
    assert_json_snapshot!(
        "engagements_create_email",
        json!({"request": up.sent().await, "response": created})
    );
}

#[tokio::test]
async fn engagements_refuse_bodies_they_cannot_write() {
    let up = silent().await;
    let resource = "crm/engagements";
    let create_cases = [
        (
            json!({"account": {"id": ACME}}),
            "engagement_type is required",
        ),
        (
            json!({"engagement_type": "meeting", "account": {"id": ACME}}),
            "calendar sync",
        ),
        (json!({"engagement_type": "sms"}), "must be call or email"),
        (
            json!({"engagement_type": "call", "direction": "incoming"}),
            "inbound or outbound",
        ),
        (
            json!({"engagement_type": "email", "contact": [{"id": "a"}, {"id": "b"}]}),
            "at most one",
        ),
    ];
    for (body, needle) in create_cases {
        let result = up.engine.create(&up.account, resource, &body).await;
        assert_refused(&up, result, needle).await;
    }
    let update_cases = [
        (json!({"content": "x"}), "needs its engagement_type"),
        (json!({"engagement_type": "note"}), "call, email or meeting"),
    ];
    for (body, needle) in update_cases {
        let result = up
            .engine
            .update(&up.account, resource, "acti_x", &body)
            .await;
        assert_refused(&up, result, needle).await;
    }
}

#[tokio::test]
async fn engagements_update_each_type_at_its_endpoint() {
    let cases = [
        (
            "activity_call",
            "acti_N41uUErgRv3XHZ8Jf9rKVSmdvITFou2t1asqLbMqEdj",
            "call",
            json!({"engagement_type": "call", "content": "Corrected note", "duration": 80,
                   "direction": "inbound", "owner": null}),
        ),
        (
            "activity_email",
            "acti_5ADeYjxIlWTf6AlZFdOUhjfjYZ7ZcieMZSVLMM4R7wX",
            "email",
            json!({"engagement_type": "email", "subject": "Neu: Angebot", "direction": "inbound",
                   "contact": []}),
        ),
        (
            "activity_meeting",
            "acti_ilsZnDcFshqXIR0CzY18kIQ8CKL9EchKOAc2DZylBCv",
            "meeting",
            // Only the user's note can change on a meeting; the rest is not sent.
            json!({"engagement_type": "meeting", "content_html": "<body><p>Follow-up sent</p></body>",
                   "subject": "Renamed", "content": "agenda", "direction": "outbound",
                   "status": "canceled"}),
        ),
    ];
    let mut sent = Vec::new();
    for (collection, id, kind, body) in cases {
        let answer = seed(collection, id);
        let up = upstream("PUT", &format!("/activity/{kind}/{id}/"), 200, answer).await;
        let updated = up
            .engine
            .update(&up.account, "crm/engagements", id, &body)
            .await
            .unwrap();
        assert_eq!(updated["engagement_type"], kind);
        sent.push(up.sent().await);
    }
    assert_json_snapshot!("engagements_update", sent);
}
