//! What the sandbox answers: successful bodies, and refusals rendered from the definition's
//! canned responses.

use serde_json::{json, Value};

use super::definition::{Definition, Response};
use super::template::Template;

/// An answer, independent of the HTTP framework.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
    /// A `Location` header, for redirects.
    pub(crate) location: Option<String>,
}

impl Reply {
    /// A JSON answer.
    pub(crate) fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body,
            location: None,
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rejection {
    /// The credentials header is missing or has an unaccepted scheme.
    Unauthorized,
    /// No route has this path.
    UnknownPath,
    /// The route exists but does not answer this method.
    MethodNotAllowed,
    /// The body is not a JSON object.
    InvalidJson,
    /// No record of this collection has this id.
    NotFound { collection: usize, id: String },
    /// One input field is wrong; the message is already rendered.
    Field { field: String, message: String },
    /// The same path with a trailing slash.
    Redirect(String),
    /// A template failed while answering; a fault of the definition, not the request.
    Internal(String),
}

impl Rejection {
    /// A field error whose message template is rendered with `context` (plus `field`).
    pub(crate) fn field(
        definition: &Definition,
        field: &str,
        message: &Template,
        context: Value,
    ) -> Rejection {
        let mut context = context;
        if let Value::Object(map) = &mut context {
            map.insert("field".into(), Value::String(field.to_owned()));
        }
        let context = minijinja::Value::from_serialize(&context);
        match definition.templates.render_text(message, &context) {
            Ok(message) => Rejection::Field {
                field: field.to_owned(),
                message,
            },
            Err(error) => Rejection::Internal(format!("a message template failed: {error}")),
        }
    }

    /// Renders the refusal with the definition's canned responses.
    pub(crate) fn reply(&self, definition: &Definition) -> Reply {
        let responses = &definition.responses;
        match self {
            Rejection::Unauthorized => render(definition, &responses.unauthorized, json!({})),
            Rejection::UnknownPath => render(definition, &responses.unknown_path, json!({})),
            Rejection::MethodNotAllowed => {
                render(definition, &responses.method_not_allowed, json!({}))
            }
            Rejection::InvalidJson => render(definition, &responses.invalid_json, json!({})),
            Rejection::NotFound { collection, id } => {
                let model = &definition.collections[*collection].model;
                let context = json!({"model": model, "id": id});
                render(definition, &responses.not_found, context)
            }
            Rejection::Field { field, message } => {
                let context = json!({"field": field, "message": message});
                render(definition, &responses.field_error, context)
            }
            Rejection::Redirect(location) => Reply {
                status: 308,
                body: Value::Null,
                location: Some(location.clone()),
            },
            Rejection::Internal(message) => internal(message),
        }
    }
}

/// Renders a canned response with the given template variables.
pub(crate) fn render(definition: &Definition, response: &Response, context: Value) -> Reply {
    let context = minijinja::Value::from_serialize(&context);
    match definition.templates.render(&response.body, &context) {
        Ok(body) => Reply::json(response.status, body.unwrap_or(Value::Null)),
        Err(error) => internal(&format!("a response template failed: {error}")),
    }
}

fn internal(message: &str) -> Reply {
    tracing::warn!(message, "sandbox could not answer");
    Reply::json(500, json!({"error": format!("sandbox: {message}")}))
}
