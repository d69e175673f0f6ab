//! The ingest handler: one Telegram webhook call (an API Gateway HTTP API v2 event) in, the update
//! stored byte for byte in the raw bucket, a status code out.
//!
//! 401 on a wrong secret, 400 on a body that is not an update, 200 for chats we do not keep, 200
//! once stored, and 5xx only when storing failed, so that Telegram retries just then.

use std::collections::{BTreeSet, HashMap};

use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use lake::env::{self, MissingVar};
use lake::{Storage, TimeZone, layout, update};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use subtle::ConstantTimeEq;

/// The header Telegram sends the webhook's secret token in (lower-cased by API Gateway).
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// The largest body we accept.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Missing(#[from] MissingVar),
    #[error(
        "{name} has an invalid chat id {value:?}: chat ids are integers such as -1001234567890"
    )]
    BadChatId { name: &'static str, value: String },
    #[error("{} must name at least one chat id", env::ALLOWED_CHAT_IDS)]
    NoChats,
    #[error(transparent)]
    TimeZone(#[from] lake::DayError),
    #[error(transparent)]
    Storage(#[from] lake::StorageError),
}

/// Where updates are kept and which: the part of the configuration that the webhook and local
/// polling (`tgpipe local poll`) share.
#[derive(Debug)]
pub struct Sink {
    pub raw: Storage,
    pub allowed_chats: BTreeSet<i64>,
    pub tz: TimeZone,
}

/// The handler's configuration, read once at cold start.
pub struct Config {
    pub sink: Sink,
    secret: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is deliberately left out.
        f.debug_struct("Config")
            .field("sink", &self.sink)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn new(raw: Storage, allowed_chats: BTreeSet<i64>, secret: String, tz: TimeZone) -> Self {
        Config {
            sink: Sink {
                raw,
                allowed_chats,
                tz,
            },
            secret,
        }
    }

    /// Reads the configuration through `var` (the process environment in the Lambda).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let raw = Storage::open(&env::required(&var, env::RAW_BUCKET)?)?;
        let secret = env::required(&var, env::WEBHOOK_SECRET)?;
        let allowed_chats = parse_chat_ids(&env::required(&var, env::ALLOWED_CHAT_IDS)?)?;
        let tz = env::time_zone(&var)?;
        Ok(Config::new(raw, allowed_chats, secret, tz))
    }
}

/// Parses `-100123,-100456` into chat ids.
pub fn parse_chat_ids(text: &str) -> Result<BTreeSet<i64>, ConfigError> {
    let ids = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().map_err(|_| ConfigError::BadChatId {
                name: env::ALLOWED_CHAT_IDS,
                value: s.to_owned(),
            })
        })
        .collect::<Result<BTreeSet<_>, _>>()?;
    if ids.is_empty() {
        return Err(ConfigError::NoChats);
    }
    Ok(ids)
}

/// The parts of an API Gateway HTTP API (payload 2.0) event the handler reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpEvent {
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: bool,
}

/// The response API Gateway turns into the HTTP answer to Telegram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl HttpResponse {
    /// Success has an empty body: Telegram would execute a JSON body as a Bot API call.
    fn ok() -> Self {
        Self::text(200, "")
    }

    fn text(status_code: u16, body: &str) -> Self {
        HttpResponse {
            status_code,
            headers: HashMap::from([("content-type".to_owned(), "text/plain".to_owned())]),
            body: body.to_owned(),
        }
    }
}

/// What the handler did with a request, for the log line and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Unauthorized,
    BadRequest(&'static str),
    Ignored {
        update_id: i64,
        chat_id: Option<i64>,
    },
    Stored {
        key: String,
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
            Outcome::Ignored { .. } | Outcome::Stored { .. } => HttpResponse::ok(),
            Outcome::StoreFailed { .. } => HttpResponse::text(503, "storage unavailable, retry"),
        }
    }
}

fn header<'a>(event: &'a HttpEvent, name: &str) -> Option<&'a str> {
    // API Gateway lower-cases header names; compare without case anyway.
    event
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn secret_matches(expected: &str, given: Option<&str>) -> bool {
    given.is_some_and(|g| bool::from(expected.as_bytes().ct_eq(g.as_bytes())))
}

/// Handles one webhook call. `now` is the time of arrival, used for updates without a date.
pub async fn handle(config: &Config, event: Value, now: DateTime<Utc>) -> Outcome {
    // Anything at all may arrive here: an event that is not an HTTP call is a bad request.
    let Ok(event) = serde_json::from_value::<HttpEvent>(event) else {
        return Outcome::BadRequest("not an HTTP API event");
    };
    if !secret_matches(&config.secret, header(&event, SECRET_HEADER)) {
        return Outcome::Unauthorized;
    }
    let Some(body) = event.body else {
        return Outcome::BadRequest("empty body");
    };
    let body: Bytes = if event.is_base64_encoded {
        // Base64 is 4/3 of the bytes: refuse oversized bodies before decoding them.
        if body.len() > MAX_BODY_BYTES / 3 * 4 + 4 {
            return Outcome::BadRequest("body over 1 MiB");
        }
        match base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
            Ok(bytes) => bytes.into(),
            Err(_) => return Outcome::BadRequest("body is not valid base64"),
        }
    } else {
        body.into_bytes().into()
    };
    keep(&config.sink, body, now).await
}

/// Keeps one update, given as its JSON bytes, which are stored unchanged: under its day and
/// `update_id` when its chat is allowed (so a second delivery overwrites the first with the
/// same bytes), ignored otherwise. `now` is the time of arrival, for updates without a date.
pub async fn keep(sink: &Sink, body: Bytes, now: DateTime<Utc>) -> Outcome {
    if body.len() > MAX_BODY_BYTES {
        return Outcome::BadRequest("body over 1 MiB");
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return Outcome::BadRequest("body is not JSON");
    };
    let Some(routing) = update::route(&value) else {
        return Outcome::BadRequest("body is not an update: no integer update_id");
    };
    match routing.chat_id {
        Some(chat) if sink.allowed_chats.contains(&chat) => {}
        chat_id => {
            return Outcome::Ignored {
                update_id: routing.update_id,
                chat_id,
            };
        }
    }
    let day = routing
        .date
        .and_then(|ts| lake::day_of(ts, sink.tz))
        .unwrap_or_else(|| lake::day::today(now, sink.tz));
    let key = layout::raw_key(day, routing.update_id);
    match sink.raw.put(&key, body).await {
        Ok(()) => Outcome::Stored { key },
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
        assert!(secret_matches("s3cret", Some("s3cret")));
        assert!(!secret_matches("s3cret", Some("s3cre")));
        assert!(!secret_matches("s3cret", Some("s3cret ")));
        assert!(!secret_matches("s3cret", None));
    }
}
