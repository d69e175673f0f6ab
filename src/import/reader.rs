//! The export read as a stream with serde: the root (one chat, or a whole account's
//! `chats.list`), each chat's `name`, `type` and `id`, then its messages handed over one at a
//! time, so that memory stays one message whatever the export's size.

use std::fmt;
use std::io::Read;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{ExportChat, ExportMessage, ImportError, bot_api_chat};

/// A chat of the export that cannot be imported: its type is none the Bot API has (a whole
/// account's `replies` dialog, a chat with no type), with how many messages it held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedChat {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub messages: usize,
}

/// What an export holds: the chats read, and those skipped.
#[derive(Debug, Default)]
pub struct Export {
    pub chats: Vec<ExportChat>,
    pub skipped: Vec<SkippedChat>,
}

/// What the reader calls for each message, with its chat.
pub type Each<'a> = dyn FnMut(&ExportChat, ExportMessage) -> Result<(), ImportError> + 'a;

/// Reads an export from `reader` (named `file` in errors), calling `each` for every message of
/// every chat the Bot API knows a type of, in order; returns the chats, and those skipped.
pub fn read_export(
    file: &str,
    reader: impl Read,
    each: &mut Each<'_>,
) -> Result<Export, ImportError> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let mut state = State {
        each,
        export: Export::default(),
        stop: None,
    };
    let result = RootSeed(&mut state)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(stop) = state.stop.take() {
        return Err(stop);
    }
    match result {
        Ok(()) if state.export.chats.is_empty() && state.export.skipped.is_empty() => {
            Err(ImportError::NotAnExport(
                file.to_owned(),
                "it holds no chat (no `messages`, no `chats.list`)".to_owned(),
            ))
        }
        Ok(()) => Ok(state.export),
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
    export: Export,
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
        let (mut name, mut kind, mut id) = (None::<String>, None::<String>, None::<i64>);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = map.next_value::<Option<String>>()?,
                "type" => kind = map.next_value::<Option<String>>()?,
                "id" => id = map.next_value::<Option<i64>>()?,
                "messages" => {
                    let chat = id
                        .zip(kind.as_deref())
                        .and_then(|(i, k)| bot_api_chat(i, k));
                    let Some((id, kind)) = chat else {
                        // No type the Bot API has (or none at all): skipped, counted.
                        let messages = map.next_value_seed(Count)?;
                        self.state.export.skipped.push(SkippedChat {
                            name: name.clone().unwrap_or_default(),
                            kind: kind.clone(),
                            messages,
                        });
                        continue;
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
                    self.state.export.chats.push(chat);
                }
                // A whole account's chats, and those it has left (a group left is history too).
                "chats" | "left_chats" if self.root => map.next_value_seed(ListSeed(self.state))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A list counted, not read.
struct Count;

impl<'de> DeserializeSeed<'de> for Count {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Count {
    type Value = usize;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of messages")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(n)
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
