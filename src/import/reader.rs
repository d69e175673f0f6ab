//! The export read as a stream with serde: the root (one chat, or a whole account's
//! `chats.list`), each chat's `name`, `type` and `id`, then its messages handed over one at a
//! time, so that memory stays one message whatever the export's size.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{ExportChat, ExportMessage, ImportError, bot_api_chat};

/// What the reader calls for each message, with its chat.
pub type Each<'a> = dyn FnMut(&ExportChat, ExportMessage) -> Result<(), ImportError> + 'a;

/// Reads an export from `reader` (named `file` in errors), calling `each` for every message of
/// every chat in order; returns the chats.
pub fn read_export(
    file: &str,
    reader: impl Read,
    each: &mut Each<'_>,
) -> Result<Vec<ExportChat>, ImportError> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let mut state = State {
        each,
        chats: Vec::new(),
        stop: None,
    };
    let result = RootSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(stop) = state.stop.take() {
        return Err(stop);
    }
    match result {
        Ok(()) if state.chats.is_empty() => Err(ImportError::NotAnExport(
            file.to_owned(),
            "it holds no chat (no `messages`, no `chats.list`)".to_owned(),
        )),
        Ok(()) => Ok(state.chats),
        Err(e) if e.is_eof() => Err(ImportError::Truncated(file.to_owned(), e.line())),
        Err(e) if e.is_syntax() && e.line() == 1 && e.column() <= 1 => {
            Err(ImportError::NotJson(file.to_owned()))
        }
        Err(e) if e.is_io() => Err(ImportError::Io(
            file.to_owned(),
            std::io::Error::other(e.to_string()),
        )),
        Err(e) => Err(ImportError::NotAnExport(file.to_owned(), e.to_string())),
    }
}

struct State<'a, 'b> {
    each: &'a mut Each<'b>,
    chats: Vec<ExportChat>,
    /// The error `each` returned, which stopped the reading.
    stop: Option<ImportError>,
}

/// The root: one chat's fields, or `chats` holding `list`.
struct RootSeed<'s, 'a, 'b>(&'s mut State<'a, 'b>);

impl<'de> DeserializeSeed<'de> for RootSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(ChatVisitor {
            state: self.0,
            root: true,
        })
    }
}

/// A chat object (or the root, which may be one): its `name`, `type` and `id` come before its
/// `messages` in every export Telegram Desktop writes.
struct ChatVisitor<'s, 'a, 'b> {
    state: &'s mut State<'a, 'b>,
    root: bool,
}

impl<'de> Visitor<'de> for ChatVisitor<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Telegram Desktop export (an object with name, type, id and messages)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error;
        let (mut name, mut kind, mut id) = (None::<String>, None::<String>, None::<i64>);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = map.next_value::<Option<String>>()?,
                "type" => kind = Some(map.next_value()?),
                "id" => id = Some(map.next_value()?),
                "messages" => {
                    let (Some(export_id), Some(export_type)) = (id, kind.as_deref()) else {
                        return Err(A::Error::custom(
                            "its messages come before the chat's id and type",
                        ));
                    };
                    let Some((id, kind)) = bot_api_chat(export_id, export_type) else {
                        return Err(A::Error::custom(format!(
                            "unknown chat type {export_type:?}"
                        )));
                    };
                    let chat = ExportChat {
                        id,
                        kind,
                        name: name.clone().unwrap_or_default(),
                    };
                    map.next_value_seed(MessagesSeed {
                        state: self.state,
                        chat: &chat,
                    })?;
                    self.state.chats.push(chat);
                }
                "chats" if self.root => map.next_value_seed(ListSeed(self.state))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `chats`: an object whose `list` holds the chats.
struct ListSeed<'s, 'a, 'b>(&'s mut State<'a, 'b>);

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a list of chats")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "list" {
                map.next_value_seed(ChatsSeed(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ChatsSeed<'s, 'a, 'b>(&'s mut State<'a, 'b>);

impl<'de> DeserializeSeed<'de> for ChatsSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ChatsSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of chats")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(OneChat(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

struct OneChat<'s, 'a, 'b>(&'s mut State<'a, 'b>);

impl<'de> DeserializeSeed<'de> for OneChat<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(ChatVisitor {
            state: self.0,
            root: false,
        })
    }
}

/// `messages`: each one handed to `each` as soon as it is read.
struct MessagesSeed<'s, 'c, 'a, 'b> {
    state: &'s mut State<'a, 'b>,
    chat: &'c ExportChat,
}

impl<'de> DeserializeSeed<'de> for MessagesSeed<'_, '_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for MessagesSeed<'_, '_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of messages")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        use serde::de::Error;
        while let Some(message) = seq.next_element::<ExportMessage>()? {
            if let Err(e) = (self.state.each)(self.chat, message) {
                let text = e.to_string();
                self.state.stop = Some(e);
                return Err(A::Error::custom(text));
            }
        }
        Ok(())
    }
}
