//! The body capture setting of a project: off by default, shown to every
//! member, changed by owners and admins only, within 1 to 90 days.

use serde_json::json;
use tally_store::AccountStore;

use crate::fixture::Fx;
use crate::helpers::*;

#[tokio::test]
async fn capture_is_off_by_default_and_only_managers_turn_it_on() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let path = format!("/api/projects/{}", fx.project_a);
    for user in [&fx.owner, &fx.admin, &fx.developer] {
        let (status, project) = app.get(user, &path).await;
        assert_eq!(status, 200);
        assert_eq!(project["captureBodies"], false);
        assert_eq!(project["bodyRetentionDays"], 7);
    }

    let on = json!({"captureBodies": true});
    let (status, body) = app.patch(&fx.developer, &path, on.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert_error(&body, "forbidden", None);
    let (status, body) = app.patch(&fx.outsider, &path, on.clone()).await;
    assert_eq!(status, 404, "another organization's project: {body}");
    assert_error(&body, "not_found", None);
    let (status, _) = app.call(None, reqwest::Method::PATCH, &path, Some(on.clone())).await;
    assert_eq!(status, 401);
    let project = app.store.project(fx.project_a).await.unwrap();
    assert!(!project.capture_bodies, "refusals change nothing");

    let (status, project) = app.patch(&fx.admin, &path, on).await;
    assert_eq!(status, 200, "{project}");
    assert_eq!(
        (&project["captureBodies"], &project["bodyRetentionDays"]),
        (&json!(true), &json!(7))
    );
    let (status, project) = app.patch(&fx.owner, &path, json!({"bodyRetentionDays": 90})).await;
    assert_eq!(status, 200, "{project}");
    assert_eq!(
        (&project["captureBodies"], &project["bodyRetentionDays"]),
        (&json!(true), &json!(90))
    );
    assert_eq!(project["name"], "Project A", "a partial change leaves the name");
    let (_, seen) = app.get(&fx.developer, &path).await;
    assert_eq!(seen, project);
}

#[tokio::test]
async fn a_retention_outside_one_to_ninety_days_is_refused() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let path = format!("/api/projects/{}", fx.project_a);
    let before = app.store.project(fx.project_a).await.unwrap();
    for (body, param) in [
        (json!({"bodyRetentionDays": 0}), "bodyRetentionDays"),
        (json!({"bodyRetentionDays": 91}), "bodyRetentionDays"),
        (json!({"bodyRetentionDays": -7}), "bodyRetentionDays"),
        (json!({"bodyRetentionDays": 1e3}), "bodyRetentionDays"),
        (json!({"bodyRetentionDays": "7"}), "bodyRetentionDays"),
        (
            json!({"captureBodies": true, "bodyRetentionDays": 365}),
            "bodyRetentionDays",
        ),
        (json!({"captureBodies": "yes"}), "captureBodies"),
        (json!({"captureBodies": 1}), "captureBodies"),
    ] {
        let (status, error) = app.patch(&fx.owner, &path, body.clone()).await;
        assert_eq!(status, 400, "{body}: {error}");
        assert_error(&error, "invalid_request", Some(param));
    }
    assert_eq!(
        app.store.project(fx.project_a).await.unwrap(),
        before,
        "nothing changed"
    );
}
