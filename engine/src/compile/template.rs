//! minijinja templates for paths, query parameters, headers and typed request bodies.
//!
//! Every template is compiled into one environment when the definitions load and rendered by
//! name afterwards. Bodies are YAML trees whose string leaves are templates; a leaf that is a
//! single `{{ expression }}` keeps the value's JSON type, and keys whose value is undefined are
//! left out, so a partial update sends only what the caller gave. A caller's explicit `null`
//! is sent as null, which is how a field is cleared; `{{ x if condition }}` without an `else`
//! is undefined when the condition fails, which is how a template leaves a key out.

use std::collections::BTreeMap;

use base64::Engine as _;
use minijinja::value::{Rest, Value, ValueKind};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::error::Error;

/// The variable that holds a typed leaf's value in its generated template.
const RESULT: &str = "__crosswalk_value";
/// Typed leaves compile to `{% set RESULT = (expr) %}`; faults are shifted back by this prefix.
const TYPED_PREFIX: &str = "{% set __crosswalk_value = (";
/// Templates whose name ends in this suffix percent-encode every value they print.
const PATH_SUFFIX: &str = "#path";

/// Characters left alone in a path segment: RFC 3986 unreserved.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Names the engine provides to templates as functions, never reported as unknown variables.
const FUNCTIONS: &[&str] = &[
    "join_words",
    "fail",
    "not_found",
    "range",
    "dict",
    "namespace",
    "debug",
];
/// How a `not_found()` message is told apart from other template failures.
const NOT_FOUND_MARK: &str = "not found: ";

/// The environment every template of an engine lives in.
pub(crate) struct Templates {
    env: Environment<'static>,
    next_id: usize,
    /// Where each template was written (file and YAML path), for render errors.
    sites: std::collections::HashMap<String, String>,
    /// The site of the templates being compiled now.
    site: String,
}

/// A fault in a template: byte offset into its text (when known) and the message.
pub(crate) type Fault = (Option<usize>, String);

/// How a template's output is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    /// Printed values are percent-encoded as one path segment.
    Path,
    /// Printed values are written as they are.
    Plain,
}

/// A template rendered to a string.
#[derive(Debug, Clone)]
pub(crate) struct TextTemplate {
    name: String,
}

/// A single `{{ expression }}` whose value keeps its type.
#[derive(Debug, Clone)]
pub(crate) struct ValueTemplate {
    name: String,
}

/// A typed tree rendered to JSON.
#[derive(Debug, Clone)]
pub(crate) enum BodyTemplate {
    Literal(serde_json::Value),
    Text(TextTemplate),
    Value(ValueTemplate),
    Array(Vec<BodyTemplate>),
    Object {
        entries: Vec<(String, BodyTemplate)>,
        /// `$merge` leaves: objects whose keys are added to this one.
        merges: Vec<ValueTemplate>,
    },
    /// `$each` / `$as` / `$item`: one rendered item per element of a list.
    Each {
        list: ValueTemplate,
        binding: String,
        item: Box<BodyTemplate>,
    },
}

/// The variables a template sees, as minijinja values.
pub(crate) type Scope = BTreeMap<String, Value>;

impl Templates {
    pub(crate) fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(PATH_SUFFIX) {
                AutoEscape::Custom("path")
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == AutoEscape::Custom("path") {
                let text = value.to_string();
                // Encoded or not, `.` and `..` segments mean "here" and "up" to URL parsers.
                if text == "." || text == ".." || text.is_empty() {
                    return Err(minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("`{text}` cannot be a path segment"),
                    ));
                }
                let encoded = percent_encoding::utf8_percent_encode(&text, SEGMENT);
                out.write_str(&encoded.to_string())
                    .map_err(|_| minijinja::Error::from(minijinja::ErrorKind::WriteFailure))
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        env.add_filter("prefix_keys", prefix_keys);
        env.add_filter("b64encode", b64encode);
        env.add_filter("rename_keys_by", rename_keys_by);
        env.add_function("join_words", join_words);
        env.add_function("fail", fail);
        env.add_function("not_found", not_found);
        Templates {
            env,
            next_id: 0,
            sites: std::collections::HashMap::new(),
            site: String::new(),
        }
    }

    /// Names where the next templates come from, for messages when they fail to render.
    pub(crate) fn at(&mut self, site: String) {
        self.site = site;
    }

    fn render_error(&self, name: &str, error: minijinja::Error) -> Error {
        let detail = error
            .detail()
            .map(str::to_owned)
            .unwrap_or_else(|| error.kind().to_string());
        if let Some(message) = detail.strip_prefix(NOT_FOUND_MARK) {
            return Error::new(crate::ErrorKind::NotFound, message);
        }
        match self.sites.get(name) {
            Some(site) => Error::input(format!(
                "cannot build the upstream request at {site}: {detail}"
            )),
            None => Error::input(format!("cannot build the upstream request: {detail}")),
        }
    }

