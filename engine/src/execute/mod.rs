//! Running a method: building the upstream request, injecting auth, sending it, and turning
//! the answer into JSON or a typed error.

pub(crate) mod oauth;
pub(crate) mod pacing;
pub(crate) mod paging;
pub(crate) mod tape;

use std::time::{Duration, Instant};

use minijinja::Value;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};

use crate::account::Account;
use crate::compile::expression::from_json;
use crate::compile::template::{BodyTemplate, Scope, Templates};
use crate::definition::model::{Auth, HttpRequest, Integration};
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
    /// What the upstream said about its rate limit, when it said anything.
    pub(crate) rate_limit: Option<pacing::RateLimit>,
    /// Response headers, names in lowercase.
    pub(crate) headers: Vec<(String, String)>,
    /// The URL the request went to.
    pub(crate) url: String,
}

/// An upstream answer before it is judged: from the network or from a recording.
pub(crate) struct Raw {
    pub(crate) status: u16,
    /// Response headers, names in lowercase.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// What one call needs besides the request: the shared client, templates and tape.
pub(crate) struct Context<'a> {
    pub(crate) client: &'a reqwest::Client,
    pub(crate) templates: &'a Templates,
    pub(crate) tape: &'a tape::Tape,
    pub(crate) tokens: &'a oauth::Tokens,
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
    request: &HttpRequest,
    scope: &Scope,
    extra_query: Vec<(String, String)>,
) -> Result<Prepared> {
    let base = base_url(integration, account);
    crate::account::check_base_url(base)
        .map_err(|why| Error::input(format!("the account's base URL: {why}")))?;
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

impl Prepared {
    /// A request for a caller-given path under the base URL (the proxy), with the
    /// integration's own headers.
    pub(crate) fn raw(
        templates: &Templates,
        integration: &Integration,
        account: &Account,
        method: reqwest::Method,
        path: &str,
        query: Vec<(String, String)>,
        body: Option<serde_json::Value>,
    ) -> Result<Prepared> {
        let base = base_url(integration, account);
        crate::account::check_base_url(base)
            .map_err(|why| Error::input(format!("the account's base URL: {why}")))?;
        let scope = scope(account, None, None, &[]);
        let mut headers = Vec::new();
        for (name, template) in &integration.headers {
            headers.push((name.clone(), templates.render_text(template, &scope)?));
        }
        Ok(Prepared {
            method,
            url: format!("{}{}", base.trim_end_matches('/'), path),
            path: path.to_owned(),
            query,
            body,
            headers,
        })
    }

    /// Adds paging parameters: to the query, or to the top of a JSON body.
    pub(crate) fn add_page_params(
        &mut self,
        params: Vec<(String, serde_json::Value)>,
        in_body: bool,
    ) -> Result<()> {
        if !in_body {
            self.query
                .extend(params.into_iter().map(|(key, value)| match value {
                    serde_json::Value::String(text) => (key, text),
                    other => (key, other.to_string()),
                }));
            return Ok(());
        }
        let body = self
            .body
            .get_or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        let serde_json::Value::Object(map) = body else {
            return Err(Error::new(
                ErrorKind::Definition,
                "paging parameters go in the body, but the body is not an object",
            ));
        };
        map.extend(params);
        Ok(())
    }

    /// Points the request at a next link under the base URL, whose query replaces the
    /// method's own.
    pub(crate) fn follow_link(&mut self, base: &str, link: &str) {
        let (path, query) = link.split_once('?').unwrap_or((link, ""));
        self.path = path.to_owned();
        self.url = format!("{}{}", base.trim_end_matches('/'), path);
        self.query = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |text: &str| {
                    percent_encoding::percent_decode_str(&text.replace('+', " "))
                        .decode_utf8_lossy()
                        .into_owned()
                };
                (decode(key), decode(value))
            })
            .collect();
    }
}

/// The base URL a call goes to: the account's override, or the integration's.
pub(crate) fn base_url<'a>(integration: &'a Integration, account: &'a Account) -> &'a str {
    account.base_url().unwrap_or(&integration.base_url)
}

