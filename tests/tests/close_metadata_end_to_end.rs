//! End to end for fields, pipelines, stages, associations, the user directory and search: the
//! real engine, over HTTP, against the Close sandbox. Each test starts its own sandbox on
//! 127.0.0.1. Reads are checked against the seed files, writes by reading them back, and every
//! record against its unified JSON Schema.

use crosswalk::ErrorKind;
use crosswalk_tests::{
    id_of, ids, list_all, sandbox_seed_records, start_sandbox, unified_schema_violations,
};
use serde_json::{json, Value};

const ACME: &str = "lead_BAbceJMTbOROU3T8caMd5p9D87KUk0DE3ij1NrnstCQ";
const NORTHWIND: &str = "lead_VVjjPbaK6z95NU2BQzgoGLdXw9r9RlfdWsicUDbFaKV";
const PRIYA: &str = "cont_8UVTK4WdizbYcaN25lmQcWQx05S3vD6K57FkLrpTefC";
const LENA: &str = "cont_A0aNsCW1utma8HWPQ9DQekP5Ykd67GgKrhReaF2LBjn";
const ORGANIZATION: &str = "orga_v8oDjQd0x3YFLtnN8GOQcUbZsjYVL378kFU8TcEJfpr";

// ---------------------------------------------------------------------------------------------
// Helpers

fn seed(collection: &str) -> Vec<Value> {
    sandbox_seed_records("close", collection)
}

