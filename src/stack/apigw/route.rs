//! The API's route and stage: read, made or set as wanted, and taken as made when another `up`
//! run at the same moment made them first.

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::types::RouteSettings;

use super::{ROUTE_KEY, STAGE, THROTTLE_BURST, THROTTLE_RATE};
use crate::aws::{AwsResultExt, FindExt};
use crate::stack::{STACK_TAG, Stack};

/// The `POST /webhook` route: its id and target.
pub(super) async fn find_route(
    client: &Client,
    api_id: &str,
) -> anyhow::Result<Option<(String, String)>> {
    let routes = client
        .get_routes()
        .api_id(api_id)
        .send()
        .await
        .aws(format!("API Gateway GetRoutes {api_id}"))?;
    Ok(routes
        .items()
        .iter()
        .find(|r| r.route_key() == Some(ROUTE_KEY))
        .map(|r| {
            (
                r.route_id().unwrap_or_default().to_owned(),
                r.target().unwrap_or_default().to_owned(),
            )
        }))
}

/// The `$default` stage: whether its settings are as wanted, `None` when missing.
pub(super) async fn find_stage(client: &Client, api_id: &str) -> anyhow::Result<Option<bool>> {
    let stage = client
        .get_stage()
        .api_id(api_id)
        .stage_name(STAGE)
        .send()
        .await
        .found()
        .aws(format!("API Gateway GetStage {api_id}"))?;
    Ok(stage.map(|s| {
        s.auto_deploy() == Some(true)
            && s.default_route_settings().is_some_and(|r| {
                r.throttling_burst_limit() == Some(THROTTLE_BURST)
                    && r.throttling_rate_limit() == Some(THROTTLE_RATE)
            })
    }))
}

fn throttling() -> RouteSettings {
    RouteSettings::builder()
        .throttling_burst_limit(THROTTLE_BURST)
        .throttling_rate_limit(THROTTLE_RATE)
        .build()
}

/// The `POST /webhook` route to the integration: made, or pointed there; one another `up` made
/// a moment ago (API Gateway's `ConflictException`) is read and used.
pub(super) async fn ensure_route(
    client: &Client,
    api_id: &str,
    found: Option<(String, String)>,
    integration: &str,
) -> anyhow::Result<()> {
    let target = format!("integrations/{integration}");
    let mut route = found;
    let mut attempt = 1;
    while route.is_none() {
        let created = client
            .create_route()
            .api_id(api_id)
            .route_key(ROUTE_KEY)
            .target(&target)
            .send()
            .await;
        match created {
            Ok(_) => break,
            // Another `up` made the route a moment ago: it is read and pointed here (or, not
            // listed yet, made again).
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception())
                    && attempt < crate::aws::MAX_ATTEMPTS =>
            {
                route = find_route(client, api_id).await?;
                if route.is_none() {
                    tokio::time::sleep(crate::aws::backoff(attempt)).await;
                }
                attempt += 1;
            }
            Err(e) => return Err(e).aws(format!("API Gateway CreateRoute {api_id}")),
        }
    }
    match &route {
        None => {}
        Some((route_id, current)) if *current != target => {
            client
                .update_route()
                .api_id(api_id)
                .route_id(route_id)
                .target(&target)
                .send()
                .await
                .aws(format!("API Gateway UpdateRoute {api_id}"))?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// The throttled, auto-deployed `$default` stage: made, or set as wanted; one another `up` made
/// a moment ago is read, and set as wanted if it is not.
pub(super) async fn ensure_stage(
    client: &Client,
    api_id: &str,
    found: Option<bool>,
    stack: &Stack,
) -> anyhow::Result<()> {
    let mut stage = found;
    let mut attempt = 1;
    while stage.is_none() {
        let created = client
            .create_stage()
            .api_id(api_id)
            .stage_name(STAGE)
            .auto_deploy(true)
            .default_route_settings(throttling())
            .tags(STACK_TAG, stack.name.as_str())
            .send()
            .await;
        match created {
            Ok(_) => break,
            // Made by another `up` a moment ago: read, and set as wanted if it is not (or, not
            // listed yet, made again).
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception())
                    && attempt < crate::aws::MAX_ATTEMPTS =>
            {
                stage = find_stage(client, api_id).await?;
                if stage.is_none() {
                    tokio::time::sleep(crate::aws::backoff(attempt)).await;
                }
                attempt += 1;
            }
            Err(e) => return Err(e).aws(format!("API Gateway CreateStage {api_id}")),
        }
    }
    match stage {
        None => {}
        Some(false) => {
            client
                .update_stage()
                .api_id(api_id)
                .stage_name(STAGE)
                .auto_deploy(true)
                .default_route_settings(throttling())
                .send()
                .await
                .aws(format!("API Gateway UpdateStage {api_id}"))?;
        }
        Some(true) => {}
    }
    Ok(())
}
