//! One module per subcommand.

pub(crate) mod map;
pub(crate) mod sandbox;
pub(crate) mod unified;
pub(crate) mod validate;

use std::path::Path;

use crosswalk::{Engine, Error, ErrorKind, IntegrationInfo};

/// Picks the integration a sandbox serves: the named one, or the only one loaded.
pub(crate) fn pick_integration(
    engine: &Engine,
    name: Option<&str>,
) -> Result<IntegrationInfo, Error> {
    let integrations = engine.integrations();
    let names: Vec<&str> = integrations.iter().map(|i| i.name.as_str()).collect();
    let found = match name {
        Some(name) => integrations.iter().find(|i| i.name == name),
        None if integrations.len() == 1 => integrations.first(),
        None => {
            return Err(Error::new(
                ErrorKind::Input,
                format!(
                    "several integrations are loaded ({}); pick one with --integration",
                    names.join(", ")
                ),
            ))
        }
    };
    found.cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::Input,
            format!(
                "no integration `{}`; loaded: {}",
                name.unwrap_or_default(),
                names.join(", ")
            ),
        )
    })
}

/// Loads and starts the sandbox of one integration on a free loopback port.
pub(crate) async fn start_sandbox(
    mappings: &Path,
    integration: &str,
    port: u16,
) -> Result<crosswalk::sandbox::RunningSandbox, Error> {
    let sandbox = crosswalk::sandbox::Sandbox::load(&mappings.join(integration))?;
    sandbox.bind(port).await
}

/// An account for the sandbox: any value satisfies its auth check.
pub(crate) fn sandbox_account(integration: &IntegrationInfo, base_url: &str) -> crosswalk::Account {
    integration
        .credentials
        .iter()
        .fold(
            crosswalk::Account::new(&integration.name),
            |account, name| account.with_credential(name, "sandbox"),
        )
        .with_base_url(base_url)
}
