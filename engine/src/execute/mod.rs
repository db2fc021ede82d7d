//! Running a method: building the upstream request, injecting auth, sending it, and turning
//! the answer into JSON or a typed error.

pub(crate) mod tape;

use std::time::{Duration, Instant};

use minijinja::Value;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};

use crate::account::Account;
use crate::compile::expression::from_json;
use crate::compile::template::{BodyTemplate, Scope, Templates};
use crate::definition::model::{Auth, Integration, Method};
use crate::error::{Error, ErrorKind, Result};

/// The most of an upstream error body kept in an error.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// An upstream request, rendered and ready to send.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) method: reqwest::Method,
    pub(crate) url: String,
    /// The rendered path under the base URL, as recordings keep it.
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<serde_json::Value>,
    headers: Vec<(String, String)>,
}

/// A successful upstream answer, its body parsed once.
pub(crate) struct Response {
    pub(crate) body: serde_json::Value,
}

/// An upstream answer before it is judged: from the network or from a recording.
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: Vec<u8>,
}

/// Builds the template scope of one call.
pub(crate) fn scope(
    account: &Account,
    id: Option<&str>,
    body: Option<&serde_json::Value>,
    filters: &[(String, String)],
) -> Scope {
    let mut scope = Scope::new();
    if let Some(id) = id {
        scope.insert("id".into(), Value::from(id));
    }
    let body = body.cloned().unwrap_or_else(|| serde_json::json!({}));
    scope.insert("body".into(), Value::from_serialize(&body));
    let filters: std::collections::BTreeMap<&str, &str> = filters
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    scope.insert("filters".into(), Value::from_serialize(&filters));
    scope.insert("options".into(), Value::from_serialize(account.options()));
    scope
}

/// Renders the method's request: URL, query (with the given extra parameters), headers, body.
pub(crate) fn prepare(
    templates: &Templates,
    integration: &Integration,
    account: &Account,
    method: &Method,
    scope: &Scope,
    extra_query: Vec<(String, String)>,
) -> Result<Prepared> {
    let request = &method.request;
    let base = account.base_url().unwrap_or(&integration.base_url);
    let path = templates.render_text(&request.path, scope)?;
    let url = format!("{}{}", base.trim_end_matches('/'), path);

    let mut query = match &request.query {
        Some(template) => query_pairs(templates.render_body(template, scope)?)?,
        None => Vec::new(),
    };
    query.extend(extra_query);

    let mut headers = Vec::new();
    for (name, template) in integration.headers.iter().chain(&request.headers) {
        headers.push((name.clone(), templates.render_text(template, scope)?));
    }
    let body = match &request.body {
        Some(template) => templates.render_body(template, scope)?,
        None => None,
    };
    Ok(Prepared {
        method: request.method.clone(),
        url,
        path,
        query,
        body,
        headers,
    })
}

/// Renders a filter's query parameters.
pub(crate) fn filter_query(
    templates: &Templates,
    template: &BodyTemplate,
    scope: &Scope,
    value: &str,
) -> Result<Vec<(String, String)>> {
    let mut scope = scope.clone();
    scope.insert("value".into(), Value::from(value));
    query_pairs(templates.render_body(template, &scope)?)
}

/// Flattens a rendered query object into pairs: lists join with commas, nulls are left out.
fn query_pairs(rendered: Option<serde_json::Value>) -> Result<Vec<(String, String)>> {
    let Some(rendered) = rendered else {
        return Ok(Vec::new());
    };
    let serde_json::Value::Object(map) = rendered else {
        return Err(Error::input("query parameters must render to a mapping"));
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (key, value) in map {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => text,
            serde_json::Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        pairs.push((key, text));
    }
    Ok(pairs)
}

/// Sends a prepared request with the account's auth (or answers it from a recording) and
/// reads the answer.
pub(crate) async fn send(
    client: &reqwest::Client,
    templates: &Templates,
    tape: &tape::Tape,
    integration: &Integration,
    account: &Account,
    prepared: Prepared,
) -> Result<Response> {
    check_credentials(integration, account)?;
    let raw = match tape.answer(&prepared) {
        Some(answer) => answer?,
        None => {
            let raw = transmit(client, templates, integration, account, &prepared).await?;
            tape.capture(&prepared, &raw, account);
            raw
        }
    };
    interpret(integration, &prepared, raw)
}

async fn transmit(
    client: &reqwest::Client,
    templates: &Templates,
    integration: &Integration,
    account: &Account,
    prepared: &Prepared,
) -> Result<Raw> {
    let mut builder = client
        .request(prepared.method.clone(), &prepared.url)
        .header(ACCEPT, "application/json");
    if !prepared.query.is_empty() {
        builder = builder.query(&prepared.query);
    }
    builder = builder.headers(auth_headers(templates, integration, account)?);
    for (name, value) in &prepared.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &prepared.body {
        builder = builder.header(CONTENT_TYPE, "application/json").json(body);
    }

    let started = Instant::now();
    let response = builder
        .send()
        .await
        .map_err(|error| transport_error(prepared, error))?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(Duration::from_secs_f64);
    let body = response
        .bytes()
        .await
        .map_err(|error| transport_error(prepared, error))?
        .to_vec();
    tracing::debug!(
        method = %prepared.method,
        url = %prepared.url,
        status,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "upstream answered"
    );
    Ok(Raw {
        status,
        retry_after,
        body,
    })
}

/// Judges an answer: an error status becomes a typed error, a success body is parsed.
fn interpret(integration: &Integration, prepared: &Prepared, raw: Raw) -> Result<Response> {
    let Raw {
        status,
        retry_after,
        body: bytes,
    } = raw;
    if !(200..300).contains(&status) {
        let error = upstream_error(integration, prepared, status, &bytes);
        return Err(match retry_after {
            Some(wait) => error.with_retry_after(wait),
            None => error,
        });
    }
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(&bytes).map_err(|error| {
            Error::new(
                ErrorKind::Mapping,
                format!(
                    "{} {} answered {status} with a body that is not JSON: {error}",
                    prepared.method,
                    path_of(&prepared.url),
                ),
            )
            .with_upstream(status, truncate(&bytes))
        })?
    };
    Ok(Response { body })
}

