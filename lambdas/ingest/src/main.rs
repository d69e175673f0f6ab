//! The ingest Lambda's `bootstrap`: configuration from the environment, then one
//! [`ingest::handle`] per API Gateway event.

use ingest::{Config, Outcome};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lake::logging::init();
    // A misconfigured function fails its init: API Gateway answers 5xx and Telegram keeps the
    // updates and retries, so nothing is lost while the configuration is fixed.
    let config = Config::from_vars(|name| std::env::var(name).ok())?;
    let config = &config;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let outcome = ingest::handle(config, event.payload, chrono::Utc::now()).await;
        match &outcome {
            Outcome::Stored {
                key,
                migration: None,
            } => tracing::info!(%key, "stored"),
            Outcome::Stored {
                key,
                migration: Some((from, to)),
            } => tracing::warn!(%key, from, to, "stored; the chat migrated, its new id is kept"),
            Outcome::Quarantined { why, key } => {
                tracing::warn!(%key, why, "quarantined: came from Telegram but is not an update")
            }
            Outcome::Ignored { update_id, chat_id } => {
                tracing::info!(update_id, ?chat_id, "ignored: chat not allowed or no chat")
            }
            Outcome::Unauthorized => tracing::warn!("rejected: wrong or missing secret token"),
            Outcome::BadRequest(why) => tracing::warn!(why, "rejected: bad request"),
            Outcome::StoreFailed { key, error } => tracing::error!(%key, %error, "store failed"),
        }
        Ok::<_, Error>(outcome.response())
    }))
    .await
}
