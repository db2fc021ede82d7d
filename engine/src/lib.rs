//! Crosswalk is a declarative unified-API engine. Integrations are described in YAML
//! (endpoints, auth, pagination, JMESPath response mappings, minijinja request bodies); the
//! [`Engine`] loads them, compiles every expression once, and runs unified operations —
//! list, get, create, update, delete — against the real upstream API, answering in one shape
//! whatever the upstream looks like.
//!
//! # Thirty seconds
//!
//! Build one [`Engine`] from a mappings folder, describe an [`Account`], and call it. This
//! program lists accounts through the bundled integration's offline [`sandbox`], so it needs
//! no credentials and no network:
//!
//! ```
//! use crosswalk::{Account, Engine};
//! use crosswalk::sandbox::Sandbox;
//!
//! #[tokio::main]
//! async fn main() -> crosswalk::Result<()> {
//!     let mappings = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings");
//!     let engine = Engine::load(&mappings)?;
//!
//!     // The bundled mappings hold one integration; serve its stand-in on a free port.
//!     let integration = engine.integrations().remove(0);
//!     let sandbox = Sandbox::load(&mappings.join(&integration.name))?.bind(0).await?;
//!     let account = Account::new(&integration.name)
//!         .with_credential("api_key", "any key works here")
//!         .with_base_url(sandbox.base_url());
//!
//!     let page = engine.list(&account, "crm/accounts").limit(5).await?;
//!     for record in &page.result {
//!         println!("{}  {}", record["id"], record["name"]);
//!     }
//!     assert_eq!(page.result_count(), 5);
//!
//!     // `next_cursor` is opaque: pass it back for the next page.
//!     let cursor = page.next_cursor.expect("the sandbox holds more than five accounts");
//!     let next = engine.list(&account, "crm/accounts").cursor(cursor).await?;
//!     assert_ne!(next.result[0]["id"], page.result[0]["id"]);
//!     Ok(())
//! }
//! ```
//!
//! # The pieces
//!
//! - [`Engine`]: loads every `<integration>/integration.yaml` and `<api>/<resource>.yaml`
//!   under a folder. Loading fails with every problem found, each located by file, line and
//!   column ([`Error::diagnostics`]). The engine is `Send + Sync` and cheap to clone.
//! - [`Account`]: which integration, its credentials (never shown by `Debug`), and an
//!   optional base-URL override.
//! - Operations: [`Engine::list`] gives a [`ListCall`] — await it for one [`ListPage`], or
//!   [`ListCall::stream`] every record with one page in memory at a time.
//!   [`Engine::get`], [`Engine::create`], [`Engine::update`] and [`Engine::delete`] give a
//!   [`RecordCall`] that resolves to the unified object (`{"id": ...}` for delete).
//! - [`Error`]: one error type; match on [`Error::kind`]. Upstream failures keep the
//!   upstream's status and body; [`Error::to_json`] renders Truto's error shape.
//!
//! Every record carries `remote_data`, the untouched upstream object, unless the call says
//! `.remote_data(false)`.
//!
//! The library logs through `tracing` (debug: pages and decisions; trace: per record) and
//! installs no subscriber.

#![warn(missing_docs)]

mod account;
mod compile;
mod definition;
mod engine;
mod error;
mod execute;
mod proxy;
#[cfg(feature = "sandbox")]
pub mod sandbox;
mod unified;

pub use account::Account;
pub use engine::{Engine, EngineBuilder, IntegrationInfo, ListCall, RecordCall, ResourceInfo};
pub use error::{Diagnostic, Error, ErrorKind, Result, UpstreamResponse};
pub use execute::oauth::{CredentialStore, TokenSet};
pub use execute::pacing::RateLimit;
pub use proxy::{ProxyCall, ProxyResponse};
pub use unified::ListPage;
