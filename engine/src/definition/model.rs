//! The compiled form of a definition: what the executor runs.

use indexmap::IndexMap;

use crate::compile::expression::Expression;
use crate::compile::template::{BodyTemplate, TextTemplate};

/// One integration: its upstream, auth, paging rules and unified resources.
pub(crate) struct Integration {
    pub(crate) name: String,
    pub(crate) title: String,
    pub(crate) base_url: String,
    /// Credential names an account must supply.
    pub(crate) credentials: Vec<String>,
    pub(crate) auth: Auth,
    /// OAuth 2.0 (authorization code), used by accounts that hold OAuth tokens.
    pub(crate) oauth2: Option<OAuth2>,
    /// Headers sent on every request.
    pub(crate) headers: Vec<(String, TextTemplate)>,
    pub(crate) pagination: Pagination,
    /// Extracts a readable message from an upstream error body.
    pub(crate) error_message: Option<Expression>,
    pub(crate) rate_limit: RateLimitPolicy,
    pub(crate) retry: RetryPolicy,
    /// Keyed by `<unified-api>/<resource>`, e.g. `crm/accounts`.
    pub(crate) resources: IndexMap<String, Resource>,
    /// Reference data methods may ask for (custom-field definitions, say), cached per account.
    pub(crate) lookups: IndexMap<String, Lookup>,
}

/// A request for reference data, its records, and how long to keep them.
pub(crate) struct Lookup {
    /// Whether the account needs it at all; when falsy the lookup is null and nothing is sent.
    pub(crate) when: Option<crate::compile::template::ValueTemplate>,
    pub(crate) request: HttpRequest,
    pub(crate) records: RecordPath,
    pub(crate) ttl: std::time::Duration,
}

pub(crate) enum Auth {
    None,
    Basic {
        username: TextTemplate,
        password: TextTemplate,
    },
    Bearer {
        token: TextTemplate,
    },
    Headers(Vec<(String, TextTemplate)>),
}

/// OAuth 2.0 authorization-code settings.
pub(crate) struct OAuth2 {
    pub(crate) authorize_url: TextTemplate,
    pub(crate) token_url: TextTemplate,
    pub(crate) scopes: Vec<String>,
    /// Client credentials go in the form body (true) or in a Basic header (false).
    pub(crate) client_credentials_in_body: bool,
    /// An access token this near its expiry is refreshed before use.
    pub(crate) expiry_margin: std::time::Duration,
}

#[derive(Clone)]
pub(crate) enum PaginationKind {
    /// One request returns everything.
    None,
    /// An offset and a page size, with a has-more flag in the body.
    Offset {
        offset_param: String,
        limit_param: String,
    },
    /// A page number and a page size, with a has-more flag in the body.
    Page {
        page_param: String,
        limit_param: String,
        first_page: u64,
    },
    /// An opaque upstream cursor read from each answer and sent with the next request; a
    /// missing, null or empty cursor ends the list.
    Cursor {
        cursor_param: String,
        limit_param: String,
        next_cursor: Expression,
    },
    /// A link to the next page, in a `Link` header (`rel="next"`) or in the body; absolute or
    /// relative, it must stay under the base URL.
    NextLink {
        source: LinkSource,
        limit_param: String,
    },
}

#[derive(Clone)]
pub(crate) enum LinkSource {
    Header(String),
    Body(Expression),
}

/// Where the engine puts paging parameters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamsIn {
    Query,
    Body,
}

#[derive(Clone)]
pub(crate) struct Pagination {
    pub(crate) kind: PaginationKind,
    pub(crate) params_in: ParamsIn,
    /// True when more pages follow; a missing or null flag means the last page.
    pub(crate) has_more: Option<Expression>,
    /// Where a list response keeps its records.
    pub(crate) records: RecordPath,
    pub(crate) default_limit: u64,
    pub(crate) max_limit: u64,
    /// The deepest offset the upstream accepts (offset paging).
    pub(crate) max_offset: Option<u64>,
    /// How a list continues past `max_offset`: by windows on an ascending key.
    pub(crate) window: Option<Window>,
}

