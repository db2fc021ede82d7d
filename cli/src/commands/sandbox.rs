//! `crosswalk sandbox serve`: the offline stand-in as a long-lived local server.

use std::path::Path;
use std::process::ExitCode;

use crosswalk::{Engine, Error, ErrorKind};

use crate::args::SandboxCommand;

pub(crate) async fn run(mappings: &Path, command: SandboxCommand) -> Result<ExitCode, Error> {
    let SandboxCommand::Serve {
        port,
        integration,
        write_account,
    } = command;
    let engine = Engine::load(mappings)?;
    let integration = super::pick_integration(&engine, integration.as_deref())?;
    let running = super::start_sandbox(mappings, &integration.name, port).await?;
    let base_url = running.base_url();

    let account = account_yaml(&integration, &base_url);
    if let Some(path) = &write_account {
        super::connect::write_private(path, &account)?;
    }
    eprintln!("{} sandbox listening on {base_url}", integration.title);
    match &write_account {
        Some(path) => eprintln!("account file written to {}", path.display()),
        None => eprintln!("an account file for it:\n\n{account}"),
    }
    eprintln!("state lasts until this process stops; press Ctrl-C to stop");

    tokio::signal::ctrl_c().await.map_err(|error| {
        Error::new(
            ErrorKind::Transport,
            format!("cannot wait for Ctrl-C: {error}"),
        )
    })?;
    running.shutdown().await;
    eprintln!("sandbox stopped");
    Ok(ExitCode::SUCCESS)
}

fn account_yaml(integration: &crosswalk::IntegrationInfo, base_url: &str) -> String {
    let mut text = format!(
        "integration: {}\nbase_url: {base_url}\ncredentials:\n",
        integration.name
    );
    for name in &integration.credentials {
        text.push_str(&format!("  {name}: sandbox\n"));
    }
    if integration.credentials.is_empty() {
        text.push_str("  {}\n");
    }
    text
}
