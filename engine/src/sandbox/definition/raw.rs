//! The YAML as written: serde structures with the language's defaults.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{Auth, Envelope, EqualFilter, Method, Operators, QueryParams, TrailingSlash, Writes};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSandbox {
    #[serde(default)]
    pub(super) base_path: String,
    #[serde(default)]
    pub(super) trailing_slash: TrailingSlash,
    #[serde(default = "default_update_methods")]
    pub(super) update_methods: Vec<String>,
    #[serde(default = "default_timestamp_format")]
    pub(super) timestamp_format: String,
    #[serde(default = "default_id_field")]
    pub(super) id_field: String,
    #[serde(default)]
    pub(super) auth: Option<Auth>,
    #[serde(default)]
    pub(super) query: QueryParams,
    #[serde(default)]
    pub(super) operators: Operators,
    #[serde(default)]
    pub(super) envelope: Envelope,
    #[serde(default)]
    pub(super) writes: Writes,
    #[serde(default)]
    pub(super) responses: RawResponses,
    #[serde(default)]
    pub(super) messages: RawMessages,
    #[serde(default)]
    pub(super) constants: Map<String, Value>,
    pub(super) collections: Vec<RawCollection>,
    #[serde(default)]
    pub(super) searches: Vec<super::search::RawSearch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCollection {
    pub(super) name: String,
    pub(super) path: String,
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) seed: Option<String>,
    #[serde(default)]
    pub(super) union: Option<Vec<String>>,
    #[serde(default)]
    pub(super) methods: Option<Vec<Method>>,
    #[serde(default)]
    pub(super) id: RawId,
    #[serde(default = "default_create_status")]
    pub(super) create_status: u16,
    #[serde(default = "default_true")]
    pub(super) paged: bool,
    #[serde(default)]
    pub(super) max_limit: Option<u64>,
    #[serde(default)]
    pub(super) total: bool,
    #[serde(default)]
    pub(super) order: Option<String>,
    #[serde(default)]
    pub(super) order_by: Vec<String>,
    #[serde(default)]
    pub(super) filters: RawFilters,
    #[serde(default)]
    pub(super) timestamps: RawTimestamps,
    #[serde(default)]
    pub(super) timestamp_format: Option<String>,
    #[serde(default)]
    pub(super) lookups: indexmap::IndexMap<String, RawLookup>,
    #[serde(default)]
    pub(super) defaults: Map<String, Value>,
    #[serde(default)]
    pub(super) computed: Map<String, Value>,
    #[serde(default)]
    pub(super) references: Vec<RawReference>,
    #[serde(default)]
    pub(super) embeds: Vec<RawEmbed>,
    #[serde(default)]
    pub(super) cascade: Vec<RawCascade>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawId {
    pub(super) prefix: String,
    pub(super) length: usize,
}

impl Default for RawId {
    fn default() -> RawId {
        RawId {
            prefix: String::new(),
            length: 22,
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawFilters {
    pub(super) equal: Vec<RawEqual>,
    pub(super) range: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawEqual {
    Field(String),
    Detailed(RawEqualDetailed),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEqualDetailed {
    pub(super) field: String,
    #[serde(default)]
    pub(super) default: Option<String>,
    #[serde(default)]
    pub(super) match_all: Option<String>,
}

impl RawEqual {
    /// The filter this entry declares.
    pub(super) fn compile(&self) -> EqualFilter {
        match self {
            RawEqual::Field(field) => EqualFilter {
                field: field.clone(),
                default: None,
                match_all: None,
            },
            RawEqual::Detailed(detailed) => EqualFilter {
                field: detailed.field.clone(),
                default: detailed.default.clone(),
                match_all: detailed.match_all.clone(),
            },
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTimestamps {
    pub(super) created: Option<String>,
    pub(super) updated: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLookup {
    pub(super) collection: String,
    #[serde(default)]
    pub(super) field: Option<String>,
    #[serde(default)]
    pub(super) id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReference {
    pub(super) field: String,
    pub(super) collection: String,
    #[serde(default)]
    pub(super) error_key: Option<String>,
    #[serde(default)]
    pub(super) message: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEmbed {
    pub(super) field: String,
    pub(super) collection: String,
    pub(super) foreign_key: String,
    #[serde(default, rename = "where")]
    pub(super) filter: Map<String, Value>,
    #[serde(default)]
    pub(super) create: bool,
    #[serde(default)]
    pub(super) fields: Option<Vec<String>>,
    #[serde(default)]
    pub(super) expand: indexmap::IndexMap<String, RawExpand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpand {
    pub(super) collection: String,
    pub(super) field: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCascade {
    pub(super) collection: String,
    pub(super) foreign_key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawResponse {
    pub(super) status: u16,
    #[serde(default)]
    pub(super) body: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawResponses {
    pub(super) unauthorized: RawResponse,
    pub(super) unknown_path: RawResponse,
    pub(super) method_not_allowed: RawResponse,
    pub(super) invalid_json: RawResponse,
    pub(super) not_found: RawResponse,
    pub(super) field_error: RawResponse,
    pub(super) deleted: RawResponse,
}

impl Default for RawResponses {
    fn default() -> RawResponses {
        let response = |status, body| RawResponse { status, body };
        RawResponses {
            unauthorized: response(401, json!({"error": "Unauthorized"})),
            unknown_path: response(404, json!({"error": "Not Found"})),
            method_not_allowed: response(405, json!({"error": "Method Not Allowed"})),
            invalid_json: response(400, json!({"error": "Invalid JSON"})),
            not_found: response(404, json!({"error": "{{ model }} {{ id }} not found"})),
            field_error: response(400, json!({"error": "{{ field }}: {{ message }}"})),
            deleted: response(200, json!({})),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawMessages {
    pub(super) limit_too_large: String,
    pub(super) not_an_integer: String,
    pub(super) negative: String,
    pub(super) unknown_order: String,
    pub(super) reference_missing: String,
    pub(super) not_an_object: String,
}

impl Default for RawMessages {
    fn default() -> RawMessages {
        RawMessages {
            limit_too_large: "must be at most {{ max }}".into(),
            not_an_integer: "must be an integer".into(),
            negative: "must not be negative".into(),
            unknown_order: "cannot sort by this field".into(),
            reference_missing: "no such record".into(),
            not_an_object: "must be an object".into(),
        }
    }
}

fn default_update_methods() -> Vec<String> {
    vec!["PUT".into(), "PATCH".into()]
}

fn default_timestamp_format() -> String {
    "%Y-%m-%dT%H:%M:%S.%fZ".into()
}

fn default_id_field() -> String {
    "id".into()
}

fn default_create_status() -> u16 {
    201
}

fn default_true() -> bool {
    true
}
