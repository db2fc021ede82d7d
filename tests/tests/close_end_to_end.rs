//! End to end: the real engine, over HTTP, against the Close sandbox. Each test starts its own
//! sandbox on 127.0.0.1, so no write leaks from one test into another.

use crosswalk::sandbox::RunningSandbox;
use crosswalk::{Account, Engine, ErrorKind, ListPage};
use crosswalk_tests::{mappings_dir, sandbox_seed, start_sandbox};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// Acme Robotics: a seed lead with an address, several contacts and most custom-field types.
const ACME: &str = "lead_BAbceJMTbOROU3T8caMd5p9D87KUk0DE3ij1NrnstCQ";
/// Northwind Solar: a seed lead with contacts, no custom fields.
const NORTHWIND: &str = "lead_VVjjPbaK6z95NU2BQzgoGLdXw9r9RlfdWsicUDbFaKV";
/// Oakmont Veterinary Clinics: a seed lead without contacts.
const OAKMONT: &str = "lead_QhpxYwmucdhn788eWgGUyysbskr3rWQ2me0d40jaYpJ";
/// The lead whose `name` is `""` (display_name "Harriet Okafor").
const NAME_EMPTY: &str = "lead_ErSxE8o4sjKdgevDVCVRfGpdkG63e11sqnQkPHCMfSO";
/// The lead whose `name` is null (display_name "Dmitri Volkov").
const NAME_NULL: &str = "lead_CvFsmHVBWYiZOngz4B0av08LEsc7FiBbXwK2RGCJyN5";

/// The seeded lead status "Customer".
const STATUS_CUSTOMER: &str = "stat_iQrL4w0RS1ARIf6sNsLLhpalznUvwm8A5e3veHftibH";
/// Seed users Dana Whitfield and Marco Ibarra.
const DANA: &str = "user_q08FuA4HQFYcDY9soN0Jc16OyhdHjICoqtM2xbd6j48";
const MARCO: &str = "user_hsIiHScrV0a7LLWfut2iV65JdcOJwLt9EXnzs1Vrxrn";

// Lead custom fields (`custom_field_lead.json`).
const CF_INDUSTRY: &str = "cf_gqG3Pl5u8wABurF8a2MdUJuh48wjaD1JF6CPGP6aY6h"; // choices
const CF_EMPLOYEES: &str = "cf_k4Pw0UA66kzNdqjbbPB0p975b1MkrREcqWacRbyyzee"; // number
const CF_RENEWAL_DATE: &str = "cf_z9HrIAp3RNgzeHE8KPf6XG82uZ27170dkxLYEc8OHC4"; // date
const CF_PRODUCTS: &str = "cf_7xEBhqkMtFNJkBmhaLx51tQONrhQScoO8nnW8MU00B7"; // multi-choices
const CF_LEAD_SCORE: &str = "cf_63eAFeP33owBtR65CpHZfZiigWg3abCt48yXeMnpdFu"; // number
const CF_LAST_DEMO: &str = "cf_aOa0LuC6bcJhX5nzMvQZknvXXNTbo1vSL1bySCkdzIe"; // datetime
const CF_ACCOUNT_TEAM: &str = "cf_EH0xBd7mbF0HZnSCV6BixFRDprQhPlAR2kJUkTvDgNC"; // multi-user
const CF_REFERRAL: &str = "cf_S5XA24N8OwhWpstKiZktKYBeHUMUedhFhMfbWkv9I7j"; // text

// Contact custom fields (`custom_field_contact.json`).
const CF_LANGUAGE: &str = "cf_08QIeS90CvV5ZGD3SwKuhOpa3KbYH1s08vcdAptp0Z1"; // choices
const CF_TOPICS: &str = "cf_DZpl0giqyj5ljoinvlKVjuMKeHDB2zHgSeK9odvVd3H"; // multi-choices
const CF_FIRST_MET: &str = "cf_hBsYYEzCT7NpWTm7GGXRjkKWbywNEgMQUJcKnMl7lhF"; // date

// ---------------------------------------------------------------------------------------------
// Helpers

fn seed(collection: &str) -> Vec<Value> {
    match sandbox_seed("close", collection) {
        Value::Array(records) => records,
        other => panic!("seed {collection} is not an array: {other}"),
    }
}

fn id_of(record: &Value) -> String {
    record["id"]
        .as_str()
        .unwrap_or_else(|| panic!("a record without a string id: {record}"))
        .to_owned()
}

fn seed_ids(collection: &str) -> Vec<String> {
    seed(collection).iter().map(id_of).collect()
}

