//! `crosswalk connect <integration>`: the OAuth 2.0 authorization-code flow with a loopback
//! redirect, ending in an account file only its owner can read.

use std::path::Path;
use std::process::ExitCode;

use crosswalk::{Account, Engine, Error, ErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::args::ConnectArgs;

pub(crate) async fn run(mappings: &Path, args: ConnectArgs) -> Result<ExitCode, Error> {
    let engine = Engine::load(mappings)?;
    let mut account = Account::new(&args.integration)
        .with_credential("client_id", &args.client_id)
        .with_credential("client_secret", &args.client_secret);
    for (key, value) in super::unified::filters(&args.options)? {
        account = account.with_option(key, serde_json::Value::String(value));
    }
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|error| input(format!("cannot listen on 127.0.0.1:{}: {error}", args.port)))?;
    let port = listener
        .local_addr()
        .map_err(|error| input(error.to_string()))?
        .port();
    let redirect_uri = args
        .redirect_uri
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{port}/callback"));
    let state = random_state()?;
    let url = engine.authorize_url(&account, &redirect_uri, &state)?;
    eprintln!("Open this URL in a browser and approve access:\n\n  {url}\n");
    eprintln!("waiting for the browser to come back to {redirect_uri} ...");

    let code = wait_for_code(&listener, &state).await?;
    let tokens = engine.exchange_code(&account, &code, &redirect_uri).await?;
    let mut file = format!("integration: {}\ncredentials:\n", args.integration);
    file.push_str(&format!(
        "  client_id: {}\n  client_secret: {}\n",
        quoted(&args.client_id),
        quoted(&args.client_secret)
    ));
    for (name, value) in tokens.credentials() {
        file.push_str(&format!("  {name}: {}\n", quoted(&value)));
    }
    if !args.options.is_empty() {
        file.push_str("options:\n");
        for (key, value) in super::unified::filters(&args.options)? {
            file.push_str(&format!("  {key}: {}\n", quoted(&value)));
        }
    }
    write_private(&args.write_account, &file)?;
    eprintln!(
        "connected; account file written to {}",
        args.write_account.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn input(message: String) -> Error {
    Error::new(ErrorKind::Input, message)
}

/// A value as a double-quoted YAML string (JSON strings are valid YAML).
fn quoted(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

/// 128 random bits, hex: the `state` that ties the browser's return to this run.
fn random_state() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|error| input(format!("no randomness available: {error}")))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Serves the loopback redirect until the browser arrives with a code (or an error).
async fn wait_for_code(listener: &TcpListener, state: &str) -> Result<String, Error> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|error| input(error.to_string()))?;
        // A connection that sends nothing (a browser's preconnect) must not hold up the one
        // that brings the code.
        let wait = std::time::Duration::from_secs(2);
        let Ok(request) = tokio::time::timeout(wait, read_request_head(&mut stream)).await else {
            continue;
        };
        let target = request
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("");
        let Ok(url) = reqwest::Url::parse(&format!("http://127.0.0.1{target}")) else {
            respond(&mut stream, 400, "Bad request.").await;
            continue;
        };
        let query: std::collections::HashMap<String, String> =
            url.query_pairs().into_owned().collect();
        if !query.contains_key("code") && !query.contains_key("error") {
            // Browsers also ask for /favicon.ico and the like.
            respond(&mut stream, 404, "Not found.").await;
            continue;
        }
        if query.get("state").map(String::as_str) != Some(state) {
            respond(
                &mut stream,
                400,
                "The state does not match this connection attempt.",
            )
            .await;
            return Err(Error::new(
                ErrorKind::Auth,
                "the browser came back with a state this run did not issue",
            ));
        }
        if let Some(error) = query.get("error") {
            respond(
                &mut stream,
                400,
                "Access was not granted. This tab may now be shut.",
            )
            .await;
            return Err(Error::new(
                ErrorKind::Auth,
                format!("authorization was refused: {error}"),
            ));
        }
        respond(&mut stream, 200, "Connected. This tab may now be shut.").await;
        return Ok(query.get("code").cloned().unwrap_or_default());
    }
}

/// Reads up to the end of the request head (or 8 KiB), however the client split its writes.
async fn read_request_head(stream: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while head.len() < 8192 && !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

async fn respond(stream: &mut tokio::net::TcpStream, status: u16, text: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!("<!doctype html><title>crosswalk</title><p>{text}</p>\n");
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Writes a file only its owner can read, atomically. A symbolic link is followed, so the
/// file it points at is the one replaced; a stale temporary file is removed first, so the new
/// one is created with owner-only permissions.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let temporary = target.with_extension("partial");
    let result = (|| -> std::io::Result<()> {
        match std::fs::remove_file(&temporary) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temporary)?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &target)
    })();
    result.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        input(format!("cannot write {}: {error}", path.display()))
    })
}
