//! What `up` deploys, resolved before anything changes: for each value a flag given wins, then
//! what is deployed, then the default, so that a flag left out never reverts the stack.

use anyhow::{Context, bail};

use super::UpArgs;
use crate::connection::Ctx;
use crate::health::Migration;
use crate::stack::lambda::{Artifacts, FunctionSpec};
use crate::stack::{Alerts, Desired, Function, StackRead, events, topic};
use crate::telegram::{ChatName, Telegram};
use crate::ui::{Printer, confirm};

/// The values `up` deploys: a flag given wins, then what is deployed, then the default, so that
/// a flag left out never reverts the stack.
pub(super) struct Wanted {
    pub(super) chats: Vec<i64>,
    pub(super) timezone: String,
    pub(super) schedule: String,
    pub(super) alerts: Option<Alerts>,
    /// Chats added because a kept group became a supergroup: (from, to).
    pub(super) migrated: Vec<(i64, i64)>,
    /// Whether the user was asked something (the stack may have changed meanwhile).
    pub(super) asked: bool,
}

/// The chats given, by id: a public group's @username is looked up with the bot.
pub(super) async fn chat_ids(
    printer: Printer,
    bot: &Telegram,
    given: &[ChatName],
) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    for name in given {
        let id = match name {
            ChatName::Id(id) => *id,
            ChatName::Username(_) => {
                let chat = bot.chat(name).await.with_context(|| {
                    format!("cannot find the chat {name}: check the name, or give its id (`tgpipe chats` lists the chats the bot knows)")
                })?;
                printer.note(format_args!(
                    "  {name} is chat {} ({})",
                    chat.id, chat.title
                ));
                chat.id
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// `read`: the stack as read (what is deployed); `migrations`: the kept groups that became
/// supergroups.
pub(super) async fn wanted(
    ctx: &Ctx,
    args: &UpArgs,
    given: Vec<i64>,
    read: &StackRead,
    migrations: Vec<Migration>,
) -> anyhow::Result<Wanted> {
    let deployed_zone = ctx.variable(Function::Etl, lake::env::TIMEZONE).await?;
    let deployed_chats = ctx.deployed_chats().await?;
    let deployed_schedule = read
        .of::<events::Schedule>()
        .and_then(|rule| rule.schedule())
        .map(str::to_owned);
    let mut chats: Vec<i64> = if given.is_empty() {
        deployed_chats
            .context("--chat-id is required the first time: the id of the group to keep, such as -1001234567890 (`tgpipe chats` lists the chats the bot knows)")?
    } else {
        given
    };
    // A kept group that became a supergroup: its new id joins the stack's chats.
    let mut migrated = Vec::new();
    for m in migrations {
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
    let mut asked = false;
    if let Some(old) = deployed_zone.filter(|old| *old != timezone) {
        let holds_data =
            !crate::health::list_all(&ctx.raw()?, &format!("{}/", lake::layout::TABLE_PREFIX))
                .await?
                .is_empty();
        asked = holds_data && !args.yes && !args.dry_run;
        if asked
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
    let alerts = wanted_alerts(args, read)?;
    Ok(Wanted {
        chats,
        timezone,
        schedule,
        alerts,
        migrated,
        asked,
    })
}

/// Where alerts go and the silence they allow: given, else deployed (the topic's tags), else
/// none.
fn wanted_alerts(args: &UpArgs, read: &StackRead) -> anyhow::Result<Option<Alerts>> {
    let deployed = read
        .of::<topic::AlertTopic>()
        .and_then(Option::as_ref)
        .filter(|t| t.owned)
        .and_then(|t| t.settings())
        .cloned();
    let email = match &args.alert_email {
        Some(given) => Alerts::parse_email(given)?,
        None => deployed.as_ref().map(|d| d.email.clone()),
    };
    let Some(email) = email else {
        if args.alert_silence_hours.is_some() {
            bail!(
                "--alert-silence-hours sets when an alert goes out, and the stack has none: give --alert-email too"
            );
        }
        return Ok(None);
    };
    Ok(Some(Alerts {
        email,
        silence_hours: args
            .alert_silence_hours
            .or(deployed.map(|d| d.silence_hours))
            .unwrap_or(Alerts::DEFAULT_SILENCE_HOURS),
    }))
}

/// The functions' code and environment, and the schedule: what the components compare with.
pub(super) async fn desired(
    ctx: &Ctx,
    artifacts: &Artifacts,
    wanted: &Wanted,
) -> anyhow::Result<Desired> {
    // The deployed value as it is (both secrets during a rotation): `up` never drops one.
    let secret = match ctx
        .variable(Function::Ingest, lake::env::WEBHOOK_SECRET)
        .await?
    {
        Some(s) => s,
        None => crate::webhook::new_secret()?,
    };
    let envs =
        crate::stack::lambda::environments(&ctx.stack, &wanted.chats, &wanted.timezone, &secret);
    let specs = Function::ALL
        .iter()
        .zip(envs)
        .map(|(f, env)| FunctionSpec::load(&ctx.stack, *f, artifacts, env))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Desired {
        specs,
        schedule: wanted.schedule.clone(),
        chats: wanted.chats.clone(),
        alerts: wanted.alerts.clone(),
    })
}