/// The seed contacts of one lead, in seed order.
fn seed_contacts_of(lead: &str) -> Vec<Value> {
    seed("contact")
        .into_iter()
        .filter(|contact| contact["lead_id"] == lead)
        .collect()
}

fn seed_record(collection: &str, id: &str) -> Value {
    seed(collection)
        .into_iter()
        .find(|record| record["id"] == id)
        .unwrap_or_else(|| panic!("no {collection} {id} in the seed"))
}

/// Follows `next_cursor` from the first page to the last and returns every page.
async fn all_pages(
    engine: &Engine,
    account: &Account,
    resource: &str,
    limit: u64,
) -> Vec<ListPage> {
    let mut pages: Vec<ListPage> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        assert!(
            pages.len() <= 1000,
            "{resource} never stopped paging at limit {limit}"
        );
        let mut call = engine.list(account, resource).limit(limit);
        if let Some(cursor) = cursor.take() {
            call = call.cursor(cursor);
        }
        let page = call
            .await
            .unwrap_or_else(|e| panic!("{resource} page {} at limit {limit}: {e}", pages.len()));
        cursor = page.next_cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
    }
}

fn page_ids(pages: &[ListPage]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|page| page.result.iter().map(id_of))
        .collect()
}

/// The record without the keys named, for "everything else is unchanged" comparisons.
fn without(record: &Value, keys: &[&str]) -> Value {
    let mut copy = record.clone();
    let object = copy.as_object_mut().expect("a unified record is an object");
    for key in keys {
        object.remove(*key);
    }
    copy
}

/// `2026-02-11T16:04:51.902Z`: RFC 3339 in UTC with milliseconds, as the mapping normalises.
fn assert_millis_utc(value: &Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    let shape_ok = text.len() == 24
        && text.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            10 => c == 'T',
            13 | 16 => c == ':',
            19 => c == '.',
            23 => c == 'Z',
            _ => c.is_ascii_digit(),
        });
    assert!(
        shape_ok,
        "{what} is not like 2026-02-11T16:04:51.902Z: {text}"
    );
}

/// The raw Close object as the sandbox serves it, without the engine in between.
async fn raw_close(running: &RunningSandbox, path: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", running.base_url()))
        .basic_auth("sandbox", Some(""))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(response.status(), reqwest::StatusCode::OK, "GET {path}");
    response.json().await.expect("a JSON body")
}

