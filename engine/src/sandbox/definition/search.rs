//! `searches`: endpoints that search several collections at once with a query tree, whose
//! vocabulary (node kinds, key names, text modes) the definition names.
//!
//! The raw forms are deserialized here; `compile` resolves names to indexes.

use indexmap::IndexMap;
use serde::Deserialize;

use crate::sandbox::template::Template;

/// One search endpoint, checked, with its object types and relations resolved.
pub(crate) struct Search {
    /// The route below the base path, ending with `/`.
    pub(crate) path: String,
    /// The upper-case HTTP verb it answers.
    pub(crate) method: String,
    pub(crate) max_limit: Option<u64>,
    pub(crate) default_limit: u64,
    pub(crate) request: RequestKeys,
    pub(crate) response: ResponseKeys,
    pub(crate) objects: Vec<SearchObject>,
    pub(crate) relations: Vec<Relation>,
    pub(crate) language: Language,
    pub(crate) messages: SearchMessages,
}

impl Search {
    /// The object type of this name.
    pub(crate) fn object(&self, name: &str) -> Option<usize> {
        self.objects.iter().position(|object| object.name == name)
    }

    /// How records of `from` reach records of `to`, when declared.
    pub(crate) fn relation(&self, from: usize, to: usize) -> Option<&Relation> {
        self.relations
            .iter()
            .find(|relation| relation.from == from && relation.to == to)
    }
}

/// An object type a query can name.
pub(crate) struct SearchObject {
    pub(crate) name: String,
    pub(crate) source: ObjectSource,
    /// Fields a bare text node matches.
    pub(crate) text: Vec<String>,
    /// Whether its records can be hits: only collection types, and not when declared
    /// `results: false` (a type a query can relate to but not ask for).
    pub(crate) results: bool,
}

/// Where an object type's records come from.
pub(crate) enum ObjectSource {
    /// The records of a collection.
    Collection(usize),
    /// The items of a list field of another object type's records (e.g. a person's emails);
    /// they have no id and are never results.
    Items { of: usize, list: String },
}

/// How records of one object type reach related records of another.
pub(crate) struct Relation {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) join: Join,
}

pub(crate) enum Join {
    /// Records of `to` whose `foreign_key` holds the id of the `from` record.
    Children { foreign_key: String },
    /// The record of `to` whose id is in the `from` record's `key`.
    Parent { key: String },
    /// The items of the `from` record's list (declared by `items_of`).
    Items,
    /// Through the records of another object type.
    Through(usize),
}

/// Names of the keys of a search request body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RequestKeys {
    pub(crate) query: String,
    pub(crate) fields: String,
    pub(crate) limit: String,
    pub(crate) cursor: String,
    pub(crate) results_limit: String,
    pub(crate) include_counts: String,
    pub(crate) sort: String,
}

impl Default for RequestKeys {
    fn default() -> RequestKeys {
        RequestKeys {
            query: "query".into(),
            fields: "fields".into(),
            limit: "limit".into(),
            cursor: "cursor".into(),
            results_limit: "results_limit".into(),
            include_counts: "include_counts".into(),
            sort: "sort".into(),
        }
    }
}

/// Names of the keys of a search answer and of each hit's type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ResponseKeys {
    pub(crate) data: String,
    pub(crate) cursor: String,
    /// The key naming each hit's object type.
    #[serde(rename = "type")]
    pub(crate) object_type: String,
    pub(crate) count: String,
}

impl Default for ResponseKeys {
    fn default() -> ResponseKeys {
        ResponseKeys {
            data: "data".into(),
            cursor: "cursor".into(),
            object_type: "type".into(),
            count: "count".into(),
        }
    }
}

/// The query language: which wire names mean which node kinds, and their keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Language {
    /// The key holding a node's (and a field's, and a condition's) kind.
    #[serde(default = "default_kind_key")]
    pub(crate) kind_key: String,
    /// The key that inverts any node when true.
    #[serde(default)]
    pub(crate) negate: Option<String>,
    /// Wire kind → node.
    pub(crate) nodes: IndexMap<String, NodeSpec>,
    /// Wire kind → how a field is named.
    #[serde(default)]
    pub(crate) fields: IndexMap<String, FieldSpec>,
    /// Wire kind → condition on a field.
    #[serde(default)]
    pub(crate) conditions: IndexMap<String, ConditionSpec>,
    /// Wire text mode → matching.
    #[serde(default)]
    pub(crate) modes: IndexMap<String, TextMode>,
    /// The matching of a text without a mode.
    #[serde(default)]
    pub(crate) default_mode: TextMode,
    /// How sort entries are written, when sorting is offered.
    #[serde(default)]
    pub(crate) sort: Option<SortSpec>,
}

