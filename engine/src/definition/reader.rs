//! Typed reading of a positioned YAML tree that collects every problem instead of stopping.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::yaml::{self, Node, NodeValue, Position, ScalarStyle};
use crate::compile::expression::Expression;
use crate::compile::template::{self, BodyTemplate, Templates, TextKind, TextTemplate};
use crate::error::Diagnostic;

/// Reads one definition file, pushing a located [`Diagnostic`] for each problem.
pub(crate) struct Reader<'a> {
    pub(crate) file: PathBuf,
    source: &'a str,
    pub(crate) diagnostics: &'a mut Vec<Diagnostic>,
}

/// The keys of one YAML mapping, with the mapping's own path for messages.
pub(crate) struct Fields<'n> {
    pub(crate) path: String,
    pub(crate) position: Position,
    pub(crate) entries: &'n IndexMap<String, (Position, Node)>,
}

impl<'n> Fields<'n> {
    pub(crate) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries.get(key).map(|(_, node)| node)
    }

    /// The child path of `key`, for messages.
    pub(crate) fn child(&self, key: &str) -> String {
        join_path(&self.path, key)
    }
}

pub(crate) fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl<'a> Reader<'a> {
    pub(crate) fn new(
        file: &Path,
        source: &'a str,
        diagnostics: &'a mut Vec<Diagnostic>,
    ) -> Reader<'a> {
        Reader {
            file: file.to_owned(),
            source,
            diagnostics,
        }
    }

    /// Parses the file's YAML, reporting a syntax error at its place.
    pub(crate) fn parse(&mut self) -> Option<Node> {
        match yaml::parse(self.source) {
            Ok(node) => Some(node),
            Err(error) => {
                let message = format!("invalid YAML: {}", error.message);
                self.report(error.position, "", message, None);
                None
            }
        }
    }

    pub(crate) fn report(
        &mut self,
        position: Position,
        yaml_path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            file: self.file.clone(),
            line: position.line,
            column: position.column,
            yaml_path: yaml_path.to_owned(),
            message: message.into(),
            source_line: yaml::source_line(self.source, position.line),
            hint,
        });
    }

    /// Reads a mapping and reports keys outside `allowed`, with a did-you-mean hint.
    pub(crate) fn mapping<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let Some(entries) = node.as_mapping() else {
            let message = format!("expected a mapping, found {}", node.kind_name());
            self.report(node.position, path, message, None);
            return None;
        };
        for (key, (position, _)) in entries {
            if !allowed.is_empty() && !allowed.contains(&key.as_str()) {
                let hint = closest(key, allowed.iter().copied())
                    .map(|near| format!("did you mean `{near}`?"))
                    .or_else(|| Some(format!("expected one of: {}", allowed.join(", "))));
                let message = format!("unknown key `{key}`");
                self.report(*position, &join_path(path, key), message, hint);
            }
        }
        Some(Fields {
            path: path.to_owned(),
            position: node.position,
            entries,
        })
    }

    /// Reports a missing required key on the mapping.
    pub(crate) fn missing(&mut self, fields: &Fields<'_>, key: &str, what: &str) {
        let message = format!("missing required key `{key}` ({what})");
        self.report(fields.position, &fields.path, message, None);
    }

    pub(crate) fn string(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            NodeValue::Scalar(text, _) if !node.is_null() => Some(text.clone()),
            _ => {
                let message = format!("expected a string, found {}", node.kind_name());
                self.report(node.position, path, message, None);
                None
            }
        }
    }

    pub(crate) fn integer(&mut self, node: &Node, path: &str, min: u64) -> Option<u64> {
        let parsed = match &node.value {
            NodeValue::Scalar(text, ScalarStyle::Plain) => text.parse::<u64>().ok(),
            _ => None,
        };
        match parsed {
            Some(number) if number >= min => Some(number),
            _ => {
                let message = format!("expected a whole number of at least {min}");
                self.report(node.position, path, message, None);
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            NodeValue::Scalar(text, ScalarStyle::Plain) if text == "true" => Some(true),
            NodeValue::Scalar(text, ScalarStyle::Plain) if text == "false" => Some(false),
            _ => {
                self.report(node.position, path, "expected true or false", None);
                None
            }
        }
    }

    /// A duration written in seconds, whole or decimal.
    pub(crate) fn seconds(&mut self, node: &Node, path: &str) -> Option<std::time::Duration> {
        let parsed = match &node.value {
            NodeValue::Scalar(text, ScalarStyle::Plain) => text.parse::<f64>().ok(),
            _ => None,
        };
        // A year bounds every wait, lifetime and margin worth declaring.
        match parsed {
            Some(seconds) if seconds.is_finite() && (0.0..=31_536_000.0).contains(&seconds) => {
                Some(std::time::Duration::from_secs_f64(seconds))
            }
            _ => {
                let message = "expected a number of seconds from 0 to 31536000 (a year)";
                self.report(node.position, path, message, None);
                None
            }
        }
    }

    pub(crate) fn string_list(&mut self, node: &Node, path: &str) -> Option<Vec<String>> {
        let NodeValue::Sequence(items) = &node.value else {
            let message = format!("expected a list of strings, found {}", node.kind_name());
            self.report(node.position, path, message, None);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            out.push(self.string(item, &format!("{path}[{index}]"))?);
        }
        Some(out)
    }

    /// Reads a string that must be one of `choices`.
    pub(crate) fn choice(&mut self, node: &Node, path: &str, choices: &[&str]) -> Option<String> {
        let text = self.string(node, path)?;
        if choices.contains(&text.as_str()) {
            return Some(text);
        }
        let hint =
            closest(&text, choices.iter().copied()).map(|near| format!("did you mean `{near}`?"));
        let message = format!("`{text}` is not one of: {}", choices.join(", "));
        self.report(node.position, path, message, hint);
        None
    }

    /// Compiles a JMESPath expression, locating each fault inside the YAML scalar.
    pub(crate) fn expression(&mut self, node: &Node, path: &str) -> Option<Expression> {
        let text = self.string(node, path)?;
        match Expression::compile(&text) {
            Ok(expression) => Some(expression),
            Err(faults) => {
                for (offset, message) in faults {
                    let hint = function_hint(&message);
                    let position = self.position_in(node, &text, offset);
                    let message = format!("invalid JMESPath expression: {message}");
                    self.report(position, path, message, hint);
                }
                None
            }
        }
    }

    /// Compiles a text template (paths use [`TextKind::Path`] to percent-encode values).
    pub(crate) fn text_template(
        &mut self,
        templates: &mut Templates,
        node: &Node,
        path: &str,
        kind: TextKind,
        allowed: &[&str],
    ) -> Option<TextTemplate> {
        let text = self.string(node, path)?;
        templates.at(format!("{} `{path}`", self.file.display()));
        match templates.text(&text, kind, allowed) {
            Ok(template) => Some(template),
            Err(faults) => {
                self.template_faults(node, path, &text, 0, faults);
                None
            }
        }
    }

    /// Compiles a typed body tree: string leaves are templates, `{{ x }}` leaves keep types,
    /// `$merge` adds an object's keys, `$each`/`$as`/`$item` repeats over a list.
    pub(crate) fn body_template(
        &mut self,
        templates: &mut Templates,
        node: &Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<BodyTemplate> {
        match &node.value {
            NodeValue::Scalar(text, style) if *style != ScalarStyle::Plain || !node.is_null() => {
                if !text.contains("{{") && !text.contains("{%") {
                    return Some(BodyTemplate::Literal(node.to_json()));
                }
                self.leaf_template(templates, node, path, text, allowed)
            }
            NodeValue::Scalar(..) => Some(BodyTemplate::Literal(serde_json::Value::Null)),
            NodeValue::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (index, item) in items.iter().enumerate() {
                    let child = format!("{path}[{index}]");
                    match self.body_template(templates, item, &child, allowed) {
                        Some(template) => out.push(template),
                        None => ok = false,
                    }
                }
                ok.then_some(BodyTemplate::Array(out))
            }
            NodeValue::Mapping(map) if map.contains_key("$each") => {
                self.each_template(templates, node, path, allowed)
            }
            NodeValue::Mapping(map) => {
                let mut entries = Vec::with_capacity(map.len());
                let mut merges = Vec::new();
                let mut ok = true;
                for (key, (_, child)) in map {
                    let child_path = join_path(path, key);
                    if key == "$merge" {
                        match self.value_leaf(templates, child, &child_path, allowed) {
                            Some(template) => merges.push(template),
                            None => ok = false,
                        }
                        continue;
                    }
                    match self.body_template(templates, child, &child_path, allowed) {
                        Some(template) => entries.push((key.clone(), template)),
                        None => ok = false,
                    }
                }
                ok.then_some(BodyTemplate::Object { entries, merges })
            }
        }
    }

    fn each_template(
        &mut self,
        templates: &mut Templates,
        node: &Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<BodyTemplate> {
        let fields = self.mapping(node, path, &["$each", "$as", "$item"])?;
        let list = self.value_leaf(
            templates,
            fields.get("$each")?,
            &fields.child("$each"),
            allowed,
        );
        let binding = match fields.get("$as") {
            Some(node) => self.string(node, &fields.child("$as"))?,
            None => "item".to_owned(),
        };
        let Some(item_node) = fields.get("$item") else {
            self.missing(&fields, "$item", "the shape of each element");
            return None;
        };
        let mut inner: Vec<&str> = allowed.to_vec();
        inner.push(&binding);
        let item = self.body_template(templates, item_node, &fields.child("$item"), &inner)?;
        Some(BodyTemplate::Each {
            list: list?,
            binding,
            item: Box::new(item),
        })
    }

    /// A template that must be exactly one `{{ expression }}`, keeping its value's type.
    pub(crate) fn value_template(
        &mut self,
        templates: &mut Templates,
        node: &Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<template::ValueTemplate> {
        self.value_leaf(templates, node, path, allowed)
    }

    /// A leaf that must be a single `{{ expression }}`.
    fn value_leaf(
        &mut self,
        templates: &mut Templates,
        node: &Node,
        path: &str,
        allowed: &[&str],
    ) -> Option<template::ValueTemplate> {
        let text = self.string(node, path)?;
        let Some((offset, expression)) = template::single_expression(&text) else {
            let message = "expected a single `{{ expression }}`";
            self.report(node.position, path, message, None);
            return None;
        };
        templates.at(format!("{} `{path}`", self.file.display()));
        match templates.value(expression, allowed) {
            Ok(template) => Some(template),
            Err(faults) => {
                self.template_faults(node, path, &text, offset, faults);
                None
            }
        }
    }

    fn leaf_template(
        &mut self,
        templates: &mut Templates,
        node: &Node,
        path: &str,
        text: &str,
        allowed: &[&str],
    ) -> Option<BodyTemplate> {
        if template::single_expression(text).is_some() {
            return self
                .value_leaf(templates, node, path, allowed)
                .map(BodyTemplate::Value);
        }
        templates.at(format!("{} `{path}`", self.file.display()));
        match templates.text(text, TextKind::Plain, allowed) {
            Ok(template) => Some(BodyTemplate::Text(template)),
            Err(faults) => {
                self.template_faults(node, path, text, 0, faults);
                None
            }
        }
    }

    fn template_faults(
        &mut self,
        node: &Node,
        path: &str,
        text: &str,
        shift: usize,
        faults: Vec<template::Fault>,
    ) {
        for (offset, message) in faults {
            let position = match offset {
                Some(offset) => self.position_in(node, text, shift + offset),
                None => self.position_in(node, text, shift),
            };
            let message = format!("invalid template: {message}");
            self.report(position, path, message, None);
        }
    }

    fn position_in(&self, node: &Node, text: &str, offset: usize) -> Position {
        let style = match &node.value {
            NodeValue::Scalar(_, style) => *style,
            _ => ScalarStyle::Plain,
        };
        yaml::locate_in_scalar(self.source, node.position, style, text, offset)
    }
}

fn function_hint(message: &str) -> Option<String> {
    message
        .contains("unknown function")
        .then(|| "see docs/functions.md for the functions mappings may call".to_owned())
}

/// The candidate nearest to `word` by edit distance, if it is near enough to be a typo.
pub(crate) fn closest<'c>(
    word: &str,
    candidates: impl Iterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= candidate.len().div_ceil(3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}
