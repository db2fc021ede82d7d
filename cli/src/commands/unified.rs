//! `crosswalk unified <api> <resource> <method> [ID]`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use crosswalk::{Account, Engine, Error, ErrorKind};
use futures_util::StreamExt;

use crate::args::{UnifiedArgs, UnifiedMethod};
use crate::output;

pub(crate) async fn run(mappings: &Path, args: UnifiedArgs) -> Result<ExitCode, Error> {
    let mut builder = Engine::builder(mappings);
    if args.record.is_some() {
        builder = builder.record();
    }
    if let Some(recording) = &args.replay {
        builder = builder.replay(recording);
    }
    let engine = builder.build()?;
    check_arguments(&args)?;

    // The sandbox handle must outlive the operation: dropping it stops the server.
    let (account, _sandbox) = match (&args.target.account, args.target.sandbox) {
        (Some(path), _) => (Account::from_file(path)?, None),
        (None, true) => {
            let integration = super::pick_integration(&engine, args.integration.as_deref())?;
            let running = super::start_sandbox(mappings, &integration.name, 0).await?;
            (
                super::sandbox_account(&integration, &running.base_url()),
                Some(running),
            )
        }
        (None, false) if args.replay.is_some() => {
            // Nothing is sent: any credential satisfies the integration's check.
            let integration = super::pick_integration(&engine, args.integration.as_deref())?;
            (
                super::sandbox_account(&integration, "http://replay.invalid"),
                None,
            )
        }
        (None, false) => {
            return Err(Error::new(
                ErrorKind::Input,
                "say where the operation goes: --account FILE, --sandbox, or --replay FILE",
            ))
        }
    };

    let outcome = operate(&engine, &account, &args).await;
    finish_tape(&engine, &args)?;
    outcome
}

/// Writes the recording, or reports recorded requests nobody asked for.
fn finish_tape(engine: &Engine, args: &UnifiedArgs) -> Result<(), Error> {
    if let Some(path) = &args.record {
        let count = engine.save_recording(path)?;
        eprintln!("recorded {count} exchange(s) to {}", path.display());
    }
    if args.replay.is_some() {
        for request in engine.unused_recordings() {
            eprintln!("warning: recorded but never requested: {request}");
        }
    }
    Ok(())
}

async fn operate(
    engine: &Engine,
    account: &Account,
    args: &UnifiedArgs,
) -> Result<ExitCode, Error> {
    let resource = format!("{}/{}", args.api, args.resource);
    let remote_data = !args.no_remote_data;
    let id = args.id.as_deref().unwrap_or_default();
    let result = match args.method {
        UnifiedMethod::List if args.all => {
            return stream_all(engine, account, &resource, args).await
        }
        UnifiedMethod::List => {
            let mut call = engine.list(account, &resource).remote_data(remote_data);
            if let Some(limit) = args.limit {
                call = call.limit(limit);
            }
            if let Some(cursor) = &args.cursor {
                call = call.cursor(cursor);
            }
            for (key, value) in filters(&args.query)? {
                call = call.filter(key, value);
            }
            call.await?.to_json()
        }
        UnifiedMethod::Get => {
            engine
                .get(account, &resource, id)
                .remote_data(remote_data)
                .await?
        }
        UnifiedMethod::Delete => engine.delete(account, &resource, id).await?,
        UnifiedMethod::Create => {
            let body = read_body(args.body.as_deref())?;
            engine
                .create(account, &resource, &body)
                .remote_data(remote_data)
                .await?
        }
        UnifiedMethod::Update => {
            let body = read_body(args.body.as_deref())?;
            engine
                .update(account, &resource, id, &body)
                .remote_data(remote_data)
                .await?
        }
    };
    output::print_json(&result).map_err(write_error)?;
    Ok(ExitCode::SUCCESS)
}

/// Refuses argument combinations that make no sense for the method.
fn check_arguments(args: &UnifiedArgs) -> Result<(), Error> {
    let method = format!("{:?}", args.method).to_lowercase();
    let needs_id = matches!(
        args.method,
        UnifiedMethod::Get | UnifiedMethod::Update | UnifiedMethod::Delete
    );
    let needs_body = matches!(args.method, UnifiedMethod::Create | UnifiedMethod::Update);
    let lists = args.method == UnifiedMethod::List;
    let refuse = |message: String| Err(Error::new(ErrorKind::Input, message));
    if needs_id && args.id.is_none() {
        return refuse(format!(
            "{method} needs a record id: crosswalk unified {} {} {method} <ID>",
            args.api, args.resource
        ));
    }
    if !needs_id && args.id.is_some() {
        return refuse(format!("{method} takes no record id"));
    }
    if needs_body && args.body.is_none() {
        return refuse(format!(
            "{method} needs a body: --body FILE, or --body - for stdin"
        ));
    }
    if !needs_body && args.body.is_some() {
        return refuse(format!("{method} takes no body"));
    }
    if !lists
        && (args.all || args.limit.is_some() || args.cursor.is_some() || !args.query.is_empty())
    {
        return refuse(format!(
            "--all, --limit, --cursor and --query apply to list, not {method}"
        ));
    }
    Ok(())
}

fn filters(pairs: &[String]) -> Result<Vec<(String, String)>, Error> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => Err(Error::new(
                ErrorKind::Input,
                format!("--query takes key=value, got `{pair}`"),
            )),
        })
        .collect()
}

pub(crate) fn read_body(source: Option<&str>) -> Result<serde_json::Value, Error> {
    let source = source.unwrap_or("-");
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|error| {
                Error::new(
                    ErrorKind::Input,
                    format!("cannot read the body from stdin: {error}"),
                )
            })?;
        text
    } else {
        std::fs::read_to_string(source).map_err(|error| {
            Error::new(
                ErrorKind::Input,
                format!("cannot read the body file {source}: {error}"),
            )
        })?
    };
    let shown = if source == "-" { "stdin" } else { source };
    serde_json::from_str(&text).map_err(|error| {
        Error::new(
            ErrorKind::Input,
            format!(
                "the body in {shown} is not valid JSON: {error} (line {}, column {})",
                error.line(),
                error.column()
            ),
        )
    })
}

async fn stream_all(
    engine: &Engine,
    account: &Account,
    resource: &str,
    args: &UnifiedArgs,
) -> Result<ExitCode, Error> {
    let mut call = engine
        .list(account, resource)
        .remote_data(!args.no_remote_data);
    if let Some(limit) = args.limit {
        call = call.limit(limit);
    }
    for (key, value) in filters(&args.query)? {
        call = call.filter(key, value);
    }
    let mut records = Box::pin(call.stream());
    // Fail before printing anything when the first page already fails.
    let first = match records.next().await {
        Some(Err(error)) => return Err(error),
        other => other,
    };
    let mut envelope = output::StreamedEnvelope::start().map_err(write_error)?;
    let mut next = first;
    while let Some(item) = next {
        match item {
            Ok(record) => envelope.record(&record).map_err(write_error)?,
            Err(error) => {
                envelope.finish(false).map_err(write_error)?;
                return Err(error);
            }
        }
        next = records.next().await;
    }
    tracing::debug!(records = envelope.count(), "listed every page");
    envelope.finish(true).map_err(write_error)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn write_error(error: std::io::Error) -> Error {
    // A reader that went away (`| head`) is not a failure of ours.
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Error::new(
        ErrorKind::Transport,
        format!("cannot write the output: {error}"),
    )
}
