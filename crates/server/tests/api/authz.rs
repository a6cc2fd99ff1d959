//! The authorization matrix: every endpoint, sent by an owner, an admin and a
//! developer of org A, by the outsider (owner of org B, not in A) and
//! anonymously. Each (endpoint, caller) pair runs against a fresh server and
//! store, so a request that changes something cannot affect another pair.
//!
//! For every pair the status must match the table; a refusal must carry the
//! error shape with the right code and leave the store exactly as it was; a
//! success is checked for what it returned and, where it changes something,
//! for what the store now holds. Rows that use org B's ids show that 404s
//! for org A's members are about membership, not about bad ids.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tally_core::{ApiKeyId, OrgId, Plan, ProjectId, Role, UserId};
use tally_store::{AccountStore, InvitationState, InvitationStore, StoreError, TokenKind};

use crate::fixture::{Fx, NEW_EMAIL, PARTNER_EMAIL, TestInvitation, Who};
use crate::helpers::*;

type PathFn = fn(&Fx) -> String;
type BodyFn = fn(&Fx) -> Option<Value>;
type CheckFn = fn(&Fx, Who, &Value);

/// What the store must hold after a successful request.
#[derive(Clone, Copy)]
enum Then {
    Nothing,
    /// The fixture owner has one browser session.
    SessionCreated,
    /// The caller has a second personal token, named "ci".
    TokenCreated,
    /// This user's fixture token is gone and no longer authenticates.
    TokenGone(fn(&Fx) -> &TestUser),
    /// The caller owns the organization the response names.
    OrgCreated,
    /// The organization has this name and plan.
    Org(fn(&Fx) -> OrgId, &'static str, Plan),
    /// The user's role in the organization (`None`: not a member).
    RoleIs(fn(&Fx) -> (OrgId, UserId), Option<Role>),
    /// [`NEW_EMAIL`] has exactly one open invitation to org A, with this
    /// role, the one in the response, whose token finds it; and no account.
    Invited(Role),
    /// The outsider's invitation to org A was replaced by the one in the response.
    Reinvited(Role),
    /// The invitation is no longer open, and its token no longer works.
    InvitationRevoked(fn(&Fx) -> (OrgId, &TestInvitation)),
    /// The user (by e-mail) joined the organization with this role by
    /// accepting, and the invitation is used.
    Joined(fn(&Fx) -> (OrgId, &str, &TestInvitation), Role),
    /// The organization has this many live projects.
    ProjectCount(fn(&Fx) -> OrgId, usize),
    ProjectName(fn(&Fx) -> ProjectId, &'static str),
    /// The project captures bodies and keeps them this many days.
    Capturing(fn(&Fx) -> ProjectId, u8),
    /// The project is gone and every key of it is revoked.
    ProjectGone(fn(&Fx) -> ProjectId),
    /// The key in the response is stored as created by the caller.
    KeyCreated,
    KeyName(fn(&Fx) -> ApiKeyId, &'static str),
    /// The key with this secret no longer passes the gateway's lookup.
    KeyRevoked(fn(&Fx) -> &str),
}

#[derive(Clone)]
struct Row {
    name: &'static str,
    method: Method,
    path: PathFn,
    body: BodyFn,
    /// Owner, admin, developer, outsider, anonymous.
    expect: [u16; 5],
    /// The error code of every refusal in this row, when not the usual one for its status.
    code: Option<&'static str>,
    /// The error code of the refusals with this status (before `code`).
    code_at: Option<(u16, &'static str)>,
    check: Option<CheckFn>,
    then: Then,
    /// Appended to the path: lets one row be repeated over a table of parameters.
    query: String,
}

fn row(name: &'static str, method: Method, path: PathFn, body: BodyFn, expect: [u16; 5]) -> Row {
    Row {
        name,
        method,
        path,
        body,
        expect,
        code: None,
        code_at: None,
        check: None,
        then: Then::Nothing,
        query: String::new(),
    }
}

impl Row {
    fn check(mut self, check: CheckFn) -> Self {
        self.check = Some(check);
        self
    }

    fn then(mut self, then: Then) -> Self {
        self.then = then;
        self
    }

    fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    fn query(mut self, query: String) -> Self {
        self.query = query;
        self
    }

    fn code_at(mut self, status: u16, code: &'static str) -> Self {
        self.code_at = Some((status, code));
        self
    }
}

fn none(_: &Fx) -> Option<Value> {
    None
}

fn column(who: Who) -> usize {
    match who {
        Who::Owner => 0,
        Who::Admin => 1,
        Who::Developer => 2,
        Who::Outsider => 3,
        Who::Anonymous => 4,
    }
}

fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        409 => "last_owner",
        other => panic!("no default error code for {other}"),
    }
}

/// The caller's role in the one organization they belong to.
fn role_name(who: Who) -> &'static str {
    match who {
        Who::Owner | Who::Outsider => "owner",
        Who::Admin => "admin",
        Who::Developer => "developer",
        Who::Anonymous => panic!("anonymous has no role"),
    }
}

fn caller(fx: &Fx, who: Who) -> &TestUser {
    fx.who(who).unwrap()
}

/// The one organization the caller belongs to.
fn home_org(fx: &Fx, who: Who) -> OrgId {
    if who == Who::Outsider { fx.org_b } else { fx.org_a }
}

fn id_set(list: &Value) -> BTreeSet<String> {
    ids(list).into_iter().collect()
}

fn set<T: ToString>(items: &[T]) -> BTreeSet<String> {
    items.iter().map(ToString::to_string).collect()
}

// ---- checks of successful responses ----

fn check_login(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(body["id"], fx.owner.id.to_string());
    assert_eq!(body["email"], fx.owner.email);
    assert!(!body.to_string().contains("argon2"), "{body}");
}

fn check_me(fx: &Fx, who: Who, body: &Value) {
    let me = caller(fx, who);
    assert_eq!(body["user"]["id"], me.id.to_string());
    assert_eq!(body["user"]["email"], me.email);
    assert_eq!(ids(&body["organizations"]), vec![home_org(fx, who).to_string()]);
    assert_eq!(body["organizations"][0]["role"], role_name(who));
}

fn check_own_tokens(fx: &Fx, who: Who, body: &Value) {
    assert_eq!(ids(body), vec![caller(fx, who).token_id.to_string()]);
    assert_eq!(body[0]["name"], "tests");
    assert!(body[0].get("tokenSecret").is_none(), "{body}");
}

fn check_created_token(_: &Fx, _: Who, body: &Value) {
    assert_eq!(body["name"], "ci");
    assert!(body["tokenSecret"].as_str().unwrap().starts_with("tlp_"), "{body}");
}

fn check_org_list(fx: &Fx, who: Who, body: &Value) {
    assert_eq!(ids(body), vec![home_org(fx, who).to_string()]);
    assert_eq!(body[0]["role"], role_name(who));
}

fn check_new_org(_: &Fx, _: Who, body: &Value) {
    assert_eq!(body["name"], "Fresh Org");
    assert_eq!(body["plan"], "free");
    assert_eq!(body["role"], "owner");
}

fn check_new_pro_org(_: &Fx, _: Who, body: &Value) {
    assert_eq!(body["plan"], "pro");
    assert_eq!(body["role"], "owner");
}

fn check_org_a(fx: &Fx, who: Who, body: &Value) {
    assert_eq!(body["id"], fx.org_a.to_string());
    assert_eq!(body["name"], "Org A");
    assert_eq!(body["plan"], "enterprise");
    assert_eq!(body["role"], role_name(who));
}

fn check_org_b(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(body["id"], fx.org_b.to_string());
    assert_eq!(body["plan"], "pro");
    assert_eq!(body["role"], "owner");
}

fn check_members_a(fx: &Fx, _: Who, body: &Value) {
    let got: BTreeSet<(String, String)> = pairs(body, "userId", "role");
    let want: BTreeSet<(String, String)> = [
        (fx.owner.id, "owner"),
        (fx.admin.id, "admin"),
        (fx.developer.id, "developer"),
    ]
    .iter()
    .map(|(id, role)| (id.to_string(), (*role).to_owned()))
    .collect();
    assert_eq!(got, want);
}

fn check_members_b(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body[0]["userId"], fx.outsider.id.to_string());
}

