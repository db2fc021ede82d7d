//! The sandbox over real HTTP, driven by a made-up widgets API.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use super::{RunningSandbox, Sandbox};
use crate::ErrorKind;

const DEFINITION: &str = r#"
base_path: /v2
trailing_slash: required
update_methods: [PUT]
timestamp_format: "%Y-%m-%dT%H:%M:%S.%6f+00:00"
auth:
  header: Authorization
  schemes: [Basic, Bearer]
envelope: {data: items, has_more: more, total: count}
writes:
  drop_null_prefixes: ["attr."]
  list_add_suffix: "+"
  list_remove_suffix: "-"
responses:
  not_found: {status: 404, body: {message: "No {{ model }} {{ id }}"}}
  field_error: {status: 422, body: {problems: {"{{ field }}": "{{ message }}"}}}
messages:
  limit_too_large: "at most {{ max }}"
constants:
  shop: shop_1
collections:
  - name: widget
    path: /widgets/
    model: Widget
    seed: seed/widgets.json
    id: {prefix: wid_, length: 12}
    max_limit: 3
    total: true
    order_by: [created, size]
    filters:
      equal: [colour, {field: kind, default: plain, match_all: any}]
      range: [created, size]
    timestamps: {created: created, updated: updated}
    lookups:
      first_maker: {collection: maker}
      maker: {collection: maker, field: maker_id}
      same_maker: {collection: maker, id: "{{ maker.id }}"}
    defaults:
      kind: plain
      maker_id: "{{ first_maker.id }}"
      shop_id: "{{ constants.shop }}"
    computed:
      label: "{{ name | upper }}"
      url: "https://widgets.example/{{ id }}"
      maker_name: "{{ same_maker.name }}"
    references:
      - {field: maker_id, collection: maker, error_key: maker}
    embeds:
      - {field: parts, collection: part, foreign_key: widget_id, create: true}
    cascade:
      - {collection: part, foreign_key: widget_id}
  - name: part
    path: /parts/
    id: {prefix: part_, length: 8}
    create_status: 200
    filters: {equal: [widget_id]}
    references:
      - {field: widget_id, collection: widget, message: "unknown widget {{ value }}"}
  - name: maker
    path: /makers/
    seed: seed/makers.json
    paged: false
    methods: [list, get]
  - name: gadget
    path: /gadgets/
    seed: seed/gadgets.json
  - name: thing
    path: /things/
    model: Thing
    union: [widget, gadget]
    order: -created
    filters: {equal: [kind]}
"#;

const WIDGETS: &str = r#"[
  {"id": "wid_1", "name": "one", "kind": "plain", "colour": "red", "size": 3, "created": "2026-01-01T10:00:00+00:00"},
  {"id": "wid_2", "name": "two", "kind": "plain", "colour": "blue", "size": 10, "created": "2026-01-03T10:00:00+00:00"},
  {"id": "wid_3", "name": "three", "kind": "fancy", "colour": "red", "size": 7, "created": "2026-01-02T10:00:00+00:00"},
  {"id": "wid_4", "name": "four", "kind": "plain", "colour": "green", "size": 1, "created": "2026-01-04T10:00:00+00:00"},
  {"id": "wid_5", "name": "five", "kind": "plain", "colour": "red", "size": 5, "created": "2026-01-05T10:00:00+00:00"}
]"#;

const MAKERS: &str = r#"[{"id": "mk_1", "name": "Acme"}, {"id": "mk_2", "name": "Bolt"}]"#;

const GADGETS: &str = r#"[
  {"id": "gad_1", "kind": "gadget", "created": "2026-01-02T12:00:00+00:00"}
]"#;

/// A temporary integration folder, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new(definition: &str, files: &[(&str, &str)]) -> Folder {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "sandbox-test-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(dir.join("seed")).expect("temp folder");
        std::fs::write(dir.join("sandbox.yaml"), definition).expect("definition");
        for (path, text) in files {
            std::fs::write(dir.join(path), text).expect("seed file");
        }
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

fn widgets_folder() -> Folder {
    Folder::new(
        DEFINITION,
        &[
            ("seed/widgets.json", WIDGETS),
            ("seed/makers.json", MAKERS),
            ("seed/gadgets.json", GADGETS),
        ],
    )
}

/// A running widgets sandbox and a client for it.
struct Api {
    running: RunningSandbox,
    client: Client,
    _folder: Folder,
}

