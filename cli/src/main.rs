//! The `crosswalk` command line: a thin front end over the `crosswalk` engine.

mod args;
mod commands;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use crosswalk::{Error, ErrorKind};

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("crosswalk: cannot start the async runtime: {error}");
            return ExitCode::from(4);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(_) if output::stdout_closed() => ExitCode::SUCCESS,
        Err(error) => {
            output::print_error(&error);
            ExitCode::from(exit_code(error.kind()))
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, Error> {
    let mappings = cli.mappings.unwrap_or_else(default_mappings);
    match cli.command {
        Command::Unified(args) => commands::unified::run(&mappings, args).await,
        Command::Sandbox(command) => commands::sandbox::run(&mappings, command).await,
        Command::Validate => Ok(commands::validate::run(&mappings)),
        Command::Map(args) => commands::map::run(&mappings, args),
        Command::Proxy(args) => commands::proxy::run(&mappings, args).await,
        Command::Connect(args) => commands::connect::run(&mappings, args).await,
    }
}

/// The bundled `mappings/` of this checkout, found from the binary's build location; falls
/// back to `./mappings`.
fn default_mappings() -> PathBuf {
    let bundled = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../mappings"));
    if bundled.is_dir() {
        bundled
    } else {
        PathBuf::from("mappings")
    }
}

/// One place decides exit codes; `--help` documents them.
pub(crate) fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Auth | ErrorKind::NotFound | ErrorKind::RateLimited | ErrorKind::Upstream => 1,
        ErrorKind::Input => 2,
        ErrorKind::Definition => 3,
        _ => 4,
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "crosswalk=debug",
        _ => "crosswalk=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