fn check_invitations_a(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(id_set(body), set(&[fx.invite_a.id, fx.invite_owner_a.id]));
    assert!(
        !body.to_string().contains("tli_"),
        "a listed invitation shows its token: {body}"
    );
    for i in body.as_array().unwrap() {
        assert_eq!(i["status"], "pending", "{body}");
    }
}

fn check_invitations_b(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(ids(body), vec![fx.invite_b.id.to_string()]);
}

/// The answer to an invitation: the same fields whoever is invited.
fn check_new_invitation(_: &Fx, _: Who, body: &Value) {
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "createdAt",
            "email",
            "expiresAt",
            "id",
            "invitedBy",
            "organizationId",
            "path",
            "role",
            "status",
            "token"
        ],
        "{body}"
    );
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("tli_"), "{body}");
    assert_eq!(body["path"], format!("/invite#{token}"));
    assert_eq!(body["status"], "pending");
}

fn check_invitation_info(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(
        body,
        &json!({
            "organizationId": fx.org_a.to_string(),
            "organizationName": "Org A",
            "email": fx.outsider.email,
            "role": "developer",
            "expiresAt": body["expiresAt"],
        })
    );
}

fn check_projects_a(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(ids(body), vec![fx.project_a.to_string()]);
}

fn check_projects_b(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(ids(body), vec![fx.project_b.to_string()]);
}

fn check_project_a(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(body["id"], fx.project_a.to_string());
    assert_eq!(body["organizationId"], fx.org_a.to_string());
    assert_eq!(body["name"], "Project A");
}

fn check_new_project(fx: &Fx, who: Who, body: &Value) {
    assert_eq!(body["organizationId"], home_org(fx, who).to_string());
    assert_eq!(body["name"], "New Project");
}

fn check_renamed_project(_: &Fx, _: Who, body: &Value) {
    assert_eq!(body["name"], "Renamed Project");
}

fn check_capturing_project(_: &Fx, _: Who, body: &Value) {
    assert_eq!(
        (&body["captureBodies"], &body["bodyRetentionDays"]),
        (&json!(true), &json!(30))
    );
}

/// Owners and admins see both keys of org A; the developer sees only theirs.
fn check_keys_a(fx: &Fx, who: Who, body: &Value) {
    let want = match who {
        Who::Developer => set(&[fx.dev_key]),
        _ => set(&[fx.dev_key, fx.admin_key]),
    };
    assert_eq!(id_set(body), want);
    for key in body.as_array().unwrap() {
        assert!(key.get("keySecret").is_none(), "{key}");
    }
}

fn check_keys_b(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(ids(body), vec![fx.key_b.to_string()]);
}

fn check_new_key(fx: &Fx, who: Who, body: &Value) {
    let secret = body["keySecret"].as_str().unwrap();
    assert!(secret.starts_with("tly_"), "{body}");
    assert_eq!(body["maskedKey"], format!("tly_…{}", &secret[secret.len() - 4..]));
    assert_eq!(body["createdBy"]["userId"], caller(fx, who).id.to_string());
    assert_eq!(body["createdBy"]["email"], caller(fx, who).email);
    assert_eq!(body["status"], "active");
    assert_eq!(body["name"], "new key");
}

fn check_dev_key(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(body["id"], fx.dev_key.to_string());
    assert_eq!(body["createdBy"]["userId"], fx.developer.id.to_string());
    assert_eq!(body["status"], "active");
}

fn check_admin_key(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(body["id"], fx.admin_key.to_string());
    assert_eq!(body["createdBy"]["userId"], fx.admin.id.to_string());
}

