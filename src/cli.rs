//! The command line: flags, and the commands `up`, `down`, `status`, `set-webhook`, `query`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::aws::{AwsOptions, AwsResultExt};
use crate::lambda::FunctionSpec;
use crate::plan::{Action, Resource, State};
use crate::query::output::{Answer, Format};
use crate::stack::{DEFAULT_NAME, Function, Stack, StackName};
use crate::telegram::{BotToken, DEFAULT_API_URL, Telegram, WebhookInfo};
use crate::{apigw, athena, events, iam, lambda, s3};

/// Stand up (and tear down) a Telegram data pipeline on your own AWS account.
#[derive(Parser)]
#[command(version, about, propagate_version = true)]
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
    /// AWS profile (as the AWS CLI's --profile).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS endpoint, for an emulator (default: AWS_ENDPOINT_URL).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// The bot's token from @BotFather (never stored, never printed).
    #[arg(long, global = true, env = "TGPIPE_BOT_TOKEN", hide_env_values = true)]
    pub bot_token: Option<String>,
    /// The Telegram Bot API base URL.
    #[arg(long, global = true, env = "TGPIPE_TELEGRAM_API_URL", default_value = DEFAULT_API_URL)]
    pub telegram_api_url: String,
    /// Print every AWS call (service, operation, status) and Telegram method on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create what is missing, update what differs, then point the bot's webhook at the API.
    Up(UpArgs),
    /// Remove the webhook and every resource of the stack (data buckets kept unless --delete-data).
    Down {
        /// Also delete the raw and enriched buckets with every object and version in them.
        #[arg(long)]
        delete_data: bool,
    },
    /// Show every resource, the webhook as Telegram sees it, and data freshness.
    Status {
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Point the bot at the deployed API again, reusing the stack's secret.
    SetWebhook {
        /// Make a new webhook secret (the ingest function gets it too).
        #[arg(long)]
        rotate_secret: bool,
    },
    /// Run an analysis of sql/ (or your own SQL) on Athena, or on a local lake with --local.
    Query(QueryArgs),
    /// The pipeline on this machine, no AWS account: poll the bot into DIR, then Parquet.
    #[command(subcommand)]
    Local(LocalCommand),
}

#[derive(Subcommand)]
pub enum LocalCommand {
    /// Long-poll the bot's updates into DIR/raw/, stored as the ingest Lambda stores them.
    Poll(PollArgs),
    /// Turn DIR/raw/ into Parquet under DIR/enriched/, as the ETL Lambda does.
    Etl(LocalEtlArgs),
    /// Try the whole pipeline on made-up updates of a demo group: no bot, no AWS account.
    Demo(DemoArgs),
}

#[derive(Args)]
pub struct DemoArgs {
    /// The data directory (created if missing; the demo's files are rewritten on each run).
    #[arg(default_value = "tgpipe-demo")]
    pub dir: PathBuf,
    /// Days of updates.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    /// Updates a day.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub per_day: u32,
}

#[derive(Args)]
pub struct PollArgs {
    /// The data directory (created if missing).
    pub dir: PathBuf,
    /// A chat whose updates are kept (repeatable), e.g. -1001234567890.
    #[arg(long = "chat-id", required = true, allow_hyphen_values = true)]
    pub chat_ids: Vec<i64>,
    /// IANA time zone of the daily partitions (keep it the same for one directory).
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// Take the updates waiting now, then stop (without it, poll until Ctrl-C).
    #[arg(long)]
    pub once: bool,
    /// Remove the bot's webhook first (Telegram gives no updates to polling while one is set).
    #[arg(long)]
    pub delete_webhook: bool,
}

#[derive(Args)]
pub struct LocalEtlArgs {
    /// The data directory that `tgpipe local poll` fills.
    pub dir: PathBuf,
    /// Rebuild this day (YYYY-MM-DD, repeatable); default: every day with updates newer than
    /// its Parquet.
    #[arg(long = "date", value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub dates: Vec<chrono::NaiveDate>,
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    lake::layout::parse_day(text).ok_or_else(|| format!("{text:?} is not a day like 2024-05-01"))
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["analysis", "file", "sql", "list"])))]
pub struct QueryArgs {
    /// An analysis by name (see --list), e.g. messages_per_day.
    pub analysis: Option<String>,
    /// Run the SQL in this file.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Run this SQL.
    #[arg(long, value_name = "SQL")]
    pub sql: Option<String>,
    /// List the analyses and what each answers.
    #[arg(long)]
    pub list: bool,
    /// Query the lake in DIR (DIR/enriched/telegram/) with the embedded engine, not Athena.
    #[arg(long, value_name = "DIR")]
    pub local: Option<PathBuf>,
    /// How to print the rows (default: table on a terminal, csv otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// IANA time zone of hours and weekdays (default: the stack's; UTC with --local).
    #[arg(long)]
    pub timezone: Option<String>,
}

