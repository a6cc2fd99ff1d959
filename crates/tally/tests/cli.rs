//! The `tally` binary as an operator uses it: admin commands, `serve` with
//! a config file and environment overrides, `demo`, and graceful shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use support::{admin, run, tally};

/// A running server process; stopped with SIGTERM on drop if still running.
struct Server {
    child: Child,
    base: String,
    output: Vec<String>,
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut output = Vec::new();
        let base = loop {
            let line = lines.next().expect("server exited before listening").unwrap();
            output.push(line.clone());
            if let Some(rest) = line.strip_prefix("tally is listening on ") {
                let url = rest.split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Drain later output so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Server { child, base, output }
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn login(base: &str, email: &str, password: &str) -> reqwest::Client {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let resp = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "login {email}");
    client
}

async fn get(client: &reqwest::Client, url: String) -> Value {
    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn headless_setup_then_serve_then_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let user = admin(
        &["user", "create", "--email", "Ops@Example.com", "--name", "Ops"],
        data,
        "s3cret-password\n",
    );
    assert_eq!(user["email"], "ops@example.com");
    let org = admin(
        &[
            "org",
            "create",
            "--name",
            "Ops Org",
            "--plan",
            "pro",
            "--owner",
            "ops@example.com",
        ],
        data,
        "",
    );
    assert_eq!(org["plan"], "pro");
    let project = admin(
        &["project", "create", "--org", &org["org_id"], "--name", "Main"],
        data,
        "",
    );
    let key = admin(
        &[
            "key",
            "create",
            "--project",
            &project["project_id"],
            "--name",
            "ci",
            "--created-by",
            "ops@example.com",
        ],
        data,
        "",
    );
    assert!(key["key"].starts_with("tly_"), "{key:?}");
    assert_eq!(key["expires_at"], "", "{key:?}");
    // A year on, in whole seconds (keys keep milliseconds).
    let year_on = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 366 * 86_400)
        .unwrap()
        .to_string();
    let expiring = admin(
        &[
            "key",
            "create",
            "--project",
            &project["project_id"],
            "--name",
            "nightly",
            "--created-by",
            "ops@example.com",
            "--expires-at",
            &year_on,
        ],
        data,
        "",
    );
    assert_eq!(expiring["expires_at"], year_on, "{expiring:?}");
    assert_eq!(expiring["requests_per_minute"], "none");
    let limited = admin(
        &[
            "key",
            "limit",
            "--key",
            &expiring["key_id"],
            "--requests-per-minute",
            "600",
        ],
        data,
        "",
    );
    assert_eq!(limited["requests_per_minute"], "600", "{limited:?}");
    assert_eq!(limited["tokens_per_minute"], "none");
    let limited = admin(
        &[
            "key",
            "limit",
            "--key",
            &expiring["key_id"],
            "--tokens-per-minute",
            "90000",
        ],
        data,
        "",
    );
    assert_eq!(limited["requests_per_minute"], "600", "an omitted limit is kept");
    assert_eq!(limited["tokens_per_minute"], "90000");

    let mut cmd = tally();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data);
    let mut server = Server::start(cmd);
    let client = login(&server.base, "ops@example.com", "s3cret-password").await;
    let keys = get(
        &client,
        format!("{}/api/projects/{}/api-keys", server.base, project["project_id"]),
    )
    .await;
    // Newest first.
    assert_eq!(keys[0]["id"], expiring["key_id"].as_str());
    assert_eq!(keys[0]["expiresAt"], year_on.as_str());
    assert_eq!(keys[0]["requestsPerMinute"], 600);
    assert_eq!(keys[0]["tokensPerMinute"], 90000);
    assert_eq!(keys[1]["id"], key["key_id"].as_str());
    assert_eq!(keys[1]["createdBy"]["email"], "ops@example.com");
    assert!(!keys.to_string().contains(&key["key"][4..]));

    let status = server.terminate();
    assert!(status.success(), "graceful stop exits 0, got {status:?}");
}

