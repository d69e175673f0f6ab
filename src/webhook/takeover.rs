//! Whether the bot's webhook serves something else than this stack, and when `up` and
//! `set-webhook` may point it here.

use anyhow::bail;

use crate::aws::{AwsResultExt, FindExt};
use crate::stack::Stack;
use crate::telegram::Telegram;

/// The URL the bot's webhook points at when it is not this stack's API (`ours`; `None` before
/// the API exists): another app, or another stack, may be served by this bot and would receive
/// nothing once the webhook points here. Unless `yes`, a terminal is asked and anywhere else
/// the command stops, naming the URL, before anything is changed. `None` when the webhook is
/// unset or already ours.
pub async fn takeover(
    bot: &Telegram,
    api: &aws_sdk_apigatewayv2::Client,
    stack: &Stack,
    ours: Option<&str>,
    yes: bool,
    dry_run: bool,
) -> anyhow::Result<Option<String>> {
    let info = bot.get_webhook_info().await?;
    let same = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
    if info.url.is_empty() || ours.is_some_and(|o| same(o, &info.url)) {
        return Ok(None);
    }
    let failing = info.last_error_date.is_some();
    let other = info.url;
    // An API gone from this account and region to which Telegram fails to deliver (this stack's
    // before a `down` without the token) serves nobody: no question. Not found alone is no proof:
    // another account's API is not found here either.
    if failing
        && let Some(id) = dead_api_id(&other, &stack.region)
        && api
            .get_api()
            .api_id(id)
            .send()
            .await
            .found()
            .aws(format!("API Gateway GetApi {id}"))?
            .is_none()
    {
        return Ok(None);
    }
    if !yes
        && !dry_run
        && !crate::ui::confirm(&format!(
            "The bot's webhook points at {other}, not at this stack's API: another app or stack may be using this bot, and would receive nothing once it points here. Point it at this stack?"
        ))?
    {
        bail!(
            "the bot's webhook points at {other}, not at this stack's API (another app or stack may be using this bot); nothing was changed: pass --yes to point it at this stack"
        );
    }
    Ok(Some(other))
}

/// The API id of a tgpipe webhook URL in `region` (`https://ID.execute-api.REGION.amazonaws.com/webhook`).
fn dead_api_id<'a>(url: &'a str, region: &str) -> Option<&'a str> {
    let host = url
        .strip_prefix("https://")?
        .strip_suffix(crate::stack::apigw::WEBHOOK_PATH)?;
    let (id, rest) = host.split_once('.')?;
    let rest = rest.strip_prefix("execute-api.")?.strip_prefix(region)?;
    rest.starts_with(".amazonaws.com").then_some(id)
}
