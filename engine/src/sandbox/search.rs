//! Search endpoints: a query tree over several collections, answered a page at a time with
//! an opaque cursor. The vocabulary of the tree comes from the definition (see the
//! [module docs](super)); this module only knows the node kinds.

use std::cmp::Ordering;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::definition::{
    ConditionSpec, Definition, Join, NodeSpec, ObjectSource, RequestKeys, Search, TextMode,
};
use super::listing;
use super::reply::Rejection;
use super::store::{Record, Store};
use super::values;

/// How deep a query tree (and a chain of relations) may nest.
const MAX_DEPTH: usize = 32;

/// Answers one search request whose body is `body`.
pub(crate) fn search(
    definition: &Definition,
    store: &Store,
    index: usize,
    body: &Map<String, Value>,
) -> Result<Value, Rejection> {
    let spec = &definition.searches[index];
    let keys = &spec.request;
    let limit = match body.get(&keys.limit) {
        None | Some(Value::Null) => spec.default_limit,
        Some(value) => {
            let limit = non_negative(definition, &keys.limit, value)?;
            if let Some(max) = spec.max_limit.filter(|max| limit > *max) {
                return Err(Rejection::field(
                    definition,
                    &keys.limit,
                    &definition.messages.limit_too_large,
                    json!({"max": max, "value": limit}),
                ));
            }
            limit
        }
    };
    let results_limit = match body.get(&keys.results_limit) {
        None | Some(Value::Null) => None,
        Some(value) => Some(non_negative(definition, &keys.results_limit, value)?),
    };
    let include_counts = body.get(&keys.include_counts) == Some(&Value::Bool(true));

    let query = Query {
        definition,
        store,
        search: spec,
    };
    let refuse = |problem: String| {
        Rejection::field(
            definition,
            &keys.query,
            &spec.messages.invalid_query,
            json!({"problem": problem}),
        )
    };
    let mut hits = query.hits(body.get(&keys.query)).map_err(&refuse)?;
    if let Some(sort) = body.get(&keys.sort).filter(|sort| !sort.is_null()) {
        query.sort(&mut hits, sort).map_err(&refuse)?;
    }

    let total = hits.len();
    let limited = results_limit.map_or(total, |cap| total.min(to_usize(cap)));
    let fingerprint = fingerprint(body, keys);
    let skip = match body.get(&keys.cursor) {
        None | Some(Value::Null) => 0,
        Some(cursor) => read_cursor(cursor, &fingerprint).ok_or_else(|| {
            Rejection::field(
                definition,
                &keys.cursor,
                &spec.messages.invalid_cursor,
                json!({"value": cursor}),
            )
        })?,
    };
    let end = skip.saturating_add(to_usize(limit)).min(limited);
    let page: Vec<Value> = hits
        .get(skip.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(|(object, record)| query.hit(*object, record, body.get(&keys.fields)))
        .collect();
    let next = (end < limited && limit > 0).then(|| write_cursor(end, &fingerprint));

    let names = &spec.response;
    let mut answer = Map::new();
    answer.insert(names.data.clone(), Value::Array(page));
    answer.insert(
        names.cursor.clone(),
        next.map_or(Value::Null, Value::String),
    );
    if include_counts {
        answer.insert(
            names.count.clone(),
            json!({"limited": limited, "total": total}),
        );
    }
    Ok(Value::Object(answer))
}

/// A whole number of 0 or more, or the field error saying what is wrong.
fn non_negative(definition: &Definition, field: &str, value: &Value) -> Result<u64, Rejection> {
    if let Some(number) = value.as_u64() {
        return Ok(number);
    }
    let messages = &definition.messages;
    let message = if value.as_i64().is_some() {
        &messages.negative
    } else {
        &messages.not_an_integer
    };
    Err(Rejection::field(
        definition,
        field,
        message,
        json!({"value": value}),
    ))
}

fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// What a cursor is bound to: everything of the request but the page size and the cursor.
fn fingerprint(body: &Map<String, Value>, keys: &RequestKeys) -> String {
    let bound = json!([
        body.get(&keys.query),
        body.get(&keys.fields),
        body.get(&keys.sort),
        body.get(&keys.results_limit),
    ]);
    // FNV-1a: stable across runs, which a cursor handed out by a served sandbox needs.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bound.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// `base64url({"skip": n}).<fingerprint>`.
fn write_cursor(skip: usize, fingerprint: &str) -> String {
    let state = json!({"skip": skip}).to_string();
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(state);
    format!("{encoded}.{fingerprint}")
}

/// The offset a cursor of this search holds; `None` for anything else.
fn read_cursor(cursor: &Value, fingerprint: &str) -> Option<usize> {
    let (encoded, bound) = cursor.as_str()?.split_once('.')?;
    if bound != fingerprint {
        return None;
    }
    let state = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()?;
    let state: Value = serde_json::from_slice(&state).ok()?;
    usize::try_from(state.get("skip")?.as_u64()?).ok()
}

/// One search against the store.
struct Query<'a> {
    definition: &'a Definition,
    store: &'a Store,
    search: &'a Search,
}

/// A record found, with its object type.
type Hit<'a> = (usize, &'a Record);

