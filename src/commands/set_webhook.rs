//! `tgpipe set-webhook`: point the bot at the deployed API again, with the stack's secret; or,
//! with `--rotate-secret`, give it a new secret without a gap.

use anyhow::{Context, bail};
use clap::Args;

use super::ExitStatus;
use super::context::{AwsArgs, BotArgs, connect};
use super::ui::print_chat_checks;
use crate::cli::Global;
use crate::stack::{Function, apigw};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe set-webhook                  # point the bot at the stack again
  tgpipe set-webhook --rotate-secret  # a new secret, without a gap")]
pub struct SetWebhookArgs {
    /// Make a new webhook secret (the ingest function gets it too).
    #[arg(long)]
    pub rotate_secret: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub bot: BotArgs,
}

pub async fn run(global: &Global, args: SetWebhookArgs) -> anyhow::Result<ExitStatus> {
    let bot = args.bot.required(global.verbose)?;
    bot.get_me().await?;
    let ctx = connect(global, &args.aws).await?;
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
    if args.rotate_secret {
        // The function takes the new secret beside the old, Telegram is told, the old goes.
        crate::webhook::rotate(&bot, &ctx.aws.lambda, stack, &url).await?;
        println!("  rotated   webhook secret");
    } else {
        let converged = crate::webhook::converge(&bot, &ctx.aws.lambda, stack, &url, true).await?;
        if converged.rotation_finished {
            println!("  finished  secret rotation   (the old secret is no longer accepted)");
        }
    }
    println!("  set       telegram webhook  {url}");
    let chats = ctx.deployed_chats().await?.unwrap_or_default();
    print_chat_checks(&bot, &chats).await?;
    Ok(ExitStatus::Success)
}
