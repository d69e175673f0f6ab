//! The EventBridge rule that runs the ETL daily, its target, and the ETL's invoke permission
//! scoped to the rule.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{RetryPolicy, RuleState, Tag, Target};

use crate::aws::AwsResultExt;
use crate::plan::{Kind, Removal, Removed, Resource, State};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::permission::Permission;
use crate::stack::{Clients, Desired, Function, Note, Outputs, Part, STACK_TAG, Stack};

/// 00:30 UTC every day: yesterday is complete (in UTC and zones east of it).
pub const DEFAULT_SCHEDULE: &str = "cron(30 0 * * ? *)";
/// The period of [`DEFAULT_SCHEDULE`], and of a schedule this cannot tell.
pub const DAILY: chrono::TimeDelta = chrono::TimeDelta::days(1);
const TARGET_ID: &str = "tgpipe-etl";

mod schedule;

pub use schedule::{check, period};
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
    stack.arn("events", &format!("rule/{}", stack.etl_rule()))
}

/// The ETL function's statement that lets the schedule's rule invoke it.
fn permission<'a>(stack: &Stack, source: &'a str) -> Permission<'a> {
    Permission {
        function: stack.function(Function::Etl),
        statement_id: crate::stack::permission::statement_id(Function::Etl),
        principal: "events.amazonaws.com",
        source_arn: source,
    }
}

/// The rule as read.
pub struct Found {
    /// `None` when there is no rule.
    rule: Option<Rule>,
    /// The ETL's permission for the rule: it can outlive the rule.
    permission: State,
}

struct Rule {
    schedule: Option<String>,
    enabled: bool,
    target_ok: bool,
    owned: bool,
}

impl Found {
    /// The deployed schedule; `None` without a rule.
    pub fn schedule(&self) -> Option<&str> {
        self.rule.as_ref()?.schedule.as_deref()
    }
}

async fn read(
    client: &Client,
    lambda: &aws_sdk_lambda::Client,
    stack: &Stack,
) -> anyhow::Result<Found> {
    let name = stack.etl_rule();
    let function_arn = stack.function_arn(Function::Etl);
    let source = rule_arn(stack);
    let permission = permission(stack, &source);
    // The rule, its targets and the function's permission at once: a missing rule makes the
    // targets moot.
    let (rule, targets, permission) = tokio::join!(
        client.describe_rule().name(&name).send(),
        client.list_targets_by_rule().rule(&name).send(),
        permission.state(lambda)
    );
    let permission = permission?;
    let rule = match rule {
        Ok(r) => r,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(Found {
                rule: None,
                permission,
            });
        }
        Err(e) => return Err(e).aws(format!("EventBridge DescribeRule {name}")),
    };
    let targets = targets.aws(format!("EventBridge ListTargetsByRule {name}"))?;
    let tags = client
        .list_tags_for_resource()
        .resource_arn(rule.arn().unwrap_or_default())
        .send()
        .await
        .aws(format!("EventBridge ListTagsForResource {name}"))?;
    Ok(Found {
        rule: Some(Rule {
            schedule: rule.schedule_expression().map(str::to_owned),
            enabled: rule.state() == Some(&RuleState::Enabled),
            target_ok: targets.targets().iter().any(|t| {
                t.id() == TARGET_ID
                    && t.arn() == function_arn
                    && t.retry_policy() == Some(&retry_policy())
            }),
            owned: stack.owns(tags.tags().iter().map(|t| (t.key(), t.value()))),
        }),
        permission,
    })
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

