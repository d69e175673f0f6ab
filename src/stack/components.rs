//! The stack's components, listed once in [`ALL`]. Each is a [`Part`]: one read of its
//! resources (what exists, who owns it, how it is set), from which its states, its claims and
//! its outputs are worked out without AWS; `apply` acts on what was read, never reading it
//! again; `remove` takes it away. `up` applies the components stage by stage (a component
//! depends only on those of earlier stages), `up --dry-run` and `status` show them in this
//! order, `down` removes them in reverse. Adding a kind of resource is its module (a type that
//! is a `Part`) and one line of [`ALL`].

use std::collections::BTreeSet;
use std::time::Duration;

use crate::plan::{Removed, Resource, State};
use crate::stack::lambda::FunctionSpec;
use crate::stack::ownership::Foreign;
pub use crate::stack::part::{Component, Found, Part};
use crate::stack::{Stack, alarms, apigw, athena, events, iam, lambda, logs, s3, topic};

/// Every AWS client the stack is read and changed with.
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub api: aws_sdk_apigatewayv2::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub athena: aws_sdk_athena::Client,
    pub glue: aws_sdk_glue::Client,
    pub sns: aws_sdk_sns::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

impl Clients {
    /// Every client from one SDK configuration; `verbose` logs each call (see
    /// [`crate::aws::LogCalls`]).
    pub fn new(config: &aws_config::SdkConfig, verbose: bool) -> Clients {
        Clients::of_account(config, verbose, None)
    }

    /// [`Clients::new`], whose S3 calls name `account` as the buckets' expected owner.
    pub fn of_account(
        config: &aws_config::SdkConfig,
        verbose: bool,
        account: Option<&str>,
    ) -> Clients {
        let v = verbose;
        Clients {
            s3: crate::aws::s3_client_with(config, v, account),
            iam: crate::aws_client!(aws_sdk_iam, config, v),
            lambda: crate::aws_client!(aws_sdk_lambda, config, v),
            logs: crate::aws_client!(aws_sdk_cloudwatchlogs, config, v),
            api: crate::aws_client!(aws_sdk_apigatewayv2, config, v),
            events: crate::aws_client!(aws_sdk_eventbridge, config, v),
            athena: crate::aws_client!(aws_sdk_athena, config, v),
            glue: crate::aws_client!(aws_sdk_glue, config, v),
            sns: crate::aws_client!(aws_sdk_sns, config, v),
            cloudwatch: crate::aws_client!(aws_sdk_cloudwatch, config, v),
        }
    }
}

/// What `up` deploys beyond the names: each function's code and environment, the schedule,
/// the kept chats and the alerts.
pub struct Desired {
    pub specs: Vec<FunctionSpec>,
    pub schedule: String,
    pub chats: Vec<i64>,
    /// `None`: the stack has no alerts (no topic, no alarms).
    pub alerts: Option<Alerts>,
}

/// Where the stack's alarms send word, and how long a kept chat may be silent before one does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerts {
    pub email: String,
    pub silence_hours: u32,
}

impl Alerts {
    /// `--alert-silence-hours` when not given (nor deployed).
    pub const DEFAULT_SILENCE_HOURS: u32 = 48;
    /// CloudWatch evaluates at most 7 days of hourly periods (Period × EvaluationPeriods ≤
    /// 604,800 s).
    pub const MAX_SILENCE_HOURS: u32 = 168;
    /// What `--alert-email` takes to turn the alerts off.
    pub const OFF: &'static str = "none";