    fn next_name(&mut self, suffix: &str) -> String {
        self.next_id += 1;
        format!("t{}{}", self.next_id, suffix)
    }

    /// Compiles a text template and checks that it names only `allowed` variables.
    pub(crate) fn text(
        &mut self,
        source: &str,
        kind: TextKind,
        allowed: &[&str],
    ) -> Result<TextTemplate, Vec<Fault>> {
        let suffix = if kind == TextKind::Path {
            PATH_SUFFIX
        } else {
            ""
        };
        let name = self.next_name(suffix);
        self.add(&name, source.to_owned(), 0, allowed)?;
        Ok(TextTemplate { name })
    }

    /// Compiles the inside of a `{{ expression }}` leaf as a typed value.
    pub(crate) fn value(
        &mut self,
        expression: &str,
        allowed: &[&str],
    ) -> Result<ValueTemplate, Vec<Fault>> {
        let name = self.next_name("");
        let source = format!("{TYPED_PREFIX}{expression}) %}}");
        self.add(&name, source, TYPED_PREFIX.len(), allowed)?;
        Ok(ValueTemplate { name })
    }

    fn add(
        &mut self,
        name: &str,
        source: String,
        shift: usize,
        allowed: &[&str],
    ) -> Result<(), Vec<Fault>> {
        self.sites.insert(name.to_owned(), self.site.clone());
        if let Err(error) = self.env.add_template_owned(name.to_owned(), source) {
            let offset = error.range().map(|range| range.start.saturating_sub(shift));
            let detail = error.detail().unwrap_or("syntax error").to_owned();
            return Err(vec![(offset, detail)]);
        }
        let template = self
            .env
            .get_template(name)
            .map_err(|error| vec![(None, error.to_string())])?;
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|variable| {
                variable != RESULT
                    && !allowed.contains(&variable.as_str())
                    && !FUNCTIONS.contains(&variable.as_str())
            })
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort();
        Err(unknown
            .into_iter()
            .map(|variable| {
                (
                    None,
                    format!(
                        "unknown variable `{variable}`; available here: {}",
                        allowed.join(", ")
                    ),
                )
            })
            .collect())
    }

    pub(crate) fn render_text(
        &self,
        template: &TextTemplate,
        scope: &Scope,
    ) -> Result<String, Error> {
        let fail = |error| self.render_error(&template.name, error);
        let compiled = self.env.get_template(&template.name).map_err(fail)?;
        compiled.render(scope).map_err(fail)
    }

    /// Renders a typed leaf; `None` means undefined, which callers leave out.
    pub(crate) fn render_value(
        &self,
        template: &ValueTemplate,
        scope: &Scope,
    ) -> Result<Option<Value>, Error> {
        let fail = |error| self.render_error(&template.name, error);
        let compiled = self.env.get_template(&template.name).map_err(fail)?;
        let captured = compiled.render_captured(scope).map_err(fail)?;
        Ok(captured
            .state()
            .lookup(RESULT)
            .filter(|value| !value.is_undefined()))
    }

    /// Renders a body tree to JSON; `None` when the whole tree is undefined.
    pub(crate) fn render_body(
        &self,
        body: &BodyTemplate,
        scope: &Scope,
    ) -> Result<Option<serde_json::Value>, Error> {
        match body {
            BodyTemplate::Literal(value) => Ok(Some(value.clone())),
            BodyTemplate::Text(template) => Ok(Some(serde_json::Value::String(
                self.render_text(template, scope)?,
            ))),
            BodyTemplate::Value(template) => self
                .render_value(template, scope)?
                .map(|value| value_to_json(&value))
                .transpose(),
            BodyTemplate::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(value) = self.render_body(item, scope)? {
                        out.push(value);
                    }
                }
                Ok(Some(serde_json::Value::Array(out)))
            }
            BodyTemplate::Object { entries, merges } => {
                let mut out = serde_json::Map::new();
                for (key, entry) in entries {
                    if let Some(value) = self.render_body(entry, scope)? {
                        out.insert(key.clone(), value);
                    }
                }
                for merge in merges {
                    self.merge_into(&mut out, merge, scope)?;
                }
                Ok(Some(serde_json::Value::Object(out)))
            }
            BodyTemplate::Each {
                list,
                binding,
                item,
            } => self.render_each(list, binding, item, scope),
        }
    }

    fn merge_into(
        &self,
        out: &mut serde_json::Map<String, serde_json::Value>,
        merge: &ValueTemplate,
        scope: &Scope,
    ) -> Result<(), Error> {
        let Some(value) = self.render_value(merge, scope)?.filter(|v| !v.is_none()) else {
            return Ok(());
        };
        match value_to_json(&value)? {
            serde_json::Value::Object(map) => {
                out.extend(map);
                Ok(())
            }
            other => Err(Error::input(format!(
                "`$merge` needs an object, got {}",
                json_type_name(&other)
            ))),
        }
    }

    fn render_each(
        &self,
        list: &ValueTemplate,
        binding: &str,
        item: &BodyTemplate,
        scope: &Scope,
    ) -> Result<Option<serde_json::Value>, Error> {
        let Some(items) = self.render_value(list, scope)? else {
            return Ok(None);
        };
        if items.is_none() {
            return Ok(Some(serde_json::Value::Null));
        }
        if items.kind() != ValueKind::Seq {
            let site = self.sites.get(&list.name).map_or("`$each`", String::as_str);
            return Err(Error::input(format!(
                "expected a list to repeat over at {site}, got {}",
                items.kind()
            )));
        }
        let mut out = Vec::new();
        let mut inner = scope.clone();
        for element in items
            .try_iter()
            .map_err(|error| self.render_error(&list.name, error))?
        {
            inner.insert(binding.to_owned(), element);
            if let Some(value) = self.render_body(item, &inner)? {
                out.push(value);
            }
        }
        Ok(Some(serde_json::Value::Array(out)))
    }
}

