//! The EventBridge rule that runs the ETL daily, its target, and the ETL's invoke permission
//! scoped to the rule.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{RetryPolicy, RuleState, Tag, Target};

use crate::aws::AwsResultExt;
use crate::plan::{Kind, Removal, Removed, Resource, State};
use crate::stack::ownership::Claim;
use crate::stack::permission::Permission;
use crate::stack::{Function, STACK_TAG, Stack};

/// 00:30 UTC every day: yesterday is complete (in UTC and zones east of it).
pub const DEFAULT_SCHEDULE: &str = "cron(30 0 * * ? *)";
const TARGET_ID: &str = "tgpipe-etl";
const PERMISSION_ID: &str = "tgpipe-eventbridge";
/// When the ETL cannot be invoked (throttled, say), EventBridge tries again for a while: the
/// function's own asynchronous retries cover a run that fails.
const TARGET_RETRIES: i32 = 8;
const TARGET_MAX_AGE_S: i32 = 6 * 3600;

fn retry_policy() -> RetryPolicy {
    RetryPolicy::builder()
        .maximum_retry_attempts(TARGET_RETRIES)
        .maximum_event_age_in_seconds(TARGET_MAX_AGE_S)
        .build()
}

fn rule_arn(stack: &Stack) -> String {
    format!(
        "arn:aws:events:{}:{}:rule/{}",
        stack.region,
        stack.account,
        stack.etl_rule()
    )
}

/// The ETL function's statement that lets the schedule's rule invoke it.
fn permission<'a>(function: &'a str, source: &'a str) -> Permission<'a> {
    Permission {
        function,
        statement_id: PERMISSION_ID,
        principal: "events.amazonaws.com",
        source_arn: source,
    }
}

/// The schedule of the deployed rule; `None` when there is no rule.
pub async fn deployed_schedule(client: &Client, stack: &Stack) -> anyhow::Result<Option<String>> {
    let name = stack.etl_rule();
    match client.describe_rule().name(&name).send().await {
        Ok(r) => Ok(r.schedule_expression().map(str::to_owned)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).aws(format!("EventBridge DescribeRule {name}")),
    }
}

struct Found {
    schedule_ok: bool,
    enabled: bool,
    target_ok: bool,
    permission: State,
}

/// `schedule`: the one wanted, or `None` to take the deployed one as it is (`status`).
async fn find(
    client: &Client,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
    schedule: Option<&str>,
) -> anyhow::Result<Option<Found>> {
    let name = stack.etl_rule();
    let function_arn = stack.function_arn(Function::Etl);
    let (function, source) = (stack.function(Function::Etl), rule_arn(stack));
    let permission = permission(&function, &source);
    // The rule, its targets and the function's permission at once: a missing rule makes the
    // other two answers moot.
    let (rule, targets, permission) = tokio::join!(
        client.describe_rule().name(&name).send(),
        client.list_targets_by_rule().rule(&name).send(),
        permission.state(lambda)
    );
    let rule = match rule {
        Ok(r) => r,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e).aws(format!("EventBridge DescribeRule {name}")),
    };
    let targets = targets.aws(format!("EventBridge ListTargetsByRule {name}"))?;
    Ok(Some(Found {
        schedule_ok: schedule.is_none_or(|s| rule.schedule_expression() == Some(s)),
        enabled: rule.state() == Some(&RuleState::Enabled),
        target_ok: targets.targets().iter().any(|t| {
            t.id() == TARGET_ID
                && t.arn() == function_arn
                && t.retry_policy() == Some(&retry_policy())
        }),
        permission: permission?,
    }))
}

/// How the rule differs from what the stack wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleDrift {
    Schedule,
    Disabled,
    Target,
    Permission,
}

impl std::fmt::Display for RuleDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleDrift::Schedule => "schedule differs",
            RuleDrift::Disabled => "rule disabled",
            RuleDrift::Target => "ETL target missing or its retry policy differs",
            RuleDrift::Permission => "invoke permission for EventBridge missing or too broad",
        })
    }
}

fn drift(found: &Found) -> Vec<RuleDrift> {
    [
        (!found.schedule_ok, RuleDrift::Schedule),
        (!found.enabled, RuleDrift::Disabled),
        (!found.target_ok, RuleDrift::Target),
        (!found.permission.is_ok(), RuleDrift::Permission),
    ]
    .into_iter()
    .filter_map(|(differs, what)| differs.then_some(what))
    .collect()
}

pub async fn inspect(
    client: &Client,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
    schedule: Option<&str>,
) -> anyhow::Result<Resource> {
    let drift = find(client, lambda, stack, schedule)
        .await?
        .map(|found| drift(&found));
    Ok(Resource::with_drift(Kind::Rule, stack.etl_rule(), drift))
}

