//! The stack's components, listed once. `up` applies them stage by stage (a component depends
//! only on those of earlier stages), `up --dry-run` and `status` inspect them in this order,
//! `down` removes them in reverse. Each component has the same shape: inspect → typed drift
//! (in its own module, words only for display) → apply; removal answers one [`Removed`] per
//! resource. Adding a kind of resource touches its module and this list.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::plan::{Removed, Resource, State};
use crate::stack::lambda::FunctionSpec;
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::{Stack, apigw, athena, events, iam, lambda, logs, s3};

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
}

/// What `up` deploys beyond the names: each function's code and environment, the schedule.
pub struct Desired {
    pub specs: Vec<FunctionSpec>,
    pub schedule: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Buckets,
    Roles,
    LogGroups,
    Functions,
    HttpApi,
    Schedule,
    Analytics,
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

impl Component {
    /// The stack, in the order `up` and `status` show it.
    pub const ALL: [Component; 7] = [
        Component::Buckets,
        Component::Roles,
        Component::LogGroups,
        Component::Functions,
        Component::HttpApi,
        Component::Schedule,
        Component::Analytics,
    ];

    /// `up`'s stages: the functions need their roles and log groups; the API and the schedule
    /// invoke the functions. Components of one stage are applied concurrently.
    pub const STAGES: [&'static [Component]; 3] = [
        &[
            Component::Buckets,
            Component::Roles,
            Component::LogGroups,
            Component::Analytics,
        ],
        &[Component::Functions],
        &[Component::HttpApi, Component::Schedule],
    ];

    /// What the component is called in `up`'s progress.
    pub fn label(self) -> &'static str {
        match self {
            Component::Buckets => "buckets",
            Component::Roles => "roles",
            Component::LogGroups => "log groups",
            Component::Functions => "functions",
            Component::HttpApi => "HTTP API",
            Component::Schedule => "daily schedule",
            Component::Analytics => "Athena and Glue",
        }
    }

