//! Joining an organization by invitation (issue 16): the route that created
//! accounts with a password the caller chose is gone; an invitee sets their
//! own password or accepts as the signed-in user the invitation names;
//! used, revoked, replaced and expired links change nothing; and inviting
//! never tells whether an e-mail has an account.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tally_core::{Email, InvitationId, Role};
use tally_store::{AccountStore, InvitationStore, NewInvitation, StoreError};

use crate::fixture::{Fx, NEW_EMAIL, PARTNER_EMAIL, TestInvitation};
use crate::helpers::*;

const LOOKUP: &str = "/api/invitations/lookup";
const ACCEPT: &str = "/api/invitations/accept";

/// Sends a request with a session cookie (or none); returns status, body and
/// the `Set-Cookie` session it sets, if any.
async fn browser(
    app: &TestApp,
    cookie: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = app.client.request(method, app.url(path));
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let session = resp
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let (status, body) = read(resp).await;
    (status, body, session)
}

async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Option<String>) {
    let (status, _, session) = browser(
        app,
        None,
        Method::POST,
        "/api/auth/login",
        Some(json!({"email": email, "password": password})),
    )
    .await;
    (status, session)
}

fn no_account(result: Result<tally_store::User, StoreError>) -> bool {
    matches!(result, Err(StoreError::NotFound))
}

/// The attack: any user makes an organization, then "adds" a stranger's
/// e-mail with a password of their choosing, and later logs in as them.
#[tokio::test]
async fn adding_a_member_with_a_chosen_password_creates_no_account() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let victim = "new.hire@victim.test";
    let (status, body) = app
        .post(
            &fx.outsider,
            &format!("/api/organizations/{}/members", fx.org_b),
            json!({"email": victim, "role": "developer", "name": "New Hire", "password": "the attacker's choice"}),
        )
        .await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_error(&body, "use_invitations", None);
    assert!(no_account(
        app.store.user_by_email(&Email::parse(victim).unwrap()).await
    ));
    let (status, _) = login(&app, victim, "the attacker's choice").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Nor can anyone be added without consent.
    let (status, _) = app
        .post(
            &fx.outsider,
            &format!("/api/organizations/{}/members", fx.org_b),
            json!({"email": fx.owner.email, "role": "developer"}),
        )
        .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(app.store.role_of(fx.org_b, fx.owner.id).await.unwrap(), None);
}

