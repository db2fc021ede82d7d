//! The definition language's JSON Schema (`schemas/definition.schema.json`), which editors
//! use for completion, checked against every file the loader reads. The loader's own checks
//! come first and say more; the schema catches what they leave, each fault at its place.

use std::sync::LazyLock;

use super::reader::Reader;
use super::yaml::{Node, NodeValue, Position};

static SCHEMA: &str = include_str!("../../../schemas/definition.schema.json");

static VALIDATOR: LazyLock<Option<jsonschema::Validator>> = LazyLock::new(|| {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).ok()?;
    jsonschema::validator_for(&schema).ok()
});

/// Reports every way `root` breaks the schema.
pub(crate) fn check(reader: &mut Reader<'_>, root: &Node) {
    let Some(validator) = VALIDATOR.as_ref() else {
        return;
    };
    let instance = root.to_json();
    for error in validator.iter_errors(&instance) {
        let pointer = error.instance_path.as_str().to_owned();
        let (position, yaml_path) = locate(root, &pointer);
        let message = format!("does not match the definition schema: {error}");
        reader.report(position, &yaml_path, message, None);
    }
}

/// The position of the node at a JSON pointer, and the pointer as a YAML path.
fn locate(root: &Node, pointer: &str) -> (Position, String) {
    let mut node = root;
    let mut position = root.position;
    let mut path = String::new();
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        let next = match &node.value {
            NodeValue::Mapping(map) => map.get(&segment).map(|(key_position, child)| {
                position = *key_position;
                child
            }),
            NodeValue::Sequence(items) => segment
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get(index)),
            NodeValue::Scalar(..) => None,
        };
        let Some(next) = next else {
            break;
        };
        if matches!(node.value, NodeValue::Sequence(_)) {
            path.push_str(&format!("[{segment}]"));
            position = next.position;
        } else {
            path = super::reader::join_path(&path, &segment);
        }
        node = next;
    }
    (position, path)
}
