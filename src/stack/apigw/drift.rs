//! How the HTTP API differs from what the stack wants, decided without AWS from its parts.

use super::ROUTE_KEY;
use crate::plan::State;

/// The API's parts as found: the integration's id, the route, the stage, the permission.
pub struct Parts {
    pub(super) integration: Option<String>,
    /// Route id and target.
    pub(super) route: Option<(String, String)>,
    /// Whether the stage is as wanted; `None` when missing.
    pub(super) stage: Option<bool>,
    pub(super) permission: State,
}

/// How the API differs from what the stack wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiDrift {
    IntegrationMissing,
    RouteMissing,
    RouteTarget,
    StageMissing,
    StageSettings,
    Permission,
    /// More APIs of the stack than one (two `up`s at once): the newer ones are deleted.
    Others(usize),
}

impl std::fmt::Display for ApiDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiDrift::IntegrationMissing => f.write_str("Lambda integration missing"),
            ApiDrift::RouteMissing => write!(f, "route {ROUTE_KEY} missing"),
            ApiDrift::RouteTarget => write!(f, "route {ROUTE_KEY} targets something else"),
            ApiDrift::StageMissing => f.write_str("stage $default missing"),
            ApiDrift::StageSettings => f.write_str("stage $default settings differ"),
            ApiDrift::Permission => {
                f.write_str("invoke permission for API Gateway missing or too broad")
            }
            ApiDrift::Others(n) => write!(
                f,
                "{n} more API(s) of this stack, made by `up`s run at once: `up` deletes them"
            ),
        }
    }
}

impl Parts {
    pub(super) fn drift(&self) -> Vec<ApiDrift> {
        let mut d = Vec::new();
        if self.integration.is_none() {
            d.push(ApiDrift::IntegrationMissing);
        }
        match (&self.route, &self.integration) {
            (None, _) => d.push(ApiDrift::RouteMissing),
            (Some((_, target)), Some(id)) if *target != format!("integrations/{id}") => {
                d.push(ApiDrift::RouteTarget)
            }
            _ => {}
        }
        match self.stage {
            None => d.push(ApiDrift::StageMissing),
            Some(false) => d.push(ApiDrift::StageSettings),
            Some(true) => {}
        }
        if !self.permission.is_ok() {
            d.push(ApiDrift::Permission);
        }
        d
    }
}

#[cfg(test)]
mod tests;
