//! The Telegram Bot API `Update`, as much of it as the pipeline reads.
//!
//! Two views of the same JSON:
//! - [`route`] works on any JSON object (every update kind, any field Telegram adds later) and
//!   answers what the ingest Lambda needs: which chat, and which day.
//! - [`Update`] is the typed view the ETL turns into rows: the message-carrying kinds, with every
//!   other field skipped without being materialised.

use serde::Deserialize;
use serde_json::{Map, Value};

mod decode;

/// Update kinds whose payload is a `Message`, first the ones that become rows.
pub const MESSAGE_KINDS: [&str; 6] = [
    "message",
    "channel_post",
    "edited_message",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
];

/// Update kinds whose payload carries a `chat` (and usually a `date`) without being a message.
const CHAT_KINDS: [&str; 7] = [
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "message_reaction",
    "message_reaction_count",
    "chat_boost",
    "removed_chat_boost",
];

/// What the ingest Lambda needs to know about an update to file it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Routing {
    pub update_id: i64,
    /// The chat the update belongs to; `None` for updates without one (inline queries, polls…).
    pub chat_id: Option<i64>,
    /// The update's own time (for a message, and for an edit, the message's original `date`);
    /// `None` when it has none, and the time of arrival is used instead.
    pub date: Option<i64>,
    /// A group that became a supergroup: the new chat's id, in the old chat's last message.
    pub migrate_to_chat_id: Option<i64>,
    /// The same, from the other side: the old chat's id, in the new chat's first message.
    pub migrate_from_chat_id: Option<i64>,
}

/// Reads the routing facts of an update; `None` unless it is an object with an integer `update_id`.
pub fn route(update: &Value) -> Option<Routing> {
    let object = update.as_object()?;
    let update_id = object.get("update_id")?.as_i64()?;
    let (chat_id, date) = chat_and_date(object);
    let message = object.get("message");
    let migration = |field: &str| message?.get(field)?.as_i64();
    Some(Routing {
        update_id,
        chat_id,
        date,
        migrate_to_chat_id: migration("migrate_to_chat_id"),
        migrate_from_chat_id: migration("migrate_from_chat_id"),
    })
}

fn chat_and_date(object: &Map<String, Value>) -> (Option<i64>, Option<i64>) {
    let Some((payload, dated)) = chat_payload(object) else {
        return (None, None);
    };
    let chat = payload.get("chat").and_then(|c| c.get("id")?.as_i64());
    let date = payload
        .get("date")
        .and_then(Value::as_i64)
        .filter(|_| dated);
    (chat, date)
}

/// The part of an update that names its chat, and whether its `date` is the update's own time.
fn chat_payload(object: &Map<String, Value>) -> Option<(&Value, bool)> {
    for kind in MESSAGE_KINDS.iter().chain(CHAT_KINDS.iter()) {
        if let Some(payload) = object.get(*kind) {
            return Some((payload, true));
        }
    }
    // A button press belongs to the chat of the message the button is on, but happens now.
    let message = object.get("callback_query")?.get("message")?;
    Some((message, false))
}

/// A chat as an update names it: what `tgpipe chats` lists, never anything said in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ChatRef {
    pub id: i64,
    /// private, group, supergroup or channel.
    #[serde(rename = "type")]
    pub kind: String,
    /// A group's or channel's title, or a public chat's `@username`; never a person's name.
    pub title: Option<String>,
}

/// The chat an update belongs to, with its type and title; `None` for updates without one.
pub fn chat_of(update: &Value) -> Option<ChatRef> {
    let (payload, _) = chat_payload(update.as_object()?)?;
    let chat = payload.get("chat")?;
    let text = |field: &str| chat.get(field)?.as_str().map(str::to_owned);
    Some(ChatRef {
        id: chat.get("id")?.as_i64()?,
        kind: text("type").unwrap_or_default(),
        title: text("title").or_else(|| text("username").map(|u| format!("@{u}"))),
    })
}

/// The stack's note of a chat it heard from but does not keep (at [`crate::layout::seen_key`]):
/// enough to find its id, and when, never what was said.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct SeenChat {
    #[serde(flatten)]
    pub chat: ChatRef,
    pub first_seen: chrono::DateTime<chrono::Utc>,
    pub last_seen: chrono::DateTime<chrono::Utc>,
}

/// The kind of update a typed [`Update`] carried its message in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Message,
    ChannelPost,
    EditedMessage,
    EditedChannelPost,
}

impl MessageKind {
    pub fn is_edit(self) -> bool {
        matches!(self, Self::EditedMessage | Self::EditedChannelPost)
    }
}

/// The field `tgpipe import` adds to the updates it makes from a Telegram Desktop export: where
/// the webhook also received the message, its copy wins.
pub const IMPORTED_FIELD: &str = "tgpipe_imported";
/// The field an imported service message carries when the Bot API has none for its action.
pub const IMPORTED_SERVICE_FIELD: &str = "tgpipe_service";

/// An update, reduced to the message it carries (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub update_id: i64,
    pub message: Option<(MessageKind, Message)>,
    /// Made by `tgpipe import` from an export, not received from Telegram.
    pub imported: bool,
}