    /// `--alert-email`: an address (`Some`), or [`Alerts::OFF`] (`None`); anything else is
    /// refused, saying what to give.
    pub fn parse_email(given: &str) -> anyhow::Result<Option<String>> {
        let given = given.trim();
        if given.eq_ignore_ascii_case(Self::OFF) {
            return Ok(None);
        }
        let well_formed = given.len() <= 254
            && !given.chars().any(|c| c.is_whitespace() || c.is_control())
            && given.split_once('@').is_some_and(|(user, domain)| {
                !user.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if !well_formed {
            anyhow::bail!(
                "--alert-email {given:?} is not an e-mail address: give one such as you@example.com (AWS mails it a link to confirm), or `none` to turn the alerts off"
            );
        }
        Ok(Some(given.to_owned()))
    }
}

/// What the stack hands on once read or applied: where the webhook goes, the API the alarms
/// watch.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub webhook_url: Option<String>,
    pub api_id: Option<String>,
}

impl Outputs {
    fn merge(&mut self, other: Outputs) {
        self.webhook_url = other.webhook_url.or(self.webhook_url.take());
        self.api_id = other.api_id.or(self.api_id.take());
    }
}

/// Hears about waits and retries while a component is applied.
pub type Note<'a> = &'a (dyn Fn(String) + Sync);

/// What `up` hears while it applies: each stage as it starts, waits worth telling (a role to
/// propagate, a function update in progress), and each component's resources as soon as they
/// are as they should be, with the time it took.
pub struct Events<'a> {
    pub step: &'a (dyn Fn(&str) + Sync),
    pub note: Note<'a>,
    pub applied: &'a (dyn Fn(&[Resource], Duration) + Sync),
}

/// The stack, in the order `up` and `status` show it.
pub static ALL: [&dyn Component; 9] = [
    &s3::Buckets,
    &iam::Roles,
    &logs::LogGroups,
    &lambda::Functions,
    &apigw::HttpApi,
    &events::Schedule,
    &athena::Analytics,
    &topic::AlertTopic,
    &alarms::Alarms,
];

/// `up`'s stages, from the components' own: those of one stage are applied side by side.
pub fn stages() -> Vec<Vec<usize>> {
    let last = ALL.iter().map(|c| c.stage()).max().unwrap_or(0);
    (0..=last)
        .map(|stage| {
            (0..ALL.len())
                .filter(|&i| ALL[i].stage() == stage)
                .collect()
        })
        .filter(|s: &Vec<usize>| !s.is_empty())
        .collect()
}