/// Splits a leaf into its expression when it is exactly one `{{ ... }}`.
pub(crate) fn single_expression(source: &str) -> Option<(usize, &str)> {
    let trimmed = source.trim();
    let inner = trimmed.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || trimmed.contains("{%") {
        return None;
    }
    let leading = source.len() - source.trim_start().len();
    Some((
        leading + 2,
        inner.trim_start_matches('-').trim_end_matches('-'),
    ))
}

/// Converts a template value to JSON, keeping strings as strings and numbers as numbers.
pub(crate) fn value_to_json(value: &Value) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value)
        .map_err(|error| Error::input(format!("cannot convert a template value to JSON: {error}")))
}

pub(crate) fn json_type_name(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `{{ mapping | prefix_keys("p.") }}`: the same object with every key prefixed.
fn prefix_keys(value: Value, prefix: &str) -> Result<Value, minijinja::Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(value);
    }
    if value.kind() != ValueKind::Map {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("prefix_keys needs a mapping, got {}", value.kind()),
        ));
    }
    let mut out = BTreeMap::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        out.insert(format!("{prefix}{key}"), item);
    }
    Ok(Value::from(out))
}

/// `{{ mapping | rename_keys_by(records, "name", "id") }}`: each key that equals some record's
/// `name` becomes that record's `id`; a key that already is some record's `id` stays. Any other
/// key is an error naming the keys known. With `records` none or undefined, nothing changes.
fn rename_keys_by(
    value: Value,
    records: Value,
    from: &str,
    to: &str,
) -> Result<Value, minijinja::Error> {
    if value.is_undefined() || value.is_none() || records.is_undefined() || records.is_none() {
        return Ok(value);
    }
    let invalid =
        |message: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message);
    if value.kind() != ValueKind::Map {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("expected a mapping of keys to values, got {}", value.kind()),
        ));
    }
    let mut names = BTreeMap::new();
    let mut targets = Vec::new();
    for record in records.try_iter()? {
        let (Ok(name), Ok(target)) = (record.get_attr(from), record.get_attr(to)) else {
            continue;
        };
        if name.is_undefined() || target.is_undefined() {
            continue;
        }
        targets.push(target.to_string());
        names.insert(name.to_string(), target.to_string());
    }
    let mut out = BTreeMap::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        let key = key.to_string();
        let renamed = match names.get(&key) {
            Some(target) => target.clone(),
            None if targets.contains(&key) => key,
            None => {
                let known: Vec<&str> = names.keys().map(String::as_str).collect();
                return Err(invalid(format!(
                    "unknown key `{key}`; known: {}",
                    known.join(", ")
                )));
            }
        };
        out.insert(renamed, item);
    }
    Ok(Value::from(out))
}

/// `{{ text | b64encode }}`: standard base64 of the UTF-8 text.
fn b64encode(value: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(value)
}

/// `fail("message")`: stops rendering with the message, as an input error. Lets a template
/// refuse a value it cannot translate, such as an unknown enum member.
fn fail(message: String) -> Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(
        minijinja::ErrorKind::InvalidOperation,
        message,
    ))
}

