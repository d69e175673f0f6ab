//! The command line's grammar: the flags every command takes, and the commands. Each command's
//! own flags live beside it in `commands/`.

use clap::{Args, Parser, Subcommand};

use crate::commands::chats::ChatsArgs;
use crate::commands::completions::CompletionsArgs;
use crate::commands::down::DownArgs;
use crate::commands::etl::EtlArgs;
use crate::commands::import::ImportArgs;
use crate::commands::local::LocalCommand;
use crate::commands::outputs::OutputsArgs;
use crate::commands::query::QueryArgs;
use crate::commands::report::ReportArgs;
use crate::commands::set_webhook::SetWebhookArgs;
use crate::commands::status::StatusArgs;
use crate::commands::up::UpArgs;
use crate::stack::DEFAULT_NAME;

/// Stand up (and tear down) a Telegram data pipeline on your own AWS account.
#[derive(Parser)]
#[command(
    version,
    about,
    propagate_version = true,
    after_help = "Exit codes: 0 done, 1 an error (stderr says what to do), 2 a command line it cannot parse,
3 not as it should be (`status` unhealthy, `up --dry-run` with changes), 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct Global {
    /// Stack name: every resource name derives from it (a-z, 0-9, '-', at most 20).
    #[arg(long, global = true, env = "TGPIPE_NAME", default_value = DEFAULT_NAME)]
    pub name: String,
    /// Print every AWS call (service, operation, status) and Telegram method on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create what is missing, update what differs, then point the bot's webhook at the API.
    Up(UpArgs),
    /// Remove the webhook and every resource of the stack (data buckets kept unless --delete-data).
    Down(DownArgs),
    /// Show every resource, the webhook as Telegram sees it, and data freshness.
    Status(StatusArgs),
    /// Point the bot at the deployed API again, reusing the stack's secret.
    SetWebhook(SetWebhookArgs),
    /// The chats the bot knows (id, type, title, members) and whether the stack keeps each.
    Chats(ChatsArgs),
    /// What the deployed stack is: its webhook URL, buckets, functions, table, schedule, chats.
    Outputs(OutputsArgs),
    /// Rebuild chosen days' Parquet: on the stack (the ETL function), or in a lake with --local.
    Etl(EtlArgs),
    /// Bring a group's history from a Telegram Desktop export (JSON) into the lake, then rebuild
    /// the days it touched.
    Import(ImportArgs),
    /// Run an analysis of sql/ (or your own SQL) on Athena, or on a local lake with --local.
    Query(QueryArgs),
    /// Write the analyses' charts as one HTML page that opens with no network (Athena or --local).
    Report(ReportArgs),
    /// The pipeline on this machine, no AWS account: poll the bot into DIR, then Parquet.
    #[command(subcommand)]
    Local(LocalCommand),
    /// Print the completion script of a shell (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}
