//! Writes: create (with nested children), partial update, and cascading delete.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Map, Value};

use super::definition::{Collection, Definition, LookupKey, Writes};
use super::reply::Rejection;
use super::store::{Record, Store};
use super::time::{self, Micros};

/// How deep a delete follows cascades, against cycles in the definition.
const MAX_CASCADE_DEPTH: usize = 16;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Makes random base62 ids.
pub(crate) struct IdGenerator {
    seed: RandomState,
    counter: AtomicU64,
}

impl IdGenerator {
    /// A generator seeded from the process's hash randomness.
    pub(crate) fn new() -> IdGenerator {
        IdGenerator {
            seed: RandomState::new(),
            counter: AtomicU64::new(0),
        }
    }

    /// `prefix` followed by `length` random base62 characters.
    pub(crate) fn next(&self, prefix: &str, length: usize) -> String {
        let mut id = String::with_capacity(prefix.len() + length);
        id.push_str(prefix);
        let mut remaining = length;
        while remaining > 0 {
            let mut bits = self
                .seed
                .hash_one(self.counter.fetch_add(1, Ordering::Relaxed));
            // Ten base62 digits fit in 64 bits.
            for _ in 0..remaining.min(10) {
                id.push(char::from(BASE62[(bits % 62) as usize]));
                bits /= 62;
            }
            remaining = remaining.saturating_sub(10);
        }
        id
    }
}

/// One write against the store, made under its lock.
pub(crate) struct Writer<'a> {
    pub(crate) definition: &'a Definition,
    pub(crate) store: &'a mut Store,
    pub(crate) ids: &'a IdGenerator,
    /// The instant of this write.
    pub(crate) now: Micros,
}