#[derive(Args)]
pub struct UpArgs {
    /// A chat whose updates are kept (repeatable), e.g. -1001234567890; default: the deployed
    /// chats (required the first time).
    #[arg(long = "chat-id", allow_hyphen_values = true)]
    pub chat_ids: Vec<i64>,
    /// IANA time zone of the daily partitions; default: the deployed one, UTC the first time.
    #[arg(long)]
    pub timezone: Option<String>,
    /// Directory holding ingest/bootstrap.zip and etl/bootstrap.zip.
    #[arg(long, default_value = "target/lambda")]
    pub artifacts: PathBuf,
    /// When the ETL runs (an EventBridge schedule expression); default: the deployed one,
    /// `cron(30 0 * * ? *)` the first time.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Show what would be created or updated, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm a change that re-files data (a new --timezone on a stack that holds updates).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// Everything a command needs to talk to AWS about one stack.
struct Ctx {
    stack: Stack,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    api: aws_sdk_apigatewayv2::Client,
    events: aws_sdk_eventbridge::Client,
    athena: aws_sdk_athena::Client,
    glue: aws_sdk_glue::Client,
}

async fn connect(global: &Global) -> anyhow::Result<Ctx> {
    let name = StackName::parse(&global.name)?;
    let options = AwsOptions {
        profile: global.profile.clone(),
        region: global.region.clone(),
        endpoint_url: global.endpoint_url.clone(),
    };
    let config = crate::aws::load(&options).await;
    let region = config.region().map(|r| r.to_string()).context(
        "no AWS region: pass --region or set AWS_REGION (or a region in your AWS profile)",
    )?;
    let identity = crate::aws_client!(aws_sdk_sts, &config, global.verbose)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            crate::aws::aws_error(
                "cannot use your AWS credentials (STS GetCallerIdentity); configure them as for the AWS CLI (aws configure, AWS_PROFILE or AWS_ACCESS_KEY_ID)",
                e,
            )
        })?;
    let account = identity
        .account()
        .context("STS GetCallerIdentity returned no account")?
        .to_owned();
    let v = global.verbose;
    Ok(Ctx {
        stack: Stack::new(name, account, region),
        s3: crate::aws::s3_client_with(&config, v),
        iam: crate::aws_client!(aws_sdk_iam, &config, v),
        lambda: crate::aws_client!(aws_sdk_lambda, &config, v),
        logs: crate::aws_client!(aws_sdk_cloudwatchlogs, &config, v),
        api: crate::aws_client!(aws_sdk_apigatewayv2, &config, v),
        events: crate::aws_client!(aws_sdk_eventbridge, &config, v),
        athena: crate::aws_client!(aws_sdk_athena, &config, v),
        glue: crate::aws_client!(aws_sdk_glue, &config, v),
    })
}

/// Which of the stack's names are taken by resources that are not the stack's.
async fn foreign(ctx: &Ctx) -> anyhow::Result<crate::ownership::Foreign> {
    let clients = crate::ownership::Clients {
        s3: &ctx.s3,
        iam: &ctx.iam,
        lambda: &ctx.lambda,
        logs: &ctx.logs,
        events: &ctx.events,
        athena: &ctx.athena,
        glue: &ctx.glue,
    };
    crate::ownership::foreign(&clients, &ctx.stack).await
}

fn telegram(global: &Global) -> anyhow::Result<Option<Telegram>> {
    match &global.bot_token {
        None => Ok(None),
        Some(t) => Ok(Some(
            Telegram::new(&global.telegram_api_url, BotToken::parse(t)?).verbose(global.verbose),
        )),
    }
}

/// The bot, for a command that cannot go on without it.
fn required_telegram(global: &Global) -> anyhow::Result<Telegram> {
    telegram(global)?.context(
        "no bot token: pass --bot-token or set TGPIPE_BOT_TOKEN (the token @BotFather gave you)",
    )
}

/// The stack's webhook secret, as the deployed ingest function holds it.
async fn current_secret(ctx: &Ctx) -> anyhow::Result<Option<String>> {
    function_variable(ctx, Function::Ingest, lake::env::WEBHOOK_SECRET).await
}

/// A variable of a deployed function's environment; `None` when it or the function is missing.
async fn function_variable(
    ctx: &Ctx,
    f: Function,
    variable: &str,
) -> anyhow::Result<Option<String>> {
    let name = ctx.stack.function(f);
    match ctx
        .lambda
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
    {
        Ok(c) => Ok(c
            .environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get(variable))
            .cloned()),
        Err(e)
            if aws_sdk_lambda::error::ProvideErrorMetadata::code(&e)
                == Some("ResourceNotFoundException") =>
        {
            Ok(None)
        }
        Err(e) => Err(e).aws(format!("Lambda GetFunctionConfiguration {name}")),
    }
}

fn environments(
    ctx: &Ctx,
    chats: &[i64],
    timezone: &str,
    secret: &str,
) -> [BTreeMap<String, String>; 2] {
    let s = &ctx.stack;
    let chats = chats
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    [
        BTreeMap::from([
            (lake::env::RAW_BUCKET.to_owned(), s.raw_bucket()),
            (lake::env::ALLOWED_CHAT_IDS.to_owned(), chats),
            (lake::env::WEBHOOK_SECRET.to_owned(), secret.to_owned()),
            (lake::env::TIMEZONE.to_owned(), timezone.to_owned()),
        ]),
        BTreeMap::from([
            (lake::env::RAW_BUCKET.to_owned(), s.raw_bucket()),
            (lake::env::ENRICHED_BUCKET.to_owned(), s.enriched_bucket()),
            (lake::env::TIMEZONE.to_owned(), timezone.to_owned()),
        ]),
    ]
}

