//! Crosswalk: a declarative unified-API engine.

mod compile;
mod error;

pub use error::{Diagnostic, Error, ErrorKind, Result, UpstreamResponse};
