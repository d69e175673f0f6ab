//! The ingest handler: one Telegram webhook call (an API Gateway HTTP API v2 event) in, the update
//! stored byte for byte in the raw bucket, a status code out.
//!
//! 401 on a wrong secret; after the secret matched, the request came from Telegram, so every
//! answer is 200 (a 4xx would make Telegram retry it for a day) except a failure to store, which
//! is 5xx so that Telegram retries just then. A body that is not an update is kept in quarantine,
//! an update of a kept chat under its day, an update of any other chat nowhere.
//!
//! Beside the update itself the handler leaves three kinds of small notes in the raw bucket: a
//! mark for a day that changed after the scheduled ETL stopped looking at it, the new id of a kept
//! group that became a supergroup (so that every instance keeps it from then on), and the id, type
//! and title of a chat it does not keep (so `tgpipe chats` can name it; never what was said).

mod config;
mod http;
mod metric;

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use lake::{Storage, TimeZone, layout, update};
use serde_json::Value;

use config::secret_matches;
pub use config::{Config, ConfigError, parse_chat_ids, parse_secrets};
pub use http::HttpResponse;
use http::{HttpEvent, header};
pub use metric::metric;

/// The header Telegram sends the webhook's secret token in (lower-cased by API Gateway).
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// The largest body we accept.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Where updates are kept and which: the part of the configuration that the webhook and local
/// polling (`tgpipe local poll`) share.
#[derive(Debug)]
pub struct Sink {
    pub raw: Storage,
    pub allowed_chats: BTreeSet<i64>,
    pub tz: TimeZone,
    /// Chats kept because a kept chat migrated to them (read back from the raw bucket's notes).
    followed: Mutex<BTreeSet<i64>>,
    /// Chats not kept that this instance noted, and when: a busy chat is noted once an hour.
    noted: Mutex<HashMap<i64, DateTime<Utc>>>,
    /// Whether a day changed late is marked for the scheduled ETL, and a chat not kept is
    /// noted for `tgpipe chats` (local mode needs neither: its ETL looks at every day, and
    /// `local poll` names each chat it does not keep as it goes).
    notes: bool,
}

impl Sink {
    pub fn new(raw: Storage, allowed_chats: BTreeSet<i64>, tz: TimeZone) -> Sink {
        Sink {
            raw,
            allowed_chats,
            tz,
            followed: Mutex::new(BTreeSet::new()),
            noted: Mutex::new(HashMap::new()),
            notes: true,
        }
    }

    /// A sink that keeps updates and nothing else: no marks of late days, no notes of chats
    /// not kept (local mode).
    pub fn without_notes(mut self) -> Sink {
        self.notes = false;
        self
    }

    fn follows(&self, chat: i64) -> bool {
        self.followed.lock().is_ok_and(|f| f.contains(&chat))
    }

    fn follow(&self, chat: i64) {
        if let Ok(mut f) = self.followed.lock() {
            f.insert(chat);
        }
    }

    /// Whether updates of `chat` are kept: an allowed chat, or one a kept chat migrated to.
    /// Another instance may have seen the migration, so an unknown chat is looked up in the
    /// notes (one small listing, only for chats that are not kept).
    async fn keeps(&self, chat: i64) -> Result<bool, lake::StorageError> {
        if self.allowed_chats.contains(&chat) || self.follows(chat) {
            return Ok(true);
        }
        let notes = self.raw.list_keys(&layout::migrated_prefix(chat)).await?;
        let kept = notes
            .iter()
            .filter_map(|k| layout::migration_of_key(k))
            .any(|(from, _)| self.allowed_chats.contains(&from) || self.follows(from));
        if kept {
            self.follow(chat);
        }
        Ok(kept)
    }

    /// Notes that kept chat `from` goes on as `to`, for every instance and for `tgpipe up`.
    async fn note_migration(
        &self,
        from: i64,
        to: i64,
        now: DateTime<Utc>,
    ) -> Result<(), lake::StorageError> {
        // The key says it all; the body is for people reading the bucket.
        let body = format!(
            "{{\"from\":{from},\"to\":{to},\"seen\":\"{}\"}}",
            now.to_rfc3339()
        );
        self.raw
            .put(&layout::migrated_key(from, to), body.into())
            .await?;
        self.follow(to);
        Ok(())
    }
}

/// How often one instance notes again a chat it does not keep (its title may change).
pub const NOTE_SEEN_EVERY: chrono::TimeDelta = chrono::TimeDelta::hours(1);

