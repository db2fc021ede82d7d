//! The sandbox's state: one ordered table of records per collection.

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::definition::Definition;

/// One record, as the upstream would return it (without embedded children).
pub(crate) type Record = Map<String, Value>;

/// Where a record lives: the table (collection index) and the record.
pub(crate) type Located<'a> = (usize, &'a Record);

/// Every collection's records, in storage order (seed order, then creation order).
///
/// Unions have an empty table of their own; their records are their members'.
#[derive(Debug, Clone, Default)]
pub(crate) struct Store {
    tables: Vec<IndexMap<String, Record>>,
}

impl Store {
    /// An empty store with one table per collection.
    pub(crate) fn new(collections: usize) -> Store {
        Store {
            tables: vec![IndexMap::new(); collections],
        }
    }

    /// The records a collection shows, member after member for a union.
    pub(crate) fn records<'a>(
        &'a self,
        definition: &Definition,
        collection: usize,
    ) -> Vec<Located<'a>> {
        definition.collections[collection]
            .members
            .iter()
            .flat_map(|member| self.table(*member).values().map(|record| (*member, record)))
            .collect()
    }

    /// The record with this id in a collection (or one of a union's members).
    pub(crate) fn find<'a>(
        &'a self,
        definition: &Definition,
        collection: usize,
        id: &str,
    ) -> Option<Located<'a>> {
        definition.collections[collection]
            .members
            .iter()
            .find_map(|member| self.table(*member).get(id).map(|record| (*member, record)))
    }

    /// The records of `collection` whose `foreign_key` holds `id`.
    pub(crate) fn children<'a>(
        &'a self,
        definition: &Definition,
        collection: usize,
        foreign_key: &str,
        id: &str,
    ) -> Vec<Located<'a>> {
        let mut children = self.records(definition, collection);
        children.retain(|(_, record)| record.get(foreign_key).and_then(Value::as_str) == Some(id));
        children
    }

    /// The first record of a collection in storage order.
    pub(crate) fn first<'a>(
        &'a self,
        definition: &Definition,
        collection: usize,
    ) -> Option<&'a Record> {
        self.records(definition, collection)
            .first()
            .map(|(_, record)| *record)
    }

    /// Whether an id is taken in this table.
    pub(crate) fn contains(&self, table: usize, id: &str) -> bool {
        self.table(table).contains_key(id)
    }

    /// Adds or replaces a record, keeping a replaced record's place.
    pub(crate) fn insert(&mut self, table: usize, id: String, record: Record) {
        if let Some(records) = self.tables.get_mut(table) {
            records.insert(id, record);
        }
    }

    /// Removes a record, keeping the order of the others.
    pub(crate) fn remove(&mut self, table: usize, id: &str) -> Option<Record> {
        self.tables.get_mut(table)?.shift_remove(id)
    }

    /// A table by collection index; indexes come from the definition, never from requests.
    fn table(&self, table: usize) -> &IndexMap<String, Record> {
        &self.tables[table]
    }
}
