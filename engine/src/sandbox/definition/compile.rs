//! Checks a deserialized definition and compiles its templates, locating every problem.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::raw::{
    RawCollection, RawEqual, RawId, RawMessages, RawResponse, RawResponses, RawSandbox,
};
use super::{
    source_line, Cascade, Collection, Definition, Embed, FieldTemplates, Lookup, LookupKey,
    Messages, Method, Reference, Response, Responses, SortKey, TrailingSlash,
};
use crate::sandbox::locate::SourceMap;
use crate::sandbox::template::{Template, Templates, Tree};
use crate::sandbox::time;
use crate::Diagnostic;

/// Compiles a deserialized definition, or returns every problem found.
pub(super) fn compile(
    file: &Path,
    text: &str,
    raw: RawSandbox,
) -> Result<Definition, Vec<Diagnostic>> {
    let compiler = Compiler {
        problems: Problems {
            file,
            text,
            map: SourceMap::parse(text),
            list: Vec::new(),
        },
        templates: Templates::new(),
        names: HashMap::new(),
    };
    let (definition, problems) = compiler.definition(file, raw);
    if problems.is_empty() {
        Ok(definition)
    } else {
        Err(problems)
    }
}

/// Problems found while compiling, each located through the source map.
struct Problems<'a> {
    file: &'a Path,
    text: &'a str,
    map: SourceMap,
    list: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn push(&mut self, yaml_path: &str, message: impl Into<String>) {
        self.push_with_hint(yaml_path, message, None);
    }

    fn push_with_hint(
        &mut self,
        yaml_path: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        let (line, column) = self.map.locate(yaml_path).unwrap_or((1, 1));
        self.list.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            column,
            yaml_path: yaml_path.to_owned(),
            message: message.into(),
            source_line: source_line(self.text, line),
            hint,
        });
    }
}

struct Compiler<'a> {
    problems: Problems<'a>,
    templates: Templates,
    /// Collection names to indexes.
    names: HashMap<String, usize>,
}

