//! A Telegram Desktop export ("Export chat history", format JSON) read as a stream, one message
//! at a time, and each message turned into the Bot API update the ETL reads.
//!
//! Two shapes: one chat (`result.json` whose root has `name`, `type`, `id`, `messages`), or a
//! whole account (`chats.list`, each with the same fields). Memory stays bounded whatever the
//! export's size: only one message is held at a time.

mod fields;
pub mod pipeline;
mod reader;
pub mod supersede;

use fields::{edit_date, peer, sender_fields, unix_date};
pub use reader::{Each, Export, SkippedChat, read_export};

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

/// The field that marks an update made from an export (the webhook's copy of a message wins).
pub const IMPORTED_FIELD: &str = lake::update::IMPORTED_FIELD;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "{0} is not a Telegram Desktop JSON export: in Telegram Desktop, choose Export chat history, then Format: Machine-readable JSON"
    )]
    NotJson(String),
    #[error("{0} ends early at line {1}: the export is truncated; export it again")]
    Truncated(String, usize),
    #[error("{0} is not a Telegram Desktop export: {1}")]
    NotAnExport(String, String),
    #[error("{file}: message {message_id} of chat {chat}: {why}")]
    BadMessage {
        file: String,
        chat: i64,
        message_id: i64,
        why: String,
    },
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Stopped(String),
}

/// Why a message of an export is not imported: skipped and counted, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// `{"type": "unsupported"}`: Telegram Desktop could not export it (no date, no content).
    Unsupported,
    NoDate,
    BadDate,
    /// Dated before Telegram began (August 2013): a date that cannot be right.
    BeforeTelegram,
    /// Sent in the basic group a supergroup was made from, whose id is not known.
    MigratedFromUnknown,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Skip::Unsupported => "not exported by Telegram Desktop (type unsupported)",
            Skip::NoDate => "without a date",
            Skip::BadDate => "with a date that cannot be read",
            Skip::BeforeTelegram => "dated before Telegram began (August 2013)",
            Skip::MigratedFromUnknown => {
                "sent in the basic group before it became a supergroup, whose id is unknown (--migrated-from ID imports them)"
            }
        })
    }
}

/// Why a message does not become an update: skipped (and counted), or the whole import stops
/// because the user must say something first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmapped {
    Skip(Skip),
    Stop(String),
}

/// One chat of an export, with the id the Bot API (and so the stack) knows it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportChat {
    /// The Bot API's id: `-100…` for a supergroup or channel, negative for a basic group.
    pub id: i64,
    /// `supergroup`, `channel`, `group` or `private`.
    pub kind: &'static str,
    pub name: String,
}

/// The Bot API id and type of an exported chat: Telegram Desktop writes the bare peer id and
/// a type of its own.
pub fn bot_api_chat(export_id: i64, export_type: &str) -> Option<(i64, &'static str)> {
    // The Bot API's ids: -1000000000000 - id for channels and supergroups, -id for groups.
    const CHANNEL_BASE: i64 = 1_000_000_000_000;
    match export_type {
        "private_supergroup" | "public_supergroup" => {
            Some((-(CHANNEL_BASE + export_id), "supergroup"))
        }
        "private_channel" | "public_channel" => Some((-(CHANNEL_BASE + export_id), "channel")),
        "private_group" => Some((-export_id, "group")),
        "personal_chat" | "bot_chat" | "saved_messages" => Some((export_id, "private")),
        _ => None,
    }
}

/// One exported message, as much of it as becomes a row.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExportMessage {
    pub id: i64,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub date_unixtime: Option<String>,
    #[serde(default)]
    pub edited_unixtime: Option<String>,
    /// Older exports: when it was edited, local time; `1970-01-01T…` means never.
    #[serde(default)]
    pub edited: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    /// `user123` / `channel123`; older exports wrote a bare number (a user).
    #[serde(default)]
    pub from_id: Option<Value>,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub actor_id: Option<Value>,

    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub reply_to_message_id: Option<i64>,
    #[serde(default)]
    pub text: Option<Value>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub photo: Option<Value>,
    #[serde(default)]
    pub file: Option<Value>,
    #[serde(default)]
    pub poll: Option<Value>,
    #[serde(default)]
    pub location_information: Option<Value>,
    #[serde(default)]
    pub contact_information: Option<Value>,
}

/// The plain text of an export's `text`: a string, or an array of strings and `{type, text}`
/// entities whose texts are concatenated.
pub fn plain_text(text: &Value) -> String {
    match text {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.as_str(),
                other => other["text"].as_str().unwrap_or(""),
            })
            .collect(),
        _ => String::new(),
    }
}

/// The service field a Bot API message would carry for an export's `action`.
fn service_field(action: &str) -> (&'static str, Value) {
    match action {
        "create_group" => ("group_chat_created", json!(true)),
        "create_channel" => ("channel_chat_created", json!(true)),
        "migrate_from_group" => ("supergroup_chat_created", json!(true)),
        "invite_members" | "join_group_by_link" | "join_group_by_request" => {
            ("new_chat_members", json!([]))
        }
        "remove_members" => (
            "left_chat_member",
            json!({"id": 0, "is_bot": false, "first_name": ""}),
        ),
        "edit_group_title" => ("new_chat_title", json!("")),
        "edit_group_photo" => ("new_chat_photo", json!([])),
        "delete_group_photo" => ("delete_chat_photo", json!(true)),
        "pin_message" => (
            "pinned_message",
            json!({"message_id": 0, "chat": {"id": 0, "type": "group"}, "date": 0}),
        ),
        _ => (lake::update::IMPORTED_SERVICE_FIELD, json!(action)),
    }
}

