//! Reading integration definitions from YAML, with the position of every value.
//!
//! A mappings folder holds one folder per integration: `integration.yaml` plus one file per
//! unified resource at `<unified-api>/<resource>.yaml`. Loading reads every file, compiles
//! every expression and template, and reports every problem found, each at its place.

pub(crate) mod model;
mod policy;
pub(crate) mod reader;
mod schema;
pub(crate) mod yaml;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use self::model::{
    Auth, HttpRequest, Integration, LinkSource, Method, MethodName, Pagination, PaginationKind,
    ParamsIn, RecordPath, Resource,
};
use self::reader::{Fields, Reader};
use crate::compile::template::{BodyTemplate, Templates, TextKind};
use crate::error::{io_error, Diagnostic, Error, Result};

/// Every integration found under a mappings folder, compiled.
pub(crate) struct Catalog {
    pub(crate) integrations: IndexMap<String, Integration>,
    pub(crate) templates: Templates,
}

/// Variables a request template (path, query, body, header) may name, per method: only a
/// write has `body`, only a method about one record has `id`. A create may test
/// `id is defined` (it never is), so that one body template can serve create and update.
fn request_variables(method: MethodName) -> &'static [&'static str] {
    match method {
        MethodName::List => &["filters", "options", "lookups"],
        MethodName::Get | MethodName::Delete => &["id", "filters", "options", "lookups"],
        MethodName::Create => &["id", "body", "filters", "options", "lookups"],
        MethodName::Update => &["id", "body", "filters", "options", "lookups"],
    }
}
/// Variables a `keep` template may name: the raw upstream record and the call's filters.
const KEEP_VARIABLES: &[&str] = &["record", "filters", "options", "lookups"];
/// Variables a filter's template may name: the request's plus the filter's `value`.
const FILTER_VARIABLES: &[&str] = &["filters", "options", "value"];
/// Variables a window's query may name: the request's plus the window's lower bound.
const WINDOW_VARIABLES: &[&str] = &["filters", "options", "window"];
/// Variables an auth template may name.
const AUTH_VARIABLES: &[&str] = &["credentials", "options"];

const INTEGRATION_KEYS: &[&str] = &[
    "name",
    "title",
    "base_url",
    "credentials",
    "auth",
    "pagination",
    "errors",
    "headers",
    "rate_limit",
    "retry",
    "oauth2",
    "lookups",
];
const RESOURCE_KEYS: &[&str] = &["description", "mapping", "methods"];
const METHOD_KEYS: &[&str] = &[
    "description",
    "request",
    "records",
    "record",
    "mapping",
    "limit",
    "filters",
    "retry",
    "pagination",
    "keep",
    "lookups",
];
const REQUEST_KEYS: &[&str] = &["method", "path", "query", "headers", "body"];
const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Loads every integration under `root`; fails with every problem if any file is broken.
pub(crate) fn load(root: &Path) -> Result<Catalog> {
    let entries = std::fs::read_dir(root)
        .map_err(|error| io_error(root, "read the mappings folder", error))?;
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("integration.yaml").is_file())
        .collect();
    folders.sort();
    if folders.is_empty() {
        return Err(Error::new(
            crate::ErrorKind::Definition,
            format!(
                "no integration found in {}: expected <name>/integration.yaml",
                root.display()
            ),
        ));
    }

    let mut diagnostics = Vec::new();
    let mut templates = Templates::new();
    let mut integrations = IndexMap::new();
    for folder in folders {
        let loaded = load_integration(root, &folder, &mut templates, &mut diagnostics)?;
        if let Some(integration) = loaded {
            integrations.insert(integration.name.clone(), integration);
        }
    }
    if !diagnostics.is_empty() {
        // A YAML alias compiles its anchor's templates again; report each fault once.
        let mut seen = std::collections::HashSet::new();
        diagnostics.retain(|d| seen.insert((d.file.clone(), d.line, d.column, d.message.clone())));
        return Err(Error::definitions(diagnostics));
    }
    Ok(Catalog {
        integrations,
        templates,
    })
}

