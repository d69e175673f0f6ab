//! `Parts::drift`: what `up` repairs on the HTTP API, decided without AWS.

use super::*;

fn parts() -> Parts {
    Parts {
        integration: Some("abc".into()),
        route: Some(("r1".into(), "integrations/abc".into())),
        stage: Some(true),
        permission: State::Present,
    }
}

#[test]
fn an_api_wired_as_wanted_has_no_drift() {
    assert_eq!(parts().drift(), []);
}

#[test]
fn a_route_to_another_integration_or_a_missing_part_is_named() {
    let p = Parts {
        route: Some(("r1".into(), "integrations/other".into())),
        stage: Some(false),
        ..parts()
    };
    assert_eq!(p.drift(), [ApiDrift::RouteTarget, ApiDrift::StageSettings]);
    let p = Parts {
        integration: None,
        route: None,
        stage: None,
        permission: State::Missing,
    };
    assert_eq!(
        p.drift(),
        [
            ApiDrift::IntegrationMissing,
            ApiDrift::RouteMissing,
            ApiDrift::StageMissing,
            ApiDrift::Permission
        ]
    );
    // Without an integration the route cannot target it: only its absence is said.
    let p = Parts {
        integration: None,
        ..parts()
    };
    assert_eq!(p.drift(), [ApiDrift::IntegrationMissing]);
}