/// Progress of `up`: a spinner naming the current step on a terminal, plain lines otherwise.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new() -> Progress {
        use std::io::IsTerminal;
        Progress(std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        }))
    }

    /// The step now under way.
    fn step(&self, what: &str) {
        match &self.0 {
            Some(bar) => bar.set_message(what.to_owned()),
            None => eprintln!("  … {what}"),
        }
    }

    /// Something worth keeping on screen (a wait, a retry).
    fn note(&self, line: String) {
        match &self.0 {
            Some(bar) => bar.println(format!("  … {line}")),
            None => eprintln!("  … {line}"),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    // An error ends `up` early: the spinner goes before the error line is printed.
    fn drop(&mut self) {
        self.done();
    }
}

fn print_plan(resources: &[Resource], dry_run: bool) {
    for r in resources {
        let (word, details) = match Action::from(&r.state) {
            Action::Create => (if dry_run { "create" } else { "created" }, String::new()),
            Action::Update(what) => (
                if dry_run { "update" } else { "updated" },
                format!(" ({})", what.join("; ")),
            ),
            Action::Unchanged => ("unchanged", String::new()),
        };
        println!("  {word:<9} {:<17} {}{details}", r.kind, r.name);
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Up(args) => up(&cli.global, args).await,
        Command::Down { delete_data } => down(&cli.global, delete_data).await,
        Command::Status { output } => status(&cli.global, output).await,
        Command::SetWebhook { rotate_secret } => set_webhook(&cli.global, rotate_secret).await,
        Command::Query(args) => query(&cli.global, args).await,
        Command::Local(LocalCommand::Poll(args)) => local_poll(&cli.global, args).await,
        Command::Local(LocalCommand::Etl(args)) => local_etl(args).await,
        Command::Local(LocalCommand::Demo(args)) => local_demo(args).await,
    }
}

async fn local_poll(global: &Global, args: PollArgs) -> anyhow::Result<i32> {
    let tz = lake::day::parse_time_zone(&args.timezone)?;
    let bot = required_telegram(global)?;
    let bot_name = bot.get_me().await?;
    // A bot in privacy mode gets commands only: say so before polling nothing for hours.
    let me = bot.me().await?;
    for c in crate::webhook::check_chats(&bot, &me, &args.chat_ids).await? {
        if let Some(problem) = &c.problem {
            eprintln!("WARNING: chat {}: {problem}", c.label());
        }
    }
    let (raw, _) = crate::local::stores(&args.dir)?;
    let sink = crate::local::sink(raw, &args.chat_ids, tz);
    let raw_dir = args.dir.join(lake::layout::RAW_STORE);
    eprintln!(
        "Polling @{bot_name} into {}{}",
        raw_dir.display(),
        if args.once { "" } else { " (Ctrl-C stops)" }
    );
    let stop = async {
        // Without a handler for Ctrl-C there is nothing to wait for: poll until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let report = crate::local::poll(
        &bot,
        &sink,
        args.delete_webhook,
        args.once,
        stop,
        &|event| match event {
            crate::local::PollEvent::Batch(batch) => eprintln!(
                "  kept {}, ignored {} (other chats){}",
                batch.kept,
                batch.ignored,
                if batch.unreadable > 0 {
                    format!(", {} unreadable", batch.unreadable)
                } else {
                    String::new()
                }
            ),
            crate::local::PollEvent::Retry { error, delay } => {
                eprintln!("  {error}; retrying in {} s", delay.as_secs())
            }
        },
    )
    .await?;
    eprintln!(
        "Kept {} update{} in {}; ignored {} from other chats. Next: tgpipe local etl {}",
        report.kept,
        if report.kept == 1 { "" } else { "s" },
        raw_dir.display(),
        report.ignored,
        args.dir.display()
    );
    Ok(0)
}

async fn local_etl(args: LocalEtlArgs) -> anyhow::Result<i32> {
    if !args.dir.join(lake::layout::RAW_STORE).is_dir() {
        bail!(
            "no raw updates at {}: fill it with `tgpipe local poll {} --chat-id …` first",
            args.dir.join(lake::layout::RAW_STORE).display(),
            args.dir.display()
        );
    }
    let Some(summary) = crate::local::etl(&args.dir, &args.dates).await? else {
        eprintln!("Nothing to do: every day's Parquet is newer than its raw updates.");
        return Ok(0);
    };
    print_etl(&summary);
    summary.into_result()?;
    Ok(0)
}

/// One line a day: what the ETL read and wrote, or why the day failed.
fn print_etl(summary: &etl::Summary) {
    for day in &summary.days {
        match &day.error {
            None => println!(
                "{}  {} updates → {} rows{}",
                day.date,
                day.objects_read,
                day.rows_written,
                if day.objects_skipped > 0 {
                    format!(" ({} unreadable updates skipped)", day.objects_skipped)
                } else {
                    String::new()
                }
            ),
            Some(error) => println!("{}  failed: {error}", day.date),
        }
    }
}

async fn local_demo(args: DemoArgs) -> anyhow::Result<i32> {
    let dir = &args.dir;
    let updates = crate::demo::updates(args.days, args.per_day);
    println!(
        "1. Made {} updates of a demo group over {} days (no bot, no AWS account needed).",
        updates.len(),
        args.days
    );
    let (raw, _) = crate::local::stores(dir)?;
    let sink = crate::local::sink(raw, &[crate::demo::GROUP_ID], chrono_tz::UTC);
    let kept = crate::local::keep_all(&sink, &updates).await?;
    println!(
        "2. Kept {} in {} as the ingest Lambda stores them; ignored {} of chats not kept.",
        kept.kept,
        dir.join(lake::layout::RAW_STORE).display(),
        kept.ignored
    );
    let first = lake::layout::parse_day(crate::demo::START).context("the demo's first day")?;
    let days: Vec<chrono::NaiveDate> = first.iter_days().take(args.days as usize).collect();
    let summary = crate::local::etl(dir, &days)
        .await?
        .context("the demo made no days")?;
    println!(
        "3. Turned them into Parquet under {}, as the ETL Lambda does:",
        dir.join(lake::layout::ENRICHED_STORE).display()
    );
    print_etl(&summary);
    let summary = summary.into_result()?;
    let ctx = crate::query::local::open(dir).await?;
    for (name, shown) in [("messages_per_day", usize::MAX), ("top_words", 5)] {
        let analysis = crate::query::find(name).map_err(anyhow::Error::msg)?;
        let sql = crate::query::bind(analysis.sql, chrono_tz::UTC);
        let mut answer = crate::query::local::run(&ctx, &sql).await?;
        let total = answer.rows.len();
        answer.rows.truncate(shown);
        println!("\n$ tgpipe query {name} --local {}", dir.display());
        print!("{}", answer.render(Format::Table));
        if total > shown {
            println!("… ({total} rows)");
        }
    }
    println!(
        "\n{} messages over {} days. Next: `tgpipe query --list`, then `tgpipe query NAME --local {}`;",
        summary.days.iter().map(|d| d.rows_written).sum::<usize>(),
        summary.days.len(),
        dir.display()
    );
    println!(
        "with a bot of your own, `tgpipe local poll DIR --chat-id ID` and `tgpipe local etl DIR`."
    );
    Ok(0)
}

/// The values `up` deploys: a flag given wins, then what is deployed, then the default, so that
/// a flag left out never reverts the stack.
struct Wanted {
    chats: Vec<i64>,
    timezone: String,
    schedule: String,
    /// Chats added because a kept group became a supergroup: (from, to).
    migrated: Vec<(i64, i64)>,
}

async fn wanted(ctx: &Ctx, args: &UpArgs) -> anyhow::Result<Wanted> {
    let deployed_chats = function_variable(ctx, Function::Ingest, lake::env::ALLOWED_CHAT_IDS)
        .await?
        .and_then(|c| ingest::parse_chat_ids(&c).ok());
    let deployed_zone = function_variable(ctx, Function::Etl, lake::env::TIMEZONE).await?;
    let deployed_schedule = events::deployed_schedule(&ctx.events, &ctx.stack).await?;
    let mut chats: Vec<i64> = if args.chat_ids.is_empty() {
        deployed_chats
            .map(|c| c.into_iter().collect())
            .context("--chat-id is required the first time: the id of the group to keep, such as -1001234567890")?
    } else {
        args.chat_ids.clone()
    };
    // A kept group that became a supergroup: its new id joins the stack's chats.
    let mut migrated = Vec::new();
    for m in crate::health::migrations(&ctx.s3, &ctx.stack).await? {
        if chats.contains(&m.from) && !chats.contains(&m.to) {
            chats.push(m.to);
            migrated.push((m.from, m.to));
        }
    }
    let timezone = args
        .timezone
        .clone()
        .or(deployed_zone.clone())
        .unwrap_or_else(|| "UTC".to_owned());
    lake::day::parse_time_zone(&timezone)?;
    if let Some(old) = deployed_zone.filter(|old| *old != timezone) {
        let holds_data = !crate::health::list_all(
            &ctx.s3,
            &ctx.stack.raw_bucket(),
            &format!("{}/", lake::layout::TABLE_PREFIX),
        )
        .await?
        .is_empty();
        if holds_data
            && !args.yes
            && !args.dry_run
            && !confirm(&format!(
                "The stack files days in {old}; from now on they would be filed in {timezone}, and updates near midnight would land on other days than before. Change it?"
            ))?
        {
            bail!(
                "the time zone stays {old}: changing it to {timezone} re-files new updates by another day; pass --yes to change it anyway"
            );
        }
    }
    let schedule = args
        .schedule
        .clone()
        .or(deployed_schedule)
        .unwrap_or_else(|| events::DEFAULT_SCHEDULE.to_owned());
    Ok(Wanted {
        chats,
        timezone,
        schedule,
        migrated,
    })
}

/// Asks a yes/no question on a terminal; `false` (without asking) anywhere else.
fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Checks that the bot can read each kept chat; prints one line a chat (`up`, `set-webhook`).
async fn print_chat_checks(
    bot: &Telegram,
    chats: &[i64],
) -> anyhow::Result<Vec<crate::webhook::ChatCheck>> {
    let me = bot.me().await?;
    let checks = crate::webhook::check_chats(bot, &me, chats).await?;
    for c in &checks {
        match &c.problem {
            None => println!("  {:<9} {:<17} {}", "ok", "telegram chat", c.label()),
            Some(problem) => {
                println!("  {:<9} {:<17} {}", "WARNING", "telegram chat", c.label());
                println!("            {problem}");
            }
        }
    }
    Ok(checks)
}

async fn up(global: &Global, args: UpArgs) -> anyhow::Result<i32> {
    // Everything that can be checked before touching AWS is checked first.
    StackName::parse(&global.name)?;
    if let Some(zone) = &args.timezone {
        lake::day::parse_time_zone(zone)?;
    }
    let bot = required_telegram(global)?;
    let bot_name = bot.get_me().await?;
    let ctx = connect(global).await?;
    let stack = &ctx.stack;
    // Nothing that bears the stack's names without its tag is touched, let alone adopted.
    let foreign = foreign(&ctx).await?;
    if !foreign.is_empty() {
        bail!("{}", foreign.refusal(stack));
    }
    let wanted = wanted(&ctx, &args).await?;
    let secret = match current_secret(&ctx).await? {
        Some(s) => s,
        None => crate::webhook::new_secret()?,
    };
    let envs = environments(&ctx, &wanted.chats, &wanted.timezone, &secret);
    let specs = Function::ALL
        .iter()
        .zip(envs)
        .map(|(f, env)| FunctionSpec::load(stack, *f, &args.artifacts, env))
        .collect::<anyhow::Result<Vec<_>>>()?;
    eprintln!(
        "{} stack {} in account {} ({}) for @{bot_name}",
        if args.dry_run {
            "Planning"
        } else {
            "Deploying"
        },
        stack.name,
        stack.account,
        stack.region
    );
    for (from, to) in &wanted.migrated {
        println!("  chat {from} became the supergroup {to}: keeping {to} too");
    }

    let dry = args.dry_run;
    // Independent resources first, concurrently; then what depends on them.
    let progress = Progress::new();
    progress.step("buckets, roles, log groups, Athena and Glue");
    let (buckets, roles, log_groups, analytics) = tokio::try_join!(
        s3::ensure(&ctx.s3, stack, dry),
        iam::ensure(&ctx.iam, stack, dry),
        lambda::logs::ensure(&ctx.logs, stack, dry),
        athena::ensure(&ctx.athena, &ctx.glue, stack, dry),
    )?;
    progress.step("functions");
    let functions = if dry {
        lambda::inspect(&ctx.lambda, stack, &specs).await?
    } else {
        lambda::ensure(&ctx.lambda, stack, &specs, false, &|l| progress.note(l)).await?
    };
    progress.step("HTTP API and daily schedule");
    let ((api_before, api), rule) = if dry && functions.iter().any(|f| f.state == State::Missing) {
        // Without the functions there is nothing to wire yet.
        let api = Resource {
            kind: "http api",
            name: stack.http_api(),
            state: apigw::find(&ctx.api, stack)
                .await?
                .map_or(State::Missing, |_| {
                    State::Drifted(vec!["functions to wire".into()])
                }),
        };
        let rule = events::inspect(&ctx.events, &ctx.lambda, stack, Some(&wanted.schedule)).await?;
        ((api, None), rule)
    } else {
        tokio::try_join!(
            apigw::ensure(&ctx.api, &ctx.lambda, stack, dry),
            events::ensure(&ctx.events, &ctx.lambda, stack, &wanted.schedule, dry),
        )?
    };
    let mut all = buckets;
    all.extend(roles.0);
    all.extend(log_groups);
    all.extend(functions.iter().cloned());
    all.push(api_before);
    all.push(rule);
    all.extend(analytics);
    progress.done();
    print_plan(&all, dry);
    let checks = print_chat_checks(&bot, &wanted.chats).await?;

    let url = api.as_ref().and_then(apigw::webhook_url);
    if dry {
        let agrees = match (&url, crate::webhook::secrets(&ctx.lambda, stack).await?) {
            (Some(url), Some(secrets)) => {
                let info = bot.get_webhook_info().await?;
                info.url == *url
                    && secrets.telegram_has_current()
                    && !secrets.rotating()
                    && crate::webhook::allowed_updates_agree(&info)
            }
            _ => false,
        };
        println!(
            "  {:<9} {:<17} {}",
            if agrees { "unchanged" } else { "set" },
            "telegram webhook",
            url.as_deref().unwrap_or("(the new API)")
        );
        println!("Dry run: nothing was changed.");
        return Ok(0);
    }
    let url = url.context("the HTTP API has no endpoint URL")?;
    let converged = crate::webhook::converge(&bot, &ctx.lambda, stack, &url, false).await?;
    if converged.set {
        println!("  set       telegram webhook  {url}");
    } else {
        println!("  unchanged telegram webhook  {url}");
    }
    if converged.rotation_finished {
        println!("  finished  secret rotation   (the old secret is no longer accepted)");
    }
    if all.iter().all(|r| r.state == State::Present)
        && !converged.set
        && !converged.rotation_finished
        && wanted.migrated.is_empty()
    {
        println!("Everything is up to date: no changes made.");
    }
    if checks.iter().any(|c| c.problem.is_some()) {
        println!(
            "\nWARNING: the bot cannot read every message of the chats marked above; their messages are not kept until that is fixed."
        );
    }
    println!("\nAPI URL:    {url}");
    println!(
        "Buckets:    {} (raw), {} (enriched), {} (athena)",
        stack.raw_bucket(),
        stack.enriched_bucket(),
        stack.athena_bucket()
    );
    println!(
        "Functions:  {}, {}",
        stack.function(Function::Ingest),
        stack.function(Function::Etl)
    );
    println!(
        "Workgroup:  {} (database {}, table {})",
        stack.workgroup(),
        stack.glue_database(),
        stack.table()
    );
    Ok(0)
}

async fn down(global: &Global, delete_data: bool) -> anyhow::Result<i32> {
    let bot = telegram(global)?;
    let ctx = connect(global).await?;
    let stack = &ctx.stack;
    eprintln!(
        "Removing stack {} from account {} ({})",
        stack.name, stack.account, stack.region
    );
    // What bears the stack's names without its tag is not the stack's: it stays.
    let foreign = foreign(&ctx).await?;
    match &bot {
        Some(bot) => {
            // Only a webhook that points at this stack's API is removed.
            let api = apigw::find(&ctx.api, stack).await?;
            let info = bot.get_webhook_info().await?;
            if api
                .as_ref()
                .and_then(apigw::webhook_url)
                .is_some_and(|u| u == info.url)
            {
                bot.delete_webhook().await?;
                println!("  deleted   telegram webhook");
            } else {
                println!("  skipped   telegram webhook (it does not point at this stack)");
            }
        }
        None => println!(
            "  skipped   telegram webhook: no bot token (--bot-token or TGPIPE_BOT_TOKEN); it may still point at the removed API"
        ),
    }
    let label = |kind: &'static str, list: Vec<(String, &'static str)>| {
        list.into_iter().map(move |(name, what)| (kind, name, what))
    };
    let mut done: Vec<(&str, String, &str)> = Vec::new();
    done.extend(label(
        "eventbridge rule",
        vec![events::destroy(&ctx.events, stack, &foreign).await?],
    ));
    done.extend(label(
        "http api",
        vec![apigw::destroy(&ctx.api, stack).await?],
    ));
    done.extend(label(
        "lambda function",
        lambda::destroy(&ctx.lambda, stack, &foreign).await?,
    ));
    done.extend(label(
        "log group",
        lambda::logs::destroy(&ctx.logs, stack, &foreign).await?,
    ));
    done.extend(label("iam role", iam::destroy(&ctx.iam, stack).await?));
    done.extend(label(
        "athena/glue",
        athena::destroy(&ctx.athena, &ctx.glue, stack, &foreign).await?,
    ));
    for (kind, name, what) in &done {
        println!("  {what:<13} {kind:<17} {name}");
    }
    let mut kept = Vec::new();
    for (bucket, removal) in s3::destroy(&ctx.s3, stack, delete_data, &foreign).await? {
        match removal {
            s3::Removal::Deleted => println!("  deleted       s3 bucket         {bucket}"),
            s3::Removal::AlreadyGone => println!("  already gone  s3 bucket         {bucket}"),
            s3::Removal::NotOurs => {
                println!("  kept          s3 bucket         {bucket} (not this stack's)")
            }
            s3::Removal::KeptWithData => {
                println!("  kept          s3 bucket         {bucket} (holds data)");
                kept.push(bucket);
            }
        }
    }
    if !kept.is_empty() {
        println!(
            "\nKept {} bucket(s) with your data; `tgpipe down --delete-data` deletes them and every object in them.",
            kept.len()
        );
    }
    Ok(0)
}