impl Api {
    async fn start() -> Api {
        let folder = widgets_folder();
        let sandbox = Sandbox::load(folder.path()).expect("loads");
        let running = sandbox.bind(0).await.expect("starts");
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Api {
            running,
            client,
            _folder: folder,
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.running.base_url());
        let mut request = self.client.request(method, url).basic_auth("key", Some(""));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sends");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    async fn ids(&self, path: &str) -> Vec<String> {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn pages_with_skip_and_limit() {
    let api = Api::start().await;
    let mut seen = Vec::new();
    let mut skip = 0;
    loop {
        let (status, body) = api
            .get(&format!("/widgets/?kind=any&_skip={skip}&_limit=2"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["count"], 5);
        let items = body["items"].as_array().expect("items");
        seen.extend(items.iter().map(|item| item["id"].clone()));
        skip += items.len();
        if body["more"] == false {
            break;
        }
    }
    assert_eq!(seen, ["wid_1", "wid_2", "wid_3", "wid_4", "wid_5"]);

    let (_, body) = api.get("/widgets/?kind=any").await;
    assert_eq!(
        body["items"].as_array().map(Vec::len),
        Some(3),
        "an omitted limit is the default within the cap"
    );
}

#[tokio::test]
async fn refuses_bad_paging_parameters() {
    let api = Api::start().await;
    let cases = [
        ("/widgets/?_limit=4", "_limit", "at most 3"),
        ("/widgets/?_limit=abc", "_limit", "must be an integer"),
        ("/widgets/?_skip=-1", "_skip", "must not be negative"),
        (
            "/widgets/?_order_by=colour",
            "_order_by",
            "cannot sort by this field",
        ),
    ];
    for (path, field, message) in cases {
        let (status, body) = api.get(path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(body, json!({"problems": {field: message}}), "{path}");
    }
    let (status, body) = api.get("/makers/?_limit=1&_skip=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"items": [{"id": "mk_1", "name": "Acme"}, {"id": "mk_2", "name": "Bolt"}], "more": false})
    );
}

#[tokio::test]
async fn answers_errors_with_the_declared_bodies() {
    let api = Api::start().await;
    let (status, body) = api.get("/widgets/wid_404/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"message": "No Widget wid_404"}));

    let (status, body) = api.get("/nothing/").await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"error": "Not Found"}))
    );

    let (status, _) = api.get("/widgets").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "trailing slash is required");

    let (status, body) = api.call(Method::DELETE, "/makers/mk_1/", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body, json!({"error": "Method Not Allowed"}));

    let (status, _) = api
        .call(Method::PATCH, "/widgets/wid_1/", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "only PUT updates");

    let url = format!("{}/widgets/", api.running.base_url());
    let response = api
        .client
        .post(url)
        .basic_auth("key", Some(""))
        .body("{not json")
        .send()
        .await
        .expect("sends");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.ok(),
        Some(json!({"error": "Invalid JSON"}))
    );
}

#[tokio::test]
async fn requires_credentials() {
    let api = Api::start().await;
    let url = format!("{}/widgets/", api.running.base_url());
    let cases: [(Option<&str>, StatusCode); 4] = [
        (None, StatusCode::UNAUTHORIZED),
        (Some("Token abc"), StatusCode::UNAUTHORIZED),
        (Some("Bearer"), StatusCode::UNAUTHORIZED),
        (Some("bearer abc"), StatusCode::OK),
    ];
    for (header, expected) in cases {
        let mut request = api.client.get(&url);
        if let Some(header) = header {
            request = request.header("Authorization", header);
        }
        let response = request.send().await.expect("sends");
        assert_eq!(response.status(), expected, "{header:?}");
        if expected == StatusCode::UNAUTHORIZED {
            let body = response.json::<Value>().await.ok();
            assert_eq!(body, Some(json!({"error": "Unauthorized"})));
        }
    }
}

