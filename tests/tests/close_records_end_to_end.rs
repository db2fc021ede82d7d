//! End to end for opportunities, tasks, notes, users and engagements: the real engine, over
//! HTTP, against the Close sandbox. Each test starts its own sandbox on 127.0.0.1. Filters are
//! checked against the seed files, writes by reading them back, and every listed record
//! against its unified JSON Schema.

use crosswalk::{Account, Engine, ErrorKind};
use crosswalk_tests::{
    id_of, ids, list_all, sandbox_seed_records, start_sandbox, unified_schema_violations,
};
use serde_json::{json, Value};

const ACME: &str = "lead_BAbceJMTbOROU3T8caMd5p9D87KUk0DE3ij1NrnstCQ";
const NORTHWIND: &str = "lead_VVjjPbaK6z95NU2BQzgoGLdXw9r9RlfdWsicUDbFaKV";
/// Keystone Fleet Rentals and Müller & Söhne: leads whose engagements have several owners or
/// contacts.
const KEYSTONE: &str = "lead_CpJqFVlkUbVNrZ41kzngQVxdDCghFTztCC3EbaIFw0p";
const MULLER: &str = "lead_gdg1xEwUY3CSDC9xfWXw0JtUBecGyUPW2cE6Ps6f6KX";
const PRIYA: &str = "cont_8UVTK4WdizbYcaN25lmQcWQx05S3vD6K57FkLrpTefC";
const DANA: &str = "user_q08FuA4HQFYcDY9soN0Jc16OyhdHjICoqtM2xbd6j48";
const MARCO: &str = "user_hsIiHScrV0a7LLWfut2iV65JdcOJwLt9EXnzs1Vrxrn";
/// Opportunity statuses of the Sales pipeline.
const STATUS_DISCOVERY: &str = "stat_U2ojGChkmeGn1Umk1pRG02DEzKOwsV16EYOgwTKgUut";
const STATUS_WON: &str = "stat_KIjjsKBlSPdlOPvlQ7njZZtQlNKxdCdKI5GtMYfsyY5";
const SALES_PIPELINE: &str = "pipe_62ounCcmpa45xKpbh8tqlC";
/// Opportunity custom field "Deal Tier" (choices).
const CF_DEAL_TIER: &str = "cf_ZJmH707OVia7P267RiqkhHQeS7FLONYn3HGlGo0BdLL";

// ---------------------------------------------------------------------------------------------
// Helpers

/// Filters given to a list, and the seed ids it must answer, in order.
type FilterCase = (Vec<(&'static str, &'static str)>, Vec<String>);

