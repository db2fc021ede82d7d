//! Where each node of a YAML document starts, so checks made after deserialization can
//! point at a line and column.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// One-based line and column of every node, keyed by its path (`a.b[2].c`).
#[derive(Debug, Default)]
pub(crate) struct SourceMap {
    positions: HashMap<String, (usize, usize)>,
}

impl SourceMap {
    /// Indexes a YAML text; a text that does not scan yields what was read before the fault.
    pub(crate) fn parse(text: &str) -> SourceMap {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        // A scan error was already reported by the deserializer; keep the partial index.
        let _ = parser.load(&mut builder, false);
        SourceMap {
            positions: builder.positions,
        }
    }

    /// The position of the node at `path`, or of its nearest located ancestor.
    pub(crate) fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let mut path = path;
        loop {
            if let Some(position) = self.positions.get(path) {
                return Some(*position);
            }
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

/// What the builder is inside of.
enum Frame {
    Mapping {
        path: String,
        /// The key whose value comes next, or `None` while a key is expected.
        key: Option<String>,
        /// Whether the mapping's own position is recorded yet.
        located: bool,
    },
    Sequence {
        path: String,
        next: usize,
    },
    /// A mapping or sequence used as a key; its content is not indexed.
    ComplexKey,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    positions: HashMap<String, (usize, usize)>,
    documents: usize,
}

impl Builder {
    /// The path of the node starting now, or `None` when it is a key or inside one.
    fn node_path(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Mapping {
                path,
                key: Some(key),
                ..
            }) => Some(join(path, key)),
            Some(Frame::Sequence { path, next }) => Some(format!("{path}[{next}]")),
            Some(Frame::Mapping { key: None, .. }) | Some(Frame::ComplexKey) => None,
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. }))
    }

    /// Moves the innermost container past the node that just ended.
    fn finish_node(&mut self, key_text: Option<String>) {
        match self.stack.last_mut() {
            Some(Frame::Mapping { key, .. }) => {
                *key = match key.take() {
                    None => Some(key_text.unwrap_or_else(|| "?".into())),
                    Some(_) => None,
                };
            }
            Some(Frame::Sequence { next, .. }) => *next += 1,
            Some(Frame::ComplexKey) | None => {}
        }
    }

    fn record(&mut self, path: &str, mark: Marker) {
        self.positions
            .insert(path.to_owned(), (mark.line(), mark.col() + 1));
    }

    fn start_container(&mut self, mark: Marker, mapping: bool) {
        if self.expecting_key() || matches!(self.stack.last(), Some(Frame::ComplexKey)) {
            self.stack.push(Frame::ComplexKey);
            return;
        }
        let path = self.node_path().unwrap_or_default();
        let frame = if mapping {
            // A block mapping's start mark sits after its first key; its first key is
            // where a reader looks, so the mapping is located there instead.
            Frame::Mapping {
                path,
                key: None,
                located: false,
            }
        } else {
            self.record(&path, mark);
            Frame::Sequence { path, next: 0 }
        };
        self.stack.push(frame);
    }

    fn scalar(&mut self, text: String, mark: Marker) {
        if matches!(self.stack.last(), Some(Frame::ComplexKey)) {
            return;
        }
        if self.expecting_key() {
            if let Some(Frame::Mapping { path, located, .. }) = self.stack.last_mut() {
                let key_path = join(path, &text);
                let mapping_path = (!*located).then(|| path.clone());
                *located = true;
                if let Some(mapping_path) = mapping_path {
                    self.record(&mapping_path, mark);
                }
                self.record(&key_path, mark);
            }
            self.finish_node(Some(text));
            return;
        }
        if let Some(path) = self.node_path() {
            self.record(&path, mark);
        }
        self.finish_node(None);
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.documents > 1 {
            return;
        }
        match event {
            Event::DocumentStart => self.documents += 1,
            Event::MappingStart(..) => self.start_container(mark, true),
            Event::SequenceStart(..) => self.start_container(mark, false),
            Event::MappingEnd | Event::SequenceEnd => {
                let ended = self.stack.pop();
                let was_key = matches!(ended, Some(Frame::ComplexKey))
                    && !matches!(self.stack.last(), Some(Frame::ComplexKey));
                if was_key || !matches!(ended, Some(Frame::ComplexKey)) {
                    self.finish_node(None);
                }
            }
            Event::Scalar(text, ..) => self.scalar(text, mark),
            Event::Alias(_) => {
                if let Some(path) = self.node_path() {
                    self.record(&path, mark);
                }
                self.finish_node(None);
            }
            _ => {}
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_values() {
        let text = "a: 1\nlist:\n  - name: x\n    inner: {k: v}\n  - name: y\n";
        let map = SourceMap::parse(text);
        assert_eq!(map.locate("a"), Some((1, 4)));
        assert_eq!(map.locate("list[0].name"), Some((3, 11)));
        assert_eq!(map.locate("list[0].inner.k"), Some((4, 16)));
        assert_eq!(map.locate("list[1].name"), Some((5, 11)));
        assert_eq!(map.locate("list[1].missing"), Some((5, 5)));
    }
}
