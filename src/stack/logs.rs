//! The functions' log groups, with a finite retention.

use aws_sdk_cloudwatchlogs::Client;

use crate::aws::{AlreadyExists, AwsResultExt, NotFound, removal};
use crate::plan::{Kind, Removal, Removed, Resource, State};
use crate::stack::lambda::LOG_RETENTION_DAYS;
use crate::stack::ownership::Claim;
use crate::stack::{Function, STACK_TAG, Stack};

async fn retention(client: &Client, name: &str) -> anyhow::Result<Option<Option<i32>>> {
    let out = client
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .aws(format!("CloudWatch Logs DescribeLogGroups {name}"))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| g.retention_in_days()))
}

pub async fn inspect(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Resource>> {
    futures::future::try_join_all(Function::ALL.map(|f| async move {
        let name = stack.log_group(f);
        let state = match retention(client, &name).await? {
            None => State::Missing,
            Some(Some(LOG_RETENTION_DAYS)) => State::Present,
            Some(_) => State::Drifted(vec!["retention differs".into()]),
        };
        anyhow::Ok(Resource {
            kind: Kind::LogGroup,
            name,
            state,
        })
    }))
    .await
}

pub async fn ensure(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Resource>> {
    let before = inspect(client, stack).await?;
    // The two groups are independent: made side by side.
    futures::future::try_join_all(before.iter().map(|resource| async move {
        let name = &resource.name;
        if resource.state == State::Missing {
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
        if resource.state != State::Present {
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
    Ok(before)
}

pub async fn destroy(
    client: &Client,
    stack: &Stack,
    foreign: &crate::stack::ownership::Foreign,
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

/// Who holds the stack's log group names (see [`crate::stack::ownership`]).
pub async fn claims(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Claim>> {
    futures::future::try_join_all(Function::ALL.map(|f| async move {
        let group = stack.log_group(f);
        #[allow(deprecated)] // ListTagsForResource needs the ARN; this takes the name.
        let owned = match client
            .list_tags_log_group()
            .log_group_name(&group)
            .send()
            .await
        {
            Ok(out) => Some(stack.owns_map(out.tags())),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e).aws(format!("CloudWatch Logs ListTagsLogGroup {group}")),
        };
        anyhow::Ok(Claim::new(Kind::LogGroup, group, owned))
    }))
    .await
}
