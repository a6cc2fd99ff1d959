//! Bad input to every endpoint that takes a body, unknown ids, unknown paths
//! and wrong methods. Each refusal must have the right status, code and
//! `param`, and must leave the store exactly as it was: the store is
//! snapshotted once and compared after every single request.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tally_core::{ApiKeyId, OrgId, ProjectId, TokenId, UserId};

use crate::fixture::{Fx, NEW_EMAIL};
use crate::helpers::*;

const LIMIT: usize = 64 * 1024;

/// What the error's `param` must be.
#[derive(Debug, Clone)]
enum Param {
    Is(String),
    Absent,
}

fn param(name: &str) -> Param {
    Param::Is(name.to_owned())
}

#[derive(Debug, Clone)]
struct Bad {
    label: String,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
    param: Param,
}

fn json_case(label: impl Into<String>, method: &Method, path: &str, body: &Value) -> Bad {
    Bad {
        label: label.into(),
        method: method.clone(),
        path: path.to_owned(),
        content_type: Some("application/json"),
        body: serde_json::to_vec(body).unwrap(),
        status: 400,
        code: "invalid_request",
        param: Param::Absent,
    }
}

impl Bad {
    fn expect(mut self, status: u16, code: &'static str, param: Param) -> Self {
        self.status = status;
        self.code = code;
        self.param = param;
        self
    }
}

