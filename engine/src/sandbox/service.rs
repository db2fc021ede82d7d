//! Request handling, independent of the HTTP framework: auth, routing, dispatch.

use std::sync::{PoisonError, RwLock};

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::definition::{Definition, Method, TrailingSlash};
use super::listing::{self, Params};
use super::reply::{self, Rejection, Reply};
use super::search;
use super::store::Store;
use super::time;
use super::writes::{IdGenerator, Writer};

/// A request as the service needs it.
pub(crate) struct Request<'a> {
    /// The HTTP method, upper case.
    pub(crate) method: &'a str,
    /// The path, still percent-encoded.
    pub(crate) path: &'a str,
    /// The raw query string, for redirects.
    pub(crate) query: Option<&'a str>,
    /// The decoded query parameters.
    pub(crate) params: &'a Params,
    /// The value of the definition's auth header, if the request has it.
    pub(crate) credentials: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

/// What a path names: a collection, or one item of it.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Collection(usize),
    Item(usize, String),
    /// A search endpoint.
    Search(usize),
}

/// The definition and the live state behind one running sandbox.
pub(crate) struct Service {
    definition: Definition,
    store: RwLock<Store>,
    ids: IdGenerator,
}

impl Service {
    /// A service starting from the given seed state.
    pub(crate) fn new(definition: Definition, store: Store) -> Service {
        Service {
            definition,
            store: RwLock::new(store),
            ids: IdGenerator::new(),
        }
    }

    /// The header carrying credentials, when the definition asks for one.
    pub(crate) fn auth_header(&self) -> Option<&str> {
        self.definition
            .auth
            .as_ref()
            .map(|auth| auth.header.as_str())
    }

    /// Answers one request; refusals are rendered from the definition.
    pub(crate) fn respond(&self, request: &Request<'_>) -> Reply {
        self.answer(request)
            .unwrap_or_else(|rejection| rejection.reply(&self.definition))
    }

    fn answer(&self, request: &Request<'_>) -> Result<Reply, Rejection> {
        self.authorize(request.credentials)?;
        let target = self.route(request.path, request.query)?;
        if let Target::Search(index) = target {
            return self.search(index, request);
        }
        let method = self.method(&target, request.method)?;
        match (method, target) {
            (Method::List, Target::Collection(collection)) => self.list(collection, request),
            (Method::Get, Target::Item(collection, id)) => self.get(collection, &id, request),
            (Method::Create, Target::Collection(collection)) => self.create(collection, request),
            (Method::Update, Target::Item(collection, id)) => self.update(collection, &id, request),
            (Method::Delete, Target::Item(collection, id)) => self.delete(collection, &id),
            _ => Err(Rejection::MethodNotAllowed),
        }
    }

    fn authorize(&self, credentials: Option<&str>) -> Result<(), Rejection> {
        let Some(auth) = &self.definition.auth else {
            return Ok(());
        };
        let Some(value) = credentials.map(str::trim).filter(|value| !value.is_empty()) else {
            return Err(Rejection::Unauthorized);
        };
        if auth.schemes.is_empty() {
            return Ok(());
        }
        let mut words = value.split_whitespace();
        let scheme = words.next().unwrap_or_default();
        let has_credential = words.next().is_some();
        let accepted = auth
            .schemes
            .iter()
            .any(|accepted| accepted.eq_ignore_ascii_case(scheme));
        if accepted && has_credential {
            Ok(())
        } else {
            Err(Rejection::Unauthorized)
        }
    }

    /// Finds the collection or item a path names, applying the trailing-slash rule.
    fn route(&self, path: &str, query: Option<&str>) -> Result<Target, Rejection> {
        let definition = &self.definition;
        let rest = path
            .strip_prefix(definition.base_path.as_str())
            .filter(|rest| rest.starts_with('/'))
            .ok_or(Rejection::UnknownPath)?;
        if rest.ends_with('/') {
            return self.match_path(rest).ok_or(Rejection::UnknownPath);
        }
        let slashed = format!("{rest}/");
        let target = self.match_path(&slashed).ok_or(Rejection::UnknownPath)?;
        match definition.trailing_slash {
            TrailingSlash::Optional => Ok(target),
            TrailingSlash::Required => Err(Rejection::UnknownPath),
            TrailingSlash::Redirect => {
                let query = query.map(|query| format!("?{query}")).unwrap_or_default();
                Err(Rejection::Redirect(format!("{path}/{query}")))
            }
        }
    }

