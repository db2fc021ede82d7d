//! The five things people build on Close through a unified API, each end to end through the
//! public engine API against a fresh Close sandbox: push an enriched prospect, append a
//! meeting summary, act on a product signal, close a deal on a signed contract, and dedupe
//! before syncing. Every value written is read back.

use crosswalk::sandbox::{RunningSandbox, Sandbox};
use crosswalk::{Account, Engine};
use crosswalk_tests::{integration_dir, mappings_dir, unified_schema_violations};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// The sandbox's organization (the account option `organization_id`, which the user
/// directory needs).
const ORGANIZATION: &str = "orga_v8oDjQd0x3YFLtnN8GOQcUbZsjYVL378kFU8TcEJfpr";

/// A fresh Close sandbox, the engine over the bundled mappings, and an account on it.
struct Crm {
    _running: RunningSandbox,
    engine: Engine,
    account: Account,
}

async fn fresh() -> Crm {
    let sandbox = Sandbox::load(&integration_dir("close")).expect("the Close sandbox loads");
    let running = sandbox.bind(0).await.expect("the sandbox starts");
    let engine = Engine::load(mappings_dir()).expect("the mappings load");
    let account = Account::new("close")
        .with_credential("api_key", "sandbox")
        .with_base_url(running.base_url())
        .with_option("organization_id", json!(ORGANIZATION));
    Crm {
        _running: running,
        engine,
        account,
    }
}

impl Crm {
    /// Every record of a list, every page.
    async fn all(&self, resource: &str, filters: &[(&str, &str)]) -> Vec<Value> {
        let mut call = self.engine.list(&self.account, resource);
        for (name, value) in filters {
            call = call.filter(*name, *value);
        }
        call.stream()
            .map(|record| record.unwrap_or_else(|e| panic!("{resource} {filters:?}: {e}")))
            .collect()
            .await
    }