/// How the rule differs; `schedule`: the one wanted, or `None` to take the deployed one as it
/// is (`status`, which never compares it with the default). `None` without a rule.
fn drift(found: &Found, schedule: Option<&str>) -> Option<Vec<RuleDrift>> {
    let rule = found.rule.as_ref()?;
    Some(
        [
            (
                schedule.is_some_and(|s| rule.schedule.as_deref() != Some(s)),
                RuleDrift::Schedule,
            ),
            (!rule.enabled, RuleDrift::Disabled),
            (!rule.target_ok, RuleDrift::Target),
            (!found.permission.is_ok(), RuleDrift::Permission),
        ]
        .into_iter()
        .filter_map(|(differs, what)| differs.then_some(what))
        .collect(),
    )
}

/// The daily schedule of the ETL.
pub struct Schedule;

impl Part for Schedule {
    type Found = Found;
    const LABEL: &'static str = "daily schedule";
    const STAGE: usize = 2;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Found> {
        read(&c.events, &c.lambda, stack).await
    }

    fn claims(&self, found: &Found, stack: &Stack) -> Vec<Claim> {
        let owned = found.rule.as_ref().map(|r| r.owned);
        vec![Claim::new(Kind::Rule, stack.etl_rule(), owned)]
    }

    fn states(&self, found: &Found, stack: &Stack, desired: Option<&Desired>) -> Vec<Resource> {
        let drift = drift(found, desired.map(|d| d.schedule.as_str()));
        vec![Resource::with_drift(Kind::Rule, stack.etl_rule(), drift)]
    }

    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        desired: &Desired,
        found: &Found,
        _: &Outputs,
        _: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        let (client, schedule) = (&c.events, desired.schedule.as_str());
        let name = stack.etl_rule();
        let drift = drift(found, Some(schedule));
        let differs = |what| drift.as_ref().is_none_or(|d| d.contains(&what));
        if differs(RuleDrift::Schedule) || differs(RuleDrift::Disabled) {
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
        if differs(RuleDrift::Target) {
            put_target(client, stack).await?;
        }
        // A statement can outlive its rule (an interrupted run, a rule deleted by hand), and
        // adding it twice is a conflict: it was read on its own.
        let source = rule_arn(stack);
        permission(stack, &source)
            .ensure(&c.lambda, &found.permission)
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
        Ok(vec![destroy(&c.events, stack, foreign).await?])
    }
}

async fn put_target(client: &Client, stack: &Stack) -> anyhow::Result<()> {
    let name = stack.etl_rule();
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
    Ok(())
}

/// Removes the rule (its targets first), unless it is not the stack's.
async fn destroy(client: &Client, stack: &Stack, foreign: &Foreign) -> anyhow::Result<Removed> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Found {
        Found {
            rule: Some(Rule {
                schedule: Some(DEFAULT_SCHEDULE.to_owned()),
                enabled: true,
                target_ok: true,
                owned: true,
            }),
            permission: State::Present,
        }
    }

    #[test]
    fn a_rule_as_wanted_has_no_drift_and_each_difference_is_named() {
        assert_eq!(drift(&found(), Some(DEFAULT_SCHEDULE)), Some(vec![]));
        let mut broken = found();
        broken.permission = State::Drifted(vec!["too broad".into()]);
        if let Some(rule) = &mut broken.rule {
            rule.enabled = false;
        }
        assert_eq!(
            drift(&broken, Some(DEFAULT_SCHEDULE)),
            Some(vec![RuleDrift::Disabled, RuleDrift::Permission])
        );
        let mut broken = found();
        broken.permission = State::Missing;
        if let Some(rule) = &mut broken.rule {
            rule.target_ok = false;
        }
        assert_eq!(
            drift(&broken, Some("rate(1 hour)")),
            Some(vec![
                RuleDrift::Schedule,
                RuleDrift::Target,
                RuleDrift::Permission
            ])
        );
    }

    #[test]
    fn status_takes_the_deployed_schedule_as_it_is_and_no_rule_is_missing() {
        assert_eq!(drift(&found(), None), Some(vec![]));
        let none = Found {
            rule: None,
            permission: State::Present,
        };
        assert_eq!(drift(&none, Some(DEFAULT_SCHEDULE)), None);
    }
}
