//! The functions' log groups, with a finite retention.

use aws_sdk_cloudwatchlogs::Client;

use crate::aws::{AlreadyExists, AwsResultExt, NotFound, removal};
use crate::plan::{Kind, Removal, Removed, Resource};
use crate::stack::lambda::LOG_RETENTION_DAYS;
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::{Clients, Desired, Function, Note, Outputs, Part, STACK_TAG, Stack};

/// A log group as found: its retention (`None`: kept forever) and whether it is the stack's.
#[derive(Debug, Clone)]
pub struct Group {
    retention: Option<i32>,
    owned: bool,
}

async fn read_group(client: &Client, stack: &Stack, name: &str) -> anyhow::Result<Option<Group>> {
    let out = client
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .aws(format!("CloudWatch Logs DescribeLogGroups {name}"))?;
    let Some(group) = out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
    else {
        return Ok(None);
    };
    #[allow(deprecated)] // ListTagsForResource needs the ARN; this takes the name.
    let owned = match client
        .list_tags_log_group()
        .log_group_name(name)
        .send()
        .await
    {
        Ok(out) => stack.owns_map(out.tags()),
        // Deleted between the two calls.
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e).aws(format!("CloudWatch Logs ListTagsLogGroup {name}")),
    };
    Ok(Some(Group {
        retention: group.retention_in_days(),
        owned,
    }))
}

/// The functions' log groups.
pub struct LogGroups;

impl Part for LogGroups {
    /// Each group, in [`Function::ALL`]'s order; `None` when missing.
    type Found = Vec<Option<Group>>;
    const LABEL: &'static str = "log groups";
    const STAGE: usize = 0;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Self::Found> {
        futures::future::try_join_all(
            Function::ALL
                .map(|f| async move { read_group(&c.logs, stack, &stack.log_group(f)).await }),
        )
        .await
    }

    fn claims(&self, found: &Self::Found, stack: &Stack) -> Vec<Claim> {
        Function::ALL
            .iter()
            .zip(found)
            .map(|(f, g)| {
                Claim::new(
                    Kind::LogGroup,
                    stack.log_group(*f),
                    g.as_ref().map(|g| g.owned),
                )
            })
            .collect()
    }

    fn states(&self, found: &Self::Found, stack: &Stack, _: Option<&Desired>) -> Vec<Resource> {
        Function::ALL
            .iter()
            .zip(found)
            .map(|(f, g)| {
                let drift = g.as_ref().map(|g| {
                    if g.retention == Some(LOG_RETENTION_DAYS) {
                        vec![]
                    } else {
                        vec!["retention differs"]
                    }
                });
                Resource::with_drift(Kind::LogGroup, stack.log_group(*f), drift)
            })
            .collect()
    }

    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        _: &Desired,
        found: &Self::Found,
        _: &Outputs,
        _: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        let client = &c.logs;
        // The two groups are independent: made side by side.
        futures::future::try_join_all(Function::ALL.iter().zip(found).map(|(f, g)| async move {
            let name = &stack.log_group(*f);
            if g.is_none() {
                match client
                    .create_log_group()
                    .log_group_name(name)
                    .tags(STACK_TAG, stack.name.as_str())
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.is_already_exists() => {}
                    Err(e) => return Err(e).aws(format!("CloudWatch Logs CreateLogGroup {name}")),
                }
            }
            if g.as_ref()
                .is_none_or(|g| g.retention != Some(LOG_RETENTION_DAYS))
            {
                client
                    .put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(LOG_RETENTION_DAYS)
                    .send()
                    .await
                    .aws(format!("CloudWatch Logs PutRetentionPolicy {name}"))?;
            }
            anyhow::Ok(())
        }))
        .await?;
        Ok(Outputs::default())
    }

    async fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        foreign: &Foreign,
        _: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        destroy(&c.logs, stack, foreign).await
    }
}

async fn destroy(
    client: &Client,
    stack: &Stack,
    foreign: &Foreign,
) -> anyhow::Result<Vec<Removed>> {
    let mut out = Vec::new();
    for f in Function::ALL {
        let name = stack.log_group(f);
        if foreign.contains(Kind::LogGroup, &name) {
            out.push(Removed::new(Kind::LogGroup, name, Removal::NotOurs));
            continue;
        }
        let result = client.delete_log_group().log_group_name(&name).send().await;
        let what = removal(result, format!("CloudWatch Logs DeleteLogGroup {name}"))?;
        out.push(Removed::new(Kind::LogGroup, name, what));
    }
    Ok(out)
}
