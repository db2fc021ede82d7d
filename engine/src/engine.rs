//! The public entry point: an [`Engine`] built from a mappings folder, and its operations.

use std::collections::HashSet;
use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, Stream, StreamExt};
use jmespath::Rcvar;

use crate::account::Account;
use crate::compile::expression::from_json;
use crate::definition::model::{Integration, Method, MethodName, ParamsIn, RecordPath, Resource};
use crate::definition::{self, Catalog};
use crate::error::{Error, ErrorKind, Result};
use crate::execute::tape::Tape;
use crate::execute::{self, paging, Prepared};
use crate::unified::cursor::{Binding, PageState};
use crate::unified::ListPage;

/// How long one upstream request may take before it fails as a transport error.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Empty pages in a row, each signalling more, after which a stream gives up.
const MAX_EMPTY_PAGES: u32 = 20;
/// The most pages one [`ListCall::stream`] follows before it stops with an error.
const DEFAULT_MAX_PAGES: u64 = 100_000;

/// Runs unified operations for every integration defined under a mappings folder.
///
/// Loading compiles every expression and template, so an engine that loads is one whose
/// definitions run. The engine is `Send + Sync` and cheap to clone: clones share the compiled
/// definitions and one HTTP connection pool. It never blocks the async runtime.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    client: reqwest::Client,
    tape: Tape,
    tokens: execute::oauth::Tokens,
    /// Lookup results per integration, lookup and account, with when they were fetched.
    lookup_cache: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, serde_json::Value)>,
    >,
    mappings: PathBuf,
    max_pages: u64,
}

/// Settings for an [`Engine`] beyond its mappings folder.
#[must_use]
pub struct EngineBuilder {
    mappings: PathBuf,
    tape: Result<Tape>,
    store: Option<Arc<dyn crate::CredentialStore>>,
    timeout: Duration,
    max_pages: u64,
    client: Option<reqwest::Client>,
}

impl EngineBuilder {
    /// The time one upstream request may take (default 60 s). Ignored with [`Self::client`].
    pub fn timeout(mut self, timeout: Duration) -> EngineBuilder {
        self.timeout = timeout;
        self
    }

    /// The most pages a stream follows before failing (default 100,000).
    pub fn max_pages(mut self, pages: u64) -> EngineBuilder {
        self.max_pages = pages.max(1);
        self
    }

    /// Keeps every upstream exchange so that [`Engine::save_recording`] can write them to a
    /// file (credentials redacted, headers left out).
    pub fn record(mut self) -> EngineBuilder {
        self.tape = Ok(Tape::record());
        self
    }

    /// Answers every upstream request from a recording file instead of the network. A
    /// request with no recorded answer fails with an input error naming the closest one.
    pub fn replay(mut self, recording: impl AsRef<Path>) -> EngineBuilder {
        self.tape = Tape::replay(recording.as_ref());
        self
    }

    /// Where rotated OAuth credentials go; see [`CredentialStore`](crate::CredentialStore).
    /// Without one, refreshed tokens live only as long as the engine.
    pub fn credential_store(mut self, store: Arc<dyn crate::CredentialStore>) -> EngineBuilder {
        self.store = Some(store);
        self
    }

    /// Uses an HTTP client the application already has.
    pub fn client(mut self, client: reqwest::Client) -> EngineBuilder {
        self.client = Some(client);
        self
    }

    /// Loads and compiles every definition; fails with every problem found.
    pub fn build(self) -> Result<Engine> {
        let tape = self.tape?;
        let catalog = definition::load(&self.mappings)?;
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(Duration::from_secs(10))
                // A redirect could carry credentials outside the base URL; it is an answer
                // like any other, not something to follow.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("crosswalk/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|error| {
                    Error::new(
                        ErrorKind::Transport,
                        format!("cannot build the HTTP client: {error}"),
                    )
                    .with_source(error)
                })?,
        };
        Ok(Engine {
            inner: Arc::new(Inner {
                catalog,
                client,
                tape,
                tokens: execute::oauth::Tokens::new(self.store),
                lookup_cache: std::sync::Mutex::default(),
                mappings: self.mappings,
                max_pages: self.max_pages,
            }),
        })
    }
}

/// A summary of one loaded integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationInfo {
    /// The integration's name, as accounts name it.
    pub name: String,
    /// Its display title.
    pub title: String,
    /// Its default base URL.
    pub base_url: String,
    /// The credential names an account must supply.
    pub credentials: Vec<String>,
    /// Every unified resource with its methods.
    pub resources: Vec<ResourceInfo>,
}

/// A summary of one unified resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// `<unified-api>/<resource>`, e.g. `crm/accounts`.
    pub name: String,
    /// What the resource maps, from its definition.
    pub description: Option<String>,
    /// The methods it supports, in definition order.
    pub methods: Vec<&'static str>,
    /// The filters its list method honours.
    pub filters: Vec<String>,
}

