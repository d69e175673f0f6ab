//! The functions as deployed: their variables, whether they exist, what `status` says of them.

use aws_sdk_lambda::Client;

use crate::aws::{AwsResultExt, NotFound};
use crate::plan::{Kind, Resource};
use crate::stack::{Function, Stack};

use super::{FunctionDrift, run_drift};

/// Whether both functions exist (the API and the schedule have something to invoke).
pub async fn all_exist(client: &Client, stack: &Stack) -> anyhow::Result<bool> {
    let found = futures::future::try_join_all(
        Function::ALL.map(|f| async move { configuration(client, &stack.function(f)).await }),
    )
    .await?;
    Ok(found.iter().all(Option::is_some))
}

/// A function's configuration as deployed.
pub type Configuration =
    aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;

/// A function's configuration; `None` when there is no such function.
pub async fn configuration(client: &Client, name: &str) -> anyhow::Result<Option<Configuration>> {
    match client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e).aws(format!("Lambda GetFunctionConfiguration {name}")),
    }
}

/// A variable of a configuration's environment.
pub fn variable_of(c: &Configuration, variable: &str) -> Option<String> {
    c.environment()?.variables()?.get(variable).cloned()
}

/// The variables each function must have.
fn required_variables(f: Function) -> &'static [&'static str] {
    match f {
        Function::Ingest => &[
            lake::env::RAW_BUCKET,
            lake::env::TIMEZONE,
            lake::env::ALLOWED_CHAT_IDS,
            lake::env::WEBHOOK_SECRET,
        ],
        Function::Etl => &[
            lake::env::RAW_BUCKET,
            lake::env::TIMEZONE,
            lake::env::ENRICHED_BUCKET,
        ],
    }
}

/// The functions as deployed, for `status`: present or missing, with drift in what can be known
/// without the artifacts (the code is not compared here).
pub async fn status(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Resource>> {
    futures::future::try_join_all(Function::ALL.map(|f| async move {
        let name = stack.function(f);
        let drift = match configuration(client, &name).await? {
            None => None,
            Some(c) => {
                let vars = c
                    .environment()
                    .and_then(|e| e.variables())
                    .cloned()
                    .unwrap_or_default();
                let missing: Vec<&str> = required_variables(f)
                    .iter()
                    .copied()
                    .filter(|k| !vars.contains_key(*k))
                    .collect();
                let raw_ok = vars.get(lake::env::RAW_BUCKET) == Some(&stack.raw_bucket());
                let mut drift = Vec::new();
                if !missing.is_empty() {
                    drift.push(FunctionDrift::Environment(
                        missing.iter().map(|k| k.to_string()).collect(),
                    ));
                } else if !raw_ok {
                    drift.push(FunctionDrift::Environment(vec![
                        lake::env::RAW_BUCKET.to_owned(),
                    ]));
                }
                if f == Function::Etl {
                    // Overlapping runs could leave an update out: how runs are kept apart.
                    drift.extend(run_drift(client, &name).await?);
                }
                Some(drift)
            }
        };
        anyhow::Ok(Resource::with_drift(Kind::Function, name, drift))
    }))
    .await
}