fn check_key_b(fx: &Fx, _: Who, body: &Value) {
    assert_eq!(body["id"], fx.key_b.to_string());
}

fn check_renamed_key(_: &Fx, _: Who, body: &Value) {
    assert_eq!(body["name"], "renamed key");
}

fn check_revoked(_: &Fx, _: Who, body: &Value) {
    assert_eq!(body["status"], "revoked");
    assert!(body["revokedAt"].is_string(), "{body}");
}

// ---- the table ----

const ALL_OK: [u16; 5] = [200, 200, 200, 200, 401];
const MEMBERS_OF_A: [u16; 5] = [200, 200, 200, 404, 401];
const MANAGERS_OF_A: [u16; 5] = [200, 200, 403, 404, 401];
const OWNER_OF_A: [u16; 5] = [200, 403, 403, 404, 401];
const ONLY_B: [u16; 5] = [404, 404, 404, 200, 401];

fn auth_rows() -> Vec<Row> {
    vec![
        row(
            "login with the right password",
            Method::POST,
            |_| "/api/auth/login".into(),
            |f| Some(json!({"email": f.owner.email, "password": PASSWORD})),
            [200; 5],
        )
        .check(check_login)
        .then(Then::SessionCreated),
        row(
            "login with a wrong password",
            Method::POST,
            |_| "/api/auth/login".into(),
            |f| Some(json!({"email": f.owner.email, "password": "not the password"})),
            [401; 5],
        )
        .code("invalid_credentials"),
        row(
            "login with an unknown e-mail",
            Method::POST,
            |_| "/api/auth/login".into(),
            |_| Some(json!({"email": "nobody@a.example", "password": PASSWORD})),
            [401; 5],
        )
        .code("invalid_credentials"),
        row("logout", Method::POST, |_| "/api/auth/logout".into(), none, [204; 5]),
        row("me", Method::GET, |_| "/api/me".into(), none, ALL_OK).check(check_me),
        row(
            "list own tokens",
            Method::GET,
            |_| "/api/me/tokens".into(),
            none,
            ALL_OK,
        )
        .check(check_own_tokens),
        row(
            "create a token",
            Method::POST,
            |_| "/api/me/tokens".into(),
            |_| Some(json!({"name": "ci"})),
            [201, 201, 201, 201, 401],
        )
        .check(check_created_token)
        .then(Then::TokenCreated),
        row(
            "delete the owner's token",
            Method::DELETE,
            |f| format!("/api/me/tokens/{}", f.owner.token_id),
            none,
            [204, 404, 404, 404, 401],
        )
        .then(Then::TokenGone(|f| &f.owner)),
        row(
            "delete the outsider's token",
            Method::DELETE,
            |f| format!("/api/me/tokens/{}", f.outsider.token_id),
            none,
            [404, 404, 404, 204, 401],
        )
        .then(Then::TokenGone(|f| &f.outsider)),
    ]
}

fn org_rows() -> Vec<Row> {
    vec![
        row(
            "list organizations",
            Method::GET,
            |_| "/api/organizations".into(),
            none,
            ALL_OK,
        )
        .check(check_org_list),
        row(
            "create an organization",
            Method::POST,
            |_| "/api/organizations".into(),
            |_| Some(json!({"name": "Fresh Org"})),
            [201, 201, 201, 201, 401],
        )
        .check(check_new_org)
        .then(Then::OrgCreated),
        row(
            "create an organization with a plan",
            Method::POST,
            |_| "/api/organizations".into(),
            |_| Some(json!({"name": "Paid Org", "plan": "pro"})),
            [201, 201, 201, 201, 401],
        )
        .check(check_new_pro_org)
        .then(Then::OrgCreated),
        row(
            "get org A",
            Method::GET,
            |f| format!("/api/organizations/{}", f.org_a),
            none,
            MEMBERS_OF_A,
        )
        .check(check_org_a),
        row(
            "rename org A",
            Method::PATCH,
            |f| format!("/api/organizations/{}", f.org_a),
            |_| Some(json!({"name": "Renamed A"})),
            MANAGERS_OF_A,
        )
        .then(Then::Org(|f| f.org_a, "Renamed A", Plan::Enterprise)),
        row(
            "change org A's plan",
            Method::PATCH,
            |f| format!("/api/organizations/{}", f.org_a),
            |_| Some(json!({"plan": "pro"})),
            OWNER_OF_A,
        )
        .then(Then::Org(|f| f.org_a, "Org A", Plan::Pro)),
        row(
            "rename org A and change its plan",
            Method::PATCH,
            |f| format!("/api/organizations/{}", f.org_a),
            |_| Some(json!({"name": "Renamed A", "plan": "free"})),
            OWNER_OF_A,
        )
        .then(Then::Org(|f| f.org_a, "Renamed A", Plan::Free)),
    ]
}

