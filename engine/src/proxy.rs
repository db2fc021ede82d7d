//! The proxy: any upstream path, through the same auth, retry and rate-limit pipeline as the
//! unified operations. Lists come back in the unified envelope, paged with the integration's
//! pagination; anything else comes back as the upstream sent it.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use futures_util::stream::{self, Stream, StreamExt};

use crate::account::Account;
use crate::compile::expression::from_json;
use crate::definition::model::{Pagination, PaginationKind, ParamsIn};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execute::{self, paging, Prepared};
use crate::unified::cursor::{Binding, PageState};
use crate::unified::ListPage;

/// A proxied request being set up; `.await` it for the answer, or [`ProxyCall::stream`]
/// every record of a list.
#[must_use = "a proxy call does nothing until awaited or streamed"]
pub struct ProxyCall<'a> {
    engine: &'a Engine,
    account: &'a Account,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    cursor: Option<String>,
}

/// What a proxied request answered.
#[derive(Debug, Clone, PartialEq)]
pub enum ProxyResponse {
    /// The answer held a list of records where the integration keeps them.
    List(ListPage),
    /// Anything else, as the upstream sent it.
    Object(serde_json::Value),
}

impl ProxyResponse {
    /// The list envelope, or the upstream's body.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ProxyResponse::List(page) => page.to_json(),
            ProxyResponse::Object(value) => value.clone(),
        }
    }
}

impl<'a> ProxyCall<'a> {
    pub(crate) fn new(
        engine: &'a Engine,
        account: &'a Account,
        method: &str,
        path: &str,
    ) -> ProxyCall<'a> {
        ProxyCall {
            engine,
            account,
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            query: Vec::new(),
            body: None,
            cursor: None,
        }
    }

    /// Adds a query parameter, sent as given.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> ProxyCall<'a> {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Sends a JSON body.
    pub fn body(mut self, body: serde_json::Value) -> ProxyCall<'a> {
        self.body = Some(body);
        self
    }

    /// Continues a list from a `next_cursor` of an earlier proxied page of the same request.
    pub fn cursor(mut self, cursor: impl Into<String>) -> ProxyCall<'a> {
        self.cursor = Some(cursor.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<ProxyResponse> {
        let plan = ProxyPlan::new(
            self.engine,
            self.account,
            &self.method,
            &self.path,
            self.query,
            self.body,
        )?;
        let state = match &self.cursor {
            Some(cursor) => Some(plan.binding().decode(cursor)?),
            None => None,
        };
        plan.fetch(self.engine, self.account, state).await
    }

    /// Follows every page of a list, yielding records as they arrive. An answer that is not
    /// a list yields it as one item.
    pub fn stream(self) -> impl Stream<Item = Result<serde_json::Value>> + Send + 'static {
        let engine = self.engine.clone();
        let account = self.account.clone();
        let plan = ProxyPlan::new(
            &engine,
            &account,
            &self.method,
            &self.path,
            self.query,
            self.body,
        );
        let start = plan.and_then(|plan| {
            let state = match &self.cursor {
                Some(cursor) => Some(plan.binding().decode(cursor)?),
                None => None,
            };
            Ok((plan, Some(state)))
        });
        let max_pages = engine.max_pages();
        // The same guards as a unified stream: a page the upstream already sent is an error,
        // as are endless empty pages and more pages than the engine allows.
        let guards = crate::engine::PageGuards::default();
        let pages = stream::try_unfold(
            (start.map(Some), engine, account, guards),
            move |(state, engine, account, mut guards)| async move {
                let Some((plan, Some(cursor))) = state? else {
                    return Ok(None);
                };
                guards.before(&plan.path, max_pages, cursor.as_ref())?;
                match plan.fetch(&engine, &account, cursor.clone()).await? {
                    ProxyResponse::Object(value) => {
                        Ok(Some((vec![value], (Ok(None), engine, account, guards))))
                    }
                    ProxyResponse::List(page) => {
                        guards.after(page.result.is_empty());
                        let next = match &page.next_cursor {
                            Some(token) => {
                                Some((plan.clone(), Some(Some(plan.binding().decode(token)?))))
                            }
                            None => None,
                        };
                        Ok(Some((page.result, (Ok(next), engine, account, guards))))
                    }
                }
            },
        );
        pages
            .map(|page: Result<Vec<serde_json::Value>>| match page {
                Ok(records) => stream::iter(records.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(error) => stream::iter(vec![Err(error)]),
            })
            .flatten()
    }
}

