//! Resource-based permissions on the stack's functions: who may invoke them, from where.

use anyhow::Context;
use aws_sdk_lambda::Client;

use crate::aws::{AwsResultExt, FindExt, NotFound};
use crate::plan::State;
use crate::stack::Function;

/// The id of the one statement each function's policy should hold: the API's permission to
/// invoke the ingest function, the schedule's to invoke the ETL.
pub fn statement_id(f: Function) -> &'static str {
    match f {
        Function::Ingest => "tgpipe-apigateway",
        Function::Etl => "tgpipe-eventbridge",
    }
}

/// A statement of a function's policy that is not the stack's: who else may invoke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    pub statement_id: String,
    /// The principal (a service, an account), as the policy names it.
    pub principal: String,
}

impl std::fmt::Display for Invoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (statement {})", self.principal, self.statement_id)
    }
}

/// The statements of `function`'s policy other than the stack's own: anyone else allowed to
/// invoke it (a function that reads the chats' raw updates, holds the webhook secret, writes the
/// lake), which `up` removes.
pub async fn others(client: &Client, function: &str, ours: &str) -> anyhow::Result<Vec<Invoker>> {
    let policy = match client.get_policy().function_name(function).send().await {
        Ok(out) => out.policy().map(str::to_owned).unwrap_or_default(),
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e).aws(format!("Lambda GetPolicy {function}")),
    };
    let policy: serde_json::Value = serde_json::from_str(&policy)
        .with_context(|| format!("Lambda GetPolicy {function}: the policy is not JSON"))?;
    Ok(policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Sid"] != ours)
        .map(|s| Invoker {
            statement_id: s["Sid"].as_str().unwrap_or_default().to_owned(),
            principal: match &s["Principal"] {
                serde_json::Value::Object(p) => p
                    .values()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned),
            },
        })
        .collect())
}

/// Removes a statement that is not the stack's (gone already is as good).
pub async fn revoke(client: &Client, function: &str, statement_id: &str) -> anyhow::Result<()> {
    let what = format!("Lambda RemovePermission {function} {statement_id}");
    crate::stack::lambda::change_when_ready(client, function, &what, || async {
        client
            .remove_permission()
            .function_name(function)
            .statement_id(statement_id)
            .send()
            .await
            .found()
    })
    .await?;
    Ok(())
}

/// A resource-based permission on a function: `principal` may invoke it from `source_arn` only.
pub struct Permission<'a> {
    pub function: String,
    pub statement_id: &'a str,
    pub principal: &'a str,
    pub source_arn: &'a str,
}

impl Permission<'_> {
    /// Present, missing, or drifted (another source ARN).
    pub async fn state(&self, client: &Client) -> anyhow::Result<State> {
        let policy = match client
            .get_policy()
            .function_name(&self.function)
            .send()
            .await
        {
            Ok(out) => out.policy().map(str::to_owned).unwrap_or_default(),
            Err(e) if e.is_not_found() => return Ok(State::Missing),
            Err(e) => return Err(e).aws(format!("Lambda GetPolicy {}", self.function)),
        };
        let policy: serde_json::Value = serde_json::from_str(&policy).unwrap_or_default();
        let statement = policy["Statement"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["Sid"] == self.statement_id));
        Ok(match statement {
            None => State::Missing,
            Some(s) if s.to_string().contains(self.source_arn) => State::Present,
            Some(_) => State::Drifted(vec![format!(
                "{} may invoke from another source",
                self.principal
            )]),
        })
    }

    /// Adds the permission, replacing a statement of the same id that names another source.
    pub async fn ensure(&self, client: &Client, before: &State) -> anyhow::Result<()> {
        match before {
            // Permissions are always wanted: never unwanted.
            State::Present | State::Unwanted => return Ok(()),
            State::Drifted(_) => {
                // Gone meanwhile (another `up`) is as good as removed.
                client
                    .remove_permission()
                    .function_name(&self.function)
                    .statement_id(self.statement_id)
                    .send()
                    .await
                    .found()
                    .aws(format!(
                        "Lambda RemovePermission {} {}",
                        self.function, self.statement_id
                    ))?;
            }
            State::Missing => {}
        }
        let what = format!(
            "Lambda AddPermission {} {}",
            self.function, self.statement_id
        );
        let added = crate::stack::lambda::change_when_ready(client, &self.function, &what, || {
            client
                .add_permission()
                .function_name(&self.function)
                .statement_id(self.statement_id)
                .action("lambda:InvokeFunction")
                .principal(self.principal)
                .source_arn(self.source_arn)
                .send()
        })
        .await;
        match added {
            Ok(_) => Ok(()),
            // "Already there" (a retry of a call that was carried out, or another `up`): only
            // the policy read back says whether it is the statement wanted.
            Err(e) => match self.state(client).await? {
                State::Present => Ok(()),
                _ => Err(e),
            },
        }
    }
}