fn member_rows() -> Vec<Row> {
    let members_a = |f: &Fx| format!("/api/organizations/{}/members", f.org_a);
    vec![
        row("list org A's members", Method::GET, members_a, none, MANAGERS_OF_A).check(check_members_a),
        // The attack of issue 16: creating an account with a password the
        // caller chose. The route is gone for everyone and writes nothing.
        row(
            "add a new account with a chosen password",
            Method::POST,
            members_a,
            |_| Some(json!({"email": NEW_EMAIL, "role": "developer", "name": "New Person", "password": "long enough"})),
            [410; 5],
        )
        .code("use_invitations"),
        row(
            "add an existing user",
            Method::POST,
            members_a,
            |f| Some(json!({"email": f.outsider.email, "role": "developer"})),
            [410; 5],
        )
        .code("use_invitations"),
        row(
            "make the developer an admin",
            Method::PATCH,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.developer.id),
            |_| Some(json!({"role": "admin"})),
            MANAGERS_OF_A,
        )
        .then(Then::RoleIs(|f| (f.org_a, f.developer.id), Some(Role::Admin))),
        row(
            "make the developer an owner",
            Method::PATCH,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.developer.id),
            |_| Some(json!({"role": "owner"})),
            OWNER_OF_A,
        )
        .then(Then::RoleIs(|f| (f.org_a, f.developer.id), Some(Role::Owner))),
        row(
            "make the admin a developer",
            Method::PATCH,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.admin.id),
            |_| Some(json!({"role": "developer"})),
            MANAGERS_OF_A,
        )
        .then(Then::RoleIs(|f| (f.org_a, f.admin.id), Some(Role::Developer))),
        row(
            "demote the only owner",
            Method::PATCH,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.owner.id),
            |_| Some(json!({"role": "admin"})),
            [409, 403, 403, 404, 401],
        ),
        row(
            "set the owner's role to owner",
            Method::PATCH,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.owner.id),
            |_| Some(json!({"role": "owner"})),
            OWNER_OF_A,
        )
        .then(Then::RoleIs(|f| (f.org_a, f.owner.id), Some(Role::Owner))),
        row(
            "remove the developer",
            Method::DELETE,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.developer.id),
            none,
            [204, 204, 204, 404, 401],
        )
        .then(Then::RoleIs(|f| (f.org_a, f.developer.id), None)),
        row(
            "remove the admin",
            Method::DELETE,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.admin.id),
            none,
            [204, 204, 403, 404, 401],
        )
        .then(Then::RoleIs(|f| (f.org_a, f.admin.id), None)),
        row(
            "remove the only owner",
            Method::DELETE,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.owner.id),
            none,
            [409, 403, 403, 404, 401],
        ),
    ]
}

fn invitation_rows() -> Vec<Row> {
    let invitations_a = |f: &Fx| format!("/api/organizations/{}/invitations", f.org_a);
    vec![
        row(
            "list org A's invitations",
            Method::GET,
            invitations_a,
            none,
            MANAGERS_OF_A,
        )
        .check(check_invitations_a),
        row(
            "invite a new e-mail as developer",
            Method::POST,
            invitations_a,
            |_| Some(json!({"email": NEW_EMAIL, "role": "developer"})),
            [201, 201, 403, 404, 401],
        )
        .check(check_new_invitation)
        .then(Then::Invited(Role::Developer)),
        row(
            "invite a new e-mail as admin",
            Method::POST,
            invitations_a,
            |_| Some(json!({"email": NEW_EMAIL, "role": "admin", "expiresInDays": 30})),
            [201, 201, 403, 404, 401],
        )
        .check(check_new_invitation)
        .then(Then::Invited(Role::Admin)),
        row(
            "invite a new e-mail as owner",
            Method::POST,
            invitations_a,
            |_| Some(json!({"email": NEW_EMAIL, "role": "owner"})),
            OWNER_OF_A.map(|s| if s == 200 { 201 } else { s }),
        )
        .check(check_new_invitation)
        .then(Then::Invited(Role::Owner)),
        row(
            "invite the outsider again, as admin",
            Method::POST,
            invitations_a,
            |f| Some(json!({"email": f.outsider.email, "role": "admin"})),
            [201, 201, 403, 404, 401],
        )
        .check(check_new_invitation)
        .then(Then::Reinvited(Role::Admin)),
        row(
            "revoke the outsider's invitation",
            Method::DELETE,
            |f| format!("/api/organizations/{}/invitations/{}", f.org_a, f.invite_a.id),
            none,
            [204, 204, 403, 404, 401],
        )
        .then(Then::InvitationRevoked(|f| (f.org_a, &f.invite_a))),
        row(
            "revoke an invitation as owner",
            Method::DELETE,
            |f| format!("/api/organizations/{}/invitations/{}", f.org_a, f.invite_owner_a.id),
            none,
            [204, 403, 403, 404, 401],
        )
        .then(Then::InvitationRevoked(|f| (f.org_a, &f.invite_owner_a))),
        // The token is the credential: anyone holding it may read and use it.
        row(
            "show an invitation by its token",
            Method::POST,
            |_| "/api/invitations/lookup".into(),
            |f| Some(json!({"token": f.invite_a.token})),
            [200; 5],
        )
        .check(check_invitation_info),
        row(
            "show an unknown token",
            Method::POST,
            |_| "/api/invitations/lookup".into(),
            |_| Some(json!({"token": "tli_unknown"})),
            [404; 5],
        ),
        row(
            "accept the outsider's invitation as the caller",
            Method::POST,
            |_| "/api/invitations/accept".into(),
            |f| Some(json!({"token": f.invite_a.token})),
            [403, 403, 403, 200, 401],
        )
        .code_at(403, "wrong_account")
        .then(Then::Joined(
            |f| (f.org_a, f.outsider.email.as_str(), &f.invite_a),
            Role::Developer,
        )),
        row(
            "accept for the outsider's existing account with a new password",
            Method::POST,
            |_| "/api/invitations/accept".into(),
            |f| Some(json!({"token": f.invite_a.token, "name": "Impostor", "password": "long enough"})),
            [409; 5],
        )
        .code("account_exists"),
        row(
            "accept an owner invitation with a new account",
            Method::POST,
            |_| "/api/invitations/accept".into(),
            |f| Some(json!({"token": f.invite_owner_a.token, "name": "Pat Partner", "password": "long enough"})),
            [200; 5],
        )
        .then(Then::Joined(
            |f| (f.org_a, PARTNER_EMAIL, &f.invite_owner_a),
            Role::Owner,
        )),
        row(
            "accept an unknown token",
            Method::POST,
            |_| "/api/invitations/accept".into(),
            |_| Some(json!({"token": "tli_unknown", "name": "Pat Partner", "password": "long enough"})),
            [404; 5],
        ),
    ]
}