impl Engine {
    /// Loads every definition under `mappings` with default settings.
    pub fn load(mappings: impl AsRef<Path>) -> Result<Engine> {
        Engine::builder(mappings).build()
    }

    /// Starts an engine with settings beyond the defaults.
    pub fn builder(mappings: impl AsRef<Path>) -> EngineBuilder {
        EngineBuilder {
            mappings: mappings.as_ref().to_owned(),
            tape: Ok(Tape::Off),
            store: None,
            timeout: DEFAULT_TIMEOUT,
            max_pages: DEFAULT_MAX_PAGES,
            client: None,
        }
    }

    /// The folder the definitions were loaded from.
    pub fn mappings_dir(&self) -> &Path {
        &self.inner.mappings
    }

    /// Writes the exchanges recorded so far (see [`EngineBuilder::record`]) to `path`,
    /// atomically; returns how many there were.
    pub fn save_recording(&self, path: impl AsRef<Path>) -> Result<usize> {
        self.inner.tape.save(path.as_ref())
    }

    /// Requests of the replayed recording that no call asked for, described one per entry.
    pub fn unused_recordings(&self) -> Vec<String> {
        self.inner.tape.unused()
    }

    /// Every loaded integration and its resources.
    pub fn integrations(&self) -> Vec<IntegrationInfo> {
        self.inner
            .catalog
            .integrations
            .values()
            .map(|integration| IntegrationInfo {
                name: integration.name.clone(),
                title: integration.title.clone(),
                base_url: integration.base_url.clone(),
                credentials: integration.credentials.clone(),
                resources: integration
                    .resources
                    .iter()
                    .map(|(name, resource)| ResourceInfo {
                        name: name.clone(),
                        description: resource.description.clone(),
                        methods: resource
                            .methods
                            .keys()
                            .map(|method| method.as_str())
                            .collect(),
                        filters: resource
                            .methods
                            .get(&MethodName::List)
                            .map(|list| list.filters.keys().cloned().collect())
                            .unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Lists records of `resource` (`crm/accounts`): one page, or every page as a stream.
    pub fn list<'a>(&'a self, account: &'a Account, resource: &'a str) -> ListCall<'a> {
        ListCall {
            engine: self,
            account,
            resource,
            limit: None,
            cursor: None,
            filters: Vec::new(),
            remote_data: true,
        }
    }

    /// Fetches one record by id.
    pub fn get<'a>(
        &'a self,
        account: &'a Account,
        resource: &'a str,
        id: &'a str,
    ) -> RecordCall<'a> {
        RecordCall::new(self, account, resource, MethodName::Get, Some(id), None)
    }

    /// Creates a record from a unified body and returns it as the upstream stored it.
    pub fn create<'a>(
        &'a self,
        account: &'a Account,
        resource: &'a str,
        body: &'a serde_json::Value,
    ) -> RecordCall<'a> {
        RecordCall::new(
            self,
            account,
            resource,
            MethodName::Create,
            None,
            Some(body),
        )
    }

    /// Changes the fields given in a unified body; the others stay as they are.
    pub fn update<'a>(
        &'a self,
        account: &'a Account,
        resource: &'a str,
        id: &'a str,
        body: &'a serde_json::Value,
    ) -> RecordCall<'a> {
        RecordCall::new(
            self,
            account,
            resource,
            MethodName::Update,
            Some(id),
            Some(body),
        )
    }

    /// Deletes a record; resolves to `{"id": ...}`.
    pub fn delete<'a>(
        &'a self,
        account: &'a Account,
        resource: &'a str,
        id: &'a str,
    ) -> RecordCall<'a> {
        RecordCall::new(self, account, resource, MethodName::Delete, Some(id), None)
    }

    /// Maps a saved upstream response offline, as `method` of `resource` would: a list
    /// response becomes `{"result", "next_cursor": null, "result_count"}`, a single-object
    /// response the unified object. Nothing is sent anywhere. The response is consumed: its
    /// records become the `remote_data` of the output without being copied.
    pub fn map_response(
        &self,
        integration: &str,
        resource: &str,
        method: &str,
        response: serde_json::Value,
        remote_data: bool,
    ) -> Result<serde_json::Value> {
        let method_name = MethodName::parse(method).ok_or_else(|| {
            Error::input(format!(
                "unknown method `{method}`; use one of: {}",
                MethodName::ALL_NAMES.join(", ")
            ))
        })?;
        let account = Account::new(integration);
        let (integration, found, definition) = self.resolve(&account, resource, method_name)?;
        match method_name {
            MethodName::List => {
                let page = from_json(&response);
                let result =
                    map_page(integration, found, definition, response, &page, remote_data)?;
                let count = result.len();
                Ok(
                    serde_json::json!({ "result": result, "next_cursor": null, "result_count": count }),
                )
            }
            MethodName::Delete => Err(Error::input(
                "delete answers `{\"id\": ...}` and maps nothing",
            )),
            _ => map_single(found, definition, &response, remote_data, None),
        }
    }

    /// Calls any upstream path of the account's integration through the same auth, retry and
    /// rate-limit handling as the unified operations. The path must stay under the base URL.
    pub fn proxy<'a>(
        &'a self,
        account: &'a Account,
        method: &str,
        path: &str,
    ) -> crate::ProxyCall<'a> {
        crate::ProxyCall::new(self, account, method, path)
    }

    /// The browser URL that starts OAuth 2.0 for an account holding `client_id`; the user
    /// comes back to `redirect_uri` with `code` and `state`.
    pub fn authorize_url(
        &self,
        account: &Account,
        redirect_uri: &str,
        state: &str,
    ) -> Result<String> {
        let integration = self.integration(account)?;
        execute::oauth::authorize_url(self.templates(), integration, account, redirect_uri, state)
    }

    /// Exchanges an authorization code for tokens, for an account holding `client_id` and
    /// `client_secret`.
    pub async fn exchange_code(
        &self,
        account: &Account,
        code: &str,
        redirect_uri: &str,
    ) -> Result<crate::TokenSet> {
        let integration = self.integration(account)?;
        execute::oauth::exchange_code(
            &self.inner.client,
            self.templates(),
            integration,
            account,
            code,
            redirect_uri,
        )
        .await
    }

    pub(crate) fn integration(&self, account: &Account) -> Result<&Integration> {
        let catalog = &self.inner.catalog;
        catalog
            .integrations
            .get(account.integration())
            .ok_or_else(|| {
                let known: Vec<&str> = catalog.integrations.keys().map(String::as_str).collect();
                Error::input(format!(
                    "unknown integration `{}`; loaded: {}",
                    account.integration(),
                    known.join(", ")
                ))
            })
    }

    pub(crate) fn templates(&self) -> &crate::compile::template::Templates {
        &self.inner.catalog.templates
    }

    pub(crate) fn max_pages(&self) -> u64 {
        self.inner.max_pages
    }

    /// The lookups a method asks for, fetched or from the per-account cache, as one object of
    /// name → records; `None` when it asks for none.
    async fn lookups(
        &self,
        integration: &Integration,
        account: &Account,
        method: &Method,
        id: Option<&str>,
    ) -> Result<Option<serde_json::Value>> {
        if method.lookups.is_empty() {
            return Ok(None);
        }
        let mut out = serde_json::Map::new();
        for name in &method.lookups {
            let lookup = &integration.lookups[name.as_str()];
            if let Some(when) = &lookup.when {
                let scope = execute::scope(account, None, None, &[]);
                let needed = self.templates().render_value(when, &scope)?;
                if !needed.is_some_and(|value| value.is_true()) {
                    out.insert(name.clone(), serde_json::Value::Null);
                    continue;
                }
            }
            let key = format!(
                "{}\u{0}{name}\u{0}{}\u{0}{}",
                integration.name,
                account.fingerprint(),
                id.unwrap_or_default()
            );
            let cached = self
                .inner
                .lookup_cache
                .lock()
                .ok()
                .and_then(|cache| cache.get(&key).cloned())
                .filter(|(at, _)| at.elapsed() < lookup.ttl);
            let records = match cached {
                Some((_, records)) => records,
                None => {
                    let records = self
                        .fetch_lookup(integration, account, name, lookup, id)
                        .await?;
                    // A lookup kept for no time (one about a single record) is not kept at all.
                    if !lookup.ttl.is_zero() {
                        if let Ok(mut cache) = self.inner.lookup_cache.lock() {
                            cache.insert(key, (std::time::Instant::now(), records.clone()));
                        }
                    }
                    records
                }
            };
            out.insert(name.clone(), records);
        }
        Ok(Some(serde_json::Value::Object(out)))
    }

    async fn fetch_lookup(
        &self,
        integration: &Integration,
        account: &Account,
        name: &str,
        lookup: &crate::definition::model::Lookup,
        id: Option<&str>,
    ) -> Result<serde_json::Value> {
        tracing::debug!(integration = %integration.name, lookup = name, "fetching a lookup");
        let scope = execute::scope(account, id, None, &[]);
        let prepared = execute::prepare(
            self.templates(),
            integration,
            account,
            &lookup.request,
            &scope,
            Vec::new(),
        )?;
        let response = self.send_raw(integration, account, prepared).await?;
        match lookup.records.find(&response.body) {
            Some(records @ serde_json::Value::Array(_)) => Ok(records.clone()),
            _ => Err(Error::mapping(format!(
                "the lookup `{name}` found no list at `{}` in the upstream answer",
                lookup.records
            ))),
        }
    }

    /// Sends a request that belongs to no method (the proxy); writes are never retried.
    pub(crate) async fn send_raw(
        &self,
        integration: &Integration,
        account: &Account,
        prepared: Prepared,
    ) -> Result<execute::Response> {
        execute::send(&self.context(), integration, account, prepared, false).await
    }

    /// What every request of this engine shares.
    fn context(&self) -> execute::Context<'_> {
        execute::Context {
            client: &self.inner.client,
            templates: &self.inner.catalog.templates,
            tape: &self.inner.tape,
            tokens: &self.inner.tokens,
        }
    }

    fn resolve(
        &self,
        account: &Account,
        resource: &str,
        method: MethodName,
    ) -> Result<(&Integration, &Resource, &Method)> {
        let integration = self.integration(account)?;
        let found = integration.resources.get(resource).ok_or_else(|| {
            let known: Vec<&str> = integration.resources.keys().map(String::as_str).collect();
            Error::input(format!(
                "{} has no unified resource `{resource}`; it has: {}",
                integration.name,
                known.join(", ")
            ))
        })?;
        let method_definition = found.methods.get(&method).ok_or_else(|| {
            let known: Vec<&str> = found.methods.keys().map(|m| m.as_str()).collect();
            Error::input(format!(
                "{resource} on {} does not support `{}`; it supports: {}",
                integration.name,
                method.as_str(),
                known.join(", ")
            ))
        })?;
        Ok((integration, found, method_definition))
    }

    async fn send(
        &self,
        integration: &Integration,
        account: &Account,
        method: &Method,
        prepared: Prepared,
    ) -> Result<execute::Response> {
        execute::send(
            &self.context(),
            integration,
            account,
            prepared,
            method.retry,
        )
        .await
    }
}