fn read(root: &Path, path: &Path) -> Result<(PathBuf, String)> {
    let source = std::fs::read_to_string(path).map_err(|error| io_error(path, "read", error))?;
    let shown = path.strip_prefix(root).unwrap_or(path).to_owned();
    Ok((shown, source))
}

fn load_integration(
    root: &Path,
    folder: &Path,
    templates: &mut Templates,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<Integration>> {
    let (shown, source) = read(root, &folder.join("integration.yaml"))?;
    let mut reader = Reader::new(&shown, &source, diagnostics);
    let integration = read_integration(&mut reader, templates, folder);

    let base_pagination = integration
        .as_ref()
        .map(|integration| integration.pagination.clone())
        .unwrap_or_default();
    // When integration.yaml itself failed, its lookups are unknown: resource files are not
    // blamed for naming them.
    let lookup_names: Option<Vec<String>> = integration
        .as_ref()
        .map(|integration| integration.lookups.keys().cloned().collect());
    let mut resources = IndexMap::new();
    for (api, file) in resource_files(folder)? {
        let (shown, source) = read(root, &file)?;
        let mut reader = Reader::new(&shown, &source, diagnostics);
        let name = file
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(resource) = read_resource(
            &mut reader,
            templates,
            &base_pagination,
            lookup_names.as_deref(),
        ) {
            resources.insert(format!("{api}/{name}"), resource);
        }
    }
    Ok(integration.map(|mut integration| {
        integration.resources = resources;
        integration
    }))
}

/// `<folder>/<api>/<resource>.yaml`, sorted; other folders (seed data, tests) are skipped.
fn resource_files(folder: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(folder).map_err(|error| io_error(folder, "read", error))?;
    for entry in entries.filter_map(|entry| entry.ok()) {
        let api_dir = entry.path();
        let api = entry.file_name().to_string_lossy().into_owned();
        if !api_dir.is_dir() || matches!(api.as_str(), "sandbox" | "tests" | "recordings") {
            continue;
        }
        let inner =
            std::fs::read_dir(&api_dir).map_err(|error| io_error(&api_dir, "read", error))?;
        for file in inner
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path())
        {
            let is_yaml = file
                .extension()
                .is_some_and(|extension| extension == "yaml" || extension == "yml");
            if is_yaml {
                files.push((api.clone(), file));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn read_integration(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    folder: &Path,
) -> Option<Integration> {
    let root = reader.parse()?;
    let before = reader.diagnostics.len();
    let integration = read_integration_fields(reader, templates, folder, &root);
    if reader.diagnostics.len() == before {
        schema::check(reader, &root);
    }
    integration
}

fn read_integration_fields(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    folder: &Path,
    root: &Node,
) -> Option<Integration> {
    let fields = reader.mapping(root, "", INTEGRATION_KEYS)?;
    let name = required(reader, &fields, "name", "the integration's name")
        .and_then(|node| reader.string(node, "name"));
    let base_url = required(reader, &fields, "base_url", "the API's base URL").and_then(|node| {
        let text = reader.string(node, "base_url")?;
        match crate::account::check_base_url(&text) {
            Ok(()) => Some(text),
            Err(why) => {
                reader.report(node.position, "base_url", why, None);
                None
            }
        }
    });
    let title = fields
        .get("title")
        .and_then(|node| reader.string(node, "title"));
    let credentials = match fields.get("credentials") {
        Some(node) => reader.string_list(node, "credentials"),
        None => Some(Vec::new()),
    };
    let auth = match fields.get("auth") {
        Some(node) => read_auth(reader, templates, node),
        None => Some(Auth::None),
    };
    let headers = match fields.get("headers") {
        Some(node) => read_headers(reader, templates, node, "headers", &["options"]),
        None => Some(Vec::new()),
    };
    let pagination = match fields.get("pagination") {
        Some(node) => read_pagination(
            reader,
            templates,
            node,
            "pagination",
            &Pagination::default(),
        ),
        None => Some(Pagination::default()),
    };
    let error_message = match fields.get("errors") {
        Some(node) => read_errors(reader, node),
        None => Some(None),
    };
    let lookups = match fields.get("lookups") {
        Some(node) => read_lookups(reader, templates, node),
        None => Some(IndexMap::new()),
    };
    let oauth2 = match fields.get("oauth2") {
        Some(node) => read_oauth2(reader, templates, node).map(Some),
        None => Some(None),
    };
    let rate_limit = match fields.get("rate_limit") {
        Some(node) => policy::read_rate_limit(reader, node),
        None => Some(model::RateLimitPolicy::default()),
    };
    let retry = match fields.get("retry") {
        Some(node) => policy::read_retry(reader, node),
        None => Some(model::RetryPolicy::default()),
    };

    let name = name?;
    let folder_name = folder.file_name().map(|n| n.to_string_lossy().into_owned());
    if folder_name.as_deref() != Some(name.as_str()) {
        let node = fields.get("name")?;
        let message = format!(
            "the integration is named `{name}` but its folder is `{}`",
            folder_name.unwrap_or_default()
        );
        reader.report(node.position, "name", message, None);
        return None;
    }
    Some(Integration {
        title: title.unwrap_or_else(|| name.clone()),
        name,
        base_url: base_url?.trim_end_matches('/').to_owned(),
        credentials: credentials?,
        auth: auth?,
        oauth2: oauth2?,
        lookups: lookups?,
        headers: headers?,
        pagination: pagination?,
        error_message: error_message?,
        rate_limit: rate_limit?,
        retry: retry?,
        resources: IndexMap::new(),
    })
}

fn required<'n>(
    reader: &mut Reader<'_>,
    fields: &Fields<'n>,
    key: &str,
    what: &str,
) -> Option<&'n Node> {
    let node = fields.get(key);
    if node.is_none() {
        reader.missing(fields, key, what);
    }
    node
}

use self::yaml::Node;

fn read_auth(reader: &mut Reader<'_>, templates: &mut Templates, node: &Node) -> Option<Auth> {
    let fields = reader.mapping(
        node,
        "auth",
        &["kind", "username", "password", "token", "headers"],
    )?;
    let kind_node = required(reader, &fields, "kind", "none, basic, bearer or headers")?;
    let kind = reader.choice(
        kind_node,
        "auth.kind",
        &["none", "basic", "bearer", "headers"],
    )?;
    let mut text = |reader: &mut Reader<'_>, key: &str| {
        let node = required(reader, &fields, key, "a template over `credentials`")?;
        reader.text_template(
            templates,
            node,
            &fields.child(key),
            TextKind::Plain,
            AUTH_VARIABLES,
        )
    };
    match kind.as_str() {
        "none" => Some(Auth::None),
        "basic" => {
            let username = text(reader, "username");
            let password = text(reader, "password");
            Some(Auth::Basic {
                username: username?,
                password: password?,
            })
        }
        "bearer" => Some(Auth::Bearer {
            token: text(reader, "token")?,
        }),
        _ => {
            let node = required(reader, &fields, "headers", "header templates")?;
            read_headers(reader, templates, node, "auth.headers", AUTH_VARIABLES).map(Auth::Headers)
        }
    }
}

fn read_lookups(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    node: &Node,
) -> Option<IndexMap<String, model::Lookup>> {
    let fields = reader.mapping(node, "lookups", &[])?;
    let mut lookups = IndexMap::new();
    let mut ok = true;
    for (name, (_, node)) in fields.entries {
        let path = fields.child(name);
        let keys = ["when", "request", "records", "cache_seconds"];
        let Some(lookup) = reader.mapping(node, &path, &keys) else {
            ok = false;
            continue;
        };
        let request = required(
            reader,
            &lookup,
            "request",
            "the request for the reference data",
        )
        .and_then(|node| {
            read_request(
                reader,
                templates,
                node,
                &lookup.child("request"),
                &["id", "options"],
            )
        });
        let records = match lookup.get("records") {
            Some(node) => read_record_path(reader, node, &lookup.child("records")),
            None => Some(RecordPath::root()),
        };
        let when = match lookup.get("when") {
            Some(node) => reader
                .value_template(templates, node, &lookup.child("when"), &["options"])
                .map(Some),
            None => Some(None),
        };
        let ttl = match lookup.get("cache_seconds") {
            Some(node) => reader.seconds(node, &lookup.child("cache_seconds")),
            None => Some(std::time::Duration::from_secs(300)),
        };
        match (when, request, records, ttl) {
            (Some(when), Some(request), Some(records), Some(ttl)) => {
                let lookup = model::Lookup {
                    when,
                    request,
                    records,
                    ttl,
                };
                lookups.insert(name.clone(), lookup);
            }
            _ => ok = false,
        }
    }
    ok.then_some(lookups)
}

fn read_oauth2(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    node: &Node,
) -> Option<model::OAuth2> {
    let fields = reader.mapping(
        node,
        "oauth2",
        &[
            "authorize_url",
            "token_url",
            "scopes",
            "client_credentials_in",
            "expiry_margin_seconds",
        ],
    )?;
    let mut url = |reader: &mut Reader<'_>, key: &str| {
        let node = required(reader, &fields, key, "a URL template over `options`")?;
        reader.text_template(
            templates,
            node,
            &fields.child(key),
            TextKind::Plain,
            &["options"],
        )
    };
    let authorize_url = url(reader, "authorize_url");
    let token_url = url(reader, "token_url");
    let scopes = match fields.get("scopes") {
        Some(node) => reader.string_list(node, "oauth2.scopes"),
        None => Some(Vec::new()),
    };
    let in_body = match fields.get("client_credentials_in") {
        Some(node) => reader
            .choice(node, "oauth2.client_credentials_in", &["body", "header"])
            .map(|place| place == "body"),
        None => Some(true),
    };
    let margin = match fields.get("expiry_margin_seconds") {
        Some(node) => reader.seconds(node, "oauth2.expiry_margin_seconds"),
        None => Some(std::time::Duration::from_secs(60)),
    };
    Some(model::OAuth2 {
        authorize_url: authorize_url?,
        token_url: token_url?,
        scopes: scopes?,
        client_credentials_in_body: in_body?,
        expiry_margin: margin?,
    })
}

