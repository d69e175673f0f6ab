//! The flags several commands share, and their parsing: what every command file imports (as
//! cargo's `command_prelude`), so that `cli` → `commands` runs one way.

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;

use crate::stack::DEFAULT_NAME;
use crate::telegram::{BotToken, DEFAULT_API_URL, Telegram};

#[derive(Args)]
pub struct Global {
    /// Stack name: every resource name derives from it (a-z, 0-9, '-', at most 20).
    #[arg(long, global = true, env = "TGPIPE_NAME", default_value = DEFAULT_NAME)]
    pub name: String,
    /// Print every AWS call (service, operation, status) and Telegram method on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Where the stack lives: flattened into the commands that talk to AWS.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// AWS profile (as the AWS CLI's --profile).
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long)]
    pub region: Option<String>,
    /// AWS endpoint, for an emulator (default: AWS_ENDPOINT_URL).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// Connects to the stack `global` names.
    pub async fn connect(&self, global: &Global) -> anyhow::Result<crate::connection::Ctx> {
        let options = crate::aws::AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        };
        crate::connection::connect(&global.name, &options, global.verbose).await
    }
}

/// The lake a command reads or writes: `--local DIR`, else the stack's.
pub async fn lake(
    global: &Global,
    local: Option<&std::path::Path>,
    aws: &AwsArgs,
) -> anyhow::Result<crate::lakes::Lake> {
    Ok(match local {
        Some(dir) => crate::lakes::Lake::Local(dir.to_owned()),
        None => crate::lakes::Lake::Stack(Box::new(aws.connect(global).await?)),
    })
}

/// `--timezone`, checked before anything else runs.
pub fn zone(given: Option<&str>) -> anyhow::Result<Option<lake::day::TimeZone>> {
    Ok(given.map(lake::day::parse_time_zone).transpose()?)
}

/// The bot: flattened into the commands that talk to Telegram.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Telegram")]
pub struct BotArgs {
    /// The bot's token from @BotFather (never stored, never printed). On the command line it
    /// lands in the shell's history and `ps`: prefer TGPIPE_BOT_TOKEN or --bot-token-file.
    #[arg(long, env = "TGPIPE_BOT_TOKEN", hide_env_values = true)]
    pub bot_token: Option<String>,
    /// Read the bot's token from this file (`-`: from stdin), e.g. `pass show bot | tgpipe up
    /// --bot-token-file -`; it wins over --bot-token and TGPIPE_BOT_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub bot_token_file: Option<std::path::PathBuf>,
    /// The Telegram Bot API base URL.
    #[arg(long, env = "TGPIPE_TELEGRAM_API_URL", default_value = DEFAULT_API_URL)]
    pub telegram_api_url: String,
}

impl BotArgs {
    /// The bot, when a token was given.
    pub fn telegram(&self, verbose: bool) -> anyhow::Result<Option<Telegram>> {
        let from_file = match &self.bot_token_file {
            None => None,
            Some(path) => Some(read_token(path)?),
        };
        match from_file.as_ref().or(self.bot_token.as_ref()) {
            None => Ok(None),
            Some(t) => Ok(Some(
                Telegram::new(&self.telegram_api_url, BotToken::parse(t)?).verbose(verbose),
            )),
        }
    }

    /// The bot, for a command that cannot go on without it.
    pub fn required(&self, verbose: bool) -> anyhow::Result<Telegram> {
        self.telegram(verbose)?.context(
            "no bot token: set TGPIPE_BOT_TOKEN, or pass --bot-token-file (or --bot-token) with the token @BotFather gave you",
        )
    }
}

/// The token in a file (`-`: stdin), its first line trimmed.
fn read_token(path: &std::path::Path) -> anyhow::Result<String> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the bot token from stdin")?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the bot token from {}", path.display()))?
    };
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// Which rows the query reads, for `query` and `report` alike: the table `telegram` is read
/// through this filter (an analysis, a --file or --sql alike).
#[derive(Args, Clone, Default)]
pub struct ScopeArgs {
    /// Only messages from this day on (YYYY-MM-DD, in the stack's zone; default: the first).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub from: Option<chrono::NaiveDate>,
    /// Only messages up to this day, included (default: the last).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub to: Option<chrono::NaiveDate>,
    /// Only this chat (repeatable), e.g. -1001234567890; default: every chat in the table.
    #[arg(long = "chat-id", value_name = "ID", allow_hyphen_values = true)]
    pub chat_ids: Vec<i64>,
}

impl ScopeArgs {
    /// The scope, or an error when the period runs backwards.
    pub fn scope(&self) -> anyhow::Result<crate::query::Scope> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            bail!("--from {from} is after --to {to}: give the first day, then the last");
        }
        Ok(crate::query::Scope {
            from: self.from,
            to: self.to,
            chats: self.chat_ids.clone(),
        })
    }
}

/// A day as the command line gives it.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    lake::layout::parse_day(text).ok_or_else(|| format!("{text:?} is not a day like 2024-05-01"))
}