#[tokio::test]
async fn creates_updates_and_deletes() {
    let api = Api::start().await;
    let body = json!({"name": "six", "maker_id": "mk_2", "attr.tags": ["a"], "id": "ignored"});
    let (status, created) = api.call(Method::POST, "/widgets/", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("wid_") && id.len() == 16, "{id}");
    assert_eq!(created["label"], "SIX");
    assert_eq!(created["maker_name"], "Bolt");
    assert_eq!(created["shop_id"], "shop_1");
    assert_eq!(created["kind"], "plain");
    assert_eq!(created["url"], format!("https://widgets.example/{id}"));
    assert_eq!(created["parts"], json!([]));
    assert_eq!(created["created"], created["updated"]);
    let stamp = created["created"].as_str().expect("timestamp");
    assert!(
        super::time::parse(stamp).is_some() && stamp.ends_with("+00:00"),
        "{stamp}"
    );

    let path = format!("/widgets/{id}/");
    let (_, fetched) = api.get(&path).await;
    assert_eq!(fetched, created);

    let change = json!({"name": "seven", "attr.tags+": "b", "attr.tags-": "a", "maker_id": "mk_1", "colour": null, "parts": [{"x": 1}]});
    let (status, updated) = api.call(Method::PUT, &path, Some(change)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["label"], "SEVEN", "computed fields are recomputed");
    assert_eq!(updated["maker_name"], "Acme");
    assert_eq!(updated["attr.tags"], json!(["b"]));
    assert_eq!(updated["colour"], Value::Null);
    assert_eq!(
        updated["parts"],
        json!([]),
        "nested children are not written by update"
    );
    assert_eq!(updated["created"], created["created"]);

    let (_, cleared) = api
        .call(Method::PUT, &path, Some(json!({"attr.tags": null})))
        .await;
    assert!(
        cleared.get("attr.tags").is_none(),
        "null under a drop prefix removes the key"
    );

    let (status, body) = api.call(Method::DELETE, &path, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, _) = api.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn creates_embedded_children_and_cascades_deletes() {
    let api = Api::start().await;
    let body = json!({"name": "kit", "parts": [{"name": "bolt"}, {"name": "nut"}]});
    let (status, created) = api.call(Method::POST, "/widgets/", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["maker_id"], "mk_1", "defaults may use lookups");
    assert_eq!(created["maker_name"], "Acme");
    let parts = created["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 2);
    assert!(parts.iter().all(|part| part["widget_id"] == id.as_str()));

    let part_ids = api.ids(&format!("/parts/?widget_id={id}")).await;
    assert_eq!(part_ids.len(), 2);
    assert!(part_ids.iter().all(|part| part.starts_with("part_")));

    let (status, part) = api
        .call(
            Method::POST,
            "/parts/",
            Some(json!({"name": "washer", "widget_id": id})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "parts declare create_status 200");
    assert_eq!(part["widget_id"], id.as_str());

    let (_, listed) = api.get(&format!("/widgets/{id}/?_fields=parts")).await;
    assert_eq!(listed["parts"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        listed.as_object().map(|o| o.len()),
        Some(2),
        "id and parts: {listed}"
    );

    api.call(Method::DELETE, &format!("/widgets/{id}/"), None)
        .await;
    assert!(api.ids(&format!("/parts/?widget_id={id}")).await.is_empty());
    let (status, _) = api.get(&format!("/parts/{}/", part_ids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn checks_references() {
    let api = Api::start().await;
    let (status, body) = api
        .call(
            Method::POST,
            "/widgets/",
            Some(json!({"name": "x", "maker_id": "mk_9"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, json!({"problems": {"maker": "no such record"}}));

    let (status, body) = api
        .call(Method::POST, "/parts/", Some(json!({"widget_id": "wid_9"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"problems": {"widget_id": "unknown widget wid_9"}})
    );

    let (status, body) = api
        .call(
            Method::POST,
            "/widgets/",
            Some(json!({"name": "x", "parts": ["not an object"]})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, json!({"problems": {"parts": "must be an object"}}));
    assert_eq!(
        api.ids("/widgets/?kind=any&_limit=3&_skip=3").await.len(),
        2,
        "nothing kept"
    );
}

#[tokio::test]
async fn filters_orders_and_selects_fields() {
    let api = Api::start().await;
    assert_eq!(
        api.ids("/widgets/?colour=red").await,
        ["wid_1", "wid_5"],
        "kind defaults to plain"
    );
    assert_eq!(
        api.ids("/widgets/?colour=red&kind=any").await,
        ["wid_1", "wid_3", "wid_5"]
    );
    assert_eq!(
        api.ids("/widgets/?colour__in=blue,green").await,
        ["wid_2", "wid_4"]
    );
    assert_eq!(
        api.ids("/widgets/?size__gte=5&size__lt=10&kind=any").await,
        ["wid_3", "wid_5"]
    );
    assert_eq!(api.ids("/widgets/?created__lt=2026-01-03").await, ["wid_1"]);
    assert_eq!(
        api.ids(
            "/widgets/?created__gt=2026-01-03T09:00:00Z&created__lte=2026-01-04T10:00:00%2B00:00"
        )
        .await,
        ["wid_2", "wid_4"]
    );
    assert_eq!(
        api.ids("/widgets/?_order_by=-size").await,
        ["wid_2", "wid_5", "wid_1"]
    );
    assert_eq!(api.ids("/widgets/?unknown=1&_limit=1").await, ["wid_1"]);

    let (_, body) = api.get("/widgets/?_fields=name,missing&_limit=1").await;
    assert_eq!(body["items"], json!([{"id": "wid_1", "name": "one"}]));
}

#[tokio::test]
async fn unions_merge_their_members() {
    let api = Api::start().await;
    let ids = api.ids("/things/").await;
    assert_eq!(ids, ["wid_5", "wid_4", "wid_2", "gad_1", "wid_3", "wid_1"]);
    assert_eq!(api.ids("/things/?kind=gadget").await, ["gad_1"]);

    let (status, body) = api.get("/things/gad_1/").await;
    assert_eq!(
        (status, body["kind"].clone()),
        (StatusCode::OK, json!("gadget"))
    );
    let (status, body) = api.get("/things/nope/").await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"message": "No Thing nope"}))
    );
    let (status, _) = api.call(Method::POST, "/things/", Some(json!({}))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn redirects_to_the_slashed_path_when_asked() {
    let definition = DEFINITION.replace("trailing_slash: required", "trailing_slash: redirect");
    let folder = Folder::new(
        &definition,
        &[
            ("seed/widgets.json", WIDGETS),
            ("seed/makers.json", MAKERS),
            ("seed/gadgets.json", GADGETS),
        ],
    );
    let running = Sandbox::load(folder.path())
        .expect("loads")
        .bind(0)
        .await
        .expect("starts");
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client
        .get(format!("{}/widgets?_limit=1", running.base_url()))
        .bearer_auth("token")
        .send()
        .await
        .expect("sends");
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok());
    assert_eq!(location, Some("/v2/widgets/?_limit=1"));
    running.shutdown().await;
}

#[tokio::test]
async fn stops_serving_after_shutdown() {
    let api = Api::start().await;
    let url = format!("{}/widgets/", api.running.base_url());
    api.running.shutdown().await;
    assert!(Client::new().get(url).send().await.is_err());
}

#[test]
fn reports_yaml_errors_with_file_and_position() {
    let folder = Folder::new(
        "collections:\n  - name: a\n    path: /a/\n    colour: red\n",
        &[],
    );
    let error = Sandbox::load(folder.path()).expect_err("fails");
    assert_eq!(error.kind(), ErrorKind::Definition);
    let diagnostic = &error.diagnostics()[0];
    assert!(diagnostic.file.ends_with("sandbox.yaml"));
    assert_eq!((diagnostic.line, diagnostic.column), (4, 5));
    assert!(
        diagnostic.message.contains("unknown field `colour`"),
        "{}",
        diagnostic.message
    );
}

#[test]
fn reports_every_semantic_problem_located() {
    let text = "\
collections:
  - name: a
    path: /a/
    embeds:
      - {field: bs, collection: b, foreign_key: a_id}
    computed:
      label: \"{{ broken\"
  - name: a
    path: /a/
";
    let folder = Folder::new(text, &[]);
    let error = Sandbox::load(folder.path()).expect_err("fails");
    let found: Vec<(String, usize)> = error
        .diagnostics()
        .iter()
        .map(|d| (d.yaml_path.clone(), d.line))
        .collect();
    assert!(
        found.contains(&("collections[0].embeds[0].collection".into(), 5)),
        "{found:?}"
    );
    assert!(
        found.contains(&("collections[0].computed.label".into(), 7)),
        "{found:?}"
    );
    assert!(
        found.contains(&("collections[1].name".into(), 8)),
        "{found:?}"
    );
    assert!(
        found.contains(&("collections[1].path".into(), 9)),
        "{found:?}"
    );
    let unknown = error
        .diagnostics()
        .iter()
        .find(|d| d.yaml_path.ends_with("embeds[0].collection"))
        .expect("unknown collection reported");
    assert!(unknown
        .hint
        .as_deref()
        .is_some_and(|hint| hint.contains("known collections: a")));
}

#[test]
fn reports_seed_problems_naming_the_seed_file() {
    let broken = widgets_folder();
    std::fs::write(
        broken.path().join("seed/makers.json"),
        "[\n  {\"id\": 1,}\n]",
    )
    .expect("write");
    let error = Sandbox::load(broken.path()).expect_err("fails");
    let diagnostic = &error.diagnostics()[0];
    assert!(
        diagnostic.file.ends_with("seed/makers.json"),
        "{:?}",
        diagnostic.file
    );
    assert_eq!(diagnostic.line, 2);

    let twice = r#"[{"id": "mk_1"},
 {"id": "mk_1"}]"#;
    std::fs::write(broken.path().join("seed/makers.json"), twice).expect("write");
    let error = Sandbox::load(broken.path()).expect_err("fails");
    let diagnostic = &error.diagnostics()[0];
    assert_eq!((diagnostic.yaml_path.as_str(), diagnostic.line), ("[1]", 2));
    assert!(diagnostic.message.contains("`mk_1` is used twice"));

    std::fs::remove_file(broken.path().join("seed/makers.json")).expect("remove");
    let error = Sandbox::load(broken.path()).expect_err("fails");
    assert!(
        error.message().contains("makers.json"),
        "{}",
        error.message()
    );
}

#[test]
fn sandboxes_cross_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sandbox>();
    assert_send_sync::<RunningSandbox>();
}
