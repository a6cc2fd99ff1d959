//! The analytics API over each store: the real server (`tally_server::serve`
//! on 127.0.0.1:0) over SQLite and over PostgreSQL, the same accounts and
//! the same events written through the store traits, and every analytics
//! endpoint asked the same questions. The answers (JSON and CSV) must be
//! identical once the ids that the stores generate themselves (users,
//! organizations, projects) are replaced by names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use tally_core::*;
use tally_server::{AppState, KeyHasher};
use tally_store::*;

/// Fixed across both stores: the installation key, key ids and secrets, token.
const INSTALLATION_KEY: [u8; 32] = [7; 32];
const OWNER_TOKEN: &str = "tlp_ownerOwnerOwnerOwnerOwnerOwnerOwnerOwner0";
const DEV_TOKEN: &str = "tlp_devDevDevDevDevDevDevDevDevDevDevDevDev00";

fn key_secret(i: usize) -> String {
    format!("tly_conformanceKey{i:02}abcdefghijklmnopqrstuvwxy")
}

/// A running server over one store, and the names of its generated ids.
struct Served {
    url: String,
    /// (id as text, stable name)
    names: Vec<(String, String)>,
    ids: Ids,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _backend: Backend,
}

#[derive(Clone)]
struct Ids {
    acme: OrgId,
    hobby: OrgId,
    support: ProjectId,
    search: ProjectId,
    owner: UserId,
    dev: UserId,
    former: UserId,
    keys: Vec<ApiKeyId>,
}

/// 2026-03-01T00:00:00Z; the events cover 2026-02-28 18:00Z to 2026-03-21.
const START: i64 = 1_772_323_200_000;

