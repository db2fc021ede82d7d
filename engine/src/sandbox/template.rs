//! Typed minijinja templates: strings, and JSON trees whose keys and string leaves are
//! templates.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

/// One compiled string template.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    /// Text with no template syntax; rendered as itself.
    Literal(String),
    /// A lone `{{ expression }}`: evaluates to a typed value.
    Expression(String),
    /// Any other template, stored in the environment under this name; renders to text.
    Text(String),
}

/// A JSON value whose object keys and string leaves are templates.
#[derive(Debug, Clone)]
pub(crate) enum Tree {
    /// A null, boolean or number, kept as is.
    Scalar(Value),
    /// A string leaf.
    Template(Template),
    /// An array of trees.
    Array(Vec<Tree>),
    /// An object whose keys are templates too.
    Object(Vec<(Template, Tree)>),
}

/// Where a template failed to compile inside a tree, and why.
pub(crate) struct TreeError {
    /// The failing leaf's place below the tree's root, like `body.errors[0]`; empty for the
    /// root.
    pub(crate) path: String,
    /// What minijinja said.
    pub(crate) error: minijinja::Error,
}

/// The environment holding every compiled template of one definition.
pub(crate) struct Templates {
    env: Environment<'static>,
    count: usize,
}

impl Templates {
    /// An empty set whose templates forgive undefined values (see the module docs).
    pub(crate) fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        Templates { env, count: 0 }
    }

    /// Compiles one string template.
    pub(crate) fn compile(&mut self, source: &str) -> Result<Template, minijinja::Error> {
        if !source.contains("{{") && !source.contains("{%") && !source.contains("{#") {
            return Ok(Template::Literal(source.to_owned()));
        }
        if let Some(expression) = lone_expression(source) {
            self.env.compile_expression_owned(expression.to_owned())?;
            return Ok(Template::Expression(expression.to_owned()));
        }
        self.count += 1;
        let name = format!("template-{}", self.count);
        self.env
            .add_template_owned(name.clone(), source.to_owned())?;
        Ok(Template::Text(name))
    }

    /// Compiles a JSON tree whose keys and string leaves are templates.
    pub(crate) fn compile_tree(&mut self, value: &Value) -> Result<Tree, TreeError> {
        self.compile_tree_at(value, String::new())
    }

    fn compile_tree_at(&mut self, value: &Value, path: String) -> Result<Tree, TreeError> {
        let located = |error| TreeError {
            path: path.clone(),
            error,
        };
        match value {
            Value::String(source) => Ok(Tree::Template(self.compile(source).map_err(located)?)),
            Value::Array(items) => {
                let mut trees = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    trees.push(self.compile_tree_at(item, format!("{path}[{index}]"))?);
                }
                Ok(Tree::Array(trees))
            }
            Value::Object(map) => {
                let mut entries = Vec::with_capacity(map.len());
                for (key, item) in map {
                    let child = join(&path, key);
                    let key = self.compile(key).map_err(|error| TreeError {
                        path: child.clone(),
                        error,
                    })?;
                    entries.push((key, self.compile_tree_at(item, child)?));
                }
                Ok(Tree::Object(entries))
            }
            scalar => Ok(Tree::Scalar(scalar.clone())),
        }
    }

    /// Evaluates a template to a typed value; `None` when a lone expression is undefined.
    pub(crate) fn eval(
        &self,
        template: &Template,
        context: &minijinja::Value,
    ) -> Result<Option<Value>, minijinja::Error> {
        match template {
            Template::Literal(text) => Ok(Some(Value::String(text.clone()))),
            Template::Expression(source) => {
                let value = self.env.compile_expression(source)?.eval(context)?;
                if value.is_undefined() {
                    return Ok(None);
                }
                let json = serde_json::to_value(&value).map_err(|error| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::BadSerialization,
                        format!("the value of `{source}` is not JSON: {error}"),
                    )
                })?;
                Ok(Some(json))
            }
            Template::Text(name) => {
                let text = self.env.get_template(name)?.render(context)?;
                Ok(Some(Value::String(text)))
            }
        }
    }

    /// Renders a template to text: typed values are written as JSON, undefined as empty.
    pub(crate) fn render_text(
        &self,
        template: &Template,
        context: &minijinja::Value,
    ) -> Result<String, minijinja::Error> {
        Ok(match self.eval(template, context)? {
            Some(Value::String(text)) => text,
            Some(other) => other.to_string(),
            None => String::new(),
        })
    }

    /// Renders a tree; `None` when the root is an undefined lone expression.
    ///
    /// Object entries whose value is undefined are left out; undefined array items become
    /// null.
    pub(crate) fn render(
        &self,
        tree: &Tree,
        context: &minijinja::Value,
    ) -> Result<Option<Value>, minijinja::Error> {
        match tree {
            Tree::Scalar(value) => Ok(Some(value.clone())),
            Tree::Template(template) => self.eval(template, context),
            Tree::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.render(item, context)?.unwrap_or(Value::Null));
                }
                Ok(Some(Value::Array(values)))
            }
            Tree::Object(entries) => {
                let mut map = Map::with_capacity(entries.len());
                for (key, item) in entries {
                    if let Some(value) = self.render(item, context)? {
                        map.insert(self.render_text(key, context)?, value);
                    }
                }
                Ok(Some(Value::Object(map)))
            }
        }
    }
}

/// The inside of a template that is exactly one `{{ … }}`, if it is one.
fn lone_expression(source: &str) -> Option<&str> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    let plain = !inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%");
    plain.then_some(inner.trim())
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
    use serde_json::json;

    fn context(value: Value) -> minijinja::Value {
        minijinja::Value::from_serialize(&value)
    }

    #[test]
    fn lone_expressions_keep_their_type() {
        let mut templates = Templates::new();
        let tree = templates
            .compile_tree(&json!({"n": "{{ n }}", "s": "#{{ n }}", "gone": "{{ missing }}"}))
            .ok()
            .expect("compiles");
        let out = templates
            .render(&tree, &context(json!({"n": 7})))
            .expect("renders");
        assert_eq!(out, Some(json!({"n": 7, "s": "#7"})));
    }

    #[test]
    fn keys_are_templates() {
        let mut templates = Templates::new();
        let tree = templates
            .compile_tree(&json!({"{{ field }}": "{{ message }}"}))
            .ok()
            .expect("compiles");
        let out = templates.render(&tree, &context(json!({"field": "f", "message": "m"})));
        assert_eq!(out.expect("renders"), Some(json!({"f": "m"})));
    }

    #[test]
    fn syntax_errors_are_located() {
        let mut templates = Templates::new();
        let error = templates
            .compile_tree(&json!({"a": ["ok", "{{ broken"]}))
            .expect_err("fails");
        assert_eq!(error.path, "a[1]");
    }
}
