//! Reads: list queries (paging, filters, order, field selection) and record views with
//! their embedded children.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use super::definition::{Collection, Definition, Embed, SortKey};
use super::reply::Rejection;
use super::store::{Record, Store};
use super::values;

/// Query parameters as `(name, value)` pairs, in request order.
pub(crate) type Params = [(String, String)];

/// Answers a list request with the envelope the definition declares.
pub(crate) fn list(
    definition: &Definition,
    store: &Store,
    collection: usize,
    params: &Params,
) -> Result<Value, Rejection> {
    let spec = &definition.collections[collection];
    let query = ListQuery::parse(definition, spec, params)?;

    let mut rows: Vec<&Record> = store
        .records(definition, collection)
        .into_iter()
        .map(|(_, record)| record)
        .filter(|record| query.matches(record))
        .collect();
    query.sort(&mut rows);

    let total = rows.len();
    let (skip, limit) = query.window(total);
    let page: Vec<Value> = rows
        .iter()
        .skip(skip)
        .take(limit)
        .map(|record| {
            view(
                definition,
                store,
                collection,
                record,
                query.fields.as_deref(),
            )
        })
        .collect();
    let has_more = skip.saturating_add(page.len()) < total;

    let envelope = &definition.envelope;
    let mut body = Map::new();
    body.insert(envelope.data.clone(), Value::Array(page));
    body.insert(envelope.has_more.clone(), Value::Bool(has_more));
    if spec.total {
        body.insert(envelope.total.clone(), json!(total));
    }
    Ok(Value::Object(body))
}

/// Answers a get request: the record with its embeds, trimmed to `fields` if asked.
pub(crate) fn get(
    definition: &Definition,
    store: &Store,
    collection: usize,
    id: &str,
    params: &Params,
) -> Result<Value, Rejection> {
    let (_, record) =
        store
            .find(definition, collection, id)
            .ok_or_else(|| Rejection::NotFound {
                collection,
                id: id.to_owned(),
            })?;
    let fields = first_param(params, &definition.query.fields).map(split_list);
    Ok(view(
        definition,
        store,
        collection,
        record,
        fields.as_deref(),
    ))
}

/// A record as the upstream shows it: embeds added, then only `fields` (and the id) kept.
pub(crate) fn view(
    definition: &Definition,
    store: &Store,
    collection: usize,
    record: &Record,
    fields: Option<&[String]>,
) -> Value {
    let wanted = |key: &str| match fields {
        Some(fields) => fields.iter().any(|field| field == key),
        None => true,
    };
    let mut out = record.clone();
    let id = record
        .get(&definition.id_field)
        .and_then(Value::as_str)
        .unwrap_or_default();
    for embed in &definition.collections[collection].embeds {
        if !wanted(&embed.field) {
            continue;
        }
        let children: Vec<Value> = store
            .children(definition, embed.collection, &embed.foreign_key, id)
            .into_iter()
            .filter(|(_, child)| embed.filter.iter().all(|(k, v)| child.get(k) == Some(v)))
            .map(|(_, child)| Value::Object(embedded(definition, store, embed, child)))
            .collect();
        out.insert(embed.field.clone(), Value::Array(children));
    }
    if fields.is_some() {
        out.retain(|key, _| key == &definition.id_field || wanted(key));
    }
    Value::Object(out)
}

/// One embedded child as shown: trimmed to the embed's `fields`, with its expansions.
fn embedded(definition: &Definition, store: &Store, embed: &Embed, child: &Record) -> Record {
    let mut out = match &embed.fields {
        Some(fields) => fields
            .iter()
            .filter_map(|field| Some((field.clone(), child.get(field)?.clone())))
            .collect(),
        None => child.clone(),
    };
    for expand in &embed.expand {
        let related = child
            .get(&expand.field)
            .and_then(Value::as_str)
            .and_then(|id| store.find(definition, expand.collection, id))
            .map_or(Value::Null, |(_, record)| Value::Object(record.clone()));
        out.insert(expand.name.clone(), related);
    }
    out
}

/// A list request, parsed and checked.
struct ListQuery {
    paged: bool,
    skip: u64,
    limit: u64,
    conditions: Vec<Condition>,
    order: Vec<SortKey>,
    fields: Option<Vec<String>>,
}

/// One filter on a field.
enum Condition {
    /// The field's value, as query text, is one of these.
    AnyOf { field: String, values: Vec<String> },
    /// The field's value compares to the operand as the operator says.
    Range {
        field: String,
        operator: RangeOperator,
        operand: String,
    },
}

#[derive(Clone, Copy)]
enum RangeOperator {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl RangeOperator {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            RangeOperator::Greater => ordering == Ordering::Greater,
            RangeOperator::GreaterOrEqual => ordering != Ordering::Less,
            RangeOperator::Less => ordering == Ordering::Less,
            RangeOperator::LessOrEqual => ordering != Ordering::Greater,
        }
    }
}

impl ListQuery {
    fn parse(
        definition: &Definition,
        spec: &Collection,
        params: &Params,
    ) -> Result<ListQuery, Rejection> {
        let names = &definition.query;
        let (skip, limit) = if spec.paged {
            let skip = integer_param(definition, params, &names.skip)?.unwrap_or(0);
            let limit = match integer_param(definition, params, &names.limit)? {
                Some(limit) => check_limit(definition, spec, limit)?,
                // An omitted limit is the default, within the collection's cap.
                None => spec
                    .max_limit
                    .map_or(names.default_limit, |max| names.default_limit.min(max)),
            };
            (skip, limit)
        } else {
            (0, u64::MAX)
        };
        Ok(ListQuery {
            paged: spec.paged,
            skip,
            limit,
            conditions: conditions(definition, spec, params),
            order: order(definition, spec, params)?,
            fields: first_param(params, &names.fields).map(split_list),
        })
    }

