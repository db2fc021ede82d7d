//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the upstream refused or failed the operation (auth, not found, rate limited, upstream error)
  2  bad usage or bad input (arguments, body, cursor, unsupported filter, account file)
  3  the definitions under the mappings folder are invalid
  4  no usable answer: transport failure, or a response that could not be mapped";

/// Crosswalk runs unified API operations through declarative integration definitions.
#[derive(Debug, Parser)]
#[command(name = "crosswalk", version, after_long_help = EXIT_CODES, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    /// The folder of integration definitions [default: the bundled `mappings/`]
    #[arg(long, global = true, value_name = "DIR", env = "CROSSWALK_MAPPINGS")]
    pub(crate) mappings: Option<PathBuf>,

    /// More logging on stderr (-v: decisions, -vv: per record); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a unified operation: `crosswalk unified crm accounts list --sandbox`
    Unified(UnifiedArgs),
    /// Run the offline stand-in of an integration's API
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Load every definition and report every problem, each at its place
    Validate,
    /// Map a saved upstream response offline and print the unified output
    Map(MapArgs),
    /// Call any upstream path with the account's auth: `crosswalk proxy GET /path/ --sandbox`
    Proxy(ProxyArgs),
    /// Connect an account with OAuth 2.0 in a browser and write its account file
    Connect(ConnectArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    /// The integration to connect, e.g. the one `crosswalk validate` lists
    pub(crate) integration: String,
    /// The OAuth app's client id
    #[arg(long, env = "CROSSWALK_CLIENT_ID", value_name = "ID")]
    pub(crate) client_id: String,
    /// The OAuth app's client secret
    #[arg(
        long,
        env = "CROSSWALK_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub(crate) client_secret: String,
    /// The loopback port the browser returns to
    #[arg(long, default_value_t = 8720)]
    pub(crate) port: u16,
    /// The redirect URI registered with the OAuth app [default: http://127.0.0.1:PORT/callback]
    #[arg(long, value_name = "URI")]
    pub(crate) redirect_uri: Option<String>,
    /// Where to write the account file (created with owner-only permissions)
    #[arg(long, value_name = "FILE")]
    pub(crate) write_account: PathBuf,
    /// An account option, as `key=value` (visible to the integration's templates)
    #[arg(long = "option", value_name = "KEY=VALUE")]
    pub(crate) options: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The HTTP method: GET, POST, PUT, PATCH or DELETE
    pub(crate) method: String,
    /// The path under the integration's base URL, e.g. `/lead/`
    pub(crate) path: String,
    #[command(flatten)]
    pub(crate) target: Target,
    #[command(flatten)]
    pub(crate) tape: TapeArgs,
    /// Which integration, for --sandbox or --replay (needed when the mappings hold several)
    #[arg(long, value_name = "NAME", conflicts_with = "account")]
    pub(crate) integration: Option<String>,
    /// A query parameter, as `key=value`; repeatable
    #[arg(long = "query", value_name = "KEY=VALUE")]
    pub(crate) query: Vec<String>,
    /// A JSON body: a file, or `-` for stdin
    #[arg(long, value_name = "FILE|-")]
    pub(crate) body: Option<String>,
    /// Continue a list from a `next_cursor`
    #[arg(long, value_name = "C")]
    pub(crate) cursor: Option<String>,
    /// Follow every page of a list, writing records as they arrive
    #[arg(long, conflicts_with = "cursor")]
    pub(crate) all: bool,
}

/// Recording and replaying upstream exchanges.
#[derive(Debug, Args)]
pub(crate) struct TapeArgs {
    /// Save every upstream exchange to FILE (credentials redacted)
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub(crate) record: Option<PathBuf>,
    /// Answer every upstream request from a recording FILE, offline
    #[arg(long, value_name = "FILE")]
    pub(crate) replay: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct MapArgs {
    /// The unified API, e.g. `crm`
    pub(crate) api: String,
    /// The resource, e.g. `accounts`
    pub(crate) resource: String,
    /// The method whose response this is: list, get, create or update
    #[arg(value_enum)]
    pub(crate) method: UnifiedMethod,
    /// The integration the response came from
    #[arg(long, value_name = "NAME")]
    pub(crate) integration: String,
    /// The saved upstream response body (JSON), or `-` for stdin
    #[arg(long, value_name = "FILE|-")]
    pub(crate) response: String,
    /// Leave out `remote_data`
    #[arg(long)]
    pub(crate) no_remote_data: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UnifiedMethod {
    List,
    Get,
    Create,
    Update,
    Delete,
}

#[derive(Debug, Args)]
pub(crate) struct UnifiedArgs {
    /// The unified API, e.g. `crm`
    pub(crate) api: String,
    /// The resource, e.g. `accounts`
    pub(crate) resource: String,
    /// The method to run
    #[arg(value_enum)]
    pub(crate) method: UnifiedMethod,
    /// The record id, for get, update and delete
    pub(crate) id: Option<String>,

    #[command(flatten)]
    pub(crate) target: Target,
    /// Which integration, for --sandbox or --replay (needed when the mappings hold several)
    #[arg(long, value_name = "NAME", conflicts_with = "account")]
    pub(crate) integration: Option<String>,

    /// Records per page (clamped to what the upstream allows)
    #[arg(long, value_name = "N")]
    pub(crate) limit: Option<u64>,
    /// Continue a list from a `next_cursor`
    #[arg(long, value_name = "C")]
    pub(crate) cursor: Option<String>,
    /// Follow every page, writing records as they arrive
    #[arg(long, conflicts_with = "cursor")]
    pub(crate) all: bool,
    /// The unified JSON body for create and update: a file, or `-` for stdin
    #[arg(long, value_name = "FILE|-")]
    pub(crate) body: Option<String>,
    /// A filter the method declares, as `key=value`; repeatable (e.g. `--query account_id=…`)
    #[arg(long = "query", value_name = "KEY=VALUE")]
    pub(crate) query: Vec<String>,
    /// Leave out `remote_data`, the untouched upstream record
    #[arg(long)]
    pub(crate) no_remote_data: bool,
    #[command(flatten)]
    pub(crate) tape: TapeArgs,
}

/// Where operations go: an account file, or the in-process sandbox (with `--replay`, neither
/// is needed).
#[derive(Debug, Args)]
#[group(multiple = false)]
pub(crate) struct Target {
    /// An account file (YAML): integration, credentials, optional base_url
    #[arg(long, value_name = "FILE")]
    pub(crate) account: Option<PathBuf>,
    /// Run against an in-process sandbox of the integration
    #[arg(long)]
    pub(crate) sandbox: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Serve the sandbox on 127.0.0.1 until interrupted; its state lives as long as it runs
    Serve {
        /// The port to listen on (0 picks a free one)
        #[arg(long, default_value_t = 8719)]
        port: u16,
        /// Which integration (needed when the mappings hold several)
        #[arg(long, value_name = "NAME")]
        integration: Option<String>,
        /// Also write an account file pointing at this sandbox
        #[arg(long, value_name = "FILE")]
        write_account: Option<PathBuf>,
    },
}