fn read_headers(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    node: &Node,
    path: &str,
    allowed: &[&str],
) -> Option<Vec<(String, crate::compile::template::TextTemplate)>> {
    let fields = reader.mapping(node, path, &[])?;
    let mut headers = Vec::new();
    let mut ok = true;
    for (key, (_, value)) in fields.entries {
        match reader.text_template(
            templates,
            value,
            &fields.child(key),
            TextKind::Plain,
            allowed,
        ) {
            Some(template) => headers.push((key.clone(), template)),
            None => ok = false,
        }
    }
    ok.then_some(headers)
}

const PAGINATION_KEYS: &[&str] = &[
    "kind",
    "offset_param",
    "page_param",
    "first_page",
    "cursor_param",
    "next_cursor",
    "next_link",
    "limit_param",
    "params_in",
    "has_more",
    "records",
    "default_limit",
    "max_limit",
    "max_offset",
    "window",
];
const PAGINATION_KINDS: &[&str] = &["none", "offset", "page", "cursor", "next_link"];

/// Reads a pagination block; keys it leaves out keep the values of `base`.
fn read_pagination(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    node: &Node,
    path: &str,
    base: &Pagination,
) -> Option<Pagination> {
    let fields = reader.mapping(node, path, PAGINATION_KEYS)?;
    let mut pagination = base.clone();
    // Without `kind`, the block refines the paging it starts from (the integration's, for a
    // method) instead of starting over.
    let inherited = match &base.kind {
        PaginationKind::None => "none",
        PaginationKind::Offset { .. } => "offset",
        PaginationKind::Page { .. } => "page",
        PaginationKind::Cursor { .. } => "cursor",
        PaginationKind::NextLink { .. } => "next_link",
    };
    let kind = match fields.get("kind") {
        Some(node) => reader.choice(node, &fields.child("kind"), PAGINATION_KINDS)?,
        None if fields.entries.is_empty() || inherited != "none" => inherited.to_owned(),
        None => "offset".to_owned(),
    };
    let same_kind = fields.get("kind").is_none() || kind == inherited;
    let inherited_param = |name: &str| -> Option<String> {
        if !same_kind {
            return None;
        }
        match (&base.kind, name) {
            (PaginationKind::Offset { offset_param, .. }, "offset_param") => {
                Some(offset_param.clone())
            }
            (PaginationKind::Page { page_param, .. }, "page_param") => Some(page_param.clone()),
            (PaginationKind::Cursor { cursor_param, .. }, "cursor_param") => {
                Some(cursor_param.clone())
            }
            (
                PaginationKind::Offset { limit_param, .. }
                | PaginationKind::Page { limit_param, .. }
                | PaginationKind::Cursor { limit_param, .. }
                | PaginationKind::NextLink { limit_param, .. },
                "limit_param",
            ) => Some(limit_param.clone()),
            _ => None,
        }
    };
    let text = |reader: &mut Reader<'_>, key: &str, default: &str| match fields.get(key) {
        Some(node) => reader.string(node, &fields.child(key)),
        None => Some(inherited_param(key).unwrap_or_else(|| default.to_owned())),
    };
    let limit_param = text(reader, "limit_param", "limit")?;
    pagination.kind = match kind.as_str() {
        "none" => PaginationKind::None,
        "offset" => PaginationKind::Offset {
            offset_param: text(reader, "offset_param", "offset")?,
            limit_param,
        },
        "page" => PaginationKind::Page {
            page_param: text(reader, "page_param", "page")?,
            limit_param,
            first_page: match (fields.get("first_page"), &base.kind) {
                (Some(node), _) => reader.integer(node, &fields.child("first_page"), 0)?,
                (None, PaginationKind::Page { first_page, .. }) if same_kind => *first_page,
                (None, _) => 1,
            },
        },
        "cursor" => {
            let next_cursor = match (fields.get("next_cursor"), &base.kind) {
                (Some(node), _) => reader.expression(node, &fields.child("next_cursor"))?,
                (None, PaginationKind::Cursor { next_cursor, .. }) if same_kind => {
                    next_cursor.clone()
                }
                (None, _) => {
                    let what = "where each answer holds the next cursor";
                    reader.missing(&fields, "next_cursor", what);
                    return None;
                }
            };
            PaginationKind::Cursor {
                cursor_param: text(reader, "cursor_param", "cursor")?,
                limit_param,
                next_cursor,
            }
        }
        _ => {
            let inherited_source = match &base.kind {
                PaginationKind::NextLink { source, .. } if same_kind => Some(source.clone()),
                _ => None,
            };
            let source = match (fields.get("next_link"), inherited_source) {
                (None, Some(source)) => source,
                (None, None) => {
                    reader.missing(
                        &fields,
                        "next_link",
                        "`header: Link` or `body: <expression>`",
                    );
                    return None;
                }
                (Some(node), _) => {
                    let link_path = fields.child("next_link");
                    let link = reader.mapping(node, &link_path, &["header", "body"])?;
                    match (link.get("header"), link.get("body")) {
                        (Some(header), None) => {
                            LinkSource::Header(reader.string(header, &link.child("header"))?)
                        }
                        (None, Some(body)) => {
                            LinkSource::Body(reader.expression(body, &link.child("body"))?)
                        }
                        _ => {
                            let message = "give either `header` or `body`";
                            reader.report(link.position, &link_path, message, None);
                            return None;
                        }
                    }
                }
            };
            PaginationKind::NextLink {
                source,
                limit_param,
            }
        }
    };
    // Every key is read even when an earlier one is wrong, so one run reports them all.
    let mut ok = true;
    if let Some(node) = fields.get("params_in") {
        match reader.choice(node, &fields.child("params_in"), &["query", "body"]) {
            Some(place) if place == "body" => pagination.params_in = ParamsIn::Body,
            Some(_) => pagination.params_in = ParamsIn::Query,
            None => ok = false,
        }
    }
    if let Some(node) = fields.get("has_more") {
        match reader.expression(node, &fields.child("has_more")) {
            Some(expression) => pagination.has_more = Some(expression),
            None => ok = false,
        }
    }
    if let Some(node) = fields.get("records") {
        match read_record_path(reader, node, &fields.child("records")) {
            Some(records) => pagination.records = records,
            None => ok = false,
        }
    }
    for key in ["default_limit", "max_limit", "max_offset"] {
        let Some(node) = fields.get(key) else {
            continue;
        };
        match (reader.integer(node, &fields.child(key), 1), key) {
            (Some(value), "default_limit") => pagination.default_limit = value,
            (Some(value), "max_limit") => pagination.max_limit = value,
            (Some(value), _) => pagination.max_offset = Some(value),
            (None, _) => ok = false,
        }
    }
    if let Some(node) = fields.get("window") {
        match read_window(reader, templates, node, &fields.child("window")) {
            Some(window) => pagination.window = Some(window),
            None => ok = false,
        }
    }
    ok.then_some(pagination)
}

