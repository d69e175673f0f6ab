//! The CloudWatch alarms that watch the stack and notify the alert topic (`up --alert-email`):
//! the ETL failed or has not succeeded for a period of its schedule, the ingest function or the
//! API failed, a burst of refused requests, bodies quarantined, and a kept chat silent for
//! `--alert-silence-hours`. The tgpipe metrics come from the functions' own log lines
//! (`lake::metrics`), so the functions need no permission for them.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{AlarmType, Dimension, MetricDatum, StandardUnit, Tag};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::aws::{AwsResultExt, NotFound};
use crate::plan::{Kind, Removal, Removed, Resource, State};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::{Clients, Desired, Note, Outputs, Part, STACK_TAG, Stack, apigw};

pub mod spec;

pub use spec::AlarmSpec;

/// One of the stack's alarms as found.
#[derive(Debug, Clone)]
pub struct FoundAlarm {
    pub spec: AlarmSpec,
    pub arn: String,
    pub owned: bool,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
}

/// What one read finds: the alarms bearing the stack's names, and the API they watch.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub alarms: Vec<FoundAlarm>,
    pub api_id: Option<String>,
}

impl Found {
    fn owned(&self) -> impl Iterator<Item = &FoundAlarm> {
        self.alarms.iter().filter(|a| a.owned)
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

/// The alarms named as the stack's, with their tags (every page).
async fn read_alarms(client: &Client, stack: &Stack) -> anyhow::Result<Vec<FoundAlarm>> {
    let mut named = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .describe_alarms()
            .alarm_name_prefix(stack.alarm_prefix())
            .alarm_types(AlarmType::MetricAlarm)
            .set_next_token(token)
            .send()
            .await
            .aws(format!(
                "CloudWatch DescribeAlarms {}*",
                stack.alarm_prefix()
            ))?;
        named.extend(
            page.metric_alarms()
                .iter()
                .filter(|a| a.alarm_name().is_some_and(|n| spec::is_ours(stack, n)))
                .cloned(),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    // In the order `up` lists them, whatever order CloudWatch answers in.
    named.sort_by_key(|a| spec::order(stack, a.alarm_name().unwrap_or_default()));
    // Tags are per alarm: asked side by side.
    futures::future::try_join_all(named.into_iter().map(|a| async move {
        let arn = a.alarm_arn().unwrap_or_default().to_owned();
        let owned = match client
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
        {
            Ok(out) => stack.owns(
                out.tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?, t.value()?))),
            ),
            // Deleted between the two calls: not there.
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e).aws(format!("CloudWatch ListTagsForResource {arn}")),
        };
        anyhow::Ok(Some(FoundAlarm {
            spec: AlarmSpec::from_found(&a),
            arn,
            owned,
            state: a
                .state_value()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: a.state_reason().unwrap_or_default().to_owned(),
            since: time(a.state_updated_timestamp()),
        }))
    }))
    .await
    .map(|found| found.into_iter().flatten().collect())
}

/// The stack's alarms.
pub struct Alarms;

impl Part for Alarms {
    type Found = Found;
    const LABEL: &'static str = "alarms";
    /// After the API, whose id they watch.
    const STAGE: usize = 3;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Found> {
        let alarms = read_alarms(&c.cloudwatch, stack).await?;
        // The API's id tells whether its alarms watch the right API; a stack without alarms
        // needs no call for it (`apply` takes the id from the API's own component).
        let api_id = if alarms.iter().any(|a| a.owned) {
            apigw::find(&c.api, stack)
                .await?
                .and_then(|a| a.api_id().map(str::to_owned))
        } else {
            None
        };
        Ok(Found { alarms, api_id })
    }

    fn claims(&self, found: &Found, _: &Stack) -> Vec<Claim> {
        found
            .alarms
            .iter()
            .map(|a| Claim::new(Kind::Alarm, a.spec.name.clone(), Some(a.owned)))
            .collect()
    }

    fn states(&self, found: &Found, stack: &Stack, desired: Option<&Desired>) -> Vec<Resource> {
        let Some(desired) = desired else {
            return status_states(found, stack);
        };
        let wanted = match &desired.alerts {
            Some(alerts) => spec::wanted(
                stack,
                alerts,
                &desired.chats,
                &desired.schedule,
                found.api_id.as_deref(),
            ),
            None => Vec::new(),
        };
        let mut out: Vec<Resource> = wanted
            .iter()
            .map(|w| {
                let there = found.owned().find(|a| a.spec.name == w.name);
                Resource::with_drift(Kind::Alarm, w.name.clone(), there.map(|a| a.spec.drift(w)))
            })
            .collect();
        out.extend(unwanted(found, &wanted).map(|a| Resource {
            kind: Kind::Alarm,
            name: a.spec.name.clone(),
            state: State::Unwanted,
        }));
        out
    }

    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        desired: &Desired,
        found: &Found,
        earlier: &Outputs,
        _: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        let client = &c.cloudwatch;
        let wanted = match &desired.alerts {
            Some(alerts) => {
                // The API's own component hands on its id (one this `up` made has it only now).
                let api_id = earlier.api_id.as_deref().or(found.api_id.as_deref());
                spec::wanted(stack, alerts, &desired.chats, &desired.schedule, api_id)
            }
            None => Vec::new(),
        };
        futures::future::try_join_all(wanted.iter().map(|w| async move {
            let there = found.owned().find(|a| a.spec.name == w.name);
            match there {
                Some(a) if a.spec.drift(w).is_empty() => Ok(()),
                // An update keeps the alarm's state and its tags.
                Some(_) => put(client, stack, w, false).await,
                None => {
                    seed(client, w).await?;
                    put(client, stack, w, true).await
                }
            }
        }))
        .await?;
        let gone: Vec<String> = unwanted(found, &wanted)
            .map(|a| a.spec.name.clone())
            .collect();
        delete(client, &gone).await?;
        Ok(Outputs::default())
    }

    async fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        foreign: &Foreign,
        _: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        let found = read_alarms(&c.cloudwatch, stack).await?;
        let (ours, theirs): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|a| a.owned && !foreign.contains(Kind::Alarm, &a.spec.name));
        let names: Vec<String> = ours.into_iter().map(|a| a.spec.name).collect();
        delete(&c.cloudwatch, &names).await?;
        Ok(names
            .into_iter()
            .map(|n| Removed::new(Kind::Alarm, n, Removal::Deleted))
            .chain(
                theirs
                    .into_iter()
                    .map(|a| Removed::new(Kind::Alarm, a.spec.name, Removal::NotOurs)),
            )
            .collect())
    }
}