    /// Matches a slash-terminated path below the base path.
    ///
    /// A collection's own path wins; otherwise the longest collection path followed by
    /// exactly one segment names an item.
    fn match_path(&self, path: &str) -> Option<Target> {
        let searches = &self.definition.searches;
        if let Some(index) = searches.iter().position(|s| s.path == path) {
            return Some(Target::Search(index));
        }
        let collections = &self.definition.collections;
        if let Some(index) = collections.iter().position(|c| c.path == path) {
            return Some(Target::Collection(index));
        }
        collections
            .iter()
            .enumerate()
            .filter_map(|(index, collection)| {
                let segment = path
                    .strip_prefix(collection.path.as_str())?
                    .strip_suffix('/')?;
                let single = !segment.is_empty() && !segment.contains('/');
                single.then_some((index, collection.path.len(), segment))
            })
            .max_by_key(|(_, length, _)| *length)
            .map(|(index, _, segment)| {
                let id = percent_decode_str(segment).decode_utf8_lossy().into_owned();
                Target::Item(index, id)
            })
    }

    /// The operation a method means on a target, if the collection allows it.
    fn method(&self, target: &Target, method: &str) -> Result<Method, Rejection> {
        let definition = &self.definition;
        let (collection, operation) = match target {
            Target::Collection(collection) => match method {
                "GET" => (*collection, Method::List),
                "POST" => (*collection, Method::Create),
                _ => return Err(Rejection::MethodNotAllowed),
            },
            Target::Search(_) => return Err(Rejection::MethodNotAllowed),
            Target::Item(collection, _) => match method {
                "GET" => (*collection, Method::Get),
                "DELETE" => (*collection, Method::Delete),
                _ if definition.update_methods.iter().any(|m| m == method) => {
                    (*collection, Method::Update)
                }
                _ => return Err(Rejection::MethodNotAllowed),
            },
        };
        if definition.collections[collection].allows(operation) {
            Ok(operation)
        } else {
            Err(Rejection::MethodNotAllowed)
        }
    }

    fn search(&self, index: usize, request: &Request<'_>) -> Result<Reply, Rejection> {
        if self.definition.searches[index].method != request.method {
            return Err(Rejection::MethodNotAllowed);
        }
        let body = if request.body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            parse_body(request.body)?
        };
        let store = self.read();
        let answer = search::search(&self.definition, &store, index, &body)?;
        Ok(Reply::json(200, answer))
    }

    fn list(&self, collection: usize, request: &Request<'_>) -> Result<Reply, Rejection> {
        let store = self.read();
        let body = listing::list(&self.definition, &store, collection, request.params)?;
        Ok(Reply::json(200, body))
    }

    fn get(&self, collection: usize, id: &str, request: &Request<'_>) -> Result<Reply, Rejection> {
        let store = self.read();
        let body = listing::get(&self.definition, &store, collection, id, request.params)?;
        Ok(Reply::json(200, body))
    }

    fn create(&self, collection: usize, request: &Request<'_>) -> Result<Reply, Rejection> {
        let body = parse_body(request.body)?;
        let mut store = self.write();
        let id = self.writer(&mut store).create(collection, body)?;
        let status = self.definition.collections[collection].create_status;
        Ok(Reply::json(
            status,
            self.view(&store, collection, collection, &id),
        ))
    }

    fn update(
        &self,
        collection: usize,
        id: &str,
        request: &Request<'_>,
    ) -> Result<Reply, Rejection> {
        let body = parse_body(request.body)?;
        let mut store = self.write();
        let table = self.writer(&mut store).update(collection, id, body)?;
        Ok(Reply::json(200, self.view(&store, collection, table, id)))
    }

    fn delete(&self, collection: usize, id: &str) -> Result<Reply, Rejection> {
        let mut store = self.write();
        self.writer(&mut store).delete(collection, id)?;
        let deleted = &self.definition.responses.deleted;
        Ok(reply::render(
            &self.definition,
            deleted,
            Value::Object(Map::new()),
        ))
    }

    /// A record just written, as a get would show it.
    fn view(&self, store: &Store, collection: usize, table: usize, id: &str) -> Value {
        let definition = &self.definition;
        store
            .find(definition, table, id)
            .map(|(_, record)| listing::view(definition, store, collection, record, None))
            .unwrap_or(Value::Null)
    }

    fn writer<'a>(&'a self, store: &'a mut Store) -> Writer<'a> {
        Writer {
            definition: &self.definition,
            store,
            ids: &self.ids,
            now: time::now(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        // Handlers do not panic under the lock; if one ever did, serving the state as it
        // is beats failing every later request.
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A write body: a JSON object, or the invalid-JSON refusal.
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Rejection> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Rejection::InvalidJson),
    }
}
