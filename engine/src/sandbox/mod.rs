//! A local, stateful stand-in for an upstream REST API, driven by data.
//!
//! The sandbox lets people and tests run everything offline: it serves an integration's
//! wire format over HTTP on `127.0.0.1`, starting from seed records and keeping every write
//! in memory for the life of the process. Nothing here knows a particular API: the
//! behaviour comes from `<integration>/sandbox.yaml` and the seed files it names.
//!
//! ```no_run
//! # async fn demo() -> crosswalk::Result<()> {
//! use crosswalk::sandbox::Sandbox;
//!
//! let sandbox = Sandbox::load(std::path::Path::new("mappings/example"))?;
//! let running = sandbox.bind(0).await?;
//! println!("serving on {}", running.base_url());
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # The `sandbox.yaml` language
//!
//! Every key is optional except `collections`. The strings of `responses`, `messages`,
//! `defaults`, `computed`, `lookups.*.id` and `references.*.message` are
//! [minijinja](https://docs.rs/minijinja) templates, compiled when the file loads. A
//! template that is a single
//! `{{ expression }}` keeps the value's JSON type (a number stays a number, an object stays
//! an object); any other template renders to a string. Undefined values are forgiving
//! (`a.b.c` on a missing `a` is undefined); a defaults or computed entry whose single
//! expression is undefined sets nothing.
//!
//! ## Top level
//!
//! | Key | Meaning |
//! | --- | --- |
//! | `base_path` | Prefix every route lives under, e.g. `/v1`. Default: none. |
//! | `trailing_slash` | `optional` (default: `/x` and `/x/` both match), `required` (a path without the slash is unknown) or `redirect` (a 308 to the slashed path). |
//! | `id_field` | Key holding a record's id. Default `id`. |
//! | `update_methods` | HTTP verbs that update an item. Default `[PUT, PATCH]`. |
//! | `timestamp_format` | How "now" is written: `%Y %m %d %H %M %S`, `%f` (microseconds), `%3f` (milliseconds), `%%`. Default `%Y-%m-%dT%H:%M:%S.%fZ`. |
//! | `auth` | `{header, schemes}`: a request without `header`, or whose value does not start with one of `schemes` (case-insensitive, e.g. `Basic`, `Bearer`), is refused with the `unauthorized` response. Any credential is accepted. Omit `auth` to serve without it. |
//! | `query` | Names of the reserved query parameters: `skip` (`_skip`), `limit` (`_limit`), `fields` (`_fields`), `order_by` (`_order_by`), and `default_limit` (100). |
//! | `operators` | Suffixes of filter parameters: `in` (`__in`), `gt`, `gte`, `lt`, `lte` (`__gt` ...). |
//! | `envelope` | Keys of a list answer: `data` (`data`), `has_more` (`has_more`), `total` (`total`, only on collections with `total: true`). |
//! | `writes` | `drop_null_prefixes`: keys starting with one of these are removed when set to null; `list_add_suffix` / `list_remove_suffix`: a key ending with one adds or removes one item of the list under the key without it. |
//! | `responses` | Each `{status, body}`; the body is a JSON tree whose keys and string leaves are templates. `unauthorized`, `unknown_path`, `method_not_allowed`, `invalid_json`, `not_found` (`model`, `id`), `field_error` (`field`, `message`), `deleted`. |
//! | `messages` | Templates for field errors: `limit_too_large`, `not_an_integer`, `negative`, `unknown_order`, `reference_missing`, `not_an_object`. They see `field` and the offending `value`; `limit_too_large` also `max`. |
//! | `constants` | Any values, visible to every template as `constants`. |
//! | `collections` | The list below. |
//! | `searches` | Search endpoints over several collections; see [below](#searches). |
//!
//! ## A collection
//!
//! | Key | Meaning |
//! | --- | --- |
//! | `name` | Unique name that other collections refer to. |
//! | `path` | Route below `base_path`, e.g. `/widget/`; an item is `<path><id>/`. |
//! | `model` | Name for the `not_found` body. Default: `name`. |
//! | `seed` | JSON file (relative to the integration folder) holding an array of records. |
//! | `union` | Names of other collections: this one is a read-only view merging their records. |
//! | `methods` | Allowed of `list`, `get`, `create`, `update`, `delete`. Default: all (a union: `list`, `get`). Others answer `method_not_allowed`. |
//! | `id` | `{prefix, length}`: new ids are `prefix` + `length` random base62 characters. Default `{prefix: "", length: 22}`. |
//! | `create_status` | Status of a successful create. Default 201. |
//! | `paged` | `false` lists everything, ignoring paging parameters. Default `true`. |
//! | `max_limit` | Largest page size; above it the `limit_too_large` field error. |
//! | `total` | Add the match count under `envelope.total`. |
//! | `order` | Order of a plain list, e.g. `-date_created` (descending); comma-separated keys. Default: storage order (seed order, then creation order). |
//! | `order_by` | Fields a caller may sort by with `query.order_by` (`field` or `-field`, comma-separated). |
//! | `filters` | `equal`: fields filterable with `field=value` and `field__in=a,b`; an entry may be `{field, default, match_all}` where `default` applies when the caller gives none and the value `match_all` disables the filter. `range`: fields filterable with `__gt`, `__gte`, `__lt`, `__lte` (ISO-8601 dates compare as instants, a date alone is midnight UTC; numbers numerically). Other parameters are ignored. |
//! | `timestamps` | `{created, updated}`: fields set to now on create, and on create and update. |
//! | `timestamp_format` | This collection's own way of writing "now" (see the top level). |
//! | `lookups` | `name: {collection, field}` or `name: {collection, id}`: before templates run, the record of `collection` whose id is in `field` (or is what the `id` template renders, seeing earlier lookups) is visible as `name`; with neither, the collection's first record. |
//! | `defaults` | `field: value`: set on create when the caller gave none. |
//! | `computed` | `field: value`: set on create and recomputed on every update. |
//! | `references` | `{field, collection, error_key, message}`: a write whose `field` names no record of `collection` fails with a field error under `error_key` (default `field`), worded by `message` (default `messages.reference_missing`). |
//! | `embeds` | `{field, collection, foreign_key, where, create, fields, expand}`: reads add `field`, the records of `collection` whose `foreign_key` is this record's id (and whose keys equal `where`). `fields` shows only those keys of each child, in that order; `expand: {name: {collection, field}}` nests into each child, under `name`, the record of `collection` whose id is in the child's `field` (null when none). With `create: true` (not with `fields` or `expand`), a create may carry them and they are created with this record's id; updates ignore the field. |
//! | `cascade` | `{collection, foreign_key}`: deleting a record deletes the records of `collection` pointing at it. |
//!
//! A write applies the body (with the `writes` conventions; the id, the timestamps and
//! embedded fields in a body are ignored), stamps the timestamps, resolves the lookups,
//! fills the `defaults` (create only), resolves the lookups again, and renders `computed`.
//! Those templates see the record's fields by name, the whole record as `record` (for keys
//! that are not identifiers), every lookup by its name, `constants`, and `now`; every
//! computed field sees the record as it was before the computed step.
//!
//! Embedded records are shown as stored (trimmed by `fields`, with their `expand`ed
//! records): embeds do not nest.
//!
//! ## Searches
//!
//! A search endpoint answers a query tree over the records of several collections, a page
//! at a time. Its request body carries the tree, the page size, a cursor and which fields
//! to show; the answer carries the hits and the next cursor. Every wire name is declared,
//! so the same code serves any query language of this shape.
//!
//! | Key | Meaning |
//! | --- | --- |
//! | `path` | Route below `base_path` (follows `trailing_slash` like a collection's). |
//! | `method` | The verb it answers. Default `POST`; a `GET` reads its body too. |
//! | `max_limit`, `default_limit` | Largest page size (above it, `limit_too_large`) and the size without one (default `query.default_limit`). |
//! | `request` | Body keys: `query`, `fields` (an object: object type → field names), `limit`, `cursor`, `results_limit` (caps the hits), `include_counts` (adds `{limited, total}`), `sort`. Defaults: the same names. |
//! | `response` | Answer keys: `data`, `cursor` (null on the last page), `type` (each hit's object type), `count`. |
//! | `objects` | Object type name → `{collection, text, results}` (its records; only these can be hits, unless `results: false`) or `{items_of, list, text}` (the objects in a list field of another type's records, e.g. a person's emails). `text`: the fields a bare text node matches. |
//! | `relations` | `{from, to}` with `foreign_key` (records of `to` whose `foreign_key` holds the id of the `from` record), `key` (the `to` record whose id is in the `from` record's `key`), or `through` (via another type). `items_of` types are related to their holder on their own. |
//! | `language` | The query vocabulary, below. |
//! | `messages` | `invalid_query` (sees `problem`) and `invalid_cursor`: field errors under the `query` and `cursor` keys. |
//!
//! `language`:
//!
//! | Key | Meaning |
//! | --- | --- |
//! | `kind_key` | The key naming the kind of a node, a field and a condition. Default `type`. |
//! | `negate` | A key that inverts any node when `true`. |
//! | `nodes` | Wire kind → `{kind, …keys}`: `all` / `any` (`queries`: a list of nodes), `object_type` (`value`: hits are of this type), `id` (`value`), `everything`, `text` (`value`, optional `mode`: matches the type's `text` fields), `field` (`field`: a field reference, `condition`), `related` (`related`: a type, `query`: a node that some related record meets; optional `this`: the type the node is about, and on records of another type it does not hold). |
//! | `fields` | Wire kind → `{object_type, name, prefix}`: the keys of a field reference naming its type (none: the record's own) and its field; `prefix` goes before the name. A field of a related type holds when some related record's field does. |
//! | `conditions` | Wire kind → `{kind, …keys}`: `text` (`value`, optional `mode`), `one_of` (`values`), `exists`, `range` (optional `gt`, `gte`, `lt`, `lte`: the keys of the bounds; `value`: the key inside a bound that is an object). Range values compare as numbers, as instants when both read as ISO-8601 (a date alone is midnight UTC), else as text. |
//! | `modes` | Wire mode → `words` (every word of the text is a word of the field), `phrase` (the words in a row) or `exact` (the whole field, without case). Words are runs of letters and digits, compared without case. |
//! | `default_mode` | The matching of a text without a mode. Default `words`. |
//! | `sort` | `{field, direction, descending}`: a sort is a list of objects with a field reference under `field` and, under `direction`, the value `descending` for a descending key. |
//!
//! Hits are the records of each collection type in declaration order, each in storage
//! order, unless sorted. A hit shows its type, its id and the fields asked for its type
//! (as a get shows them, embeds included), in the order asked. A cursor is bound to the
//! query, fields, sort and results limit; another one is refused with `invalid_cursor`.