impl Writer<'_> {
    /// Creates a record and the children its body carries; returns the new id.
    ///
    /// Nothing is kept when any part fails.
    pub(crate) fn create(
        &mut self,
        collection: usize,
        body: Map<String, Value>,
    ) -> Result<String, Rejection> {
        let definition = self.definition;
        let spec = &definition.collections[collection];
        let (changes, nested) = split_embeds(spec, body);
        let children = nested_children(definition, spec, nested)?;
        self.check_references(spec, &changes)?;

        let id = self.new_id(collection, spec);
        let mut record = Record::new();
        record.insert(definition.id_field.clone(), Value::String(id.clone()));
        apply_changes(
            &mut record,
            changes,
            &definition.writes,
            &self.protected(spec),
        );
        let now = self.now_for(spec);
        for field in [&spec.created_field, &spec.updated_field]
            .into_iter()
            .flatten()
        {
            record.insert(field.clone(), now.clone());
        }
        self.derive(spec, &mut record, true)?;
        self.store.insert(collection, id.clone(), record);

        let mut created = Vec::new();
        for Child {
            collection: child_collection,
            foreign_key,
            mut body,
        } in children
        {
            body.insert(foreign_key, Value::String(id.clone()));
            match self.create(child_collection, body) {
                Ok(child_id) => created.push((child_collection, child_id)),
                Err(rejection) => {
                    for (table, child_id) in created {
                        self.store.remove(table, &child_id);
                    }
                    self.store.remove(collection, &id);
                    return Err(rejection);
                }
            }
        }
        Ok(id)
    }

    /// Merges a partial body into a record; returns the table that holds it.
    ///
    /// Embedded fields, the id and the timestamps in the body are ignored.
    pub(crate) fn update(
        &mut self,
        collection: usize,
        id: &str,
        body: Map<String, Value>,
    ) -> Result<usize, Rejection> {
        let definition = self.definition;
        let (table, current) = self
            .store
            .find(definition, collection, id)
            .ok_or_else(|| not_found(collection, id))?;
        let spec = &definition.collections[table];
        let (changes, _ignored) = split_embeds(spec, body);
        self.check_references(spec, &changes)?;

        let mut record = current.clone();
        apply_changes(
            &mut record,
            changes,
            &definition.writes,
            &self.protected(spec),
        );
        if let Some(field) = &spec.updated_field {
            record.insert(field.clone(), self.now_for(spec));
        }
        self.derive(spec, &mut record, false)?;
        self.store.insert(table, id.to_owned(), record);
        Ok(table)
    }

    /// Deletes a record and, following the declared cascades, the records pointing at it.
    pub(crate) fn delete(&mut self, collection: usize, id: &str) -> Result<(), Rejection> {
        let (table, _) = self
            .store
            .find(self.definition, collection, id)
            .ok_or_else(|| not_found(collection, id))?;
        self.remove_cascading(table, id, 0);
        Ok(())
    }

    fn remove_cascading(&mut self, table: usize, id: &str, depth: usize) {
        self.store.remove(table, id);
        if depth >= MAX_CASCADE_DEPTH {
            return;
        }
        let definition = self.definition;
        for cascade in &definition.collections[table].cascade {
            let doomed: Vec<(usize, String)> = self
                .store
                .children(definition, cascade.collection, &cascade.foreign_key, id)
                .into_iter()
                .filter_map(|(child_table, child)| {
                    let child_id = child.get(&definition.id_field)?.as_str()?;
                    Some((child_table, child_id.to_owned()))
                })
                .collect();
            for (child_table, child_id) in doomed {
                self.remove_cascading(child_table, &child_id, depth + 1);
            }
        }
    }

    /// "Now" in the collection's timestamp format.
    fn now_for(&self, spec: &Collection) -> Value {
        Value::String(time::format(self.now, &spec.timestamp_format))
    }

    /// A fresh id for the collection, unused in its table.
    fn new_id(&self, table: usize, spec: &Collection) -> String {
        loop {
            let id = self.ids.next(&spec.id_prefix, spec.id_length);
            if !self.store.contains(table, &id) {
                return id;
            }
        }
    }

    /// Fields a body cannot set: the id and the timestamps.
    fn protected<'s>(&'s self, spec: &'s Collection) -> Vec<&'s str> {
        let mut fields = vec![self.definition.id_field.as_str()];
        fields.extend(spec.created_field.as_deref());
        fields.extend(spec.updated_field.as_deref());
        fields
    }

    /// Refuses changes whose reference fields name no record.
    fn check_references(
        &self,
        spec: &Collection,
        changes: &Map<String, Value>,
    ) -> Result<(), Rejection> {
        let definition = self.definition;
        for reference in &spec.references {
            let Some(value) = changes.get(&reference.field) else {
                continue;
            };
            let exists = match value {
                Value::Null => true,
                Value::String(id) => self
                    .store
                    .find(definition, reference.collection, id)
                    .is_some(),
                _ => false,
            };
            if !exists {
                let message = reference
                    .message
                    .as_ref()
                    .unwrap_or(&definition.messages.reference_missing);
                let context = json!({"value": value});
                return Err(Rejection::field(
                    definition,
                    &reference.error_key,
                    message,
                    context,
                ));
            }
        }
        Ok(())
    }

    /// Fills defaults (on create) and computed fields from the templates.
    fn derive(
        &self,
        spec: &Collection,
        record: &mut Record,
        creating: bool,
    ) -> Result<(), Rejection> {
        let templates = &self.definition.templates;
        let failed = |error| template_failed(spec, error);
        if creating && !spec.defaults.is_empty() {
            let context = self.context(spec, record)?;
            for (field, tree) in &spec.defaults {
                if record.contains_key(field) {
                    continue;
                }
                if let Some(value) = templates.render(tree, &context).map_err(failed)? {
                    record.insert(field.clone(), value);
                }
            }
        }
        if !spec.computed.is_empty() {
            let context = self.context(spec, record)?;
            for (field, tree) in &spec.computed {
                if let Some(value) = templates.render(tree, &context).map_err(failed)? {
                    record.insert(field.clone(), value);
                }
            }
        }
        Ok(())
    }

    /// What templates see: the fields, `record`, `constants`, `now`, and the lookups (each
    /// lookup sees the ones before it).
    fn context(&self, spec: &Collection, record: &Record) -> Result<minijinja::Value, Rejection> {
        let definition = self.definition;
        let mut context = record.clone();
        context.insert("record".into(), Value::Object(record.clone()));
        context.insert("constants".into(), definition.constants.clone());
        context.insert("now".into(), self.now_for(spec));
        for lookup in &spec.lookups {
            let id = match &lookup.key {
                LookupKey::Field(field) => record.get(field).cloned(),
                LookupKey::Id(template) => {
                    let current = minijinja::Value::from_serialize(&context);
                    definition
                        .templates
                        .eval(template, &current)
                        .map_err(|error| template_failed(spec, error))?
                }
                LookupKey::First => None,
            };
            let found = match (&lookup.key, id) {
                (LookupKey::First, _) => self.store.first(definition, lookup.collection),
                (_, Some(Value::String(id))) => self
                    .store
                    .find(definition, lookup.collection, &id)
                    .map(|(_, found)| found),
                _ => None,
            };
            match found {
                Some(found) => context.insert(lookup.name.clone(), Value::Object(found.clone())),
                None => context.shift_remove(&lookup.name),
            };
        }
        Ok(minijinja::Value::from_serialize(&context))
    }
}

fn template_failed(spec: &Collection, error: minijinja::Error) -> Rejection {
    Rejection::Internal(format!("a template of `{}` failed: {error}", spec.name))
}

fn not_found(collection: usize, id: &str) -> Rejection {
    Rejection::NotFound {
        collection,
        id: id.to_owned(),
    }
}

/// Splits a body into its own changes and the values of embedded fields.
fn split_embeds(
    spec: &Collection,
    body: Map<String, Value>,
) -> (Map<String, Value>, Map<String, Value>) {
    let (nested, changes) = body
        .into_iter()
        .partition(|(key, _)| spec.embeds.iter().any(|embed| embed.field == *key));
    (changes, nested)
}

/// A child record to create along with its parent.
struct Child {
    collection: usize,
    /// The field that receives the parent's id.
    foreign_key: String,
    body: Map<String, Value>,
}