fn project_rows() -> Vec<Row> {
    vec![
        row(
            "list org A's projects",
            Method::GET,
            |f| format!("/api/organizations/{}/projects", f.org_a),
            none,
            MEMBERS_OF_A,
        )
        .check(check_projects_a),
        row(
            "create a project in org A",
            Method::POST,
            |f| format!("/api/organizations/{}/projects", f.org_a),
            |_| Some(json!({"name": "New Project"})),
            [201, 201, 403, 404, 401],
        )
        .check(check_new_project)
        .then(Then::ProjectCount(|f| f.org_a, 2)),
        row(
            "get project A",
            Method::GET,
            |f| format!("/api/projects/{}", f.project_a),
            none,
            MEMBERS_OF_A,
        )
        .check(check_project_a),
        row(
            "rename project A",
            Method::PATCH,
            |f| format!("/api/projects/{}", f.project_a),
            |_| Some(json!({"name": "Renamed Project"})),
            MANAGERS_OF_A,
        )
        .check(check_renamed_project)
        .then(Then::ProjectName(|f| f.project_a, "Renamed Project")),
        row(
            "turn on body capture for project A",
            Method::PATCH,
            |f| format!("/api/projects/{}", f.project_a),
            |_| Some(json!({"captureBodies": true, "bodyRetentionDays": 30})),
            MANAGERS_OF_A,
        )
        .check(check_capturing_project)
        .then(Then::Capturing(|f| f.project_a, 30)),
        row(
            "delete project A",
            Method::DELETE,
            |f| format!("/api/projects/{}", f.project_a),
            none,
            [204, 204, 403, 404, 401],
        )
        .then(Then::ProjectGone(|f| f.project_a)),
    ]
}

fn key_rows() -> Vec<Row> {
    vec![
        row(
            "list org A's keys",
            Method::GET,
            |f| format!("/api/organizations/{}/api-keys", f.org_a),
            none,
            MEMBERS_OF_A,
        )
        .check(check_keys_a),
        row(
            "list project A's keys",
            Method::GET,
            |f| format!("/api/projects/{}/api-keys", f.project_a),
            none,
            MEMBERS_OF_A,
        )
        .check(check_keys_a),
        row(
            "create a key in project A",
            Method::POST,
            |f| format!("/api/projects/{}/api-keys", f.project_a),
            |_| Some(json!({"name": "new key"})),
            [201, 201, 201, 404, 401],
        )
        .check(check_new_key)
        .then(Then::KeyCreated),
        row(
            "get the developer's key",
            Method::GET,
            |f| format!("/api/api-keys/{}", f.dev_key),
            none,
            MEMBERS_OF_A,
        )
        .check(check_dev_key),
        row(
            "get the admin's key",
            Method::GET,
            |f| format!("/api/api-keys/{}", f.admin_key),
            none,
            [200, 200, 404, 404, 401],
        )
        .check(check_admin_key),
        row(
            "rename the developer's key",
            Method::PATCH,
            |f| format!("/api/api-keys/{}", f.dev_key),
            |_| Some(json!({"name": "renamed key"})),
            MEMBERS_OF_A,
        )
        .check(check_renamed_key)
        .then(Then::KeyName(|f| f.dev_key, "renamed key")),
        row(
            "rename the admin's key",
            Method::PATCH,
            |f| format!("/api/api-keys/{}", f.admin_key),
            |_| Some(json!({"name": "renamed key"})),
            [200, 200, 404, 404, 401],
        )
        .check(check_renamed_key)
        .then(Then::KeyName(|f| f.admin_key, "renamed key")),
        row(
            "revoke the developer's key",
            Method::POST,
            |f| format!("/api/api-keys/{}/revoke", f.dev_key),
            none,
            MEMBERS_OF_A,
        )
        .check(check_revoked)
        .then(Then::KeyRevoked(|f| &f.dev_secret)),
        row(
            "revoke the admin's key",
            Method::POST,
            |f| format!("/api/api-keys/{}/revoke", f.admin_key),
            none,
            [200, 200, 404, 404, 401],
        )
        .check(check_revoked)
        .then(Then::KeyRevoked(|f| &f.admin_secret)),
    ]
}

/// Org B's ids: org A's members get 404 for all of them, while B's owner
/// succeeds with the very same request. And ids that mix the two orgs.
/// Every `groupBy` of the export, and none.
const GROUPINGS: [&str; 6] = ["", "model", "apiKey", "member", "provider", "app"];

fn check_csv(_: &Fx, _: Who, body: &Value) {
    let text = body.as_str().unwrap_or_else(|| panic!("expected CSV: {body}"));
    let header = text.split("\r\n").next().unwrap();
    assert!(header.ends_with(",estimated_requests,unpriced_requests"), "{header}");
}