fn read_window(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    node: &Node,
    path: &str,
) -> Option<model::Window> {
    let fields = reader.mapping(node, path, &["key", "id", "query"])?;
    let key = required(reader, &fields, "key", "the ascending sort key of a record")
        .and_then(|node| reader.expression(node, &fields.child("key")));
    let id = required(reader, &fields, "id", "a record's identity")
        .and_then(|node| reader.expression(node, &fields.child("id")));
    let query = required(
        reader,
        &fields,
        "query",
        "the parameters that start a window at `window`",
    )
    .and_then(|node| {
        reader.body_template(templates, node, &fields.child("query"), WINDOW_VARIABLES)
    });
    Some(model::Window {
        key: key?,
        id: id?,
        query: query?,
    })
}

fn read_record_path(reader: &mut Reader<'_>, node: &Node, path: &str) -> Option<RecordPath> {
    let text = reader.string(node, path)?;
    match RecordPath::parse(&text) {
        Some(record_path) => Some(record_path),
        None => {
            let message = format!(
                "`{text}` is not a record path: use `@` or dotted field names like `data` or `results.items`"
            );
            reader.report(node.position, path, message, None);
            None
        }
    }
}

fn read_errors(
    reader: &mut Reader<'_>,
    node: &Node,
) -> Option<Option<crate::compile::expression::Expression>> {
    let fields = reader.mapping(node, "errors", &["message"])?;
    match fields.get("message") {
        Some(node) => reader.expression(node, "errors.message").map(Some),
        None => Some(None),
    }
}