mod definition;
mod listing;
mod locate;
mod reply;
mod search;
mod seed;
mod server;
mod service;
mod store;
mod template;
mod time;
mod values;
mod writes;

#[cfg(test)]
mod search_tests;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::Path;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::io_error;
use crate::{Error, ErrorKind, Result};

use definition::Definition;
use store::Store;

/// The name of the sandbox definition inside an integration folder.
const DEFINITION_FILE: &str = "sandbox.yaml";

/// A loaded sandbox: its definition and its seed state, ready to serve.
pub struct Sandbox {
    definition: Definition,
    store: Store,
}

impl Sandbox {
    /// Loads `<integration_dir>/sandbox.yaml` and its seed files.
    ///
    /// Fails with [`ErrorKind::Definition`] when a file cannot be read, is not valid YAML or
    /// JSON, or breaks a rule of the language; the error's diagnostics name the file and,
    /// where known, the line and column of every problem found.
    pub fn load(integration_dir: &Path) -> Result<Sandbox> {
        let file = integration_dir.join(DEFINITION_FILE);
        let text =
            std::fs::read_to_string(&file).map_err(|error| io_error(&file, "read", error))?;
        let definition = definition::parse(&file, &text)?;
        let store = seed::load(integration_dir, &definition)?;
        tracing::debug!(
            file = %file.display(),
            collections = definition.collections.len(),
            "loaded sandbox definition"
        );
        Ok(Sandbox { definition, store })
    }

