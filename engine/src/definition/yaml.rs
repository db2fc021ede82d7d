//! A YAML document as a tree whose every node remembers where it was written.
//!
//! Definitions need positions for every key and scalar so that a bad expression deep in a
//! mapping is reported on its own line; serde's data model has no room for that, so the loader
//! builds this small tree from the parser's marked events instead.

use indexmap::IndexMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a node starts: one-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl From<Marker> for Position {
    fn from(marker: Marker) -> Position {
        Position {
            line: marker.line(),
            column: marker.col() + 1,
        }
    }
}

/// How a scalar was written, which decides where its text starts in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarStyle {
    Plain,
    Quoted,
    Block,
}

/// One YAML node with its position.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) position: Position,
    pub(crate) value: NodeValue,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeValue {
    /// Any scalar, kept as written; `style` tells a quoted `"true"` from a plain `true`.
    Scalar(String, ScalarStyle),
    Sequence(Vec<Node>),
    /// Keys keep their own positions for "unknown key" reports.
    Mapping(IndexMap<String, (Position, Node)>),
}

impl Node {
    pub(crate) fn kind_name(&self) -> &'static str {
        match &self.value {
            NodeValue::Scalar(text, ScalarStyle::Plain) if is_null(text) => "null",
            NodeValue::Scalar(..) => "a scalar",
            NodeValue::Sequence(_) => "a list",
            NodeValue::Mapping(_) => "a mapping",
        }
    }

    pub(crate) fn as_mapping(&self) -> Option<&IndexMap<String, (Position, Node)>> {
        match &self.value {
            NodeValue::Mapping(map) => Some(map),
            _ => None,
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.value, NodeValue::Scalar(text, ScalarStyle::Plain) if is_null(text))
    }

    /// Converts the node to JSON, typing plain scalars as YAML 1.2's core schema does.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match &self.value {
            NodeValue::Scalar(text, ScalarStyle::Plain) => plain_scalar_to_json(text),
            NodeValue::Scalar(text, _) => serde_json::Value::String(text.clone()),
            NodeValue::Sequence(items) => items.iter().map(Node::to_json).collect(),
            NodeValue::Mapping(map) => map
                .iter()
                .map(|(key, (_, node))| (key.clone(), node.to_json()))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        NodeValue::Scalar(..) => 0,
        NodeValue::Sequence(items) => items.iter().map(count_nodes).sum(),
        NodeValue::Mapping(map) => map.values().map(|(_, node)| count_nodes(node)).sum(),
    }
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn plain_scalar_to_json(text: &str) -> serde_json::Value {
    if is_null(text) {
        return serde_json::Value::Null;
    }
    match text {
        "true" | "True" | "TRUE" => return true.into(),
        "false" | "False" | "FALSE" => return false.into(),
        _ => {}
    }
    if let Ok(integer) = text.parse::<i64>() {
        return integer.into();
    }
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if looks_numeric {
        if let Some(number) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return number.into();
        }
    }
    serde_json::Value::String(text.to_owned())
}

/// A YAML syntax error with its position.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) position: Position,
    pub(crate) message: String,
}

/// Parses one YAML document into a positioned tree. An empty document is a null scalar.
pub(crate) fn parse(source: &str) -> Result<Node, SyntaxError> {
    let mut builder = TreeBuilder::default();
    // A byte-order mark is not part of the document.
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut parser = Parser::new_from_str(source);
    parser
        .load(&mut builder, false)
        .map_err(|error| SyntaxError {
            position: (*error.marker()).into(),
            message: error.info().to_owned(),
        })?;
    if let Some(message) = builder.error {
        return Err(SyntaxError {
            position: builder.error_position,
            message,
        });
    }
    Ok(builder.root.unwrap_or(Node {
        position: Position { line: 1, column: 1 },
        value: NodeValue::Scalar(String::new(), ScalarStyle::Plain),
    }))
}

/// The most nodes a document may expand to; aliases can make a small file enormous.
const MAX_NODES: usize = 200_000;

/// Builds the tree from parser events with an explicit stack of open collections.
#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Open>,
    root: Option<Node>,
    /// Each anchored node with the number of nodes it holds.
    anchors: Vec<(usize, Node, usize)>,
    nodes: usize,
    error: Option<String>,
    error_position: Position,
}

enum Open {
    Sequence(Position, usize, Vec<Node>),
    Mapping(
        Position,
        usize,
        IndexMap<String, (Position, Node)>,
        Option<(String, Position)>,
    ),
}

impl TreeBuilder {
    fn fail(&mut self, position: Position, message: String) {
        if self.error.is_none() {
            self.error = Some(message);
            self.error_position = position;
        }
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        self.nodes += 1;
        if anchor > 0 {
            let size = count_nodes(&node);
            self.anchors.push((anchor, node.clone(), size));
        }
        self.push(node);
    }