fn seed(collection: &str) -> Vec<Value> {
    sandbox_seed_records("close", collection)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Seed ids of a collection whose record passes `keep`, in seed order.
fn seed_ids_where(collection: &str, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    seed(collection)
        .iter()
        .filter(|r| keep(r))
        .map(id_of)
        .collect()
}

fn assert_valid(model: &str, records: &[Value]) {
    let violations = unified_schema_violations("crm", model, records);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// A seed timestamp (`2026-02-12T10:15:00.120000+00:00`) compared with a date bound, by text:
/// every seed timestamp is UTC with the same layout, so text order is time order.
fn text(record: &Value, key: &str) -> String {
    record[key].as_str().unwrap_or_default().to_owned()
}

async fn assert_not_found(engine: &Engine, account: &Account, resource: &str, id: &str) {
    let error = engine
        .get(account, resource, id)
        .await
        .expect_err("the record should be gone");
    assert_eq!(
        error.kind(),
        ErrorKind::NotFound,
        "{resource} {id}: {error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Opportunities

#[tokio::test]
async fn every_seed_opportunity_is_listed_once_and_validates() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records = list_all(&engine, &account, "crm/opportunities", &[], 7).await;
    assert_eq!(ids(&records), seed_ids_where("opportunity", |_| true));
    assert_eq!(records.len(), 32);
    assert_valid("opportunity", &records);
    // Amounts are the seed's cents in units; zero stays zero, null stays null.
    for (record, raw) in records.iter().zip(seed("opportunity")) {
        match raw["value"].as_i64() {
            Some(cents) => assert_eq!(
                record["amount"].as_f64().unwrap(),
                cents as f64 / 100.0,
                "{}",
                record["id"]
            ),
            None => assert!(record["amount"].is_null(), "{}", record["id"]),
        }
        assert_eq!(record["probability"], raw["confidence"]);
        assert_eq!(
            record["remote_data"], raw,
            "remote_data is the untouched record"
        );
    }
}

#[tokio::test]
async fn opportunity_filters_return_the_seed_records_they_name() {
    let (_running, engine, account) = start_sandbox("close").await;
    let status_type = |wanted: &'static str| move |r: &Value| r["status_type"] == wanted;
    let cases: Vec<FilterCase> = vec![
        (
            vec![("account_id", ACME)],
            seed_ids_where("opportunity", |r| r["lead_id"] == ACME),
        ),
        (
            vec![("owner_id", MARCO)],
            seed_ids_where("opportunity", |r| r["user_id"] == MARCO),
        ),
        (
            vec![("stage_id", STATUS_DISCOVERY)],
            seed_ids_where("opportunity", |r| r["status_id"] == STATUS_DISCOVERY),
        ),
        (
            vec![("status", "open")],
            seed_ids_where("opportunity", status_type("active")),
        ),
        (
            vec![("status", "won")],
            seed_ids_where("opportunity", status_type("won")),
        ),
        (
            vec![("status", "lost")],
            seed_ids_where("opportunity", status_type("lost")),
        ),
        (
            vec![("status", "open"), ("owner_id", DANA)],
            seed_ids_where("opportunity", |r| {
                r["status_type"] == "active" && r["user_id"] == DANA
            }),
        ),
        (
            vec![("amount_period", "monthly")],
            seed_ids_where("opportunity", |r| r["value_period"] == "monthly"),
        ),
        (
            vec![("created_at[gte]", "2026-01-01")],
            seed_ids_where("opportunity", |r| {
                text(r, "date_created").as_str() >= "2026-01-01"
            }),
        ),
        (
            vec![("created_at[lt]", "2026-01-01")],
            seed_ids_where("opportunity", |r| {
                text(r, "date_created").as_str() < "2026-01-01"
            }),
        ),
        (
            vec![("updated_at[gt]", "2026-06-01T00:00:00Z")],
            seed_ids_where("opportunity", |r| {
                text(r, "date_updated").as_str() >= "2026-06-01"
            }),
        ),
        (
            vec![
                ("close_date[gte]", "2026-01-01"),
                ("close_date[lte]", "2026-06-30"),
            ],
            seed_ids_where("opportunity", |r| {
                let won = text(r, "date_won");
                !won.is_empty() && won.as_str() >= "2026-01-01" && won.as_str() <= "2026-06-30"
            }),
        ),
    ];
    assert_eq!(cases[3].1.len(), 20, "the seed has 20 active opportunities");
    assert_eq!(cases[4].1.len(), 8, "and 8 won");
    assert_eq!(cases[5].1.len(), 4, "and 4 lost");
    for (filters, expected) in cases {
        assert!(
            !expected.is_empty(),
            "{filters:?} selects nothing in the seed"
        );
        let records = list_all(&engine, &account, "crm/opportunities", &filters, 5).await;
        assert_eq!(ids(&records), expected, "{filters:?}");
    }
}

#[tokio::test]
async fn opportunities_sort_by_amount_and_close_date() {
    let (_running, engine, account) = start_sandbox("close").await;
    let all = sorted(seed_ids_where("opportunity", |_| true));

    let by_amount = list_all(
        &engine,
        &account,
        "crm/opportunities",
        &[("sort_by[amount]", "desc")],
        10,
    )
    .await;
    assert_eq!(sorted(ids(&by_amount)), all);
    let amounts: Vec<f64> = by_amount
        .iter()
        .filter_map(|r| r["amount"].as_f64())
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");
    assert_eq!(
        amounts[0], 72000.0,
        "the largest seed value is 7,200,000 cents"
    );

    let by_close = list_all(
        &engine,
        &account,
        "crm/opportunities",
        &[("sort_by[close_date]", "asc")],
        10,
    )
    .await;
    let dates: Vec<&str> = by_close
        .iter()
        .filter_map(|r| r["close_date"].as_str())
        .collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");

    let by_probability = list_all(
        &engine,
        &account,
        "crm/opportunities",
        &[("sort_by[probability]", "asc"), ("status", "lost")],
        10,
    )
    .await;
    let probabilities: Vec<i64> = by_probability
        .iter()
        .map(|r| r["probability"].as_i64().unwrap())
        .collect();
    assert!(
        probabilities.windows(2).all(|w| w[0] <= w[1]),
        "{probabilities:?}"
    );
    assert_eq!(
        probabilities[0], 0,
        "a lost deal at 0 % is still listed first"
    );
}

#[tokio::test]
async fn an_opportunity_round_trips_create_get_update_get_delete() {
    let (_running, engine, account) = start_sandbox("close").await;
    let resource = "crm/opportunities";
    let body = json!({
        "description": "Zwölf Steuerungen – Pilot für Halle 3",
        "amount": 1234.56,
        "amount_period": "monthly",
        "probability": 0,
        "owner": {"id": MARCO},
        "account": {"id": ACME},
        "contact": [{"id": PRIYA}],
        "stage": {"id": STATUS_DISCOVERY},
        "custom_fields": {CF_DEAL_TIER: "SMB"}
    });
    let created = engine.create(&account, resource, &body).await.unwrap();
    let id = id_of(&created);
    assert!(id.starts_with("oppo_"), "{id}");
    assert_eq!(created["amount"], json!(1234.56));
    assert_eq!(
        created["remote_data"]["value"],
        json!(123456),
        "stored in cents"
    );
    assert_eq!(created["probability"], json!(0));
    assert_eq!(created["amount_period"], "monthly");
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["description"], body["description"]);
    assert_eq!(
        created["owner"],
        json!({"id": MARCO, "name": "Marco Ibarra"})
    );
    assert_eq!(
        created["account"],
        json!({"id": ACME, "name": "Acme Robotics"})
    );
    assert_eq!(created["contact"], json!([{"id": PRIYA}]));
    assert_eq!(
        created["stage"],
        json!({"id": STATUS_DISCOVERY, "name": "Discovery"})
    );
    assert_eq!(
        created["pipeline"],
        json!({"id": SALES_PIPELINE, "name": "Sales"})
    );
    assert_eq!(created["status"], "open");
    assert_eq!(created["close_date"], Value::Null);
    assert_eq!(created["custom_fields"], json!({CF_DEAL_TIER: "SMB"}));
    assert_valid("opportunity", std::slice::from_ref(&created));

    let fetched = engine.get(&account, resource, &id).await.unwrap();
    assert_eq!(fetched, created);

    // Winning goes through the stage; Close then sets date_won to today.
    let change = json!({
        "stage": {"id": STATUS_WON},
        "status": "won",
        "amount": 0.29,
        "contact": [],
        "custom_fields": {CF_DEAL_TIER: null}
    });
    let updated = engine
        .update(&account, resource, &id, &change)
        .await
        .unwrap();
    assert_eq!(updated["status"], "won");
    assert_eq!(updated["stage"], json!({"id": STATUS_WON, "name": "Won"}));
    assert_eq!(updated["amount"], json!(0.29));
    assert_eq!(updated["remote_data"]["value"], json!(29));
    assert_eq!(updated["contact"], json!([]));
    assert_eq!(updated["custom_fields"], json!({}));
    assert_eq!(updated["probability"], json!(0), "untouched");
    assert_eq!(updated["description"], body["description"], "untouched");
    let close_date = updated["close_date"]
        .as_str()
        .expect("a won deal has a close date");
    assert_eq!(close_date.len(), 10, "a date: {close_date}");
    assert_valid("opportunity", std::slice::from_ref(&updated));

    let fetched = engine.get(&account, resource, &id).await.unwrap();
    assert_eq!(fetched, updated);

    let deleted = engine.delete(&account, resource, &id).await.unwrap();
    assert_eq!(deleted, json!({"id": id}));
    assert_not_found(&engine, &account, resource, &id).await;
}

#[tokio::test]
async fn an_opportunity_amount_of_zero_is_stored_as_zero_cents() {
    let (_running, engine, account) = start_sandbox("close").await;
    let body = json!({"account": {"id": NORTHWIND}, "amount": 0, "probability": 0});
    let created = engine
        .create(&account, "crm/opportunities", &body)
        .await
        .unwrap();
    assert_eq!(created["amount"], json!(0));
    assert_eq!(created["expected_amount"], json!(0));
    assert_eq!(created["remote_data"]["value"], json!(0));
}

#[tokio::test]
async fn an_opportunity_refuses_an_unsupported_filter_and_a_status_without_stage() {
    let (_running, engine, account) = start_sandbox("close").await;
    let error = engine
        .list(&account, "crm/opportunities")
        .filter("pipeline_id", SALES_PIPELINE)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("`pipeline_id`"), "{error}");
    let error = engine
        .update(
            &account,
            "crm/opportunities",
            "oppo_Eq4peVNBCH7ZXVBcfxV4Ykd57LpTiuCNF1sl2ghG5lI",
            &json!({"status": "lost"}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("stage"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Tasks

#[tokio::test]
async fn every_seed_task_of_every_type_is_listed_and_validates() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records = list_all(&engine, &account, "crm/tasks", &[], 10).await;
    assert_eq!(ids(&records), seed_ids_where("task", |_| true));
    assert_eq!(records.len(), 29, "19 lead tasks and 10 inbox tasks");
    assert!(records.iter().any(|r| id_of(r).starts_with("noti_")));
    assert_valid("task", &records);
}

#[tokio::test]
async fn task_filters_return_the_seed_records_they_name() {
    let (_running, engine, account) = start_sandbox("close").await;
    let due = |r: &Value| r["date"].as_str().map(|d| d[..10].to_owned());
    let cases: Vec<FilterCase> = vec![
        (
            vec![("type", "lead")],
            seed_ids_where("task", |r| r["_type"] == "lead"),
        ),
        (
            vec![("type", "email_followup")],
            seed_ids_where("task", |r| r["_type"] == "email_followup"),
        ),
        (
            vec![("account_id", ACME)],
            seed_ids_where("task", |r| r["lead_id"] == ACME),
        ),
        (
            vec![("owner_id", DANA)],
            seed_ids_where("task", |r| r["assigned_to"] == DANA),
        ),
        (
            vec![("status", "open")],
            seed_ids_where("task", |r| r["is_complete"] == false),
        ),
        (
            vec![("status", "completed"), ("owner_id", MARCO)],
            seed_ids_where("task", |r| {
                r["is_complete"] == true && r["assigned_to"] == MARCO
            }),
        ),
        (
            vec![("due_date[lt]", "2026-01-01")],
            seed_ids_where("task", |r| {
                due(r).is_some_and(|d| d.as_str() < "2026-01-01")
            }),
        ),
        (
            vec![("due_date[gte]", "2026-12-01"), ("type", "lead")],
            seed_ids_where("task", |r| {
                r["_type"] == "lead" && due(r).is_some_and(|d| d.as_str() >= "2026-12-01")
            }),
        ),
        (
            vec![("created_at[gte]", "2026-06-01")],
            seed_ids_where("task", |r| text(r, "date_created").as_str() >= "2026-06-01"),
        ),
        (
            vec![("updated_at[lt]", "2026-01-01")],
            seed_ids_where("task", |r| text(r, "date_updated").as_str() < "2026-01-01"),
        ),
    ];
    assert_eq!(cases[0].1.len(), 19);
    assert_eq!(cases[1].1.len(), 3);
    for (filters, expected) in cases {
        assert!(
            !expected.is_empty(),
            "{filters:?} selects nothing in the seed"
        );
        let records = list_all(&engine, &account, "crm/tasks", &filters, 4).await;
        assert_eq!(ids(&records), expected, "{filters:?}");
    }
}

#[tokio::test]
async fn tasks_sort_by_due_date() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records = list_all(
        &engine,
        &account,
        "crm/tasks",
        &[("sort_by[due_date]", "desc")],
        10,
    )
    .await;
    assert_eq!(records.len(), 29);
    let days: Vec<String> = records
        .iter()
        .filter_map(|r| r["due_date"].as_str().map(|d| d[..10].to_owned()))
        .collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]), "{days:?}");
}