impl<'a> Query<'a> {
    /// Every record of every result type that the query holds for, type by type in the
    /// order the definition declares them, each in storage order.
    fn hits(&self, node: Option<&Value>) -> Result<Vec<Hit<'a>>, String> {
        let mut hits = Vec::new();
        for (object, spec) in self.search.objects.iter().enumerate() {
            let ObjectSource::Collection(collection) = spec.source else {
                continue;
            };
            if !spec.results {
                continue;
            }
            for (_, record) in self.store.records(self.definition, collection) {
                let holds = match node {
                    None | Some(Value::Null) => true,
                    Some(node) => self.holds(node, object, record, 0)?,
                };
                if holds {
                    hits.push((object, record));
                }
            }
        }
        Ok(hits)
    }

    /// Whether a query node holds for a record of an object type.
    fn holds(
        &self,
        node: &Value,
        object: usize,
        record: &Record,
        depth: usize,
    ) -> Result<bool, String> {
        if depth > MAX_DEPTH {
            return Err("the query is nested too deeply".into());
        }
        let language = &self.search.language;
        let Value::Object(node) = node else {
            return Err(format!("a query node must be an object, not {node}"));
        };
        let kind = text_at(node, &language.kind_key, "a query node")?;
        let spec = language.nodes.get(kind).ok_or_else(|| {
            let known: Vec<&str> = language.nodes.keys().map(String::as_str).collect();
            format!("unknown query type `{kind}`; known: {}", known.join(", "))
        })?;
        let holds = match spec {
            NodeSpec::All { queries } => {
                let mut all = true;
                for child in list_at(node, queries, kind)? {
                    all &= self.holds(child, object, record, depth + 1)?;
                }
                all
            }
            NodeSpec::Any { queries } => {
                let mut any = false;
                for child in list_at(node, queries, kind)? {
                    any |= self.holds(child, object, record, depth + 1)?;
                }
                any
            }
            NodeSpec::ObjectType { value } => {
                let name = text_at(node, value, kind)?;
                let wanted = self.result_type(name)?;
                wanted == object
            }
            NodeSpec::Id { value } => {
                let id = text_at(node, value, kind)?;
                record
                    .get(&self.definition.id_field)
                    .and_then(Value::as_str)
                    == Some(id)
            }
            NodeSpec::Everything => true,
            NodeSpec::Text { value, mode } => {
                let text = text_at(node, value, kind)?;
                let mode = self.mode(node, mode.as_deref())?;
                self.search.objects[object].text.iter().any(|field| {
                    texts(record.get(field))
                        .iter()
                        .any(|t| matches(mode, t, text))
                })
            }
            NodeSpec::Field { field, condition } => {
                let field = node
                    .get(field)
                    .ok_or_else(|| format!("`{kind}` needs `{field}`"))?;
                let condition = node
                    .get(condition)
                    .ok_or_else(|| format!("`{kind}` needs `{condition}`"))?;
                self.field_holds(field, condition, object, record, depth)?
            }
            NodeSpec::Related {
                this,
                related,
                query,
            } => {
                if let Some(this) = this {
                    if let Some(name) = node.get(this).and_then(Value::as_str) {
                        let this_type = self.object_named(name)?;
                        if this_type != object {
                            // The node is about another type: it does not hold here.
                            return Ok(false);
                        }
                    }
                }
                let to = self.object_named(text_at(node, related, kind)?)?;
                let query = node
                    .get(query)
                    .ok_or_else(|| format!("`{kind}` needs `{query}`"))?;
                let mut any = false;
                for item in self.related(object, record, to, depth)? {
                    if self.holds(query, to, &item, depth + 1)? {
                        any = true;
                        break;
                    }
                }
                any
            }
        };
        let negate = language
            .negate
            .as_ref()
            .is_some_and(|key| node.get(key) == Some(&Value::Bool(true)));
        Ok(holds != negate)
    }

    /// Whether a field reference meets a condition; a field of a related type holds when
    /// some related record's field does.
    fn field_holds(
        &self,
        field: &Value,
        condition: &Value,
        object: usize,
        record: &Record,
        depth: usize,
    ) -> Result<bool, String> {
        let (owner, name) = self.field_name(field, object)?;
        let condition = self.condition(condition)?;
        if owner == object {
            return Ok(condition.holds(record.get(&name)));
        }
        Ok(self
            .related(object, record, owner, depth)?
            .iter()
            .any(|item| condition.holds(item.get(&name))))
    }

    /// The object type and field a field reference names.
    fn field_name(&self, field: &Value, object: usize) -> Result<(usize, String), String> {
        let language = &self.search.language;
        let Value::Object(field) = field else {
            return Err(format!("a field must be an object, not {field}"));
        };
        let kind = text_at(field, &language.kind_key, "a field")?;
        let spec = language.fields.get(kind).ok_or_else(|| {
            let known: Vec<&str> = language.fields.keys().map(String::as_str).collect();
            format!("unknown field type `{kind}`; known: {}", known.join(", "))
        })?;
        let owner = match &spec.object_type {
            Some(key) => self.object_named(text_at(field, key, kind)?)?,
            None => object,
        };
        let name = text_at(field, &spec.name, kind)?;
        Ok((owner, format!("{}{name}", spec.prefix)))
    }

    fn condition(&self, condition: &Value) -> Result<Condition, String> {
        let language = &self.search.language;
        let Value::Object(condition) = condition else {
            return Err(format!("a condition must be an object, not {condition}"));
        };
        let kind = text_at(condition, &language.kind_key, "a condition")?;
        let spec = language.conditions.get(kind).ok_or_else(|| {
            let known: Vec<&str> = language.conditions.keys().map(String::as_str).collect();
            format!(
                "unknown condition type `{kind}`; known: {}",
                known.join(", ")
            )
        })?;
        Ok(match spec {
            ConditionSpec::Text { value, mode } => Condition::Text {
                text: text_at(condition, value, kind)?.to_owned(),
                mode: self.mode(condition, mode.as_deref())?,
            },
            ConditionSpec::OneOf { values } => {
                let values = list_at(condition, values, kind)?
                    .iter()
                    .filter_map(values::as_query_text)
                    .map(|text| text.into_owned())
                    .collect();
                Condition::OneOf(values)
            }
            ConditionSpec::Exists => Condition::Exists,
            ConditionSpec::Range {
                gt,
                gte,
                lt,
                lte,
                value,
            } => {
                let mut bounds = Vec::new();
                let keys = [
                    (gt, Ordering::Greater, false),
                    (gte, Ordering::Greater, true),
                    (lt, Ordering::Less, false),
                    (lte, Ordering::Less, true),
                ];
                for (key, side, inclusive) in keys {
                    let Some(key) = key else { continue };
                    let Some(bound) = condition.get(key).filter(|bound| !bound.is_null()) else {
                        continue;
                    };
                    let bound = match (value, bound) {
                        (Some(inner), Value::Object(object)) => object
                            .get(inner)
                            .ok_or_else(|| format!("a bound of `{kind}` needs `{inner}`"))?,
                        _ => bound,
                    };
                    let operand = values::as_query_text(bound)
                        .ok_or_else(|| format!("a bound of `{kind}` must be a value, not {bound}"))?
                        .into_owned();
                    bounds.push(Bound {
                        operand,
                        side,
                        inclusive,
                    });
                }
                if bounds.is_empty() {
                    return Err(format!("`{kind}` needs a bound"));
                }
                Condition::Range(bounds)
            }
        })
    }

    /// The text mode a node or condition asks for under `key`, else the default.
    fn mode(&self, node: &Map<String, Value>, key: Option<&str>) -> Result<TextMode, String> {
        let language = &self.search.language;
        match key.and_then(|key| node.get(key)) {
            None | Some(Value::Null) => Ok(language.default_mode),
            Some(Value::String(mode)) => language.modes.get(mode).copied().ok_or_else(|| {
                let known: Vec<&str> = language.modes.keys().map(String::as_str).collect();
                format!("unknown text mode `{mode}`; known: {}", known.join(", "))
            }),
            Some(other) => Err(format!("a text mode must be a string, not {other}")),
        }
    }

    fn object_named(&self, name: &str) -> Result<usize, String> {
        self.search.object(name).ok_or_else(|| {
            let known: Vec<&str> = self
                .search
                .objects
                .iter()
                .map(|o| o.name.as_str())
                .collect();
            format!("unknown object type `{name}`; known: {}", known.join(", "))
        })
    }

    /// An object type that can be a result.
    fn result_type(&self, name: &str) -> Result<usize, String> {
        let results: Vec<&str> = self
            .search
            .objects
            .iter()
            .filter(|o| o.results)
            .map(|o| o.name.as_str())
            .collect();
        match self.search.object(name) {
            Some(object) if self.search.objects[object].results => Ok(object),
            _ => Err(format!(
                "`{name}` cannot be searched; searchable: {}",
                results.join(", ")
            )),
        }
    }

    /// The records of `to` related to a record of `from`.
    fn related(
        &self,
        from: usize,
        record: &Record,
        to: usize,
        depth: usize,
    ) -> Result<Vec<Record>, String> {
        if depth > MAX_DEPTH {
            return Err("the relations are nested too deeply".into());
        }
        let search = self.search;
        let relation = search.relation(from, to).ok_or_else(|| {
            format!(
                "`{}` has no related `{}`",
                search.objects[from].name, search.objects[to].name
            )
        })?;
        let definition = self.definition;
        Ok(match &relation.join {
            Join::Children { foreign_key } => {
                let id = record
                    .get(&definition.id_field)
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                self.store
                    .children(definition, self.collection(to), foreign_key, id)
                    .into_iter()
                    .map(|(_, child)| child.clone())
                    .collect()
            }
            Join::Parent { key } => record
                .get(key)
                .and_then(Value::as_str)
                .and_then(|id| self.store.find(definition, self.collection(to), id))
                .map(|(_, parent)| vec![parent.clone()])
                .unwrap_or_default(),
            Join::Items => {
                let ObjectSource::Items { list, .. } = &search.objects[to].source else {
                    return Ok(Vec::new());
                };
                match record.get(list) {
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(|item| item.as_object().cloned())
                        .collect(),
                    _ => Vec::new(),
                }
            }
            Join::Through(middle) => {
                let mut found = Vec::new();
                for step in self.related(from, record, *middle, depth + 1)? {
                    found.extend(self.related(*middle, &step, to, depth + 1)?);
                }
                found
            }
        })
    }

    /// The collection of an object type that comes from one (checked at load).
    fn collection(&self, object: usize) -> usize {
        match self.search.objects[object].source {
            ObjectSource::Collection(collection) => collection,
            ObjectSource::Items { .. } => usize::MAX,
        }
    }

    /// Sorts hits by the entries of a sort list, first entry first; stable.
    fn sort(&self, hits: &mut [Hit<'a>], sort: &Value) -> Result<(), String> {
        let Some(spec) = &self.search.language.sort else {
            return Err("this search does not sort".into());
        };
        let Value::Array(entries) = sort else {
            return Err(format!("sort must be a list, not {sort}"));
        };
        let mut keys = Vec::new();
        for entry in entries {
            let field = entry
                .get(&spec.field)
                .ok_or_else(|| format!("a sort entry needs `{}`", spec.field))?;
            // The field's own type only: a result is sorted by its own fields.
            let name = match field.as_object() {
                Some(map) => {
                    let language = &self.search.language;
                    let kind = text_at(map, &language.kind_key, "a field")?;
                    let field_spec = language
                        .fields
                        .get(kind)
                        .ok_or_else(|| format!("unknown field type `{kind}`"))?;
                    format!(
                        "{}{}",
                        field_spec.prefix,
                        text_at(map, &field_spec.name, kind)?
                    )
                }
                None => return Err(format!("a sort field must be an object, not {field}")),
            };
            let descending = entry.get(&spec.direction).and_then(Value::as_str)
                == Some(spec.descending.as_str());
            keys.push((name, descending));
        }
        hits.sort_by(|(_, a), (_, b)| {
            keys.iter()
                .map(|(name, descending)| {
                    let ordering = values::compare(a.get(name), b.get(name));
                    if *descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                })
                .find(|ordering| ordering.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        Ok(())
    }

    /// A hit as answered: its type, its id and the fields asked for its type, in the order
    /// asked.
    fn hit(&self, object: usize, record: &Record, fields: Option<&Value>) -> Value {
        let definition = self.definition;
        let spec = &self.search.objects[object];
        let mut out = Map::new();
        out.insert(
            self.search.response.object_type.clone(),
            Value::String(spec.name.clone()),
        );
        let id_field = &definition.id_field;
        out.insert(
            id_field.clone(),
            record.get(id_field).cloned().unwrap_or(Value::Null),
        );
        let wanted: Vec<&str> = fields
            .and_then(|fields| fields.get(&spec.name))
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if wanted.is_empty() {
            return Value::Object(out);
        }
        let ObjectSource::Collection(collection) = spec.source else {
            return Value::Object(out);
        };
        let view = listing::view(definition, self.store, collection, record, None);
        for name in wanted {
            if let Some(value) = view.get(name) {
                out.insert(name.to_owned(), value.clone());
            }
        }
        Value::Object(out)
    }
}

/// A condition on a field's value.
enum Condition {
    Text { text: String, mode: TextMode },
    OneOf(Vec<String>),
    Exists,
    Range(Vec<Bound>),
}

/// One end of a range: the value must compare to `operand` on `side`, or equal it when
/// `inclusive`.
struct Bound {
    operand: String,
    side: Ordering,
    inclusive: bool,
}

impl Condition {
    fn holds(&self, value: Option<&Value>) -> bool {
        match self {
            Condition::Text { text, mode } => texts(value).iter().any(|t| matches(*mode, t, text)),
            Condition::OneOf(wanted) => texts(value).iter().any(|t| wanted.contains(t)),
            Condition::Range(bounds) => bounds.iter().all(|bound| {
                values::compare_to_operand(value, &bound.operand).is_some_and(|ordering| {
                    ordering == bound.side || (bound.inclusive && ordering == Ordering::Equal)
                })
            }),
            Condition::Exists => match value {
                None | Some(Value::Null) => false,
                Some(Value::String(text)) => !text.is_empty(),
                Some(Value::Array(items)) => !items.is_empty(),
                Some(_) => true,
            },
        }
    }
}

/// The texts a value shows: a string, a number or boolean written out, the items of a list.
fn texts(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| match item {
                Value::Null | Value::Array(_) | Value::Object(_) => None,
                other => values::as_query_text(other).map(|text| text.into_owned()),
            })
            .collect(),
        Some(Value::Null | Value::Object(_)) | None => Vec::new(),
        Some(other) => values::as_query_text(other)
            .map(|text| vec![text.into_owned()])
            .unwrap_or_default(),
    }
}

/// The words of a text: maximal runs of letters and digits, lower-cased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether a field's text matches a searched text.
fn matches(mode: TextMode, field: &str, wanted: &str) -> bool {
    match mode {
        TextMode::Exact => field.trim().to_lowercase() == wanted.trim().to_lowercase(),
        TextMode::Words => {
            let have = words(field);
            let want = words(wanted);
            !want.is_empty() && want.iter().all(|word| have.contains(word))
        }
        TextMode::Phrase => {
            let have = words(field);
            let want = words(wanted);
            !want.is_empty()
                && have
                    .windows(want.len())
                    .any(|window| window == want.as_slice())
        }
    }
}

fn text_at<'v>(node: &'v Map<String, Value>, key: &str, what: &str) -> Result<&'v str, String> {
    node.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{what} needs a string `{key}`"))
}