/// Sends every case as `who` and checks the refusal and that nothing was
/// written; reports every failing case at once.
async fn expect_all(app: &TestApp, fx: &Fx, who: Option<&TestUser>, cases: Vec<Bad>) {
    // Authenticate once first: recording a token's first use is not a change
    // the snapshot cares about, but do it before the baseline all the same.
    app.get(&fx.owner, "/api/me").await;
    let mut baseline = fx.snapshot(app).await;
    let mut failures = Vec::new();
    let total = cases.len();
    for case in cases {
        let (status, body) = app
            .raw(
                who,
                case.method.clone(),
                &case.path,
                case.content_type,
                case.body.clone(),
            )
            .await;
        let mut problems = Vec::new();
        if status.as_u16() != case.status {
            problems.push(format!("status {status}, want {}", case.status));
        }
        let err = &body["error"];
        if err["code"] != case.code {
            problems.push(format!("code {}, want {}", err["code"], case.code));
        }
        if err["message"].as_str().is_none_or(str::is_empty) {
            problems.push("no message".to_owned());
        }
        match &case.param {
            Param::Is(p) if err["param"] != p.as_str() => {
                problems.push(format!("param {}, want {p}", err["param"]));
            }
            Param::Absent if err.get("param").is_some() => {
                problems.push(format!("param {}, want none", err["param"]));
            }
            _ => {}
        }
        let after = fx.snapshot(app).await;
        if after != baseline {
            let changed: Vec<&String> = after.iter().filter(|l| !baseline.contains(l)).collect();
            problems.push(format!("the store changed: {changed:?}"));
            // Judge the following cases on their own.
            baseline = after;
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({} {}): {} — body {body}",
                case.label,
                case.method,
                case.path,
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// An endpoint that takes a JSON body, with a body it accepts.
struct Endpoint {
    name: &'static str,
    method: Method,
    path: String,
    valid: Value,
    required: &'static [&'static str],
    /// Fields validated as names (1 to 100 characters after trimming).
    names: &'static [&'static str],
}

fn endpoints(fx: &Fx) -> Vec<Endpoint> {
    let e = |name, method, path: String, valid, required, names| Endpoint {
        name,
        method,
        path,
        valid,
        required,
        names,
    };
    vec![
        e(
            "login",
            Method::POST,
            "/api/auth/login".into(),
            json!({"email": fx.owner.email, "password": PASSWORD}),
            &["email", "password"],
            &[],
        ),
        e(
            "create token",
            Method::POST,
            "/api/me/tokens".into(),
            json!({"name": "ci"}),
            &["name"],
            &["name"],
        ),
        e(
            "create organization",
            Method::POST,
            "/api/organizations".into(),
            json!({"name": "New Org", "plan": "pro"}),
            &["name"],
            &["name"],
        ),
        e(
            "update organization",
            Method::PATCH,
            format!("/api/organizations/{}", fx.org_a),
            json!({"name": "Renamed", "plan": "free"}),
            &[],
            &["name"],
        ),
        e(
            "invite",
            Method::POST,
            format!("/api/organizations/{}/invitations", fx.org_a),
            json!({"email": NEW_EMAIL, "role": "developer"}),
            &["email", "role"],
            &[],
        ),
        e(
            "accept invitation",
            Method::POST,
            "/api/invitations/accept".into(),
            json!({"token": fx.invite_owner_a.token, "name": "Pat Partner", "password": "long enough"}),
            &["token"],
            &["name"],
        ),
        e(
            "change role",
            Method::PATCH,
            format!("/api/organizations/{}/members/{}", fx.org_a, fx.developer.id),
            json!({"role": "admin"}),
            &["role"],
            &[],
        ),
        e(
            "create project",
            Method::POST,
            format!("/api/organizations/{}/projects", fx.org_a),
            json!({"name": "New Project"}),
            &["name"],
            &["name"],
        ),
        e(
            "update project",
            Method::PATCH,
            format!("/api/projects/{}", fx.project_a),
            json!({"name": "Renamed Project", "captureBodies": true}),
            &[],
            &["name"],
        ),
        e(
            "create key",
            Method::POST,
            format!("/api/projects/{}/api-keys", fx.project_a),
            json!({"name": "new key"}),
            &["name"],
            &["name"],
        ),
        e(
            "rename key",
            Method::PATCH,
            format!("/api/api-keys/{}", fx.dev_key),
            json!({"name": "renamed key"}),
            &["name"],
            &["name"],
        ),
    ]
}

/// The valid bodies really are accepted and write something (so the
/// refusals below are about the one thing each case breaks), each on a fresh
/// server.
#[tokio::test]
async fn the_valid_bodies_are_accepted() {
    for i in 0..11 {
        let app = TestApp::spawn().await;
        let fx = Fx::build(&app).await;
        let all = endpoints(&fx);
        assert_eq!(all.len(), 11);
        let ep = &all[i];
        let before = fx.snapshot(&app).await;
        let (status, body) = app
            .call(Some(&fx.owner), ep.method.clone(), &ep.path, Some(ep.valid.clone()))
            .await;
        assert!(status.is_success(), "{}: {status} {body}", ep.name);
        assert_ne!(fx.snapshot(&app).await, before, "{} wrote nothing", ep.name);
    }
}

/// Replaces `field` in an object body.
fn with(body: &Value, field: &str, value: Value) -> Value {
    let mut body = body.clone();
    body[field] = value;
    body
}

fn without(body: &Value, field: &str) -> Value {
    let mut body = body.clone();
    body.as_object_mut().unwrap().remove(field);
    body
}

/// Bodies that are not JSON, not an object, have fields of the wrong type,
/// miss a required field, carry an unknown one, come with the wrong content
/// type, or are too large.
fn body_cases(ep: &Endpoint) -> Vec<Bad> {
    let m = &ep.method;
    let p = ep.path.as_str();
    let label = |what: &str| format!("{}: {what}", ep.name);
    let raw = |what: &str, ct: Option<&'static str>, body: &[u8]| Bad {
        label: label(what),
        method: m.clone(),
        path: p.to_owned(),
        content_type: ct,
        body: body.to_vec(),
        status: 400,
        code: "invalid_json",
        param: Param::Absent,
    };
    // Broken versions of the valid body, so that only the syntax is wrong.
    let valid = serde_json::to_vec(&ep.valid).unwrap();
    let truncated = &valid[..valid.len() - 1];
    let trailing_comma = [truncated, b",}"].concat();
    let value_at = valid.windows(3).position(|w| w == br#"":""#).unwrap() + 3;
    let invalid_utf8 = [&valid[..value_at], b"\xff\xfe", &valid[value_at..]].concat();
    let positional: Vec<Value> = ep.valid.as_object().unwrap().values().cloned().collect();
    let mut cases = vec![
        raw("truncated JSON", Some("application/json"), truncated),
        raw("trailing comma", Some("application/json"), &trailing_comma),
        raw("empty body", Some("application/json"), b""),
        raw("blank body", Some("application/json"), b"  \n"),
        raw("not JSON at all", Some("application/json"), b"name=x"),
        raw(
            "a second object after it",
            Some("application/json"),
            &[&valid[..], b" {}"].concat(),
        ),
        raw(
            "garbage after it",
            Some("application/json"),
            &[&valid[..], b"x"].concat(),
        ),
        raw(
            "an extra closing brace",
            Some("application/json"),
            &[&valid[..], b"}"].concat(),
        ),
        raw("invalid UTF-8 in a string", Some("application/json"), &invalid_utf8),
        json_case(label("the body in an array"), m, p, &json!([ep.valid])),
        json_case(label("the values in an array"), m, p, &json!(positional)),
        json_case(label("an empty array"), m, p, &json!([])),
        json_case(label("a string"), m, p, &json!("name")),
        json_case(label("a number"), m, p, &json!(5)),
        json_case(label("null"), m, p, &Value::Null),
    ];
    for field in ep.valid.as_object().unwrap().keys() {
        for (what, value) in [
            ("a number", json!(5)),
            ("an array", json!(["x"])),
            ("an object", json!({})),
        ] {
            cases.push(
                json_case(
                    label(&format!("{field} is {what}")),
                    m,
                    p,
                    &with(&ep.valid, field, value),
                )
                .expect(400, "invalid_request", param(field)),
            );
        }
    }
    for field in ep.required {
        cases.push(
            json_case(label(&format!("{field} missing")), m, p, &without(&ep.valid, field)).expect(
                400,
                "invalid_request",
                param(field),
            ),
        );
        cases.push(
            json_case(
                label(&format!("{field} is null")),
                m,
                p,
                &with(&ep.valid, field, Value::Null),
            )
            .expect(400, "invalid_request", param(field)),
        );
    }
    cases.push(
        json_case(label("unknown field"), m, p, &with(&ep.valid, "bogus", json!(1))).expect(
            400,
            "invalid_request",
            param("bogus"),
        ),
    );
    cases.push(
        json_case(
            label("field in the wrong case"),
            m,
            p,
            &with(&ep.valid, "Role", json!("owner")),
        )
        .expect(400, "invalid_request", param("Role")),
    );
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
        None,
    ] {
        let mut case = raw(&format!("content type {ct:?}"), ct, &valid);
        case.status = 415;
        case.code = "unsupported_media_type";
        cases.push(case);
    }
    // Valid JSON, padded with whitespace to one byte over the limit: without
    // the limit it would be accepted.
    let mut big = valid.clone();
    big.resize(LIMIT + 1, b' ');
    let mut case = raw("one byte over 64 KiB", Some("application/json"), &big);
    case.status = 413;
    case.code = "payload_too_large";
    cases.push(case);
    let mut huge = valid;
    huge.resize(LIMIT * 4, b' ');
    let mut case = raw("256 KiB", Some("application/json"), &huge);
    case.status = 413;
    case.code = "payload_too_large";
    cases.push(case);
    cases
}