#[tokio::test]
async fn a_task_round_trips_create_get_update_get_delete() {
    let (_running, engine, account) = start_sandbox("close").await;
    let resource = "crm/tasks";
    let body = json!({
        "subject": "Rückruf bei Priya – Angebot",
        "type": {"id": "outgoing_call"},
        "owner": {"id": MARCO},
        "account": {"id": ACME},
        "contact": [{"id": PRIYA}],
        "due_date": "2026-12-24",
        "status": "open"
    });
    let created = engine.create(&account, resource, &body).await.unwrap();
    let id = id_of(&created);
    assert_eq!(created["subject"], body["subject"]);
    assert_eq!(
        created["type"],
        json!({"id": "outgoing_call", "name": "outgoing_call"})
    );
    assert_eq!(
        created["owner"],
        json!({"id": MARCO, "name": "Marco Ibarra"})
    );
    assert_eq!(
        created["account"],
        json!({"id": ACME, "name": "Acme Robotics"})
    );
    assert_eq!(
        created["contact"],
        json!([{"id": PRIYA, "name": "Priya Raman"}])
    );
    assert_eq!(created["due_date"], "2026-12-24");
    assert_eq!(created["status"], "open");
    assert_valid("task", std::slice::from_ref(&created));
    assert_eq!(engine.get(&account, resource, &id).await.unwrap(), created);

    // Found by the list: an outgoing_call task is not a lead task, and still listed.
    let listed = list_all(&engine, &account, resource, &[("account_id", ACME)], 100).await;
    assert!(ids(&listed).contains(&id));

    let change = json!({
        "status": "completed",
        "subject": "Rückruf erledigt",
        "due_date": "2026-12-24T15:00:00+00:00",
        "contact": []
    });
    let updated = engine
        .update(&account, resource, &id, &change)
        .await
        .unwrap();
    assert_eq!(updated["status"], "completed");
    assert_eq!(updated["subject"], "Rückruf erledigt");
    assert_eq!(updated["due_date"], "2026-12-24T15:00:00Z");
    assert_eq!(updated["contact"], json!([]));
    assert_eq!(updated["owner"], created["owner"], "untouched");
    assert_valid("task", std::slice::from_ref(&updated));
    assert_eq!(engine.get(&account, resource, &id).await.unwrap(), updated);

    assert_eq!(
        engine.delete(&account, resource, &id).await.unwrap(),
        json!({"id": id})
    );
    assert_not_found(&engine, &account, resource, &id).await;
}