/// A list operation being set up; `.await` it for one page or call [`ListCall::stream`].
#[must_use = "a list call does nothing until awaited or streamed"]
pub struct ListCall<'a> {
    engine: &'a Engine,
    account: &'a Account,
    resource: &'a str,
    limit: Option<u64>,
    cursor: Option<String>,
    filters: Vec<(String, String)>,
    remote_data: bool,
}

impl<'a> ListCall<'a> {
    /// Records per page; clamped to what the upstream endpoint allows.
    pub fn limit(mut self, limit: u64) -> ListCall<'a> {
        self.limit = Some(limit);
        self
    }

    /// Continues from a `next_cursor` of an earlier page of the same call.
    pub fn cursor(mut self, cursor: impl Into<String>) -> ListCall<'a> {
        self.cursor = Some(cursor.into());
        self
    }

    /// Adds a unified filter such as `account_id` or `created_at[gte]`.
    pub fn filter(mut self, name: impl Into<String>, value: impl Into<String>) -> ListCall<'a> {
        self.filters.push((name.into(), value.into()));
        self
    }

    /// Whether records carry `remote_data`, the untouched upstream record (default true).
    pub fn remote_data(mut self, include: bool) -> ListCall<'a> {
        self.remote_data = include;
        self
    }

    /// Fetches one page.
    pub async fn page(self) -> Result<ListPage> {
        let plan = ListPlan::new(
            self.engine,
            self.account,
            self.resource,
            self.limit,
            self.filters,
            self.remote_data,
        )?;
        let state = match &self.cursor {
            Some(cursor) => Some(plan.binding().decode(cursor)?),
            None => None,
        };
        Ok(plan.fetch(self.engine, self.account, state).await?.0)
    }

    /// Follows every page, yielding records as they arrive; memory stays at one page.
    pub fn stream(self) -> impl Stream<Item = Result<serde_json::Value>> + Send + 'static {
        let engine = self.engine.clone();
        let account = self.account.clone();
        let plan = ListPlan::new(
            &engine,
            &account,
            self.resource,
            self.limit,
            self.filters,
            self.remote_data,
        );
        let first = match (&plan, &self.cursor) {
            (Ok(plan), Some(cursor)) => plan.binding().decode(cursor).map(Some),
            _ => Ok(None),
        };
        let walk = plan.and_then(|plan| {
            first.map(|state| Walk {
                plan,
                engine,
                account,
                next: Some(state),
                guards: PageGuards::default(),
            })
        });
        let pages = stream::try_unfold(walk.map(Some), |walk| async move {
            match walk? {
                Some(walk) => walk.step().await,
                None => Ok(None),
            }
        });
        pages
            .map(|page: Result<Vec<serde_json::Value>>| match page {
                Ok(records) => stream::iter(records.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(error) => stream::iter(vec![Err(error)]),
            })
            .flatten()
    }
}

