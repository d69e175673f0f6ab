//! `status`'s view of the alerts: where they go, whether that address has confirmed, and each
//! alarm's state.

use serde::Serialize;

use crate::plan::{Kind, Resource};
use crate::stack::alarms::{self, AlarmStatus};
use crate::stack::{StackRead, topic};

#[derive(Debug, Serialize)]
pub struct AlertsStatus {
    /// Where the alarms send word.
    pub email: Option<String>,
    /// The address has not followed the link AWS mailed it: alerts reach nobody yet.
    pub waiting_for_confirmation: bool,
    pub alarms: Vec<AlarmStatus>,
}

/// The alerts as read; `None` when the stack has none.
pub fn read(read: &StackRead) -> Option<AlertsStatus> {
    let topic = read
        .of::<topic::AlertTopic>()
        .and_then(Option::as_ref)
        .filter(|t| t.owned);
    let alarms = read
        .of::<alarms::Alarms>()
        .map(alarms::statuses)
        .unwrap_or_default();
    if topic.is_none() && alarms.is_empty() {
        return None;
    }
    Some(AlertsStatus {
        email: topic.and_then(|t| t.settings()).map(|s| s.email.clone()),
        waiting_for_confirmation: topic.is_some_and(|t| {
            t.settings()
                .and_then(|s| t.subscription(&s.email))
                .is_some_and(|s| s.arn.is_none())
        }),
        alarms,
    })
}

impl AlertsStatus {
    /// What is wrong: an address that has not confirmed, alarms firing.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(email) = self
            .email
            .as_deref()
            .filter(|_| self.waiting_for_confirmation)
        {
            out.push(format!(
                "the alerts' address {email} has not confirmed its subscription: until someone follows the link in the mail from AWS Notifications, alerts reach nobody"
            ));
        }
        if self.email.is_none() {
            out.push(
                "the alarms notify nobody: `tgpipe up --alert-email ADDRESS` sets where they go"
                    .to_owned(),
            );
        }
        out.extend(self.alarms.iter().filter(|a| a.firing()).map(|a| {
            let since = a
                .since
                .map(|t| format!(" since {}", t.to_rfc3339()))
                .unwrap_or_default();
            format!("alarm {} is in ALARM{since}: {}", a.name, a.description)
        }));
        out
    }

    /// What a resource line of the alerts adds: the alarm's state, the address's confirmation.
    pub fn detail(&self, r: &Resource) -> Option<String> {
        match r.kind {
            Kind::Alarm => self
                .alarms
                .iter()
                .find(|a| a.name == r.name)
                .map(|a| format!(": {}", a.state)),
            Kind::Subscription if self.waiting_for_confirmation => {
                Some(" (waiting for its confirmation)".to_owned())
            }
            _ => None,
        }
    }
}