impl<'a> IntoFuture for ProxyCall<'a> {
    type Output = Result<ProxyResponse>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<ProxyResponse>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

#[derive(Clone)]
struct ProxyPlan {
    integration: String,
    method: reqwest::Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    binding_key: String,
}

impl ProxyPlan {
    fn new(
        engine: &Engine,
        account: &Account,
        method: &str,
        path: &str,
        mut query: Vec<(String, String)>,
        body: Option<serde_json::Value>,
    ) -> Result<ProxyPlan> {
        engine.integration(account)?;
        check_path(path)?;
        let method: reqwest::Method = match method {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" => {
                method.parse().map_err(|_| Error::input("bad method"))?
            }
            other => return Err(Error::input(format!("unknown HTTP method `{other}`"))),
        };
        query.sort();
        Ok(ProxyPlan {
            integration: account.integration().to_owned(),
            binding_key: format!("proxy {method} {path}"),
            method,
            path: path.to_owned(),
            query,
            body,
        })
    }

    fn binding(&self) -> Binding<'_> {
        Binding {
            resource: &self.binding_key,
            filters: &self.query,
        }
    }

    async fn fetch(
        &self,
        engine: &Engine,
        account: &Account,
        state: Option<PageState>,
    ) -> Result<ProxyResponse> {
        let integration = engine.integration(account)?;
        debug_assert_eq!(integration.name, self.integration);
        let pagination = &integration.pagination;
        let templates = engine.templates();
        // The first page is the caller's request exactly as given; later pages replace its
        // paging parameters with the ones the upstream's answers lead to.
        let first_page = state.is_none();
        let state = state.unwrap_or_else(|| first_state(pagination, &self.query));
        let paging_keys = paging_keys(pagination);
        let query: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(key, _)| first_page || !paging_keys.contains(&key.as_str()))
            .cloned()
            .collect();
        let mut prepared = Prepared::raw(
            templates,
            integration,
            account,
            self.method.clone(),
            &self.path,
            query,
            self.body.clone(),
        )?;
        let is_list_call = matches!(self.method, reqwest::Method::GET)
            && !matches!(pagination.kind, PaginationKind::None);
        if is_list_call && !first_page {
            let params = paging::params(pagination, &state)?;
            let base = execute::base_url(integration, account).to_owned();
            match &params.link {
                Some(link) => prepared.follow_link(&base, link),
                None => prepared
                    .add_page_params(params.params, pagination.params_in == ParamsIn::Body)?,
            }
        }
        let response = engine.send_raw(integration, account, prepared).await?;

        let records = pagination
            .records
            .find(&response.body)
            .and_then(|v| v.as_array());
        let (Some(records), true) = (records, is_list_call) else {
            return Ok(ProxyResponse::Object(response.body));
        };
        let page = from_json(&response.body);
        let base = execute::base_url(integration, account).to_owned();
        let answer = paging::Answer {
            page: &page,
            headers: &response.headers,
            records: records.len(),
            keys: None,
            url: &response.url,
            base: &base,
        };
        let next = paging::next(pagination, &state, &answer)?;
        Ok(ProxyResponse::List(ListPage {
            result: records.clone(),
            next_cursor: next.map(|next| self.binding().encode(next)),
            rate_limit: response.rate_limit,
        }))
    }
}