fn check_credentials(integration: &Integration, account: &Account) -> Result<()> {
    let missing: Vec<&str> = integration
        .credentials
        .iter()
        .filter(|name| !account.credentials().contains_key(name.as_str()))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Auth,
        format!(
            "the account lacks credential(s) {} that {} needs",
            missing.join(", "),
            integration.name
        ),
    ))
}

fn auth_headers(
    templates: &Templates,
    integration: &Integration,
    account: &Account,
) -> Result<HeaderMap> {
    let mut scope = Scope::new();
    scope.insert(
        "credentials".into(),
        Value::from_serialize(account.credentials()),
    );
    scope.insert("options".into(), Value::from_serialize(account.options()));
    let render = |template| {
        templates.render_text(template, &scope).map_err(|_| {
            Error::new(
                ErrorKind::Auth,
                "cannot build the auth header from the account's credentials",
            )
        })
    };
    let mut headers = HeaderMap::new();
    let mut insert = |name: &str, value: String| -> Result<()> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::new(
                ErrorKind::Definition,
                format!("invalid auth header name `{name}`"),
            )
        })?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::new(
                ErrorKind::Auth,
                "a credential holds characters not allowed in a header",
            )
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
        Ok(())
    };
    match &integration.auth {
        Auth::None => {}
        Auth::Basic { username, password } => {
            let pair = format!("{}:{}", render(username)?, render(password)?);
            let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pair);
            insert("authorization", format!("Basic {encoded}"))?;
        }
        Auth::Bearer { token } => insert("authorization", format!("Bearer {}", render(token)?))?,
        Auth::Headers(list) => {
            for (name, template) in list {
                insert(name, render(template)?)?;
            }
        }
    }
    Ok(headers)
}

fn transport_error(prepared: &Prepared, error: reqwest::Error) -> Error {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // reqwest's own message may repeat the URL; the URL we show never holds credentials,
    // which travel in headers only.
    let cause = error.without_url();
    Error::new(
        ErrorKind::Transport,
        format!("{} {} {what}: {cause}", prepared.method, prepared.url),
    )
    .with_source(cause)
}

fn upstream_error(
    integration: &Integration,
    prepared: &Prepared,
    status: u16,
    bytes: &[u8],
) -> Error {
    let text = truncate(bytes);
    let parsed: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
    let extracted = parsed.as_ref().and_then(|body| {
        let expression = integration.error_message.as_ref()?;
        let value = expression.search_json(&from_json(body)).ok()?;
        match value {
            serde_json::Value::String(text) if !text.is_empty() => Some(text),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        }
    });
    let kind = match status {
        401 | 403 => ErrorKind::Auth,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited,
        _ => ErrorKind::Upstream,
    };
    let detail = extracted.unwrap_or_else(|| match parsed {
        Some(_) => "no message in the error body".to_owned(),
        None if text.trim().is_empty() => "empty body".to_owned(),
        None => "a body that is not JSON".to_owned(),
    });
    let message = format!(
        "{} answered {status} to {} {}: {detail}",
        integration.title,
        prepared.method,
        path_of(&prepared.url)
    );
    let mut error = Error::new(kind, message).with_upstream(status, text);
    if let Some(body) = parsed.as_ref().and_then(field_failures) {
        error = error.with_details(serde_json::json!({ "failures": body }));
    }
    error
}

/// Field-level validation failures, when the body has a `field-errors`-like object.
fn field_failures(body: &serde_json::Value) -> Option<serde_json::Value> {
    let fields = ["field-errors", "field_errors", "fieldErrors"]
        .iter()
        .find_map(|key| body.get(key)?.as_object())?;
    if fields.is_empty() {
        return None;
    }
    Some(
        fields
            .iter()
            .map(|(field, message)| {
                let message = message
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| message.to_string());
                serde_json::json!({ "field": field, "message": message })
            })
            .collect(),
    )
}

fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|scheme| {
            url[scheme + 3..]
                .find('/')
                .map(|slash| &url[scheme + 3 + slash..])
        })
        .unwrap_or(url)
}

fn truncate(bytes: &[u8]) -> String {
    let end = bytes.len().min(MAX_ERROR_BODY);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}
