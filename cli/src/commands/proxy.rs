//! `crosswalk proxy <METHOD> <PATH>`: any upstream path, with the account's auth.

use std::path::Path;
use std::process::ExitCode;

use crosswalk::Error;

use crate::args::ProxyArgs;
use crate::output;

pub(crate) async fn run(mappings: &Path, args: ProxyArgs) -> Result<ExitCode, Error> {
    let session = super::Session::open(
        mappings,
        &args.target,
        args.integration.as_deref(),
        &args.tape,
    )
    .await?;
    let outcome = call(&session, &args).await;
    session.close(&args.tape)?;
    outcome
}

async fn call(session: &super::Session, args: &ProxyArgs) -> Result<ExitCode, Error> {
    let mut call = session
        .engine
        .proxy(&session.account, &args.method, &args.path);
    for (key, value) in super::unified::filters(&args.query)? {
        call = call.query(key, value);
    }
    if let Some(source) = &args.body {
        call = call.body(super::unified::read_body(Some(source))?);
    }
    if let Some(cursor) = &args.cursor {
        call = call.cursor(cursor);
    }
    if args.all {
        return output::stream_envelope(call.stream()).await;
    }
    let response = call.await?;
    output::print_json(&response.to_json()).map_err(output::write_error)?;
    Ok(ExitCode::SUCCESS)
}
