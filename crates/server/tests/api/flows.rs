//! End-to-end behaviour across several requests: revocation, members who
//! leave, the last-owner rule, plan changes, project lifecycle, personal
//! tokens. Invitations are in `invitations.rs`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tally_core::ApiKeyId;
use tally_store::{AccountStore, StoreError};

use crate::fixture::Fx;
use crate::helpers::*;

fn key_in<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("key {id} not in {list}"))
}

async fn gateway_sees(app: &TestApp, secret: &str) -> Option<ApiKeyId> {
    match app.store.active_key_by_hash(&app.hasher.hash(secret)).await {
        Ok(key) => Some(key.id),
        Err(StoreError::NotFound) => None,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn a_revoked_key_stops_passing_the_gateway_lookup_at_once() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let created = app
        .create(
            &fx.developer,
            &format!("/api/projects/{}/api-keys", fx.project_a),
            json!({"name": "laptop"}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let secret = created["keySecret"].as_str().unwrap();
    let key_id: ApiKeyId = id.parse().unwrap();

    let found = app.store.active_key_by_hash(&app.hasher.hash(secret)).await.unwrap();
    assert_eq!(found.id, key_id);
    assert_eq!(found.created_by, fx.developer.id);
    assert_eq!(found.project_id, fx.project_a);

    let (status, revoked) = app
        .post(&fx.owner, &format!("/api/api-keys/{id}/revoke"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["status"], "revoked");
    let revoked_at = revoked["revokedAt"].as_str().unwrap().to_owned();
    // The very next lookup refuses it.
    assert_eq!(gateway_sees(&app, secret).await, None);
    // Other keys are untouched.
    assert_eq!(gateway_sees(&app, &fx.dev_secret).await, Some(fx.dev_key));
    assert_eq!(gateway_sees(&app, &fx.admin_secret).await, Some(fx.admin_key));

    // Revoking again (by its creator) changes nothing and says the same.
    let (status, again) = app
        .post(&fx.developer, &format!("/api/api-keys/{id}/revoke"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["status"], "revoked");
    assert_eq!(again["revokedAt"], revoked_at);
    assert_eq!(gateway_sees(&app, secret).await, None);

    // Its creator still sees it, as revoked.
    let (_, mine) = app
        .get(&fx.developer, &format!("/api/organizations/{}/api-keys", fx.org_a))
        .await;
    assert_eq!(key_in(&mine, id)["status"], "revoked");
    assert_eq!(key_in(&mine, id)["revokedAt"], revoked_at);
    assert_eq!(key_in(&mine, &fx.dev_key.to_string())["status"], "active");
}

#[tokio::test]
async fn a_removed_members_keys_stay_listed_under_their_name() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let (_, created) = app
        .post(
            &fx.developer,
            &format!("/api/projects/{}/api-keys", fx.project_a),
            json!({"name": "before leaving"}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["keySecret"].as_str().unwrap().to_owned();

    let (status, _) = app
        .delete(
            &fx.owner,
            &format!("/api/organizations/{}/members/{}", fx.org_a, fx.developer.id),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, keys) = app
        .get(&fx.owner, &format!("/api/organizations/{}/api-keys", fx.org_a))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(keys.as_array().unwrap().len(), 3, "{keys}");
    for id in [id.clone(), fx.dev_key.to_string()] {
        let key = key_in(&keys, &id);
        assert_eq!(key["createdBy"]["userId"], fx.developer.id.to_string());
        assert_eq!(key["createdBy"]["name"], "Dana Developer");
        assert_eq!(key["createdBy"]["email"], fx.developer.email);
        assert_eq!(key["status"], "active");
    }
    let (_, key) = app.get(&fx.admin, &format!("/api/api-keys/{id}")).await;
    assert_eq!(key["createdBy"]["name"], "Dana Developer");
    // The keys keep working.
    assert!(gateway_sees(&app, &secret).await.is_some());
    assert_eq!(gateway_sees(&app, &fx.dev_secret).await, Some(fx.dev_key));

    // The former member sees none of it any more.
    let (_, me) = app.get(&fx.developer, "/api/me").await;
    assert_eq!(me["organizations"], json!([]));
    for path in [
        format!("/api/organizations/{}", fx.org_a),
        format!("/api/organizations/{}/api-keys", fx.org_a),
        format!("/api/projects/{}", fx.project_a),
        format!("/api/api-keys/{id}"),
    ] {
        let (status, body) = app.get(&fx.developer, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_error(&body, "not_found", None);
    }
    let (status, _) = app
        .post(&fx.developer, &format!("/api/api-keys/{id}/revoke"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(gateway_sees(&app, &secret).await.is_some());

    // Invited back, they manage their own keys again.
    let invitation = app
        .create(
            &fx.owner,
            &format!("/api/organizations/{}/invitations", fx.org_a),
            json!({"email": fx.developer.email, "role": "developer"}),
        )
        .await;
    let (status, body) = app
        .post(
            &fx.developer,
            "/api/invitations/accept",
            json!({"token": invitation["token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, mine) = app
        .get(&fx.developer, &format!("/api/organizations/{}/api-keys", fx.org_a))
        .await;
    assert_eq!(mine.as_array().unwrap().len(), 2, "{mine}");
}

#[tokio::test]
async fn a_member_may_leave_but_the_last_owner_may_not() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let members = format!("/api/organizations/{}/members", fx.org_a);
    let member = |u: &TestUser| format!("{members}/{}", u.id);

    // The developer and the admin leave by themselves.
    for user in [&fx.developer, &fx.admin] {
        let (status, _) = app.delete(user, &member(user)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, me) = app.get(user, "/api/me").await;
        assert_eq!(me["organizations"], json!([]));
    }
    // The only owner cannot leave or step down.
    let (status, body) = app.delete(&fx.owner, &member(&fx.owner)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "last_owner", None);
    for role in ["admin", "developer"] {
        let (status, body) = app.patch(&fx.owner, &member(&fx.owner), json!({"role": role})).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_error(&body, "last_owner", None);
    }
    let roles = app.store.members(fx.org_a).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].user_id, fx.owner.id);
    assert_eq!(roles[0].role, tally_core::Role::Owner);
}

#[tokio::test]
async fn ownership_can_be_handed_over() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let members = format!("/api/organizations/{}/members", fx.org_a);
    let member = |u: &TestUser| format!("{members}/{}", u.id);

    // An admin cannot make themselves owner, nor touch the owner.
    let (status, _) = app.patch(&fx.admin, &member(&fx.admin), json!({"role": "owner"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.patch(&fx.admin, &member(&fx.owner), json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.delete(&fx.admin, &member(&fx.owner)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The owner promotes the admin; with two owners either may step down.
    let (status, body) = app.patch(&fx.owner, &member(&fx.admin), json!({"role": "owner"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "owner");
    let (_, me) = app.get(&fx.admin, "/api/me").await;
    assert_eq!(me["organizations"][0]["role"], "owner");

    let (status, body) = app
        .patch(&fx.admin, &member(&fx.owner), json!({"role": "developer"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "developer");
    // The former owner, now a developer, cannot take it back.
    let (status, body) = app.patch(&fx.owner, &member(&fx.owner), json!({"role": "owner"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(&body, "forbidden", None);

    // The new owner is now the last one.
    let (status, body) = app.delete(&fx.admin, &member(&fx.admin)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "last_owner", None);
    let (status, body) = app.patch(&fx.admin, &member(&fx.admin), json!({"role": "admin"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_error(&body, "last_owner", None);

    // With a second owner again, the first may leave outright.
    let (status, _) = app
        .patch(&fx.admin, &member(&fx.developer), json!({"role": "owner"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.delete(&fx.admin, &member(&fx.admin)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (_, list) = app.get(&fx.developer, &members).await;
    let roles: Vec<(String, String)> = pairs(&list, "email", "role");
    assert_eq!(
        roles,
        vec![
            ("dev@a.example".to_owned(), "owner".to_owned()),
            ("owner@a.example".to_owned(), "developer".to_owned()),
        ]
    );
}

#[tokio::test]
async fn plan_and_name_changes_show_in_me() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let org = format!("/api/organizations/{}", fx.org_a);

    let (_, me) = app.get(&fx.developer, "/api/me").await;
    assert_eq!(me["organizations"][0]["plan"], "enterprise");

    let (status, body) = app
        .patch(&fx.owner, &org, json!({"plan": "pro", "name": "Acme Renamed"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for user in [&fx.owner, &fx.admin, &fx.developer] {
        let (_, me) = app.get(user, "/api/me").await;
        assert_eq!(me["organizations"][0]["plan"], "pro", "{me}");
        assert_eq!(me["organizations"][0]["name"], "Acme Renamed");
        let (_, list) = app.get(user, "/api/organizations").await;
        assert_eq!(list[0]["plan"], "pro");
    }

    // An admin may rename but not change the plan, and a refused change
    // leaves the name alone too.
    let (status, _) = app
        .patch(&fx.admin, &org, json!({"plan": "free", "name": "Sneaky"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.patch(&fx.admin, &org, json!({"name": "Acme Again"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["role"], "admin");
    let (_, me) = app.get(&fx.developer, "/api/me").await;
    assert_eq!(me["organizations"][0]["plan"], "pro");
    assert_eq!(me["organizations"][0]["name"], "Acme Again");
    // Org B is unaffected.
    let (_, me) = app.get(&fx.outsider, "/api/me").await;
    assert_eq!(me["organizations"][0]["name"], "Org B");
    assert_eq!(me["organizations"][0]["plan"], "pro");
}

#[tokio::test]
async fn projects_are_renamed_and_deleted() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let project = format!("/api/projects/{}", fx.project_a);
    let projects = format!("/api/organizations/{}/projects", fx.org_a);

    let (status, body) = app.patch(&fx.admin, &project, json!({"name": "  Support Bot "})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "Support Bot");
    let (_, got) = app.get(&fx.developer, &project).await;
    assert_eq!(got["name"], "Support Bot");
    let (_, list) = app.get(&fx.developer, &projects).await;
    assert_eq!(list[0]["name"], "Support Bot");

    // A second project whose keys must survive the first one's deletion.
    let (_, other) = app.post(&fx.owner, &projects, json!({"name": "Search"})).await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let (_, other_key) = app
        .post(
            &fx.developer,
            &format!("/api/projects/{other_id}/api-keys"),
            json!({"name": "search"}),
        )
        .await;

    // A key revoked earlier keeps its revocation time.
    let (_, early) = app
        .post(&fx.owner, &format!("/api/api-keys/{}/revoke", fx.admin_key), json!({}))
        .await;
    let early_at = early["revokedAt"].clone();

    let (status, body) = app.delete(&fx.owner, &project).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);

    let (status, body) = app.get(&fx.owner, &project).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found", None);
    let (_, list) = app.get(&fx.developer, &projects).await;
    assert_eq!(ids(&list), vec![other_id.clone()]);

    let (_, keys) = app
        .get(&fx.owner, &format!("/api/organizations/{}/api-keys", fx.org_a))
        .await;
    assert_eq!(keys.as_array().unwrap().len(), 3, "{keys}");
    let dev_key = key_in(&keys, &fx.dev_key.to_string());
    assert_eq!(dev_key["status"], "revoked");
    assert!(dev_key["revokedAt"].is_string());
    assert_eq!(key_in(&keys, &fx.admin_key.to_string())["revokedAt"], early_at);
    assert_eq!(key_in(&keys, other_key["id"].as_str().unwrap())["status"], "active");
    assert_eq!(gateway_sees(&app, &fx.dev_secret).await, None);
    assert_eq!(gateway_sees(&app, &fx.admin_secret).await, None);
    assert!(
        gateway_sees(&app, other_key["keySecret"].as_str().unwrap())
            .await
            .is_some()
    );
    // The developer still sees their (now revoked) key by id.
    let (status, key) = app.get(&fx.developer, &format!("/api/api-keys/{}", fx.dev_key)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(key["status"], "revoked");

    // Nothing more can be done to a deleted project.
    for (status, body) in [
        app.patch(&fx.owner, &project, json!({"name": "Back"})).await,
        app.delete(&fx.owner, &project).await,
        app.get(&fx.owner, &format!("{project}/api-keys")).await,
        app.post(&fx.owner, &format!("{project}/api-keys"), json!({"name": "late"}))
            .await,
    ] {
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_error(&body, "not_found", None);
    }
    assert_eq!(app.store.api_keys(fx.org_a, None, None).await.unwrap().len(), 3);
}

#[tokio::test]
async fn personal_tokens_are_listed_and_deleted() {
    let app = TestApp::spawn().await;
    let owner = app.user("owner@a.example", "Olivia Owner").await;

    let created = app.create(&owner, "/api/me/tokens", json!({"name": " ci "})).await;
    assert_eq!(created["name"], "ci");
    let ci = TestUser {
        token: created["tokenSecret"].as_str().unwrap().to_owned(),
        token_id: created["id"].as_str().unwrap().parse().unwrap(),
        ..owner.clone()
    };
    let (status, me) = app.get(&ci, "/api/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["id"], owner.id.to_string());

    // A browser session is not a personal token and is not listed.
    let login = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": owner.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);

    let (_, list) = app.get(&owner, "/api/me/tokens").await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ci", "tests"], "newest first: {list}");
    assert_eq!(ids(&list), vec![ci.token_id.to_string(), owner.token_id.to_string()]);

    let (status, body) = app.delete(&owner, &format!("/api/me/tokens/{}", ci.token_id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    let (status, body) = app.get(&ci, "/api/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error(&body, "unauthenticated", None);
    let (_, list) = app.get(&owner, "/api/me/tokens").await;
    assert_eq!(ids(&list), vec![owner.token_id.to_string()]);
    let (status, _) = app.delete(&owner, &format!("/api/me/tokens/{}", ci.token_id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting the token a request is made with works, and it ends there.
    let (status, _) = app.delete(&owner, &format!("/api/me/tokens/{}", owner.token_id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&owner, "/api/me/tokens").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn keys_are_listed_per_project_and_per_creator() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let (_, other) = app
        .post(
            &fx.owner,
            &format!("/api/organizations/{}/projects", fx.org_a),
            json!({"name": "Search"}),
        )
        .await;
    let other = other["id"].as_str().unwrap().to_owned();
    let mut dev_keys = vec![fx.dev_key.to_string()];
    for (user, name) in [(&fx.developer, "d1"), (&fx.developer, "d2"), (&fx.owner, "o1")] {
        let key = app
            .create(user, &format!("/api/projects/{other}/api-keys"), json!({"name": name}))
            .await;
        assert_eq!(key["projectId"], other);
        if user.id == fx.developer.id {
            dev_keys.push(key["id"].as_str().unwrap().to_owned());
        }
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    let org_keys = format!("/api/organizations/{}/api-keys", fx.org_a);
    let (_, all) = app.get(&fx.admin, &org_keys).await;
    assert_eq!(all.as_array().unwrap().len(), 5);
    // Newest first.
    let mut newest_first = ids(&all);
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids(&all), newest_first);

    let (_, mine) = app.get(&fx.developer, &org_keys).await;
    assert_eq!(sorted(ids(&mine)), sorted(dev_keys.clone()));
    let (_, mine_in_other) = app.get(&fx.developer, &format!("/api/projects/{other}/api-keys")).await;
    assert_eq!(sorted(ids(&mine_in_other)), sorted(dev_keys[1..].to_vec()));
    let (_, all_in_other) = app.get(&fx.owner, &format!("/api/projects/{other}/api-keys")).await;
    assert_eq!(all_in_other.as_array().unwrap().len(), 3);
    let (_, all_in_a) = app
        .get(&fx.owner, &format!("/api/projects/{}/api-keys", fx.project_a))
        .await;
    assert_eq!(
        sorted(ids(&all_in_a)),
        sorted(vec![fx.dev_key.to_string(), fx.admin_key.to_string()])
    );

    // A developer renames their key; the owner sees the new name.
    let (status, _) = app
        .patch(
            &fx.developer,
            &format!("/api/api-keys/{}", dev_keys[1]),
            json!({"name": "d1 renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, all) = app.get(&fx.owner, &org_keys).await;
    assert_eq!(key_in(&all, &dev_keys[1])["name"], "d1 renamed");
}