fn read_resource(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    base_pagination: &Pagination,
    lookup_names: Option<&[String]>,
) -> Option<Resource> {
    let root = reader.parse()?;
    let before = reader.diagnostics.len();
    let resource = read_resource_fields(reader, templates, base_pagination, lookup_names, &root);
    if reader.diagnostics.len() == before {
        schema::check(reader, &root);
    }
    resource
}

fn read_resource_fields(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    base_pagination: &Pagination,
    lookup_names: Option<&[String]>,
    root: &Node,
) -> Option<Resource> {
    let fields = reader.mapping(root, "", RESOURCE_KEYS)?;
    let description = fields
        .get("description")
        .and_then(|node| reader.string(node, "description"));
    let mapping = fields
        .get("mapping")
        .map(|node| reader.expression(node, "mapping"));
    let methods_node = required(
        reader,
        &fields,
        "methods",
        "list, get, create, update or delete",
    )?;
    let method_fields = reader.mapping(methods_node, "methods", MethodName::ALL_NAMES)?;

    let mut methods = IndexMap::new();
    let mut ok = true;
    for (key, (_, node)) in method_fields.entries {
        let Some(method_name) = MethodName::parse(key) else {
            ok = false;
            continue;
        };
        let path = method_fields.child(key);
        match read_method(
            reader,
            templates,
            node,
            &path,
            method_name,
            base_pagination,
            lookup_names,
        ) {
            Some(method) => {
                methods.insert(method_name, method);
            }
            None => ok = false,
        }
    }
    let mapping = match mapping {
        Some(compiled) => Some(compiled?),
        None => None,
    };
    if !ok {
        return None;
    }
    Some(Resource {
        description,
        mapping,
        methods,
    })
}

