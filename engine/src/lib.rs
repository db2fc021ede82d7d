//! Crosswalk: a declarative unified-API engine.

mod account;
mod compile;
mod definition;
mod engine;
mod error;
mod execute;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod unified;

pub use account::Account;
pub use engine::{Engine, EngineBuilder, IntegrationInfo, ListCall, RecordCall, ResourceInfo};
pub use error::{Diagnostic, Error, ErrorKind, Result, UpstreamResponse};
pub use unified::ListPage;
