//! The functions as deployed: their variables, and what `status` says of them.

use crate::stack::{Function, Stack};

use super::{Deployed, FunctionDrift, Functions};

/// A variable of a deployed function's environment, from what [`Functions`] read; `None` when
/// it or the function is missing.
pub fn variable(
    found: &<Functions as crate::stack::Part>::Found,
    f: Function,
    variable: &str,
) -> Option<String> {
    let index = Function::ALL.iter().position(|g| *g == f)?;
    found
        .get(index)?
        .as_ref()?
        .variable(variable)
        .map(str::to_owned)
}

/// A function as [`Functions`] read it; `None` when it is missing.
pub fn deployed(
    found: &<Functions as crate::stack::Part>::Found,
    f: Function,
) -> Option<&Deployed> {
    let index = Function::ALL.iter().position(|g| *g == f)?;
    found.get(index)?.as_ref()
}

/// The variables each function must have.
fn required_variables(f: Function) -> &'static [&'static str] {
    match f {
        Function::Ingest => &[
            lake::env::RAW_BUCKET,
            lake::env::TIMEZONE,
            lake::env::ALLOWED_CHAT_IDS,
            lake::env::WEBHOOK_SECRET,
            lake::env::BUCKET_OWNER,
        ],
        Function::Etl => &[
            lake::env::RAW_BUCKET,
            lake::env::TIMEZONE,
            lake::env::ENRICHED_BUCKET,
            lake::env::BUCKET_OWNER,
        ],
    }
}

/// A deployed function for `status`: what can be known of it without the artifacts (the code is
/// not compared here).
pub(super) fn deployed_drift(
    f: Function,
    deployed: &Deployed,
    stack: &Stack,
) -> Vec<FunctionDrift> {
    let missing: Vec<String> = required_variables(f)
        .iter()
        .filter(|k| deployed.variable(k).is_none())
        .map(|k| k.to_string())
        .collect();
    let raw_ok = deployed.variable(lake::env::RAW_BUCKET) == Some(stack.raw_bucket().as_str());
    let mut drift = Vec::new();
    if !missing.is_empty() {
        drift.push(FunctionDrift::Environment(missing));
    } else if !raw_ok {
        drift.push(FunctionDrift::Environment(vec![
            lake::env::RAW_BUCKET.to_owned(),
        ]));
    }
    if f == Function::Etl {
        // Overlapping runs could leave an update out: how runs are kept apart.
        drift.extend(deployed.run_drift());
    }
    if !deployed.invokers.is_empty() {
        drift.push(FunctionDrift::Invokers(deployed.invokers.clone()));
    }
    drift
}

/// A function's environment as deployed, read on its own (for commands that need no more of
/// the stack); `None` when there is no such function.
pub async fn deployed_environment(
    client: &aws_sdk_lambda::Client,
    name: &str,
) -> anyhow::Result<Option<std::collections::HashMap<String, String>>> {
    use crate::aws::{AwsResultExt, NotFound};
    match client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(c) => Ok(Some(
            c.environment()
                .and_then(|e| e.variables())
                .cloned()
                .unwrap_or_default(),
        )),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e).aws(format!("Lambda GetFunctionConfiguration {name}")),
    }
}