/// The stack's alarms that `wanted` does not list (alerts off, a chat no longer kept).
fn unwanted<'a>(found: &'a Found, wanted: &'a [AlarmSpec]) -> impl Iterator<Item = &'a FoundAlarm> {
    found
        .owned()
        .filter(move |a| !wanted.iter().any(|w| w.name == a.spec.name))
}

/// `status`: the alarms found, and any of the fixed ones missing while others are there.
fn status_states(found: &Found, stack: &Stack) -> Vec<Resource> {
    let owned: Vec<&FoundAlarm> = found.owned().collect();
    if owned.is_empty() {
        return Vec::new();
    }
    let missing = spec::fixed_names(stack)
        .into_iter()
        .filter(|n| !owned.iter().any(|a| a.spec.name == *n))
        .map(|name| Resource::with_drift::<&str>(Kind::Alarm, name, None));
    owned
        .iter()
        .map(|a| Resource::with_drift::<&str>(Kind::Alarm, a.spec.name.clone(), Some(vec![])))
        .chain(missing)
        .collect()
}

/// PutMetricAlarm: the whole setting at once; `create` tags it (tags given on an update are
/// ignored by CloudWatch, and ours are there already).
async fn put(client: &Client, stack: &Stack, w: &AlarmSpec, create: bool) -> anyhow::Result<()> {
    let mut call = client
        .put_metric_alarm()
        .alarm_name(&w.name)
        .alarm_description(&w.description)
        .actions_enabled(true)
        .set_alarm_actions(Some(w.actions.clone()))
        .set_ok_actions(Some(w.actions.clone()))
        .namespace(&w.namespace)
        .metric_name(&w.metric)
        .set_dimensions(Some(dimensions(w)))
        .statistic(w.statistic.clone())
        .period(w.period)
        .evaluation_periods(w.evaluation_periods)
        .datapoints_to_alarm(w.datapoints)
        .threshold(w.threshold)
        .comparison_operator(w.comparison.clone())
        .treat_missing_data(&w.treat_missing);
    if create {
        call = call.tags(
            Tag::builder()
                .key(STACK_TAG)
                .value(stack.name.as_str())
                .build(),
        );
    }
    call.send()
        .await
        .aws(format!("CloudWatch PutMetricAlarm {}", w.name))?;
    Ok(())
}

/// An alarm that fires on silence would start in ALARM (no data yet reads as "breaching") and
/// mail a false alert the moment it exists: its metric first gets one data point at the
/// threshold, "all well now", so that its first window starts at its creation.
async fn seed(client: &Client, w: &AlarmSpec) -> anyhow::Result<()> {
    if !w.breaching_when_silent() {
        return Ok(());
    }
    let datum = MetricDatum::builder()
        .metric_name(&w.metric)
        .set_dimensions(Some(dimensions(w)))
        .value(w.threshold)
        .unit(StandardUnit::Count)
        .build();
    client
        .put_metric_data()
        .namespace(&w.namespace)
        .metric_data(datum)
        .send()
        .await
        .aws(format!(
            "CloudWatch PutMetricData {} {}",
            w.namespace, w.metric
        ))?;
    Ok(())
}

fn dimensions(w: &AlarmSpec) -> Vec<Dimension> {
    w.dimensions
        .iter()
        .map(|(n, v)| Dimension::builder().name(n).value(v).build())
        .collect()
}

/// DeleteAlarms, at most 100 names a call; names that are gone are skipped by CloudWatch (or
/// answered "not found", which is as good).
async fn delete(client: &Client, names: &[String]) -> anyhow::Result<()> {
    for batch in names.chunks(100) {
        match client
            .delete_alarms()
            .set_alarm_names(Some(batch.to_vec()))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found()) => {}
            Err(e) => return Err(e).aws(format!("CloudWatch DeleteAlarms {}", batch.join(", "))),
        }
    }
    Ok(())
}

/// An alarm as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmStatus {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
    /// What it means and what to do.
    pub description: String,
}

impl AlarmStatus {
    pub fn firing(&self) -> bool {
        self.state == "ALARM"
    }
}

/// The stack's alarms as `status` shows them.
pub fn statuses(found: &Found) -> Vec<AlarmStatus> {
    found
        .owned()
        .map(|a| AlarmStatus {
            name: a.spec.name.clone(),
            state: a.state.clone(),
            reason: a.reason.clone(),
            since: a.since,
            description: a.spec.description.clone(),
        })
        .collect()
}
