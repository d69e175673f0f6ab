//! Update → enriched row: one row per message, edits applied.

use std::collections::HashMap;

use crate::update::{Message, Update};

/// One row of the `telegram` table (the partition column `context_date` lives in the path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub message_id: i64,
    pub user_id: Option<i64>,
    pub user_is_bot: Option<bool>,
    pub user_first_name: Option<String>,
    pub chat_id: i64,
    pub chat_type: Option<String>,
    pub text: Option<String>,
    pub date: i64,
    pub update_id: i64,
    pub message_type: &'static str,
    pub user_last_name: Option<String>,
    pub user_username: Option<String>,
    pub chat_title: Option<String>,
    pub caption: Option<String>,
    pub reply_to_message_id: Option<i64>,
    pub edit_date: Option<i64>,
}

impl Row {
    pub fn from_message(update_id: i64, m: Message) -> Row {
        let (user_id, user_is_bot, user_first_name, user_last_name, user_username) = match m.from {
            Some(u) => (Some(u.id), u.is_bot, u.first_name, u.last_name, u.username),
            None => (None, None, None, None, None),
        };
        Row {
            message_id: m.message_id,
            user_id,
            user_is_bot,
            user_first_name,
            chat_id: m.chat.id,
            chat_type: m.chat.kind,
            text: m.text,
            date: m.date,
            update_id,
            message_type: m.message_type,
            user_last_name,
            user_username,
            chat_title: m.chat.title,
            caption: m.caption,
            reply_to_message_id: m.reply_to_message_id,
            edit_date: m.edit_date,
        }
    }

    /// Applies an edit: the edited message carries the message's new content.
    fn apply_edit(&mut self, edit: &Row) {
        self.text.clone_from(&edit.text);
        self.caption.clone_from(&edit.caption);
        self.edit_date = edit.edit_date;
    }
}

#[derive(Default)]
struct Entry {
    original: Option<Row>,
    /// Whether the original kept came from an export (`tgpipe import`).
    original_imported: bool,
    latest_edit: Option<Row>,
    /// Whether the latest edit is an imported copy's (an edit the webhook never delivered).
    latest_edit_imported: bool,
}

impl Entry {
    /// Keeps `edit` as the content if it is the latest: by `edit_date`, then the webhook's copy
    /// over an imported one, then the highest `update_id`.
    fn offer_edit(&mut self, edit: &Row, imported: bool) {
        let key = |r: &Row, imported: bool| (r.edit_date, !imported, r.update_id);
        let newer = self
            .latest_edit
            .as_ref()
            .is_none_or(|old| key(edit, imported) > key(old, self.latest_edit_imported));
        if newer {
            self.latest_edit = Some(edit.clone());
            self.latest_edit_imported = imported;
        }
    }
}

/// Collects the updates of one day and yields one row per message.
///
/// A message is identified by `(chat_id, message_id)`, so the same message arriving twice
/// (a webhook retry, a history import) is one row; of several copies the webhook's with the
/// lowest `update_id` is kept (an imported copy only when the webhook has none), whatever order
/// they were read in. Of every copy that carries an edit (the webhook's edits, and an imported
/// copy edited before the export), the one with the latest `edit_date` (then the webhook's, then
/// the highest `update_id`) sets the text, caption and `edit_date`: an edit only the export
/// knows is not lost. An edit whose original is missing still yields a row, built from the edit.
#[derive(Default)]
pub struct DayRows {
    messages: HashMap<(i64, i64), Entry>,
}