#[test]
fn admin_commands_refuse_bad_input_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    const ORG: &str = "0190b8b0-0000-7000-8000-000000000000";
    // A good `budget create` with one flag's value replaced.
    let budget = |change: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec![
            "budget",
            "create",
            "--org",
            ORG,
            "--scope",
            "organization",
            "--amount",
            "10",
            "--period",
            "day",
            "--action",
            "block",
            "--created-by",
            "a@b.co",
        ];
        if let [flag, value] = change {
            match args.iter().position(|a| a == flag) {
                Some(i) => args[i + 1] = value,
                None => args.extend_from_slice(change),
            }
        }
        args
    };
    let budgets = [
        (budget(&["--amount", "0"]), "--amount: an amount is more than 0"),
        (budget(&["--period", "year"]), "--period: `year` is not a period"),
        (
            budget(&["--timezone", "Mars/Olympus"]),
            "--timezone: `Mars/Olympus` is not an IANA",
        ),
        (budget(&["--action", "stop"]), "--action: `stop` is not an action"),
        (
            budget(&["--thresholds", "50,0"]),
            "--thresholds: a threshold is a percentage",
        ),
        (budget(&[]), "no organization"),
        (
            vec!["budget", "delete", "--org", ORG, "--budget", "x"],
            "--budget: `x` is not a valid budget id",
        ),
    ];
    for (args, expected) in budgets {
        let out = run(tally().args(&args).arg("--data-dir").arg(dir.path()), "");
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let cases: [(&[&str], &str, &str); 7] = [
        (
            &["user", "create", "--email", "not-an-email", "--name", "X"],
            "password123\n",
            "--email",
        ),
        (
            &["user", "create", "--email", "a@b.co", "--name", "X"],
            "short\n",
            "password",
        ),
        (
            &["org", "create", "--name", "O", "--plan", "gold", "--owner", "a@b.co"],
            "",
            "--plan",
        ),
        (
            &["org", "create", "--name", "O", "--owner", "nobody@b.co"],
            "",
            "no user",
        ),
        (
            &[
                "key",
                "create",
                "--project",
                "0190b8b0-0000-7000-8000-000000000000",
                "--name",
                "k",
                "--created-by",
                "a@b.co",
                "--expires-at",
                "2001-01-01T00:00:00Z",
            ],
            "",
            "--expires-at: must be in the future",
        ),
        (
            &[
                "key",
                "limit",
                "--key",
                "0190b8b0-0000-7000-8000-000000000000",
                "--requests-per-minute",
                "0",
            ],
            "",
            "--requests-per-minute: 0 is not a limit",
        ),
        (
            &["key", "limit", "--key", "0190b8b0-0000-7000-8000-000000000000"],
            "",
            "give --requests-per-minute, --tokens-per-minute, or both",
        ),
    ];
    for (args, stdin, expected) in cases {
        let out = run(tally().args(args).arg("--data-dir").arg(dir.path()), stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

#[test]
fn a_data_directory_of_schema_version_6_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tally.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).unwrap();
    conn.execute_batch(concat!(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT;",
        include_str!("../../store/src/sqlite/migrations/0001_initial.sql"),
        include_str!("../../store/src/sqlite/migrations/0002_model_settings.sql"),
        include_str!("../../store/src/sqlite/migrations/0003_rollups.sql"),
        include_str!("../../store/src/sqlite/migrations/0004_rollup_shapes.sql"),
        include_str!("../../store/src/sqlite/migrations/0005_local_days.sql"),
        include_str!("../../store/src/sqlite/migrations/0006_deferred_rollups.sql"),
        "INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0);",
    ))
    .unwrap();
    drop(conn);
    let out = tally()
        .args(["events", "prune", "--older-than-days", "1", "--data-dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    for says in [
        "error: cannot open the store: ",
        "schema version 6",
        "28f8d39",
        "was not changed",
    ] {
        assert!(err.contains(says), "{err}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 6);
}

#[test]
fn provider_configuration_errors_stop_serve_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[providers.azure]\n",
            "provider `azure` needs `base_url`, e.g. `https://<resource>.openai.azure.com`",
        ),
        (
            "[providers.azure]\nbase_url = \"https://r.openai.azure.com\"\napi_version = \"2024 10\"\n",
            "provider `azure`: api_version `2024 10` is not an api-version",
        ),
        (
            "[providers.openai]\napi_version = \"2024-10-21\"\n",
            "provider `openai`: `api_version` applies only to `kind = \"azure\"`",
        ),
        (
            "[providers.eu]\nkind = \"azuer\"\nbase_url = \"https://r.openai.azure.com\"\n",
            "unknown variant `azuer`, expected one of `openai`, `anthropic`, `azure`",
        ),
    ];
    for (i, (toml, expected)) in cases.into_iter().enumerate() {
        let config = dir.path().join(format!("tally-{i}.toml"));
        std::fs::write(&config, toml).unwrap();
        let out = tally()
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path().join(format!("data-{i}")))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{toml}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{toml}: {err}");
    }
}