impl Compiler<'_> {
    /// The compiled definition and the problems found on the way.
    fn definition(mut self, file: &Path, raw: RawSandbox) -> (Definition, Vec<Diagnostic>) {
        let base_path = self.base_path(&raw.base_path);
        if let Err(message) = time::check_pattern(&raw.timestamp_format) {
            self.problems.push("timestamp_format", message);
        }
        self.index_names(&raw.collections);
        let collections: Vec<Collection> = raw
            .collections
            .iter()
            .enumerate()
            .map(|(index, collection)| self.collection(index, collection, &raw))
            .collect();
        self.check_collections(&collections);
        let responses = self.responses(&raw.responses);
        let messages = self.messages(&raw.messages);
        let definition = Definition {
            file: file.to_path_buf(),
            base_path,
            trailing_slash: raw.trailing_slash,
            update_methods: raw
                .update_methods
                .iter()
                .map(|m| m.to_uppercase())
                .collect(),
            id_field: raw.id_field,
            auth: raw.auth,
            query: raw.query,
            operators: raw.operators,
            envelope: raw.envelope,
            writes: raw.writes,
            responses,
            messages,
            constants: Value::Object(raw.constants),
            collections,
            templates: self.templates,
        };
        (definition, self.problems.list)
    }

    fn base_path(&mut self, raw: &str) -> String {
        if !raw.is_empty() && !raw.starts_with('/') {
            self.problems
                .push("base_path", format!("`{raw}` must start with `/`"));
        }
        raw.trim_end_matches('/').to_owned()
    }

    fn index_names(&mut self, collections: &[RawCollection]) {
        for (index, collection) in collections.iter().enumerate() {
            if self.names.insert(collection.name.clone(), index).is_some() {
                self.problems.push(
                    &format!("collections[{index}].name"),
                    format!(
                        "a collection named `{}` is already defined",
                        collection.name
                    ),
                );
            }
        }
    }

    /// Resolves a collection name, reporting an unknown one at `at`.
    fn resolve(&mut self, name: &str, at: &str) -> usize {
        if let Some(index) = self.names.get(name) {
            return *index;
        }
        let mut known: Vec<&str> = self.names.keys().map(String::as_str).collect();
        known.sort_unstable();
        let hint = Some(format!("known collections: {}", known.join(", ")));
        self.problems
            .push_with_hint(at, format!("unknown collection `{name}`"), hint);
        0
    }

    fn collection(&mut self, index: usize, raw: &RawCollection, top: &RawSandbox) -> Collection {
        let at = format!("collections[{index}]");
        let path = self.collection_path(&at, &raw.path, top.trailing_slash);
        let timestamp_format = match &raw.timestamp_format {
            Some(pattern) => {
                if let Err(message) = time::check_pattern(pattern) {
                    self.problems
                        .push(&format!("{at}.timestamp_format"), message);
                }
                pattern.clone()
            }
            None => top.timestamp_format.clone(),
        };
        let (members, is_union) = self.members(index, &at, raw);
        let methods = self.methods(&at, raw, is_union);
        if let Err(message) = check_id(&raw.id) {
            self.problems.push(&format!("{at}.id"), message);
        }
        if !(100..=599).contains(&raw.create_status) {
            self.problems
                .push(&format!("{at}.create_status"), "not an HTTP status");
        }
        if raw.max_limit.is_some() && !raw.paged {
            self.problems.push(
                &format!("{at}.max_limit"),
                "an unpaged collection has no page size",
            );
        }
        Collection {
            name: raw.name.clone(),
            path,
            model: raw.model.clone().unwrap_or_else(|| raw.name.clone()),
            seed: raw.seed.clone(),
            members,
            is_union,
            methods,
            id_prefix: raw.id.prefix.clone(),
            id_length: raw.id.length,
            create_status: raw.create_status,
            paged: raw.paged,
            max_limit: raw.max_limit,
            total: raw.total,
            order: raw.order.as_deref().map(sort_keys).unwrap_or_default(),
            order_by: raw.order_by.clone(),
            equal_filters: raw.filters.equal.iter().map(RawEqual::compile).collect(),
            range_filters: raw.filters.range.clone(),
            created_field: raw.timestamps.created.clone(),
            updated_field: raw.timestamps.updated.clone(),
            timestamp_format,
            lookups: self.lookups(&at, raw),
            defaults: self.field_trees(&format!("{at}.defaults"), &raw.defaults),
            computed: self.field_trees(&format!("{at}.computed"), &raw.computed),
            references: self.references(&at, raw),
            embeds: self.embeds(&at, raw),
            cascade: self.cascade(&at, raw),
        }
    }

    fn collection_path(&mut self, at: &str, raw: &str, slash: TrailingSlash) -> String {
        if !raw.starts_with('/') {
            self.problems.push(
                &format!("{at}.path"),
                format!("`{raw}` must start with `/`"),
            );
        }
        if slash != TrailingSlash::Optional && !raw.ends_with('/') {
            self.problems.push(
                &format!("{at}.path"),
                format!("`{raw}` must end with `/`, as trailing_slash is not optional"),
            );
        }
        if raw.ends_with('/') {
            raw.to_owned()
        } else {
            format!("{raw}/")
        }
    }

    fn members(&mut self, index: usize, at: &str, raw: &RawCollection) -> (Vec<usize>, bool) {
        let Some(union) = &raw.union else {
            return (vec![index], false);
        };
        if raw.seed.is_some() {
            self.problems
                .push(&format!("{at}.seed"), "a union holds no records of its own");
        }
        let mut members = Vec::new();
        for (position, name) in union.iter().enumerate() {
            let member_at = format!("{at}.union[{position}]");
            let member = self.resolve(name, &member_at);
            if member == index {
                self.problems
                    .push(&member_at, "a union cannot include itself");
            }
            members.push(member);
        }
        (members, true)
    }

    fn methods(&mut self, at: &str, raw: &RawCollection, is_union: bool) -> Vec<Method> {
        let methods = match &raw.methods {
            Some(methods) => methods.clone(),
            None if is_union => vec![Method::List, Method::Get],
            None => Method::ALL.to_vec(),
        };
        if is_union && methods.iter().any(|m| m.writes()) {
            self.problems.push(
                &format!("{at}.methods"),
                "a union is read-only: list and get only",
            );
        }
        methods
    }

    fn field_trees(&mut self, at: &str, raw: &Map<String, Value>) -> FieldTemplates {
        let mut trees = Vec::with_capacity(raw.len());
        for (field, value) in raw {
            let field_at = format!("{at}.{field}");
            if let Some(tree) = self.tree(&field_at, value) {
                trees.push((field.clone(), tree));
            }
        }
        trees
    }

    fn tree(&mut self, at: &str, value: &Value) -> Option<Tree> {
        match self.templates.compile_tree(value) {
            Ok(tree) => Some(tree),
            Err(failure) => {
                let path = if failure.path.is_empty() {
                    at.to_owned()
                } else {
                    format!("{at}.{}", failure.path)
                };
                self.problems
                    .push(&path, format!("template error: {}", failure.error));
                None
            }
        }
    }

    fn template(&mut self, at: &str, source: &str) -> Template {
        match self.templates.compile(source) {
            Ok(template) => template,
            Err(error) => {
                self.problems.push(at, format!("template error: {error}"));
                Template::Literal(source.to_owned())
            }
        }
    }

    fn lookups(&mut self, at: &str, raw: &RawCollection) -> Vec<Lookup> {
        let mut lookups = Vec::new();
        for (name, lookup) in &raw.lookups {
            let lookup_at = format!("{at}.lookups.{name}");
            let collection = self.resolve(&lookup.collection, &format!("{lookup_at}.collection"));
            let key = match (&lookup.field, &lookup.id) {
                (Some(field), None) => LookupKey::Field(field.clone()),
                (None, Some(id)) => LookupKey::Id(self.template(&format!("{lookup_at}.id"), id)),
                (None, None) => LookupKey::First,
                (Some(_), Some(_)) => {
                    self.problems
                        .push(&lookup_at, "give `field` or `id`, not both");
                    LookupKey::First
                }
            };
            lookups.push(Lookup {
                name: name.clone(),
                collection,
                key,
            });
        }
        lookups
    }

    fn references(&mut self, at: &str, raw: &RawCollection) -> Vec<Reference> {
        let mut references = Vec::new();
        for (position, reference) in raw.references.iter().enumerate() {
            let entry_at = format!("{at}.references[{position}]");
            let collection = self.resolve(&reference.collection, &format!("{entry_at}.collection"));
            let message = reference
                .message
                .as_ref()
                .map(|source| self.template(&format!("{entry_at}.message"), source));
            references.push(Reference {
                field: reference.field.clone(),
                collection,
                error_key: reference
                    .error_key
                    .clone()
                    .unwrap_or_else(|| reference.field.clone()),
                message,
            });
        }
        references
    }

    fn embeds(&mut self, at: &str, raw: &RawCollection) -> Vec<Embed> {
        let mut embeds = Vec::new();
        for (position, embed) in raw.embeds.iter().enumerate() {
            let entry_at = format!("{at}.embeds[{position}]");
            let collection = self.resolve(&embed.collection, &format!("{entry_at}.collection"));
            embeds.push(Embed {
                field: embed.field.clone(),
                collection,
                foreign_key: embed.foreign_key.clone(),
                filter: embed.filter.clone(),
                create: embed.create,
            });
        }
        embeds
    }

    fn cascade(&mut self, at: &str, raw: &RawCollection) -> Vec<Cascade> {
        let mut cascade = Vec::new();
        for (position, entry) in raw.cascade.iter().enumerate() {
            let entry_at = format!("{at}.cascade[{position}].collection");
            cascade.push(Cascade {
                collection: self.resolve(&entry.collection, &entry_at),
                foreign_key: entry.foreign_key.clone(),
            });
        }
        cascade
    }

    /// Reports two collections on one path, children created in a union, and unions of
    /// unions.
    fn check_collections(&mut self, collections: &[Collection]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, collection) in collections.iter().enumerate() {
            if let Some(first) = seen.insert(&collection.path, index) {
                self.problems.push(
                    &format!("collections[{index}].path"),
                    format!(
                        "`{}` is already the path of `{}`",
                        collection.path, collections[first].name
                    ),
                );
            }
            for (position, embed) in collection.embeds.iter().enumerate() {
                if embed.create && collections[embed.collection].is_union {
                    self.problems.push(
                        &format!("collections[{index}].embeds[{position}].create"),
                        "children cannot be created in a union",
                    );
                }
            }
            for (position, member) in collection.members.iter().enumerate() {
                if collection.is_union && collections[*member].is_union {
                    self.problems.push(
                        &format!("collections[{index}].union[{position}]"),
                        "a union cannot include another union",
                    );
                }
            }
        }
    }

    fn responses(&mut self, raw: &RawResponses) -> Responses {
        Responses {
            unauthorized: self.response("responses.unauthorized", &raw.unauthorized),
            unknown_path: self.response("responses.unknown_path", &raw.unknown_path),
            method_not_allowed: self
                .response("responses.method_not_allowed", &raw.method_not_allowed),
            invalid_json: self.response("responses.invalid_json", &raw.invalid_json),
            not_found: self.response("responses.not_found", &raw.not_found),
            field_error: self.response("responses.field_error", &raw.field_error),
            deleted: self.response("responses.deleted", &raw.deleted),
        }
    }

    fn response(&mut self, at: &str, raw: &RawResponse) -> Response {
        if !(100..=599).contains(&raw.status) {
            self.problems
                .push(&format!("{at}.status"), "not an HTTP status");
        }
        let body = self
            .tree(&format!("{at}.body"), &raw.body)
            .unwrap_or(Tree::Scalar(Value::Null));
        Response {
            status: raw.status,
            body,
        }
    }

    fn messages(&mut self, raw: &RawMessages) -> Messages {
        Messages {
            limit_too_large: self.template("messages.limit_too_large", &raw.limit_too_large),
            not_an_integer: self.template("messages.not_an_integer", &raw.not_an_integer),
            negative: self.template("messages.negative", &raw.negative),
            unknown_order: self.template("messages.unknown_order", &raw.unknown_order),
            reference_missing: self.template("messages.reference_missing", &raw.reference_missing),
            not_an_object: self.template("messages.not_an_object", &raw.not_an_object),
        }
    }
}

fn check_id(raw: &RawId) -> std::result::Result<(), String> {
    if raw.length == 0 || raw.length > 128 {
        return Err(format!("id length {} is not between 1 and 128", raw.length));
    }
    Ok(())
}

fn sort_keys(text: &str) -> Vec<SortKey> {
    text.split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(SortKey::parse)
        .collect()
}