    /// What `up`'s progress says while a stage runs: its components.
    pub fn stage_label(stage: &[Component]) -> String {
        stage
            .iter()
            .map(|c| c.label())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Its resources as they are. With `desired` (`up --dry-run`), compared with what `up`
    /// would deploy; without (`status`), with what the stack itself deployed.
    pub async fn inspect(
        self,
        c: &Clients,
        stack: &Stack,
        desired: Option<&Desired>,
    ) -> anyhow::Result<Vec<Resource>> {
        Ok(match self {
            Component::Buckets => s3::inspect(&c.s3, stack).await?,
            Component::Roles => iam::inspect(&c.iam, stack).await?,
            Component::LogGroups => logs::inspect(&c.logs, stack).await?,
            Component::Functions => match desired {
                Some(d) => lambda::inspect(&c.lambda, stack, &d.specs).await?,
                None => lambda::status(&c.lambda, stack).await?,
            },
            Component::HttpApi => match desired {
                Some(_) => vec![apigw::plan(&c.api, &c.lambda, stack).await?],
                None => vec![apigw::inspect(&c.api, &c.lambda, stack).await?.0],
            },
            // Without `desired` the schedule is what was deployed (`up --schedule`), never
            // compared with the default.
            Component::Schedule => vec![
                events::inspect(
                    &c.events,
                    &c.lambda,
                    stack,
                    desired.map(|d| d.schedule.as_str()),
                )
                .await?,
            ],
            Component::Analytics => athena::inspect(&c.athena, &c.glue, stack).await?,
        })
    }

    /// Who holds each of its names: the stack, someone else, or nobody. The HTTP API is found
    /// by name and tag together, so another API of the same name is never the stack's.
    pub async fn claims(self, c: &Clients, stack: &Stack) -> anyhow::Result<Vec<Claim>> {
        Ok(match self {
            Component::Buckets => s3::claims(&c.s3, stack).await?,
            Component::Roles => iam::claims(&c.iam, stack).await?,
            Component::LogGroups => logs::claims(&c.logs, stack).await?,
            Component::Functions => lambda::claims(&c.lambda, stack).await?,
            Component::HttpApi => Vec::new(),
            Component::Schedule => events::claims(&c.events, stack).await?,
            Component::Analytics => athena::claims(&c.athena, &c.glue, stack).await?,
        })
    }

    /// Creates what is missing and repairs what differs; returns the states found before.
    pub async fn apply(
        self,
        c: &Clients,
        stack: &Stack,
        desired: &Desired,
        note: Note<'_>,
    ) -> anyhow::Result<Vec<Resource>> {
        Ok(match self {
            Component::Buckets => s3::ensure(&c.s3, stack).await?,
            Component::Roles => iam::ensure(&c.iam, stack).await?.0,
            Component::LogGroups => logs::ensure(&c.logs, stack).await?,
            Component::Functions => lambda::ensure(&c.lambda, stack, &desired.specs, note).await?,
            Component::HttpApi => vec![apigw::ensure(&c.api, &c.lambda, stack).await?.0],
            Component::Schedule => {
                vec![events::ensure(&c.events, &c.lambda, stack, &desired.schedule).await?]
            }
            Component::Analytics => athena::ensure(&c.athena, &c.glue, stack).await?,
        })
    }

    /// Removes its resources, leaving alone what is not the stack's; data buckets that hold
    /// objects stay unless `delete_data`.
    pub async fn remove(
        self,
        c: &Clients,
        stack: &Stack,
        foreign: &Foreign,
        delete_data: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        Ok(match self {
            Component::Buckets => s3::destroy(&c.s3, stack, delete_data, foreign).await?,
            Component::Roles => iam::destroy(&c.iam, stack).await?,
            Component::LogGroups => logs::destroy(&c.logs, stack, foreign).await?,
            Component::Functions => lambda::destroy(&c.lambda, stack, foreign).await?,
            Component::HttpApi => vec![apigw::destroy(&c.api, stack).await?],
            Component::Schedule => vec![events::destroy(&c.events, stack, foreign).await?],
            Component::Analytics => athena::destroy(&c.athena, &c.glue, stack, foreign).await?,
        })
    }
}

/// Reads, for every name of the stack that is taken, whether the stack's tag is on it.
pub async fn foreign(c: &Clients, stack: &Stack) -> anyhow::Result<Foreign> {
    Ok(survey(c, stack).await?.0)
}

/// [`foreign`], and the components none of whose names is taken: nothing of them exists, so
/// `up` creates them without reading them again.
pub async fn survey(c: &Clients, stack: &Stack) -> anyhow::Result<(Foreign, Vec<Component>)> {
    let claims =
        futures::future::try_join_all(Component::ALL.map(|component| component.claims(c, stack)))
            .await?;
    let absent = Component::ALL
        .iter()
        .zip(&claims)
        .filter(|(_, claims)| !claims.is_empty() && claims.iter().all(|c| c.owned.is_none()))
        .map(|(component, _)| *component)
        .collect();
    let foreign = claims
        .into_iter()
        .flatten()
        .filter(|claim| claim.owned == Some(false))
        .map(|claim| (claim.kind, claim.name))
        .collect::<BTreeSet<_>>();
    Ok((Foreign(foreign), absent))
}

/// Every resource of the stack, in [`Component::ALL`]'s order. The components are read side by
/// side: reading has no order.
pub async fn inspect_all(
    c: &Clients,
    stack: &Stack,
    desired: Option<&Desired>,
) -> anyhow::Result<Vec<Resource>> {
    let found = futures::future::try_join_all(
        Component::ALL.map(|component| component.inspect(c, stack, desired)),
    )
    .await?;
    Ok(found.into_iter().flatten().collect())
}

/// `up`: reads the whole stack at once, then applies only the components that are not as they
/// should be, stage by stage (a stage's components concurrently). With nothing to change, that
/// is one round of reads. Components known to be `absent` (none of their names is taken) are
/// not read: they are created. `events.applied` hears of the components in [`Component::ALL`]'s
/// order, each as soon as it and those before it are done, so the lines are the same on every
/// run. Returns every resource's state before the run, in that order.
pub async fn apply_all(
    c: &Clients,
    stack: &Stack,
    desired: &Desired,
    absent: &[Component],
    events: &Events<'_>,
) -> anyhow::Result<Vec<Resource>> {
    (events.step)("reading the stack");
    let started = std::time::Instant::now();
    let found = futures::future::try_join_all(Component::ALL.map(|component| async move {
        if absent.contains(&component) {
            return anyhow::Ok(None);
        }
        Ok(Some(component.inspect(c, stack, Some(desired)).await?))
    }))
    .await?;
    let read = started.elapsed();
    let lines = InOrder::new(events);
    let mut before: Vec<Option<Vec<Resource>>> = vec![None; Component::ALL.len()];
    for (i, resources) in found.iter().enumerate() {
        let Some(resources) = resources else { continue };
        if resources.iter().all(|r| r.state == State::Present) {
            before[i] = Some(resources.clone());
            lines.done(i, resources.clone(), read);
        }
    }
    for stage in Component::STAGES {
        let todo: Vec<(usize, Component)> = stage
            .iter()
            .filter_map(|comp| {
                let i = Component::ALL.iter().position(|c| c == comp)?;
                before[i].is_none().then_some((i, *comp))
            })
            .collect();
        if todo.is_empty() {
            continue;
        }
        (events.step)(&Component::stage_label(stage));
        let lines = &lines;
        let applied = futures::future::try_join_all(todo.iter().map(|(i, comp)| async move {
            let started = std::time::Instant::now();
            let resources = comp.apply(c, stack, desired, events.note).await?;
            lines.done(*i, resources.clone(), started.elapsed());
            anyhow::Ok((*i, resources))
        }))
        .await?;
        for (i, resources) in applied {
            before[i] = Some(resources);
        }
    }
    Ok(before.into_iter().flatten().flatten().collect())
}

/// A component's resources and the time it took, once it is done.
type Finished = Option<(Vec<Resource>, Duration)>;

/// Hands finished components to `events.applied` in [`Component::ALL`]'s order.
struct InOrder<'a, 'e> {
    events: &'a Events<'e>,
    /// The next component to hand over, and those finished ahead of it.
    state: std::sync::Mutex<(usize, Vec<Finished>)>,
}

impl<'a, 'e> InOrder<'a, 'e> {
    fn new(events: &'a Events<'e>) -> Self {
        InOrder {
            events,
            state: std::sync::Mutex::new((0, vec![None; Component::ALL.len()])),
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
    for component in Component::ALL.iter().rev() {
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
    fn every_component_is_in_exactly_one_stage() {
        for comp in Component::ALL {
            let stages = Component::STAGES
                .iter()
                .filter(|s| s.contains(&comp))
                .count();
            assert_eq!(stages, 1, "{comp:?}");
        }
        let staged: usize = Component::STAGES.iter().map(|s| s.len()).sum();
        assert_eq!(staged, Component::ALL.len());
    }
}