#[derive(Serialize)]
struct StatusReport {
    stack: String,
    account: String,
    region: String,
    resources: Vec<Resource>,
    webhook: Option<WebhookStatus>,
    webhook_skipped: Option<String>,
    /// The kept chats as the bot sees them (with a token).
    chats: Vec<crate::webhook::ChatCheck>,
    newest_raw_object: Option<String>,
    newest_enriched_day: Option<String>,
    #[serde(flatten)]
    data: Option<crate::health::DataHealth>,
    /// Everything found wrong, one sentence each.
    problems: Vec<String>,
    healthy: bool,
}

#[derive(Serialize)]
struct WebhookStatus {
    #[serde(flatten)]
    info: WebhookInfo,
    points_at_api: bool,
    /// Delivery errors of the last day, updates piling up, secrets out of step.
    problems: Vec<String>,
}

async fn status(global: &Global, output: Output) -> anyhow::Result<i32> {
    let bot = telegram(global)?;
    let ctx = connect(global).await?;
    let stack = &ctx.stack;
    let now = chrono::Utc::now();
    let mut resources = s3::inspect(&ctx.s3, stack).await?;
    resources.extend(iam::inspect(&ctx.iam, stack).await?);
    resources.extend(lambda::logs::inspect(&ctx.logs, stack).await?);
    resources.extend(function_status(&ctx).await?);
    let (api, api_found) = apigw::inspect(&ctx.api, &ctx.lambda, stack).await?;
    resources.push(api);
    // The schedule is what was deployed (`up --schedule`), never compared with the default.
    resources.push(events::inspect(&ctx.events, &ctx.lambda, stack, None).await?);
    resources.extend(athena::inspect(&ctx.athena, &ctx.glue, stack).await?);
    let mut problems: Vec<String> = resources
        .iter()
        .filter(|r| !r.state.is_ok())
        .map(|r| format!("{} {} is not as deployed", r.kind, r.name))
        .collect();
    let (newest_raw, newest_enriched_day) = crate::health::freshness(&ctx.s3, stack).await?;
    let url = api_found.as_ref().and_then(apigw::webhook_url);
    let secrets = crate::webhook::secrets(&ctx.lambda, stack).await?;
    let chats: Vec<i64> = function_variable(&ctx, Function::Ingest, lake::env::ALLOWED_CHAT_IDS)
        .await?
        .and_then(|c| ingest::parse_chat_ids(&c).ok())
        .map(|c| c.into_iter().collect())
        .unwrap_or_default();
    let (webhook, webhook_skipped, chat_checks) = match &bot {
        Some(bot) => {
            let info = bot.get_webhook_info().await?;
            let points_at_api = url.as_deref() == Some(info.url.as_str());
            let mut wrong =
                crate::health::webhook_problems(&info, newest_raw.as_ref().map(|n| n.1), now);
            if let Some(secrets) = &secrets {
                if secrets.rotating() {
                    wrong.push("a secret rotation was not finished: run `tgpipe set-webhook`".to_owned());
                } else if !secrets.telegram_has_current() {
                    wrong.push("Telegram may hold another secret than the ingest function, which would refuse every delivery: run `tgpipe set-webhook`".to_owned());
                }
            }
            if !crate::webhook::allowed_updates_agree(&info) && points_at_api {
                wrong.push("Telegram sends other update kinds than the stack keeps: run `tgpipe up`".to_owned());
            }
            if !points_at_api {
                problems.push("the webhook does not point at this stack's API".to_owned());
            }
            problems.extend(wrong.iter().cloned());
            let me = bot.me().await?;
            let checks = crate::webhook::check_chats(bot, &me, &chats).await?;
            problems.extend(
                checks
                    .iter()
                    .filter_map(|c| c.problem.as_ref().map(|p| format!("chat {}: {p}", c.label()))),
            );
            (
                Some(WebhookStatus {
                    info,
                    points_at_api,
                    problems: wrong,
                }),
                None,
                checks,
            )
        }
        None => (
            None,
            Some(
                "no bot token (--bot-token or TGPIPE_BOT_TOKEN): the webhook and the chats were not checked"
                    .to_owned(),
            ),
            Vec::new(),
        ),
    };
    let data = if resources
        .iter()
        .any(|r| r.name == stack.raw_bucket() && r.state != State::Missing)
    {
        let zone = stack_time_zone(&ctx).await?;
        let data = crate::health::data_health(&ctx.s3, stack, zone, now).await?;
        if data.quarantined > 0 {
            problems.push(format!(
                "{} bodies Telegram sent were not updates and are kept under quarantine/ in the raw bucket",
                data.quarantined
            ));
        }
        Some(data)
    } else {
        None
    };
    let report = StatusReport {
        stack: stack.name.to_string(),
        account: stack.account.clone(),
        region: stack.region.clone(),
        resources,
        webhook,
        webhook_skipped,
        chats: chat_checks,
        newest_raw_object: newest_raw.map(|(k, t)| format!("{k} at {}", t.to_rfc3339())),
        newest_enriched_day: newest_enriched_day.map(|d| d.to_string()),
        data,
        healthy: problems.is_empty(),
        problems,
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => print_status(&report),
    }
    Ok(if report.healthy { 0 } else { 1 })
}

