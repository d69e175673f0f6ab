//! The fields of an exported message read as the Bot API's: who sent it (as the webhook would
//! name them), when, and when it was last edited, in every export format since 2018.

use serde_json::{Value, json};

use super::{ExportChat, ExportMessage, Skip, Unmapped};

/// Bot API ids of Telegram's own senders: a group's anonymous administrator, a user posting as
/// a channel, and Telegram's service account (a linked channel's posts in its discussion group).
const ANONYMOUS_ADMIN: (i64, &str, &str) = (1087968824, "Group", "GroupAnonymousBot");
const AS_CHANNEL: (i64, &str, &str) = (136817688, "Channel", "Channel_Bot");
const TELEGRAM: i64 = 777000;

/// `user123` → (123, a user), `channel456` → (456, a channel); a bare number (older exports) is
/// a user.
pub(super) fn peer(id: &Value) -> Option<(i64, bool)> {
    let id = match id {
        Value::Number(n) => return Some((n.as_i64()?, false)),
        Value::String(s) => s.as_str(),
        _ => return None,
    };
    if let Some(n) = id.strip_prefix("user") {
        return Some((n.parse().ok()?, false));
    }
    Some((id.strip_prefix("channel")?.parse().ok()?, true))
}

/// The message's time, in UTC seconds: `date_unixtime`, or (older exports) `date`, the exporting
/// computer's local time, read in `export_zone`.
pub(super) fn unix_date(
    m: &ExportMessage,
    export_zone: Option<lake::TimeZone>,
) -> Result<i64, Unmapped> {
    if let Some(t) = &m.date_unixtime {
        return t.parse().map_err(|_| Unmapped::Skip(Skip::BadDate));
    }
    let date = m.date.as_deref().ok_or(Unmapped::Skip(Skip::NoDate))?;
    local_time(date, export_zone)
}

/// A local time of an older export (no unix times), read in the zone of the computer that
/// exported it.
fn local_time(date: &str, export_zone: Option<lake::TimeZone>) -> Result<i64, Unmapped> {
    let Some(zone) = export_zone else {
        return Err(Unmapped::Stop(
            "the export has no date_unixtime (an older Telegram Desktop): pass --export-timezone, the zone of the computer that exported it".to_owned(),
        ));
    };
    let local = chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S")
        .map_err(|_| Unmapped::Skip(Skip::BadDate))?;
    use chrono::TimeZone as _;
    // A time in a gap of daylight saving does not exist there: the clock read it an hour on.
    zone.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.timestamp())
        .ok_or(Unmapped::Skip(Skip::BadDate))
}

/// When the message was last edited: `edited_unixtime`, or (older exports) `edited` in local
/// time, where the first day of 1970 means never.
pub(super) fn edit_date(
    m: &ExportMessage,
    export_zone: Option<lake::TimeZone>,
) -> Result<Option<i64>, Unmapped> {
    // "Never" is the epoch in the exporting computer's zone (1969-12-31 west of UTC); an edit
    // that cannot be read is left out, the message kept.
    let never = |t: i64| t < lake::layout::first_day_start();
    if let Some(t) = &m.edited_unixtime {
        return Ok(t.parse::<i64>().ok().filter(|t| !never(*t)));
    }
    match m.edited.as_deref() {
        None => Ok(None),
        Some(e) => match local_time(e, export_zone) {
            Ok(t) => Ok(Some(t).filter(|t| !never(*t))),
            Err(Unmapped::Skip(_)) => Ok(None),
            Err(stop) => Err(stop),
        },
    }
}

/// The `from` (and `sender_chat`) the Bot API gives a message whose sender is `sender`, so that
/// an imported copy maps as the webhook's does: a group's anonymous administrator and a user
/// posting as a channel are Telegram's bots with the chat as sender; a channel's own posts have
/// no `from`.
pub(super) fn sender_fields(
    message: &mut Value,
    chat: &ExportChat,
    sender: Option<(i64, bool)>,
    name: Option<&str>,
) {
    let bot = |(id, first, username): (i64, &str, &str)| json!({"id": id, "is_bot": true, "first_name": first, "username": username});
    match sender {
        Some((id, true)) => {
            let sender_chat = -(1_000_000_000_000 + id);
            if chat.kind == "channel" {
                message["sender_chat"] =
                    json!({"id": sender_chat, "type": "channel", "title": name.unwrap_or("")});
            } else if sender_chat == chat.id {
                message["sender_chat"] = message["chat"].clone();
                message["from"] = bot(ANONYMOUS_ADMIN);
            } else {
                message["sender_chat"] =
                    json!({"id": sender_chat, "type": "channel", "title": name.unwrap_or("")});
                message["from"] = bot(AS_CHANNEL);
            }
        }
        // A deleted account has a null `from` name but still an id.
        Some((id, false)) => {
            let is_bot = [ANONYMOUS_ADMIN.0, AS_CHANNEL.0, TELEGRAM].contains(&id);
            message["from"] = json!({"id": id, "is_bot": is_bot, "first_name": name.unwrap_or("Deleted Account")});
        }
        None => {}
    }
}