fn read_method(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    node: &Node,
    path: &str,
    name: MethodName,
    base_pagination: &Pagination,
    lookup_names: Option<&[String]>,
) -> Option<Method> {
    let fields = reader.mapping(node, path, METHOD_KEYS)?;
    let allowed = request_variables(name);
    let request = required(reader, &fields, "request", "the upstream request")
        .and_then(|node| read_request(reader, templates, node, &fields.child("request"), allowed));
    let records = match fields.get("records") {
        Some(node) => read_record_path(reader, node, &fields.child("records")).map(Some),
        None => Some(None),
    };
    let record = match fields.get("record") {
        Some(node) => read_record_path(reader, node, &fields.child("record")).map(Some),
        None => Some(None),
    };
    let mapping = match fields.get("mapping") {
        Some(node) => reader.expression(node, &fields.child("mapping")).map(Some),
        None => Some(None),
    };
    let limit = match fields.get("limit") {
        Some(node) => read_limit(reader, node, &fields.child("limit")),
        None => Some((None, None)),
    };
    let filters = match fields.get("filters") {
        Some(node) => read_filters(reader, templates, node, &fields.child("filters")),
        None => Some(IndexMap::new()),
    };
    let lookups = match fields.get("lookups") {
        Some(node) => read_method_lookups(reader, node, &fields.child("lookups"), lookup_names),
        None => Some(Vec::new()),
    };
    let keep = match fields.get("keep") {
        Some(node) => reader
            .value_template(templates, node, &fields.child("keep"), KEEP_VARIABLES)
            .map(Some),
        None => Some(None),
    };
    // A method's description is for readers of the file; it only has to be text.
    if let Some(node) = fields.get("description") {
        reader.string(node, &fields.child("description"));
    }
    let retry = match fields.get("retry") {
        Some(node) => reader.boolean(node, &fields.child("retry")),
        None => Some(false),
    };
    // A method's pagination starts from the integration's and changes what it names.
    let pagination = match fields.get("pagination") {
        Some(node) => read_pagination(
            reader,
            templates,
            node,
            &fields.child("pagination"),
            base_pagination,
        )
        .map(Some),
        None => Some(None),
    };
    let (default_limit, max_limit) = limit?;
    Some(Method {
        request: request?,
        records: records?,
        record: record?,
        mapping: mapping?,
        default_limit,
        max_limit,
        retry: retry?,
        pagination: pagination?,
        lookups_in_request: ["request", "filters", "keep"]
            .iter()
            .filter_map(|key| fields.get(key))
            .any(|node| mentions(node, "lookups")),
        lookups: lookups?,
        keep: keep?,
        filters: filters?,
    })
}