/// Renders a query template to pairs.
pub(crate) fn render_query(
    templates: &Templates,
    template: &BodyTemplate,
    scope: &Scope,
) -> Result<Vec<(String, String)>> {
    query_pairs(templates.render_body(template, scope)?)
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

/// Sends a prepared request with the account's auth (or answers it from a recording), waits
/// out rate limits and retries transient failures as the integration declares, and reads the
/// answer. `retry_writes` marks a method whose writes are safe to repeat.
pub(crate) async fn send(
    context: &Context<'_>,
    integration: &Integration,
    account: &Account,
    prepared: Prepared,
    retry_writes: bool,
) -> Result<Response> {
    let replaying = matches!(context.tape, tape::Tape::Replay(_));
    let oauth = oauth::uses_oauth(integration, account) && !replaying;
    if !oauth {
        check_credentials(integration, account)?;
    }
    let mut bearer = match oauth {
        true => Some(
            context
                .tokens
                .bearer(context.client, context.templates, integration, account)
                .await?,
        ),
        false => None,
    };
    let mut refreshed_after_401 = false;
    let rate_limit = &integration.rate_limit;
    let retry = &integration.retry;
    let retryable = retry_writes || retry.methods.iter().any(|m| m == prepared.method.as_str());
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let token = bearer.as_ref().map(|bearer| bearer.token.as_str());
        // What is redacted from errors and recordings: the account's credentials, and the
        // access token in use, which may be newer than anything the account holds.
        let secrets = match token {
            Some(token) => {
                std::borrow::Cow::Owned(account.clone().with_credential("\u{0}bearer", token))
            }
            None => std::borrow::Cow::Borrowed(account),
        };
        let outcome = match context.tape.answer(&prepared) {
            Some(answer) => answer,
            None => {
                let sent = transmit(context, integration, account, &prepared, token).await;
                if let Ok(raw) = &sent {
                    context.tape.capture(&prepared, raw, &secrets);
                }
                sent
            }
        };

        // A 401 with OAuth: the token may have been revoked early; refresh once, try once more.
        if let (Ok(raw), Some(current)) = (&outcome, &bearer) {
            if raw.status == 401 && !refreshed_after_401 {
                refreshed_after_401 = true;
                let generation = current.generation;
                let tokens = context.tokens;
                bearer = Some(
                    tokens
                        .after_unauthorized(
                            context.client,
                            context.templates,
                            integration,
                            account,
                            generation,
                        )
                        .await?,
                );
                continue;
            }
        }

        let wait = match &outcome {
            Ok(raw) if rate_limit.statuses.contains(&raw.status) => {
                let suggested = pacing::suggested_wait(raw, rate_limit);
                if let Some(wait) = suggested.filter(|wait| *wait > rate_limit.max_wait) {
                    let error = interpret(integration, &secrets, &prepared, outcome?, rate_limit)
                        .err()
                        .unwrap_or_else(|| Error::new(ErrorKind::RateLimited, "rate limited"));
                    return Err(finish(error.with_retry_after(wait), attempt, started));
                }
                (attempt < rate_limit.attempts)
                    .then(|| suggested.unwrap_or_else(|| rate_limit.backoff.wait(attempt)))
            }
            Ok(raw) if retry.statuses.contains(&raw.status) && retryable => {
                (attempt < retry.attempts).then(|| retry.backoff.wait(attempt))
            }
            Err(error) if error.kind() == ErrorKind::Transport && retryable => {
                (attempt < retry.attempts).then(|| retry.backoff.wait(attempt))
            }
            _ => None,
        };
        let within_budget = |wait: &Duration| started.elapsed() + *wait <= retry.max_elapsed;
        match wait.filter(within_budget) {
            Some(wait) => {
                tracing::debug!(
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    status = outcome.as_ref().ok().map(|raw| raw.status),
                    "waiting before another attempt"
                );
                if !replaying {
                    tokio::time::sleep(wait).await;
                }
            }
            None => {
                let result = outcome
                    .and_then(|raw| interpret(integration, &secrets, &prepared, raw, rate_limit));
                return result.map_err(|error| finish(error, attempt, started));
            }
        }
    }
}

/// Adds the attempt count and time spent to an error that took more than one attempt.
fn finish(error: Error, attempts: u32, started: Instant) -> Error {
    if attempts <= 1 {
        return error;
    }
    let elapsed = started.elapsed().as_millis() as u64;
    error
        .add_detail("attempts", attempts.into())
        .add_detail("elapsed_ms", elapsed.into())
        .prefix_message(&format!("after {attempts} attempts: "))
}