async fn seed(backend: Backend, key_ids: &[uuid::Uuid]) -> Served {
    let s: &dyn Store = &*backend.store;
    let hasher = KeyHasher::from_key(INSTALLATION_KEY);
    let user = |mail: &'static str, display: &'static str| async move {
        s.create_user(&email(mail), &name(display), "not-a-real-hash")
            .await
            .unwrap()
    };
    let owner = user("owner@acme.test", "Olivia Owner").await;
    let admin = user("admin@acme.test", "Adam Admin").await;
    let dev = user("dev@acme.test", "Dana Developer").await;
    let former = user("former@acme.test", "Fiona Former").await;
    let acme = s
        .create_org(&name("Acme Robotics"), Plan::Enterprise, owner.id)
        .await
        .unwrap();
    let hobby = s.create_org(&name("Hobby Lab"), Plan::Free, dev.id).await.unwrap();
    s.add_member(acme.id, admin.id, Role::Admin).await.unwrap();
    s.add_member(acme.id, dev.id, Role::Developer).await.unwrap();
    s.add_member(acme.id, former.id, Role::Developer).await.unwrap();
    let support = s.create_project(acme.id, &name("Support Bot")).await.unwrap();
    let search = s.create_project(acme.id, &name("Search")).await.unwrap();
    let toy = s.create_project(hobby.id, &name("Toy")).await.unwrap();
    let plan = [
        (acme.id, support.id, owner.id),
        (acme.id, search.id, owner.id),
        (acme.id, support.id, admin.id),
        (acme.id, support.id, dev.id),
        (acme.id, search.id, dev.id),
        (acme.id, search.id, former.id),
        (hobby.id, toy.id, dev.id),
    ];
    let mut refs = Vec::new();
    for (i, ((org, project, by), id)) in plan.into_iter().zip(key_ids).enumerate() {
        let secret = key_secret(i);
        s.create_api_key(NewApiKey {
            id: ApiKeyId::from_uuid(*id),
            org_id: org,
            project_id: project,
            name: name(&format!("key-{i}")),
            secret_hash: hasher.hash(&secret),
            last4: secret[secret.len() - 4..].to_owned(),
            created_by: by,
            created_at: at(START - 30 * 86_400_000 + i as i64 * 1000),
            expires_at: None,
            limits: Default::default(),
        })
        .await
        .unwrap();
        refs.push(KeyRef {
            org,
            project,
            key: ApiKeyId::from_uuid(*id),
            creator: by,
        });
    }
    for (i, (user, secret)) in [(owner.id, OWNER_TOKEN), (dev.id, DEV_TOKEN)].into_iter().enumerate() {
        s.create_token(NewToken {
            id: TokenId::from_uuid(key_ids[10 + i]),
            user_id: user,
            kind: TokenKind::Personal,
            name: "analytics".into(),
            secret_hash: hasher.hash(secret),
            created_at: at(START),
            expires_at: None,
        })
        .await
        .unwrap();
    }
    // Around the clock: local days in Kolkata (UTC+05:30) start at 18:30Z.
    let all = events(99, &refs, START - 6 * 3_600_000, 21 * 86_400_000, 2_500);
    for chunk in all.chunks(400) {
        s.record(chunk.to_vec()).await.unwrap();
    }
    s.revoke_api_key(refs[2].key, at(START + 25 * 86_400_000))
        .await
        .unwrap();
    s.remove_member(acme.id, former.id).await.unwrap();

    let names = vec![
        (acme.id.to_string(), "ORG-acme".to_owned()),
        (hobby.id.to_string(), "ORG-hobby".to_owned()),
        (support.id.to_string(), "PROJECT-support".to_owned()),
        (search.id.to_string(), "PROJECT-search".to_owned()),
        (toy.id.to_string(), "PROJECT-toy".to_owned()),
        (owner.id.to_string(), "USER-owner".to_owned()),
        (admin.id.to_string(), "USER-admin".to_owned()),
        (dev.id.to_string(), "USER-dev".to_owned()),
        (former.id.to_string(), "USER-former".to_owned()),
    ];
    let ids = Ids {
        acme: acme.id,
        hobby: hobby.id,
        support: support.id,
        search: search.id,
        owner: owner.id,
        dev: dev.id,
        former: former.id,
        keys: refs.iter().map(|k| k.key).collect(),
    };

    let state = AppState::new(backend.store.clone(), hasher);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        tally_server::serve(listener, state, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Served {
        url,
        names,
        ids,
        stop: Some(stop),
        task: Some(task),
        _backend: backend,
    }
}

impl Served {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    fn normalise(&self, body: &str) -> String {
        let mut out = body.to_owned();
        for (id, label) in &self.names {
            out = out.replace(id.as_str(), label);
        }
        out
    }
}

/// The questions: (description, path and query, bearer).
fn questions(ids: &Ids) -> Vec<(String, String, String)> {
    let mut q = Vec::new();
    let owner = OWNER_TOKEN.to_owned();
    let dev = DEV_TOKEN.to_owned();
    let ranges = [
        ("from=2026-02-28&to=2026-03-22", "UTC"),
        ("from=2026-02-28&to=2026-03-22", "Asia/Kolkata"),
        ("from=2026-03-03&to=2026-03-05", "Asia/Kolkata"),
        ("from=2026-03-10&to=2026-03-10", "America/St_Johns"),
    ];
    for (range, tz) in ranges {
        let common = format!("{range}&timezone={tz}");
        for scope in [
            format!("projectId={}", ids.support),
            format!("projectId={}", ids.search),
            format!("apiKeyId={}", ids.keys[3]),
        ] {
            for view in ["mapping", "canonical"] {
                q.push((
                    "models".into(),
                    format!("/api/analytics/models?{scope}&{common}&view={view}"),
                    owner.clone(),
                ));
                for interval in ["day", "hour"] {
                    q.push((
                        "timeseries".into(),
                        format!("/api/analytics/models/timeseries?{scope}&{common}&view={view}&interval={interval}"),
                        owner.clone(),
                    ));
                }
            }
        }
        for key in &ids.keys[..6] {
            q.push((
                "key".into(),
                format!("/api/analytics/keys/{key}?{common}"),
                owner.clone(),
            ));
        }
        q.push((
            "key as its developer".into(),
            format!("/api/analytics/keys/{}?{common}", ids.keys[3]),
            dev.clone(),
        ));
        q.push((
            "someone else's key as a developer (404)".into(),
            format!("/api/analytics/keys/{}?{common}", ids.keys[0]),
            dev.clone(),
        ));
        q.push((
            "members".into(),
            format!("/api/analytics/members?organizationId={}&{common}", ids.acme),
            owner.clone(),
        ));
        q.push((
            "members as a developer (403)".into(),
            format!("/api/analytics/members?organizationId={}&{common}", ids.acme),
            dev.clone(),
        ));
        q.push((
            "members of a free organization (403)".into(),
            format!("/api/analytics/members?organizationId={}&{common}", ids.hobby),
            dev.clone(),
        ));
        for user in [ids.owner, ids.dev, ids.former] {
            q.push((
                "member detail".into(),
                format!("/api/analytics/members/{user}?organizationId={}&{common}", ids.acme),
                owner.clone(),
            ));
        }
        for scope in [
            format!("organizationId={}", ids.acme),
            format!("projectId={}", ids.search),
            format!("apiKeyId={}", ids.keys[4]),
        ] {
            for group in [
                "model",
                "apiKey",
                "member",
                "provider",
                "app",
                "model,apiKey",
                "member,provider,app",
                "model,apiKey,member,provider,app",
            ] {
                for interval in ["day", "none"] {
                    q.push((
                        "export.csv".into(),
                        format!("/api/analytics/export.csv?{scope}&{common}&groupBy={group}&interval={interval}"),
                        owner.clone(),
                    ));
                }
            }
        }
        for i in [0, 3, 6] {
            q.push(("/v1/usage".into(), format!("/v1/usage?{common}"), key_secret(i)));
        }
    }
    q.push((
        "bad timezone (400)".into(),
        format!(
            "/api/analytics/models?projectId={}&from=2026-03-01&to=2026-03-02&timezone=Mars/Base",
            ids.support
        ),
        owner.clone(),
    ));
    q
}

/// The same question, asked of both servers, by the same path (with each
/// server's own ids).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_analytics_endpoint_answers_the_same_over_both_stores() {
    let key_ids: Vec<uuid::Uuid> = (0..12).map(|_| uuid::Uuid::now_v7()).collect();
    let lite = seed(sqlite().await, &key_ids).await;
    let pg = seed(postgres().await, &key_ids).await;
    let http = reqwest::Client::new();
    let (lite_questions, pg_questions) = (questions(&lite.ids), questions(&pg.ids));
    assert_eq!(lite_questions.len(), pg_questions.len());
    let mut answered = std::collections::BTreeMap::<String, usize>::new();
    for ((what, lite_path, bearer), (_, pg_path, _)) in lite_questions.iter().zip(&pg_questions) {
        let ask = |base: &str, path: &str| http.get(format!("{base}{path}")).bearer_auth(bearer).send();
        let (a, b) = (
            ask(&lite.url, lite_path).await.unwrap(),
            ask(&pg.url, pg_path).await.unwrap(),
        );
        let (sa, sb) = (a.status(), b.status());
        let csv = a
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/csv"));
        let (ta, tb) = (
            lite.normalise(&a.text().await.unwrap()),
            pg.normalise(&b.text().await.unwrap()),
        );
        assert_eq!(sa, sb, "{what}: {lite_path}\nsqlite: {ta}\npostgres: {tb}");
        if csv {
            assert_eq!(ta, tb, "{what}: {lite_path}");
        } else {
            let ja: serde_json::Value = serde_json::from_str(&ta).unwrap_or_else(|e| panic!("{what}: {e}: {ta}"));
            let jb: serde_json::Value = serde_json::from_str(&tb).unwrap_or_else(|e| panic!("{what}: {e}: {tb}"));
            assert_eq!(ja, jb, "{what}: {lite_path}");
        }
        if sa.is_success() {
            *answered.entry(what.clone()).or_default() += 1;
            // The data is there: no answer is vacuously equal.
            assert!(
                ta.contains("\"requests\":") && !ta.contains("\"totals\":{\"requests\":0")
                    || csv && ta.lines().count() > 1,
                "{what}: {lite_path}: {ta}"
            );
        }
    }
    for endpoint in [
        "models",
        "timeseries",
        "key",
        "members",
        "member detail",
        "export.csv",
        "/v1/usage",
    ] {
        assert!(
            answered.get(endpoint).copied().unwrap_or(0) > 0,
            "{endpoint} never answered: {answered:?}"
        );
    }
    // The users, organizations and projects really had different ids.
    assert_ne!(lite.ids.acme, pg.ids.acme);
    lite.stop().await;
    pg.stop().await;
}