#[tokio::test]
async fn malformed_bodies_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let cases = endpoints(&fx).iter().flat_map(body_cases).collect();
    expect_all(&app, &fx, Some(&fx.owner), cases).await;
}

/// Names: too long (counted in characters, not bytes), empty, blank, with
/// control characters.
#[tokio::test]
async fn invalid_names_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let mut cases = Vec::new();
    for ep in endpoints(&fx) {
        for field in ep.names {
            let bad_names = [
                ("101 characters", "n".repeat(101)),
                ("101 two-byte characters", "é".repeat(101)),
                ("empty", String::new()),
                ("blank", " \t  ".to_owned()),
                ("a control character", "new\u{7}name".to_owned()),
                ("a newline", "two\nlines".to_owned()),
            ];
            for (what, name) in bad_names {
                cases.push(
                    json_case(
                        format!("{}: {field} {what}", ep.name),
                        &ep.method,
                        &ep.path,
                        &with(&ep.valid, field, json!(name)),
                    )
                    .expect(400, "invalid_request", param(field)),
                );
            }
        }
    }
    assert!(cases.len() >= 40, "{}", cases.len());
    expect_all(&app, &fx, Some(&fx.owner), cases).await;
}

/// E-mail addresses, roles, plans and passwords that do not parse.
#[tokio::test]
async fn invalid_emails_roles_plans_and_passwords_are_refused() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let members = format!("/api/organizations/{}/invitations", fx.org_a);
    let member = format!("/api/organizations/{}/members/{}", fx.org_a, fx.developer.id);
    let org = format!("/api/organizations/{}", fx.org_a);
    let new_user = json!({"email": NEW_EMAIL, "role": "developer"});
    let existing = json!({"email": fx.outsider.email, "role": "developer"});
    let accept = "/api/invitations/accept";
    let new_account = json!({"token": fx.invite_owner_a.token, "name": "New Person", "password": "long enough"});
    let mut cases = Vec::new();
    for email in [
        "not-an-email",
        "a@b",
        "@a.example",
        "a@.example",
        "a b@a.example",
        "a@a..example",
        "",
    ] {
        for body in [&new_user, &existing] {
            cases.push(
                json_case(
                    format!("email {email:?}"),
                    &Method::POST,
                    &members,
                    &with(body, "email", json!(email)),
                )
                .expect(400, "invalid_request", param("email")),
            );
        }
    }
    for role in ["superuser", "Owner", "ADMIN", " admin", "", "member"] {
        for body in [&new_user, &existing] {
            cases.push(
                json_case(
                    format!("add as {role:?}"),
                    &Method::POST,
                    &members,
                    &with(body, "role", json!(role)),
                )
                .expect(400, "invalid_request", param("role")),
            );
        }
        cases.push(
            json_case(
                format!("change to {role:?}"),
                &Method::PATCH,
                &member,
                &json!({"role": role}),
            )
            .expect(400, "invalid_request", param("role")),
        );
    }
    for plan in ["platinum", "Pro", "", "team"] {
        cases.push(
            json_case(
                format!("create with plan {plan:?}"),
                &Method::POST,
                "/api/organizations",
                &json!({"name": "New Org", "plan": plan}),
            )
            .expect(400, "invalid_request", param("plan")),
        );
        cases.push(
            json_case(
                format!("change plan to {plan:?}"),
                &Method::PATCH,
                &org,
                &json!({"plan": plan}),
            )
            .expect(400, "invalid_request", param("plan")),
        );
        cases.push(
            json_case(
                format!("rename and change plan to {plan:?}"),
                &Method::PATCH,
                &org,
                &json!({"name": "Renamed", "plan": plan}),
            )
            .expect(400, "invalid_request", param("plan")),
        );
    }
    for password in ["", "short", "1234567", &"p".repeat(257)] {
        cases.push(
            json_case(
                format!("password of {} characters", password.len()),
                &Method::POST,
                accept,
                &with(&new_account, "password", json!(password)),
            )
            .expect(400, "invalid_request", param("password")),
        );
    }
    cases.push(
        json_case(
            "name without password",
            &Method::POST,
            accept,
            &without(&new_account, "password"),
        )
        .expect(400, "invalid_request", param("password")),
    );
    cases.push(
        json_case(
            "password without name",
            &Method::POST,
            accept,
            &without(&new_account, "name"),
        )
        .expect(400, "invalid_request", param("name")),
    );
    for days in [
        json!(0),
        json!(31),
        json!(255),
        json!(256),
        json!(-1),
        json!(1.5),
        json!("7"),
        json!([7]),
    ] {
        cases.push(
            json_case(
                format!("invite for {days} days"),
                &Method::POST,
                &members,
                &with(&new_user, "expiresInDays", days),
            )
            .expect(400, "invalid_request", param("expiresInDays")),
        );
    }
    // Login does not say which part was wrong, not even for a malformed address.
    for email in ["not-an-email", "", "nobody@a.example"] {
        cases.push(
            json_case(
                format!("login as {email:?}"),
                &Method::POST,
                "/api/auth/login",
                &json!({"email": email, "password": PASSWORD}),
            )
            .expect(401, "invalid_credentials", Param::Absent),
        );
    }
    cases.push(
        json_case(
            "login with the wrong password",
            &Method::POST,
            "/api/auth/login",
            &json!({"email": fx.owner.email, "password": format!("{PASSWORD}!")}),
        )
        .expect(401, "invalid_credentials", Param::Absent),
    );
    expect_all(&app, &fx, Some(&fx.owner), cases).await;
}

