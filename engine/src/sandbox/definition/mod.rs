//! `sandbox.yaml`: deserialized ([`raw`]), checked and compiled ([`compile`]) into a
//! [`Definition`].
//!
//! The language itself is described in the [module docs](super).

mod compile;
mod raw;
mod search;

pub(crate) use search::{
    ConditionSpec, Join, NodeSpec, ObjectSource, RequestKeys, Search, TextMode,
};

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::template::{Template, Templates, Tree};
use crate::{Diagnostic, Error, Result};

/// A checked sandbox definition, ready to serve.
pub(crate) struct Definition {
    /// The file it came from, for messages.
    pub(crate) file: PathBuf,
    /// The route prefix, without a trailing slash (`""` for none).
    pub(crate) base_path: String,
    pub(crate) trailing_slash: TrailingSlash,
    /// Upper-case HTTP verbs that update an item.
    pub(crate) update_methods: Vec<String>,
    pub(crate) id_field: String,
    pub(crate) auth: Option<Auth>,
    pub(crate) query: QueryParams,
    pub(crate) operators: Operators,
    pub(crate) envelope: Envelope,
    pub(crate) writes: Writes,
    pub(crate) responses: Responses,
    pub(crate) messages: Messages,
    /// The `constants` object, as templates see it.
    pub(crate) constants: Value,
    pub(crate) collections: Vec<Collection>,
    /// Search endpoints over the collections.
    pub(crate) searches: Vec<Search>,
    pub(crate) templates: Templates,
}

/// How a request path without its trailing slash is treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TrailingSlash {
    /// `/x` and `/x/` are the same route.
    #[default]
    Optional,
    /// Only `/x/` exists.
    Required,
    /// `/x` answers 308 with `Location: /x/`.
    Redirect,
}

/// Which requests are let in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Auth {
    /// The header that must be present.
    #[serde(default = "default_auth_header")]
    pub(crate) header: String,
    /// Accepted schemes (the header value's first word); empty accepts any value.
    #[serde(default)]
    pub(crate) schemes: Vec<String>,
}

/// Names of the reserved query parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct QueryParams {
    pub(crate) skip: String,
    pub(crate) limit: String,
    pub(crate) fields: String,
    pub(crate) order_by: String,
    pub(crate) default_limit: u64,
}

/// Suffixes of operator filter parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Operators {
    #[serde(rename = "in")]
    pub(crate) any_of: String,
    pub(crate) gt: String,
    pub(crate) gte: String,
    pub(crate) lt: String,
    pub(crate) lte: String,
}

/// Keys of a list answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Envelope {
    pub(crate) data: String,
    pub(crate) has_more: String,
    pub(crate) total: String,
}

/// Conventions of write bodies.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Writes {
    /// Keys with one of these prefixes are removed rather than set to null.
    pub(crate) drop_null_prefixes: Vec<String>,
    /// `key<suffix>: item` adds `item` to the list under `key`.
    pub(crate) list_add_suffix: Option<String>,
    /// `key<suffix>: item` removes `item` from the list under `key`.
    pub(crate) list_remove_suffix: Option<String>,
}

/// A canned answer: a status and a body template.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Tree,
}

/// Every canned answer of the sandbox.
pub(crate) struct Responses {
    pub(crate) unauthorized: Response,
    pub(crate) unknown_path: Response,
    pub(crate) method_not_allowed: Response,
    pub(crate) invalid_json: Response,
    pub(crate) not_found: Response,
    pub(crate) field_error: Response,
    pub(crate) deleted: Response,
}

/// Messages of field errors.
pub(crate) struct Messages {
    pub(crate) limit_too_large: Template,
    pub(crate) not_an_integer: Template,
    pub(crate) negative: Template,
    pub(crate) unknown_order: Template,
    pub(crate) reference_missing: Template,
    pub(crate) not_an_object: Template,
}

/// An operation a collection may allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Method {
    List,
    Get,
    Create,
    Update,
    Delete,
}

impl Method {
    const ALL: [Method; 5] = [
        Method::List,
        Method::Get,
        Method::Create,
        Method::Update,
        Method::Delete,
    ];

    fn writes(self) -> bool {
        matches!(self, Method::Create | Method::Update | Method::Delete)
    }
}

/// One sort key: a field and a direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub(crate) field: String,
    pub(crate) descending: bool,
}

impl SortKey {
    /// Reads `field` or `-field`.
    pub(crate) fn parse(text: &str) -> SortKey {
        match text.strip_prefix('-') {
            Some(field) => SortKey {
                field: field.to_owned(),
                descending: true,
            },
            None => SortKey {
                field: text.to_owned(),
                descending: false,
            },
        }
    }
}

/// An equality filter.
#[derive(Debug, Clone)]
pub(crate) struct EqualFilter {
    pub(crate) field: String,
    /// Applied when the caller filters on nothing for this field.
    pub(crate) default: Option<String>,
    /// The value that disables the filter.
    pub(crate) match_all: Option<String>,
}

/// A record of another collection made visible to templates.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    pub(crate) name: String,
    pub(crate) collection: usize,
    pub(crate) key: LookupKey,
}