async fn transmit(
    context: &Context<'_>,
    integration: &Integration,
    account: &Account,
    prepared: &Prepared,
    bearer: Option<&str>,
) -> Result<Raw> {
    let mut builder = context
        .client
        .request(prepared.method.clone(), &prepared.url)
        .header(ACCEPT, "application/json");
    if !prepared.query.is_empty() {
        builder = builder.query(&prepared.query);
    }
    builder = builder.headers(auth_headers(
        context.templates,
        integration,
        account,
        bearer,
    )?);
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
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let body = read_body(response, prepared).await?;
    tracing::debug!(
        method = %prepared.method,
        url = %prepared.url,
        status,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "upstream answered"
    );
    Ok(Raw {
        status,
        headers,
        body,
    })
}

/// Judges an answer: an error status becomes a typed error, a success body is parsed.
fn interpret(
    integration: &Integration,
    account: &Account,
    prepared: &Prepared,
    raw: Raw,
    rate_limit: &crate::definition::model::RateLimitPolicy,
) -> Result<Response> {
    let info = pacing::rate_limit_info(&raw, rate_limit);
    let status = raw.status;
    if !(200..300).contains(&status) {
        let mut error = upstream_error(integration, account, prepared, status, &raw.body);
        if rate_limit.statuses.contains(&status) {
            error = error.with_kind(ErrorKind::RateLimited);
            if let Some(wait) = pacing::suggested_wait(&raw, rate_limit) {
                error = error.with_retry_after(wait);
            }
        }
        return Err(error);
    }
    let bytes = &raw.body;
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(bytes).map_err(|error| {
            Error::new(
                ErrorKind::Mapping,
                format!(
                    "{} {} answered {status} with a body that is not JSON: {error}",
                    prepared.method,
                    path_of(&prepared.url),
                ),
            )
            .with_upstream(status, account.redact(&truncate(bytes)))
        })?
    };
    Ok(Response {
        body,
        rate_limit: info,
        headers: raw.headers,
        url: prepared.url.clone(),
    })
}

/// The largest response body read; a bigger one is refused rather than held in memory.
const MAX_RESPONSE_BODY: usize = 64 * 1024 * 1024;

async fn read_body(mut response: reqwest::Response, prepared: &Prepared) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport_error(prepared, error))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BODY {
            return Err(Error::new(
                ErrorKind::Transport,
                format!(
                    "{} {} answered with more than {} MiB; refusing to read it",
                    prepared.method,
                    path_of(&prepared.url),
                    MAX_RESPONSE_BODY / 1024 / 1024
                ),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn check_credentials(integration: &Integration, account: &Account) -> Result<()> {
    let missing: Vec<&str> = integration
        .credentials
        .iter()
        .filter(|name| {
            account
                .credentials()
                .get(name.as_str())
                .is_none_or(|value| value.trim().is_empty())
        })
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let has: Vec<&str> = account.credentials().keys().map(String::as_str).collect();
    let has = if has.is_empty() {
        "none".to_owned()
    } else {
        has.join(", ")
    };
    Err(Error::new(
        ErrorKind::Auth,
        format!(
            "the account lacks credential(s) {} that {} needs (empty values count as missing); it has: {has}",
            missing.join(", "),
            integration.name
        ),
    ))
}

fn auth_headers(
    templates: &Templates,
    integration: &Integration,
    account: &Account,
    bearer: Option<&str>,
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
    if let Some(token) = bearer {
        insert("authorization", format!("Bearer {token}"))?;
        return Ok(headers);
    }
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
    // reqwest's own message may repeat the URL; the URL we show never holds credentials
    // (base URLs with user info are refused), which travel in headers only. Its top-level
    // message ("error sending request") says little, so the causes are spelled out.
    let cause = error.without_url();
    let mut chain = cause.to_string();
    let mut source = std::error::Error::source(&cause);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !chain.contains(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = inner.source();
    }
    Error::new(
        ErrorKind::Transport,
        format!("{} {} {what}: {chain}", prepared.method, prepared.url),
    )
    .with_source(cause)
}

fn upstream_error(
    integration: &Integration,
    account: &Account,
    prepared: &Prepared,
    status: u16,
    bytes: &[u8],
) -> Error {
    // An upstream may echo the credential it refused; nothing of it goes further.
    let text = account.redact(&truncate(bytes));
    let parsed: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let extracted = parsed.as_ref().and_then(|body| {
        let expression = integration.error_message.as_ref()?;
        let value = expression.search_json(&from_json(body)).ok()?;
        match value {
            serde_json::Value::String(text) if !text.is_empty() => Some(text),
            serde_json::Value::String(_) | serde_json::Value::Null => None,
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