impl Sink {
    /// Notes that `chat`, which is not kept, sent an update: its id, type and title, and when.
    /// At most once an hour per instance, so a busy chat costs a few requests a day.
    async fn note_seen(
        &self,
        chat: update::ChatRef,
        now: DateTime<Utc>,
    ) -> Result<(), lake::StorageError> {
        let due = self.noted.lock().is_ok_and(|noted| {
            noted
                .get(&chat.id)
                .is_none_or(|last| now - *last >= NOTE_SEEN_EVERY)
        });
        if !due {
            return Ok(());
        }
        let key = layout::seen_key(chat.id);
        // The first sighting survives later notes, whichever instance wrote it.
        let first_seen = match self.raw.get_opt(&key).await? {
            Some(old) => serde_json::from_slice::<update::SeenChat>(&old)
                .map(|old| old.first_seen.min(now))
                .unwrap_or(now),
            None => now,
        };
        let note = update::SeenChat {
            chat,
            first_seen,
            last_seen: now,
        };
        let body = serde_json::to_vec(&note).unwrap_or_default();
        let id = note.chat.id;
        self.raw.put(&key, body.into()).await?;
        if let Ok(mut noted) = self.noted.lock() {
            noted.insert(id, now);
        }
        Ok(())
    }
}

/// What the handler did with a request, for the log line and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Unauthorized,
    /// The event is not an HTTP call at all (it did not come through the API).
    BadRequest(&'static str),
    /// A body that passed the secret check but is not an update, kept byte for byte.
    Quarantined {
        why: &'static str,
        key: String,
    },
    Ignored {
        update_id: i64,
        chat_id: Option<i64>,
    },
    Stored {
        key: String,
        /// The chat the update came from.
        chat_id: i64,
        /// The chat it showed to have migrated (`from`, `to`), when it did.
        migration: Option<(i64, i64)>,
    },
    StoreFailed {
        key: String,
        error: String,
    },
}

impl Outcome {
    pub fn response(&self) -> HttpResponse {
        match self {
            Outcome::Unauthorized => HttpResponse::text(401, "unauthorized"),
            Outcome::BadRequest(why) => HttpResponse::text(400, why),
            Outcome::Quarantined { .. } | Outcome::Ignored { .. } | Outcome::Stored { .. } => {
                HttpResponse::ok()
            }
            Outcome::StoreFailed { .. } => HttpResponse::text(503, "storage unavailable, retry"),
        }
    }
}

/// How late an update may come and still be seen by the scheduled ETL without a mark: a day up
/// to this many days before the day of arrival. The scheduled run looks back a week, so a mark is
/// needed only for older days, and as long as the run comes at least every five days.
pub const UNMARKED_DAYS_BACK: u64 = 1;

/// Handles one webhook call. `now` is the time of arrival, used for updates without a date.
pub async fn handle(config: &Config, event: Value, now: DateTime<Utc>) -> Outcome {
    // Anything at all may arrive here: an event that is not an HTTP call is a bad request.
    let Ok(event) = serde_json::from_value::<HttpEvent>(event) else {
        return Outcome::BadRequest("not an HTTP API event");
    };
    if !secret_matches(&config.secrets, header(&event, SECRET_HEADER)) {
        return Outcome::Unauthorized;
    }
    // Only Telegram knows the secret: from here on, whatever came is kept somewhere.
    let body = event.body.unwrap_or_default();
    let body: Bytes = if event.is_base64_encoded {
        match base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
            Ok(bytes) => bytes.into(),
            Err(_) => {
                return quarantine(&config.sink, "body is not valid base64", body.into(), now)
                    .await;
            }
        }
    } else {
        body.into_bytes().into()
    };
    keep(&config.sink, body, now).await
}

