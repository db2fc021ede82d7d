//! Crosswalk: a declarative unified-API engine.

mod error;

pub use error::{Diagnostic, Error, ErrorKind, Result, UpstreamResponse};