/// What `up`'s progress says while a stage runs: its components.
fn stage_label(stage: &[usize]) -> String {
    stage
        .iter()
        .map(|&i| ALL[i].label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole stack as one round of reads found it, every component side by side.
pub struct StackRead {
    found: Vec<Found>,
    /// How long the round took.
    pub took: Duration,
}

/// Reads every component at once: reading has no order.
pub async fn read(c: &Clients, stack: &Stack) -> anyhow::Result<StackRead> {
    let started = std::time::Instant::now();
    let found =
        futures::future::try_join_all(ALL.map(|component| component.read(c, stack))).await?;
    Ok(StackRead {
        found,
        took: started.elapsed(),
    })
}

impl StackRead {
    fn each(&self) -> impl Iterator<Item = (&'static dyn Component, &Found)> {
        ALL.iter().copied().zip(&self.found)
    }

    /// What one kind of component found (e.g. the functions' deployed environments).
    pub fn of<P: Part + 'static>(&self) -> Option<&P::Found> {
        self.found.iter().find_map(Found::of::<P::Found>)
    }

    /// Which of the stack's names are taken by resources that are not the stack's.
    pub fn foreign(&self, stack: &Stack) -> Foreign {
        Foreign(
            self.each()
                .flat_map(|(component, found)| component.claims(found, stack))
                .filter(|claim| claim.owned == Some(false))
                .map(|claim| (claim.kind, claim.name))
                .collect::<BTreeSet<_>>(),
        )
    }

    /// Refuses, naming them and what to do, when any of the stack's names is someone else's:
    /// nothing of theirs is touched, let alone adopted.
    pub fn ensure_all_ours(&self, stack: &Stack) -> anyhow::Result<()> {
        let foreign = self.foreign(stack);
        if !foreign.is_empty() {
            anyhow::bail!("{}", foreign.refusal(stack));
        }
        Ok(())
    }

    /// Every resource's state, in [`ALL`]'s order (see [`Part::states`]).
    pub fn states(&self, stack: &Stack, desired: Option<&Desired>) -> Vec<Resource> {
        self.each()
            .flat_map(|(component, found)| component.states(found, stack, desired))
            .collect()
    }

    pub fn outputs(&self) -> Outputs {
        let mut outputs = Outputs::default();
        for (component, found) in self.each() {
            outputs.merge(component.outputs(found));
        }
        outputs
    }
}

/// What `up` did: every resource's state before, and the outputs after.
pub struct Applied {
    pub before: Vec<Resource>,
    pub outputs: Outputs,
}

/// `up`: applies, stage by stage (a stage's components concurrently), only the components that
/// `read` found not as they should be; with nothing to change it makes no call at all.
/// `events.applied` hears of the components in [`ALL`]'s order, each as soon as it and those
/// before it are done, so the lines are the same on every run.
pub async fn apply_all(
    c: &Clients,
    stack: &Stack,
    desired: &Desired,
    read: &StackRead,
    events: &Events<'_>,
) -> anyhow::Result<Applied> {
    let before: Vec<Vec<Resource>> = read
        .each()
        .map(|(component, found)| component.states(found, stack, Some(desired)))
        .collect();
    let mut outputs = read.outputs();
    let lines = InOrder::new(events);
    for (i, resources) in before.iter().enumerate() {
        if resources.iter().all(|r| r.state == State::Present) {
            lines.done(i, resources.clone(), read.took);
        }
    }
    for stage in stages() {
        let todo: Vec<usize> = stage
            .iter()
            .copied()
            .filter(|&i| before[i].iter().any(|r| r.state != State::Present))
            .collect();
        if todo.is_empty() {
            continue;
        }
        (events.step)(&stage_label(&stage));
        let (lines, before, earlier) = (&lines, &before, &outputs);
        let applied = futures::future::try_join_all(todo.iter().map(|&i| async move {
            let started = std::time::Instant::now();
            let out = ALL[i]
                .apply(c, stack, desired, &read.found[i], earlier, events.note)
                .await?;
            lines.done(i, before[i].clone(), started.elapsed());
            anyhow::Ok(out)
        }))
        .await?;
        for out in applied {
            outputs.merge(out);
        }
    }
    Ok(Applied {
        before: before.into_iter().flatten().collect(),
        outputs,
    })
}

/// A component's resources and the time it took, once it is done.
type Finished = Option<(Vec<Resource>, Duration)>;

/// Hands finished components to `events.applied` in [`ALL`]'s order.
struct InOrder<'a, 'e> {
    events: &'a Events<'e>,
    /// The next component to hand over, and those finished ahead of it.
    state: std::sync::Mutex<(usize, Vec<Finished>)>,
}

impl<'a, 'e> InOrder<'a, 'e> {
    fn new(events: &'a Events<'e>) -> Self {
        InOrder {
            events,
            state: std::sync::Mutex::new((0, vec![None; ALL.len()])),
        }
    }

    fn done(&self, i: usize, resources: Vec<Resource>, took: Duration) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let (next, finished) = &mut *state;
        finished[i] = Some((resources, took));
        while let Some(Some((resources, took))) = finished.get_mut(*next).map(Option::take) {
            (self.events.applied)(&resources, took);
            *next += 1;
        }
    }
}

/// `down`: every component in reverse order; `removed` hears of each component's resources as
/// soon as they are dealt with, with the time it took.
pub async fn remove_all(
    c: &Clients,
    stack: &Stack,
    foreign: &Foreign,
    delete_data: bool,
    removed: &(dyn Fn(&[Removed], Duration) + Sync),
) -> anyhow::Result<Vec<Removed>> {
    let mut all = Vec::new();
    for component in ALL.iter().rev() {
        let started = std::time::Instant::now();
        let done = component.remove(c, stack, foreign, delete_data).await?;
        removed(&done, started.elapsed());
        all.extend(done);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_is_in_exactly_one_stage_and_functions_come_before_what_invokes_them() {
        let stages = stages();
        let mut staged: Vec<usize> = stages.iter().flatten().copied().collect();
        staged.sort();
        assert_eq!(staged, (0..ALL.len()).collect::<Vec<_>>());
        let stage_of = |label: &str| {
            stages
                .iter()
                .position(|s| s.iter().any(|&i| ALL[i].label() == label))
        };
        assert!(stage_of("functions") < stage_of("HTTP API"));
        assert!(stage_of("roles") < stage_of("functions"));
        assert!(stage_of("functions") < stage_of("daily schedule"));
    }
}
