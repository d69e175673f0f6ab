//! Local mode: the pipeline on one machine, with no AWS account. A data directory laid out like
//! the buckets (`DIR/raw/telegram/…`, `DIR/enriched/telegram/…`) is filled by long polling
//! Telegram's `getUpdates` through the ingest Lambda's own code, turned into Parquet by the ETL
//! Lambda's own code, and queried by `tgpipe query --local DIR`.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use ingest::{Outcome, Sink};
use lake::layout::{ENRICHED_STORE, RAW_STORE};
use lake::{Storage, TimeZone};
use serde::Deserialize;

use crate::telegram::{Telegram, TelegramError};

/// How long one `getUpdates` call waits for an update (Telegram's long poll).
pub const POLL_WAIT: Duration = Duration::from_secs(25);

#[derive(Debug, thiserror::Error)]
pub enum LocalModeError {
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error(
        "the bot sends its updates to a webhook ({0}), and Telegram gives no updates to polling while it is set: run `tgpipe down` to stop the AWS pipeline, or pass --delete-webhook to take the updates here (they are kept by Telegram meanwhile)"
    )]
    WebhookSet(String),
    #[error(
        "cannot store update {update_id} ({key}): {error}; it stays with Telegram, run again once the directory is writable"
    )]
    StoreFailed {
        update_id: i64,
        key: String,
        error: String,
    },
    #[error("no raw updates at {raw}: fill it with `tgpipe local poll {dir} --chat-id …` first", raw = .0.join(RAW_STORE).display(), dir = .0.display())]
    NoRaw(PathBuf),
    #[error("cannot use {0} as a data directory: {1}")]
    Dir(PathBuf, String),
    #[error(transparent)]
    Etl(#[from] etl::EtlError),
    #[error(
        "update {0} is stored, but its id is the largest there is, so Telegram cannot be told to move past it; Telegram's ids never go that high, so this is not Telegram's Bot API: check --telegram-api-url"
    )]
    UnconfirmableUpdate(i64),
}

/// The raw and enriched stores of a data directory (created if missing).
pub fn stores(dir: &Path) -> Result<(Storage, Storage), LocalModeError> {
    // Storage creates what is missing for the owner alone (0700): it holds people's messages.
    let open = |name: &str| {
        Storage::local(dir.join(name))
            .map_err(|e| LocalModeError::Dir(dir.to_owned(), e.to_string()))
    };
    Ok((open(RAW_STORE)?, open(ENRICHED_STORE)?))
}

/// The sink that polling keeps updates in: the same as the ingest Lambda's, less the marks of
/// late days (`local etl` looks at every day).
pub fn sink(raw: Storage, chats: &[i64], tz: TimeZone) -> Sink {
    Sink::new(raw, chats.iter().copied().collect::<BTreeSet<_>>(), tz).without_notes()
}

/// What a poll did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub kept: usize,
    pub ignored: usize,
    /// The chats whose updates were ignored, with their titles where the updates gave one.
    pub ignored_chats: std::collections::BTreeMap<i64, Option<String>>,
    /// Updates that could not be read (no `update_id`, not JSON): kept in quarantine, as the
    /// ingest Lambda keeps them, and confirmed.
    pub unreadable: usize,
}

/// What a running poll tells its caller.
pub enum PollEvent<'a> {
    /// A batch was kept (and will be confirmed by the next call).
    Batch(&'a PollReport),
    /// A call failed in a way that passes (network, Telegram's 5xx or 429): retried after `delay`.
    Retry {
        error: &'a TelegramError,
        delay: Duration,
    },
}

/// How many failed calls in a row `--once` retries before it gives up (a long poll never does).
const ONCE_RETRIES: u32 = 5;
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// Whether a failed call may succeed if made again.
fn passes(error: &TelegramError) -> bool {
    match error {
        TelegramError::Http { .. } => true,
        TelegramError::Api { code, .. } => *code == 429 || *code >= 500,
        TelegramError::MalformedToken | TelegramError::Unauthorized => false,
    }
}

#[derive(Deserialize)]
struct UpdateId {
    update_id: i64,
}