fn list_at<'v>(node: &'v Map<String, Value>, key: &str, what: &str) -> Result<&'v [Value], String> {
    node.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or_else(|| format!("`{what}` needs a list `{key}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_phrases_match_whole_words_without_case() {
        let email = "Priya.Raman@acme-robotics.example.com";
        assert!(matches(TextMode::Words, email, "acme-robotics.example.com"));
        assert!(matches(TextMode::Words, email, "example acme"));
        assert!(!matches(TextMode::Words, email, "acme-robot"));
        assert!(matches(
            TextMode::Phrase,
            email,
            "priya.raman@acme-robotics.example.com"
        ));
        assert!(!matches(TextMode::Phrase, email, "example acme"));
        assert!(!matches(TextMode::Words, email, "  "));
        assert!(matches(
            TextMode::Exact,
            email,
            " priya.raman@ACME-robotics.example.com"
        ));
        assert!(!matches(
            TextMode::Exact,
            email,
            "priya.raman@acme-robotics.example"
        ));
        assert!(matches(TextMode::Words, "Müller & Söhne", "müller"));
    }

    #[test]
    fn cursors_are_bound_to_their_query() {
        let cursor = Value::String(write_cursor(40, "abc"));
        assert_eq!(read_cursor(&cursor, "abc"), Some(40));
        assert_eq!(read_cursor(&cursor, "abd"), None);
        assert_eq!(read_cursor(&json!("garbage"), "abc"), None);
        assert_eq!(read_cursor(&json!(7), "abc"), None);
    }
}