/// The functions as deployed: present or missing, with drift in what `up` would not know
/// without the artifacts (the code is not compared here).
async fn function_status(ctx: &Ctx) -> anyhow::Result<Vec<Resource>> {
    let mut out = Vec::new();
    for f in Function::ALL {
        let name = ctx.stack.function(f);
        let state = match ctx
            .lambda
            .get_function_configuration()
            .function_name(&name)
            .send()
            .await
        {
            Ok(c) => {
                let vars = c
                    .environment()
                    .and_then(|e| e.variables())
                    .cloned()
                    .unwrap_or_default();
                let wanted = match f {
                    Function::Ingest => vec![
                        lake::env::RAW_BUCKET,
                        lake::env::TIMEZONE,
                        lake::env::ALLOWED_CHAT_IDS,
                        lake::env::WEBHOOK_SECRET,
                    ],
                    Function::Etl => vec![
                        lake::env::RAW_BUCKET,
                        lake::env::TIMEZONE,
                        lake::env::ENRICHED_BUCKET,
                    ],
                };
                let missing: Vec<&str> = wanted
                    .into_iter()
                    .filter(|k| !vars.contains_key(*k))
                    .collect();
                let raw_ok = vars.get(lake::env::RAW_BUCKET) == Some(&ctx.stack.raw_bucket());
                let mut drift = Vec::new();
                if !missing.is_empty() || !raw_ok {
                    drift.push(format!(
                        "environment differs ({})",
                        if missing.is_empty() {
                            lake::env::RAW_BUCKET.to_owned()
                        } else {
                            missing.join(", ")
                        }
                    ));
                }
                if f == Function::Etl {
                    // Overlapping runs could leave an update out: how runs are kept apart.
                    drift.extend(lambda::run_drift(&ctx.lambda, &name).await?);
                }
                if drift.is_empty() {
                    State::Present
                } else {
                    State::Drifted(drift)
                }
            }
            Err(e)
                if aws_sdk_lambda::error::ProvideErrorMetadata::code(&e)
                    == Some("ResourceNotFoundException") =>
            {
                State::Missing
            }
            Err(e) => return Err(e).aws(format!("Lambda GetFunctionConfiguration {name}")),
        };
        out.push(Resource {
            kind: "lambda function",
            name,
            state,
        });
    }
    Ok(out)
}