/// Long-polls `getUpdates` and keeps every update of an allowed chat in `sink`, confirming an
/// update to Telegram only once it is stored. With `once`, it stops when no update is waiting;
/// otherwise when `stop` completes (Ctrl-C). Calls that fail in a way that passes are retried
/// with a growing delay. `tell` hears of each batch kept and each retry.
pub async fn poll(
    bot: &Telegram,
    sink: &Sink,
    delete_webhook: bool,
    once: bool,
    stop: impl Future<Output = ()>,
    tell: &dyn Fn(PollEvent),
) -> Result<PollReport, LocalModeError> {
    let hook = bot.get_webhook_info().await?;
    if !hook.url.is_empty() {
        if !delete_webhook {
            return Err(LocalModeError::WebhookSet(hook.url));
        }
        bot.delete_webhook().await?;
    }
    let mut report = PollReport::default();
    // `offset` confirms what is stored; `sent` is the offset Telegram was last given.
    let mut offset: Option<i64> = None;
    let mut sent: Option<i64>;
    let mut stop = std::pin::pin!(stop);
    let (mut failures, mut delay) = (0, Duration::from_secs(1));
    'poll: loop {
        let wait = if once { Duration::ZERO } else { POLL_WAIT };
        // Only waits are cut short by Ctrl-C, never the storing of a batch.
        sent = offset;
        let result = tokio::select! {
            result = bot.get_updates(offset, wait) => result,
            () = &mut stop => break,
        };
        let updates = match result {
            Ok(updates) => {
                (failures, delay) = (0, Duration::from_secs(1));
                updates
            }
            Err(error) if passes(&error) && !(once && failures >= ONCE_RETRIES) => {
                // Flood control says how long to wait: never less than that.
                if let TelegramError::Api {
                    retry_after: Some(seconds),
                    ..
                } = &error
                {
                    delay = delay.max(Duration::from_secs(*seconds));
                }
                tell(PollEvent::Retry {
                    error: &error,
                    delay,
                });
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = &mut stop => break 'poll,
                }
                (failures, delay) = (failures + 1, (delay * 2).min(MAX_RETRY_DELAY));
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        if updates.is_empty() {
            if once {
                break;
            }
            continue;
        }
        let texts: Vec<String> = updates.iter().map(|u| u.get().to_owned()).collect();
        // A failed store ends the poll before the batch is confirmed: Telegram sends it again,
        // and what was stored of it is rewritten with the same bytes.
        let this = keep_all(sink, &texts).await?;
        offset = offset.max(next_offset(&texts)?);
        tell(PollEvent::Batch(&this));
        report.kept += this.kept;
        report.ignored += this.ignored;
        report.unreadable += this.unreadable;
        report.ignored_chats.extend(this.ignored_chats);
    }
    // The next call would confirm the last batch; make it now, without waiting, so that a
    // stopped poll does not receive (and rewrite) the same updates next time.
    if offset != sent {
        bot.get_updates(offset, Duration::ZERO).await?;
    }
    Ok(report)
}

/// The offset that confirms a stored batch: one past its top `update_id` (none without ids).
fn next_offset(texts: &[String]) -> Result<Option<i64>, LocalModeError> {
    let top = texts
        .iter()
        .filter_map(|t| serde_json::from_str::<UpdateId>(t).ok())
        .map(|u| u.update_id)
        .max();
    match top {
        None => Ok(None),
        // Confirming an id means asking for the one after it, which the top id has not.
        Some(top) => top
            .checked_add(1)
            .map(Some)
            .ok_or(LocalModeError::UnconfirmableUpdate(top)),
    }
}

/// Runs the ETL on a data directory: the days given, or every day whose raw updates are newer
/// than its Parquet. `None` when there is nothing to do.
pub async fn etl(
    dir: &Path,
    dates: &[chrono::NaiveDate],
) -> Result<Option<etl::Summary>, LocalModeError> {
    if !dir.join(RAW_STORE).is_dir() {
        return Err(LocalModeError::NoRaw(dir.to_owned()));
    }
    let (raw, enriched) = stores(dir)?;
    // The zone only picks "today" for the Lambda's weekly look-back, which is not used here:
    // the days are those of the raw keys, fixed when the updates were kept.
    let config = etl::Config {
        raw,
        enriched,
        tz: chrono_tz::UTC,
    };
    let days = if dates.is_empty() {
        etl::stale_raw_days(&config).await?
    } else {
        dates.iter().copied().collect()
    };
    if days.is_empty() {
        return Ok(None);
    }
    let summary = etl::run(&config, etl::Request::Dates(days), Utc::now()).await?;
    Ok(Some(summary))
}

/// The title (or @username) of the chat an update belongs to, as the update gives it.
fn chat_title(update: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(update).ok()?;
    lake::update::chat_of(&value)?.title
}

/// Keeps `updates` (JSON texts, as Telegram sends them) in `sink` as polling would.
pub async fn keep_all(sink: &Sink, updates: &[String]) -> Result<PollReport, LocalModeError> {
    let mut report = PollReport::default();
    for update in updates {
        match ingest::keep(sink, Bytes::copy_from_slice(update.as_bytes()), Utc::now()).await {
            Outcome::Stored { .. } => report.kept += 1,
            Outcome::Ignored { chat_id, .. } => {
                report.ignored += 1;
                if let Some(id) = chat_id {
                    report
                        .ignored_chats
                        .entry(id)
                        .or_insert_with(|| chat_title(update));
                }
            }
            Outcome::StoreFailed { key, error } => {
                let update_id = serde_json::from_str::<UpdateId>(update)
                    .map(|u| u.update_id)
                    .unwrap_or_default();
                return Err(LocalModeError::StoreFailed {
                    update_id,
                    key,
                    error,
                });
            }
            Outcome::Quarantined { .. } | Outcome::BadRequest(_) | Outcome::Unauthorized => {
                report.unreadable += 1
            }
        }
    }
    Ok(report)
}
