//! Search endpoints and embed projections over real HTTP, driven by a made-up clubs API
//! whose query language looks nothing like any real one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use super::{RunningSandbox, Sandbox};

const DEFINITION: &str = r#"
base_path: /api
trailing_slash: required
responses:
  field_error: {status: 422, body: {bad: {"{{ field }}": "{{ message }}"}}}
collections:
  - name: club
    path: /clubs/
    seed: seed/clubs.json
    embeds:
      - {field: members, collection: member, foreign_key: club_id, fields: [id, name]}
      - field: captains
        collection: member
        foreign_key: club_id
        where: {captain: true}
        fields: [id]
        expand: {home: {collection: club, field: club_id}}
  - name: member
    path: /members/
    seed: seed/members.json
searches:
  - path: /find/
    max_limit: 3
    default_limit: 2
    request: {query: q, fields: show, limit: size, cursor: after, results_limit: cap, include_counts: counts, sort: order}
    response: {data: found, cursor: after, type: kind, count: counted}
    objects:
      club: {collection: club, text: [name, motto]}
      member: {collection: member, text: [name]}
      shadow: {collection: member, results: false}
      address: {items_of: member, list: addresses, text: [at]}
    relations:
      - {from: club, to: member, foreign_key: club_id}
      - {from: member, to: club, key: club_id}
      - {from: club, to: address, through: member}
    language:
      kind_key: op
      negate: not
      nodes:
        every: {kind: all, queries: of}
        some: {kind: any, queries: of}
        kind: {kind: object_type, value: is}
        key: {kind: id, value: is}
        anything: {kind: everything}
        says: {kind: text, value: text, mode: how}
        where: {kind: field, field: field, condition: test}
        has: {kind: related, this: on, related: what, query: that}
      fields:
        attr: {object_type: on, name: attr}
        extra: {name: slot, prefix: "x."}
      conditions:
        contains: {kind: text, value: text, mode: how}
        among: {kind: one_of, values: values}
        present: {kind: exists}
        between: {kind: range, gte: from, lt: until, value: at}
        above: {kind: range, gt: over}
      modes: {loose: words, together: phrase, same: exact}
      sort: {field: by, direction: dir, descending: down}
    messages:
      invalid_query: "bad query: {{ problem }}"
      invalid_cursor: "stale"
"#;

const CLUBS: &str = r#"[
  {"id": "c1", "name": "Harbour Rowing", "motto": "Row together", "rank": 2},
  {"id": "c2", "name": "Hill Runners", "motto": "Up and over", "rank": 1},
  {"id": "c3", "name": "Night Owls Chess", "motto": null, "rank": 3}
]"#;

const MEMBERS: &str = r#"[
  {"id": "m1", "club_id": "c1", "name": "Ada Lind", "captain": true, "x.level": "gold",
   "addresses": [{"at": "ada@harbour.example", "kind": "work"}]},
  {"id": "m2", "club_id": "c1", "name": "Bo Tran", "captain": false,
   "addresses": [{"at": "bo@mail.example", "kind": "home"}, {"at": "bo@harbour.example.net", "kind": "work"}]},
  {"id": "m3", "club_id": "c2", "name": "Cy Harbour", "captain": true, "x.level": ["silver", "gold"],
   "addresses": []},
  {"id": "m4", "club_id": "c3", "name": "Di Okoro", "captain": false}
]"#;

struct Folder(PathBuf);

