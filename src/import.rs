//! A Telegram Desktop export ("Export chat history", format JSON) read as a stream, one message
//! at a time, and each message turned into the Bot API update the ETL reads.
//!
//! Two shapes: one chat (`result.json` whose root has `name`, `type`, `id`, `messages`), or a
//! whole account (`chats.list`, each with the same fields). Memory stays bounded whatever the
//! export's size: only one message is held at a time.

pub mod pipeline;
mod reader;

pub use reader::{Each, read_export};

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
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_id: Option<String>,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub actor_id: Option<String>,
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

/// `user123` → (123, a user), `channel456` → (456, a channel).
fn peer(id: &str) -> Option<(i64, bool)> {
    if let Some(n) = id.strip_prefix("user") {
        return Some((n.parse().ok()?, false));
    }
    Some((id.strip_prefix("channel")?.parse().ok()?, true))
}

/// The message's time, in UTC seconds: `date_unixtime`, or (older exports) `date`, the exporting
/// computer's local time, read in `export_zone`.
fn unix_date(m: &ExportMessage, export_zone: Option<lake::TimeZone>) -> Result<i64, String> {
    if let Some(t) = &m.date_unixtime {
        return t
            .parse()
            .map_err(|_| format!("date_unixtime {t:?} is not a number"));
    }
    let Some(date) = &m.date else {
        return Err("it has no date".to_owned());
    };
    let Some(zone) = export_zone else {
        return Err(
            "the export has no date_unixtime (an older Telegram Desktop): pass --export-timezone, the zone of the computer that exported it".to_owned(),
        );
    };
    let local = chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S")
        .map_err(|_| format!("date {date:?} is not YYYY-MM-DDTHH:MM:SS"))?;
    use chrono::TimeZone as _;
    zone.from_local_datetime(&local)
        .earliest()
        .map(|t| t.timestamp())
        .ok_or_else(|| format!("date {date} does not exist in {zone}"))
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

/// The Bot API `message` update for one exported message, and its day in `tz`.
pub fn to_update(
    chat: &ExportChat,
    m: &ExportMessage,
    tz: lake::TimeZone,
    export_zone: Option<lake::TimeZone>,
) -> Result<(NaiveDate, Value), String> {
    let date = unix_date(m, export_zone)?;
    let day = lake::day_of(date, tz).ok_or_else(|| format!("date {date} is out of range"))?;
    let mut message = json!({
        "message_id": m.id,
        "date": date,
        "chat": {"id": chat.id, "type": chat.kind, "title": chat.name},
    });
    let service = m.kind == "service";
    let (sender, sender_name) = if service {
        (m.actor_id.as_deref(), m.actor.as_deref())
    } else {
        (m.from_id.as_deref(), m.from.as_deref())
    };
    match sender.and_then(peer) {
        // A message sent as a channel (or a group's anonymous admin): the sender is a chat.
        Some((id, true)) => {
            message["sender_chat"] = json!({"id": -(1_000_000_000_000 + id), "type": "channel", "title": sender_name.unwrap_or("")});
        }
        // A deleted account has a null `from` name but still an id.
        Some((id, false)) => {
            message["from"] = json!({"id": id, "is_bot": false, "first_name": sender_name.unwrap_or("Deleted Account")});
        }
        None => {}
    }
    if let Some(edited) = &m.edited_unixtime {
        let edited: i64 = edited
            .parse()
            .map_err(|_| format!("edited_unixtime {edited:?} is not a number"))?;
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
mod tests {
    use super::*;

    #[test]
    fn export_ids_become_the_bot_apis() {
        assert_eq!(
            bot_api_chat(1234567890, "private_supergroup"),
            Some((-1001234567890, "supergroup"))
        );
        assert_eq!(
            bot_api_chat(1234567890, "public_channel"),
            Some((-1001234567890, "channel"))
        );
        assert_eq!(
            bot_api_chat(4001234, "private_group"),
            Some((-4001234, "group"))
        );
        assert_eq!(bot_api_chat(1002, "personal_chat"), Some((1002, "private")));
        assert_eq!(bot_api_chat(1, "something_new"), None);
    }

    #[test]
    fn an_older_export_without_unix_times_needs_its_zone() {
        let chat = ExportChat {
            id: -1,
            kind: "group",
            name: "g".into(),
        };
        let m = ExportMessage {
            id: 1,
            kind: "message".into(),
            date: Some("2024-05-01T21:30:00".into()),
            text: Some(Value::String("hi".into())),
            ..ExportMessage::default()
        };
        let err = to_update(&chat, &m, chrono_tz::UTC, None).unwrap_err();
        assert!(err.contains("--export-timezone"), "{err}");
        // 21:30 in São Paulo is 00:30 UTC the next day.
        let zone = lake::day::parse_time_zone("America/Sao_Paulo").unwrap();
        let (day, update) = to_update(&chat, &m, chrono_tz::UTC, Some(zone)).unwrap();
        assert_eq!(day.to_string(), "2024-05-02");
        assert_eq!(update["message"]["date"], 1714609800);
        assert_eq!(update[IMPORTED_FIELD], true);
    }
}
