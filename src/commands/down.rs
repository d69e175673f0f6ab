//! `tgpipe down`: remove the webhook and every resource of the stack, in reverse order of
//! creation. Data buckets that hold objects stay unless `--delete-data`; what bears the stack's
//! names without its tag is not the stack's and stays. It shows what it will delete first and
//! asks on a terminal; elsewhere `--yes` is required. `--delete-data` asks for the stack's name.

use clap::Args;

use anyhow::bail;

use super::ExitStatus;
use super::args::{AwsArgs, BotArgs, Global};
use crate::connection::Ctx;
use crate::plan::{Kind, Removal, State};
use crate::stack::StackRead;
use crate::stack::ownership::Foreign;
use crate::telegram::Telegram;
use crate::ui::{Output, Printer, Progress, StackId, ask, confirm, elapsed, status_line};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe down --dry-run            # what would go, what would stay
  tgpipe down                      # asks first; the data buckets stay if they hold data
  tgpipe down --yes --delete-data  # from a script, data and all")]
pub struct DownArgs {
    /// Also delete the raw and enriched buckets with every object and version in them.
    #[arg(long)]
    pub delete_data: bool,
    /// Delete without asking (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Show what would be deleted, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `json`: the plan and what was removed, as one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub bot: BotArgs,
}

/// `down --output json`.
#[derive(serde::Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    at: StackId<'a>,
    dry_run: bool,
    plan: &'a [Planned],
    /// What happened to the bot's webhook: deleted, not_this_stacks, no_bot_token; null when
    /// nothing was removed.
    webhook: Option<WebhookRemoval>,
    removed: &'a [crate::plan::Removed],
}

pub async fn run(global: &Global, args: DownArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    let bot = args.bot.telegram(global.verbose)?;
    let ctx = args.aws.connect(global).await?;
    let stack = &ctx.stack;
    printer.note(format_args!(
        "Removing stack {} from account {} ({})",
        stack.name, stack.account, stack.region
    ));
    let read = ctx.read().await?;
    let foreign = read.foreign(stack);
    let plan = plan(&ctx, read, &foreign, args.delete_data).await?;
    print_plan(printer, &plan);
    let report = |webhook, removed| Report {
        at: StackId::from(stack),
        dry_run: args.dry_run,
        plan: &plan,
        webhook,
        removed,
    };
    if args.dry_run {
        printer.line("Dry run: nothing was deleted.");
        printer.json(&report(None, &[]))?;
        return Ok(ExitStatus::Success);
    }
    if !plan.iter().any(|p| p.delete) {
        printer.line(format_args!("Nothing of stack {} to delete.", stack.name));
    } else if !args.yes && !confirmed(stack.name.as_str(), &plan, args.delete_data)? {
        printer.line("Nothing was deleted.");
        printer.json(&report(None, &[]))?;
        return Ok(ExitStatus::Success);
    }
    let webhook = remove_webhook(printer, &ctx, bot.as_ref()).await?;
    // Each resource's line as soon as it is gone (or kept).
    let progress = Progress::start(printer);
    progress.step(&format!("removing stack {}", stack.name));
    let removed = crate::stack::remove_all(
        &ctx.aws,
        stack,
        &foreign,
        args.delete_data,
        &|done, took| {
            for r in done {
                let why = r
                    .removal
                    .why()
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default();
                progress.line(status_line(
                    r.removal.word(),
                    r.kind,
                    format_args!("{}{why}{}", r.name, elapsed(Some(took))),
                ));
            }
        },
    )
    .await?;
    progress.done();
    let kept = removed
        .iter()
        .filter(|r| r.removal == Removal::KeptWithData)
        .count();
    if kept > 0 {
        printer.line(format_args!(
            "\nKept {kept} resource(s) with your data (objects, tables of your own, saved queries); `tgpipe down --delete-data` deletes them with it."
        ));
    }
    printer.json(&report(Some(webhook), &removed))?;
    Ok(ExitStatus::Success)
}

#[derive(serde::Serialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum WebhookRemoval {
    Deleted,
    NotThisStacks,
    NoBotToken,
}

/// Only a webhook that points at this stack's API is removed.
async fn remove_webhook(
    printer: Printer,
    ctx: &Ctx,
    bot: Option<&Telegram>,
) -> anyhow::Result<WebhookRemoval> {
    let Some(bot) = bot else {
        printer.line(status_line(
            "skipped",
            "telegram webhook",
            "(no bot token: --bot-token or TGPIPE_BOT_TOKEN; it may still point at the removed API)",
        ));
        return Ok(WebhookRemoval::NoBotToken);
    };
    let url = ctx.read().await?.outputs().webhook_url;
    let info = bot.get_webhook_info().await?;
    if url.is_some_and(|u| u == info.url) {
        bot.delete_webhook().await?;
        printer.line(status_line("deleted", "telegram webhook", ""));
        Ok(WebhookRemoval::Deleted)
    } else {
        printer.line(status_line(
            "skipped",
            "telegram webhook",
            "(it does not point at this stack)",
        ));
        Ok(WebhookRemoval::NotThisStacks)
    }
}