fn assert_valid(api: &str, model: &str, records: &[Value]) {
    let violations = unified_schema_violations(api, model, records);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Fields

#[tokio::test]
async fn every_seed_field_of_each_entity_is_listed_fetched_and_validates() {
    let (_running, engine, account) = start_sandbox("close").await;
    for (entity, collection) in [
        ("account", "custom_field_lead"),
        ("contact", "custom_field_contact"),
        ("opportunity", "custom_field_opportunity"),
    ] {
        let records = list_all(&engine, &account, "crm/fields", &[("entity", entity)], 4).await;
        assert_eq!(ids(&records), ids(&seed(collection)), "{entity}");
        assert_valid("crm", "field", &records);
        for (field, raw) in records.iter().zip(seed(collection)) {
            assert_eq!(field["name"], raw["id"], "keyed by id");
            assert_eq!(field["label"], raw["name"]);
            assert_eq!(field["remote_data"], raw);
            let options: Vec<Value> = raw["choices"]
                .as_array()
                .map(|c| c.iter().map(|c| json!({"label": c, "value": c})).collect())
                .unwrap_or_default();
            assert_eq!(field["options"], Value::Array(options));
        }
        let first = &records[0];
        let fetched = engine
            .get(&account, "crm/fields", first["id"].as_str().unwrap())
            .filter("entity", entity)
            .await
            .unwrap();
        assert_eq!(&fetched, first);
    }
    // A field of another entity is not found at this one's endpoint.
    let lead_field = id_of(&seed("custom_field_lead")[0]);
    let error = engine
        .get(&account, "crm/fields", &lead_field)
        .filter("entity", "contact")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
}

#[tokio::test]
async fn a_field_round_trips_create_get_update_get_delete() {
    let (_running, engine, account) = start_sandbox("close").await;
    let body = json!({
        "entity_type": "opportunity",
        "label": "Signature Channel",
        "description": "How the contract was signed",
        "type": "enum",
        "options": [{"label": "E-signature", "value": "E-signature"}, {"label": "Paper", "value": "Paper"}]
    });
    let created = engine.create(&account, "crm/fields", &body).await.unwrap();
    assert_valid("crm", "field", std::slice::from_ref(&created));
    let id = id_of(&created);
    assert!(id.starts_with("cf_"), "{id}");
    assert_eq!(created["type"], "enum");
    assert_eq!(created["accepts_multiple_values"], false);
    assert_eq!(
        created["remote_data"]["choices"],
        json!(["E-signature", "Paper"])
    );

    let fetched = engine
        .get(&account, "crm/fields", &id)
        .filter("entity", "opportunity")
        .await
        .unwrap();
    assert_eq!(fetched["label"], "Signature Channel");
    assert_eq!(fetched["description"], "How the contract was signed");

    let change = json!({"label": "Signing Channels", "type": "array",
                        "options": [{"value": "E-signature"}, {"value": "Paper"}, {"value": "In person"}]});
    let updated = engine
        .update(&account, "crm/fields", &id, &change)
        .filter("entity", "opportunity")
        .await
        .unwrap();
    assert_eq!(updated["label"], "Signing Channels");
    assert_eq!(updated["type"], "array");
    assert_eq!(updated["accepts_multiple_values"], true);
    assert_eq!(updated["options"].as_array().unwrap().len(), 3);
    assert_eq!(
        updated["description"], "How the contract was signed",
        "untouched"
    );

    let listed = list_all(
        &engine,
        &account,
        "crm/fields",
        &[("entity", "opportunity")],
        100,
    )
    .await;
    assert!(listed.iter().any(|f| f["id"] == id.as_str()));

    let deleted = engine
        .delete(&account, "crm/fields", &id)
        .filter("entity", "opportunity")
        .await
        .unwrap();
    assert_eq!(deleted, json!({"id": id}));
    let error = engine
        .get(&account, "crm/fields", &id)
        .filter("entity", "opportunity")
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

// ---------------------------------------------------------------------------------------------
// Pipelines and stages

#[tokio::test]
async fn every_seed_pipeline_lists_its_stages_in_order() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records = list_all(&engine, &account, "crm/pipelines", &[], 1).await;
    assert_eq!(ids(&records), ids(&seed("pipeline")));
    assert_valid("crm", "pipeline", &records);
    let statuses = seed("status_opportunity");
    for pipeline in &records {
        let expected: Vec<&Value> = statuses
            .iter()
            .filter(|s| s["pipeline_id"] == pipeline["id"])
            .collect();
        let stages = pipeline["stages"].as_array().unwrap();
        assert_eq!(stages.len(), expected.len());
        for (position, (stage, status)) in stages.iter().zip(expected).enumerate() {
            assert_eq!(stage["id"], status["id"]);
            assert_eq!(stage["name"], status["label"]);
            assert_eq!(stage["position"], position + 1);
            assert_eq!(stage["pipeline"]["id"], pipeline["id"]);
            let outcome = match status["type"].as_str().unwrap() {
                "active" => "open",
                other => other,
            };
            assert_eq!(stage["outcome"], outcome);
        }
    }
}

#[tokio::test]
async fn stage_filters_return_the_seed_statuses_they_name() {
    let (_running, engine, account) = start_sandbox("close").await;
    let statuses = seed("status_opportunity");
    let all = list_all(&engine, &account, "crm/stages", &[], 100).await;
    assert_eq!(ids(&all), ids(&statuses));
    assert_valid("crm", "stage", &all);
    for pipeline in seed("pipeline") {
        let pipeline_id = id_of(&pipeline);
        for (outcome, kind) in [("open", "active"), ("won", "won"), ("lost", "lost")] {
            let found = list_all(
                &engine,
                &account,
                "crm/stages",
                &[("pipeline_id", &pipeline_id), ("outcome", outcome)],
                100,
            )
            .await;
            let expected: Vec<String> = statuses
                .iter()
                .filter(|s| s["pipeline_id"] == pipeline_id.as_str() && s["type"] == kind)
                .map(id_of)
                .collect();
            assert_eq!(ids(&found), expected, "{pipeline_id} {outcome}");
        }
    }
}

#[tokio::test]
async fn a_pipeline_and_its_stages_round_trip() {
    let (_running, engine, account) = start_sandbox("close").await;
    let pipeline = engine
        .create(
            &account,
            "crm/pipelines",
            &json!({"name": "Channel Partners"}),
        )
        .await
        .unwrap();
    assert_valid("crm", "pipeline", std::slice::from_ref(&pipeline));
    let pipeline_id = id_of(&pipeline);
    assert!(
        pipeline_id.starts_with("pipe_") && pipeline_id.len() == 5 + 22,
        "{pipeline_id}"
    );
    assert_eq!(pipeline["stages"], json!([]));

    let mut stage_ids = Vec::new();
    for (name, outcome) in [("Referred", "open"), ("Signed", "won"), ("Dropped", "lost")] {
        let body = json!({"name": name, "outcome": outcome, "pipeline": {"id": pipeline_id}});
        let stage = engine.create(&account, "crm/stages", &body).await.unwrap();
        assert_valid("crm", "stage", std::slice::from_ref(&stage));
        assert_eq!(stage["outcome"], outcome);
        assert_eq!(stage["pipeline"]["id"], pipeline_id.as_str());
        stage_ids.push(id_of(&stage));
    }
    let fetched = engine
        .get(&account, "crm/pipelines", &pipeline_id)
        .await
        .unwrap();
    let names: Vec<&Value> = fetched["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["name"])
        .collect();
    assert_eq!(names, ["Referred", "Signed", "Dropped"]);
    assert_eq!(fetched["stages"][2]["position"], 3);

    let renamed = engine
        .update(
            &account,
            "crm/stages",
            &stage_ids[1],
            &json!({"name": "Contract Signed"}),
        )
        .await
        .unwrap();
    assert_eq!(renamed["name"], "Contract Signed");
    assert_eq!(renamed["outcome"], "won", "the outcome stays");
    let renamed = engine
        .update(
            &account,
            "crm/pipelines",
            &pipeline_id,
            &json!({"name": "Partners"}),
        )
        .await
        .unwrap();
    assert_eq!(renamed["name"], "Partners");
    assert_eq!(renamed["stages"][1]["name"], "Contract Signed");

    for id in &stage_ids {
        engine.delete(&account, "crm/stages", id).await.unwrap();
        let error = engine.get(&account, "crm/stages", id).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
    }
    let emptied = engine
        .get(&account, "crm/pipelines", &pipeline_id)
        .await
        .unwrap();
    assert_eq!(emptied["stages"], json!([]));
    engine
        .delete(&account, "crm/pipelines", &pipeline_id)
        .await
        .unwrap();
    let error = engine
        .get(&account, "crm/pipelines", &pipeline_id)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
}

// ---------------------------------------------------------------------------------------------
// Associations

#[tokio::test]
async fn associations_move_children_between_accounts_and_contacts() {
    let (_running, engine, account) = start_sandbox("close").await;
    // A contact to another account.
    let body = json!({"entity": "contact", "entity_id": LENA, "associations": {"accounts": [{"id": ACME}]}});
    let made = engine
        .create(&account, "crm/associations", &body)
        .await
        .unwrap();
    assert_valid("crm", "association", std::slice::from_ref(&made));
    assert_eq!(made["associations"]["accounts"], json!([{"id": ACME}]));
    let contact = engine.get(&account, "crm/contacts", LENA).await.unwrap();
    assert_eq!(contact["account"]["id"], ACME);
    let acme_contacts = list_all(
        &engine,
        &account,
        "crm/contacts",
        &[("account_id", ACME)],
        100,
    )
    .await;
    assert!(ids(&acme_contacts).contains(&LENA.to_owned()));

    // An opportunity of Northwind to Acme and Priya.
    let opportunity = seed("opportunity")
        .into_iter()
        .find(|o| o["lead_id"] == NORTHWIND)
        .expect("Northwind has an opportunity");
    let opportunity_id = id_of(&opportunity);
    let body = json!({
        "entity": "opportunity",
        "entity_id": opportunity_id,
        "associations": {"accounts": [{"id": ACME}], "contacts": [{"id": PRIYA}]}
    });
    engine
        .create(&account, "crm/associations", &body)
        .await
        .unwrap();
    let moved = engine
        .get(&account, "crm/opportunities", &opportunity_id)
        .await
        .unwrap();
    assert_eq!(moved["account"]["id"], ACME);
    assert_eq!(moved["contact"], json!([{"id": PRIYA}]));

    // A note and a task to Priya.
    let note = engine
        .create(
            &account,
            "crm/notes",
            &json!({"account": {"id": ACME}, "content": "Met at the fair"}),
        )
        .await
        .unwrap();
    let note_id = id_of(&note);
    let made = engine
        .create(
            &account,
            "crm/associations",
            &json!({"entity": "note", "entity_id": note_id, "associations": {"contacts": [{"id": PRIYA}]}}),
        )
        .await
        .unwrap();
    assert_eq!(made["entity"], "note");
    assert_eq!(
        made["associations"],
        json!({"accounts": [{"id": ACME}], "contacts": [{"id": PRIYA}]})
    );
    let note = engine.get(&account, "crm/notes", &note_id).await.unwrap();
    assert_eq!(note["contact"], json!([{"id": PRIYA}]));

    // A parent that does not exist is Close's field error, not a silent success.
    let error = engine
        .create(
            &account,
            "crm/associations",
            &json!({"entity": "contact", "entity_id": PRIYA, "associations": {"accounts": [{"id": "lead_missing"}]}}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Upstream, "{error}");
    assert_eq!(error.upstream().map(|u| u.status), Some(400));
}

// ---------------------------------------------------------------------------------------------
// User directory

#[tokio::test]
async fn users_are_the_active_members_with_their_roles() {
    let (_running, engine, account) = start_sandbox("close").await;
    let account = account.with_option("organization_id", json!(ORGANIZATION));
    let users = list_all(&engine, &account, "user-directory/users", &[], 100).await;
    assert_valid("user-directory", "user", &users);
    let active: Vec<Value> = seed("membership")
        .into_iter()
        .filter(|m| m["status"] == "active")
        .collect();
    assert_eq!(users.len(), active.len());
    for (user, membership) in users.iter().zip(&active) {
        assert_eq!(user["id"], membership["user_id"]);
        assert_eq!(user["status"], "active");
        assert_eq!(
            user["roles"],
            json!([{"id": membership["role_id"], "name": null}])
        );
        assert_eq!(user["membership"]["id"], membership["id"]);
        let fetched = engine
            .get(
                &account,
                "user-directory/users",
                user["id"].as_str().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(fetched["emails"], user["emails"]);
        assert_eq!(fetched["name"], user["name"]);
    }
    // The filter names the organization as well as the account option does.
    let (_running, engine, plain) = start_sandbox("close").await;
    let by_filter = list_all(
        &engine,
        &plain,
        "user-directory/users",
        &[("organization_id", ORGANIZATION)],
        100,
    )
    .await;
    assert_eq!(ids(&by_filter), ids(&users));
    // Every role a member has is a role of the organization.
    let roles = list_all(&engine, &plain, "user-directory/roles", &[], 100).await;
    assert_valid("user-directory", "role", &roles);
    assert_eq!(ids(&roles), ids(&seed("role")));
    for user in &users {
        let role = user["roles"][0]["id"].as_str().unwrap();
        let found = engine
            .get(&plain, "user-directory/roles", role)
            .await
            .unwrap();
        assert_eq!(found["id"], role);
        let builtin = !role.starts_with("role_");
        assert_eq!(found["type"], if builtin { "builtin" } else { "custom" });
        assert_eq!(found["created_at"].is_null(), builtin);
    }
}

// ---------------------------------------------------------------------------------------------
// Search

#[tokio::test]
async fn every_seed_address_finds_its_contact_and_its_account() {
    let (_running, engine, account) = start_sandbox("close").await;
    for contact in seed("contact") {
        for email in contact["emails"].as_array().unwrap() {
            let address = email["email"].as_str().unwrap().to_uppercase();
            let found = list_all(
                &engine,
                &account,
                "search/search",
                &[("email", &address), ("type", "contact")],
                50,
            )
            .await;
            assert_eq!(ids(&found), [id_of(&contact)], "{address}");
            assert_valid("search", "result", &found);
            assert_eq!(found[0]["meta"]["account"]["id"], contact["lead_id"]);
            let found = list_all(
                &engine,
                &account,
                "search/search",
                &[("email", &address)],
                50,
            )
            .await;
            assert_eq!(
                ids(&found),
                [contact["lead_id"].as_str().unwrap()],
                "{address}"
            );
            assert_eq!(found[0]["type"], "account");
        }
    }
    let found = list_all(
        &engine,
        &account,
        "search/search",
        &[("email", "nobody@acme-robotics.example.com")],
        50,
    )
    .await;
    assert!(found.is_empty());
}

#[tokio::test]
async fn every_company_domain_finds_exactly_its_accounts() {
    let (_running, engine, account) = start_sandbox("close").await;
    let leads = seed("lead");
    let contacts = seed("contact");
    let mut domains: Vec<String> = contacts
        .iter()
        .flat_map(|c| c["emails"].as_array().unwrap().clone())
        .map(|e| {
            e["email"]
                .as_str()
                .unwrap()
                .rsplit('@')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    domains.sort();
    domains.dedup();
    for domain in domains {
        // Accounts with a contact at the domain, or a website on it or a subdomain of it.
        let expected: Vec<String> = leads
            .iter()
            .filter(|lead| {
                let on_domain = contacts.iter().any(|c| {
                    c["lead_id"] == lead["id"]
                        && c["emails"].as_array().unwrap().iter().any(|e| {
                            e["email"]
                                .as_str()
                                .unwrap()
                                .to_lowercase()
                                .ends_with(&format!("@{domain}"))
                        })
                });
                let host = lead["url"]
                    .as_str()
                    .map(|url| {
                        url.split("//")
                            .last()
                            .unwrap()
                            .split('/')
                            .next()
                            .unwrap()
                            .to_lowercase()
                    })
                    .unwrap_or_default();
                on_domain || host == domain || host.ends_with(&format!(".{domain}"))
            })
            .map(id_of)
            .collect();
        let found = list_all(
            &engine,
            &account,
            "search/search",
            &[("domain", &domain)],
            200,
        )
        .await;
        assert_eq!(ids(&found), expected, "{domain}");
        assert_valid("search", "result", &found);
    }
}

#[tokio::test]
async fn search_terms_page_through_every_hit() {
    let (_running, engine, account) = start_sandbox("close").await;
    // "example" is a word of every company address and website: every lead with one.
    let all = list_all(
        &engine,
        &account,
        "search/search",
        &[("search_term", "example")],
        3,
    )
    .await;
    let expected: Vec<String> = seed("lead")
        .iter()
        .filter(|lead| {
            lead["url"].as_str().is_some()
                || seed("contact").iter().any(|c| {
                    c["lead_id"] == lead["id"] && !c["emails"].as_array().unwrap().is_empty()
                })
        })
        .map(id_of)
        .collect();
    assert_eq!(ids(&all), expected);
    assert_valid("search", "result", &all);
    // Names, as words of any case, and contacts by name.
    let found = list_all(
        &engine,
        &account,
        "search/search",
        &[("search_term", "HARBORVIEW marine")],
        10,
    )
    .await;
    assert_eq!(
        ids(&found),
        ["lead_goSd5vVSLIcN4DvE6vta5gfbNyJBf0JniNqZIPJcIqb"]
    );
    let found = list_all(
        &engine,
        &account,
        "search/search",
        &[("search_term", "priya"), ("type", "contact")],
        10,
    )
    .await;
    assert_eq!(ids(&found), [PRIYA]);
    assert_eq!(
        found[0]["urls"][0]["url"],
        format!("/unified/crm/contacts/{PRIYA}")
    );
    // One page at a time: a cursor, then the rest.
    let first = engine
        .list(&account, "search/search")
        .filter("search_term", "example")
        .limit(5)
        .await
        .unwrap();
    assert_eq!(first.result.len(), 5);
    let next = engine
        .list(&account, "search/search")
        .filter("search_term", "example")
        .cursor(first.next_cursor.expect("more hits"))
        .limit(5)
        .await
        .unwrap();
    assert_eq!(ids(&next.result), ids(&all[5..10]));
}

#[tokio::test]
async fn a_user_read_by_id_carries_its_membership_when_the_organization_is_known() {
    let (_sandbox, engine, account) = crosswalk_tests::start_sandbox("close").await;
    let memberships = crosswalk_tests::sandbox_seed_records("close", "membership");
    let inactive = memberships
        .iter()
        .find(|m| m["status"] == "inactive")
        .unwrap();
    let active = memberships
        .iter()
        .find(|m| m["status"] == "active")
        .unwrap();
    let organization = memberships[0]["organization_id"].clone();
    let with_org = account.clone().with_option("organization_id", organization);

    for membership in [active, inactive] {
        let id = membership["user_id"].as_str().unwrap();
        let user = engine
            .get(&with_org, "user-directory/users", id)
            .remote_data(false)
            .await
            .unwrap();
        assert_eq!(user["status"], membership["status"], "{id}");
        assert_eq!(
            user["roles"],
            serde_json::json!([{"id": membership["role_id"], "name": null}])
        );
        assert_eq!(user["membership"]["id"], membership["id"]);
    }

    // Without the organization, a user has no membership data rather than invented data.
    let id = active["user_id"].as_str().unwrap();
    let user = engine
        .get(&account, "user-directory/users", id)
        .remote_data(false)
        .await
        .unwrap();
    assert_eq!(user["status"], serde_json::Value::Null);
    assert_eq!(user["roles"], serde_json::json!([]));
}