/// The children to create from embedded fields.
///
/// Fields of embeds without `create` are ignored; a creatable field must hold objects.
fn nested_children(
    definition: &Definition,
    spec: &Collection,
    nested: Map<String, Value>,
) -> Result<Vec<Child>, Rejection> {
    let mut children = Vec::new();
    for (field, value) in nested {
        let Some(embed) = spec.embeds.iter().find(|e| e.field == field && e.create) else {
            continue;
        };
        let items = match value {
            Value::Array(items) => items,
            Value::Null => continue,
            _ => return Err(not_an_object(definition, &field)),
        };
        for item in items {
            let Value::Object(child) = item else {
                return Err(not_an_object(definition, &field));
            };
            children.push(Child {
                collection: embed.collection,
                foreign_key: embed.foreign_key.clone(),
                body: child,
            });
        }
    }
    Ok(children)
}

fn not_an_object(definition: &Definition, field: &str) -> Rejection {
    Rejection::field(
        definition,
        field,
        &definition.messages.not_an_object,
        json!({}),
    )
}

/// Applies a body's changes to a record, honouring the write conventions.
///
/// `key<add suffix>: item` and `key<remove suffix>: item` change one item of a list; null
/// under a drop prefix removes the key; protected keys are left alone; anything else is set.
fn apply_changes(
    record: &mut Record,
    changes: Map<String, Value>,
    writes: &Writes,
    protected: &[&str],
) {
    for (key, value) in changes {
        if protected.contains(&key.as_str()) {
            continue;
        }
        if let Some(base) = strip(&key, writes.list_add_suffix.as_deref()) {
            list_add(record, base, value);
        } else if let Some(base) = strip(&key, writes.list_remove_suffix.as_deref()) {
            list_remove(record, base, &value, writes);
        } else if value.is_null() && drops_null(&key, writes) {
            record.shift_remove(&key);
        } else {
            record.insert(key, value);
        }
    }
}

fn strip<'k>(key: &'k str, suffix: Option<&str>) -> Option<&'k str> {
    key.strip_suffix(suffix.filter(|suffix| !suffix.is_empty())?)
        .filter(|base| !base.is_empty())
}

fn drops_null(key: &str, writes: &Writes) -> bool {
    writes
        .drop_null_prefixes
        .iter()
        .any(|prefix| key.starts_with(prefix.as_str()))
}

/// Adds an item to a list value, once; a missing value becomes a one-item list.
fn list_add(record: &mut Record, key: &str, item: Value) {
    match record.get_mut(key) {
        Some(Value::Array(items)) => {
            if !items.contains(&item) {
                items.push(item);
            }
        }
        Some(Value::Null) | None => {
            record.insert(key.to_owned(), Value::Array(vec![item]));
        }
        Some(single) => {
            if *single != item {
                let previous = single.take();
                *single = Value::Array(vec![previous, item]);
            }
        }
    }
}

/// Removes every copy of an item from a list value; an emptied value under a drop prefix
/// goes away.
fn list_remove(record: &mut Record, key: &str, item: &Value, writes: &Writes) {
    let emptied = match record.get_mut(key) {
        Some(Value::Array(items)) => {
            items.retain(|existing| existing != item);
            items.is_empty()
        }
        Some(single) if single == item => true,
        _ => false,
    };
    if emptied && drops_null(key, writes) {
        record.shift_remove(key);
    } else if emptied && !matches!(record.get(key), Some(Value::Array(_))) {
        record.insert(key.to_owned(), Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes() -> Writes {
        Writes {
            drop_null_prefixes: vec!["x.".into()],
            list_add_suffix: Some(".add".into()),
            list_remove_suffix: Some(".remove".into()),
        }
    }

    fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => map,
            _ => Record::new(),
        }
    }

    #[test]
    fn changes_follow_the_conventions() {
        let mut target = record(json!({"id": "a", "x.tags": ["p"], "x.gone": 1, "keep": 2}));
        let changes = record(json!({
            "id": "b",
            "x.tags.add": "q",
            "x.gone": null,
            "keep": null,
            "x.new.add": "only",
        }));
        apply_changes(&mut target, changes, &writes(), &["id"]);
        assert_eq!(
            Value::Object(target),
            json!({"id": "a", "x.tags": ["p", "q"], "keep": null, "x.new": ["only"]})
        );
    }

    #[test]
    fn removing_the_last_item_drops_the_key() {
        let mut target = record(json!({"x.tags": ["p"], "other": ["p"]}));
        let changes = record(json!({"x.tags.remove": "p", "other.remove": "p"}));
        apply_changes(&mut target, changes, &writes(), &[]);
        assert_eq!(Value::Object(target), json!({"other": []}));
    }

    #[test]
    fn ids_have_the_declared_shape() {
        let ids = IdGenerator::new();
        let first = ids.next("w_", 43);
        assert_eq!(first.len(), 45);
        assert!(first.starts_with("w_"));
        assert!(first[2..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(first, ids.next("w_", 43));
    }
}