    fn matches(&self, record: &Record) -> bool {
        self.conditions.iter().all(|condition| match condition {
            Condition::AnyOf { field, values } => record
                .get(field)
                .and_then(values::as_query_text)
                .is_some_and(|text| values.iter().any(|v| *v == text)),
            Condition::Range {
                field,
                operator,
                operand,
            } => values::compare_to_operand(record.get(field), operand)
                .is_some_and(|ordering| operator.holds(ordering)),
        })
    }

    /// Sorts stably, so equal keys keep storage order.
    fn sort(&self, rows: &mut [&Record]) {
        if self.order.is_empty() {
            return;
        }
        rows.sort_by(|a, b| {
            self.order
                .iter()
                .map(|key| {
                    let ordering = values::compare(a.get(&key.field), b.get(&key.field));
                    if key.descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                })
                .find(|ordering| ordering.is_ne())
                .unwrap_or(Ordering::Equal)
        });
    }

    /// The rows to skip and to show, out of `total`.
    fn window(&self, total: usize) -> (usize, usize) {
        if !self.paged {
            return (0, total);
        }
        let skip = usize::try_from(self.skip).unwrap_or(usize::MAX);
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        (skip, limit)
    }
}

/// Reads a non-negative integer parameter, refusing text and negative numbers.
fn integer_param(
    definition: &Definition,
    params: &Params,
    name: &str,
) -> Result<Option<u64>, Rejection> {
    let Some(text) = first_param(params, name) else {
        return Ok(None);
    };
    let text = text.trim();
    if let Ok(value) = text.parse::<u64>() {
        return Ok(Some(value));
    }
    let messages = &definition.messages;
    let message = if text.parse::<i64>().is_ok() {
        &messages.negative
    } else {
        &messages.not_an_integer
    };
    Err(Rejection::field(
        definition,
        name,
        message,
        json!({"value": text}),
    ))
}

/// The requested page size, if the collection's cap allows it.
fn check_limit(definition: &Definition, spec: &Collection, limit: u64) -> Result<u64, Rejection> {
    match spec.max_limit {
        Some(max) if limit > max => Err(Rejection::field(
            definition,
            &definition.query.limit,
            &definition.messages.limit_too_large,
            json!({"max": max, "value": limit}),
        )),
        _ => Ok(limit),
    }
}

/// The filters a request asks for, plus the collection's defaults for fields it left alone.
///
/// Parameters that name no declared filter are ignored.
fn conditions(definition: &Definition, spec: &Collection, params: &Params) -> Vec<Condition> {
    let operators = &definition.operators;
    let mut conditions = Vec::new();
    let mut given = Vec::new();
    for (name, value) in params {
        for filter in &spec.equal_filters {
            let values = if *name == filter.field {
                vec![value.clone()]
            } else if name.strip_suffix(operators.any_of.as_str()) == Some(filter.field.as_str()) {
                split_list(value)
            } else {
                continue;
            };
            given.push(filter.field.as_str());
            let disabled = filter
                .match_all
                .as_ref()
                .is_some_and(|all| values.contains(all));
            if !disabled {
                conditions.push(Condition::AnyOf {
                    field: filter.field.clone(),
                    values,
                });
            }
        }
        if let Some(condition) = range_condition(definition, spec, name, value) {
            conditions.push(condition);
        }
    }
    for filter in &spec.equal_filters {
        if let (Some(default), false) = (&filter.default, given.contains(&filter.field.as_str())) {
            conditions.push(Condition::AnyOf {
                field: filter.field.clone(),
                values: vec![default.clone()],
            });
        }
    }
    conditions
}

fn range_condition(
    definition: &Definition,
    spec: &Collection,
    name: &str,
    value: &str,
) -> Option<Condition> {
    let operators = &definition.operators;
    let suffixes = [
        (&operators.gt, RangeOperator::Greater),
        (&operators.gte, RangeOperator::GreaterOrEqual),
        (&operators.lt, RangeOperator::Less),
        (&operators.lte, RangeOperator::LessOrEqual),
    ];
    suffixes.into_iter().find_map(|(suffix, operator)| {
        let field = name.strip_suffix(suffix.as_str())?;
        spec.range_filters
            .iter()
            .any(|declared| declared == field)
            .then(|| Condition::Range {
                field: field.to_owned(),
                operator,
                operand: value.to_owned(),
            })
    })
}

/// The requested order (checked against `order_by`), else the collection's default.
fn order(
    definition: &Definition,
    spec: &Collection,
    params: &Params,
) -> Result<Vec<SortKey>, Rejection> {
    let name = &definition.query.order_by;
    let Some(text) = first_param(params, name) else {
        return Ok(spec.order.clone());
    };
    let keys: Vec<SortKey> = split_list(text)
        .iter()
        .map(|key| SortKey::parse(key))
        .collect();
    for key in &keys {
        if !spec.order_by.contains(&key.field) {
            let message = &definition.messages.unknown_order;
            return Err(Rejection::field(
                definition,
                name,
                message,
                json!({"value": text}),
            ));
        }
    }
    Ok(keys)
}

/// The first value of a parameter, as Flask-style servers read it.
fn first_param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Splits `a,b,c`, dropping blanks.
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}
