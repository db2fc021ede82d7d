//! `crosswalk unified <api> <resource> <method> [ID]`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use crosswalk::{Account, Engine, Error, ErrorKind};

use crate::args::{UnifiedArgs, UnifiedMethod};
use crate::output;

pub(crate) async fn run(mappings: &Path, args: UnifiedArgs) -> Result<ExitCode, Error> {
    check_arguments(&args)?;
    let session = super::Session::open(
        mappings,
        &args.target,
        args.integration.as_deref(),
        &args.tape,
    )
    .await?;
    let outcome = operate(&session.engine, &session.account, &args).await;
    session.close(&args.tape)?;
    outcome
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
            let mut call = engine.get(account, &resource, id).remote_data(remote_data);
            for (key, value) in filters(&args.query)? {
                call = call.filter(key, value);
            }
            call.await?
        }
        UnifiedMethod::Delete => {
            let mut call = engine.delete(account, &resource, id);
            for (key, value) in filters(&args.query)? {
                call = call.filter(key, value);
            }
            call.await?
        }
        UnifiedMethod::Create => {
            let body = read_body(args.body.as_deref())?;
            let mut call = engine
                .create(account, &resource, &body)
                .remote_data(remote_data);
            for (key, value) in filters(&args.query)? {
                call = call.filter(key, value);
            }
            call.await?
        }
        UnifiedMethod::Update => {
            let body = read_body(args.body.as_deref())?;
            let mut call = engine
                .update(account, &resource, id, &body)
                .remote_data(remote_data);
            for (key, value) in filters(&args.query)? {
                call = call.filter(key, value);
            }
            call.await?
        }
    };
    output::print_json(&result).map_err(output::write_error)?;
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
    if !lists && (args.all || args.limit.is_some() || args.cursor.is_some()) {
        return refuse(format!(
            "--all, --limit and --cursor apply to list, not {method}"
        ));
    }
    Ok(())
}

pub(crate) fn filters(pairs: &[String]) -> Result<Vec<(String, String)>, Error> {
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
    output::stream_envelope(call.stream()).await
}
