//! `tgpipe up`: create what is missing, update what differs, then point the bot's webhook at the
//! API. With `--dry-run`, the same plan is inspected and shown, and nothing changes.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

mod wanted;

use self::wanted::{Wanted, chat_ids, desired, wanted};
use super::ExitStatus;
use super::args::{AwsArgs, BotArgs, Global};
use crate::connection::Ctx;
use crate::plan::State;
use crate::stack::lambda::Artifacts;
use crate::stack::{Applied, Desired, Events, Function, Stack, StackName, StackRead};
use crate::telegram::{ChatName, Telegram};
use crate::ui::{
    Output, Printer, Progress, StackId, plan_line, print_chat_checks, print_plan, status_line,
};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe up --chat-id -1001234567890 --region eu-west-1   # the first time
  tgpipe up --dry-run                                     # what would change (exit 3 if anything)
  tgpipe up --schedule \"cron(0 3 * * ? *)\"                # change only the schedule
  tgpipe up --alert-email you@example.com                 # alarms mail you when something breaks")]
pub struct UpArgs {
    /// A chat whose updates are kept (repeatable): its id, e.g. -1001234567890 (`tgpipe chats`
    /// lists them), or a public group's @username; default: the deployed chats (required the
    /// first time).
    #[arg(long = "chat-id", allow_hyphen_values = true)]
    pub chat_ids: Vec<ChatName>,
    /// IANA time zone of the daily partitions; default: the deployed one, UTC the first time.
    #[arg(long)]
    pub timezone: Option<String>,
    /// Directory holding ingest/bootstrap.zip and etl/bootstrap.zip; default: the zips built
    /// into this binary (scripts/release), else target/lambda.
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// When the ETL runs (an EventBridge schedule expression); default: the deployed one,
    /// `cron(30 0 * * ? *)` the first time.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Where the stack's alarms send word: an e-mail address (AWS mails it a link to confirm
    /// once), or `none` to remove the alerts; default: the deployed one, none the first time.
    #[arg(long, value_name = "ADDRESS")]
    pub alert_email: Option<String>,
    /// Hours a kept chat may go without a stored update before an alert (1–168); default: the
    /// deployed value, 48 the first time.
    #[arg(long, value_name = "HOURS", value_parser = clap::value_parser!(u32).range(1..=168))]
    pub alert_silence_hours: Option<u32>,
    /// Show what would be created or updated, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm a change that re-files data (a new --timezone on a stack that holds updates), or
    /// taking over a webhook that points elsewhere (another app's, another stack's).
    #[arg(long)]
    pub yes: bool,
    /// `json`: the plan and what was done, as one JSON document on stdout (lines go to stderr).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub bot: BotArgs,
}

/// `up --output json`: the plan (or what was done), the chats and the webhook.
#[derive(serde::Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    at: StackId<'a>,
    dry_run: bool,
    /// Each resource with what was (would be) done to it: create, update (details), unchanged.
    resources: Vec<Step<'a>>,
    /// Kept groups that became supergroups, whose new ids are kept too.
    migrated: Vec<Migrated>,
    chats: &'a [crate::webhook::ChatCheck],
    webhook_url: Option<&'a str>,
    /// Whether `setWebhook` was (with --dry-run: would be) called.
    webhook_set: bool,
    secret_rotation_finished: bool,
    /// Whether anything was (would be) changed.
    changed: bool,
}

/// A kept group that became a supergroup: `from`'s updates go on under `to`.
#[derive(serde::Serialize)]
struct Migrated {
    from: i64,
    to: i64,
}

#[derive(serde::Serialize)]
struct Step<'a> {
    kind: crate::plan::Kind,
    name: &'a str,
    #[serde(flatten)]
    action: crate::plan::Action,
}

