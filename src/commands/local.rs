//! `tgpipe local`: the pipeline on this machine, no AWS account. `poll` keeps a bot's updates as
//! the ingest Lambda would, `etl` turns them into Parquet as the ETL Lambda does, `demo` runs it
//! all on made-up updates.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::ExitStatus;
use super::args::{BotArgs, Global};
use crate::query::output::Format;
use crate::ui::{Output, Printer, etl_answer, print_etl};

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
#[command(after_help = "Examples:
  tgpipe local demo
  tgpipe local demo /tmp/demo --days 7 --per-day 500")]
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
#[command(after_help = "Examples:
  tgpipe local poll data --chat-id -1001234567890           # until Ctrl-C
  tgpipe local poll data --chat-id -1001234567890 --once    # what waits now, then stop")]
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
    #[command(flatten)]
    pub bot: BotArgs,
    /// Remove the bot's webhook first (Telegram gives no updates to polling while one is set).
    #[arg(long)]
    pub delete_webhook: bool,
}

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe local etl data                     # every day newer than its Parquet
  tgpipe local etl data --date 2024-05-01   # rebuild one day")]
pub struct LocalEtlArgs {
    /// The data directory that `tgpipe local poll` fills.
    pub dir: PathBuf,
    /// Rebuild this day (YYYY-MM-DD, repeatable); default: every day with updates newer than
    /// its Parquet.
    #[arg(long = "date", value_name = "YYYY-MM-DD", value_parser = super::args::parse_date)]
    pub dates: Vec<chrono::NaiveDate>,
    /// `json`: each day's summary as JSON on stdout (as the ETL Lambda answers).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

pub async fn run(global: &Global, command: LocalCommand) -> anyhow::Result<ExitStatus> {
    match command {
        LocalCommand::Poll(args) => poll(global, args).await,
        LocalCommand::Etl(args) => etl(args).await,
        LocalCommand::Demo(args) => demo(args).await,
    }
}

async fn poll(global: &Global, args: PollArgs) -> anyhow::Result<ExitStatus> {
    let tz = lake::day::parse_time_zone(&args.timezone)?;
    let bot = args.bot.required(global.verbose)?;
    let bot_name = bot.get_me().await?;
    let printer = Printer::new(Output::Text);
    // A bot in privacy mode gets commands only: say so before polling nothing for hours.
    let me = bot.me().await?;
    for c in crate::webhook::check_chats(&bot, &me, &args.chat_ids).await? {
        if let Some(problem) = &c.problem {
            printer.note(format_args!("WARNING: chat {}: {problem}", c.label()));
        }
    }
    let (raw, _) = crate::local::stores(&args.dir)?;
    let sink = crate::local::sink(raw, &args.chat_ids, tz);
    let raw_dir = args.dir.join(lake::layout::RAW_STORE);
    printer.note(format_args!(
        "Polling @{bot_name} into {}{}",
        raw_dir.display(),
        if args.once { "" } else { " (Ctrl-C stops)" }
    ));
    let stop = async {
        // Without a handler for Ctrl-C there is nothing to wait for: poll until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let named = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let report = crate::local::poll(
        &bot,
        &sink,
        args.delete_webhook,
        args.once,
        stop,
        &|event| match event {
            crate::local::PollEvent::Batch(batch) => {
                printer.note(format_args!(
                    "  kept {}, ignored {} (other chats){}",
                    batch.kept,
                    batch.ignored,
                    if batch.unreadable > 0 {
                        format!(", {} unreadable", batch.unreadable)
                    } else {
                        String::new()
                    }
                ));
                // Each chat not kept is named once: its id is what --chat-id would take.
                let mut named = named.borrow_mut();
                for (id, title) in &batch.ignored_chats {
                    if named.insert(*id) {
                        let title = title
                            .as_deref()
                            .map(|t| format!(" ({t})"))
                            .unwrap_or_default();
                        printer.note(format_args!(
                            "  not kept: chat {id}{title}; add --chat-id {id} to keep it"
                        ));
                    }
                }
            }
            crate::local::PollEvent::Retry { error, delay } => {
                printer.note(format_args!("  {error}; retrying in {} s", delay.as_secs()))
            }
        },
    )
    .await?;
    printer.note(format_args!(
        "Kept {} update{} in {}; ignored {} from other chats. Next: tgpipe local etl {}",
        report.kept,
        if report.kept == 1 { "" } else { "s" },
        raw_dir.display(),
        report.ignored,
        args.dir.display()
    ));
    Ok(ExitStatus::Success)
}

async fn etl(args: LocalEtlArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    etl_answer(printer, crate::local::etl(&args.dir, &args.dates).await?)
}

async fn demo(args: DemoArgs) -> anyhow::Result<ExitStatus> {
    let dir = &args.dir;
    let printer = Printer::new(Output::Text);
    let updates = crate::demo::updates(args.days, args.per_day);
    printer.line(format_args!(
        "1. Made {} updates of a demo group over {} days (no bot, no AWS account needed).",
        updates.len(),
        args.days
    ));
    let (raw, _) = crate::local::stores(dir)?;
    let sink = crate::local::sink(raw, &[crate::demo::GROUP_ID], chrono_tz::UTC);
    let kept = crate::local::keep_all(&sink, &updates).await?;
    printer.line(format_args!(
        "2. Kept {} in {} as the ingest Lambda stores them; ignored {} of chats not kept.",
        kept.kept,
        dir.join(lake::layout::RAW_STORE).display(),
        kept.ignored
    ));
    let first = lake::layout::parse_day(crate::demo::START).context("the demo's first day")?;
    let days: Vec<chrono::NaiveDate> = first.iter_days().take(args.days as usize).collect();
    let summary = crate::local::etl(dir, &days)
        .await?
        .context("the demo made no days")?;
    printer.line(format_args!(
        "3. Turned them into Parquet under {}, as the ETL Lambda does:",
        dir.join(lake::layout::ENRICHED_STORE).display()
    ));
    print_etl(printer, &summary);
    let summary = summary.into_result()?;
    let ctx = crate::query::local::open(dir).await?;
    for (name, shown) in [("messages_per_day", usize::MAX), ("top_words", 5)] {
        let analysis = crate::query::find(name).map_err(anyhow::Error::msg)?;
        let sql = crate::query::bind(analysis.sql, chrono_tz::UTC);
        let mut answer = crate::query::local::run(&ctx, &sql).await?;
        let total = answer.rows.len();
        answer.rows.truncate(shown);
        printer.line(format_args!(
            "\n$ tgpipe query {name} --local {}",
            dir.display()
        ));
        printer.result(answer.render(Format::Table).as_bytes())?;
        if total > shown {
            printer.line(format_args!("… ({total} rows)"));
        }
    }
    let page = dir.join("report.html");
    let lake = crate::lakes::Lake::Local(dir.to_owned());
    let scope = crate::query::Scope::default();
    let crate::query::athena::Outcome::Finished((answers, _)) =
        crate::report::answers(&lake, &scope, chrono_tz::UTC, &|_| {}).await?
    else {
        anyhow::bail!("the demo's queries were stopped");
    };
    let about = crate::report::About::now(
        &scope,
        chrono_tz::UTC,
        lake.source(),
        format!("tgpipe query NAME --local {}", dir.display()),
    );
    let report = crate::report::Report::from_answers(&answers, about)?;
    crate::report::write_atomically(&page, crate::report::html::render(&report).as_bytes())?;
    printer.line(format_args!(
        "\n4. Wrote the charts of every analysis to {} (open it in a browser; it needs no network).",
        page.display()
    ));
    printer.line(format_args!(
        "\n{} messages over {} days. Next: `tgpipe query --list`, then `tgpipe query NAME --local {}`;",
        summary.days.iter().map(|d| d.rows_written).sum::<usize>(),
        summary.days.len(),
        dir.display()
    ));
    printer.line(format_args!(
        "with a bot of your own, `tgpipe local poll DIR --chat-id ID` and `tgpipe local etl DIR`."
    ));
    Ok(ExitStatus::Success)
}