/// `not_found("message")`: stops rendering as a not-found error, for a record a lookup showed
/// does not exist.
fn not_found(message: String) -> Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(
        minijinja::ErrorKind::InvalidOperation,
        format!("{NOT_FOUND_MARK}{message}"),
    ))
}

/// `join_words(a, b, ...)`: the non-empty arguments joined by one space; none when every
/// given argument is empty or none, undefined when none was given at all.
fn join_words(words: Rest<Value>) -> Value {
    if words.iter().all(Value::is_undefined) {
        return Value::UNDEFINED;
    }
    let parts: Vec<String> = words
        .iter()
        .filter(|word| !word.is_undefined() && !word.is_none())
        .map(|word| word.to_string().trim().to_owned())
        .filter(|word| !word.is_empty())
        .collect();
    if parts.is_empty() {
        Value::from(())
    } else {
        Value::from(parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(value: serde_json::Value) -> Scope {
        value
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| (key.clone(), Value::from_serialize(value)))
            .collect()
    }

    #[test]
    fn typed_leaves_keep_their_type_and_undefined_is_dropped() {
        let mut templates = Templates::new();
        let zip = templates.value(" body.zip ", &["body"]).unwrap();
        let count = templates.value("body.count", &["body"]).unwrap();
        let missing = templates.value("body.missing", &["body"]).unwrap();
        let body = BodyTemplate::Object {
            entries: vec![
                ("zip".into(), BodyTemplate::Value(zip)),
                ("count".into(), BodyTemplate::Value(count)),
                ("missing".into(), BodyTemplate::Value(missing)),
            ],
            merges: vec![],
        };
        let rendered = templates
            .render_body(&body, &scope(json!({"body": {"zip": "478", "count": 3}})))
            .unwrap();
        assert_eq!(rendered, Some(json!({"zip": "478", "count": 3})));
    }

    #[test]
    fn path_values_are_percent_encoded() {
        let mut templates = Templates::new();
        let path = templates
            .text("/item/{{ id }}/", TextKind::Path, &["id"])
            .unwrap();
        let rendered = templates
            .render_text(&path, &scope(json!({"id": "a/b?c d"})))
            .unwrap();
        assert_eq!(rendered, "/item/a%2Fb%3Fc%20d/");
    }

    #[test]
    fn unknown_variables_fail_at_compile_time() {
        let mut templates = Templates::new();
        let faults = templates.value("bdy.name", &["body", "id"]).unwrap_err();
        assert!(faults[0].1.contains("unknown variable `bdy`"), "{faults:?}");
    }

    #[test]
    fn syntax_errors_point_into_the_leaf() {
        let mut templates = Templates::new();
        let faults = templates.value("body.name |", &["body"]).unwrap_err();
        assert!(faults[0].0.is_some(), "{faults:?}");
    }

    #[test]
    fn undefined_in_a_text_template_is_an_error() {
        let mut templates = Templates::new();
        let text = templates
            .text("x{{ body.nope }}", TextKind::Plain, &["body"])
            .unwrap();
        let error = templates.render_text(&text, &scope(json!({"body": {}})));
        assert!(error.is_err());
    }

    #[test]
    fn each_and_merge_build_typed_trees() {
        let mut templates = Templates::new();
        let list = templates.value("body.items", &["body"]).unwrap();
        let street = templates.value("item.street", &["body", "item"]).unwrap();
        let merge = templates
            .value("body.custom | prefix_keys('custom.')", &["body"])
            .unwrap();
        let body = BodyTemplate::Object {
            entries: vec![(
                "addresses".into(),
                BodyTemplate::Each {
                    list,
                    binding: "item".into(),
                    item: Box::new(BodyTemplate::Object {
                        entries: vec![("address_1".into(), BodyTemplate::Value(street))],
                        merges: vec![],
                    }),
                },
            )],
            merges: vec![merge],
        };
        let input = json!({"body": {"items": [{"street": "1 Main"}], "custom": {"f_a": null}}});
        let rendered = templates.render_body(&body, &scope(input)).unwrap();
        assert_eq!(
            rendered,
            Some(json!({"addresses": [{"address_1": "1 Main"}], "custom.f_a": null}))
        );
    }

    #[test]
    fn join_words_skips_missing_parts() {
        let mut templates = Templates::new();
        let name = templates
            .value("join_words(body.first, body.last)", &["body"])
            .unwrap();
        let rendered = templates
            .render_value(&name, &scope(json!({"body": {"last": "Ng"}})))
            .unwrap();
        assert_eq!(rendered.unwrap().to_string(), "Ng");
    }
}