impl<'a> IntoFuture for ListCall<'a> {
    type Output = Result<ListPage>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<ListPage>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.page())
    }
}

/// The progress of a stream over every page.
struct Walk {
    plan: ListPlan,
    engine: Engine,
    account: Account,
    /// The next page to fetch (`Some(None)` is the first page); `None` once the end is reached.
    next: Option<Option<PageState>>,
    guards: PageGuards,
}

impl Walk {
    async fn step(mut self) -> Result<Option<(Vec<serde_json::Value>, Result<Option<Walk>>)>> {
        let Some(state) = self.next.take() else {
            return Ok(None);
        };
        let max_pages = self.engine.inner.max_pages;
        self.guards
            .before(&self.plan.resource, max_pages, state.as_ref())?;
        let (page, upstream_records) = self.plan.fetch(&self.engine, &self.account, state).await?;
        // Pages emptied by a `keep` check are not empty upstream.
        self.guards.after(upstream_records == 0);
        self.next = match &page.next_cursor {
            Some(token) => Some(Some(self.plan.binding().decode(token)?)),
            None => None,
        };
        Ok(Some((page.result, Ok(Some(self)))))
    }
}

/// What a stream over every page remembers to stop a runaway upstream: the pages already
/// fetched (one sent again is an error, not a loop), how many, and the empty ones in a row.
#[derive(Default)]
pub(crate) struct PageGuards {
    seen: HashSet<PageState>,
    fetched: u64,
    empty_in_a_row: u32,
}