#[tokio::test]
async fn config_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file_dir = dir.path().join("from-file");
    let env_dir = dir.path().join("from-env");
    let config = dir.path().join("tally.toml");
    std::fs::write(
        &config,
        format!("listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n", file_dir.display()),
    )
    .unwrap();

    let mut cmd = tally();
    cmd.args(["serve", "--config"]).arg(&config);
    let mut server = Server::start(cmd);
    assert!(
        server.output.iter().any(|l| l.contains("from-file")),
        "{:?}",
        server.output
    );
    server.terminate();
    assert!(file_dir.join("tally.db").exists());

    let mut cmd = tally();
    cmd.args(["serve", "--config"])
        .arg(&config)
        .env("TALLY_DATA_DIR", &env_dir);
    let mut server = Server::start(cmd);
    assert!(
        server.output.iter().any(|l| l.contains("from-env")),
        "{:?}",
        server.output
    );
    server.terminate();
    assert!(env_dir.join("tally.db").exists());

    std::fs::write(&config, "listen = \"127.0.0.1:0\"\ndata_dri = \"typo\"\n").unwrap();
    let out = tally().args(["serve", "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("data_dri"));
    // [analytics] local_day_zones: an unknown zone is refused; the offsets of
    // the named zones are kept by local day (New York has two).
    let zones = |list: &str| {
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n[analytics]\nlocal_day_zones = [{list}]\n",
            file_dir.display()
        )
    };
    std::fs::write(&config, zones("\"Asia/Kolkata\", \"Mars/Olympus\"")).unwrap();
    let out = tally().args(["serve", "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Mars/Olympus"));
    std::fs::write(&config, zones("\"Asia/Kolkata\", \"America/New_York\"")).unwrap();
    let mut cmd = tally();
    cmd.args(["serve", "--config"]).arg(&config);
    let mut server = Server::start(cmd);
    assert!(server.terminate().success());
    let db = rusqlite::Connection::open(file_dir.join("tally.rollups.db")).unwrap();
    let mut stmt = db.prepare("SELECT phase FROM local_day_phases ORDER BY phase").unwrap();
    let phases: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(phases, vec![-300, -240, 330]);
}