fn print_status(r: &StatusReport) {
    println!("Stack {} in account {} ({})", r.stack, r.account, r.region);
    for res in &r.resources {
        let (word, details) = match &res.state {
            State::Present => ("ok", String::new()),
            State::Missing => ("MISSING", String::new()),
            State::Drifted(d) => ("DRIFTED", format!(" ({})", d.join("; "))),
        };
        println!("  {word:<8} {:<17} {}{details}", res.kind, res.name);
    }
    match (&r.webhook, &r.webhook_skipped) {
        (Some(w), _) => {
            println!(
                "  {:<8} {:<17} {}",
                if w.points_at_api { "ok" } else { "WRONG" },
                "telegram webhook",
                if w.info.url.is_empty() {
                    "(none set)"
                } else {
                    w.info.url.as_str()
                }
            );
            println!(
                "           pending updates: {}",
                w.info.pending_update_count
            );
            if let Some(msg) = &w.info.last_error_message {
                let when = w
                    .info
                    .last_error_date
                    .and_then(|d| chrono::DateTime::from_timestamp(d, 0))
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default();
                println!("           last error: {msg} ({when})");
            }
            for p in &w.problems {
                println!("           PROBLEM: {p}");
            }
        }
        (None, Some(why)) => println!("  skipped  telegram webhook: {why}"),
        (None, None) => {}
    }
    for c in &r.chats {
        let word = if c.problem.is_some() { "WARNING" } else { "ok" };
        println!("  {word:<8} {:<17} {}", "telegram chat", c.label());
        if let Some(p) = &c.problem {
            println!("           {p}");
        }
    }
    println!(
        "  newest raw object:   {}",
        r.newest_raw_object.as_deref().unwrap_or("none yet")
    );
    println!(
        "  newest enriched day: {}",
        r.newest_enriched_day.as_deref().unwrap_or("none yet")
    );
    if let Some(d) = &r.data {
        if !d.stale_days.is_empty() {
            let days: Vec<String> = d.stale_days.iter().map(|d| d.to_string()).collect();
            println!(
                "  raw newer than Parquet (the next ETL run rebuilds them): {}",
                days.join(", ")
            );
        }
        println!("  quarantined bodies:  {}", d.quarantined);
        for m in &d.migrations {
            println!(
                "  chat {} became the supergroup {}{}; its updates are kept",
                m.from,
                m.to,
                m.seen
                    .map(|t| format!(" (seen {})", t.to_rfc3339()))
                    .unwrap_or_default()
            );
        }
    }
    if r.healthy {
        println!("All is well.");
    } else {
        for p in &r.problems {
            println!("PROBLEM: {p}");
        }
        println!("Something is wrong: `tgpipe up` repairs the stack.");
    }
}