/// Keeps one update, given as its JSON bytes, which are stored unchanged: under its day and
/// `update_id` when its chat is kept (so a second delivery overwrites the first with the same
/// bytes), nowhere otherwise; a body that is not an update goes to quarantine. `now` is the time
/// of arrival, for updates without a date and for the marks of late changes.
pub async fn keep(sink: &Sink, body: Bytes, now: DateTime<Utc>) -> Outcome {
    if body.len() > MAX_BODY_BYTES {
        return quarantine(sink, "body over 1 MiB", body, now).await;
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return quarantine(sink, "body is not JSON", body, now).await;
    };
    let Some(routing) = update::route(&value) else {
        return quarantine(
            sink,
            "body is not an update: no integer update_id",
            body,
            now,
        )
        .await;
    };
    let failed = |key: String, e: lake::StorageError| Outcome::StoreFailed {
        key,
        error: e.to_string(),
    };
    let Some(chat) = routing.chat_id else {
        return Outcome::Ignored {
            update_id: routing.update_id,
            chat_id: None,
        };
    };
    // A kept group that becomes a supergroup goes on under a new id: whichever side of the
    // migration arrives first tells every instance, through a note, to keep the new id.
    let kept = match sink.keeps(chat).await {
        Ok(kept) => kept,
        Err(e) => return failed(layout::migrated_prefix(chat), e),
    };
    let migration = match (
        kept,
        routing.migrate_to_chat_id,
        routing.migrate_from_chat_id,
    ) {
        (true, Some(to), _) => Some((chat, to)),
        (false, _, Some(from)) if sink.allowed_chats.contains(&from) || sink.follows(from) => {
            Some((from, chat))
        }
        _ => None,
    };
    if let Some((from, to)) = migration
        && let Err(e) = sink.note_migration(from, to, now).await
    {
        return failed(layout::migrated_key(from, to), e);
    }
    if !kept && migration.is_none() {
        // The update itself is not kept whatever happens to the note: a failed note is only
        // logged, so that Telegram is not made to retry an update nobody wants.
        if sink.notes
            && let Some(seen) = update::chat_of(&value)
            && let Err(e) = sink.note_seen(seen, now).await
        {
            tracing::warn!(chat, error = %e, "could not note a chat that is not kept");
        }
        return Outcome::Ignored {
            update_id: routing.update_id,
            chat_id: Some(chat),
        };
    }
    store(sink, &routing, chat, body, now, migration).await
}

/// Stores a kept update under its day (the sink's zone), then, for a day older than
/// [`UNMARKED_DAYS_BACK`], the mark that makes the scheduled ETL rebuild it.
async fn store(
    sink: &Sink,
    routing: &update::Routing,
    chat_id: i64,
    body: Bytes,
    now: DateTime<Utc>,
    migration: Option<(i64, i64)>,
) -> Outcome {
    let failed = |key: String, e: lake::StorageError| Outcome::StoreFailed {
        key,
        error: e.to_string(),
    };
    let today = lake::day::today(now, sink.tz);
    let day = routing
        .date
        .and_then(|ts| lake::day_of(ts, sink.tz))
        .unwrap_or(today);
    let key = layout::raw_key(day, routing.update_id);
    if let Err(e) = sink.raw.put(&key, body).await {
        return failed(key, e);
    }
    // The mark comes after the update, so that a run that sees the mark sees the update too.
    let late = sink.notes
        && today
            .checked_sub_days(chrono::Days::new(UNMARKED_DAYS_BACK))
            .is_some_and(|oldest_unmarked| day < oldest_unmarked);
    if late {
        let mark = layout::changed_key(day, routing.update_id);
        if let Err(e) = sink.raw.put(&mark, Bytes::new()).await {
            return failed(mark, e);
        }
    }
    Outcome::Stored {
        key,
        chat_id,
        migration,
    }
}

/// Keeps a body that came from Telegram but is not an update, byte for byte, where the table
/// never reads (`status` counts them).
async fn quarantine(sink: &Sink, why: &'static str, body: Bytes, now: DateTime<Utc>) -> Outcome {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(&body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let key = layout::quarantine_key(lake::day::today(now, sink.tz), &hex);
    match sink.raw.put(&key, body).await {
        Ok(()) => Outcome::Quarantined { why, key },
        Err(e) => Outcome::StoreFailed {
            key,
            error: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_ids_parse_and_reject_garbage() {
        assert_eq!(
            parse_chat_ids(" -100123, 42 ,").unwrap(),
            BTreeSet::from([-100123, 42])
        );
        let err = parse_chat_ids("-100123,abc").unwrap_err().to_string();
        assert!(err.contains("\"abc\""), "{err}");
        assert!(matches!(parse_chat_ids(" , "), Err(ConfigError::NoChats)));
    }

    #[test]
    fn secret_compare() {
        let one = parse_secrets("s3cret").unwrap();
        assert!(secret_matches(&one, Some("s3cret")));
        assert!(!secret_matches(&one, Some("s3cre")));
        assert!(!secret_matches(&one, Some("s3cret ")));
        assert!(!secret_matches(&one, None));
        // During a rotation both the new and the old secret pass, and nothing else.
        let two = parse_secrets("new-one,old-one").unwrap();
        assert!(secret_matches(&two, Some("new-one")));
        assert!(secret_matches(&two, Some("old-one")));
        assert!(!secret_matches(&two, Some("new-one,old-one")));
        for bad in ["a,b,c", "a,", ",b", " "] {
            assert!(parse_secrets(bad).is_err(), "{bad}");
        }
    }
}
