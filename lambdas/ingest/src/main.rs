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
    let function = lake::metrics::function_name(|name| std::env::var(name).ok());
    let function = &function;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now = chrono::Utc::now();
        let outcome = ingest::handle(config, event.payload, now).await;
        log(&outcome);
        if let Some(metric) = ingest::metric(&outcome, function, now) {
            // An embedded-format metric: CloudWatch reads it from the log, no API call.
            println!("{metric}");
        }
        Ok::<_, Error>(outcome.response())
    }))
    .await
}

fn log(outcome: &Outcome) {
    match outcome {
        Outcome::Stored {
            key,
            migration: None,
            ..
        } => tracing::info!(%key, "stored"),
        Outcome::Stored {
            key,
            migration: Some((from, to)),
            ..
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
}