// ---------------------------------------------------------------------------------------------
// Notes

#[tokio::test]
async fn every_seed_note_is_listed_and_validates() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records = list_all(&engine, &account, "crm/notes", &[], 5).await;
    assert_eq!(ids(&records), seed_ids_where("activity_note", |_| true));
    assert_eq!(records.len(), 22);
    assert_valid("note", &records);
}

#[tokio::test]
async fn note_filters_return_the_seed_records_they_name() {
    let (_running, engine, account) = start_sandbox("close").await;
    let cases: Vec<FilterCase> = vec![
        (
            vec![("account_id", ACME)],
            seed_ids_where("activity_note", |r| r["lead_id"] == ACME),
        ),
        (
            vec![("contact_id", PRIYA)],
            seed_ids_where("activity_note", |r| r["contact_id"] == PRIYA),
        ),
        (
            vec![("owner_id", DANA)],
            seed_ids_where("activity_note", |r| r["user_id"] == DANA),
        ),
        (
            vec![("created_at[gte]", "2026-01-01"), ("owner_id", DANA)],
            seed_ids_where("activity_note", |r| {
                r["user_id"] == DANA && text(r, "date_created").as_str() >= "2026-01-01"
            }),
        ),
        (
            vec![("created_at[lte]", "2025-12-31")],
            seed_ids_where("activity_note", |r| {
                text(r, "date_created").as_str() < "2025-12-31"
            }),
        ),
    ];
    for (filters, expected) in cases {
        assert!(
            !expected.is_empty(),
            "{filters:?} selects nothing in the seed"
        );
        let records = list_all(&engine, &account, "crm/notes", &filters, 3).await;
        assert_eq!(ids(&records), expected, "{filters:?}");
    }
}

