//! `tgpipe set-webhook`: point the bot at the deployed API again, with the stack's secret; or,
//! with `--rotate-secret`, give it a new secret without a gap.

use anyhow::{Context, bail};
use clap::Args;

use super::ExitStatus;
use super::args::{AwsArgs, BotArgs, Global};
use crate::stack::{Function, apigw};
use crate::ui::{Output, Printer, print_chat_checks, status_line};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe set-webhook                  # point the bot at the stack again
  tgpipe set-webhook --rotate-secret  # a new secret, without a gap")]
pub struct SetWebhookArgs {
    /// Make a new webhook secret (the ingest function gets it too).
    #[arg(long)]
    pub rotate_secret: bool,
    /// Take over a webhook that points elsewhere (another app's, another stack's) without
    /// asking.
    #[arg(long)]
    pub yes: bool,
    /// `json`: what was done and the chat checks, as one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub bot: BotArgs,
}

/// `set-webhook --output json`.
#[derive(serde::Serialize)]
struct Answer<'a> {
    stack: &'a str,
    webhook_url: &'a str,
    secret_rotated: bool,
    secret_rotation_finished: bool,
    chats: &'a [crate::webhook::ChatCheck],
}

pub async fn run(global: &Global, args: SetWebhookArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    let bot = args.bot.required(global.verbose)?;
    bot.get_me().await?;
    let ctx = args.aws.connect(global).await?;
    let stack = &ctx.stack;
    let api = apigw::find(&ctx.aws.api, stack).await?.with_context(|| {
        format!(
            "stack {} has no HTTP API: run `tgpipe up` first",
            stack.name
        )
    })?;
    let url = apigw::webhook_url(&api).context("the HTTP API has no endpoint URL")?;
    if crate::webhook::secrets(&ctx.aws.lambda, stack)
        .await?
        .is_none()
    {
        bail!(
            "stack {} has no ingest function ({}): run `tgpipe up` first",
            stack.name,
            stack.function(Function::Ingest)
        );
    }
    if let Some(other) =
        crate::webhook::takeover(&bot, &ctx.aws.api, stack, Some(&url), args.yes, false).await?
    {
        printer.line(status_line(
            "replace",
            "telegram webhook",
            format_args!("{other} (pointed elsewhere)"),
        ));
    }
    let mut rotation_finished = false;
    if args.rotate_secret {
        // The function takes the new secret beside the old, Telegram is told, the old goes.
        crate::webhook::rotate(&bot, &ctx.aws.lambda, stack, &url).await?;
        printer.line(status_line("rotated", "webhook secret", ""));
    } else {
        let converged = crate::webhook::converge(&bot, &ctx.aws.lambda, stack, &url, true).await?;
        rotation_finished = converged.rotation_finished;
        if rotation_finished {
            printer.line(status_line(
                "finished",
                "secret rotation",
                "(the old secret is no longer accepted)",
            ));
        }
    }
    printer.line(status_line("set", "telegram webhook", &url));
    let chats = ctx.deployed_chats().await?.unwrap_or_default();
    let checks = print_chat_checks(printer, &bot, &chats).await?;
    printer.json(&Answer {
        stack: stack.name.as_str(),
        webhook_url: &url,
        secret_rotated: args.rotate_secret,
        secret_rotation_finished: rotation_finished,
        chats: &checks,
    })?;
    Ok(ExitStatus::Success)
}