impl DayRows {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one update; updates that carry no message add nothing.
    pub fn add(&mut self, update: Update) {
        let Some((kind, message)) = update.message else {
            return;
        };
        let imported = update.imported;
        let row = Row::from_message(update.update_id, message);
        let entry = self
            .messages
            .entry((row.chat_id, row.message_id))
            .or_default();
        if kind.is_edit() {
            entry.offer_edit(&row, imported);
            return;
        }
        if imported && row.edit_date.is_some() {
            entry.offer_edit(&row, imported);
        }
        if entry
            .original
            .as_ref()
            .is_none_or(|old| (imported, row.update_id) < (entry.original_imported, old.update_id))
        {
            entry.original = Some(row);
            entry.original_imported = imported;
        }
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The rows, in a deterministic order: by date, chat, message.
    pub fn into_rows(self) -> Vec<Row> {
        let mut rows: Vec<Row> = self
            .messages
            .into_values()
            .filter_map(|entry| match (entry.original, entry.latest_edit) {
                (Some(mut row), Some(edit)) => {
                    row.apply_edit(&edit);
                    Some(row)
                }
                (Some(row), None) | (None, Some(row)) => Some(row),
                (None, None) => None,
            })
            .collect();
        rows.sort_unstable_by_key(|r| (r.date, r.chat_id, r.message_id));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: &str) -> Update {
        Update::from_slice(json.as_bytes()).unwrap()
    }

    #[test]
    fn latest_edit_wins_in_any_order_and_duplicates_collapse() {
        let original = r#"{"update_id":10,"message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"text":"v0","from":{"id":7,"is_bot":false,"first_name":"A"}}}"#;
        let copy = r#"{"update_id":30,"message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"text":"v0 copy"}}"#;
        let edit1 = r#"{"update_id":11,"edited_message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"edit_date":200,"text":"v1"}}"#;
        let edit2 = r#"{"update_id":12,"edited_message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"edit_date":300,"text":"v2"}}"#;
        for order in [
            [copy, edit2, original, edit1],
            [edit1, original, edit2, copy],
        ] {
            let mut day = DayRows::new();
            for u in order {
                day.add(update(u));
            }
            let rows = day.into_rows();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].text.as_deref(), Some("v2"));
            assert_eq!(rows[0].edit_date, Some(300));
            assert_eq!(rows[0].update_id, 10);
            assert_eq!(rows[0].user_first_name.as_deref(), Some("A"));
        }
    }

    #[test]
    fn the_webhooks_copy_of_a_message_wins_over_the_imported_one() {
        let received = r#"{"update_id":900,"message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"text":"from the webhook"}}"#;
        let imported = r#"{"update_id":0,"tgpipe_imported":true,"message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"text":"from the export"}}"#;
        let other = r#"{"update_id":0,"tgpipe_imported":true,"message":{"message_id":2,"chat":{"id":-1,"type":"group"},"date":100,"tgpipe_service":"boost_apply"}}"#;
        for order in [[received, imported, other], [other, imported, received]] {
            let mut day = DayRows::new();
            for u in order {
                day.add(update(u));
            }
            let rows = day.into_rows();
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[0].text.as_deref(), Some("from the webhook"));
            assert_eq!(rows[1].message_type, "service");
        }
    }

    #[test]
    fn of_all_copies_the_latest_edit_wins_whichever_way_it_came() {
        let received = r#"{"update_id":900,"message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"text":"v0","from":{"id":7,"is_bot":false,"first_name":"A","username":"a"}}}"#;
        let webhook_edit = r#"{"update_id":901,"edited_message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"edit_date":150,"text":"v1"}}"#;
        // Edited again while the webhook was down: only the export knows.
        let exported = r#"{"update_id":0,"tgpipe_imported":true,"message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"edit_date":200,"text":"v2","from":{"id":7,"is_bot":false,"first_name":"A"}}}"#;
        // The same edit from both: the webhook's copy.
        let same_edit = r#"{"update_id":0,"tgpipe_imported":true,"message":{"message_id":1,"chat":{"id":-1,"type":"group"},"date":100,"edit_date":150,"text":"v1 as exported"}}"#;
        for order in [
            [received, webhook_edit, exported],
            [exported, webhook_edit, received],
        ] {
            let mut day = DayRows::new();
            order.iter().for_each(|u| day.add(update(u)));
            let rows = day.into_rows();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].text.as_deref(), Some("v2"));
            assert_eq!(rows[0].edit_date, Some(200));
            // The rest is the webhook's copy (the username only it has).
            assert_eq!(rows[0].user_username.as_deref(), Some("a"));
        }
        for order in [
            [received, webhook_edit, same_edit],
            [same_edit, webhook_edit, received],
        ] {
            let mut day = DayRows::new();
            order.iter().for_each(|u| day.add(update(u)));
            assert_eq!(day.into_rows()[0].text.as_deref(), Some("v1"));
        }
    }

    #[test]
    fn edit_without_original_still_yields_a_row() {
        let mut day = DayRows::new();
        day.add(update(
            r#"{"update_id":5,"edited_channel_post":{"message_id":9,"chat":{"id":-2,"type":"channel"},"date":1,"edit_date":2,"text":"t"}}"#,
        ));
        let rows = day.into_rows();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].message_id, rows[0].user_id), (9, None));
    }
}