/// Whether any scalar under `node` holds `word`.
fn mentions(node: &Node, word: &str) -> bool {
    match &node.value {
        yaml::NodeValue::Scalar(text, _) => text.contains(word),
        yaml::NodeValue::Sequence(items) => items.iter().any(|item| mentions(item, word)),
        yaml::NodeValue::Mapping(map) => map
            .iter()
            .any(|(key, (_, child))| key.contains(word) || mentions(child, word)),
    }
}

/// A method's lookups: names the integration declares.
fn read_method_lookups(
    reader: &mut Reader<'_>,
    node: &Node,
    path: &str,
    known: Option<&[String]>,
) -> Option<Vec<String>> {
    let names = reader.string_list(node, path)?;
    let Some(known) = known else {
        return Some(names);
    };
    let mut ok = true;
    for name in &names {
        if !known.contains(name) {
            let hint = reader::closest(name, known.iter().map(String::as_str))
                .map(|near| format!("did you mean `{near}`?"));
            let declared = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            let message = format!("unknown lookup `{name}`; integration.yaml declares: {declared}");
            reader.report(node.position, path, message, hint);
            ok = false;
        }
    }
    ok.then_some(names)
}

fn read_limit(
    reader: &mut Reader<'_>,
    node: &Node,
    path: &str,
) -> Option<(Option<u64>, Option<u64>)> {
    let fields = reader.mapping(node, path, &["default", "max"])?;
    let default = match fields.get("default") {
        Some(node) => Some(reader.integer(node, &fields.child("default"), 1)?),
        None => None,
    };
    let max = match fields.get("max") {
        Some(node) => Some(reader.integer(node, &fields.child("max"), 1)?),
        None => None,
    };
    Some((default, max))
}