#[tokio::test]
async fn a_note_round_trips_create_get_update_get_delete() {
    let (_running, engine, account) = start_sandbox("close").await;
    let resource = "crm/notes";
    let body = json!({
        "title": "Besuch in Łódź 🎉",
        "content": "Werk besichtigt.\nNächster Schritt: Angebot.",
        "account": {"id": ACME},
        "contact": [{"id": PRIYA}]
    });
    let created = engine.create(&account, resource, &body).await.unwrap();
    let id = id_of(&created);
    assert!(id.starts_with("acti_"), "{id}");
    assert_eq!(created["title"], body["title"]);
    assert_eq!(created["content"], body["content"]);
    assert_eq!(created["account"], json!({"id": ACME}));
    assert_eq!(created["contact"], json!([{"id": PRIYA}]));
    assert_eq!(created["owner"]["id"], DANA, "the API key's user writes it");
    assert_valid("note", std::slice::from_ref(&created));
    assert_eq!(engine.get(&account, resource, &id).await.unwrap(), created);

    let change =
        json!({"content_html": "<body><p>Angebot <b>verschickt</b></p></body>", "title": null});
    let updated = engine
        .update(&account, resource, &id, &change)
        .await
        .unwrap();
    assert_eq!(updated["content_html"], change["content_html"]);
    assert_eq!(
        updated["title"],
        Value::Null,
        "an explicit null clears the title"
    );
    assert_eq!(
        updated["content"], body["content"],
        "untouched by the sandbox"
    );
    assert_valid("note", std::slice::from_ref(&updated));
    assert_eq!(engine.get(&account, resource, &id).await.unwrap(), updated);

    assert_eq!(
        engine.delete(&account, resource, &id).await.unwrap(),
        json!({"id": id})
    );
    assert_not_found(&engine, &account, resource, &id).await;
}