/// Invite, then the invitee opens the link, sets a name and password, is
/// signed in as a member, and logs in later with that password.
#[tokio::test]
async fn an_invitee_sets_their_own_password_and_joins() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let invitations = format!("/api/organizations/{}/invitations", fx.org_a);
    let created = app
        .create(
            &fx.admin,
            &invitations,
            json!({"email": " New.Person@A.Example ", "role": "admin"}),
        )
        .await;
    assert_eq!(created["email"], "new.person@a.example");
    assert_eq!(created["role"], "admin");
    assert_eq!(created["invitedBy"], fx.admin.id.to_string());
    let token = created["token"].as_str().unwrap().to_owned();
    let expires: Timestamp = created["expiresAt"].as_str().unwrap().parse().unwrap();
    let lifetime = expires.duration_since(created["createdAt"].as_str().unwrap().parse().unwrap());
    assert_eq!(lifetime, SignedDuration::from_hours(24 * 7));
    // Stored as its keyed hash.
    let stored = app.store.invitation_by_hash(&app.hasher.hash(&token)).await.unwrap();
    assert_eq!(stored.id.to_string(), created["id"].as_str().unwrap());

    // Pending: listed, not a member, no account, cannot log in.
    let (_, listed) = app.get(&fx.owner, &invitations).await;
    assert_eq!(
        ids(&listed),
        vec![created["id"].as_str().unwrap().to_owned()]
            .into_iter()
            .chain([fx.invite_owner_a.id.to_string(), fx.invite_a.id.to_string()])
            .collect::<Vec<_>>()
    );
    assert!(listed[0].get("token").is_none(), "{listed}");
    let (_, members) = app
        .get(&fx.owner, &format!("/api/organizations/{}/members", fx.org_a))
        .await;
    assert!(!members.to_string().contains("new.person@a.example"), "{members}");
    let (status, _) = login(&app, "new.person@a.example", "a new password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The link, opened by someone not signed in.
    assert_eq!(created["path"], format!("/invite#{token}"));
    let lookup = || Some(json!({"token": token}));
    let (status, info, _) = browser(&app, None, Method::POST, LOOKUP, lookup()).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["organizationName"], "Org A");
    assert_eq!(info["email"], "new.person@a.example");
    assert_eq!(info["role"], "admin");
    let (status, accepted, session) = browser(
        &app,
        None,
        Method::POST,
        ACCEPT,
        Some(json!({"token": token, "name": "New Person", "password": "a new password"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["organization"]["id"], fx.org_a.to_string());
    assert_eq!(accepted["organization"]["role"], "admin");
    assert_eq!(accepted["member"]["email"], "new.person@a.example");
    assert!(!accepted.to_string().contains("argon2"));
    let session = session.expect("accepting with a new account signs in");
    let (status, me, _) = browser(&app, Some(&session), Method::GET, "/api/me", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["name"], "New Person");
    assert_eq!(me["organizations"][0]["id"], fx.org_a.to_string());
    assert_eq!(me["organizations"][0]["role"], "admin");

    // A member now; the invitation is used and its link is dead.
    let (status, _) = login(&app, "NEW.PERSON@a.example", "a new password").await;
    assert_eq!(status, StatusCode::OK);
    let (_, members) = app
        .get(&fx.owner, &format!("/api/organizations/{}/members", fx.org_a))
        .await;
    assert!(members.to_string().contains("new.person@a.example"), "{members}");
    let (_, listed) = app.get(&fx.owner, &invitations).await;
    assert!(!listed.to_string().contains("new.person@a.example"), "{listed}");
    let (status, body, _) = browser(&app, None, Method::POST, LOOKUP, lookup()).await;
    assert_eq!(status, StatusCode::GONE);
    assert_error(&body, "invitation_used", None);
}

/// A user with an account accepts while signed in as the invited e-mail;
/// their account (password, other organizations) is untouched.
#[tokio::test]
async fn an_existing_user_accepts_while_signed_in() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let (status, session) = login(&app, &fx.outsider.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let session = session.unwrap();
    let accept = || Some(json!({"token": fx.invite_a.token}));
    let (status, body, new_session) = browser(&app, Some(&session), Method::POST, ACCEPT, accept()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(new_session, None, "already signed in: no new session");
    assert_eq!(body["member"]["userId"], fx.outsider.id.to_string());
    assert_eq!(body["member"]["role"], "developer");
    assert_eq!(
        app.store.role_of(fx.org_a, fx.outsider.id).await.unwrap(),
        Some(Role::Developer)
    );
    assert_eq!(
        app.store.role_of(fx.org_b, fx.outsider.id).await.unwrap(),
        Some(Role::Owner)
    );
    assert_eq!(login(&app, &fx.outsider.email, PASSWORD).await.0, StatusCode::OK);
    let (status, body, _) = browser(&app, Some(&session), Method::POST, ACCEPT, accept()).await;
    assert_eq!(status, StatusCode::GONE);
    assert_error(&body, "invitation_used", None);
}

/// Signed in as someone else, or not at all, the invitation is refused and
/// nothing changes; with a new account for an e-mail that has one, too.
#[tokio::test]
async fn an_invitation_is_accepted_only_by_its_e_mail() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let before = fx.snapshot(&app).await;
    /// Label, caller, invitation, body, status and error code.
    type Case<'a> = (&'a str, Option<&'a TestUser>, &'a TestInvitation, Value, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "another user",
            Some(&fx.developer),
            &fx.invite_a,
            json!({}),
            403,
            "wrong_account",
        ),
        (
            "the inviter",
            Some(&fx.owner),
            &fx.invite_a,
            json!({}),
            403,
            "wrong_account",
        ),
        (
            "a user, for an e-mail without an account",
            Some(&fx.outsider),
            &fx.invite_owner_a,
            json!({}),
            403,
            "wrong_account",
        ),
        (
            "nobody signed in",
            None,
            &fx.invite_a,
            json!({}),
            401,
            "unauthenticated",
        ),
        (
            "a new password for an existing account",
            None,
            &fx.invite_a,
            json!({"name": "Impostor", "password": "the attacker's choice"}),
            409,
            "account_exists",
        ),
    ];
    for (label, who, invitation, mut body, status, code) in cases {
        body["token"] = json!(invitation.token);
        let (got, answer) = app.call(who, Method::POST, ACCEPT, Some(body)).await;
        assert_eq!(got.as_u16(), status, "{label}: {answer}");
        assert_error(&answer, code, None);
        assert_eq!(fx.snapshot(&app).await, before, "{label} changed the store");
    }
    assert_eq!(
        login(&app, &fx.outsider.email, "the attacker's choice").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Both invitations still work for the right person.
    let body = json!({"token": fx.invite_a.token});
    assert_eq!(app.post(&fx.outsider, ACCEPT, body).await.0, StatusCode::OK);
}

/// A pending invitation whose token is `token`, expired an hour ago.
async fn expired_invitation(app: &TestApp, fx: &Fx, token: &str) {
    let now = Timestamp::now();
    app.store
        .create_invitation(NewInvitation {
            id: InvitationId::new(),
            org_id: fx.org_a,
            email: Email::parse(NEW_EMAIL).unwrap(),
            role: Role::Developer,
            secret_hash: app.hasher.hash(token),
            invited_by: fx.owner.id,
            created_at: now - SignedDuration::from_hours(25),
            expires_at: now - SignedDuration::from_hours(1),
        })
        .await
        .unwrap();
}

/// Every dead link fails the same clear way whether it is shown, accepted
/// with a new account or accepted as a signed-in user, and changes nothing.
#[tokio::test]
async fn expired_revoked_replaced_and_used_links_are_refused() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let expired = "tli_expiredexpiredexpiredexpiredexpired";
    expired_invitation(&app, &fx, expired).await;
    // Revoked by an admin.
    let (status, _) = app
        .delete(
            &fx.admin,
            &format!("/api/organizations/{}/invitations/{}", fx.org_a, fx.invite_a.id),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Replaced: inviting the same e-mail again revokes the earlier link.
    app.create(
        &fx.owner,
        &format!("/api/organizations/{}/invitations", fx.org_a),
        json!({"email": PARTNER_EMAIL, "role": "admin"}),
    )
    .await;
    // Used: the guest of org B joins.
    let (status, body) = app
        .call(
            None,
            Method::POST,
            ACCEPT,
            Some(json!({"token": fx.invite_b.token, "name": "Gus Guest", "password": "long enough"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let guest = app
        .store
        .user_by_email(&Email::parse(crate::fixture::GUEST_EMAIL).unwrap())
        .await
        .unwrap();
    let guest_token = app.user("guest-token-holder@b.example", "Holder").await;

    let dead = [
        (expired, "invitation_expired"),
        (fx.invite_a.token.as_str(), "invitation_revoked"),
        (fx.invite_owner_a.token.as_str(), "invitation_revoked"),
        (fx.invite_b.token.as_str(), "invitation_used"),
    ];
    let before = fx.snapshot(&app).await;
    let guest_before = format!("{:?}", app.store.orgs_of_user(guest.id).await.unwrap());
    for (token, code) in dead {
        let attempts = [
            (None, LOOKUP, json!({"token": token})),
            (
                None,
                ACCEPT,
                json!({"token": token, "name": "Late Comer", "password": "long enough"}),
            ),
            (Some(&fx.outsider), ACCEPT, json!({"token": token})),
            (Some(&guest_token), ACCEPT, json!({"token": token})),
        ];
        for (who, path, body) in attempts {
            let (status, answer) = app.call(who, Method::POST, path, Some(body.clone())).await;
            assert_eq!(status, StatusCode::GONE, "{path} {body}: {answer}");
            assert_error(&answer, code, None);
            assert_eq!(fx.snapshot(&app).await, before, "{path} {body} changed the store");
        }
    }
    assert_eq!(
        format!("{:?}", app.store.orgs_of_user(guest.id).await.unwrap()),
        guest_before
    );
    // Revoking a dead invitation is not found.
    for id in [fx.invite_a.id, fx.invite_owner_a.id] {
        let (status, _) = app
            .delete(&fx.owner, &format!("/api/organizations/{}/invitations/{id}", fx.org_a))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // The expired one is listed as such, and can be sent again.
    let (_, listed) = app
        .get(&fx.owner, &format!("/api/organizations/{}/invitations", fx.org_a))
        .await;
    let statuses: BTreeSet<(String, String)> = pairs(&listed, "email", "status");
    assert_eq!(
        statuses,
        BTreeSet::from([
            (NEW_EMAIL.to_owned(), "expired".to_owned()),
            (PARTNER_EMAIL.to_owned(), "pending".to_owned()),
        ])
    );
}

/// Two people racing with the same link: exactly one joins.
#[tokio::test]
async fn a_link_is_used_once_under_concurrent_accepts() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let token = &fx.invite_owner_a.token;
    let (a, b) = tokio::join!(
        app.call(
            None,
            Method::POST,
            ACCEPT,
            Some(json!({"token": token, "name": "First", "password": "first password"}))
        ),
        app.call(
            None,
            Method::POST,
            ACCEPT,
            Some(json!({"token": token, "name": "Second", "password": "second password"}))
        ),
    );
    let mut statuses = [a.0.as_u16(), b.0.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses[0], 200, "{a:?} {b:?}");
    assert!(statuses[1] == 409 || statuses[1] == 410, "{a:?} {b:?}");
    let members = app.store.members(fx.org_a).await.unwrap();
    assert_eq!(members.iter().filter(|m| m.email.as_str() == PARTNER_EMAIL).count(), 1);
}

/// The shape of a JSON value: its keys and their types, not the values.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

/// Inviting, listing and opening the link answer alike for an e-mail with an
/// account and one without: nothing tells the two apart.
#[tokio::test]
async fn invitations_do_not_tell_whether_an_e_mail_has_an_account() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let invitations = format!("/api/organizations/{}/invitations", fx.org_b);
    let mut answers = Vec::new();
    // Org A's owner and developer have accounts; the others do not.
    for email in [
        fx.owner.email.clone(),
        fx.developer.email.to_uppercase(),
        NEW_EMAIL.to_owned(),
        "never.seen@c.example".to_owned(),
    ] {
        let (status, created) = app
            .post(&fx.outsider, &invitations, json!({"email": email, "role": "developer"}))
            .await;
        let token = created["token"].as_str().unwrap().to_owned();
        let (show_status, info) = app
            .call(None, Method::POST, LOOKUP, Some(json!({"token": token})))
            .await;
        answers.push((status, shape(&created), show_status, shape(&info)));
    }
    for answer in &answers[1..] {
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(answers[0].0, StatusCode::CREATED);
    assert_eq!(answers[0].2, StatusCode::OK);
    let (_, listed) = app.get(&fx.outsider, &invitations).await;
    let shapes: BTreeSet<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| shape(i).to_string())
        .collect();
    assert_eq!(shapes.len(), 1, "{listed}");
    let statuses: BTreeSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, BTreeSet::from(["pending"]));
}