fn read_filters(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    node: &Node,
    path: &str,
) -> Option<IndexMap<String, model::Filter>> {
    let fields = reader.mapping(node, path, &[])?;
    let mut filters = IndexMap::new();
    let mut ok = true;
    for (key, (_, node)) in fields.entries {
        let filter_path = fields.child(key);
        let Some(filter_fields) = reader.mapping(node, &filter_path, &["description", "query"])
        else {
            ok = false;
            continue;
        };
        let Some(query_node) = filter_fields.get("query") else {
            reader.missing(
                &filter_fields,
                "query",
                "the upstream query parameters it sets",
            );
            ok = false;
            continue;
        };
        let query_path = filter_fields.child("query");
        match reader.body_template(templates, query_node, &query_path, FILTER_VARIABLES) {
            Some(query @ BodyTemplate::Object { .. }) => {
                if let Some(node) = filter_fields.get("description") {
                    reader.string(node, &filter_fields.child("description"));
                }
                filters.insert(key.clone(), model::Filter { query });
            }
            Some(_) => {
                reader.report(
                    query_node.position,
                    &query_path,
                    "expected a mapping of query parameters",
                    None,
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then_some(filters)
}

fn read_request(
    reader: &mut Reader<'_>,
    templates: &mut Templates,
    node: &Node,
    path: &str,
    allowed: &[&str],
) -> Option<HttpRequest> {
    let fields = reader.mapping(node, path, REQUEST_KEYS)?;
    let method = required(reader, &fields, "method", "GET, POST, PUT, PATCH or DELETE")
        .and_then(|node| reader.choice(node, &fields.child("method"), HTTP_METHODS));
    let path_node = required(reader, &fields, "path", "the path under the base URL");
    if let Some(node) = path_node {
        let starts_right = matches!(&node.value, yaml::NodeValue::Scalar(text, _)
            if text.starts_with('/') || text.starts_with("{{"));
        if !starts_right {
            let message = "a path starts with `/` (it is appended to the base URL)";
            reader.report(node.position, &fields.child("path"), message, None);
        }
    }
    let path_template = path_node.and_then(|node| {
        reader.text_template(
            templates,
            node,
            &fields.child("path"),
            TextKind::Path,
            allowed,
        )
    });
    let query = match fields.get("query") {
        Some(node) => reader
            .body_template(templates, node, &fields.child("query"), allowed)
            .map(Some),
        None => Some(None),
    };
    let headers = match fields.get("headers") {
        Some(node) => read_headers(reader, templates, node, &fields.child("headers"), allowed),
        None => Some(Vec::new()),
    };
    let body = match fields.get("body") {
        Some(node) => reader
            .body_template(templates, node, &fields.child("body"), allowed)
            .map(Some),
        None => Some(None),
    };
    let method = method?;
    Some(HttpRequest {
        method: method.parse().ok()?,
        path: path_template?,
        query: query?,
        headers: headers?,
        body: body?,
    })
}
