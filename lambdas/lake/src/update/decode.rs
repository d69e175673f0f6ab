//! The hand-written deserializers of [`Update`] and [`Message`]: one pass over a body, keeping
//! only what a row needs, whatever else Telegram adds.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::*;

/// A map key, borrowed from the input when it can be.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Update {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UpdateVisitor;
        impl<'de> Visitor<'de> for UpdateVisitor {
            type Value = Update;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Telegram update object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Update, A::Error> {
                let mut update_id = None;
                let mut message = None;
                let mut imported = false;
                while let Some(Key(key)) = map.next_key()? {
                    let kind = match key.as_ref() {
                        "update_id" => {
                            update_id = Some(map.next_value::<i64>()?);
                            continue;
                        }
                        IMPORTED_FIELD => {
                            imported = map.next_value::<Option<bool>>()?.unwrap_or(false);
                            continue;
                        }
                        "message" => MessageKind::Message,
                        "channel_post" => MessageKind::ChannelPost,
                        "edited_message" => MessageKind::EditedMessage,
                        "edited_channel_post" => MessageKind::EditedChannelPost,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    message = Some((kind, map.next_value::<Message>()?));
                }
                let update_id = update_id.ok_or_else(|| de::Error::missing_field("update_id"))?;
                Ok(Update {
                    update_id,
                    message,
                    imported,
                })
            }
        }
        deserializer.deserialize_map(UpdateVisitor)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MessageVisitor;
        impl<'de> Visitor<'de> for MessageVisitor {
            type Value = Message;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Telegram message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
                let (mut message_id, mut chat, mut date) = (None, None, None);
                let (mut from, mut text, mut caption, mut edit_date, mut reply) =
                    (None, None, None, None, None);
                // Index into CONTENT_PRECEDENCE of the strongest content field seen.
                let mut content: Option<usize> = None;
                let mut service = false;
                while let Some(Key(key)) = map.next_key()? {
                    match key.as_ref() {
                        "message_id" => message_id = Some(map.next_value::<i64>()?),
                        "chat" => chat = Some(map.next_value::<Chat>()?),
                        "date" => date = Some(map.next_value::<i64>()?),
                        "from" => from = map.next_value::<Option<User>>()?,
                        "text" => {
                            text = map.next_value::<Option<String>>()?;
                            content = Some(0);
                        }
                        "caption" => caption = map.next_value::<Option<String>>()?,
                        "edit_date" => edit_date = map.next_value::<Option<i64>>()?,
                        "reply_to_message" => {
                            reply = map
                                .next_value::<Option<MessageRef>>()?
                                .map(|r| r.message_id)
                        }
                        other => {
                            if let Some(i) = CONTENT_PRECEDENCE.iter().position(|k| *k == other) {
                                content = Some(content.map_or(i, |c| c.min(i)));
                            } else if SERVICE_FIELDS.contains(&other)
                                || other == IMPORTED_SERVICE_FIELD
                            {
                                service = true;
                            }
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let message_type = match content {
                    Some(i) => CONTENT_PRECEDENCE[i],
                    None if service => "service",
                    None => "other",
                };
                Ok(Message {
                    message_id: message_id.ok_or_else(|| de::Error::missing_field("message_id"))?,
                    chat: chat.ok_or_else(|| de::Error::missing_field("chat"))?,
                    date: date.ok_or_else(|| de::Error::missing_field("date"))?,
                    from,
                    text,
                    caption,
                    edit_date,
                    reply_to_message_id: reply,
                    message_type,
                })
            }
        }
        deserializer.deserialize_map(MessageVisitor)
    }
}