/// A node kind and the keys its wire form uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum NodeSpec {
    /// Every node under `queries` holds.
    All { queries: String },
    /// Some node under `queries` holds.
    Any { queries: String },
    /// The record is of the object type under `value`.
    ObjectType { value: String },
    /// The record's id is the one under `value`.
    Id { value: String },
    /// Every record.
    Everything,
    /// The text under `value` matches one of the object type's text fields.
    Text {
        value: String,
        #[serde(default)]
        mode: Option<String>,
    },
    /// The field named under `field` meets the condition under `condition`.
    Field { field: String, condition: String },
    /// Some record of the type under `related`, related to this one, meets the node under
    /// `query`; `this`, when given, names the type the node applies to.
    Related {
        #[serde(default)]
        this: Option<String>,
        related: String,
        query: String,
    },
}

/// How a field reference names its object type and field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldSpec {
    /// The key naming the field's object type; without it, the record's own type.
    #[serde(default)]
    pub(crate) object_type: Option<String>,
    /// The key naming the field.
    pub(crate) name: String,
    /// Put before the named field (`custom.` for custom fields kept as `custom.<id>`).
    #[serde(default)]
    pub(crate) prefix: String,
}

/// A condition kind and the keys its wire form uses.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ConditionSpec {
    /// The field's text matches the text under `value`.
    Text {
        value: String,
        #[serde(default)]
        mode: Option<String>,
    },
    /// The field equals one of the values under `values`.
    OneOf { values: String },
    /// The field has a value (not null, not empty).
    Exists,
    /// The field's value lies within the bounds under these keys (each optional). A bound is
    /// a value, or an object holding it under `value` when that is given. Values compare as
    /// numbers, as instants when both read as ISO-8601 (a date alone is midnight UTC), else
    /// as text.
    Range {
        #[serde(default)]
        gt: Option<String>,
        #[serde(default)]
        gte: Option<String>,
        #[serde(default)]
        lt: Option<String>,
        #[serde(default)]
        lte: Option<String>,
        #[serde(default)]
        value: Option<String>,
    },
}

/// How a text is matched against a field's text. Both are cut into words: maximal runs of
/// letters and digits, compared without case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TextMode {
    /// Every word of the text is a word of the field.
    #[default]
    Words,
    /// The words of the text appear in the field one after another.
    Phrase,
    /// The whole field equals the text, ignoring case and surrounding space.
    Exact,
}

/// How sort entries are written: a list of objects with a field and a direction.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SortSpec {
    /// The key holding the field reference (written as a field of `fields`).
    pub(crate) field: String,
    /// The key holding the direction.
    pub(crate) direction: String,
    /// The direction value that sorts descending; anything else ascends.
    pub(crate) descending: String,
}

/// Messages of refused searches.
pub(crate) struct SearchMessages {
    /// Sees `problem`, what is wrong with the query.
    pub(crate) invalid_query: Template,
    pub(crate) invalid_cursor: Template,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSearch {
    pub(super) path: String,
    #[serde(default = "default_method")]
    pub(super) method: String,
    #[serde(default)]
    pub(super) max_limit: Option<u64>,
    #[serde(default)]
    pub(super) default_limit: Option<u64>,
    #[serde(default)]
    pub(super) request: RequestKeys,
    #[serde(default)]
    pub(super) response: ResponseKeys,
    pub(super) objects: IndexMap<String, RawObject>,
    #[serde(default)]
    pub(super) relations: Vec<RawRelation>,
    pub(super) language: Language,
    #[serde(default)]
    pub(super) messages: RawSearchMessages,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObject {
    #[serde(default)]
    pub(super) collection: Option<String>,
    #[serde(default)]
    pub(super) items_of: Option<String>,
    #[serde(default)]
    pub(super) list: Option<String>,
    #[serde(default)]
    pub(super) text: Vec<String>,
    /// Whether records of a collection type can be hits (default true).
    #[serde(default)]
    pub(super) results: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelation {
    pub(super) from: String,
    pub(super) to: String,
    #[serde(default)]
    pub(super) foreign_key: Option<String>,
    #[serde(default)]
    pub(super) key: Option<String>,
    #[serde(default)]
    pub(super) through: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSearchMessages {
    pub(super) invalid_query: String,
    pub(super) invalid_cursor: String,
}

impl Default for RawSearchMessages {
    fn default() -> RawSearchMessages {
        RawSearchMessages {
            invalid_query: "{{ problem }}".into(),
            invalid_cursor: "invalid cursor".into(),
        }
    }
}

fn default_method() -> String {
    "POST".into()
}

fn default_kind_key() -> String {
    "type".into()
}
