//! The handler's configuration, read once at cold start: where updates go, which chats are
//! kept, the zone days are filed in, and the webhook secret(s), which never show in `Debug`.

use std::collections::BTreeSet;

use lake::env::{self, MissingVar};
use lake::{Storage, TimeZone};
use subtle::ConstantTimeEq;

use crate::Sink;

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
    #[error(
        "{} must hold one secret, or two separated by a comma while a rotation is under way",
        env::WEBHOOK_SECRET
    )]
    BadSecrets,
    #[error(transparent)]
    TimeZone(#[from] lake::DayError),
    #[error(transparent)]
    Storage(#[from] lake::StorageError),
}

/// The handler's configuration, read once at cold start.
pub struct Config {
    pub sink: Sink,
    /// The secrets Telegram may send: one, or the new and the old during a rotation.
    pub(crate) secrets: Vec<String>,
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
    /// `secrets` as `TGPIPE_WEBHOOK_SECRET` holds them: one, or two separated by a comma.
    pub fn new(
        raw: Storage,
        allowed_chats: BTreeSet<i64>,
        secrets: &str,
        tz: TimeZone,
    ) -> Result<Self, ConfigError> {
        Ok(Config {
            sink: Sink::new(raw, allowed_chats, tz),
            secrets: parse_secrets(secrets)?,
        })
    }

    /// Reads the configuration through `var` (the process environment in the Lambda).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let raw = Storage::open(&env::required(&var, env::RAW_BUCKET)?)?;
        let secrets = env::required(&var, env::WEBHOOK_SECRET)?;
        let allowed_chats = parse_chat_ids(&env::required(&var, env::ALLOWED_CHAT_IDS)?)?;
        let tz = env::time_zone(&var)?;
        Config::new(raw, allowed_chats, &secrets, tz)
    }
}

/// Splits `TGPIPE_WEBHOOK_SECRET`: one secret, or two while a rotation is under way.
pub fn parse_secrets(text: &str) -> Result<Vec<String>, ConfigError> {
    let secrets: Vec<String> = text.split(',').map(|s| s.trim().to_owned()).collect();
    if secrets.is_empty() || secrets.len() > 2 || secrets.iter().any(String::is_empty) {
        return Err(ConfigError::BadSecrets);
    }
    Ok(secrets)
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

pub(crate) fn secret_matches(expected: &[String], given: Option<&str>) -> bool {
    // Every secret is compared, so that the time taken tells nothing about which matched.
    given.is_some_and(|g| {
        expected.iter().fold(false, |any, e| {
            any | bool::from(e.as_bytes().ct_eq(g.as_bytes()))
        })
    })
}
