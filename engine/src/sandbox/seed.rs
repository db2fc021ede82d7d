//! Seed files: the records each collection starts with.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use super::definition::{source_line, Definition};
use super::store::Store;
use crate::error::io_error;
use crate::{Diagnostic, Error, Result};

/// Reads every collection's seed file (relative to the integration folder) into a store.
///
/// Each file must hold a JSON array of objects, each with a unique string id. Every
/// problem in every file is reported at once.
pub(crate) fn load(integration_dir: &Path, definition: &Definition) -> Result<Store> {
    let mut store = Store::new(definition.collections.len());
    let mut problems = Vec::new();
    for (index, collection) in definition.collections.iter().enumerate() {
        let Some(seed) = &collection.seed else {
            continue;
        };
        let file = integration_dir.join(seed);
        let text =
            std::fs::read_to_string(&file).map_err(|error| io_error(&file, "read", error))?;
        let mut seed_file = SeedFile {
            file: &file,
            text: &text,
            problems: &mut problems,
        };
        for (id, record) in seed_file.records(&definition.id_field) {
            store.insert(index, id, record);
        }
    }
    if problems.is_empty() {
        Ok(store)
    } else {
        Err(Error::definitions(problems))
    }
}

struct SeedFile<'a> {
    file: &'a Path,
    text: &'a str,
    problems: &'a mut Vec<Diagnostic>,
}

impl SeedFile<'_> {
    /// The file's records with their ids; problems are recorded and their records skipped.
    fn records(&mut self, id_field: &str) -> Vec<(String, serde_json::Map<String, Value>)> {
        let value: Value = match serde_json::from_str(self.text) {
            Ok(value) => value,
            Err(error) => {
                let message = strip_position(&error.to_string());
                self.problem(error.line().max(1), error.column().max(1), "", message);
                return Vec::new();
            }
        };
        let Value::Array(items) = value else {
            self.problem(
                1,
                1,
                "",
                "a seed file must hold a JSON array of records".into(),
            );
            return Vec::new();
        };
        let mut seen = HashSet::new();
        let mut records = Vec::with_capacity(items.len());
        for (position, item) in items.into_iter().enumerate() {
            let at = format!("[{position}]");
            let Value::Object(record) = item else {
                self.problem(1, 1, &at, "a record must be a JSON object".into());
                continue;
            };
            let Some(id) = record
                .get(id_field)
                .and_then(Value::as_str)
                .map(str::to_owned)
            else {
                let message = format!("the record has no string `{id_field}`");
                self.problem(1, 1, &at, message);
                continue;
            };
            if !seen.insert(id.clone()) {
                let (line, column) = self.second_occurrence(&id);
                self.problem(line, column, &at, format!("the id `{id}` is used twice"));
                continue;
            }
            records.push((id, record));
        }
        records
    }

    /// Where a quoted value appears the second time, for pointing at a duplicate id.
    fn second_occurrence(&self, id: &str) -> (usize, usize) {
        let quoted = format!("\"{id}\"");
        let offset = self
            .text
            .match_indices(&quoted)
            .nth(1)
            .map(|(offset, _)| offset)
            .unwrap_or(0);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map(|at| at + 1).unwrap_or(0) + 1;
        (line, column)
    }

    fn problem(&mut self, line: usize, column: usize, yaml_path: &str, message: String) {
        self.problems.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            column,
            yaml_path: yaml_path.to_owned(),
            message,
            source_line: source_line(self.text, line),
            hint: None,
        });
    }
}

/// serde_json appends the position to its messages; diagnostics carry it separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message.to_owned(),
    }
}