pub async fn run(global: &Global, args: UpArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    check_flags(global, &args)?;
    let bot = args.bot.required(global.verbose)?;
    // Telegram and AWS are asked side by side: the bot and its chats, the account.
    let ((bot_name, given), ctx) = tokio::try_join!(
        async {
            anyhow::Ok((
                bot.get_me().await?,
                chat_ids(printer, &bot, &args.chat_ids).await?,
            ))
        },
        args.aws.connect(global),
    )?;
    let stack = &ctx.stack;
    let artifacts = Artifacts::choose(args.artifacts.clone());
    // Nothing that bears the stack's names without its tag is touched, let alone adopted: the
    // whole stack is read once (what exists, whose it is, how it is set), and its owners
    // checked before any change or question.
    let raw = ctx.raw()?;
    let (read, migrations) = tokio::try_join!(ctx.read(), crate::health::migrations(&raw))?;
    read.ensure_all_ours(stack)?;
    let ours = read.outputs().webhook_url;
    let replaced = crate::webhook::takeover(
        &bot,
        &ctx.aws.api,
        stack,
        ours.as_deref(),
        args.yes,
        args.dry_run,
    )
    .await?;
    let wanted = wanted(&ctx, &args, given, read, migrations).await?;
    let desired = desired(&ctx, &artifacts, &wanted).await?;
    // A question answered on a terminal (the zone, the webhook) took time, and the stack may have
    // changed meanwhile: what is applied is read anew.
    let again;
    let read = if wanted.asked || (replaced.is_some() && !args.yes && !args.dry_run) {
        again = crate::stack::read(&ctx.aws, stack).await?;
        again.ensure_all_ours(stack)?;
        &again
    } else {
        read
    };
    say_what_and_where(printer, &args, stack, &bot_name, &artifacts, &wanted);
    let Applied { before, outputs } = if args.dry_run {
        let plan = Applied {
            before: read.states(stack, Some(&desired)),
            outputs: read.outputs(),
        };
        print_plan(printer, &plan.before);
        plan
    } else {
        apply(printer, &ctx, &desired, read).await?
    };
    if let Some(other) = &replaced {
        printer.line(status_line(
            "replace",
            "telegram webhook",
            format_args!("{other} (pointed elsewhere)"),
        ));
    }
    let checks = print_chat_checks(printer, &bot, &wanted.chats).await?;
    let url = outputs.webhook_url;
    let done = Done {
        stack,
        dry_run: args.dry_run,
        resources: &before,
        migrated: &wanted.migrated,
        checks: &checks,
        url: url.as_deref(),
    };
    if args.dry_run {
        finish_dry_run(printer, &ctx, &bot, &done).await
    } else {
        finish(printer, &ctx, &bot, &done).await
    }
}

/// Everything that can be checked before touching AWS is checked first.
fn check_flags(global: &Global, args: &UpArgs) -> anyhow::Result<()> {
    StackName::parse(&global.name)?;
    if let Some(zone) = &args.timezone {
        lake::day::parse_time_zone(zone)?;
    }
    if let Some(email) = &args.alert_email {
        crate::stack::Alerts::parse_email(email)?;
    }
    if let Some(schedule) = &args.schedule {
        crate::stack::events::check(schedule).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// What `up` is about to do, where, with which code; the chats it keeps because they moved.
fn say_what_and_where(
    printer: Printer,
    args: &UpArgs,
    stack: &Stack,
    bot_name: &str,
    artifacts: &Artifacts,
    wanted: &Wanted,
) {
    printer.note(format_args!(
        "{} stack {} in account {} ({}) for @{bot_name}; Lambda code {}",
        if args.dry_run {
            "Planning"
        } else {
            "Deploying"
        },
        stack.name,
        stack.account,
        stack.region,
        match artifacts {
            Artifacts::Embedded => artifacts.to_string(),
            Artifacts::Dir(_) => format!("from {artifacts}"),
        }
    ));
    for (from, to) in &wanted.migrated {
        printer.line(format_args!(
            "  chat {from} became the supergroup {to}: keeping {to} too"
        ));
    }
}

/// Applies the stack, each resource's line as soon as it is as it should be; returns each
/// resource's state before, and where the webhook goes.
async fn apply(
    printer: Printer,
    ctx: &Ctx,
    desired: &Desired,
    read: &StackRead,
) -> anyhow::Result<Applied> {
    let progress = Progress::start(printer);
    let events = Events {
        step: &|s| progress.step(s),
        note: &|l| progress.note(l),
        applied: &|done, took| {
            for r in done {
                progress.line(plan_line(r, false, Some(took)));
            }
        },
    };
    let applied = crate::stack::apply_all(&ctx.aws, &ctx.stack, desired, read, &events).await?;
    progress.done();
    Ok(applied)
}

/// What `up` found (with `--dry-run`) or did, before the webhook.
struct Done<'a> {
    stack: &'a Stack,
    dry_run: bool,
    resources: &'a [crate::plan::Resource],
    migrated: &'a [(i64, i64)],
    checks: &'a [crate::webhook::ChatCheck],
    url: Option<&'a str>,
}

impl<'a> Done<'a> {
    /// Whether nothing of the stack was (would be) changed.
    fn unchanged(&self) -> bool {
        self.resources.iter().all(|r| r.state == State::Present) && self.migrated.is_empty()
    }

    fn report(&self, webhook_set: bool, rotation_finished: bool) -> Report<'a> {
        Report {
            at: StackId::from(self.stack),
            dry_run: self.dry_run,
            resources: self
                .resources
                .iter()
                .map(|r| Step {
                    kind: r.kind,
                    name: &r.name,
                    action: crate::plan::Action::from(&r.state),
                })
                .collect(),
            migrated: self
                .migrated
                .iter()
                .map(|&(from, to)| Migrated { from, to })
                .collect(),
            chats: self.checks,
            webhook_url: self.url,
            webhook_set,
            secret_rotation_finished: rotation_finished,
            changed: !self.unchanged() || webhook_set || rotation_finished,
        }
    }
}