/// The paging parameter names of an integration, which the proxy manages itself.
fn paging_keys(pagination: &Pagination) -> Vec<&str> {
    match &pagination.kind {
        PaginationKind::None => vec![],
        PaginationKind::Offset {
            offset_param,
            limit_param,
        } => vec![offset_param, limit_param],
        PaginationKind::Page {
            page_param,
            limit_param,
            ..
        } => vec![page_param, limit_param],
        PaginationKind::Cursor {
            cursor_param,
            limit_param,
            ..
        } => vec![cursor_param, limit_param],
        PaginationKind::NextLink { limit_param, .. } => vec![limit_param],
    }
}

/// The first page as the caller's query describes it.
fn first_state(pagination: &Pagination, query: &[(String, String)]) -> PageState {
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let number = |key: &str, default: u64| get(key).and_then(|v| v.parse().ok()).unwrap_or(default);
    match &pagination.kind {
        PaginationKind::None => PageState::Offset {
            o: 0,
            l: 0,
            w: None,
            x: Vec::new(),
            t: None,
            y: Vec::new(),
        },
        PaginationKind::Offset {
            offset_param,
            limit_param,
        } => PageState::Offset {
            o: number(offset_param, 0),
            l: number(limit_param, pagination.default_limit),
            w: None,
            x: Vec::new(),
            t: None,
            y: Vec::new(),
        },
        PaginationKind::Page {
            page_param,
            limit_param,
            first_page,
        } => PageState::Page {
            p: number(page_param, *first_page),
            l: number(limit_param, pagination.default_limit),
        },
        PaginationKind::Cursor {
            cursor_param,
            limit_param,
            ..
        } => PageState::Cursor {
            c: get(cursor_param).unwrap_or_default().to_owned(),
            l: number(limit_param, pagination.default_limit),
        },
        PaginationKind::NextLink { limit_param, .. } => PageState::Link {
            u: String::new(),
            l: number(limit_param, pagination.default_limit),
        },
    }
}

/// Keeps a proxied path inside the integration's base URL: a relative path starting with
/// one `/`, with no scheme, no host and no `..` segment (encoded or not).
fn check_path(path: &str) -> Result<()> {
    let refuse = |why: &str| {
        Err(Error::input(format!(
            "the proxy path `{path}` {why}; give a path under the integration's base URL, like /items/"
        )))
    };
    if !path.starts_with('/') {
        return refuse("does not start with `/`");
    }
    if path.starts_with("//") {
        return refuse("names another host");
    }
    if path.contains('\\') || path.contains('?') || path.contains('#') {
        return refuse("holds `\\`, `?` or `#` (pass query parameters separately)");
    }
    // Decoded twice: a path that means `..` after one more decoding by a server is refused too.
    let once = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    let decoded = percent_encoding::percent_decode_str(&once).decode_utf8_lossy();
    if decoded.contains("://") || decoded.starts_with("//") {
        return refuse("names another host");
    }
    if decoded.contains('\\') {
        return refuse("holds an encoded `\\`");
    }
    // `..;params` is `..` to servers that strip matrix parameters.
    let dot_segment = |segment: &str| {
        let bare = segment.split(';').next().unwrap_or(segment);
        bare == ".." || bare == "."
    };
    if decoded.split('/').any(dot_segment) {
        return refuse("climbs out with `..`");
    }
    if decoded.chars().any(char::is_control) {
        return refuse("holds control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_path;

    #[test]
    fn paths_must_stay_under_the_base_url() {
        for good in ["/items/", "/items/a%20b/", "/"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
        for bad in [
            "items/",
            "https://evil.test/x",
            "//evil.test/x",
            "/../admin",
            "/a/../../b",
            "/a/%2e%2e/b",
            "/%2F%2Fevil.test",
            "/a\\b",
            "/a?b=c",
            "/http://evil.test",
            "/a/%5c..%5cb",
            "/a/..;/b",
            "/a/%252e%252e/b",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }
}