    /// Serves on the given listener until the returned handle is shut down or dropped.
    ///
    /// Fails with [`ErrorKind::Transport`] when the listener has no local address.
    pub async fn start(self, listener: TcpListener) -> Result<RunningSandbox> {
        let local_addr = listener.local_addr().map_err(|error| {
            Error::new(
                ErrorKind::Transport,
                format!("sandbox listener has no address: {error}"),
            )
            .with_source(error)
        })?;
        let base_path = self.definition.base_path.clone();
        let router = server::router(self.definition, self.store);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let signal = async {
                // A dropped sender also means stop.
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(signal)
                .await
            {
                tracing::warn!(%error, "sandbox server stopped with an error");
            }
        });
        tracing::debug!(%local_addr, "sandbox listening");
        Ok(RunningSandbox {
            local_addr,
            base_path,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Binds 127.0.0.1 on the given port (0 = any free port) and starts.
    ///
    /// Fails with [`ErrorKind::Transport`] when the port cannot be bound.
    pub async fn bind(self, port: u16) -> Result<RunningSandbox> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|error| {
                Error::new(
                    ErrorKind::Transport,
                    format!("cannot bind the sandbox to 127.0.0.1:{port}: {error}"),
                )
                .with_source(error)
            })?;
        self.start(listener).await
    }
}

/// A sandbox serving HTTP in a background task.
///
/// Dropping it stops the server; [`RunningSandbox::shutdown`] stops it and waits.
pub struct RunningSandbox {
    local_addr: SocketAddr,
    base_path: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSandbox {
    /// The URL the upstream's paths are relative to, e.g. `http://127.0.0.1:41234/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.local_addr, self.base_path)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets requests in flight finish (for up to five
    /// seconds), and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            let grace = std::time::Duration::from_secs(5);
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("file", &self.definition.file)
            .field("collections", &self.definition.collections.len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for RunningSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSandbox")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}
