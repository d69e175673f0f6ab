//! Resource-based permissions on the stack's functions: who may invoke them, from where.

use aws_sdk_lambda::Client;

use crate::aws::{AwsResultExt, NotFound};
use crate::plan::State;

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
                client
                    .remove_permission()
                    .function_name(&self.function)
                    .statement_id(self.statement_id)
                    .send()
                    .await
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