pub async fn ensure(
    client: &Client,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
    schedule: &str,
) -> anyhow::Result<Resource> {
    let before = inspect(client, lambda, stack, Some(schedule)).await?;
    if before.state == State::Present {
        return Ok(before);
    }
    let name = stack.etl_rule();
    let found = find(client, lambda, stack, Some(schedule)).await?;
    if found.as_ref().is_none_or(|f| !f.schedule_ok || !f.enabled) {
        client
            .put_rule()
            .name(&name)
            .schedule_expression(schedule)
            .state(RuleState::Enabled)
            .description(format!("tgpipe stack {}: daily ETL", stack.name))
            .tags(
                Tag::builder()
                    .key(STACK_TAG)
                    .value(stack.name.as_str())
                    .build()?,
            )
            .send()
            .await
            .aws(format!("EventBridge PutRule {name}"))?;
    }
    if found.as_ref().is_none_or(|f| !f.target_ok) {
        let target = Target::builder()
            .id(TARGET_ID)
            .arn(stack.function_arn(Function::Etl))
            .retry_policy(retry_policy())
            .build()?;
        let out = client
            .put_targets()
            .rule(&name)
            .targets(target)
            .send()
            .await
            .aws(format!("EventBridge PutTargets {name}"))?;
        if out.failed_entry_count() > 0 {
            anyhow::bail!(
                "EventBridge PutTargets {name}: {}",
                out.failed_entries()
                    .first()
                    .and_then(|f| f.error_message())
                    .unwrap_or("failed")
            );
        }
    }
    // Checked on its own: a statement can outlive its rule (an interrupted run, a rule deleted by
    // hand), and adding it twice is a conflict.
    let (function, source) = (stack.function(Function::Etl), rule_arn(stack));
    let permission = permission(&function, &source);
    let state = permission.state(lambda).await?;
    permission.ensure(lambda, &state).await?;
    Ok(before)
}

/// Removes the rule (its targets first), unless it is not the stack's.
pub async fn destroy(
    client: &Client,
    stack: &Stack,
    foreign: &crate::stack::ownership::Foreign,
) -> anyhow::Result<Removed> {
    let name = stack.etl_rule();
    if foreign.contains(Kind::Rule, &name) {
        return Ok(Removed::new(Kind::Rule, name, Removal::NotOurs));
    }
    match client
        .remove_targets()
        .rule(&name)
        .ids(TARGET_ID)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(Removed::new(Kind::Rule, name, Removal::AlreadyGone));
        }
        Err(e) => return Err(e).aws(format!("EventBridge RemoveTargets {name}")),
    }
    match client.delete_rule().name(&name).send().await {
        Ok(_) => Ok(Removed::new(Kind::Rule, name, Removal::Deleted)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(Removed::new(Kind::Rule, name, Removal::AlreadyGone))
        }
        Err(e) => Err(e).aws(format!("EventBridge DeleteRule {name}")),
    }
}

/// Who holds the stack's rule name (see [`crate::stack::ownership`]).
pub async fn claims(client: &Client, stack: &Stack) -> anyhow::Result<Vec<Claim>> {
    let rule = stack.etl_rule();
    let owned = match client.describe_rule().name(&rule).send().await {
        Ok(r) => {
            let arn = r.arn().unwrap_or_default();
            let tags = client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .aws(format!("EventBridge ListTagsForResource {rule}"))?;
            Some(stack.owns(tags.tags().iter().map(|t| (t.key(), t.value()))))
        }
        Err(e)
            if aws_sdk_eventbridge::error::ProvideErrorMetadata::code(&e)
                == Some("ResourceNotFoundException") =>
        {
            None
        }
        Err(e) => return Err(e).aws(format!("EventBridge DescribeRule {rule}")),
    };
    Ok(vec![Claim::new(Kind::Rule, rule, owned)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Found {
        Found {
            schedule_ok: true,
            enabled: true,
            target_ok: true,
            permission: State::Present,
        }
    }

    #[test]
    fn a_rule_as_wanted_has_no_drift_and_each_difference_is_named() {
        assert_eq!(drift(&found()), []);
        let broken = Found {
            enabled: false,
            permission: State::Drifted(vec!["too broad".into()]),
            ..found()
        };
        assert_eq!(drift(&broken), [RuleDrift::Disabled, RuleDrift::Permission]);
        let broken = Found {
            schedule_ok: false,
            target_ok: false,
            permission: State::Missing,
            ..found()
        };
        assert_eq!(
            drift(&broken),
            [
                RuleDrift::Schedule,
                RuleDrift::Target,
                RuleDrift::Permission
            ]
        );
    }
}
