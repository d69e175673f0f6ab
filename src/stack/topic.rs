//! The SNS topic the alarms notify, with the owner's e-mail subscription (`up --alert-email`).
//! The settings (the address, the hours of silence allowed) are kept as the topic's tags, so that
//! a later `up` keeps them even when the subscription is gone (SNS drops one left unconfirmed
//! for 48 hours, and a click on "unsubscribe" in a mail removes it): `up` then subscribes the
//! address again. The topic is unencrypted: a KMS key would need a grant to CloudWatch.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::Tag;

use crate::aws::{AwsResultExt, NotFound};
use crate::plan::{Kind, Removal, Removed, Resource, State};
use crate::stack::ownership::{Claim, Foreign};
use crate::stack::{Alerts, Clients, Desired, Note, Outputs, Part, STACK_TAG, Stack};

const EMAIL: &str = "email";
/// The topic's tags that keep the alert settings.
const EMAIL_TAG: &str = "tgpipe:alert-email";
const SILENCE_TAG: &str = "tgpipe:alert-silence-hours";
/// What SNS gives as the ARN of a subscription whose owner has not confirmed it yet.
const PENDING: &str = "PendingConfirmation";

/// An e-mail subscription of the topic.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub address: String,
    /// `None` while it waits for its owner's confirmation (a pending one cannot be deleted; SNS
    /// drops it when it expires).
    pub arn: Option<String>,
}

/// The topic as found: whether it is the stack's, the settings its tags keep, and its e-mail
/// subscriptions (read only when it is the stack's).
#[derive(Debug, Clone)]
pub struct Topic {
    pub owned: bool,
    pub settings: Option<Alerts>,
    pub subscriptions: Vec<Subscription>,
}

impl Topic {
    /// The alert settings as deployed (what `up` keeps when no flag is given).
    pub fn settings(&self) -> Option<&Alerts> {
        self.settings.as_ref()
    }

    /// The subscription of `address` (confirmed or not).
    pub fn subscription(&self, address: &str) -> Option<&Subscription> {
        self.subscriptions
            .iter()
            .find(|s| s.address.eq_ignore_ascii_case(address))
    }

    /// The confirmed subscriptions of other addresses than `address` (a pending one cannot be
    /// removed: SNS drops it when it expires).
    fn others<'a>(&'a self, address: &'a str) -> impl Iterator<Item = &'a Subscription> {
        self.subscriptions
            .iter()
            .filter(move |s| s.arn.is_some() && !s.address.eq_ignore_ascii_case(address))
    }
}

/// The settings the topic's tags keep.
fn settings_of(tags: &[Tag]) -> Option<Alerts> {
    let tag = |key: &str| tags.iter().find(|t| t.key() == key).map(|t| t.value());
    Some(Alerts {
        email: tag(EMAIL_TAG)?.to_owned(),
        silence_hours: tag(SILENCE_TAG)
            .and_then(|h| h.parse().ok())
            .unwrap_or(Alerts::DEFAULT_SILENCE_HOURS),
    })
}

fn tags_of(stack: &Stack, alerts: &Alerts) -> anyhow::Result<Vec<Tag>> {
    [
        (STACK_TAG, stack.name.to_string()),
        (EMAIL_TAG, alerts.email.clone()),
        (SILENCE_TAG, alerts.silence_hours.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| Ok(Tag::builder().key(k).value(v).build()?))
    .collect()
}

async fn read_topic(client: &Client, stack: &Stack) -> anyhow::Result<Option<Topic>> {
    let arn = stack.alert_topic_arn();
    match client.get_topic_attributes().topic_arn(&arn).send().await {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e).aws(format!("SNS GetTopicAttributes {arn}")),
    }
    let tags = match client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
    {
        Ok(out) => out.tags().to_vec(),
        // Deleted between the two calls.
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e).aws(format!("SNS ListTagsForResource {arn}")),
    };
    let owned = stack.owns(tags.iter().map(|t| (t.key(), t.value())));
    let subscriptions = if owned {
        subscriptions(client, &arn).await?
    } else {
        Vec::new()
    };
    Ok(Some(Topic {
        owned,
        settings: settings_of(&tags),
        subscriptions,
    }))
}

/// The topic's e-mail subscriptions, every page.
async fn subscriptions(client: &Client, arn: &str) -> anyhow::Result<Vec<Subscription>> {
    let mut found = Vec::new();
    let mut token = None;
    loop {
        let page = match client
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .set_next_token(token)
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) if e.is_not_found() => return Ok(found),
            Err(e) => return Err(e).aws(format!("SNS ListSubscriptionsByTopic {arn}")),
        };
        found.extend(
            page.subscriptions()
                .iter()
                .filter(|s| s.protocol() == Some(EMAIL))
                .filter_map(|s| {
                    Some(Subscription {
                        address: s.endpoint()?.to_owned(),
                        arn: s
                            .subscription_arn()
                            .filter(|a| *a != PENDING)
                            .map(str::to_owned),
                    })
                }),
        );
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return Ok(found),
        }
    }
}

/// The topic alerts go to, with its e-mail subscription.
pub struct AlertTopic;

impl Part for AlertTopic {
    /// `None` when there is no topic.
    type Found = Option<Topic>;
    const LABEL: &'static str = "alert topic";
    const STAGE: usize = 0;

    async fn read(&self, c: &Clients, stack: &Stack) -> anyhow::Result<Self::Found> {
        read_topic(&c.sns, stack).await
    }