/// One rule for every analytics read: the scope decides who may read at all
/// (a project: its organization's members; a key: those who can see the key;
/// an organization: owners and admins), and a breakdown by member is for
/// owners and admins (of enterprise organizations), a breakdown by key of a
/// scope wider than one key is for owners and admins.
fn analytics_rows() -> Vec<Row> {
    let q = "from=2026-11-01&to=2026-11-02";
    let mut rows = vec![
        row(
            "models of project A",
            Method::GET,
            |f| format!("/api/analytics/models?projectId={}", f.project_a),
            none,
            MEMBERS_OF_A,
        ),
        row(
            "models of the developer's key",
            Method::GET,
            |f| format!("/api/analytics/models?apiKeyId={}", f.dev_key),
            none,
            MEMBERS_OF_A,
        ),
        row(
            "models of the admin's key",
            Method::GET,
            |f| format!("/api/analytics/models?apiKeyId={}", f.admin_key),
            none,
            [200, 200, 404, 404, 401],
        ),
        row(
            "timeseries of project A",
            Method::GET,
            |f| format!("/api/analytics/models/timeseries?projectId={}", f.project_a),
            none,
            MEMBERS_OF_A,
        ),
        row(
            "timeseries of the admin's key",
            Method::GET,
            |f| format!("/api/analytics/models/timeseries?apiKeyId={}", f.admin_key),
            none,
            [200, 200, 404, 404, 401],
        ),
        row(
            "the developer's key",
            Method::GET,
            |f| format!("/api/analytics/keys/{}?", f.dev_key),
            none,
            MEMBERS_OF_A,
        ),
        row(
            "the admin's key",
            Method::GET,
            |f| format!("/api/analytics/keys/{}?", f.admin_key),
            none,
            [200, 200, 404, 404, 401],
        ),
        row(
            "members of org A",
            Method::GET,
            |f| format!("/api/analytics/members?organizationId={}", f.org_a),
            none,
            MANAGERS_OF_A,
        ),
        row(
            "the developer as a member",
            Method::GET,
            |f| format!("/api/analytics/members/{}?organizationId={}", f.developer.id, f.org_a),
            none,
            MANAGERS_OF_A,
        ),
    ];
    for row in &mut rows {
        row.query = format!("&{q}");
    }
    for group in GROUPINGS {
        let by_member = group == "member";
        let by_key = group == "apiKey";
        let query = format!("&{q}&groupBy={group}");
        let wide = if by_member || by_key {
            MANAGERS_OF_A
        } else {
            MEMBERS_OF_A
        };
        let exports = [
            row(
                "export project A",
                Method::GET,
                |f| format!("/api/analytics/export.csv?projectId={}", f.project_a),
                none,
                wide,
            ),
            // One key: grouping by key shows only that key.
            row(
                "export the developer's key",
                Method::GET,
                |f| format!("/api/analytics/export.csv?apiKeyId={}", f.dev_key),
                none,
                if by_member { MANAGERS_OF_A } else { MEMBERS_OF_A },
            ),
            row(
                "export the admin's key",
                Method::GET,
                |f| format!("/api/analytics/export.csv?apiKeyId={}", f.admin_key),
                none,
                [200, 200, 404, 404, 401],
            ),
            row(
                "export org A",
                Method::GET,
                |f| format!("/api/analytics/export.csv?organizationId={}", f.org_a),
                none,
                MANAGERS_OF_A,
            ),
            row(
                "export org A daily",
                Method::GET,
                |f| format!("/api/analytics/export.csv?interval=day&organizationId={}", f.org_a),
                none,
                MANAGERS_OF_A,
            ),
        ];
        rows.extend(exports.into_iter().map(|r| r.check(check_csv).query(query.clone())));
        if !by_member {
            // Org B is on the pro plan: member breakdowns are refused there by plan.
            rows.push(
                row(
                    "export project B",
                    Method::GET,
                    |f| format!("/api/analytics/export.csv?projectId={}", f.project_b),
                    none,
                    ONLY_B,
                )
                .check(check_csv)
                .query(query.clone()),
            );
        }
    }
    rows
}

fn foreign_rows() -> Vec<Row> {
    vec![
        row(
            "get org B",
            Method::GET,
            |f| format!("/api/organizations/{}", f.org_b),
            none,
            ONLY_B,
        )
        .check(check_org_b),
        row(
            "rename org B",
            Method::PATCH,
            |f| format!("/api/organizations/{}", f.org_b),
            |_| Some(json!({"name": "Renamed B"})),
            ONLY_B,
        )
        .then(Then::Org(|f| f.org_b, "Renamed B", Plan::Pro)),
        row(
            "list org B's members",
            Method::GET,
            |f| format!("/api/organizations/{}/members", f.org_b),
            none,
            ONLY_B,
        )
        .check(check_members_b),
        row(
            "list org B's invitations",
            Method::GET,
            |f| format!("/api/organizations/{}/invitations", f.org_b),
            none,
            ONLY_B,
        )
        .check(check_invitations_b),
        row(
            "invite org A's owner to org B",
            Method::POST,
            |f| format!("/api/organizations/{}/invitations", f.org_b),
            |f| Some(json!({"email": f.owner.email, "role": "developer"})),
            [404, 404, 404, 201, 401],
        )
        .check(check_new_invitation),
        row(
            "revoke org B's invitation",
            Method::DELETE,
            |f| format!("/api/organizations/{}/invitations/{}", f.org_b, f.invite_b.id),
            none,
            [404, 404, 404, 204, 401],
        )
        .then(Then::InvitationRevoked(|f| (f.org_b, &f.invite_b))),
        row(
            "revoke org B's invitation through org A",
            Method::DELETE,
            |f| format!("/api/organizations/{}/invitations/{}", f.org_a, f.invite_b.id),
            none,
            [404, 404, 403, 404, 401],
        ),
        row(
            "change a role in org B",
            Method::PATCH,
            |f| format!("/api/organizations/{}/members/{}", f.org_b, f.outsider.id),
            |_| Some(json!({"role": "owner"})),
            ONLY_B,
        ),
        row(
            "remove org B's only owner",
            Method::DELETE,
            |f| format!("/api/organizations/{}/members/{}", f.org_b, f.outsider.id),
            none,
            [404, 404, 404, 409, 401],
        ),
        row(
            "remove org A's owner from org B",
            Method::DELETE,
            |f| format!("/api/organizations/{}/members/{}", f.org_b, f.owner.id),
            none,
            [404, 404, 404, 404, 401],
        ),
        row(
            "change the outsider's role in org A",
            Method::PATCH,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.outsider.id),
            |_| Some(json!({"role": "developer"})),
            [404, 404, 403, 404, 401],
        ),
        row(
            "remove the outsider from org A",
            Method::DELETE,
            |f| format!("/api/organizations/{}/members/{}", f.org_a, f.outsider.id),
            none,
            [404, 404, 403, 404, 401],
        ),
        row(
            "list org B's projects",
            Method::GET,
            |f| format!("/api/organizations/{}/projects", f.org_b),
            none,
            ONLY_B,
        )
        .check(check_projects_b),
        row(
            "create a project in org B",
            Method::POST,
            |f| format!("/api/organizations/{}/projects", f.org_b),
            |_| Some(json!({"name": "New Project"})),
            [404, 404, 404, 201, 401],
        )
        .check(check_new_project)
        .then(Then::ProjectCount(|f| f.org_b, 2)),
        row(
            "get project B",
            Method::GET,
            |f| format!("/api/projects/{}", f.project_b),
            none,
            ONLY_B,
        ),
        row(
            "rename project B",
            Method::PATCH,
            |f| format!("/api/projects/{}", f.project_b),
            |_| Some(json!({"name": "Renamed Project"})),
            ONLY_B,
        )
        .then(Then::ProjectName(|f| f.project_b, "Renamed Project")),
        row(
            "turn on body capture for project B",
            Method::PATCH,
            |f| format!("/api/projects/{}", f.project_b),
            |_| Some(json!({"captureBodies": true, "bodyRetentionDays": 30})),
            ONLY_B,
        )
        .check(check_capturing_project)
        .then(Then::Capturing(|f| f.project_b, 30)),
        row(
            "delete project B",
            Method::DELETE,
            |f| format!("/api/projects/{}", f.project_b),
            none,
            [404, 404, 404, 204, 401],
        )
        .then(Then::ProjectGone(|f| f.project_b)),
        row(
            "list org B's keys",
            Method::GET,
            |f| format!("/api/organizations/{}/api-keys", f.org_b),
            none,
            ONLY_B,
        )
        .check(check_keys_b),
        row(
            "list project B's keys",
            Method::GET,
            |f| format!("/api/projects/{}/api-keys", f.project_b),
            none,
            ONLY_B,
        )
        .check(check_keys_b),
        row(
            "create a key in project B",
            Method::POST,
            |f| format!("/api/projects/{}/api-keys", f.project_b),
            |_| Some(json!({"name": "new key"})),
            [404, 404, 404, 201, 401],
        )
        .check(check_new_key)
        .then(Then::KeyCreated),
        row(
            "get org B's key",
            Method::GET,
            |f| format!("/api/api-keys/{}", f.key_b),
            none,
            ONLY_B,
        )
        .check(check_key_b),
        row(
            "rename org B's key",
            Method::PATCH,
            |f| format!("/api/api-keys/{}", f.key_b),
            |_| Some(json!({"name": "renamed key"})),
            ONLY_B,
        )
        .then(Then::KeyName(|f| f.key_b, "renamed key")),
        row(
            "revoke org B's key",
            Method::POST,
            |f| format!("/api/api-keys/{}/revoke", f.key_b),
            none,
            ONLY_B,
        )
        .check(check_revoked)
        .then(Then::KeyRevoked(|f| &f.secret_b)),
    ]
}

