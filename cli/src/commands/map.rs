//! `crosswalk map`: map a saved upstream response offline.

use std::path::Path;
use std::process::ExitCode;

use crosswalk::{Engine, Error};

use crate::args::MapArgs;
use crate::output;

pub(crate) fn run(mappings: &Path, args: MapArgs) -> Result<ExitCode, Error> {
    let engine = Engine::load(mappings)?;
    let response = super::unified::read_body(Some(&args.response))?;
    let method = format!("{:?}", args.method).to_lowercase();
    let resource = format!("{}/{}", args.api, args.resource);
    let mapped = engine.map_response(
        &args.integration,
        &resource,
        &method,
        response,
        !args.no_remote_data,
    )?;
    output::print_json(&mapped).map_err(output::write_error)?;
    Ok(ExitCode::SUCCESS)
}
