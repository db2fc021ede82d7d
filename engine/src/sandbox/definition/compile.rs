//! Checks a deserialized definition and compiles its templates, locating every problem.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::raw::{
    RawCollection, RawEqual, RawId, RawMessages, RawResponse, RawResponses, RawSandbox,
};
use super::search::{
    Join, NodeSpec, ObjectSource, RawSearch, Relation, Search, SearchMessages, SearchObject,
};
use super::{
    source_line, Cascade, Collection, Definition, Embed, Expand, FieldTemplates, Lookup, LookupKey,
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
        let searches: Vec<Search> = raw
            .searches
            .iter()
            .enumerate()
            .filter_map(|(index, search)| self.search(index, search, &raw, &collections))
            .collect();
        self.check_search_paths(&collections, &searches);
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
            searches,
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
            let mut expand = Vec::new();
            for (name, entry) in &embed.expand {
                let at = format!("{entry_at}.expand.{name}.collection");
                expand.push(Expand {
                    name: name.clone(),
                    collection: self.resolve(&entry.collection, &at),
                    field: entry.field.clone(),
                });
            }
            if embed.create && (embed.fields.is_some() || !expand.is_empty()) {
                self.problems.push(
                    &format!("{entry_at}.create"),
                    "children shown with `fields` or `expand` cannot be created through the parent",
                );
            }
            embeds.push(Embed {
                field: embed.field.clone(),
                collection,
                foreign_key: embed.foreign_key.clone(),
                filter: embed.filter.clone(),
                create: embed.create,
                fields: embed.fields.clone(),
                expand,
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

    /// Compiles one search endpoint; `None` when it is too broken to serve.
    fn search(
        &mut self,
        index: usize,
        raw: &RawSearch,
        top: &RawSandbox,
        collections: &[Collection],
    ) -> Option<Search> {
        let at = format!("searches[{index}]");
        let path = self.collection_path(&at, &raw.path, top.trailing_slash);
        let method = raw.method.to_uppercase();
        if !["GET", "POST", "PUT", "PATCH"].contains(&method.as_str()) {
            self.problems.push(
                &format!("{at}.method"),
                format!("`{}` is not GET, POST, PUT or PATCH", raw.method),
            );
        }
        if raw.language.nodes.is_empty() {
            self.problems.push(
                &format!("{at}.language.nodes"),
                "a query language needs nodes",
            );
        }
        let uses_fields = raw
            .language
            .nodes
            .values()
            .any(|node| matches!(node, NodeSpec::Field { .. }));
        if uses_fields && (raw.language.fields.is_empty() || raw.language.conditions.is_empty()) {
            self.problems.push(
                &format!("{at}.language"),
                "a `field` node needs `fields` and `conditions` to read its field and condition",
            );
        }
        if raw.language.sort.is_some() && raw.language.fields.is_empty() {
            self.problems.push(
                &format!("{at}.language.sort"),
                "sorting names fields, so the language needs `fields`",
            );
        }
        let objects = self.search_objects(&at, raw, collections)?;
        let relations = self.search_relations(&at, raw, &objects);
        let messages = SearchMessages {
            invalid_query: self.template(
                &format!("{at}.messages.invalid_query"),
                &raw.messages.invalid_query,
            ),
            invalid_cursor: self.template(
                &format!("{at}.messages.invalid_cursor"),
                &raw.messages.invalid_cursor,
            ),
        };
        let default_limit = raw.default_limit.unwrap_or(top.query.default_limit);
        if raw.max_limit.is_some_and(|max| max < default_limit) {
            self.problems.push(
                &format!("{at}.max_limit"),
                format!("below the default page size {default_limit}"),
            );
        }
        Some(Search {
            path,
            method,
            max_limit: raw.max_limit,
            default_limit,
            request: raw.request.clone(),
            response: raw.response.clone(),
            objects,
            relations,
            language: raw.language.clone(),
            messages,
        })
    }

    /// The object types of a search, in declaration order.
    fn search_objects(
        &mut self,
        at: &str,
        raw: &RawSearch,
        collections: &[Collection],
    ) -> Option<Vec<SearchObject>> {
        let names: Vec<&String> = raw.objects.keys().collect();
        let mut objects = Vec::new();
        let mut ok = true;
        for (name, object) in &raw.objects {
            let object_at = format!("{at}.objects.{name}");
            let source = match (&object.collection, &object.items_of, &object.list) {
                (Some(collection), None, None) => {
                    let index = self.resolve(collection, &format!("{object_at}.collection"));
                    if collections.get(index).is_some_and(|c| c.is_union) {
                        self.problems.push(
                            &format!("{object_at}.collection"),
                            "a union cannot be searched",
                        );
                    }
                    ObjectSource::Collection(index)
                }
                (None, Some(of), Some(list)) => match names.iter().position(|n| *n == of) {
                    Some(of) => ObjectSource::Items {
                        of,
                        list: list.clone(),
                    },
                    None => {
                        let known: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
                        self.problems.push_with_hint(
                            &format!("{object_at}.items_of"),
                            format!("unknown object type `{of}`"),
                            Some(format!("known object types: {}", known.join(", "))),
                        );
                        ok = false;
                        continue;
                    }
                },
                _ => {
                    self.problems
                        .push(&object_at, "give `collection`, or `items_of` with `list`");
                    ok = false;
                    continue;
                }
            };
            let from_collection = matches!(source, ObjectSource::Collection(_));
            if object.results == Some(true) && !from_collection {
                self.problems.push(
                    &format!("{object_at}.results"),
                    "only object types from a collection can be results",
                );
            }
            objects.push(SearchObject {
                name: name.clone(),
                source,
                text: object.text.clone(),
                results: from_collection && object.results.unwrap_or(true),
            });
        }
        if !objects.iter().any(|object| object.results) {
            self.problems.push(
                &format!("{at}.objects"),
                "at least one object type must come from a collection: only those are results",
            );
        }
        ok.then_some(objects)
    }

    /// The declared relations, plus one from each object type to the items it holds.
    fn search_relations(
        &mut self,
        at: &str,
        raw: &RawSearch,
        objects: &[SearchObject],
    ) -> Vec<Relation> {
        let mut relations: Vec<Relation> = objects
            .iter()
            .enumerate()
            .filter_map(|(to, object)| match object.source {
                ObjectSource::Items { of, .. } => Some(Relation {
                    from: of,
                    to,
                    join: Join::Items,
                }),
                ObjectSource::Collection(_) => None,
            })
            .collect();
        let known: Vec<&str> = objects.iter().map(|o| o.name.as_str()).collect();
        let find = |name: &str| objects.iter().position(|o| o.name == name);
        for (position, relation) in raw.relations.iter().enumerate() {
            let relation_at = format!("{at}.relations[{position}]");
            let object = |key: &str, name: &str, problems: &mut Problems<'_>| {
                let found = find(name);
                if found.is_none() {
                    problems.push_with_hint(
                        &format!("{relation_at}.{key}"),
                        format!("unknown object type `{name}`"),
                        Some(format!("known object types: {}", known.join(", "))),
                    );
                }
                found
            };
            let from = object("from", &relation.from, &mut self.problems);
            let to = object("to", &relation.to, &mut self.problems);
            let through = relation
                .through
                .as_ref()
                .map(|name| object("through", name, &mut self.problems));
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            let from_collection = matches!(objects[from].source, ObjectSource::Collection(_));
            let to_collection = matches!(objects[to].source, ObjectSource::Collection(_));
            let join = match (&relation.foreign_key, &relation.key, through) {
                (Some(foreign_key), None, None) if from_collection && to_collection => {
                    Join::Children {
                        foreign_key: foreign_key.clone(),
                    }
                }
                (None, Some(key), None) if to_collection => Join::Parent { key: key.clone() },
                (None, None, Some(Some(through))) => Join::Through(through),
                (None, None, Some(None)) => continue,
                (Some(_), None, None) | (None, Some(_), None) => {
                    self.problems.push(
                        &relation_at,
                        "a relation by id joins object types that come from collections",
                    );
                    continue;
                }
                _ => {
                    self.problems.push(
                        &relation_at,
                        "give one of `foreign_key`, `key` or `through`",
                    );
                    continue;
                }
            };
            if relations.iter().any(|r| r.from == from && r.to == to) {
                self.problems.push(
                    &relation_at,
                    format!("`{}` already reaches `{}`", relation.from, relation.to),
                );
                continue;
            }
            relations.push(Relation { from, to, join });
        }
        relations
    }

    /// Reports a search path that is also a collection's or another search's.
    fn check_search_paths(&mut self, collections: &[Collection], searches: &[Search]) {
        for (index, search) in searches.iter().enumerate() {
            let taken = collections
                .iter()
                .map(|c| c.path.as_str())
                .chain(searches[..index].iter().map(|s| s.path.as_str()))
                .any(|path| path == search.path);
            if taken {
                self.problems.push(
                    &format!("searches[{index}].path"),
                    format!("`{}` is already routed", search.path),
                );
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