/// Continues an offset list past the upstream's deepest offset: records arrive sorted by
/// `key`, and each new window asks for records from the last key seen on, dropping the ones at
/// that key already delivered.
#[derive(Clone)]
pub(crate) struct Window {
    /// The ascending sort key of a record.
    pub(crate) key: Expression,
    /// A record's identity.
    pub(crate) id: Expression,
    /// Query parameters that start a window at `window` (they replace same-named ones).
    pub(crate) query: BodyTemplate,
}

impl Default for Pagination {
    fn default() -> Pagination {
        Pagination {
            kind: PaginationKind::None,
            params_in: ParamsIn::Query,
            has_more: None,
            records: RecordPath::root(),
            default_limit: 100,
            max_limit: 100,
            max_offset: None,
            window: None,
        }
    }
}

/// A path of plain field names and list positions into a response (`data`, `results.items`,
/// `data.0`), or `@`.
///
/// Record paths are deliberately simpler than JMESPath: the engine walks the same path in the
/// parsed JSON (kept for `remote_data`) and in the converted value (used for mapping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordPath(Vec<String>);

impl RecordPath {
    pub(crate) fn root() -> RecordPath {
        RecordPath(Vec::new())
    }

    pub(crate) fn parse(text: &str) -> Option<RecordPath> {
        let text = text.trim();
        if text == "@" {
            return Some(RecordPath::root());
        }
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        let valid = parts.iter().all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        valid.then_some(RecordPath(parts))
    }

    pub(crate) fn find<'v>(&self, value: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        self.0.iter().try_fold(value, |current, key| match current {
            serde_json::Value::Array(items) => items.get(key.parse::<usize>().ok()?),
            _ => current.get(key),
        })
    }

    pub(crate) fn find_mut<'v>(
        &self,
        value: &'v mut serde_json::Value,
    ) -> Option<&'v mut serde_json::Value> {
        self.0.iter().try_fold(value, |current, key| match current {
            serde_json::Value::Array(items) => items.get_mut(key.parse::<usize>().ok()?),
            _ => current.get_mut(key),
        })
    }

    pub(crate) fn segments(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for RecordPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("@")
        } else {
            f.write_str(&self.0.join("."))
        }
    }
}

/// One unified resource, such as `crm/accounts`.
pub(crate) struct Resource {
    pub(crate) description: Option<String>,
    /// The read mapping from an upstream record to the unified record.
    pub(crate) mapping: Option<Expression>,
    pub(crate) methods: IndexMap<MethodName, Method>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum MethodName {
    List,
    Get,
    Create,
    Update,
    Delete,
}

impl MethodName {
    pub(crate) const ALL_NAMES: &'static [&'static str] =
        &["list", "get", "create", "update", "delete"];