    fn push(&mut self, node: Node) {
        let position = node.position;
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Sequence(_, _, items)) => items.push(node),
            Some(Open::Mapping(_, _, map, pending)) => match pending.take() {
                None => match node.value {
                    NodeValue::Scalar(key, _) => *pending = Some((key, position)),
                    _ => self.fail(position, "mapping keys must be plain strings".into()),
                },
                Some((key, key_position)) => {
                    if map.contains_key(&key) {
                        let message = format!("duplicate key `{key}`");
                        self.fail(key_position, message);
                    } else {
                        map.insert(key, (key_position, node));
                    }
                }
            },
        }
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let position = Position::from(marker);
        match event {
            Event::Scalar(text, style, anchor, _) => {
                let style = match style {
                    TScalarStyle::Plain => ScalarStyle::Plain,
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => ScalarStyle::Quoted,
                    TScalarStyle::Literal | TScalarStyle::Folded => ScalarStyle::Block,
                };
                let node = Node {
                    position,
                    value: NodeValue::Scalar(text, style),
                };
                self.finish(node, anchor);
            }
            Event::SequenceStart(anchor, _) => {
                self.stack
                    .push(Open::Sequence(position, anchor, Vec::new()))
            }
            Event::MappingStart(anchor, _) => {
                self.stack
                    .push(Open::Mapping(position, anchor, IndexMap::new(), None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Sequence(position, anchor, items)) => (
                        Node {
                            position,
                            value: NodeValue::Sequence(items),
                        },
                        anchor,
                    ),
                    Some(Open::Mapping(position, anchor, map, _)) => (
                        Node {
                            position,
                            value: NodeValue::Mapping(map),
                        },
                        anchor,
                    ),
                    None => return,
                };
                self.finish(node, anchor);
            }
            Event::Alias(anchor) => {
                let found = self.anchors.iter().rposition(|(id, _, _)| *id == anchor);
                match found.map(|index| (index, self.anchors[index].2)) {
                    Some((_, size)) if self.nodes + size > MAX_NODES => {
                        let message =
                            format!("aliases expand this document past {MAX_NODES} nodes");
                        self.fail(position, message);
                    }
                    // Once failed, nothing more is built.
                    Some(_) if self.error.is_some() => {}
                    Some((index, size)) => {
                        self.nodes += size;
                        let node = self.anchors[index].1.clone();
                        self.push(node);
                    }
                    None => self.fail(position, "alias to an unknown anchor".into()),
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// Finds where byte `offset` of a scalar's text sits in the source, for carets under
/// expression faults. Plain and quoted scalars are assumed to sit on one line (escapes may
/// shift the column slightly); block scalars are followed line by line.
pub(crate) fn locate_in_scalar(
    source: &str,
    node_position: Position,
    style: ScalarStyle,
    text: &str,
    offset: usize,
) -> Position {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line_in_text = before.matches('\n').count();
    let column_in_line = before.rsplit('\n').next().map_or(0, |s| s.chars().count());
    match style {
        ScalarStyle::Plain => Position {
            line: node_position.line,
            column: node_position.column + column_in_line,
        },
        ScalarStyle::Quoted => Position {
            line: node_position.line,
            column: node_position.column + 1 + column_in_line,
        },
        ScalarStyle::Block => block_position(source, node_position, line_in_text, column_in_line),
    }
}

fn block_position(
    source: &str,
    start: Position,
    line_in_text: usize,
    column_in_line: usize,
) -> Position {
    // The parser marks a block scalar at its first content line; the content's indentation is
    // that of the first non-blank line.
    let lines: Vec<&str> = source.lines().collect();
    let first_content = start.line.saturating_sub(1);
    let indent = lines
        .iter()
        .skip(first_content)
        .find(|line| !line.trim().is_empty())
        .map_or(0, |line| line.len() - line.trim_start().len());
    Position {
        line: first_content + 1 + line_in_text,
        column: indent + 1 + column_in_line,
    }
}

/// The text of a one-based source line, for excerpts.
pub(crate) fn source_line(source: &str, line: usize) -> Option<String> {
    source
        .lines()
        .nth(line.checked_sub(1)?)
        .map(|text| text.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let tree = parse("a: 1\nb:\n  c: hello\n").unwrap();
        let map = tree.as_mapping().unwrap();
        let (key_position, b) = &map["b"];
        assert_eq!(*key_position, Position { line: 2, column: 1 });
        let (_, c) = &b.as_mapping().unwrap()["c"];
        assert_eq!(c.position, Position { line: 3, column: 6 });
    }

    #[test]
    fn plain_scalars_are_typed_quoted_ones_stay_strings() {
        let tree = parse("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: text").unwrap();
        assert_eq!(
            tree.to_json(),
            serde_json::json!({"a": 1, "b": "1", "c": true, "d": null, "e": 1.5, "f": "text"})
        );
    }

    #[test]
    fn aliases_cannot_blow_a_document_up() {
        let mut source = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 0..8 {
            let previous = if level == 0 {
                "a".to_string()
            } else {
                format!("l{}", level - 1)
            };
            let refs = vec![format!("*{previous}"); 10].join(", ");
            source.push_str(&format!("l{level}: &l{level} [{refs}]\n"));
        }
        let error = parse(&source).unwrap_err();
        assert!(error.message.contains("aliases expand"), "{error:?}");
    }

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let tree = parse("\u{feff}a: 1\n").unwrap();
        assert!(tree.as_mapping().unwrap().contains_key("a"));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let error = parse("a: 1\na: 2\n").unwrap_err();
        assert_eq!(error.position.line, 2);
        assert!(error.message.contains("duplicate key"));
    }

    #[test]
    fn syntax_errors_carry_their_line() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.position.line >= 2, "{error:?}");
    }

    #[test]
    fn block_scalar_offsets_map_to_source_lines() {
        let source = "mapping: |\n  {\n    id: id,\n    bad: ((\n  }\n";
        let tree = parse(source).unwrap();
        let (_, node) = &tree.as_mapping().unwrap()["mapping"];
        let NodeValue::Scalar(text, style) = &node.value else {
            panic!("scalar expected")
        };
        let offset = text.find("((").unwrap();
        let position = locate_in_scalar(source, node.position, *style, text, offset);
        assert_eq!(
            position,
            Position {
                line: 4,
                column: 10
            }
        );
    }
}