/// Which record a lookup finds.
#[derive(Debug, Clone)]
pub(crate) enum LookupKey {
    /// The record whose id is in this field.
    Field(String),
    /// The record whose id this template renders (it sees earlier lookups).
    Id(Template),
    /// The collection's first record.
    First,
}

/// A field that must name an existing record.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub(crate) field: String,
    pub(crate) collection: usize,
    pub(crate) error_key: String,
    /// Overrides `messages.reference_missing`.
    pub(crate) message: Option<Template>,
}

/// Child records shown inside a record.
#[derive(Debug, Clone)]
pub(crate) struct Embed {
    pub(crate) field: String,
    pub(crate) collection: usize,
    pub(crate) foreign_key: String,
    pub(crate) filter: Map<String, Value>,
    pub(crate) create: bool,
    /// Only these keys of each child are shown, when given.
    pub(crate) fields: Option<Vec<String>>,
    /// Related records nested into each child, under their names.
    pub(crate) expand: Vec<Expand>,
}

/// A related record nested into each embedded child: the record of `collection` whose id is
/// in the child's `field`, shown under `name` (null when there is none).
#[derive(Debug, Clone)]
pub(crate) struct Expand {
    pub(crate) name: String,
    pub(crate) collection: usize,
    pub(crate) field: String,
}

/// Records deleted along with their parent.
#[derive(Debug, Clone)]
pub(crate) struct Cascade {
    pub(crate) collection: usize,
    pub(crate) foreign_key: String,
}

/// Fields set from templates, in declaration order.
pub(crate) type FieldTemplates = Vec<(String, Tree)>;

/// One collection, checked and with its references resolved to indexes.
pub(crate) struct Collection {
    pub(crate) name: String,
    /// The route below the base path, always ending with `/`.
    pub(crate) path: String,
    pub(crate) model: String,
    pub(crate) seed: Option<String>,
    /// The collections whose records this one holds: itself, or a union's members.
    pub(crate) members: Vec<usize>,
    pub(crate) is_union: bool,
    pub(crate) methods: Vec<Method>,
    pub(crate) id_prefix: String,
    pub(crate) id_length: usize,
    pub(crate) create_status: u16,
    pub(crate) paged: bool,
    pub(crate) max_limit: Option<u64>,
    pub(crate) total: bool,
    pub(crate) order: Vec<SortKey>,
    pub(crate) order_by: Vec<String>,
    pub(crate) equal_filters: Vec<EqualFilter>,
    pub(crate) range_filters: Vec<String>,
    pub(crate) created_field: Option<String>,
    pub(crate) updated_field: Option<String>,
    /// How this collection writes "now": its own pattern or the definition's.
    pub(crate) timestamp_format: String,
    pub(crate) lookups: Vec<Lookup>,
    pub(crate) defaults: FieldTemplates,
    pub(crate) computed: FieldTemplates,
    pub(crate) references: Vec<Reference>,
    pub(crate) embeds: Vec<Embed>,
    pub(crate) cascade: Vec<Cascade>,
}

impl Collection {
    /// Whether the collection answers this operation.
    pub(crate) fn allows(&self, method: Method) -> bool {
        self.methods.contains(&method)
    }
}

/// Reads and checks a definition; every problem found is reported at once.
pub(crate) fn parse(file: &Path, text: &str) -> Result<Definition> {
    let raw: raw::RawSandbox = serde_yaml::from_str(text)
        .map_err(|error| Error::definitions(vec![yaml_diagnostic(file, text, &error)]))?;
    compile::compile(file, text, raw).map_err(Error::definitions)
}

/// A diagnostic for a serde_yaml error, located where serde_yaml says.
fn yaml_diagnostic(file: &Path, text: &str, error: &serde_yaml::Error) -> Diagnostic {
    let message = error.to_string();
    let (line, column) = error
        .location()
        .map(|at| (at.line(), at.column()))
        .unwrap_or((1, 1));
    // serde_yaml appends the position; the diagnostic carries it separately.
    let message = match message.rfind(" at line ") {
        Some(cut) if error.location().is_some() => message[..cut].to_owned(),
        _ => message,
    };
    let (yaml_path, message) = match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (path.to_owned(), rest.to_owned()),
        _ => (String::new(), message),
    };
    Diagnostic {
        file: file.to_path_buf(),
        line,
        column,
        yaml_path,
        message,
        source_line: source_line(text, line),
        hint: None,
    }
}

/// The text of a one-based line.
pub(crate) fn source_line(text: &str, line: usize) -> Option<String> {
    text.lines()
        .nth(line.checked_sub(1)?)
        .map(|line| line.to_owned())
}

impl Default for QueryParams {
    fn default() -> QueryParams {
        QueryParams {
            skip: "_skip".into(),
            limit: "_limit".into(),
            fields: "_fields".into(),
            order_by: "_order_by".into(),
            default_limit: 100,
        }
    }
}

impl Default for Operators {
    fn default() -> Operators {
        Operators {
            any_of: "__in".into(),
            gt: "__gt".into(),
            gte: "__gte".into(),
            lt: "__lt".into(),
            lte: "__lte".into(),
        }
    }
}

impl Default for Envelope {
    fn default() -> Envelope {
        Envelope {
            data: "data".into(),
            has_more: "has_more".into(),
            total: "total".into(),
        }
    }
}

fn default_auth_header() -> String {
    "Authorization".into()
}