    fn claims(&self, found: &Self::Found, stack: &Stack) -> Vec<Claim> {
        vec![Claim::new(
            Kind::Topic,
            stack.alert_topic(),
            found.as_ref().map(|t| t.owned),
        )]
    }

    fn states(
        &self,
        found: &Self::Found,
        stack: &Stack,
        desired: Option<&Desired>,
    ) -> Vec<Resource> {
        let topic = found.as_ref().filter(|t| t.owned);
        let resource = |kind, name: &str, state| Resource {
            kind,
            name: name.to_owned(),
            state,
        };
        let present = |there: bool| {
            if there {
                State::Present
            } else {
                State::Missing
            }
        };
        let name = stack.alert_topic();
        let Some(wanted) = desired.map(|d| d.alerts.as_ref()) else {
            // `status`: the topic, and the subscription its settings name.
            return topic.map_or_else(Vec::new, |t| {
                let mut out = vec![resource(Kind::Topic, &name, State::Present)];
                out.extend(t.settings().map(|s| {
                    let there = t.subscription(&s.email).is_some();
                    resource(Kind::Subscription, &s.email, present(there))
                }));
                out
            });
        };
        let Some(alerts) = wanted else {
            // Alerts off: a topic the stack made goes, subscriptions with it.
            return topic.map_or_else(Vec::new, |_| {
                vec![resource(Kind::Topic, &name, State::Unwanted)]
            });
        };
        let topic_state = match topic {
            None => State::Missing,
            Some(t) if t.settings() != Some(alerts) => {
                State::Drifted(vec!["alert settings differ".to_owned()])
            }
            Some(_) => State::Present,
        };
        let mut out = vec![
            resource(Kind::Topic, &name, topic_state),
            resource(
                Kind::Subscription,
                &alerts.email,
                present(topic.is_some_and(|t| t.subscription(&alerts.email).is_some())),
            ),
        ];
        out.extend(topic.into_iter().flat_map(|t| {
            t.others(&alerts.email)
                .map(|s| resource(Kind::Subscription, &s.address, State::Unwanted))
        }));
        out
    }

    async fn apply(
        &self,
        c: &Clients,
        stack: &Stack,
        desired: &Desired,
        found: &Self::Found,
        _: &Outputs,
        note: Note<'_>,
    ) -> anyhow::Result<Outputs> {
        let client = &c.sns;
        let Some(alerts) = &desired.alerts else {
            if found.as_ref().is_some_and(|t| t.owned) {
                delete_topic(client, stack).await?;
            }
            return Ok(Outputs::default());
        };
        let arn = match found {
            Some(t) => {
                let arn = stack.alert_topic_arn();
                if t.settings() != Some(alerts) {
                    client
                        .tag_resource()
                        .resource_arn(&arn)
                        .set_tags(Some(tags_of(stack, alerts)?))
                        .send()
                        .await
                        .aws(format!("SNS TagResource {arn}"))?;
                }
                arn
            }
            // CreateTopic is idempotent by name (with the same tags), so the SDK's retries are safe.
            None => client
                .create_topic()
                .name(stack.alert_topic())
                .set_tags(Some(tags_of(stack, alerts)?))
                .send()
                .await
                .aws(format!("SNS CreateTopic {}", stack.alert_topic()))?
                .topic_arn()
                .map_or_else(|| stack.alert_topic_arn(), str::to_owned),
        };
        let subscribed = found
            .as_ref()
            .is_some_and(|t| t.subscription(&alerts.email).is_some());
        if !subscribed {
            // With ReturnSubscriptionArn SNS answers the real ARN even while it is pending.
            client
                .subscribe()
                .topic_arn(&arn)
                .protocol(EMAIL)
                .endpoint(&alerts.email)
                .return_subscription_arn(true)
                .send()
                .await
                .aws(format!("SNS Subscribe {} to {arn}", alerts.email))?;
            note(format!(
                "AWS sent a confirmation mail to {}: alerts reach it once its link is followed",
                alerts.email
            ));
        }
        for s in found.iter().flat_map(|t| t.others(&alerts.email)) {
            let Some(sub) = &s.arn else { continue };
            match client.unsubscribe().subscription_arn(sub).send().await {
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e).aws(format!("SNS Unsubscribe {}", s.address)),
            }
        }
        Ok(Outputs::default())
    }

    async fn remove(
        &self,
        c: &Clients,
        stack: &Stack,
        foreign: &Foreign,
        _: bool,
    ) -> anyhow::Result<Vec<Removed>> {
        let name = stack.alert_topic();
        if foreign.contains(Kind::Topic, &name) {
            return Ok(vec![Removed::new(Kind::Topic, name, Removal::NotOurs)]);
        }
        // DeleteTopic answers success for a topic that is not there: ask first, to say which.
        let removal = match read_topic(&c.sns, stack).await? {
            None => return Ok(Vec::new()),
            Some(t) if !t.owned => Removal::NotOurs,
            Some(_) => {
                delete_topic(&c.sns, stack).await?;
                Removal::Deleted
            }
        };
        Ok(vec![Removed::new(Kind::Topic, name, removal)])
    }
}

/// Deletes the topic; SNS removes its subscriptions with it.
async fn delete_topic(client: &Client, stack: &Stack) -> anyhow::Result<()> {
    let arn = stack.alert_topic_arn();
    client
        .delete_topic()
        .topic_arn(&arn)
        .send()
        .await
        .aws(format!("SNS DeleteTopic {arn}"))?;
    Ok(())
}