impl Update {
    /// Parses one raw object.
    pub fn from_slice(bytes: &[u8]) -> serde_json::Result<Self> {
        serde_json::from_slice(bytes)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: Option<bool>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct MessageRef {
    pub message_id: i64,
}

/// A message: the fields that become columns, and which kind of content it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub message_id: i64,
    pub from: Option<User>,
    pub chat: Chat,
    pub date: i64,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub edit_date: Option<i64>,
    pub reply_to_message_id: Option<i64>,
    /// One of [`MESSAGE_TYPES`].
    pub message_type: &'static str,
}

/// The values of the `message_type` column.
pub const MESSAGE_TYPES: [&str; 16] = [
    "text",
    "photo",
    "video",
    "voice",
    "audio",
    "document",
    "sticker",
    "animation",
    "video_note",
    "location",
    "contact",
    "poll",
    "dice",
    "venue",
    "service",
    "other",
];

/// Content fields in the order they decide the type: an animation also carries a `document`,
/// a venue also carries a `location`, so those come first.
const CONTENT_PRECEDENCE: [&str; 14] = [
    "text",
    "animation",
    "photo",
    "video_note",
    "video",
    "voice",
    "audio",
    "document",
    "sticker",
    "venue",
    "location",
    "contact",
    "poll",
    "dice",
];

/// Fields that make a message a service message (members joining, titles, pins, topics…).
const SERVICE_FIELDS: [&str; 40] = [
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "message_auto_delete_timer_changed",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "successful_payment",
    "refunded_payment",
    "users_shared",
    "chat_shared",
    "connected_website",
    "write_access_allowed",
    "proximity_alert_triggered",
    "boost_added",
    "chat_background_set",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "giveaway_created",
    "giveaway_completed",
    "video_chat_scheduled",
    "video_chat_started",
    "video_chat_ended",
    "video_chat_participants_invited",
    "web_app_data",
    "gift",
    "unique_gift",
    "paid_message_price_changed",
    "checklist_tasks_done",
    "checklist_tasks_added",
    "direct_message_price_changed",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_every_kind_of_update() {
        let cases = [
            (
                json!({"update_id": 1, "message": {"chat": {"id": -5}, "date": 10}}),
                Some(-5),
                Some(10),
            ),
            (
                json!({"update_id": 2, "edited_message": {"chat": {"id": -5}, "date": 10, "edit_date": 99}}),
                Some(-5),
                Some(10),
            ),
            (
                json!({"update_id": 3, "my_chat_member": {"chat": {"id": -6}, "date": 11}}),
                Some(-6),
                Some(11),
            ),
            (
                json!({"update_id": 4, "callback_query": {"id": "x", "message": {"chat": {"id": -7}, "date": 1}}}),
                Some(-7),
                None,
            ),
            (
                json!({"update_id": 5, "inline_query": {"id": "q", "query": "hi"}}),
                None,
                None,
            ),
            (
                json!({"update_id": 6, "some_future_kind": {"chat": {"id": "weird"}}}),
                None,
                None,
            ),
            (
                json!({"update_id": 7, "message": {"chat": "not an object"}}),
                None,
                None,
            ),
        ];
        for (update, chat, date) in cases {
            let r = route(&update).expect("routable");
            assert_eq!((r.chat_id, r.date), (chat, date), "{update}");
        }
        assert!(route(&json!({"update_id": "1"})).is_none());
        assert!(route(&json!([1])).is_none());
        assert!(route(&json!({"update_id": 1.5})).is_none());
    }

    #[test]
    fn message_types_follow_precedence() {
        let ty = |m: Value| {
            let mut m = m;
            m["message_id"] = json!(1);
            m["chat"] = json!({"id": 1, "type": "group"});
            m["date"] = json!(1);
            serde_json::from_value::<Message>(m).unwrap().message_type
        };
        assert_eq!(ty(json!({"text": "hi"})), "text");
        assert_eq!(ty(json!({"animation": {}, "document": {}})), "animation");
        assert_eq!(ty(json!({"document": {}, "animation": {}})), "animation");
        assert_eq!(ty(json!({"location": {}, "venue": {}})), "venue");
        assert_eq!(ty(json!({"photo": [], "caption": "c"})), "photo");
        assert_eq!(ty(json!({"new_chat_members": []})), "service");
        assert_eq!(ty(json!({"story": {}})), "other");
        for t in CONTENT_PRECEDENCE {
            assert!(MESSAGE_TYPES.contains(&t));
        }
    }

    #[test]
    fn typed_update_skips_other_kinds_and_unknown_fields() {
        let u =
            Update::from_slice(br#"{"my_chat_member":{"chat":{"id":1}},"update_id":9}"#).unwrap();
        assert_eq!(
            u,
            Update {
                update_id: 9,
                message: None,
                imported: false,
            }
        );
        let u = Update::from_slice(
            br#"{"update_id":1,"message":{"message_id":2,"chat":{"id":3,"type":"group","x":[1]},"date":4,"text":"caf\u00e9","new_field":{"a":1}}}"#,
        )
        .unwrap();
        let (kind, m) = u.message.unwrap();
        assert_eq!(kind, MessageKind::Message);
        assert_eq!(m.text.as_deref(), Some("café"));
        assert!(Update::from_slice(br#"{"message":{}}"#).is_err());
    }
}