async fn set_webhook(global: &Global, rotate_secret: bool) -> anyhow::Result<i32> {
    let bot = required_telegram(global)?;
    bot.get_me().await?;
    let ctx = connect(global).await?;
    let stack = &ctx.stack;
    let api = apigw::find(&ctx.api, stack).await?.with_context(|| {
        format!(
            "stack {} has no HTTP API: run `tgpipe up` first",
            stack.name
        )
    })?;
    let url = apigw::webhook_url(&api).context("the HTTP API has no endpoint URL")?;
    if crate::webhook::secrets(&ctx.lambda, stack).await?.is_none() {
        bail!(
            "stack {} has no ingest function ({}): run `tgpipe up` first",
            stack.name,
            stack.function(Function::Ingest)
        );
    }
    if rotate_secret {
        // The function takes the new secret beside the old, Telegram is told, the old goes.
        crate::webhook::rotate(&bot, &ctx.lambda, stack, &url).await?;
        println!("  rotated   webhook secret");
    } else {
        let converged = crate::webhook::converge(&bot, &ctx.lambda, stack, &url, true).await?;
        if converged.rotation_finished {
            println!("  finished  secret rotation   (the old secret is no longer accepted)");
        }
    }
    println!("  set       telegram webhook  {url}");
    let chats = function_variable(&ctx, Function::Ingest, lake::env::ALLOWED_CHAT_IDS)
        .await?
        .and_then(|c| ingest::parse_chat_ids(&c).ok())
        .unwrap_or_default();
    print_chat_checks(&bot, &chats.into_iter().collect::<Vec<_>>()).await?;
    Ok(0)
}