/// `--dry-run`'s end: whether the webhook would be set, and whether anything would change.
async fn finish_dry_run(
    printer: Printer,
    ctx: &Ctx,
    bot: &Telegram,
    done: &Done<'_>,
) -> anyhow::Result<ExitStatus> {
    let webhook_agrees = print_webhook_plan(printer, ctx, bot, done.url).await?;
    printer.json(&done.report(!webhook_agrees, false))?;
    if webhook_agrees && done.unchanged() {
        printer
            .line("Dry run: nothing was changed. Nothing would be: the stack is as it should be.");
        return Ok(ExitStatus::Success);
    }
    printer.line("Dry run: nothing was changed. `tgpipe up` would make the changes above.");
    Ok(ExitStatus::NotAsItShouldBe)
}

/// The end of `up`: Telegram told where to deliver (and the secret), then where everything is.
async fn finish(
    printer: Printer,
    ctx: &Ctx,
    bot: &Telegram,
    done: &Done<'_>,
) -> anyhow::Result<ExitStatus> {
    let url = done.url.context("the HTTP API has no endpoint URL")?;
    // Read again just before Telegram is told: an `up` run at the same moment may have made
    // another API the stack's, whose permission this run did not set.
    let current = crate::stack::apigw::find(&ctx.aws.api, &ctx.stack).await?;
    let Some(api) = current.filter(|a| crate::stack::apigw::webhook_url(a).as_deref() == Some(url))
    else {
        bail!(
            "the stack's HTTP API changed while `up` ran (another `up` at the same time?): run `tgpipe up` again"
        );
    };
    let converged = crate::webhook::converge(bot, &ctx.aws.lambda, &ctx.stack, url, false).await?;
    // Only now that Telegram delivers here do other APIs of the stack (two `up`s at once) go.
    crate::stack::apigw::remove_others(&ctx.aws.api, &ctx.stack, api.api_id().unwrap_or_default())
        .await?;
    let word = if converged.set { "set" } else { "unchanged" };
    printer.line(status_line(word, "telegram webhook", url));
    if converged.rotation_finished {
        printer.line(status_line(
            "finished",
            "secret rotation",
            "(the old secret is no longer accepted)",
        ));
    }
    if done.unchanged() && !converged.set && !converged.rotation_finished {
        printer.line("Everything is up to date: no changes made.");
    }
    if done.checks.iter().any(|c| c.problem.is_some()) {
        printer.line(format_args!(
            "\nWARNING: the bot cannot read every message of the chats marked above; their messages are not kept until that is fixed."
        ));
    }
    print_deployed(printer, &ctx.stack, url);
    printer.json(&done.report(converged.set, converged.rotation_finished))?;
    Ok(ExitStatus::Success)
}

/// `--dry-run`: whether `up` would call `setWebhook`; `true` when it would not.
async fn print_webhook_plan(
    printer: Printer,
    ctx: &Ctx,
    bot: &Telegram,
    url: Option<&str>,
) -> anyhow::Result<bool> {
    let agrees = match (url, crate::webhook::secrets_read(ctx.read().await?)) {
        (Some(url), Some(secrets)) => {
            let info = bot.get_webhook_info().await?;
            info.url == url
                && secrets.telegram_has_current()
                && !secrets.rotating()
                && crate::webhook::allowed_updates_agree(&info)
        }
        _ => false,
    };
    printer.line(status_line(
        if agrees { "unchanged" } else { "set" },
        "telegram webhook",
        url.unwrap_or("(the new API)"),
    ));
    Ok(agrees)
}

/// Where everything is, once deployed.
fn print_deployed(printer: Printer, stack: &Stack, url: &str) {
    printer.line(format_args!("\nAPI URL:    {url}"));
    printer.line(format_args!(
        "Buckets:    {} (raw), {} (enriched), {} (athena)",
        stack.raw_bucket(),
        stack.enriched_bucket(),
        stack.athena_bucket()
    ));
    printer.line(format_args!(
        "Functions:  {}, {}",
        stack.function(Function::Ingest),
        stack.function(Function::Etl)
    ));
    printer.line(format_args!(
        "Workgroup:  {} (database {}, table {})",
        stack.workgroup(),
        stack.glue_database(),
        stack.table()
    ));
}