/// How Telegram Desktop shifts the ids of the messages a supergroup inherited from the basic
/// group it was made from (and their replies' ids): they are exported inside the supergroup's
/// chat, their ids less this.
const MIGRATED_ID_SHIFT: i64 = 1_000_000_000;

/// The message as the Bot API knows it: one of the basic group a supergroup was made from
/// (a negative id in the export) goes back under that group's id (`migrated`: supergroup → basic
/// group) with its real id, as the webhook stored it then; others unchanged.
pub fn unmigrated(
    chat: &ExportChat,
    mut m: ExportMessage,
    migrated: &std::collections::BTreeMap<i64, i64>,
) -> Result<(ExportChat, ExportMessage), Unmapped> {
    if m.id >= 0 {
        return Ok((chat.clone(), m));
    }
    let from = *migrated
        .get(&chat.id)
        .ok_or(Unmapped::Skip(Skip::MigratedFromUnknown))?;
    m.id += MIGRATED_ID_SHIFT;
    m.reply_to_message_id = m
        .reply_to_message_id
        .map(|r| if r < 0 { r + MIGRATED_ID_SHIFT } else { r });
    let group = ExportChat {
        id: from,
        kind: "group",
        name: chat.name.clone(),
    };
    Ok((group, m))
}

/// [`unmigrated`], then [`to_update`]: the key it is stored under, its day and the update.
pub fn map(
    chat: &ExportChat,
    m: ExportMessage,
    tz: lake::TimeZone,
    export_zone: Option<lake::TimeZone>,
    migrated: &std::collections::BTreeMap<i64, i64>,
) -> Result<(String, NaiveDate, Value), Unmapped> {
    let (chat, m) = unmigrated(chat, m, migrated)?;
    let (day, update) = to_update(&chat, &m, tz, export_zone)?;
    Ok((lake::layout::imported_key(day, chat.id, m.id), day, update))
}

/// The Bot API `message` update for one exported message, and its day in `tz`.
pub fn to_update(
    chat: &ExportChat,
    m: &ExportMessage,
    tz: lake::TimeZone,
    export_zone: Option<lake::TimeZone>,
) -> Result<(NaiveDate, Value), Unmapped> {
    if m.kind == "unsupported" {
        return Err(Unmapped::Skip(Skip::Unsupported));
    }
    let date = unix_date(m, export_zone)?;
    let day = lake::day_of(date, tz).ok_or(Unmapped::Skip(Skip::BadDate))?;
    if day < lake::layout::first_day() {
        return Err(Unmapped::Skip(Skip::BeforeTelegram));
    }
    let mut message = json!({
        "message_id": m.id,
        "date": date,
        "chat": {"id": chat.id, "type": chat.kind, "title": chat.name},
    });
    let service = m.kind == "service";
    let (sender, sender_name) = if service {
        (m.actor_id.as_ref(), m.actor.as_deref())
    } else {
        (m.from_id.as_ref(), m.from.as_deref())
    };
    sender_fields(&mut message, chat, sender.and_then(peer), sender_name);
    if let Some(edited) = edit_date(m, export_zone)? {
        message["edit_date"] = json!(edited);
    }
    if let Some(reply) = m.reply_to_message_id {
        message["reply_to_message"] =
            json!({"message_id": reply, "date": 0, "chat": message["chat"].clone()});
    }
    let text = m.text.as_ref().map(plain_text).unwrap_or_default();
    if service {
        let (field, value) = service_field(m.action.as_deref().unwrap_or(""));
        message[field] = value;
    } else {
        let media = match m.media_type.as_deref() {
            Some("sticker") => Some(("sticker", json!({}))),
            Some("voice_message") => Some(("voice", json!({}))),
            Some("video_file") => Some(("video", json!({}))),
            Some("video_message") => Some(("video_note", json!({}))),
            Some("audio_file") => Some(("audio", json!({}))),
            Some("animation") => Some(("animation", json!({}))),
            _ if m.photo.is_some() => Some(("photo", json!([]))),
            _ if m.poll.is_some() => Some(("poll", json!({}))),
            _ if m.location_information.is_some() => Some(("location", json!({}))),
            _ if m.contact_information.is_some() => Some(("contact", json!({}))),
            _ if m.file.is_some() => Some(("document", json!({}))),
            _ => None,
        };
        match media {
            // A media message's text is its caption.
            Some((field, value)) => {
                message[field] = value;
                if !text.is_empty() {
                    message["caption"] = json!(text);
                }
            }
            None => message["text"] = json!(text),
        }
    }
    let update = json!({
        "update_id": 0,
        "message": message,
        IMPORTED_FIELD: true,
    });
    Ok((day, update))
}

#[cfg(test)]
mod tests;