// ---------------------------------------------------------------------------------------------
// Users

#[tokio::test]
async fn every_seed_user_is_listed_named_and_fetchable() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records = list_all(&engine, &account, "crm/users", &[], 4).await;
    assert_eq!(ids(&records), seed_ids_where("user", |_| true));
    assert_valid("user", &records);
    for (record, raw) in records.iter().zip(seed("user")) {
        let name = format!(
            "{} {}",
            raw["first_name"].as_str().unwrap(),
            raw["last_name"].as_str().unwrap()
        );
        assert_eq!(record["name"], name.trim());
        assert_eq!(record["email"], raw["email"]);
        let fetched = engine
            .get(&account, "crm/users", &id_of(record))
            .await
            .unwrap();
        assert_eq!(&fetched, record);
    }
    assert_not_found(&engine, &account, "crm/users", "user_nope").await;
}

// ---------------------------------------------------------------------------------------------
// Engagements

const ENGAGEMENT_TYPES: [(&str, &str); 3] = [
    ("call", "activity_call"),
    ("email", "activity_email"),
    ("meeting", "activity_meeting"),
];

#[tokio::test]
async fn every_seed_engagement_of_each_type_is_listed_and_validates() {
    let (_running, engine, account) = start_sandbox("close").await;
    let mut total = 0;
    for (kind, collection) in ENGAGEMENT_TYPES {
        let records = list_all(
            &engine,
            &account,
            "crm/engagements",
            &[("engagement_type", kind)],
            6,
        )
        .await;
        assert_eq!(
            ids(&records),
            seed_ids_where(collection, |_| true),
            "{kind}"
        );
        assert!(
            records.iter().all(|r| r["engagement_type"] == kind),
            "{kind}"
        );
        assert_valid("engagement", &records);
        total += records.len();
    }
    assert_eq!(total, 16 + 17 + 10);
}

#[tokio::test]
async fn engagements_of_an_account_are_its_calls_emails_and_meetings_and_no_notes() {
    let (_running, engine, account) = start_sandbox("close").await;
    for lead in [ACME, NORTHWIND] {
        let records = list_all(
            &engine,
            &account,
            "crm/engagements",
            &[("account_id", lead)],
            2,
        )
        .await;
        let mut expected = Vec::new();
        for (_, collection) in ENGAGEMENT_TYPES {
            expected.extend(seed_ids_where(collection, |r| r["lead_id"] == lead));
        }
        assert!(!expected.is_empty());
        assert_eq!(sorted(ids(&records)), sorted(expected), "{lead}");
        let notes = seed_ids_where("activity_note", |r| r["lead_id"] == lead);
        assert!(!notes.is_empty(), "the lead has notes to leave out");
        assert!(ids(&records).iter().all(|id| !notes.contains(id)));
        assert_valid("engagement", &records);
    }
}