impl PageGuards {
    /// Checks the page about to be fetched; `what` names the list in messages.
    pub(crate) fn before(
        &mut self,
        what: &str,
        max_pages: u64,
        page: Option<&PageState>,
    ) -> Result<()> {
        if self.fetched >= max_pages {
            return Err(Error::mapping(format!(
                "stopped after {max_pages} pages of {what}: the upstream kept signalling more"
            )));
        }
        if self.empty_in_a_row >= MAX_EMPTY_PAGES {
            return Err(Error::mapping(format!(
                "stopped after {MAX_EMPTY_PAGES} empty pages of {what} in a row that each signalled more"
            )));
        }
        if let Some(page) = page {
            if !self.seen.insert(page.clone()) {
                return Err(Error::mapping(format!(
                    "the upstream sent {what} back to a page it had already sent; stopping instead of looping"
                )));
            }
        }
        Ok(())
    }

    /// Counts a fetched page.
    pub(crate) fn after(&mut self, empty: bool) {
        self.fetched += 1;
        self.empty_in_a_row = if empty { self.empty_in_a_row + 1 } else { 0 };
    }
}

/// Everything a list needs that does not change from page to page.
#[derive(Clone)]
struct ListPlan {
    resource: String,
    limit: u64,
    /// Whether the caller chose the page size (it then overrides a cursor's).
    limit_given: bool,
    max_limit: u64,
    filters: Vec<(String, String)>,
    remote_data: bool,
}

impl ListPlan {
    fn new(
        engine: &Engine,
        account: &Account,
        resource: &str,
        limit: Option<u64>,
        mut filters: Vec<(String, String)>,
        remote_data: bool,
    ) -> Result<ListPlan> {
        let (integration, _, method) = engine.resolve(account, resource, MethodName::List)?;
        let pagination = method
            .pagination
            .as_ref()
            .unwrap_or(&integration.pagination);
        let max = method.max_limit.unwrap_or(pagination.max_limit);
        let default = method
            .default_limit
            .unwrap_or(pagination.default_limit)
            .min(max);
        let limit_given = limit.is_some();
        let limit = match limit {
            Some(0) => return Err(Error::input("limit must be at least 1")),
            Some(limit) => limit.min(max),
            None => default,
        };
        check_filters(integration, resource, method, &filters)?;
        // Order does not change what a filter means, so the cursor binding is sorted.
        filters.sort();
        Ok(ListPlan {
            resource: resource.to_owned(),
            limit,
            limit_given,
            max_limit: max,
            filters,
            remote_data,
        })
    }

    /// A cursor's page size, unless the caller chose one; either way within the endpoint's cap.
    fn page_size(&self, state: PageState) -> Result<PageState> {
        let state = match self.limit_given {
            true => paging::with_limit(state, self.limit),
            false => state,
        };
        let size = paging::limit_of(&state);
        if size == 0 || size > self.max_limit {
            return Err(Error::input(format!(
                "invalid cursor for {}: its page size {size} is outside 1 to {}",
                self.resource, self.max_limit
            )));
        }
        Ok(state)
    }

