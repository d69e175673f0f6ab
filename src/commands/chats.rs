//! `tgpipe chats`: the chats the bot knows, with their ids, so that nobody has to dig for one.
//!
//! Three sources, merged by id: the updates waiting at Telegram (only while no webhook is set;
//! peeked without confirming any, so a later `local poll` or webhook still gets them), the notes
//! the stack's ingest function leaves of chats it does not keep, and the chats the stack keeps.
//! Each chat is then asked of Telegram for its current title and member count.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::ExitStatus;
use super::args::{AwsArgs, BotArgs, Global};
use crate::telegram::Telegram;
use crate::ui::{Output, Printer, Render};

#[derive(Args)]
#[command(after_help = "Examples:
  tgpipe chats                                   # add the bot to the group, send a message, run this
  tgpipe chats --output json | jq '.chats[] | select(.kept | not) | .id'")]
pub struct ChatsArgs {
    /// `json`: the chats as one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Only what Telegram holds: do not look for a deployed stack.
    #[arg(long)]
    pub no_stack: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub bot: BotArgs,
}

/// Where a chat was heard of.
#[derive(Serialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[serde(rename_all = "snake_case")]
enum Source {
    /// An update waiting at Telegram (no webhook set).
    Waiting,
    /// The stack's note of a chat it does not keep.
    Stack,
    /// One of the stack's kept chats.
    Kept,
}

#[derive(Serialize, Debug)]
struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: Option<String>,
    title: Option<String>,
    members: Option<u64>,
    kept: bool,
    heard_from: Vec<Source>,
    first_seen: Option<DateTime<Utc>>,
    last_seen: Option<DateTime<Utc>>,
}

impl Chat {
    fn new(id: i64) -> Chat {
        Chat {
            id,
            kind: None,
            title: None,
            members: None,
            kept: false,
            heard_from: Vec::new(),
            first_seen: None,
            last_seen: None,
        }
    }

    fn heard(
        &mut self,
        from: Source,
        chat: Option<&lake::update::ChatRef>,
        when: Option<DateTime<Utc>>,
    ) {
        if !self.heard_from.contains(&from) {
            self.heard_from.push(from);
            self.heard_from.sort();
        }
        if let Some(c) = chat {
            self.kind.get_or_insert_with(|| c.kind.clone());
            if self.title.is_none() {
                self.title.clone_from(&c.title);
            }
        }
        if let Some(when) = when {
            self.first_seen = Some(self.first_seen.map_or(when, |f| f.min(when)));
            self.last_seen = Some(self.last_seen.map_or(when, |l| l.max(when)));
        }
    }
}

#[derive(Serialize)]
struct Report {
    bot: String,
    /// The stack read, when one is deployed.
    stack: Option<String>,
    /// The webhook Telegram delivers to; while one is set, waiting updates cannot be peeked.
    webhook: Option<String>,
    chats: Vec<Chat>,
}

pub async fn run(global: &Global, args: ChatsArgs) -> anyhow::Result<ExitStatus> {
    let printer = Printer::new(args.output);
    let bot = args.bot.required(global.verbose)?;
    let me = bot.me().await?;
    let mut chats: BTreeMap<i64, Chat> = BTreeMap::new();

    let stack = if args.no_stack {
        None
    } else {
        read_stack(printer, global, &args.aws).await
    };
    if let Some(stack) = &stack {
        for id in &stack.kept {
            let c = entry(&mut chats, *id);
            c.kept = true;
            c.heard(Source::Kept, None, None);
        }
        for note in &stack.seen {
            let c = entry(&mut chats, note.chat.id);
            c.heard(Source::Stack, Some(&note.chat), Some(note.first_seen));
            c.heard(Source::Stack, None, Some(note.last_seen));
        }
    }
    let webhook = bot.get_webhook_info().await?.url;
    if webhook.is_empty() {
        for update in bot.peek_updates().await? {
            if let Some(c) = lake::update::chat_of(&update) {
                let when = lake::update::route(&update)
                    .and_then(|r| r.date)
                    .and_then(|d| DateTime::from_timestamp(d, 0));
                entry(&mut chats, c.id).heard(Source::Waiting, Some(&c), when);
            }
        }
    }
    let mut chats: Vec<Chat> = chats.into_values().collect();
    for c in &mut chats {
        ask_telegram(&bot, c).await;
    }
    let report = Report {
        bot: me.username,
        stack: stack.as_ref().map(|s| s.name.clone()),
        webhook: (!webhook.is_empty()).then_some(webhook),
        chats,
    };
    printer.answer(&report)?;
    Ok(ExitStatus::Success)
}

