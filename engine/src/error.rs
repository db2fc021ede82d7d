//! The one error type of the engine, its matchable kind, and located diagnostics.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong, in a form callers can match on.
///
/// New kinds may be added; match with a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A definition under the mappings folder failed to load or compile.
    Definition,
    /// The caller's input was refused: an unknown resource or method, a bad cursor, an
    /// unsupported filter, a malformed body.
    Input,
    /// The upstream refused the credentials, or the account lacks what auth needs.
    Auth,
    /// The upstream has no such record.
    NotFound,
    /// The upstream asked us to slow down for longer than we are willing to wait.
    RateLimited,
    /// The upstream answered with an error status; see [`Error::upstream`].
    Upstream,
    /// The request never got an answer: connection, TLS or timeout failure.
    Transport,
    /// The upstream answered, but its response could not be mapped.
    Mapping,
}

impl ErrorKind {
    /// The HTTP status that best describes this kind, as used in Truto's error shape.
    pub fn status_code(self) -> u16 {
        match self {
            ErrorKind::Definition => 500,
            ErrorKind::Input => 400,
            ErrorKind::Auth => 401,
            ErrorKind::NotFound => 404,
            ErrorKind::RateLimited => 429,
            ErrorKind::Upstream => 502,
            ErrorKind::Transport => 502,
            ErrorKind::Mapping => 500,
        }
    }

    /// A short lowercase name, stable across releases.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Definition => "definition",
            ErrorKind::Input => "input",
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Transport => "transport",
            ErrorKind::Mapping => "mapping",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The upstream's side of a failed exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamResponse {
    /// The HTTP status the upstream sent.
    pub status: u16,
    /// The response body as text (truncated to 64 KiB).
    pub body: String,
}