#[tokio::test]
async fn engagement_filters_return_the_seed_records_they_name() {
    let (_running, engine, account) = start_sandbox("close").await;
    let cases: Vec<FilterCase> = vec![
        (
            vec![("engagement_type", "call"), ("account_id", ACME)],
            seed_ids_where("activity_call", |r| r["lead_id"] == ACME),
        ),
        (
            vec![("engagement_type", "email"), ("owner_id", DANA)],
            seed_ids_where("activity_email", |r| r["user_id"] == DANA),
        ),
        (
            vec![("engagement_type", "meeting"), ("contact_id", PRIYA)],
            seed_ids_where("activity_meeting", |r| r["contact_id"] == PRIYA),
        ),
        (
            vec![
                ("engagement_type", "call"),
                ("created_at[gte]", "2026-01-01"),
            ],
            seed_ids_where("activity_call", |r| {
                text(r, "date_created").as_str() >= "2026-01-01"
            }),
        ),
    ];
    for (filters, expected) in cases {
        assert!(
            !expected.is_empty(),
            "{filters:?} selects nothing in the seed"
        );
        let records = list_all(&engine, &account, "crm/engagements", &filters, 3).await;
        assert_eq!(ids(&records), expected, "{filters:?}");
    }
    // Within an account, the owner and contact filters narrow `/activity/` too.
    let narrowing: [(&str, &str, &str); 2] = [
        (KEYSTONE, "owner_id", DANA),
        (
            MULLER,
            "contact_id",
            "cont_qkxvVekmnI0yjP8H8GwwI2Z0VcIuo50WuPq6D2Z0rLh",
        ),
    ];
    for (lead, filter, value) in narrowing {
        let field = if filter == "owner_id" {
            "user_id"
        } else {
            "contact_id"
        };
        let records = list_all(
            &engine,
            &account,
            "crm/engagements",
            &[("account_id", lead), (filter, value)],
            100,
        )
        .await;
        let mut expected = Vec::new();
        let mut of_lead = 0;
        for (_, collection) in ENGAGEMENT_TYPES {
            expected.extend(seed_ids_where(collection, |r| {
                r["lead_id"] == lead && r[field] == value
            }));
            of_lead += seed_ids_where(collection, |r| r["lead_id"] == lead).len();
        }
        assert!(
            !expected.is_empty() && expected.len() < of_lead,
            "{lead} {filter}"
        );
        assert_eq!(sorted(ids(&records)), sorted(expected), "{lead} {filter}");
    }
}

#[tokio::test]
async fn an_engagement_is_fetched_by_id_whatever_its_type() {
    let (_running, engine, account) = start_sandbox("close").await;
    for (kind, collection) in ENGAGEMENT_TYPES {
        for raw in seed(collection).into_iter().take(3) {
            let found = engine
                .get(&account, "crm/engagements", &id_of(&raw))
                .await
                .unwrap();
            assert_eq!(found["engagement_type"], kind);
            assert_eq!(found["remote_data"], raw);
        }
    }
    assert_not_found(&engine, &account, "crm/engagements", "acti_nope").await;
    // A note is an activity but not an engagement: a loud mapping error, never a record.
    let note = id_of(&seed("activity_note")[0]);
    let error = engine
        .get(&account, "crm/engagements", &note)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Mapping, "{error}");
}

#[tokio::test]
async fn a_logged_call_round_trips_create_get_update_get() {
    let (_running, engine, account) = start_sandbox("close").await;
    let resource = "crm/engagements";
    let body = json!({
        "engagement_type": "call",
        "account": {"id": ACME},
        "contact": [{"id": PRIYA}],
        "owner": {"id": MARCO},
        "direction": "inbound",
        "status": "completed",
        "duration": "95",
        "start_time": "2026-03-06T10:00:00Z",
        "content": "Rückruf wegen Lieferzeit",
        "phone_numbers": [{"number": "+14155550132"}]
    });
    let created = engine.create(&account, resource, &body).await.unwrap();
    let id = id_of(&created);
    assert_eq!(created["engagement_type"], "call");
    assert_eq!(created["direction"], "inbound");
    assert_eq!(created["duration"], "95");
    assert_eq!(created["start_time"], "2026-03-06T10:00:00Z");
    assert_eq!(created["content"], body["content"]);
    assert_eq!(
        created["owner"],
        json!({"id": MARCO, "name": "Marco Ibarra"})
    );
    assert_eq!(created["contact"], json!([{"id": PRIYA}]));
    assert_eq!(created["phone_numbers"][0]["number"], "+14155550132");
    assert_eq!(
        created["remote_data"]["duration"],
        json!(95),
        "seconds as a number upstream"
    );
    assert_valid("engagement", std::slice::from_ref(&created));
    assert_eq!(engine.get(&account, resource, &id).await.unwrap(), created);

    // The new call is one of the account's engagements.
    let listed = list_all(&engine, &account, resource, &[("account_id", ACME)], 100).await;
    assert!(ids(&listed).contains(&id));

    let change =
        json!({"engagement_type": "call", "content": "Lieferzeit bestätigt", "duration": 120});
    let updated = engine
        .update(&account, resource, &id, &change)
        .await
        .unwrap();
    assert_eq!(updated["content"], "Lieferzeit bestätigt");
    assert_eq!(updated["duration"], "120");
    assert_eq!(updated["direction"], "inbound", "untouched");
    assert_eq!(engine.get(&account, resource, &id).await.unwrap(), updated);

    // Close deletes an activity at its type's endpoint; the type is looked up by id first.
    let deleted = engine.delete(&account, resource, &id).await.unwrap();
    assert_eq!(deleted, json!({ "id": id }));
    assert_not_found(&engine, &account, resource, &id).await;
}

