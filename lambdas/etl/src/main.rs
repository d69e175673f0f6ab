//! The ETL Lambda's `bootstrap`.
//!
//! Without arguments it serves Lambda invocations. With `--event JSON` (for example
//! `--event '{"dates":["2024-05-01"]}'`) it runs that one event here and prints the summary: the
//! very code the Lambda runs, on a local directory (`file://` locations) or a bucket.

use etl::{Config, Request};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, run, service_fn};
use serde_json::Value;

const USAGE: &str = "usage: etl [--event JSON]\n\
  configured by TGPIPE_RAW_BUCKET, TGPIPE_ENRICHED_BUCKET, TGPIPE_TIMEZONE\n\
  (bucket names, s3://bucket or file:///absolute/dir)";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = Config::from_vars(|name| std::env::var(name).ok())?;
    match args.as_slice() {
        [] => {
            lake::logging::init();
            let config = &config;
            let function = lake::metrics::function_name(|name| std::env::var(name).ok());
            let function = &function;
            // Errors reach Lambda under a name a person can search the logs for.
            run(service_fn(move |event: LambdaEvent<Value>| async move {
                let request = Request::from_event(&event.payload)?;
                // The function's own deadline: a backlog stops in time, and the next run goes on.
                let deadline = i64::try_from(event.context.deadline)
                    .ok()
                    .and_then(chrono::DateTime::from_timestamp_millis);
                let summary = etl::run_until(config, request, chrono::Utc::now(), deadline).await?;
                // An embedded-format metric: CloudWatch reads it from the log, no API call.
                println!("{}", summary.metric(function, chrono::Utc::now()));
                summary.into_result().map_err(Diagnostic::from)
            }))
            .await
        }
        [flag, event] if flag == "--event" => {
            let event: Value = serde_json::from_str(event)
                .map_err(|e| format!("--event is not JSON: {e}\n{USAGE}"))?;
            let summary =
                etl::run(&config, Request::from_event(&event)?, chrono::Utc::now()).await?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            summary.into_result()?;
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}