// ---- running the table ----

async fn verify(then: Then, app: &TestApp, fx: &Fx, who: Who, body: &Value) {
    let store = &app.store;
    match then {
        Then::Nothing => {}
        Then::SessionCreated => {
            let sessions = store.tokens(fx.owner.id, TokenKind::Session).await.unwrap();
            assert_eq!(sessions.len(), 1, "{sessions:?}");
        }
        Then::TokenCreated => {
            let me = caller(fx, who);
            let tokens = store.tokens(me.id, TokenKind::Personal).await.unwrap();
            let names: BTreeSet<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, BTreeSet::from(["ci", "tests"]));
            let secret = body["tokenSecret"].as_str().unwrap();
            let token = store
                .token_by_hash(&app.hasher.hash(secret), jiff::Timestamp::now())
                .await
                .unwrap();
            assert_eq!(token.user_id, me.id);
        }
        Then::TokenGone(user) => {
            let user = user(fx);
            let tokens = store.tokens(user.id, TokenKind::Personal).await.unwrap();
            assert!(tokens.is_empty(), "{tokens:?}");
            let (status, body) = app.get(user, "/api/me").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_error(&body, "unauthenticated", None);
        }
        Then::OrgCreated => {
            let orgs = store.orgs_of_user(caller(fx, who).id).await.unwrap();
            assert_eq!(orgs.len(), 2, "{orgs:?}");
            let created = orgs
                .iter()
                .find(|(o, _)| o.id.to_string() == body["id"].as_str().unwrap())
                .unwrap();
            assert_eq!(created.1, Role::Owner);
            assert_eq!(store.members(created.0.id).await.unwrap().len(), 1);
        }
        Then::Org(org, name, plan) => {
            let org = store.org(org(fx)).await.unwrap();
            assert_eq!((org.name.as_str(), org.plan), (name, plan));
            assert_eq!(body["name"], name);
            assert_eq!(body["plan"], plan.as_str());
        }
        Then::RoleIs(pair, role) => {
            let (org, user) = pair(fx);
            assert_eq!(store.role_of(org, user).await.unwrap(), role);
            if let Some(role) = role {
                assert_eq!(body["role"], role.as_str());
                assert_eq!(body["userId"], user.to_string());
            }
        }
        Then::Invited(role) => {
            let email = tally_core::Email::parse(NEW_EMAIL).unwrap();
            assert!(matches!(store.user_by_email(&email).await, Err(StoreError::NotFound)));
            let open: Vec<_> = store
                .open_invitations(fx.org_a)
                .await
                .unwrap()
                .into_iter()
                .filter(|i| i.email == email)
                .collect();
            assert_eq!(open.len(), 1, "{open:?}");
            assert_eq!(open[0].role, role);
            assert_eq!(open[0].invited_by, caller(fx, who).id);
            assert_eq!(body["id"], open[0].id.to_string());
            let token = body["token"].as_str().unwrap();
            let found = store.invitation_by_hash(&app.hasher.hash(token)).await.unwrap();
            assert_eq!(found.id, open[0].id);
        }
        Then::Reinvited(role) => {
            let open = store.open_invitations(fx.org_a).await.unwrap();
            let theirs: Vec<_> = open.iter().filter(|i| i.email.as_str() == fx.outsider.email).collect();
            assert_eq!(theirs.len(), 1, "{open:?}");
            assert_eq!(theirs[0].role, role);
            assert_eq!(body["id"], theirs[0].id.to_string());
            let old = store.invitation(fx.org_a, fx.invite_a.id).await.unwrap();
            assert!(old.revoked_at.is_some(), "{old:?}");
            assert_eq!(store.role_of(fx.org_a, fx.outsider.id).await.unwrap(), None);
        }
        Then::InvitationRevoked(which) => {
            let (org, invitation) = which(fx);
            let stored = store.invitation(org, invitation.id).await.unwrap();
            assert_eq!(stored.state(jiff::Timestamp::now()), InvitationState::Revoked);
            let (status, body) = app
                .call(
                    None,
                    Method::POST,
                    "/api/invitations/lookup",
                    Some(json!({"token": invitation.token})),
                )
                .await;
            assert_eq!(status, StatusCode::GONE);
            assert_error(&body, "invitation_revoked", None);
        }
        Then::Joined(which, role) => {
            let (org, email, invitation) = which(fx);
            let user = store
                .user_by_email(&tally_core::Email::parse(email).unwrap())
                .await
                .unwrap();
            assert_eq!(store.role_of(org, user.id).await.unwrap(), Some(role));
            assert_eq!(body["member"]["userId"], user.id.to_string());
            assert_eq!(body["member"]["role"], role.as_str());
            assert_eq!(body["organization"]["id"], org.to_string());
            assert!(user.password_hash.starts_with("$argon2id$"));
            let stored = store.invitation(org, invitation.id).await.unwrap();
            assert_eq!(stored.accepted_by, Some(user.id));
        }
        Then::ProjectCount(org, n) => {
            let projects = store.projects(org(fx)).await.unwrap();
            assert_eq!(projects.len(), n, "{projects:?}");
            assert!(
                projects
                    .iter()
                    .any(|p| p.id.to_string() == body["id"].as_str().unwrap())
            );
        }
        Then::ProjectName(project, name) => {
            assert_eq!(store.project(project(fx)).await.unwrap().name.as_str(), name);
        }
        Then::Capturing(project, days) => {
            let project = store.project(project(fx)).await.unwrap();
            assert_eq!((project.capture_bodies, project.body_retention.days()), (true, days));
        }
        Then::ProjectGone(project) => {
            let project = project(fx);
            assert!(matches!(store.project(project).await, Err(StoreError::NotFound)));
            let org = home_org(fx, who);
            let keys = store.api_keys(org, Some(project), None).await.unwrap();
            assert!(!keys.is_empty());
            for key in keys {
                assert!(key.revoked_at.is_some(), "{key:?}");
            }
            let secret = if org == fx.org_a { &fx.dev_secret } else { &fx.secret_b };
            assert!(matches!(
                store.active_key_by_hash(&app.hasher.hash(secret)).await,
                Err(StoreError::NotFound)
            ));
        }
        Then::KeyCreated => {
            let id: ApiKeyId = body["id"].as_str().unwrap().parse().unwrap();
            let key = store.api_key(id).await.unwrap();
            assert_eq!(key.created_by, caller(fx, who).id);
            let secret = body["keySecret"].as_str().unwrap();
            let found = store.active_key_by_hash(&app.hasher.hash(secret)).await.unwrap();
            assert_eq!(found.id, id);
        }
        Then::KeyName(key, name) => {
            assert_eq!(store.api_key(key(fx)).await.unwrap().name.as_str(), name);
        }
        Then::KeyRevoked(secret) => {
            assert!(matches!(
                store.active_key_by_hash(&app.hasher.hash(secret(fx))).await,
                Err(StoreError::NotFound)
            ));
        }
    }
}