    fn binding(&self) -> Binding<'_> {
        Binding {
            resource: &self.resource,
            filters: &self.filters,
        }
    }

    async fn fetch(
        &self,
        engine: &Engine,
        account: &Account,
        state: Option<PageState>,
    ) -> Result<(ListPage, usize)> {
        let (integration, resource, method) =
            engine.resolve(account, &self.resource, MethodName::List)?;
        let pagination = method
            .pagination
            .as_ref()
            .unwrap_or(&integration.pagination);
        let templates = &engine.inner.catalog.templates;
        let mut scope = execute::scope(account, None, None, &self.filters);
        let mut context = None;
        if method.lookups_in_request {
            let lookups = engine.lookups(integration, account, method, None).await?;
            context = with_lookups(&mut scope, lookups.as_ref(), account, &self.filters);
        }
        let state = match state {
            Some(state) => self.page_size(state)?,
            None => paging::first(pagination, self.limit),
        };

        let query = filter_params(templates, method, &scope, &self.filters)?;
        let mut prepared = execute::prepare(
            templates,
            integration,
            account,
            &method.request,
            &scope,
            query,
        )?;
        let page_params = paging::params(pagination, &state)?;
        let base = execute::base_url(integration, account).to_owned();
        match &page_params.link {
            Some(link) => prepared.follow_link(&base, link),
            None => prepared
                .add_page_params(page_params.params, pagination.params_in == ParamsIn::Body)?,
        }
        if let (Some(bound), Some(window)) = (&page_params.window, &pagination.window) {
            let mut scope = scope.clone();
            scope.insert("window".into(), minijinja::Value::from(bound.as_str()));
            let replacing = execute::render_query(templates, &window.query, &scope)?;
            prepared
                .query
                .retain(|(key, _)| !replacing.iter().any(|(new, _)| new == key));
            prepared.query.extend(replacing);
        }
        tracing::debug!(resource = %self.resource, page = ?state, "fetching a page");
        let response = engine.send(integration, account, method, prepared).await?;
        if context.is_none() && !method.lookups.is_empty() {
            let lookups = engine.lookups(integration, account, method, None).await?;
            context = with_lookups(&mut scope, lookups.as_ref(), account, &self.filters);
        }

        let page = from_json(&response.body);
        let records_path = method.records.as_ref().unwrap_or(&pagination.records);
        let mut body = response.body;
        let records = records_at(&mut body, &page, records_path)?;
        let count = records.len();
        // Records without a key are fine until a window is needed; then the list fails.
        let keys = match &pagination.window {
            Some(window) => window_keys(window, &records).unwrap_or_default(),
            None => Vec::new(),
        };
        // In a window, the records at its lower bound that were already delivered come again;
        // telling them apart needs every record's key.
        let delivered = match &state {
            PageState::Offset {
                w: Some(bound), x, ..
            } => Some((bound, x)),
            _ => None,
        };
        if delivered.is_some() && keys.len() != count {
            return Err(Error::mapping(
                "a record past the upstream's deepest offset has no window key or id; cannot tell repeats apart",
            ));
        }
        let mapping = method.mapping.as_ref().or(resource.mapping.as_ref());
        let mut result = Vec::with_capacity(count);
        for (index, (raw, converted)) in records.into_iter().enumerate() {
            if let (Some((bound, ids)), Some((key, id))) =
                (delivered, keys.get(index).filter(|_| keys.len() == count))
            {
                if key == bound && ids.contains(id) {
                    continue;
                }
            }
            if !keeps(templates, method, &scope, &raw)? {
                continue;
            }
            result.push(map_record(
                mapping,
                raw,
                &converted,
                self.remote_data,
                context.as_ref(),
            )?);
        }
        let answer = paging::Answer {
            page: &page,
            headers: &response.headers,
            records: count,
            keys: (keys.len() == count).then_some(keys.as_slice()),
            url: &response.url,
            base: &base,
        };
        let next = paging::next(pagination, &state, &answer)?;
        let page = ListPage {
            result,
            next_cursor: next.map(|next| self.binding().encode(next)),
            rate_limit: response.rate_limit,
        };
        Ok((page, count))
    }
}

/// Finds the records in a parsed response and their converted twins.
/// Takes the records out of a parsed response, each with its converted twin; the response is
/// not needed afterwards, so no record is copied.
fn records_at(
    body: &mut serde_json::Value,
    converted: &Rcvar,
    path: &RecordPath,
) -> Result<Vec<(serde_json::Value, Rcvar)>> {
    let Some(serde_json::Value::Array(items)) = path.find_mut(body) else {
        let found = path
            .find(body)
            .map_or("nothing", crate::compile::template::json_type_name);
        return Err(Error::mapping(format!(
            "expected a list of records at `{path}` in the upstream response, found {found}"
        ))
        .with_upstream(200, truncate_json(body)));
    };
    let items = std::mem::take(items);
    let twin = path_in_variable(converted, path);
    let twins = twin.as_array().cloned().unwrap_or_default();
    Ok(items.into_iter().zip(twins).collect())
}

/// Walks the same record path in the converted value.
fn path_in_variable(converted: &Rcvar, path: &RecordPath) -> Rcvar {
    path.segments()
        .iter()
        .fold(converted.clone(), |current, segment| {
            match (current.as_array(), segment.parse::<usize>()) {
                (Some(_), Ok(index)) => current.get_index(index),
                _ => current.get_field(segment),
            }
        })
}

fn truncate_json(body: &serde_json::Value) -> String {
    let text = body.to_string();
    text.chars().take(2048).collect()
}