/// Inviting a member again.
#[tokio::test]
async fn conflicts_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let members = format!("/api/organizations/{}/invitations", fx.org_a);
    let mut cases = Vec::new();
    for (who, email) in [
        ("developer", &fx.developer.email),
        ("admin", &fx.admin.email),
        ("owner", &fx.owner.email),
    ] {
        for role in ["developer", "admin", "owner"] {
            cases.push(
                json_case(
                    format!("invite the {who} again as {role}"),
                    &Method::POST,
                    &members,
                    &json!({"email": email, "role": role}),
                )
                .expect(409, "already_member", param("email")),
            );
        }
    }
    cases.push(
        json_case(
            "invite the developer again, upper case",
            &Method::POST,
            &members,
            &json!({"email": fx.developer.email.to_uppercase(), "role": "admin"}),
        )
        .expect(409, "already_member", param("email")),
    );
    expect_all(&app, &fx, Some(&fx.owner), cases).await;
}

/// Ids that do not exist (fresh UUIDv7s) and ids that cannot exist (not
/// UUIDs) are 404 everywhere, for GET and for changes alike.
#[tokio::test]
async fn unknown_ids_are_not_found() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let name = json!({"name": "x"});
    let mut cases = Vec::new();
    let bodies: Vec<(String, String, String, String, String)> = vec![
        (
            OrgId::new().to_string(),
            UserId::new().to_string(),
            ProjectId::new().to_string(),
            ApiKeyId::new().to_string(),
            TokenId::new().to_string(),
        ),
        (
            "not-a-uuid".into(),
            "123".into(),
            "%20".into(),
            "00000000-0000-0000-0000-00000000000g".into(),
            "x".repeat(300),
        ),
    ];
    for (org, user, project, key, token) in bodies {
        let a = fx.org_a;
        let requests: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/organizations/{org}"), None),
            (Method::PATCH, format!("/api/organizations/{org}"), Some(name.clone())),
            (Method::GET, format!("/api/organizations/{org}/members"), None),
            (
                Method::POST,
                format!("/api/organizations/{org}/invitations"),
                Some(json!({"email": fx.outsider.email, "role": "developer"})),
            ),
            (Method::GET, format!("/api/organizations/{org}/invitations"), None),
            (
                Method::DELETE,
                format!("/api/organizations/{a}/invitations/{user}"),
                None,
            ),
            (
                Method::PATCH,
                format!("/api/organizations/{org}/members/{}", fx.developer.id),
                Some(json!({"role": "admin"})),
            ),
            (
                Method::DELETE,
                format!("/api/organizations/{org}/members/{}", fx.developer.id),
                None,
            ),
            (
                Method::PATCH,
                format!("/api/organizations/{a}/members/{user}"),
                Some(json!({"role": "admin"})),
            ),
            (Method::DELETE, format!("/api/organizations/{a}/members/{user}"), None),
            (Method::GET, format!("/api/organizations/{org}/projects"), None),
            (
                Method::POST,
                format!("/api/organizations/{org}/projects"),
                Some(name.clone()),
            ),
            (Method::GET, format!("/api/organizations/{org}/api-keys"), None),
            (Method::GET, format!("/api/projects/{project}"), None),
            (Method::PATCH, format!("/api/projects/{project}"), Some(name.clone())),
            (Method::DELETE, format!("/api/projects/{project}"), None),
            (Method::GET, format!("/api/projects/{project}/api-keys"), None),
            (
                Method::POST,
                format!("/api/projects/{project}/api-keys"),
                Some(name.clone()),
            ),
            (Method::GET, format!("/api/api-keys/{key}"), None),
            (Method::PATCH, format!("/api/api-keys/{key}"), Some(name.clone())),
            (Method::POST, format!("/api/api-keys/{key}/revoke"), None),
            (Method::DELETE, format!("/api/me/tokens/{token}"), None),
            (
                Method::POST,
                "/api/invitations/lookup".into(),
                Some(json!({"token": token})),
            ),
            (
                Method::POST,
                "/api/invitations/lookup".into(),
                Some(json!({"token": format!("tli_{token}")})),
            ),
            (
                Method::POST,
                "/api/invitations/accept".into(),
                Some(json!({"token": format!("tli_{token}"), "name": "New Person", "password": "long enough"})),
            ),
        ];
        for (method, path, body) in requests {
            let mut case = match &body {
                Some(body) => json_case(path.clone(), &method, &path, body),
                None => Bad {
                    label: path.clone(),
                    method: method.clone(),
                    path: path.clone(),
                    content_type: None,
                    body: Vec::new(),
                    status: 0,
                    code: "",
                    param: Param::Absent,
                },
            };
            case = case.expect(404, "not_found", Param::Absent);
            cases.push(case);
        }
    }
    // Ids of the wrong kind: a project id where an organization id goes, and so on.
    let swapped: Vec<(Method, String)> = vec![
        (Method::GET, format!("/api/organizations/{}", fx.project_a)),
        (Method::GET, format!("/api/projects/{}", fx.org_a)),
        (Method::GET, format!("/api/api-keys/{}", fx.project_a)),
        (Method::POST, format!("/api/api-keys/{}/revoke", fx.org_a)),
        (Method::DELETE, format!("/api/projects/{}", fx.dev_key)),
        (Method::DELETE, format!("/api/me/tokens/{}", fx.owner.id)),
        (
            Method::DELETE,
            format!("/api/organizations/{}/members/{}", fx.org_a, fx.owner.token_id),
        ),
        (
            Method::DELETE,
            format!("/api/organizations/{}/invitations/{}", fx.org_a, fx.owner.id),
        ),
        (
            Method::DELETE,
            format!("/api/organizations/{}/invitations/{}", fx.org_a, fx.invite_b.id),
        ),
    ];
    for (method, path) in swapped {
        cases.push(Bad {
            label: format!("wrong kind of id: {path}"),
            method,
            path,
            content_type: None,
            body: Vec::new(),
            status: 404,
            code: "not_found",
            param: Param::Absent,
        });
    }
    expect_all(&app, &fx, Some(&fx.owner), cases).await;
}

