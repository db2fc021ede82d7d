//! One module per subcommand.

pub(crate) mod connect;
pub(crate) mod map;
pub(crate) mod proxy;
pub(crate) mod sandbox;
pub(crate) mod unified;
pub(crate) mod validate;

use std::path::Path;

use crate::args::{TapeArgs, Target};

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

/// An engine and an account ready for one command, with the sandbox it may have started.
pub(crate) struct Session {
    pub(crate) engine: Engine,
    pub(crate) account: crosswalk::Account,
    /// Dropping it stops the in-process sandbox, so it lives as long as the session.
    _sandbox: Option<crosswalk::sandbox::RunningSandbox>,
}

impl Session {
    pub(crate) async fn open(
        mappings: &Path,
        target: &Target,
        integration: Option<&str>,
        tape: &TapeArgs,
    ) -> Result<Session, Error> {
        if let Some(path) = &tape.record {
            // Refuse an unwritable recording path before anything is sent upstream.
            let probe = path.with_extension("probe");
            std::fs::write(&probe, b"")
                .and_then(|()| std::fs::remove_file(&probe))
                .map_err(|error| {
                    let message =
                        format!("cannot write a recording at {}: {error}", path.display());
                    Error::new(ErrorKind::Input, message)
                })?;
        }
        let mut builder = Engine::builder(mappings);
        if let Some(path) = &target.account {
            // Rotated OAuth tokens are written back to the account file before they are used.
            builder = builder
                .credential_store(std::sync::Arc::new(AccountFileStore { path: path.clone() }));
        }
        if tape.record.is_some() {
            builder = builder.record();
        }
        if let Some(recording) = &tape.replay {
            builder = builder.replay(recording);
        }
        let engine = builder.build()?;
        let (account, sandbox) = match (&target.account, target.sandbox) {
            (Some(path), _) => (crosswalk::Account::from_file(path)?, None),
            (None, true) => {
                let integration = pick_integration(&engine, integration)?;
                let running = start_sandbox(mappings, &integration.name, 0).await?;
                (
                    sandbox_account(&integration, &running.base_url()),
                    Some(running),
                )
            }
            (None, false) if tape.replay.is_some() => {
                // Nothing is sent: any credential satisfies the integration's check.
                let integration = pick_integration(&engine, integration)?;
                (sandbox_account(&integration, "http://replay.invalid"), None)
            }
            (None, false) => {
                return Err(Error::new(
                    ErrorKind::Input,
                    "say where the operation goes: --account FILE, --sandbox, or --replay FILE",
                ))
            }
        };
        Ok(Session {
            engine,
            account,
            _sandbox: sandbox,
        })
    }

    /// Writes the recording, or reports recorded requests nobody asked for.
    pub(crate) fn close(self, tape: &TapeArgs) -> Result<(), Error> {
        if let Some(path) = &tape.record {
            let count = self.engine.save_recording(path)?;
            eprintln!("recorded {count} exchange(s) to {}", path.display());
        }
        if tape.replay.is_some() {
            for request in self.engine.unused_recordings() {
                eprintln!("warning: recorded but never requested: {request}");
            }
        }
        Ok(())
    }
}

/// Keeps an account file's OAuth tokens current: the upstream revokes a refresh token once it
/// has issued a new one, so the new one must be on disk before it is used.
struct AccountFileStore {
    path: std::path::PathBuf,
}

impl crosswalk::CredentialStore for AccountFileStore {
    fn store<'a>(
        &'a self,
        _account: &'a crosswalk::Account,
        tokens: &'a crosswalk::TokenSet,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crosswalk::Result<()>> + Send + 'a>>
    {
        Box::pin(async move {
            let failed = |why: String| {
                Error::new(
                    ErrorKind::Auth,
                    format!("cannot update {}: {why}", self.path.display()),
                )
            };
            let text =
                std::fs::read_to_string(&self.path).map_err(|error| failed(error.to_string()))?;
            let mut file: serde_yaml::Value =
                serde_yaml::from_str(&text).map_err(|error| failed(error.to_string()))?;
            let credentials = file
                .get_mut("credentials")
                .and_then(serde_yaml::Value::as_mapping_mut)
                .ok_or_else(|| failed("it has no credentials mapping".into()))?;
            for (name, value) in tokens.credentials() {
                credentials.insert(name.into(), value.into());
            }
            // An answer without a lifetime leaves none: an old one would force refreshes.
            if tokens.expires_at.is_none() {
                credentials.remove("expires_at");
            }
            let text = serde_yaml::to_string(&file).map_err(|error| failed(error.to_string()))?;
            connect::write_private(&self.path, &text)
        })
    }
}