fn entry(chats: &mut BTreeMap<i64, Chat>, id: i64) -> &mut Chat {
    chats.entry(id).or_insert_with(|| Chat::new(id))
}

/// What the deployed stack says of chats.
struct StackChats {
    name: String,
    kept: Vec<i64>,
    seen: Vec<lake::update::SeenChat>,
}

/// The stack's chats; none, with a note why, when there is no stack to read (a user finding
/// the chat before the first `up` has nothing deployed, and may have no AWS set up yet).
async fn read_stack(printer: Printer, global: &Global, aws: &AwsArgs) -> Option<StackChats> {
    let read = async {
        let ctx = aws.connect(global).await?;
        let Some(kept) = ctx.deployed_chats().await? else {
            return anyhow::Ok(None);
        };
        let seen = crate::health::seen_chats(&ctx.raw()?).await?;
        Ok(Some(StackChats {
            name: ctx.stack.name.to_string(),
            kept,
            seen,
        }))
    };
    match read.await {
        Ok(stack) => stack,
        Err(e) => {
            printer.note(format_args!(
                "note: not reading the stack ({e:#}); --no-stack skips it"
            ));
            None
        }
    }
}

/// Fills in the chat's current title, type and member count; what Telegram will not say (a chat
/// the bot left) stays as the updates gave it.
async fn ask_telegram(bot: &Telegram, c: &mut Chat) {
    if let Ok(info) = bot.get_chat(c.id).await {
        if !info.title.is_empty() {
            c.title = Some(info.title);
        }
        if !info.kind.is_empty() {
            c.kind = Some(info.kind);
        }
    }
    if c.kind.as_deref() != Some("private") {
        c.members = bot.member_count(c.id).await.ok();
    }
}

impl Render for Report {
    fn render(&self, printer: Printer) {
        let (report, stack_read) = (self, self.stack.is_some());
        if report.chats.is_empty() {
            printer.line(format_args!("@{} has heard from no chat yet.", report.bot));
        } else {
            printer.line(format_args!("Chats @{} knows:", report.bot));
            printer.line(format_args!(
                "  {:<16} {:<10} {:>7}  {:<4} {:<16}  TITLE",
                "CHAT ID", "TYPE", "MEMBERS", "KEPT", "LAST SEEN (UTC)"
            ));
            for c in &report.chats {
                printer.line(format_args!(
                    "  {:<16} {:<10} {:>7}  {:<4} {:<16}  {}",
                    c.id,
                    c.kind.as_deref().unwrap_or("?"),
                    c.members.map(|m| m.to_string()).unwrap_or_default(),
                    if c.kept { "yes" } else { "no" },
                    c.last_seen
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                    c.title.as_deref().unwrap_or("")
                ));
            }
        }
        if let Some(url) = &report.webhook
            && !stack_read
        {
            printer.line(format_args!(
            "\nThe bot delivers to a webhook ({url}), so the updates waiting at Telegram cannot be read; chats a stack does not keep are listed once it is deployed here."
        ));
        }
        let kept: Vec<i64> = report
            .chats
            .iter()
            .filter(|c| c.kept)
            .map(|c| c.id)
            .collect();
        match report.chats.iter().find(|c| !c.kept) {
            Some(new) => {
                // `--chat-id` names every kept chat: the ones kept now go on the line too.
                let flags: String = kept
                    .iter()
                    .chain([&new.id])
                    .map(|id| format!(" --chat-id {id}"))
                    .collect();
                printer.line(format_args!(
                    "\nTo keep a chat, deploy with its id: tgpipe up{flags}"
                ));
            }
            None if report.chats.is_empty() => printer.line(format_args!(
                "Add @{} to the group, send a message there, then run `tgpipe chats` again.",
                report.bot
            )),
            None => {}
        }
    }
}