fn schema(name: &str) -> Value {
    let path = mappings_dir().join(format!("../schemas/unified/crm/{name}.schema.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every schema violation of every record, one line each, naming the record.
fn schema_violations(schema_name: &str, records: &[Value]) -> Vec<String> {
    let schema = schema(schema_name);
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("{schema_name} schema does not compile: {e}"));
    let mut violations = Vec::new();
    for record in records {
        for error in validator.iter_errors(record) {
            violations.push(format!(
                "{schema_name} {}: at `{}`: {error}",
                record["id"], error.instance_path
            ));
        }
    }
    violations
}

/// A new account with a value in every writable field; returns the create response.
async fn create_full_account(engine: &Engine, account: &Account) -> (Value, Value) {
    let body = json!({
        "name": "Bluefin Logistics",
        "description": "Cold-chain freight between Gdynia and Rotterdam.",
        "website": "https://bluefin-logistics.example.com",
        "status": {"id": STATUS_CUSTOMER},
        "addresses": [
            {
                "street_1": "12 Harbour Road",
                "street_2": "Unit 4",
                "city": "Rotterdam",
                "state": "ZH",
                "postal_code": "3011 AA",
                "country": "NL",
                "type": "business"
            },
            {
                "street_1": "PO Box 881",
                "city": "Gdynia",
                "postal_code": "81-001",
                "country": "PL",
                "type": "mailing"
            }
        ],
        "custom_fields": {
            CF_INDUSTRY: "Logistics",
            CF_EMPLOYEES: 0,
            CF_LEAD_SCORE: 91.5,
            CF_RENEWAL_DATE: "2027-01-15",
            CF_LAST_DEMO: "2026-02-24T15:30:00+00:00",
            CF_PRODUCTS: ["Arm Controller", "Vision Kit"],
            CF_ACCOUNT_TEAM: [DANA, MARCO],
            CF_REFERRAL: "Trade fair"
        }
    });
    let created = engine
        .create(account, "crm/accounts", &body)
        .await
        .unwrap_or_else(|e| panic!("create account: {e}"));
    (body, created)
}

async fn create_full_contact(engine: &Engine, account: &Account) -> (Value, Value) {
    let body = json!({
        "first_name": "Ingrid",
        "last_name": "Salo",
        "title": "COO",
        "account": {"id": ACME},
        "email_addresses": [
            {"email": "ingrid.salo@acme-robotics.example.com", "type": "office"},
            {"email": "ingrid@example.com", "type": "home"}
        ],
        "phone_numbers": [{"number": "+14155550199", "type": "mobile"}],
        "urls": [{"url": "https://www.linkedin.com/in/ingrid-salo-example", "type": "url"}],
        "custom_fields": {
            CF_LANGUAGE: "English",
            CF_TOPICS: ["Product Updates", "Case Studies"],
            CF_FIRST_MET: "2026-03-14"
        }
    });
    let created = engine
        .create(account, "crm/contacts", &body)
        .await
        .unwrap_or_else(|e| panic!("create contact: {e}"));
    (body, created)
}

// ---------------------------------------------------------------------------------------------
// 1. Paging

#[tokio::test]
async fn account_pages_of_every_size_return_each_seed_lead_once_in_seed_order() {
    let (_running, engine, account) = start_sandbox("close").await;
    let expected = seed_ids("lead");
    assert_eq!(expected.len(), 32, "the seed README promises 32 leads");
    for limit in [1u64, 7, 10, 32, 100, 200] {
        let pages = all_pages(&engine, &account, "crm/accounts", limit).await;
        assert_eq!(page_ids(&pages), expected, "limit {limit}");
        let sizes: Vec<usize> = pages.iter().map(ListPage::result_count).collect();
        let expected_sizes: Vec<usize> = expected
            .chunks(limit as usize)
            .map(<[String]>::len)
            .collect();
        assert_eq!(sizes, expected_sizes, "page sizes at limit {limit}");
        assert_eq!(pages.last().and_then(|p| p.next_cursor.clone()), None);
    }
}

#[tokio::test]
async fn contact_pages_return_each_seed_contact_once_and_clamp_the_limit_to_100() {
    let (_running, engine, account) = start_sandbox("close").await;
    let expected = seed_ids("contact");
    assert_eq!(expected.len(), 59, "the seed README promises 59 contacts");
    for (limit, per_page) in [
        (1u64, 1usize),
        (13, 13),
        (100, 100),
        (101, 100),
        (1000, 100),
    ] {
        let pages = all_pages(&engine, &account, "crm/contacts", limit).await;
        assert_eq!(page_ids(&pages), expected, "limit {limit}");
        assert_eq!(
            pages.len(),
            expected.len().div_ceil(per_page),
            "page count at limit {limit}"
        );
        assert!(
            pages.iter().all(|page| page.result_count() <= per_page),
            "a page larger than {per_page} at limit {limit}"
        );
        assert_eq!(pages.last().and_then(|p| p.next_cursor.clone()), None);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Streams

#[tokio::test]
async fn a_stream_yields_every_seed_lead_exactly_once() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records: Vec<Value> = engine
        .list(&account, "crm/accounts")
        .limit(7)
        .stream()
        .map(|record| record.unwrap_or_else(|e| panic!("stream item: {e}")))
        .collect()
        .await;
    let ids: Vec<String> = records.iter().map(id_of).collect();
    assert_eq!(ids, seed_ids("lead"));
}

#[tokio::test]
async fn a_stream_started_from_a_cursor_continues_after_that_page() {
    let (_running, engine, account) = start_sandbox("close").await;
    let expected = seed_ids("lead");
    let first = engine
        .list(&account, "crm/accounts")
        .limit(10)
        .await
        .expect("first page");
    assert_eq!(page_ids(std::slice::from_ref(&first)), expected[..10]);
    let cursor = first
        .next_cursor
        .expect("32 leads at 10 a page have a second page");

    let rest: Vec<String> = engine
        .list(&account, "crm/accounts")
        .limit(10)
        .cursor(cursor)
        .stream()
        .map(|record| id_of(&record.unwrap_or_else(|e| panic!("stream item: {e}"))))
        .collect()
        .await;
    assert_eq!(rest, expected[10..]);
}

#[tokio::test]
async fn a_stream_from_a_garbage_cursor_yields_one_input_error() {
    let (_running, engine, account) = start_sandbox("close").await;
    let items: Vec<_> = engine
        .list(&account, "crm/accounts")
        .cursor("abc")
        .stream()
        .collect()
        .await;
    assert_eq!(items.len(), 1, "one error and nothing else");
    let error = items
        .into_iter()
        .next()
        .and_then(Result::err)
        .expect("an error");
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
}

// ---------------------------------------------------------------------------------------------
// 3. Refused cursors and limits

#[tokio::test]
async fn an_accounts_cursor_is_refused_by_contacts() {
    let (_running, engine, account) = start_sandbox("close").await;
    let page = engine
        .list(&account, "crm/accounts")
        .limit(5)
        .await
        .expect("first page");
    let cursor = page.next_cursor.expect("a second page");

    let error = engine
        .list(&account, "crm/contacts")
        .limit(5)
        .cursor(cursor.clone())
        .await
        .expect_err("a cursor of another resource is refused");
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
    assert_eq!(error.details()["cursor"], cursor.as_str());

    // The same cursor still works where it came from.
    let next = engine
        .list(&account, "crm/accounts")
        .cursor(cursor)
        .await
        .expect("the cursor pages its own resource");
    assert_eq!(page_ids(&[next]), seed_ids("lead")[5..10]);
}

#[tokio::test]
async fn garbage_cursors_are_input_errors() {
    let (_running, engine, account) = start_sandbox("close").await;
    // `eyJ2IjoxfQ` is base64url of `{"v":1}`: a well-formed token with no state or checksum.
    for garbage in ["", "abc", "eyJ2IjoxfQ", "eyJ2IjoxfQ==", "!!!"] {
        let error = engine
            .list(&account, "crm/accounts")
            .cursor(garbage)
            .await
            .expect_err(garbage);
        assert_eq!(
            error.kind(),
            ErrorKind::Input,
            "cursor {garbage:?}: {error}"
        );
        assert_eq!(error.status_code(), 400, "cursor {garbage:?}");
    }
}

#[tokio::test]
async fn a_cursor_replayed_with_another_filter_is_refused() {
    let (_running, engine, account) = start_sandbox("close").await;
    let acme_contacts: Vec<String> = seed_contacts_of(ACME).iter().map(id_of).collect();
    assert!(acme_contacts.len() > 1);
    let first = engine
        .list(&account, "crm/contacts")
        .filter("account_id", ACME)
        .limit(1)
        .await
        .expect("first page");
    let cursor = first.next_cursor.expect("Acme has more than one contact");

    for (what, call) in [
        (
            "another account_id",
            engine
                .list(&account, "crm/contacts")
                .filter("account_id", NORTHWIND)
                .cursor(cursor.clone()),
        ),
        (
            "no filter",
            engine.list(&account, "crm/contacts").cursor(cursor.clone()),
        ),
    ] {
        let error = call.await.expect_err(what);
        assert_eq!(error.kind(), ErrorKind::Input, "{what}: {error}");
    }

    let second = engine
        .list(&account, "crm/contacts")
        .filter("account_id", ACME)
        .cursor(cursor)
        .await
        .expect("the same filter accepts its cursor");
    assert_eq!(page_ids(&[second]), acme_contacts[1..2]);
}

#[tokio::test]
async fn a_limit_of_zero_is_an_input_error() {
    let (_running, engine, account) = start_sandbox("close").await;
    for resource in ["crm/accounts", "crm/contacts"] {
        let error = engine
            .list(&account, resource)
            .limit(0)
            .await
            .expect_err(resource);
        assert_eq!(error.kind(), ErrorKind::Input, "{resource}: {error}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Reading accounts

#[tokio::test]
async fn get_maps_a_seed_lead_to_the_unified_account() {
    let (running, engine, account) = start_sandbox("close").await;
    let lead = seed_record("lead", ACME);
    let record = engine
        .get(&account, "crm/accounts", ACME)
        .await
        .expect("get Acme");

    let contacts: Vec<Value> = seed_contacts_of(ACME)
        .iter()
        .map(|contact| {
            // Close's own fallback: an empty or missing name shows the display name.
            let name = match &contact["name"] {
                Value::String(name) if !name.is_empty() => contact["name"].clone(),
                _ => contact["display_name"].clone(),
            };
            json!({"id": contact["id"], "name": name})
        })
        .collect();
    assert!(contacts.len() > 1);
    let custom_fields: serde_json::Map<String, Value> = lead
        .as_object()
        .expect("a lead object")
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix("custom.")?.to_owned(), value.clone())))
        .collect();
    assert_eq!(custom_fields.len(), 9);

    let expected = json!({
        "id": ACME,
        "name": "Acme Robotics",
        "description": lead["description"],
        "website": "https://acme-robotics.example.com",
        "urls": [
            {"url": "https://acme-robotics.example.com", "type": "website"},
            {"url": format!("https://app.close.com/lead/{ACME}/"), "type": "remote"}
        ],
        "industry": null,
        "number_of_employees": null,
        "owner": null,
        "addresses": [{
            "id": null,
            "street_1": "1200 Foundry Way",
            "street_2": "Suite 400",
            "city": "Columbus",
            "state": "OH",
            "postal_code": "43215",
            "country": "US",
            "type": "business"
        }],
        "phone_numbers": [],
        "tags": [],
        "status": {"id": "stat_XdelS9cJ4Jx5os6cV4H2EgCjaKsOVK1yzw0hZk5QPJF", "name": "Qualified"},
        "contacts": contacts,
        "custom_fields": custom_fields,
        "last_activity_at": null,
        "created_at": "2026-02-11T16:04:51.902Z",
        "updated_at": "2026-03-03T14:05:13.004Z"
    });
    assert_eq!(without(&record, &["remote_data"]), expected);
    assert_eq!(
        record["remote_data"],
        raw_close(&running, &format!("/lead/{ACME}/")).await,
        "remote_data is the sandbox's lead, untouched"
    );
}

#[tokio::test]
async fn get_without_remote_data_leaves_it_out() {
    let (_running, engine, account) = start_sandbox("close").await;
    let with = engine
        .get(&account, "crm/accounts", ACME)
        .await
        .expect("get with remote_data");
    let lean = engine
        .get(&account, "crm/accounts", ACME)
        .remote_data(false)
        .await
        .expect("get without remote_data");
    assert!(with.get("remote_data").is_some());
    assert_eq!(lean.get("remote_data"), None);
    assert_eq!(lean, without(&with, &["remote_data"]));

    let page = engine
        .list(&account, "crm/accounts")
        .remote_data(false)
        .limit(5)
        .await
        .expect("a page without remote_data");
    assert_eq!(page.result_count(), 5);
    assert!(page.result.iter().all(|r| r.get("remote_data").is_none()));
}

#[tokio::test]
async fn a_lead_with_an_empty_or_null_name_is_named_by_its_display_name() {
    let (_running, engine, account) = start_sandbox("close").await;
    for (id, raw_name, expected) in [
        (NAME_EMPTY, json!(""), "Harriet Okafor"),
        (NAME_NULL, Value::Null, "Dmitri Volkov"),
    ] {
        assert_eq!(seed_record("lead", id)["name"], raw_name, "seed of {id}");
        let record = engine
            .get(&account, "crm/accounts", id)
            .await
            .unwrap_or_else(|e| panic!("get {id}: {e}"));
        assert_eq!(record["name"], expected, "{id}");
        assert_eq!(record["remote_data"]["name"], raw_name, "{id}");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Accounts round trip

#[tokio::test]
async fn a_created_account_reads_back_every_field() {
    let (_running, engine, account) = start_sandbox("close").await;
    let (body, created) = create_full_account(&engine, &account).await;
    let id = id_of(&created);
    assert!(id.starts_with("lead_") && id.len() == 5 + 43, "{id}");

    let fetched = engine
        .get(&account, "crm/accounts", &id)
        .await
        .expect("get the new account");
    assert_eq!(fetched, created, "get shows what create returned");

    let expected = json!({
        "id": id,
        "name": "Bluefin Logistics",
        "description": body["description"],
        "website": "https://bluefin-logistics.example.com",
        "urls": [
            {"url": "https://bluefin-logistics.example.com", "type": "website"},
            {"url": format!("https://app.close.com/lead/{id}/"), "type": "remote"}
        ],
        "industry": null,
        "number_of_employees": null,
        "owner": null,
        "addresses": [
            {
                "id": null,
                "street_1": "12 Harbour Road",
                "street_2": "Unit 4",
                "city": "Rotterdam",
                "state": "ZH",
                "postal_code": "3011 AA",
                "country": "NL",
                "type": "business"
            },
            {
                "id": null,
                "street_1": "PO Box 881",
                "street_2": null,
                "city": "Gdynia",
                "state": null,
                "postal_code": "81-001",
                "country": "PL",
                "type": "mailing"
            }
        ],
        "phone_numbers": [],
        "tags": [],
        "status": {"id": STATUS_CUSTOMER, "name": "Customer"},
        "contacts": [],
        "custom_fields": body["custom_fields"],
        "last_activity_at": null
    });
    assert_eq!(
        without(&fetched, &["remote_data", "created_at", "updated_at"]),
        expected
    );
    assert_eq!(fetched["custom_fields"][CF_EMPLOYEES], json!(0));
    assert_millis_utc(&fetched["created_at"], "created_at");
    assert_millis_utc(&fetched["updated_at"], "updated_at");
}

#[tokio::test]
async fn an_account_update_changes_only_the_fields_it_names() {
    let (_running, engine, account) = start_sandbox("close").await;
    let (_, created) = create_full_account(&engine, &account).await;
    let id = id_of(&created);

    let change = json!({
        "description": "Now also ships to Hamburg.",
        "custom_fields": {
            CF_RENEWAL_DATE: null,
            CF_PRODUCTS: ["Safety Fence"]
        }
    });
    let updated = engine
        .update(&account, "crm/accounts", &id, &change)
        .await
        .expect("update the account");
    let fetched = engine
        .get(&account, "crm/accounts", &id)
        .await
        .expect("get the updated account");
    assert_eq!(fetched, updated, "get shows what update returned");

    assert_eq!(fetched["description"], "Now also ships to Hamburg.");
    let mut custom_fields = created["custom_fields"].clone();
    let fields = custom_fields.as_object_mut().expect("custom_fields object");
    fields.remove(CF_RENEWAL_DATE);
    fields.insert(CF_PRODUCTS.to_owned(), json!(["Safety Fence"]));
    assert_eq!(fetched["custom_fields"], custom_fields);
    assert!(
        fetched["custom_fields"].get(CF_RENEWAL_DATE).is_none(),
        "a custom field set to null is gone: {}",
        fetched["custom_fields"]
    );
    assert_eq!(fetched["custom_fields"][CF_EMPLOYEES], json!(0));

    let untouched = ["description", "custom_fields", "updated_at", "remote_data"];
    assert_eq!(
        without(&fetched, &untouched),
        without(&created, &untouched),
        "name, website, addresses, status and the rest are unchanged"
    );
    assert_eq!(fetched["name"], "Bluefin Logistics");
    assert_eq!(fetched["website"], "https://bluefin-logistics.example.com");
    assert_eq!(fetched["addresses"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn an_account_update_to_null_clears_website_and_description() {
    let (running, engine, account) = start_sandbox("close").await;
    let (_, created) = create_full_account(&engine, &account).await;
    let id = id_of(&created);
    assert!(created["website"].is_string() && created["description"].is_string());

    let change = json!({"website": null, "description": null});
    let updated = engine
        .update(&account, "crm/accounts", &id, &change)
        .await
        .expect("update the account");
    assert_eq!(updated["website"], Value::Null, "website was set to null");
    assert_eq!(
        updated["description"],
        Value::Null,
        "description was set to null"
    );
    let raw = raw_close(&running, &format!("/lead/{id}/")).await;
    assert_eq!(raw["url"], Value::Null, "Close's url is cleared");
}

#[tokio::test]
async fn a_deleted_account_is_not_found() {
    let (_running, engine, account) = start_sandbox("close").await;
    let (_, created) = create_full_account(&engine, &account).await;
    let id = id_of(&created);

    let deleted = engine
        .delete(&account, "crm/accounts", &id)
        .await
        .expect("delete the account");
    assert_eq!(deleted, json!({"id": id}));

    let error = engine
        .get(&account, "crm/accounts", &id)
        .await
        .expect_err("a deleted account is gone");
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert_eq!(error.upstream().map(|u| u.status), Some(404));
    assert_eq!(error.status_code(), 404);

    let listed = page_ids(&all_pages(&engine, &account, "crm/accounts", 200).await);
    assert_eq!(listed, seed_ids("lead"), "the list is back to the seed");
}

// ---------------------------------------------------------------------------------------------
// 6. Contacts round trip and filters

#[tokio::test]
async fn a_created_contact_reads_back_every_field() {
    let (running, engine, account) = start_sandbox("close").await;
    let (body, created) = create_full_contact(&engine, &account).await;
    let id = id_of(&created);
    assert!(id.starts_with("cont_") && id.len() == 5 + 43, "{id}");

    let fetched = engine
        .get(&account, "crm/contacts", &id)
        .await
        .expect("get the new contact");
    assert_eq!(fetched, created, "get shows what create returned");

    let expected = json!({
        "id": id,
        "name": "Ingrid Salo",
        "first_name": "Ingrid",
        "last_name": "Salo",
        "title": "COO",
        "account": {"id": ACME},
        "email_addresses": [
            {"id": null, "email": "ingrid.salo@acme-robotics.example.com", "type": "office"},
            {"id": null, "email": "ingrid@example.com", "type": "home"}
        ],
        "phone_numbers": [
            {"id": null, "number": "+14155550199", "extension": null, "type": "mobile"}
        ],
        "urls": [{"url": "https://www.linkedin.com/in/ingrid-salo-example", "type": "url"}],
        "addresses": [],
        "tags": [],
        "owner": null,
        "custom_fields": body["custom_fields"],
        "last_activity_at": null
    });
    assert_eq!(
        without(
            &fetched,
            &["remote_data", "etag", "created_at", "updated_at"]
        ),
        expected
    );
    assert_eq!(fetched["etag"], fetched["remote_data"]["date_updated"]);
    assert_millis_utc(&fetched["created_at"], "created_at");
    assert_millis_utc(&fetched["updated_at"], "updated_at");
    assert_eq!(
        fetched["remote_data"],
        raw_close(&running, &format!("/contact/{id}/")).await
    );

    // The lead now lists the new contact last in its summary.
    let acme = engine
        .get(&account, "crm/accounts", ACME)
        .await
        .expect("get Acme");
    let summary = acme["contacts"].as_array().expect("contacts");
    assert_eq!(summary.len(), seed_contacts_of(ACME).len() + 1);
    assert_eq!(
        summary.last(),
        Some(&json!({"id": id, "name": "Ingrid Salo"}))
    );
}

#[tokio::test]
async fn a_contact_update_changes_only_the_title() {
    let (_running, engine, account) = start_sandbox("close").await;
    let (_, created) = create_full_contact(&engine, &account).await;
    let id = id_of(&created);

    let change = json!({"title": "Chief Operating Officer"});
    let updated = engine
        .update(&account, "crm/contacts", &id, &change)
        .await
        .expect("update the contact");
    let fetched = engine
        .get(&account, "crm/contacts", &id)
        .await
        .expect("get the updated contact");
    assert_eq!(fetched, updated, "get shows what update returned");
    assert_eq!(fetched["title"], "Chief Operating Officer");

    let untouched = ["title", "etag", "updated_at", "remote_data"];
    assert_eq!(
        without(&fetched, &untouched),
        without(&created, &untouched),
        "name, account, emails, phones, urls and custom fields are unchanged"
    );
    assert_eq!(fetched["name"], "Ingrid Salo");
    assert_eq!(fetched["first_name"], "Ingrid");
    assert_eq!(fetched["last_name"], "Salo");
}

#[tokio::test]
async fn a_contact_update_to_null_clears_the_title() {
    let (_running, engine, account) = start_sandbox("close").await;
    let (_, created) = create_full_contact(&engine, &account).await;
    let id = id_of(&created);
    assert_eq!(created["title"], "COO");

    let updated = engine
        .update(&account, "crm/contacts", &id, &json!({"title": null}))
        .await
        .expect("update the contact");
    assert_eq!(updated["title"], Value::Null, "title was set to null");
    assert_eq!(updated["name"], "Ingrid Salo");
}

#[tokio::test]
async fn a_deleted_contact_is_not_found() {
    let (_running, engine, account) = start_sandbox("close").await;
    let (_, created) = create_full_contact(&engine, &account).await;
    let id = id_of(&created);

    let deleted = engine
        .delete(&account, "crm/contacts", &id)
        .await
        .expect("delete the contact");
    assert_eq!(deleted, json!({"id": id}));

    let error = engine
        .get(&account, "crm/contacts", &id)
        .await
        .expect_err("a deleted contact is gone");
    assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
    assert_eq!(error.upstream().map(|u| u.status), Some(404));

    let remaining = engine
        .list(&account, "crm/contacts")
        .filter("account_id", ACME)
        .await
        .expect("Acme's contacts");
    let expected: Vec<String> = seed_contacts_of(ACME).iter().map(id_of).collect();
    assert_eq!(page_ids(&[remaining]), expected);
}

#[tokio::test]
async fn contacts_filtered_by_account_id_are_exactly_that_leads_contacts() {
    let (_running, engine, account) = start_sandbox("close").await;
    for lead in [ACME, NORTHWIND, OAKMONT] {
        let expected: Vec<String> = seed_contacts_of(lead).iter().map(id_of).collect();
        let page = engine
            .list(&account, "crm/contacts")
            .filter("account_id", lead)
            .await
            .unwrap_or_else(|e| panic!("contacts of {lead}: {e}"));
        assert_eq!(page.next_cursor, None, "{lead}");
        assert!(
            page.result.iter().all(|c| c["account"]["id"] == lead),
            "{lead}"
        );
        assert_eq!(page_ids(&[page]), expected, "{lead}");
    }
    assert!(!seed_contacts_of(ACME).is_empty() && seed_contacts_of(OAKMONT).is_empty());
}

#[tokio::test]
async fn an_unsupported_contact_filter_is_an_input_error_listing_the_supported_ones() {
    let (_running, engine, account) = start_sandbox("close").await;
    let error = engine
        .list(&account, "crm/contacts")
        .filter("industry", "Logistics")
        .await
        .expect_err("industry is not a contact filter");
    assert_eq!(error.kind(), ErrorKind::Input, "{error}");
    assert_eq!(error.details()["supported"], json!(["account_id"]));
    assert_eq!(error.details()["unsupported"], json!(["industry"]));
}

// ---------------------------------------------------------------------------------------------
// 7. Schemas

#[tokio::test]
async fn every_listed_account_validates_against_the_unified_schema() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records: Vec<Value> = engine
        .list(&account, "crm/accounts")
        .stream()
        .map(|record| record.unwrap_or_else(|e| panic!("stream item: {e}")))
        .collect()
        .await;
    assert_eq!(records.len(), seed_ids("lead").len());
    assert!(records.iter().all(|r| r["remote_data"].is_object()));
    let violations = schema_violations("account", &records);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[tokio::test]
async fn every_listed_contact_validates_against_the_unified_schema() {
    let (_running, engine, account) = start_sandbox("close").await;
    let records: Vec<Value> = engine
        .list(&account, "crm/contacts")
        .stream()
        .map(|record| record.unwrap_or_else(|e| panic!("stream item: {e}")))
        .collect()
        .await;
    assert_eq!(records.len(), seed_ids("contact").len());
    assert!(records.iter().all(|r| r["remote_data"].is_object()));
    let violations = schema_violations("contact", &records);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_schemas_reject_a_record_missing_required_fields() {
    // Guards the two tests above: a validator that accepts everything would pass them.
    let violations = schema_violations("account", &[json!({"id": "lead_x", "industry": 3})]);
    assert!(violations.len() >= 2, "{violations:?}");
    let violations = schema_violations("contact", &[json!({"id": ""})]);
    assert!(!violations.is_empty());
}

// ---------------------------------------------------------------------------------------------
// 8. Non-ASCII

#[tokio::test]
async fn a_non_ascii_account_name_survives_a_round_trip() {
    let (running, engine, account) = start_sandbox("close").await;
    let name = "Łódź Logistyka — 東京";
    let body = json!({
        "name": name,
        "description": "Spedycja chłodnicza · 冷蔵輸送 · 🚚",
        "addresses": [{"city": "Łódź", "country": "PL", "type": "business"}]
    });
    let created = engine
        .create(&account, "crm/accounts", &body)
        .await
        .expect("create");
    let id = id_of(&created);
    let fetched = engine
        .get(&account, "crm/accounts", &id)
        .await
        .expect("get");
    assert_eq!(fetched["name"], name);
    assert_eq!(fetched["description"], body["description"]);
    assert_eq!(fetched["addresses"][0]["city"], "Łódź");
    let raw = raw_close(&running, &format!("/lead/{id}/")).await;
    assert_eq!(raw["name"], name, "stored upstream as sent");
    assert_eq!(raw["display_name"], name);
}

// ---------------------------------------------------------------------------------------------
// 9. Upstream validation errors

#[tokio::test]
async fn a_contact_on_a_missing_lead_is_an_upstream_400_naming_the_field() {
    let (_running, engine, account) = start_sandbox("close").await;
    let body = json!({"name": "Nobody Here", "account": {"id": "lead_doesnotexist"}});
    let error = engine
        .create(&account, "crm/contacts", &body)
        .await
        .expect_err("the sandbox refuses a missing lead");
    assert_eq!(error.kind(), ErrorKind::Upstream, "{error}");
    assert_eq!(error.status_code(), 400);
    assert_eq!(error.upstream().map(|u| u.status), Some(400));
    assert_eq!(
        error.details()["failures"],
        json!([{"field": "lead", "message": "Object does not exist."}])
    );
    assert!(
        error.message().contains("Object does not exist."),
        "{}",
        error.message()
    );

    let contacts = page_ids(&all_pages(&engine, &account, "crm/contacts", 100).await);
    assert_eq!(contacts, seed_ids("contact"), "nothing was created");
}