fn plain(method: Method, path: &str, status: u16, code: &'static str) -> Bad {
    Bad {
        label: format!("{method} {path}"),
        method,
        path: path.to_owned(),
        content_type: None,
        body: Vec::new(),
        status,
        code,
        param: Param::Absent,
    }
}

/// Unknown paths are 404 and wrong methods 405, in the JSON error shape,
/// signed in or not.
#[tokio::test]
async fn unknown_paths_and_wrong_methods_get_json_errors() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let a = fx.org_a;
    let p = fx.project_a;
    let k = fx.dev_key;
    let not_found = [
        (Method::GET, "/api/nope".to_owned()),
        (Method::POST, "/api/nope".to_owned()),
        (Method::GET, "/api/".to_owned()),
        (Method::GET, "/api".to_owned()),
        (Method::GET, "/api/organizations/".to_owned()),
        (Method::GET, format!("/api/organizations/{a}/nope")),
        (Method::GET, format!("/api/projects/{p}/api-keys/{k}")),
        (Method::GET, format!("/api/api-keys/{k}/revoke/now")),
        (Method::GET, "/api/ME".to_owned()),
        (Method::GET, "/nope".to_owned()),
        (Method::GET, "/index.html".to_owned()),
    ];
    let wrong_method = [
        (Method::DELETE, "/api/organizations".to_owned()),
        (Method::PUT, "/api/organizations".to_owned()),
        (Method::DELETE, format!("/api/organizations/{a}")),
        (Method::PUT, format!("/api/projects/{p}")),
        (Method::POST, format!("/api/projects/{p}")),
        (Method::GET, "/api/auth/login".to_owned()),
        (Method::GET, "/api/auth/logout".to_owned()),
        (Method::POST, "/api/me".to_owned()),
        (Method::DELETE, "/api/me".to_owned()),
        (Method::PUT, "/api/me/tokens".to_owned()),
        (Method::GET, format!("/api/me/tokens/{}", fx.owner.token_id)),
        (Method::DELETE, format!("/api/api-keys/{k}")),
        (Method::GET, format!("/api/api-keys/{k}/revoke")),
        (Method::DELETE, format!("/api/organizations/{a}/api-keys")),
        (
            Method::GET,
            format!("/api/organizations/{a}/members/{}", fx.developer.id),
        ),
        (
            Method::PUT,
            format!("/api/organizations/{a}/members/{}", fx.developer.id),
        ),
    ];
    for who in [Some(&fx.owner), None] {
        let mut cases = Vec::new();
        for (method, path) in &not_found {
            cases.push(plain(method.clone(), path, 404, "not_found"));
        }
        for (method, path) in &wrong_method {
            cases.push(plain(method.clone(), path, 405, "method_not_allowed"));
        }
        expect_all(&app, &fx, who, cases).await;
    }
}

/// The limits are exactly where they are documented: 100 characters (not
/// bytes) for a name, 64 KiB for a body.
#[tokio::test]
async fn limits_are_inclusive() {
    let app = TestApp::spawn().await;
    let fx = Fx::build(&app).await;
    let path = format!("/api/projects/{}", fx.project_a);

    let name = "é".repeat(100);
    let (status, body) = app.patch(&fx.owner, &path, json!({"name": name})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], name);

    // Surrounding blanks are trimmed before counting.
    let (status, body) = app
        .patch(&fx.owner, &path, json!({"name": format!("  {}  ", "n".repeat(100))}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "n".repeat(100));

    let mut exact = serde_json::to_vec(&json!({"name": "At The Limit"})).unwrap();
    exact.resize(LIMIT, b' ');
    let (status, body) = app
        .raw(
            Some(&fx.owner),
            Method::PATCH,
            &path,
            Some("application/json; charset=utf-8"),
            exact,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "At The Limit");
    let (_, project) = app.get(&fx.owner, &path).await;
    assert_eq!(project["name"], "At The Limit");
}