async fn case(row: Row, who: Who) {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let before = fx.snapshot(&app).await;
    let path = (row.path)(&fx) + &row.query;
    let (status, body) = app.call(fx.who(who), row.method.clone(), &path, (row.body)(&fx)).await;
    let want = row.expect[column(who)];
    assert_eq!(status.as_u16(), want, "{} {path}: {body}", row.method);
    if status.is_success() {
        if let Some(check) = row.check {
            check(&fx, who, &body);
        }
        verify(row.then, &app, &fx, who, &body).await;
        if row.method == Method::GET {
            assert_eq!(fx.snapshot(&app).await, before, "a GET changed the store");
        }
    } else {
        let code = match row.code_at {
            Some((at, code)) if at == status.as_u16() => code,
            _ => row.code.unwrap_or_else(|| default_code(status)),
        };
        assert_error(&body, code, None);
        assert_eq!(fx.snapshot(&app).await, before, "a refused request changed the store");
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panicked".to_owned()),
        Err(e) => e.to_string(),
    }
}

/// Runs every (row, caller) pair and reports all failures together.
async fn run(rows: Vec<Row>) {
    let mut failures = Vec::new();
    let mut pairs = 0;
    for row in rows {
        for who in Who::ALL {
            pairs += 1;
            let r = row.clone();
            if let Err(e) = tokio::spawn(case(r, who)).await {
                failures.push(format!("{} as {who:?}: {}", row.name, panic_message(e)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {pairs} pairs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn auth_and_tokens() {
    run(auth_rows()).await;
}

#[tokio::test]
async fn organizations() {
    run(org_rows()).await;
}

#[tokio::test]
async fn members() {
    run(member_rows()).await;
}

#[tokio::test]
async fn invitations() {
    run(invitation_rows()).await;
}

#[tokio::test]
async fn projects() {
    run(project_rows()).await;
}

#[tokio::test]
async fn api_keys() {
    run(key_rows()).await;
}

#[tokio::test]
async fn analytics() {
    run(analytics_rows()).await;
}

#[tokio::test]
async fn org_b_ids() {
    run(foreign_rows()).await;
}
