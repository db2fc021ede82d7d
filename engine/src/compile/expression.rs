//! Compiled JMESPath expressions and the conversion of their results to JSON.

use jmespath::ast::Ast;
use jmespath::{Context, Rcvar, Variable};

use super::functions;
use crate::error::Error;

/// A JMESPath expression, parsed and checked once when the definitions load.
#[derive(Clone)]
pub(crate) struct Expression {
    source: String,
    ast: Ast,
}

/// A fault in an expression: the byte offset into its text and what is wrong.
pub(crate) type Fault = (usize, String);

impl Expression {
    /// Parses `source` and checks every function call against the known functions.
    pub(crate) fn compile(source: &str) -> Result<Expression, Vec<Fault>> {
        // The parser's offsets are byte offsets into the source.
        let ast = jmespath::parse(source)
            .map_err(|error| vec![(error.offset, error.reason.to_string())])?;
        let faults: Vec<Fault> = functions::check(&ast);
        if !faults.is_empty() {
            return Err(faults);
        }
        Ok(Expression {
            source: source.to_owned(),
            ast,
        })
    }

    /// Evaluates against an already converted value; conversion happens once per response.
    pub(crate) fn search(&self, data: &Rcvar) -> Result<Rcvar, Error> {
        let mut context = Context::new(&self.source, functions::runtime());
        jmespath::interpret(data, &self.ast, &mut context).map_err(|error| {
            Error::mapping(format!(
                "expression `{}` failed: {}",
                self.source.trim(),
                error.reason
            ))
        })
    }

    /// Evaluates and converts the result to JSON, keeping the key order the author wrote.
    pub(crate) fn search_json(&self, data: &Rcvar) -> Result<serde_json::Value, Error> {
        let result = self.search(data)?;
        Ok(to_json_shaped(&result, &self.ast))
    }
}

/// Converts a result to JSON, ordering the keys of every `{...}` the expression built as the
/// author wrote them (the interpreter's objects are sorted maps). The expression tree guides
/// the walk: projections, pipes and `&&`/`||` pass the shape of the side that produced it.
fn to_json_shaped(value: &Variable, ast: &Ast) -> serde_json::Value {
    match (value, ast) {
        (Variable::Object(map), Ast::MultiHash { elements, .. }) => {
            let mut object = serde_json::Map::with_capacity(map.len());
            for pair in elements {
                if let Some(item) = map.get(&pair.key) {
                    object.insert(pair.key.clone(), to_json_shaped(item, &pair.value));
                }
            }
            serde_json::Value::Object(object)
        }
        (Variable::Array(items), Ast::MultiList { elements, .. })
            if items.len() == elements.len() =>
        {
            items
                .iter()
                .zip(elements)
                .map(|(item, element)| to_json_shaped(item, element))
                .collect()
        }
        (Variable::Array(items), Ast::Projection { rhs, .. }) => {
            items.iter().map(|item| to_json_shaped(item, rhs)).collect()
        }
        (_, Ast::Subexpr { rhs, .. } | Ast::And { rhs, .. } | Ast::Condition { then: rhs, .. }) => {
            to_json_shaped(value, rhs)
        }
        (_, Ast::Or { lhs, .. }) => to_json_shaped(value, lhs),
        _ => to_json(value),
    }
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Expression({:?})", self.source)
    }
}

/// Converts an interpreter value to JSON without a serializer round trip.
pub(crate) fn to_json(value: &Variable) -> serde_json::Value {
    match value {
        Variable::Null | Variable::Expref(_) => serde_json::Value::Null,
        Variable::String(text) => serde_json::Value::String(text.clone()),
        Variable::Bool(flag) => serde_json::Value::Bool(*flag),
        Variable::Number(number) => serde_json::Value::Number(number.clone()),
        Variable::Array(items) => items.iter().map(|item| to_json(item)).collect(),
        Variable::Object(map) => map
            .iter()
            .map(|(key, value)| (key.clone(), to_json(value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// Converts JSON to the interpreter's value type; done once per upstream response.
pub(crate) fn from_json(value: &serde_json::Value) -> Rcvar {
    Rcvar::new(match value {
        serde_json::Value::Null => Variable::Null,
        serde_json::Value::Bool(flag) => Variable::Bool(*flag),
        serde_json::Value::Number(number) => Variable::Number(number.clone()),
        serde_json::Value::String(text) => Variable::String(text.clone()),
        serde_json::Value::Array(items) => Variable::Array(items.iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Variable::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), from_json(value)))
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_written_key_order() {
        let expression = Expression::compile("{z: a, a: b, m: c}").unwrap();
        let data = from_json(&json!({"a": 1, "b": 2, "c": 3}));
        let result = expression.search_json(&data).unwrap();
        let keys: Vec<_> = result.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn syntax_errors_point_into_the_text() {
        let faults = Expression::compile("{a: b, c: }").unwrap_err();
        assert_eq!(faults.len(), 1);
        assert!(faults[0].0 >= 9, "{faults:?}");
    }

    #[test]
    fn json_round_trip_keeps_integers() {
        let value = json!({"n": 123456, "f": 12.5, "s": "x", "l": [null, true]});
        assert_eq!(to_json(&from_json(&value)), value);
    }
}