/// Makes a method's lookups visible: to templates as `lookups`, and to its mapping as the
/// keys `"$lookups"`, `"$options"` and `"$filters"` beside each record's own.
fn with_lookups(
    scope: &mut crate::compile::template::Scope,
    lookups: Option<&serde_json::Value>,
    account: &Account,
    filters: &[(String, String)],
) -> Option<Rcvar> {
    let lookups = lookups?;
    scope.insert("lookups".into(), minijinja::Value::from_serialize(lookups));
    let options = serde_json::to_value(account.options()).unwrap_or_default();
    let filters: serde_json::Map<String, serde_json::Value> = filters
        .iter()
        .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
        .collect();
    Some(from_json(&serde_json::json!({
        "$lookups": lookups,
        "$options": options,
        "$filters": filters,
    })))
}

/// Maps one record and attaches `remote_data` when asked to.
fn map_record(
    mapping: Option<&crate::compile::expression::Expression>,
    raw: serde_json::Value,
    converted: &Rcvar,
    remote_data: bool,
    context: Option<&Rcvar>,
) -> Result<serde_json::Value> {
    let Some(mapping) = mapping else {
        return Ok(raw);
    };
    let input = match (context.map(|c| &**c), &**converted) {
        (Some(jmespath::Variable::Object(extra)), jmespath::Variable::Object(record)) => {
            let mut merged = record.clone();
            merged.extend(
                extra
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone())),
            );
            Rcvar::new(jmespath::Variable::Object(merged))
        }
        _ => converted.clone(),
    };
    let mut mapped = mapping.search_json(&input)?;
    if let serde_json::Value::Object(object) = &mut mapped {
        // A unified record is identified by its id; a mapping that finds none was given
        // something other than a record (an envelope, an empty body, an error).
        if object.get("id").is_some_and(serde_json::Value::is_null) {
            return Err(Error::mapping(
                "the upstream answer holds no record with an id where one was expected",
            )
            .with_upstream(200, truncate_json(&raw)));
        }
        if remote_data {
            object.insert("remote_data".into(), raw);
        }
    } else {
        return Err(Error::mapping(format!(
            "the mapping produced {} instead of an object",
            crate::compile::template::json_type_name(&mapped)
        )));
    }
    tracing::trace!(id = ?mapped.get("id"), "mapped a record");
    Ok(mapped)
}

/// A get, create, update or delete being set up; `.await` it for the unified object.
#[must_use = "a call does nothing until awaited"]
pub struct RecordCall<'a> {
    engine: &'a Engine,
    account: &'a Account,
    resource: &'a str,
    method: MethodName,
    id: Option<&'a str>,
    body: Option<&'a serde_json::Value>,
    filters: Vec<(String, String)>,
    remote_data: bool,
}

impl<'a> RecordCall<'a> {
    fn new(
        engine: &'a Engine,
        account: &'a Account,
        resource: &'a str,
        method: MethodName,
        id: Option<&'a str>,
        body: Option<&'a serde_json::Value>,
    ) -> RecordCall<'a> {
        RecordCall {
            engine,
            account,
            resource,
            method,
            id,
            body,
            filters: Vec::new(),
            remote_data: true,
        }
    }

    /// Adds a filter the method declares, such as a parent id the upstream needs in the path.
    pub fn filter(mut self, name: impl Into<String>, value: impl Into<String>) -> RecordCall<'a> {
        self.filters.push((name.into(), value.into()));
        self
    }

    /// Whether the record carries `remote_data` (default true).
    pub fn remote_data(mut self, include: bool) -> RecordCall<'a> {
        self.remote_data = include;
        self
    }

    /// Runs the call.
    pub async fn send(self) -> Result<serde_json::Value> {
        let (integration, resource, method) =
            self.engine
                .resolve(self.account, self.resource, self.method)?;
        if let Some(id) = self.id {
            if id.trim().is_empty() {
                return Err(Error::input(format!(
                    "{} needs a record id",
                    self.method.as_str()
                )));
            }
        }
        if let Some(body) = self.body {
            if !body.is_object() {
                return Err(Error::input(format!(
                    "the {} body must be a JSON object, got {}",
                    self.method.as_str(),
                    crate::compile::template::json_type_name(body)
                )));
            }
        }
        check_filters(integration, self.resource, method, &self.filters)?;
        let templates = &self.engine.inner.catalog.templates;
        let mut scope = execute::scope(self.account, self.id, self.body, &self.filters);
        let mut context = None;
        if method.lookups_in_request {
            let lookups = self
                .engine
                .lookups(integration, self.account, method, self.id)
                .await?;
            context = with_lookups(&mut scope, lookups.as_ref(), self.account, &self.filters);
        }
        let query = filter_params(templates, method, &scope, &self.filters)?;
        let prepared = execute::prepare(
            templates,
            integration,
            self.account,
            &method.request,
            &scope,
            query,
        )?;
        let response = self
            .engine
            .send(integration, self.account, method, prepared)
            .await?;
        if context.is_none() && !method.lookups.is_empty() && self.method != MethodName::Delete {
            let lookups = self
                .engine
                .lookups(integration, self.account, method, self.id)
                .await?;
            context = with_lookups(&mut scope, lookups.as_ref(), self.account, &self.filters);
        }

        if self.method == MethodName::Delete {
            return Ok(serde_json::json!({ "id": self.id }));
        }
        map_single(
            resource,
            method,
            &response.body,
            self.remote_data,
            context.as_ref(),
        )
    }
}

