//! The command line's grammar: the flags every command takes, and the commands. Each command's
//! own flags live beside it in `commands/`.

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::args::Global;
use crate::commands::chats::ChatsArgs;
use crate::commands::completions::CompletionsArgs;
use crate::commands::down::DownArgs;
use crate::commands::etl::EtlArgs;
use crate::commands::import::ImportArgs;
use crate::commands::local::LocalCommand;
use crate::commands::logs::LogsArgs;
use crate::commands::outputs::OutputsArgs;
use crate::commands::query::QueryArgs;
use crate::commands::report::ReportArgs;
use crate::commands::set_webhook::SetWebhookArgs;
use crate::commands::status::StatusArgs;
use crate::commands::up::UpArgs;
use crate::commands::{
    ExitStatus, chats, completions, down, etl, import, local, logs, outputs, query, report,
    set_webhook, status, up,
};

/// Stand up (and tear down) a Telegram data pipeline on your own AWS account.
#[derive(Parser)]
#[command(
    version,
    about,
    propagate_version = true,
    after_help = "Exit codes: 0 done, 1 an error (stderr says what to do), 2 a command line it cannot parse,
3 not as it should be (`status` unhealthy, `up --dry-run` with changes), 4 `status` found nothing
wrong without a bot token to check the webhook, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
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
    /// The functions' log lines from CloudWatch Logs: the last hour, or --since, or --follow.
    Logs(LogsArgs),
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

impl Cli {
    /// Runs the command given. An error is [`ExitStatus::Failure`], printed by `main`.
    pub async fn run(self) -> anyhow::Result<ExitStatus> {
        let g = &self.global;
        match self.command {
            Command::Up(args) => up::run(g, args).await,
            Command::Down(args) => down::run(g, args).await,
            Command::Status(args) => status::run(g, args).await,
            Command::SetWebhook(args) => set_webhook::run(g, args).await,
            Command::Query(args) => query::run(g, args).await,
            Command::Report(args) => report::run(g, args).await,
            Command::Outputs(args) => outputs::run(g, args).await,
            Command::Chats(args) => chats::run(g, args).await,
            Command::Etl(args) => etl::run(g, args).await,
            Command::Logs(args) => logs::run(g, args).await,
            Command::Import(args) => import::run(g, args).await,
            Command::Local(command) => local::run(g, command).await,
            Command::Completions(args) => completions::completions(Cli::command(), args),
            Command::Man => completions::man(Cli::command()),
        }
    }
}