#[tokio::test]
async fn an_email_draft_round_trips_and_a_meeting_note_can_be_written() {
    let (_running, engine, account) = start_sandbox("close").await;
    let resource = "crm/engagements";
    let body = json!({
        "engagement_type": "email",
        "account": {"id": NORTHWIND},
        "direction": "outbound",
        "status": "draft",
        "subject": "Angebot – Dachanlage",
        "content": "Hallo Lena,"
    });
    let created = engine.create(&account, resource, &body).await.unwrap();
    let id = id_of(&created);
    assert_eq!(created["engagement_type"], "email");
    assert_eq!(created["direction"], "outbound");
    assert_eq!(created["remote_data"]["direction"], "outgoing");
    assert_eq!(created["subject"], body["subject"]);
    assert_eq!(created["content"], body["content"]);
    assert_eq!(created["status"], "draft");
    assert_valid("engagement", std::slice::from_ref(&created));
    let change = json!({"engagement_type": "email", "subject": "Angebot – Dachanlage (v2)"});
    let updated = engine
        .update(&account, resource, &id, &change)
        .await
        .unwrap();
    assert_eq!(updated["subject"], change["subject"]);
    assert_eq!(engine.get(&account, resource, &id).await.unwrap(), updated);

    let meeting = id_of(&seed("activity_meeting")[0]);
    let change = json!({
        "engagement_type": "meeting",
        "content_html": "<body><p>Angebot folgt</p></body>",
        "subject": "not written: a meeting's title comes from the calendar"
    });
    let updated = engine
        .update(&account, resource, &meeting, &change)
        .await
        .unwrap();
    assert_eq!(updated["content_html"], change["content_html"]);
    assert_eq!(updated["subject"], "Acme Robotics – controller demo");
    assert_eq!(
        engine.get(&account, resource, &meeting).await.unwrap(),
        updated
    );

    let error = engine
        .create(
            &account,
            resource,
            &json!({"engagement_type": "meeting", "account": {"id": ACME}}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
}

#[tokio::test]
async fn listing_engagements_without_a_type_or_an_account_is_refused() {
    let (_running, engine, account) = start_sandbox("close").await;
    let error = engine
        .list(&account, "crm/engagements")
        .filter("owner_id", DANA)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.message().contains("account_id"), "{error}");
    let error = engine
        .list(&account, "crm/engagements")
        .filter("engagement_type", "meeting")
        .filter("updated_at[gt]", "2026-01-01")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(error.details()["supported"]
        .as_array()
        .unwrap()
        .contains(&json!("engagement_type")));
}

#[tokio::test]
async fn an_engagement_is_deleted_at_its_types_endpoint_found_by_id() {
    let (_sandbox, engine, account) = start_sandbox("close").await;
    for collection in ["activity_call", "activity_email", "activity_meeting"] {
        let id = id_of(&seed(collection)[0]);
        let deleted = engine
            .delete(&account, "crm/engagements", &id)
            .await
            .unwrap();
        assert_eq!(deleted, json!({ "id": id }));
        assert_not_found(&engine, &account, "crm/engagements", &id).await;
        let again = engine
            .delete(&account, "crm/engagements", &id)
            .await
            .unwrap_err();
        assert_eq!(again.kind(), ErrorKind::NotFound, "{collection}");
    }
}

#[tokio::test]
async fn deleting_a_note_through_engagements_is_refused_and_the_note_stays() {
    let (_sandbox, engine, account) = start_sandbox("close").await;
    let note = id_of(&seed("activity_note")[0]);
    let error = engine
        .delete(&account, "crm/engagements", &note)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(error.message().contains("not an engagement"), "{error}");
    let still = engine.get(&account, "crm/notes", &note).await.unwrap();
    assert_eq!(still["id"], note.as_str());
}