/// Refuses filters the method does not declare, naming those it does.
fn check_filters(
    integration: &Integration,
    resource: &str,
    method: &Method,
    filters: &[(String, String)],
) -> Result<()> {
    let unsupported: Vec<&str> = filters
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !method.filters.contains_key(*name))
        .collect();
    let Some(first) = unsupported.first() else {
        // One value per filter: what a repeated one would mean differs between upstreams.
        let mut names: Vec<&str> = filters.iter().map(|(name, _)| name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(Error::input(format!(
                "the filter `{}` is given more than once; give it once",
                pair[0]
            )));
        }
        return Ok(());
    };
    let supported: Vec<&str> = method.filters.keys().map(String::as_str).collect();
    let listed = if supported.is_empty() {
        "none".to_owned()
    } else {
        supported.join(", ")
    };
    Err(Error::input(format!(
        "{resource} on {} cannot filter by `{first}`; supported filters: {listed}",
        integration.name
    ))
    .with_details(serde_json::json!({
        "unsupported": unsupported,
        "supported": supported,
    })))
}

/// The query parameters a call's filters add.
fn filter_params(
    templates: &crate::compile::template::Templates,
    method: &Method,
    scope: &crate::compile::template::Scope,
    filters: &[(String, String)],
) -> Result<Vec<(String, String)>> {
    let mut query = Vec::new();
    for (name, value) in filters {
        let filter = &method.filters[name.as_str()];
        query.extend(execute::filter_query(
            templates,
            &filter.query,
            scope,
            value,
        )?);
    }
    Ok(query)
}

/// Whether a method's `keep` check lets a raw record through (no check keeps everything).
fn keeps(
    templates: &crate::compile::template::Templates,
    method: &Method,
    scope: &crate::compile::template::Scope,
    raw: &serde_json::Value,
) -> Result<bool> {
    let Some(keep) = &method.keep else {
        return Ok(true);
    };
    let mut scope = scope.clone();
    scope.insert("record".into(), minijinja::Value::from_serialize(raw));
    Ok(templates
        .render_value(keep, &scope)?
        .is_some_and(|value| value.is_true()))
}

/// The window key and id of every record, as strings.
fn window_keys(
    window: &crate::definition::model::Window,
    records: &[(serde_json::Value, Rcvar)],
) -> Result<Vec<(String, String)>> {
    let text = |value: Rcvar, what: &str| match &*value {
        jmespath::Variable::String(text) => Ok(text.clone()),
        jmespath::Variable::Number(number) => Ok(number.to_string()),
        _ => Err(Error::mapping(format!(
            "a record has no {what} for paging past the deepest offset"
        ))),
    };
    records
        .iter()
        .map(|(_, converted)| {
            Ok((
                text(window.key.search(converted)?, "window key")?,
                text(window.id.search(converted)?, "id")?,
            ))
        })
        .collect()
}

/// Maps every record of a list response; `page` is the body, converted once.
fn map_page(
    integration: &Integration,
    resource: &Resource,
    method: &Method,
    mut body: serde_json::Value,
    page: &Rcvar,
    remote_data: bool,
) -> Result<Vec<serde_json::Value>> {
    let pagination = method
        .pagination
        .as_ref()
        .unwrap_or(&integration.pagination);
    let records_path = method.records.as_ref().unwrap_or(&pagination.records);
    let records = records_at(&mut body, page, records_path)?;
    let mapping = method.mapping.as_ref().or(resource.mapping.as_ref());
    records
        .into_iter()
        .map(|(raw, converted)| map_record(mapping, raw, &converted, remote_data, None))
        .collect()
}

/// Maps the one record of a get, create or update response.
fn map_single(
    resource: &Resource,
    method: &Method,
    body: &serde_json::Value,
    remote_data: bool,
    context: Option<&Rcvar>,
) -> Result<serde_json::Value> {
    let record_path = method.record.clone().unwrap_or_else(RecordPath::root);
    // A get answered by a list (`record: data.0`) finds nothing when the id is unknown.
    let raw = record_path
        .find(body)
        .filter(|record| !record.is_null())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("no record at `{record_path}` in the upstream response"),
            )
            .with_upstream(200, truncate_json(body))
        })?;
    let converted = from_json(raw);
    let mapping = method.mapping.as_ref().or(resource.mapping.as_ref());
    map_record(mapping, raw.clone(), &converted, remote_data, context)
}

impl<'a> IntoFuture for RecordCall<'a> {
    type Output = Result<serde_json::Value>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<serde_json::Value>> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_sync_and_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Engine>();
        check::<Account>();
    }
}