    pub(crate) fn parse(text: &str) -> Option<MethodName> {
        Some(match text {
            "list" => MethodName::List,
            "get" => MethodName::Get,
            "create" => MethodName::Create,
            "update" => MethodName::Update,
            "delete" => MethodName::Delete,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MethodName::List => "list",
            MethodName::Get => "get",
            MethodName::Create => "create",
            MethodName::Update => "update",
            MethodName::Delete => "delete",
        }
    }
}

/// One method of a resource: the upstream request and how to read its response.
pub(crate) struct Method {
    pub(crate) request: HttpRequest,
    /// Where a list response keeps its records (default: the integration's).
    pub(crate) records: Option<RecordPath>,
    /// Where a single-object response keeps the object (default: the body itself).
    pub(crate) record: Option<RecordPath>,
    /// Overrides the resource's mapping for this method.
    pub(crate) mapping: Option<Expression>,
    pub(crate) default_limit: Option<u64>,
    pub(crate) max_limit: Option<u64>,
    /// Overrides the integration's pagination for this method.
    pub(crate) pagination: Option<Pagination>,
    /// Lookups this method's templates and mapping see, as `lookups` and `"$lookups"`.
    pub(crate) lookups: Vec<String>,
    /// Whether the request (or its filters or `keep`) needs the lookups; otherwise they are
    /// fetched after the request, for the mapping only, so a refused input sends nothing.
    pub(crate) lookups_in_request: bool,
    /// A check on each raw record of a list: records for which it is falsy are dropped (for
    /// exactness after an upstream's looser matching).
    pub(crate) keep: Option<crate::compile::template::ValueTemplate>,
    /// Whether a failed attempt may be repeated although the HTTP method is not a safe one.
    pub(crate) retry: bool,
    /// Unified filters this method honours, keyed as callers write them (`created_at[gte]`).
    pub(crate) filters: IndexMap<String, Filter>,
}

pub(crate) struct Filter {
    /// Query parameters the filter adds, rendered with the filter's `value`.
    pub(crate) query: BodyTemplate,
}

pub(crate) struct HttpRequest {
    pub(crate) method: reqwest::Method,
    pub(crate) path: TextTemplate,
    pub(crate) query: Option<BodyTemplate>,
    pub(crate) headers: Vec<(String, TextTemplate)>,
    pub(crate) body: Option<BodyTemplate>,
}

/// How the upstream says "slow down", and how long Crosswalk is willing to wait.
#[derive(Clone)]
pub(crate) struct RateLimitPolicy {
    /// Statuses that mean "too many requests".
    pub(crate) statuses: Vec<u16>,
    /// Where a suggested wait may be found; every signal present is read and the longest wins.
    pub(crate) waits: Vec<WaitSignal>,
    /// A header of `key=value` pairs carrying `limit`, `remaining` and `reset`.
    pub(crate) info_header: Option<String>,
    /// A suggested wait longer than this fails at once as a rate-limited error.
    pub(crate) max_wait: std::time::Duration,
    /// Attempts in all, the first included.
    pub(crate) attempts: u32,
    /// Used when the upstream gives no signal at all.
    pub(crate) backoff: Backoff,
}

#[derive(Clone)]
pub(crate) enum WaitSignal {
    /// Seconds (integer or decimal) or an HTTP date.
    Header(String),
    /// One key of a `key=value, key=value` header, in seconds.
    HeaderField(String, String),
    /// A JMESPath expression over the JSON error body giving seconds (number or string).
    Body(Expression),
}

/// Which failures are worth another attempt.
#[derive(Clone)]
pub(crate) struct RetryPolicy {
    pub(crate) statuses: Vec<u16>,
    pub(crate) attempts: u32,
    pub(crate) max_elapsed: std::time::Duration,
    pub(crate) backoff: Backoff,
    /// HTTP methods retried by default; other methods only where a method says `retry: true`.
    pub(crate) methods: Vec<String>,
}

/// Exponential backoff with full jitter, bounded.
#[derive(Clone, Copy)]
pub(crate) struct Backoff {
    pub(crate) initial: std::time::Duration,
    pub(crate) max: std::time::Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            statuses: vec![502, 503, 504],
            attempts: 3,
            max_elapsed: std::time::Duration::from_secs(60),
            backoff: Backoff::default(),
            methods: vec!["GET".into(), "HEAD".into(), "OPTIONS".into()],
        }
    }
}

impl Default for RateLimitPolicy {
    fn default() -> RateLimitPolicy {
        RateLimitPolicy {
            statuses: vec![429],
            waits: vec![WaitSignal::Header("retry-after".into())],
            info_header: None,
            max_wait: std::time::Duration::from_secs(60),
            attempts: 5,
            backoff: Backoff::default(),
        }
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: std::time::Duration::from_millis(500),
            max: std::time::Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt + 1`: a random share of the exponential ceiling.
    pub(crate) fn wait(&self, attempt: u32) -> std::time::Duration {
        let ceiling = self
            .initial
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max);
        ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}