#[tokio::test]
async fn demo_seeds_every_role_and_prints_the_logins() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tally();
    cmd.args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path());
    let server = Server::start(cmd);
    let base = server.base.clone();

    let owner = login(&base, "owner@acme.test", "tally-demo").await;
    let me = get(&owner, format!("{base}/api/me")).await;
    let orgs = me["organizations"].as_array().unwrap();
    let acme = orgs.iter().find(|o| o["plan"] == "enterprise").unwrap();
    assert!(orgs.iter().any(|o| o["plan"] == "free"));
    let acme_id = acme["id"].as_str().unwrap();

    let projects = get(&owner, format!("{base}/api/organizations/{acme_id}/projects")).await;
    assert_eq!(projects.as_array().unwrap().len(), 3);
    let keys = get(&owner, format!("{base}/api/organizations/{acme_id}/api-keys")).await;
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 20);
    let members = get(&owner, format!("{base}/api/organizations/{acme_id}/members")).await;
    let members = members.as_array().unwrap();
    let roles: Vec<&str> = members.iter().map(|m| m["role"].as_str().unwrap()).collect();
    for role in ["owner", "admin", "developer"] {
        assert!(roles.contains(&role), "{roles:?}");
    }
    // The former member's keys remain, attributed to them, though they left.
    let former_keys = keys
        .iter()
        .filter(|k| k["createdBy"]["email"] == "former@acme.test")
        .count();
    assert!(former_keys > 0);
    assert!(!members.iter().any(|m| m["email"] == "former@acme.test"));
    let creators: std::collections::HashSet<&str> =
        keys.iter().map(|k| k["createdBy"]["email"].as_str().unwrap()).collect();
    assert!(creators.len() >= 4, "{creators:?}");

    let dev = login(&base, "dev@acme.test", "tally-demo").await;
    let dev_keys = get(&dev, format!("{base}/api/organizations/{acme_id}/api-keys")).await;
    assert!(
        dev_keys
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["createdBy"]["email"] == "dev@acme.test")
    );

    let former = login(&base, "former@acme.test", "tally-demo").await;
    let me = get(&former, format!("{base}/api/me")).await;
    assert_eq!(me["organizations"].as_array().unwrap().len(), 0);

    for (email, _) in tally_server::demo::logins() {
        assert!(server.output.iter().any(|l| l.contains(email)), "banner lists {email}");
    }

    // The history went through the gateway into the rollups; a rebuild from
    // the raw events gives the same answer.
    let project = projects[0]["id"].as_str().unwrap();
    let today = jiff::Zoned::now().date();
    let from = today.checked_sub(jiff::Span::new().days(10)).unwrap();
    // Up to yesterday: live demo traffic keeps arriving today.
    let to = today.yesterday().unwrap();
    let url = format!("{base}/api/analytics/models?projectId={project}&from={from}&to={to}&view=canonical");
    let before = get(&owner, url.clone()).await;
    assert!(before["totals"]["requests"].as_u64().unwrap() > 0, "{before}");
    let rebuilt = admin(&["rollups", "rebuild"], dir.path(), "");
    assert!(rebuilt["rollup_rows"].parse::<u64>().unwrap() > 0);
    let after = get(&owner, url).await;
    assert_eq!(before["totals"], after["totals"]);
}

/// `[auth]` login limits and `[server] secure_cookies` from the config file
/// reach the server; a zero limit is refused at start.
#[tokio::test]
async fn login_limits_and_secure_cookies_come_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    admin(
        &["user", "create", "--email", "ops@example.com", "--name", "Ops"],
        &data,
        "s3cret-password\n",
    );
    let config = dir.path().join("tally.toml");
    let write = |auth: &str| {
        let text = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n[server]\nsecure_cookies = true\n[auth]\n{auth}\n",
            data.display()
        );
        std::fs::write(&config, text).unwrap();
    };
    write("login_failures_per_account = 0");
    let out = tally().args(["serve", "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("login_failures_per_account"));

    write("login_failures_per_account = 2\nhash_concurrency = 1");
    let mut cmd = tally();
    cmd.args(["serve", "--config"]).arg(&config);
    let mut server = Server::start(cmd);
    let client = reqwest::Client::new();
    let attempt = |password: &'static str| {
        client
            .post(format!("{}/api/auth/login", server.base))
            .json(&json!({"email": "ops@example.com", "password": password}))
            .send()
    };
    let ok = attempt("s3cret-password").await.unwrap();
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    for _ in 0..2 {
        assert_eq!(attempt("wrong").await.unwrap().status(), 401);
    }
    let limited = attempt("s3cret-password").await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert!(server.terminate().success());
}