async fn query(global: &Global, args: QueryArgs) -> anyhow::Result<i32> {
    use std::io::{IsTerminal, Write};
    if args.list {
        let width = crate::query::ANALYSES
            .iter()
            .map(|a| a.name.len())
            .max()
            .unwrap_or(0);
        for a in crate::query::ANALYSES {
            println!("{:<width$}  {}", a.name, a.summary());
        }
        return Ok(0);
    }
    let sql = match (&args.analysis, &args.file, &args.sql) {
        (Some(name), _, _) => crate::query::find(name)
            .map_err(anyhow::Error::msg)?
            .sql
            .to_owned(),
        (_, Some(path), _) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the SQL file {}", path.display()))?,
        (_, _, Some(sql)) => sql.clone(),
        _ => bail!("say what to run: an analysis name, --file PATH, --sql \"…\" or --list"),
    };
    let zone = args
        .timezone
        .as_deref()
        .map(lake::day::parse_time_zone)
        .transpose()?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Csv
    });
    let print = |answer: &Answer| -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(answer.render(format).as_bytes())
            .and_then(|_| out.flush())
            .context("cannot write the results to standard output")
    };
    let rows = |n: usize| {
        if n == 1 {
            "1 row".to_owned()
        } else {
            format!("{n} rows")
        }
    };

    if let Some(dir) = &args.local {
        let sql = crate::query::bind(&sql, zone.unwrap_or(chrono_tz::UTC));
        // Timed from opening the lake to the answer in memory, as DuckDB's `.timer` would.
        let started = std::time::Instant::now();
        let ctx = crate::query::local::open(dir).await?;
        let answer = crate::query::local::run(&ctx, &sql).await?;
        let took = started.elapsed();
        print(&answer)?;
        eprintln!("{} in {:.3} s", rows(answer.rows.len()), took.as_secs_f64());
        return Ok(0);
    }

    let ctx = connect(global).await?;
    let zone = match zone {
        Some(zone) => zone,
        None => stack_time_zone(&ctx).await?,
    };
    let sql = crate::query::bind(&sql, zone);
    let progress = Progress::new();
    let outcome =
        crate::query::athena::run(&ctx.athena, &ctx.stack, &sql, &|s| progress.step(s)).await?;
    progress.done();
    match outcome {
        crate::query::athena::Outcome::Cancelled(id) => {
            eprintln!("stopped: the query {id} was cancelled on Athena");
            Ok(130)
        }
        crate::query::athena::Outcome::Finished(done) => {
            print(&done.answer)?;
            eprintln!(
                "{} · scanned {} · cost ${:.6} at ${}/TB (query {})",
                rows(done.answer.rows.len()),
                human_bytes(done.scanned_bytes),
                crate::query::athena::cost_usd(done.scanned_bytes),
                crate::query::athena::USD_PER_TB,
                done.execution_id
            );
            Ok(0)
        }
    }
}

/// The time zone the stack's ETL files days by (and so the analyses' hours and weekdays).
/// Without the function, UTC: the workgroup check that follows says what is missing.
async fn stack_time_zone(ctx: &Ctx) -> anyhow::Result<lake::day::TimeZone> {
    let zone = function_variable(ctx, Function::Etl, lake::env::TIMEZONE).await?;
    Ok(lake::day::parse_time_zone(zone.as_deref().unwrap_or(""))?)
}

fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