/// One problem in a definition file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The definition file, relative to the mappings folder where possible.
    pub file: PathBuf,
    /// One-based line of the fault.
    pub line: usize,
    /// One-based column of the fault.
    pub column: usize,
    /// Where the faulty value sits in the YAML document, like `methods.list.request.path`.
    pub yaml_path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// The offending source line, for drawing a caret under `column`.
    pub source_line: Option<String>,
    /// A suggestion that may fix it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// Draws the diagnostic over several lines with the source line and a caret.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        );
        if !self.yaml_path.is_empty() {
            out.push_str(&format!("\n  at `{}`", self.yaml_path));
        }
        if let Some(line) = &self.source_line {
            let gutter = self.line.to_string();
            let pad = " ".repeat(gutter.len());
            let caret = " ".repeat(self.column.saturating_sub(1));
            out.push_str(&format!(
                "\n {pad} |\n {gutter} | {line}\n {pad} | {caret}^"
            ));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\n  hint: {hint}"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// The engine's error: a [kind](ErrorKind), a one-line message, and what is known of the cause.
///
/// `Display` is one line. Definition errors carry every [`Diagnostic`] found in one load;
/// upstream errors carry the status and body; rate-limit errors the suggested wait.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    diagnostics: Vec<Diagnostic>,
    upstream: Option<UpstreamResponse>,
    retry_after: Option<Duration>,
    details: serde_json::Value,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// Creates an error of the given kind with a one-line message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                diagnostics: Vec::new(),
                upstream: None,
                retry_after: None,
                details: serde_json::Value::Null,
                source: None,
            }),
        }
    }

    pub(crate) fn input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Input, message)
    }

    pub(crate) fn mapping(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Mapping, message)
    }

    /// A definition error holding every problem found in one load.
    pub(crate) fn definitions(diagnostics: Vec<Diagnostic>) -> Error {
        let message = match diagnostics.as_slice() {
            [one] => one.to_string(),
            many => format!(
                "{} problems in the definitions; the first: {}",
                many.len(),
                many[0]
            ),
        };
        let mut error = Error::new(ErrorKind::Definition, message);
        error.inner.diagnostics = diagnostics;
        error
    }

    pub(crate) fn with_upstream(mut self, status: u16, body: String) -> Error {
        self.inner.upstream = Some(UpstreamResponse { status, body });
        self
    }

    pub(crate) fn with_retry_after(mut self, wait: Duration) -> Error {
        self.inner.retry_after = Some(wait);
        self
    }

    pub(crate) fn with_details(mut self, details: serde_json::Value) -> Error {
        self.inner.details = details;
        self
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.inner.kind = kind;
        self
    }

    /// Adds one key to the details object, keeping what is there.
    pub(crate) fn add_detail(mut self, key: &str, value: serde_json::Value) -> Error {
        if !self.inner.details.is_object() {
            self.inner.details = serde_json::Value::Object(serde_json::Map::new());
        }
        if let serde_json::Value::Object(map) = &mut self.inner.details {
            map.insert(key.to_owned(), value);
        }
        self
    }

    pub(crate) fn prefix_message(mut self, prefix: &str) -> Error {
        self.inner.message.insert_str(0, prefix);
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The one-line message, without the kind.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Every located problem, for definition errors; empty otherwise.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.inner.diagnostics
    }

    /// The upstream's status and body, when the upstream answered with an error.
    pub fn upstream(&self) -> Option<&UpstreamResponse> {
        self.inner.upstream.as_ref()
    }

    /// How long the upstream asked us to wait, for rate-limit errors.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Structured detail for the caller (for example the supported filters), or null.
    pub fn details(&self) -> &serde_json::Value {
        &self.inner.details
    }

    /// The HTTP status to report: the upstream's own for upstream errors, else the kind's.
    pub fn status_code(&self) -> u16 {
        match (&self.inner.upstream, self.inner.kind) {
            (Some(upstream), ErrorKind::Upstream) => upstream.status,
            _ => self.inner.kind.status_code(),
        }
    }

    /// The error in Truto's shape: `{"statusCode", "error", "message", "details"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut details = match &self.inner.details {
            serde_json::Value::Object(map) => map.clone(),
            serde_json::Value::Null => serde_json::Map::new(),
            other => {
                let mut map = serde_json::Map::new();
                map.insert("info".into(), other.clone());
                map
            }
        };
        details.insert("kind".into(), self.inner.kind.as_str().into());
        if let Some(upstream) = &self.inner.upstream {
            let remote = serde_json::from_str::<serde_json::Value>(&upstream.body)
                .unwrap_or_else(|_| serde_json::Value::String(upstream.body.clone()));
            details.insert("remote_status".into(), upstream.status.into());
            details.insert("remote".into(), remote);
        }
        if let Some(wait) = self.inner.retry_after {
            details.insert("retry_after_seconds".into(), wait.as_secs_f64().into());
        }
        if !self.inner.diagnostics.is_empty() {
            let list = self
                .inner
                .diagnostics
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "file": d.file.display().to_string(),
                        "line": d.line,
                        "column": d.column,
                        "path": d.yaml_path,
                        "message": d.message,
                        "hint": d.hint,
                    })
                })
                .collect::<Vec<_>>();
            details.insert("diagnostics".into(), list.into());
        }
        let status = self.status_code();
        serde_json::json!({
            "statusCode": status,
            "error": reason_phrase(status),
            "message": self.inner.message,
            "details": details,
        })
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        status if status < 500 => "Client Error",
        _ => "Server Error",
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Error");
        debug
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if !self.inner.diagnostics.is_empty() {
            debug.field("diagnostics", &self.inner.diagnostics);
        }
        if let Some(upstream) = &self.inner.upstream {
            debug.field("upstream", upstream);
        }
        if let Some(wait) = &self.inner.retry_after {
            debug.field("retry_after", wait);
        }
        debug.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.inner.kind, self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Names a file in an I/O error message.
pub(crate) fn io_error(path: &Path, action: &str, error: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Definition,
        format!("cannot {action} {}: {error}", path.display()),
    )
    .with_source(error)
}

/// The result type of every fallible engine call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
