//! `tgpipe down`: remove the webhook and every resource of the stack, in reverse order of
//! creation. Data buckets that hold objects stay unless `--delete-data`; what bears the stack's
//! names without its tag is not the stack's and stays.

use clap::Args;

use super::ExitStatus;
use super::context::{AwsArgs, BotArgs, Ctx, connect};
use crate::cli::Global;
use crate::plan::Removal;
use crate::stack::apigw;
use crate::telegram::Telegram;

#[derive(Args)]
pub struct DownArgs {
    /// Also delete the raw and enriched buckets with every object and version in them.
    #[arg(long)]
    pub delete_data: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub bot: BotArgs,
}

pub async fn run(global: &Global, args: DownArgs) -> anyhow::Result<ExitStatus> {
    let bot = args.bot.telegram(global.verbose)?;
    let ctx = connect(global, &args.aws).await?;
    let stack = &ctx.stack;
    eprintln!(
        "Removing stack {} from account {} ({})",
        stack.name, stack.account, stack.region
    );
    let foreign = ctx.foreign().await?;
    remove_webhook(&ctx, bot.as_ref()).await?;
    let removed = crate::stack::remove_all(&ctx.aws, stack, &foreign, args.delete_data).await?;
    for r in &removed {
        let why = r
            .removal
            .why()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        println!("  {:<13} {:<17} {}{why}", r.removal.word(), r.kind, r.name);
    }
    let kept = removed
        .iter()
        .filter(|r| r.removal == Removal::KeptWithData)
        .count();
    if kept > 0 {
        println!(
            "\nKept {kept} bucket(s) with your data; `tgpipe down --delete-data` deletes them and every object in them."
        );
    }
    Ok(ExitStatus::Success)
}

/// Only a webhook that points at this stack's API is removed.
async fn remove_webhook(ctx: &Ctx, bot: Option<&Telegram>) -> anyhow::Result<()> {
    let Some(bot) = bot else {
        println!(
            "  skipped   telegram webhook: no bot token (--bot-token or TGPIPE_BOT_TOKEN); it may still point at the removed API"
        );
        return Ok(());
    };
    let api = apigw::find(&ctx.aws.api, &ctx.stack).await?;
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
    Ok(())
}