impl Folder {
    fn new(definition: &str) -> Folder {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "sandbox-search-test-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(dir.join("seed")).expect("temp folder");
        std::fs::write(dir.join("sandbox.yaml"), definition).expect("definition");
        std::fs::write(dir.join("seed/clubs.json"), CLUBS).expect("seed");
        std::fs::write(dir.join("seed/members.json"), MEMBERS).expect("seed");
        Folder(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Api {
    running: RunningSandbox,
    client: Client,
    _folder: Folder,
}

impl Api {
    async fn start() -> Api {
        let folder = Folder::new(DEFINITION);
        let sandbox = Sandbox::load(folder.path()).expect("loads");
        let running = sandbox.bind(0).await.expect("starts");
        Api {
            running,
            client: Client::new(),
            _folder: folder,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.running.base_url());
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sends");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn find(&self, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/find/", Some(body)).await
    }

    /// The `kind:id` of every hit of a query, following every page.
    async fn hits(&self, query: Value) -> Vec<String> {
        let mut found = Vec::new();
        let mut after = Value::Null;
        for _ in 0..20 {
            let (status, body) = self
                .find(json!({"q": query, "size": 3, "after": after}))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            for hit in body["found"].as_array().expect("found") {
                found.push(format!(
                    "{}:{}",
                    hit["kind"].as_str().unwrap(),
                    hit["id"].as_str().unwrap()
                ));
            }
            after = body["after"].clone();
            if after.is_null() {
                return found;
            }
        }
        panic!("the search never ended");
    }
}

fn words(field: &str, on: &str, text: &str, how: &str) -> Value {
    json!({"op": "where", "field": {"op": "attr", "on": on, "attr": field},
           "test": {"op": "contains", "text": text, "how": how}})
}

#[tokio::test]
async fn finds_by_type_text_field_and_related_records() {
    let api = Api::start().await;
    assert_eq!(
        api.hits(json!({"op": "kind", "is": "club"})).await,
        ["club:c1", "club:c2", "club:c3"]
    );
    // A bare text matches the type's text fields, as whole words without case.
    assert_eq!(
        api.hits(json!({"op": "says", "text": "HARBOUR"})).await,
        ["club:c1", "member:m3"]
    );
    assert!(api
        .hits(json!({"op": "says", "text": "harb"}))
        .await
        .is_empty());
    // Clubs with a member at an address on harbour.example: words match the longer
    // harbour.example.net too, a phrase in a row does not tell them apart either; exact does.
    let on_domain = |how: &str| {
        json!({"op": "every", "of": [
            {"op": "kind", "is": "club"},
            {"op": "has", "on": "club", "what": "address", "that": words("at", "address", "bo@harbour.example", how)}
        ]})
    };
    assert_eq!(api.hits(on_domain("loose")).await, ["club:c1"]);
    assert_eq!(api.hits(on_domain("together")).await, ["club:c1"]);
    assert!(api.hits(on_domain("same")).await.is_empty());
    // A field of a related type: members whose club's motto says "together".
    assert_eq!(
        api.hits(json!({"op": "every", "of": [
            {"op": "kind", "is": "member"},
            words("motto", "club", "together", "loose")
        ]}))
        .await,
        ["member:m1", "member:m2"]
    );
    // `some`, `not`, `key`, `anything` and a `has` about another type.
    assert_eq!(
        api.hits(json!({"op": "some", "of": [
            {"op": "key", "is": "c3"},
            {"op": "every", "of": [{"op": "kind", "is": "member"}, {"op": "key", "is": "m2", "not": true},
                                    {"op": "has", "on": "member", "what": "club", "that": {"op": "key", "is": "c1"}}]}
        ]}))
        .await,
        ["club:c3", "member:m1"]
    );
    assert_eq!(
        api.hits(json!({"op": "every", "of": [
            {"op": "anything"},
            {"op": "has", "on": "club", "what": "member", "that": {"op": "anything"}}
        ]}))
        .await,
        ["club:c1", "club:c2", "club:c3"]
    );
}

#[tokio::test]
async fn conditions_read_prefixed_fields_lists_and_presence() {
    let api = Api::start().await;
    let extra = |test: Value| json!({"op": "where", "field": {"op": "extra", "slot": "level"}, "test": test});
    assert_eq!(
        api.hits(extra(json!({"op": "among", "values": ["gold"]})))
            .await,
        ["member:m1", "member:m3"]
    );
    assert_eq!(
        api.hits(extra(json!({"op": "contains", "text": "silver"})))
            .await,
        ["member:m3"]
    );
    assert_eq!(
        api.hits(json!({"op": "every", "of": [
            {"op": "kind", "is": "club"},
            {"op": "where", "field": {"op": "attr", "on": "club", "attr": "motto"}, "test": {"op": "present"}, "not": true}
        ]}))
        .await,
        ["club:c3"]
    );
}

#[tokio::test]
async fn ranges_compare_numbers_and_instants() {
    let api = Api::start().await;
    let rank = |test: Value| {
        json!({"op": "every", "of": [
            {"op": "kind", "is": "club"},
            {"op": "where", "field": {"op": "attr", "on": "club", "attr": "rank"}, "test": test}
        ]})
    };
    assert_eq!(
        api.hits(rank(json!({"op": "above", "over": 1}))).await,
        ["club:c1", "club:c3"]
    );
    assert_eq!(
        api.hits(rank(
            json!({"op": "between", "from": {"at": 1}, "until": {"at": "3"}})
        ))
        .await,
        ["club:c1", "club:c2"]
    );
    let (status, body) = api.find(json!({"q": rank(json!({"op": "between"}))})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["bad"]["q"].as_str().unwrap().contains("needs a bound"),
        "{body}"
    );
}

#[tokio::test]
async fn pages_with_a_bound_cursor_and_shows_the_fields_asked() {
    let api = Api::start().await;
    let query = json!({"op": "kind", "is": "club"});
    let (status, first) = api
        .find(json!({"q": query, "show": {"club": ["motto", "members", "id", "nope"]}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // The default page size is 2; fields come in the order asked, embeds included.
    assert_eq!(
        first["found"][0],
        json!({"kind": "club", "id": "c1", "motto": "Row together",
               "members": [{"id": "m1", "name": "Ada Lind"}, {"id": "m2", "name": "Bo Tran"}]})
    );
    assert_eq!(first["found"].as_array().unwrap().len(), 2);
    let after = first["after"].clone();
    assert!(after.is_string(), "{first}");
    let (_, second) = api
        .find(json!({"q": query, "show": {"club": ["motto", "members", "id", "nope"]}, "after": after}))
        .await;
    assert_eq!(second["found"][0]["id"], "c3");
    assert_eq!(second["after"], Value::Null);
    // The same cursor with another query is refused.
    let (status, refused) = api
        .find(json!({"q": {"op": "kind", "is": "member"}, "after": after}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused, json!({"bad": {"after": "stale"}}));
    // Without fields a hit is its type and id; counts and a cap on the hits.
    let (_, capped) = api
        .find(json!({"q": {"op": "anything"}, "size": 3, "cap": 4, "counts": true}))
        .await;
    assert_eq!(capped["found"][0], json!({"kind": "club", "id": "c1"}));
    assert_eq!(capped["counted"], json!({"limited": 4, "total": 7}));
    let (_, last) = api
        .find(json!({"q": {"op": "anything"}, "size": 3, "cap": 4, "after": capped["after"]}))
        .await;
    assert_eq!(last["found"].as_array().unwrap().len(), 1);
    assert_eq!(last["after"], Value::Null);
}

#[tokio::test]
async fn sorts_by_the_fields_given() {
    let api = Api::start().await;
    let (_, body) = api
        .find(json!({"q": {"op": "kind", "is": "club"}, "size": 3,
                     "order": [{"by": {"op": "attr", "on": "club", "attr": "rank"}, "dir": "down"}]}))
        .await;
    let ids: Vec<&str> = body["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c3", "c1", "c2"]);
}

#[tokio::test]
async fn refuses_bad_queries_and_sizes_with_the_declared_errors() {
    let api = Api::start().await;
    let cases = [
        (
            json!({"q": {"op": "nope"}}),
            "q",
            "unknown query type `nope`",
        ),
        (
            json!({"q": {"op": "kind", "is": "address"}}),
            "q",
            "`address` cannot be searched",
        ),
        (json!({"q": {"op": "kind"}}), "q", "needs a string `is`"),
        (
            json!({"q": {"op": "kind", "is": "shadow"}}),
            "q",
            "`shadow` cannot be searched; searchable: club, member",
        ),
        (
            json!({"q": {"op": "says", "text": "x", "how": "fuzzy"}}),
            "q",
            "unknown text mode `fuzzy`",
        ),
        (
            json!({"q": {"op": "has", "what": "club", "that": {"op": "anything"}}}),
            "q",
            "`club` has no related `club`",
        ),
        (
            json!({"q": {"op": "anything"}, "size": 4}),
            "size",
            "must be at most 3",
        ),
        (
            json!({"q": {"op": "anything"}, "size": "two"}),
            "size",
            "must be an integer",
        ),
    ];
    for (body, field, needle) in cases {
        let (status, answer) = api.find(body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let message = answer["bad"][field].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}: {answer}");
    }
    let (status, _) = api.call(Method::GET, "/find/", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn embeds_show_only_their_fields_and_expand_related_records() {
    let api = Api::start().await;
    let (status, club) = api.call(Method::GET, "/clubs/c1/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        club["captains"],
        json!([{"id": "m1", "home": {"id": "c1", "name": "Harbour Rowing", "motto": "Row together", "rank": 2}}])
    );
    let (_, lonely) = api.call(Method::GET, "/clubs/c3/", None).await;
    assert_eq!(lonely["captains"], json!([]));
}

#[test]
fn reports_broken_search_definitions_located() {
    let text = "\
collections:
  - name: a
    path: /a/
searches:
  - path: /a/
    objects:
      a: {collection: a}
      b: {items_of: nowhere, list: xs}
      c: {collection: a, list: xs}
    relations:
      - {from: a, to: zed, key: k}
    language:
      nodes:
        f: {kind: field, field: f, condition: c}
";
    let folder = Folder::new(text);
    let error = Sandbox::load(folder.path()).expect_err("fails");
    let found: Vec<String> = error
        .diagnostics()
        .iter()
        .map(|d| format!("{} {}: {}", d.line, d.yaml_path, d.message))
        .collect();
    let has = |needle: &str| found.iter().any(|line| line.contains(needle));
    assert!(
        has("8 searches[0].objects.b.items_of: unknown object type `nowhere`"),
        "{found:#?}"
    );
    assert!(
        has("searches[0].objects.c: give `collection`"),
        "{found:#?}"
    );
    assert!(
        has("searches[0].language: a `field` node needs"),
        "{found:#?}"
    );
    // The object type that failed leaves the rest unchecked but reported.
    let folder = Folder::new(&text.replace(
        "      b: {items_of: nowhere, list: xs}\n      c: {collection: a, list: xs}\n",
        "",
    ));
    let error = Sandbox::load(folder.path()).expect_err("fails");
    let found: Vec<String> = error
        .diagnostics()
        .iter()
        .map(|d| format!("{} {}: {}", d.line, d.yaml_path, d.message))
        .collect();
    let has = |needle: &str| found.iter().any(|line| line.contains(needle));
    assert!(
        has("searches[0].relations[0].to: unknown object type `zed`"),
        "{found:#?}"
    );
    assert!(
        has("searches[0].path: `/a/` is already routed"),
        "{found:#?}"
    );
}