/// One resource as `down` would leave it.
#[derive(serde::Serialize)]
struct Planned {
    kind: crate::plan::Kind,
    name: String,
    delete: bool,
    /// Why it stays, or what goes with it.
    note: Option<String>,
}

/// What `down` would delete and keep: what exists of the stack, and for the data buckets their
/// objects.
async fn plan(
    ctx: &Ctx,
    read: &StackRead,
    foreign: &Foreign,
    delete_data: bool,
) -> anyhow::Result<Vec<Planned>> {
    let found = read.states(&ctx.stack, None);
    let buckets = crate::stack::s3::BucketRole::ALL.map(|role| (role.bucket(&ctx.stack), role));
    let mut plan = Vec::new();
    for r in found
        .into_iter()
        .rev()
        .filter(|r| r.state != State::Missing)
    {
        let (delete, note) = if foreign.contains(r.kind, &r.name) {
            (false, Some("not this stack's".to_owned()))
        } else if let Some((_, role)) = buckets.iter().find(|(b, _)| *b == r.name) {
            bucket_plan(ctx, *role, &r.name, delete_data).await?
        } else if let Some(yours) = users_own(ctx, r.kind).await? {
            // What deleting it would take with it: the user's own tables, saved queries.
            if delete_data {
                (true, Some(format!("with {yours}")))
            } else {
                (
                    false,
                    Some(format!("holds {yours}: --delete-data deletes them")),
                )
            }
        } else {
            (true, None)
        };
        plan.push(Planned {
            kind: r.kind,
            name: r.name,
            delete,
            note,
        });
    }
    Ok(plan)
}

/// What the user made inside one of the stack's resources, which deleting it would take with
/// it: tables in its Glue database, saved queries in its workgroup; `None` when nothing.
async fn users_own(ctx: &Ctx, kind: Kind) -> anyhow::Result<Option<String>> {
    let stack = &ctx.stack;
    Ok(match kind {
        Kind::GlueDatabase => {
            let tables =
                crate::stack::athena::glue::other_tables(&ctx.aws.glue, &stack.glue_database())
                    .await?;
            (!tables.is_empty()).then(|| format!("tables of your own ({})", tables.join(", ")))
        }
        Kind::Workgroup => {
            let n = crate::stack::athena::saved_queries(&ctx.aws.athena, stack).await?;
            (n > 0).then(|| format!("{n} saved queries"))
        }
        _ => None,
    })
}

/// A bucket as `down` would leave it: deleted when it holds nothing `down` keeps it for (a data
/// bucket's objects, older versions or markers; objects of the user's in the Athena bucket), or
/// with `--delete-data`; the decision is `s3::destroy`'s own.
async fn bucket_plan(
    ctx: &Ctx,
    role: crate::stack::s3::BucketRole,
    bucket: &str,
    delete_data: bool,
) -> anyhow::Result<(bool, Option<String>)> {
    use crate::stack::s3::Holding;
    let what = match crate::stack::s3::kept_for(&ctx.aws.s3, role, bucket).await? {
        None => return Ok((true, None)),
        Some(Holding::Yours(n)) => format!(
            "{n} objects of your own (not query results: outside {}, or tables made by CREATE TABLE AS)",
            crate::stack::athena::RESULTS_PREFIX
        ),
        Some(Holding::Data) => {
            let objects = crate::health::list_all(&ctx.bucket(bucket)?, "")
                .await?
                .len();
            if objects == 0 {
                "older versions of deleted objects".to_owned()
            } else {
                format!("{objects} objects")
            }
        }
    };
    Ok(if delete_data {
        (true, Some(format!("with its {what}")))
    } else {
        (
            false,
            Some(format!("holds {what}; --delete-data deletes them")),
        )
    })
}

fn print_plan(printer: Printer, plan: &[Planned]) {
    for p in plan {
        let word = if p.delete { "delete" } else { "keep" };
        let note = p
            .note
            .as_ref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        printer.line(status_line(word, p.kind, format_args!("{}{note}", p.name)));
    }
}

/// Asks on a terminal; elsewhere `--yes` is the only answer. Deleting data takes the stack's
/// name typed out.
fn confirmed(name: &str, plan: &[Planned], delete_data: bool) -> anyhow::Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        bail!(
            "down deletes the resources listed above: pass --yes to confirm (stdin is not a terminal, so it cannot ask)"
        );
    }
    let deleted = plan.iter().filter(|p| p.delete).count();
    if !delete_data {
        return confirm(&format!("Delete these {deleted} resources?"));
    }
    let answer = ask(&format!(
        "This deletes {deleted} resources and the data buckets with every object in them. Type the stack's name ({name}) to go on:"
    ))?;
    Ok(answer == name)
}