    /// The id of a custom field of `entity`, found by its label through crm/fields.
    async fn field_id(&self, entity: &str, label: &str) -> String {
        self.all("crm/fields", &[("entity", entity)])
            .await
            .into_iter()
            .find(|field| field["label"] == label)
            .and_then(|field| field["id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("no {entity} field labelled {label}"))
    }

    /// The one account search finds for an email domain, if any.
    async fn account_on_domain(&self, domain: &str) -> Option<Value> {
        let found = self.all("search/search", &[("domain", domain)]).await;
        assert!(
            found.len() <= 1,
            "more than one account on {domain}: {found:?}"
        );
        valid("search", "result", &found);
        found.into_iter().next()
    }
}

fn id_of(record: &Value) -> String {
    record["id"].as_str().expect("a record id").to_owned()
}

fn valid(api: &str, model: &str, records: &[Value]) {
    let violations = unified_schema_violations(api, model, records);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 1 and 5: push an enriched prospect, once

/// A prospect as an enrichment tool exports it.
fn prospect() -> Value {
    json!({
        "company": "Fjordline Robotics",
        "domain": "fjordline-robotics.example.com",
        "website": "https://www.fjordline-robotics.example.com",
        "description": "Autonomous forklifts for cold-storage warehouses.",
        "industry": "Manufacturing",
        "employees": 240,
        "people": [
            {
                "name": "Sigrid Aasen",
                "title": "Head of Warehouse Automation",
                "email": "sigrid.aasen@fjordline-robotics.example.com",
                "phones": [{"number": "+4722334455", "type": "office"}, {"number": "+4791234567", "type": "mobile"}],
                "linkedin": "https://www.linkedin.com/in/sigrid-aasen-example"
            },
            {
                "name": "Tariq Haddad",
                "title": "CFO",
                "email": "tariq.haddad@fjordline-robotics.example.com",
                "phones": [{"number": "+4722334466", "type": "office"}],
                "linkedin": "https://www.linkedin.com/in/tariq-haddad-example"
            }
        ]
    })
}

/// Pushes the prospect unless its domain is already an account; returns the account id and
/// whether it was created now.
async fn push_prospect(crm: &Crm, prospect: &Value) -> (String, bool) {
    let domain = prospect["domain"].as_str().unwrap();
    // Dedupe first: an account with a contact, or its website, on the domain.
    if let Some(existing) = crm.account_on_domain(domain).await {
        assert_eq!(existing["type"], "account");
        return (id_of(&existing), false);
    }
    let industry = crm.field_id("account", "Industry").await;
    let employees = crm.field_id("account", "Employee Count").await;
    let linkedin = crm.field_id("contact", "LinkedIn Profile").await;

    let account = crm
        .engine
        .create(
            &crm.account,
            "crm/accounts",
            &json!({
                "name": prospect["company"],
                "website": prospect["website"],
                "description": prospect["description"],
                "custom_fields": {industry: prospect["industry"], employees: prospect["employees"]}
            }),
        )
        .await
        .expect("the account is created");
    let account_id = id_of(&account);
    for person in prospect["people"].as_array().unwrap() {
        let contact = json!({
            "account": {"id": account_id},
            "name": person["name"],
            "title": person["title"],
            "email_addresses": [{"email": person["email"], "type": "office"}],
            "phone_numbers": person["phones"],
            "urls": [{"url": person["linkedin"], "type": "url"}],
            "custom_fields": {linkedin.as_str(): person["linkedin"]}
        });
        crm.engine
            .create(&crm.account, "crm/contacts", &contact)
            .await
            .expect("the contact is created");
    }
    (account_id, true)
}

#[tokio::test]
async fn scenario_1_push_an_enriched_prospect() {
    let crm = fresh().await;
    let prospect = prospect();
    let (account_id, created) = push_prospect(&crm, &prospect).await;
    assert!(created, "the domain was new");

    // Read everything back.
    let account = crm
        .engine
        .get(&crm.account, "crm/accounts", &account_id)
        .await
        .unwrap();
    assert_eq!(account["name"], "Fjordline Robotics");
    assert_eq!(
        account["website"],
        "https://www.fjordline-robotics.example.com"
    );
    assert_eq!(account["description"], prospect["description"]);
    let industry = crm.field_id("account", "Industry").await;
    let employees = crm.field_id("account", "Employee Count").await;
    assert_eq!(account["custom_fields"][&industry], "Manufacturing");
    assert_eq!(account["custom_fields"][&employees], 240);
    valid("crm", "account", std::slice::from_ref(&account));

    let contacts = crm
        .all("crm/contacts", &[("account_id", &account_id)])
        .await;
    valid("crm", "contact", &contacts);
    assert_eq!(contacts.len(), 2);
    let linkedin = crm.field_id("contact", "LinkedIn Profile").await;
    for (contact, person) in contacts.iter().zip(prospect["people"].as_array().unwrap()) {
        assert_eq!(contact["name"], person["name"]);
        assert_eq!(contact["title"], person["title"]);
        assert_eq!(contact["account"]["id"], account_id.as_str());
        assert_eq!(contact["email_addresses"][0]["email"], person["email"]);
        let numbers: Vec<&Value> = contact["phone_numbers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|phone| &phone["number"])
            .collect();
        let expected: Vec<&Value> = person["phones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|phone| &phone["number"])
            .collect();
        assert_eq!(numbers, expected);
        assert_eq!(
            contact["phone_numbers"][0]["type"],
            person["phones"][0]["type"]
        );
        assert_eq!(contact["urls"][0]["url"], person["linkedin"]);
        assert_eq!(contact["custom_fields"][&linkedin], person["linkedin"]);
    }
    // The account shows its contacts, and search now finds it by the domain.
    assert_eq!(account["contacts"].as_array().unwrap().len(), 2);
    let found = crm
        .account_on_domain("fjordline-robotics.example.com")
        .await
        .expect("found by domain");
    assert_eq!(found["id"], account_id.as_str());
    assert_eq!(found["title"], "Fjordline Robotics");
}

#[tokio::test]
async fn scenario_5_pushing_twice_creates_no_duplicate() {
    let crm = fresh().await;
    let accounts_before = crm.all("crm/accounts", &[]).await.len();
    let contacts_before = crm.all("crm/contacts", &[]).await.len();

    let (first, created) = push_prospect(&crm, &prospect()).await;
    assert!(created);
    let (second, created) = push_prospect(&crm, &prospect()).await;
    assert!(!created, "the second push found the account by its domain");
    assert_eq!(second, first);

    assert_eq!(
        crm.all("crm/accounts", &[]).await.len(),
        accounts_before + 1
    );
    assert_eq!(
        crm.all("crm/contacts", &[]).await.len(),
        contacts_before + 2
    );
    let named: Vec<Value> = crm
        .all("search/search", &[("search_term", "Fjordline")])
        .await;
    assert_eq!(named.len(), 1, "{named:?}");

    // A domain already in the seed is found as well: Acme's is, with the same casing rules.
    let (acme, created) = push_prospect(
        &crm,
        &json!({"company": "ACME Robotics Inc.", "domain": "Acme-Robotics.example.com", "people": []}),
    )
    .await;
    assert!(!created);
    assert_eq!(acme, "lead_BAbceJMTbOROU3T8caMd5p9D87KUk0DE3ij1NrnstCQ");
}

// ---------------------------------------------------------------------------------------------
// 2: append a meeting summary

#[tokio::test]
async fn scenario_2_append_a_meeting_summary() {
    let crm = fresh().await;
    let (account_id, _) = push_prospect(&crm, &prospect()).await;

    // The notetaker knows an attendee's address: find the contact, then its account.
    let attendee = "Sigrid.Aasen@fjordline-robotics.example.com";
    let contacts = crm
        .all("search/search", &[("email", attendee), ("type", "contact")])
        .await;
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let contact_id = id_of(&contacts[0]);
    let found_account = contacts[0]["meta"]["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(found_account, account_id);

    let summary = "Discussed a pilot in the Bergen warehouse.\nAction items: send the pilot \
                   proposal; book a site visit.\nRecording: https://notes.example.com/r/8842";
    let summary_html = "<body><p>Discussed a pilot in the Bergen warehouse.</p><ul>\
                        <li>Send the pilot proposal</li><li>Book a site visit</li></ul>\
                        <p><a href=\"https://notes.example.com/r/8842\">Recording</a></p></body>";
    let note = crm
        .engine
        .create(
            &crm.account,
            "crm/notes",
            &json!({
                "account": {"id": found_account},
                "contact": [{"id": contact_id}],
                "title": "Meeting summary – pilot scoping",
                "content": summary,
                "content_html": summary_html
            }),
        )
        .await
        .unwrap();
    // Close creates meetings only through calendar sync, so the meeting itself is logged as a
    // call engagement (a conversation held outside Close), with the recording and duration.
    let call = crm
        .engine
        .create(
            &crm.account,
            "crm/engagements",
            &json!({
                "engagement_type": "call",
                "account": {"id": found_account},
                "contact": [{"id": contact_id}],
                "direction": "outbound",
                "status": "completed",
                "start_time": "2026-03-10T14:00:00Z",
                "duration": "1800",
                "content": summary,
                "recording_url": "https://notes.example.com/r/8842"
            }),
        )
        .await
        .unwrap();
    // The unified API refuses a meeting rather than pretending.
    let meeting = crm
        .engine
        .create(
            &crm.account,
            "crm/engagements",
            &json!({"engagement_type": "meeting", "account": {"id": found_account}}),
        )
        .await
        .unwrap_err();
    assert_eq!(meeting.kind(), crosswalk::ErrorKind::Input);

    // Read back through the account's timeline.
    let notes = crm
        .all("crm/notes", &[("account_id", &found_account)])
        .await;
    valid("crm", "note", &notes);
    let stored = notes
        .iter()
        .find(|n| n["id"] == note["id"])
        .expect("the note is on the account");
    assert_eq!(stored["title"], "Meeting summary – pilot scoping");
    assert_eq!(stored["content"], summary);
    assert_eq!(stored["content_html"], summary_html);
    assert_eq!(stored["contact"], json!([{"id": contact_id}]));

    let engagements = crm
        .all("crm/engagements", &[("account_id", &found_account)])
        .await;
    valid("crm", "engagement", &engagements);
    let logged = engagements
        .iter()
        .find(|e| e["id"] == call["id"])
        .expect("the call is on the account");
    assert_eq!(logged["engagement_type"], "call");
    assert_eq!(logged["content"], summary);
    assert_eq!(logged["duration"], "1800");
    assert_eq!(logged["start_time"], "2026-03-10T14:00:00Z");
    assert_eq!(logged["recording_url"], "https://notes.example.com/r/8842");
    assert_eq!(logged["contact"], json!([{"id": contact_id}]));
}

// ---------------------------------------------------------------------------------------------
// 3: product signal

#[tokio::test]
async fn scenario_3_a_product_signal_scores_the_lead_and_tasks_a_rep() {
    let crm = fresh().await;
    let (account_id, _) = push_prospect(&crm, &prospect()).await;

    // The field and the rep are looked up, not hard-coded.
    let lead_score = crm.field_id("account", "Lead Score").await;
    let field = crm
        .engine
        .get(&crm.account, "crm/fields", &lead_score)
        .filter("entity", "account")
        .await
        .unwrap();
    assert_eq!(field["type"], "number");
    let users = crm.all("user-directory/users", &[]).await;
    valid("user-directory", "user", &users);
    let rep = users
        .iter()
        .find(|user| user["emails"][0]["email"] == "marco.ibarra@example.com")
        .expect("Marco is an active member");
    assert_eq!(rep["status"], "active");
    let rep_id = id_of(rep);

    let scored = crm
        .engine
        .update(
            &crm.account,
            "crm/accounts",
            &account_id,
            &json!({"custom_fields": {lead_score.as_str(): 87.5}}),
        )
        .await
        .unwrap();
    assert_eq!(scored["custom_fields"][&lead_score], 87.5);

    let task = crm
        .engine
        .create(
            &crm.account,
            "crm/tasks",
            &json!({
                "account": {"id": account_id},
                "owner": {"id": rep_id},
                "subject": "Trial hit 5 seats: call Sigrid about the pilot",
                "due_date": "2026-03-12"
            }),
        )
        .await
        .unwrap();

    // Read back.
    let account = crm
        .engine
        .get(&crm.account, "crm/accounts", &account_id)
        .await
        .unwrap();
    assert_eq!(account["custom_fields"][&lead_score], 87.5);
    let industry = crm.field_id("account", "Industry").await;
    assert_eq!(
        account["custom_fields"][&industry], "Manufacturing",
        "other fields stay"
    );
    let stored = crm
        .engine
        .get(&crm.account, "crm/tasks", task["id"].as_str().unwrap())
        .await
        .unwrap();
    valid("crm", "task", std::slice::from_ref(&stored));
    assert_eq!(
        stored["owner"],
        json!({"id": rep_id, "name": "Marco Ibarra"})
    );
    assert_eq!(stored["account"]["id"], account_id.as_str());
    assert_eq!(
        stored["subject"],
        "Trial hit 5 seats: call Sigrid about the pilot"
    );
    assert_eq!(stored["due_date"], "2026-03-12");
    assert_eq!(stored["status"], "open");
    let reps_tasks = crm
        .all("crm/tasks", &[("owner_id", &rep_id), ("status", "open")])
        .await;
    assert!(reps_tasks.iter().any(|t| t["id"] == task["id"]));
}

// ---------------------------------------------------------------------------------------------
// 4: contract signed

#[tokio::test]
async fn scenario_4_a_signed_contract_wins_the_deal() {
    let crm = fresh().await;
    let (account_id, _) = push_prospect(&crm, &prospect()).await;

    // The deal sits in the first open stage of the Sales pipeline.
    let pipelines = crm.all("crm/pipelines", &[]).await;
    valid("crm", "pipeline", &pipelines);
    let sales = pipelines
        .iter()
        .find(|p| p["name"] == "Sales")
        .expect("a Sales pipeline");
    let sales_id = id_of(sales);
    let first_stage = &sales["stages"][0];
    assert_eq!(first_stage["position"], 1);
    assert_eq!(first_stage["outcome"], "open");
    let deal = crm
        .engine
        .create(
            &crm.account,
            "crm/opportunities",
            &json!({
                "account": {"id": account_id},
                "stage": {"id": first_stage["id"]},
                "description": "Pilot: 4 forklifts, Bergen",
                "amount": 48000,
                "probability": 40
            }),
        )
        .await
        .unwrap();
    assert_eq!(deal["status"], "open");
    assert_eq!(deal["pipeline"]["id"], sales_id.as_str());

    // The e-signature tool says "signed": find the pipeline's won stage and move the deal.
    let won = crm
        .all(
            "crm/stages",
            &[("pipeline_id", &sales_id), ("outcome", "won")],
        )
        .await;
    valid("crm", "stage", &won);
    assert_eq!(won.len(), 1, "{won:?}");
    let won_id = id_of(&won[0]);
    crm.engine
        .update(
            &crm.account,
            "crm/opportunities",
            deal["id"].as_str().unwrap(),
            &json!({"stage": {"id": won_id}, "probability": 100}),
        )
        .await
        .unwrap();

    // Read back.
    let closed = crm
        .engine
        .get(
            &crm.account,
            "crm/opportunities",
            deal["id"].as_str().unwrap(),
        )
        .await
        .unwrap();
    valid("crm", "opportunity", std::slice::from_ref(&closed));
    assert_eq!(closed["status"], "won");
    assert_eq!(closed["stage"]["id"], won_id.as_str());
    assert_eq!(closed["stage"]["name"], won[0]["name"]);
    assert_eq!(closed["pipeline"]["id"], sales_id.as_str());
    assert_eq!(closed["probability"], 100);
    assert_eq!(closed["amount"], 48000);
    assert!(
        closed["close_date"].as_str().is_some_and(|d| d.len() == 10),
        "Close dates a won deal: {}",
        closed["close_date"]
    );
    let won_deals = crm
        .all(
            "crm/opportunities",
            &[("account_id", &account_id), ("status", "won")],
        )
        .await;
    assert_eq!(won_deals.len(), 1);
}
