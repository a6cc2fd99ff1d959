//! Running the real `tally` binary for the end-to-end tests: the mock
//! provider and `tally serve` as child processes on free ports, a generated
//! configuration, and the admin commands for accounts and keys.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

use tally_core::{ApiKeyId, OrgId};

/// The key the mock provider demands, and the variable tally reads it from.
pub const PROVIDER_KEY: &str = "sk-tally-test-provider";
pub const PROVIDER_KEY_ENV: &str = "TALLY_TEST_PROVIDER_KEY";

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const OWNER_PASSWORD: &str = "owner-password";

/// The `tally` binary with no `TALLY_*` variable inherited.
pub fn tally() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("TALLY_") {
            cmd.env_remove(var);
        }
    }
    cmd
}

/// Runs an admin command on `data_dir`, feeding `stdin`, and parses its
/// `key=value` output.
pub fn admin(args: &[&str], data_dir: &Path, stdin: &str) -> HashMap<String, String> {
    printed(args, run(tally().args(args).arg("--data-dir").arg(data_dir), stdin))
}

/// Runs `command`, feeding `stdin`, and waits for its captured output.
pub fn run(command: &mut Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The `key=value` lines printed by `tally args`, which must have succeeded.
pub fn printed(args: &[impl std::fmt::Debug], out: Output) -> HashMap<String, String> {
    assert!(
        out.status.success(),
        "tally {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A client holding the session cookie of `email` at the server `base`.
pub async fn signed_in(base: &str, email: &str, password: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .no_proxy()
        .cookie_store(true)
        .build()
        .unwrap();
    let resp = client
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    client
}

/// A child process that announced `… is listening on http://ADDR/ …`.
/// Killed (SIGKILL) on drop if still running, so a failing test leaves
/// nothing behind.
pub struct Proc {
    pub child: Child,
    /// `http://ADDR`, no trailing slash.
    pub url: String,
    /// Where its standard error goes.
    pub log: PathBuf,
    reaped: bool,
}

impl Proc {
    /// Spawns `cmd` and waits for its "is listening on" line (the last line
    /// of a banner). Standard error goes to `log`.
    pub fn start(mut cmd: Command, log: PathBuf) -> Proc {
        let stderr = File::create(&log).unwrap();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let Some(line) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{cmd:?} exited before listening; its log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            let line = line.unwrap();
            if let Some((_, rest)) = line.split_once(" is listening on ") {
                let url = rest.split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Drain later output so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Proc {
            child,
            url,
            log,
            reaped: false,
        }
    }

    /// `ADDR` of `http://ADDR`.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// Graceful stop: SIGTERM, then wait for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.reaped = true;
        self.child.wait().unwrap()
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill9(&mut self) -> ExitStatus {
        self.child.kill().unwrap();
        self.reaped = true;
        self.child.wait().unwrap()
    }

    /// Its standard error so far, for failure messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `tally mock-provider` on a free port, demanding [`PROVIDER_KEY`].
pub fn start_mock(dir: &Path) -> Proc {
    let mut cmd = tally();
    cmd.args(["mock-provider", "--listen", "127.0.0.1:0", "--api-key", PROVIDER_KEY]);
    Proc::start(cmd, dir.join("mock.log"))
}

/// A configuration file with an `openai` and an `anthropic` provider, both
/// answered by the mock at `mock_addr`.
pub fn write_config(dir: &Path, mock_addr: &str) -> PathBuf {
    let path = dir.join("tally.toml");
    let text = format!(
        r#"log = "info"

[providers.openai]
kind = "openai"
base_url = "http://{mock_addr}/v1"
api_key_env = "{PROVIDER_KEY_ENV}"
first_byte_timeout_secs = 20
idle_timeout_secs = 20

[providers.anthropic]
kind = "anthropic"
base_url = "http://{mock_addr}"
api_key_env = "{PROVIDER_KEY_ENV}"
first_byte_timeout_secs = 20
idle_timeout_secs = 20
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `tally serve` on a free port over `data_dir`. `name` tells its log apart.
pub fn start_serve(config: &Path, data_dir: &Path, log_dir: &Path, name: &str) -> Proc {
    let mut cmd = tally();
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .env(PROVIDER_KEY_ENV, PROVIDER_KEY);
    Proc::start(cmd, log_dir.join(format!("{name}.log")))
}

/// A user owning an organization with one project, made with the admin commands.
pub struct Accounts {
    pub org: OrgId,
    pub project: String,
}

impl Accounts {
    pub fn create(data_dir: &Path) -> Accounts {
        admin(
            &["user", "create", "--email", OWNER_EMAIL, "--name", "Owner"],
            data_dir,
            &format!("{OWNER_PASSWORD}\n"),
        );
        let org = admin(
            &[
                "org",
                "create",
                "--name",
                "SDK Org",
                "--plan",
                "enterprise",
                "--owner",
                OWNER_EMAIL,
            ],
            data_dir,
            "",
        );
        let project = admin(
            &["project", "create", "--org", &org["org_id"], "--name", "Main"],
            data_dir,
            "",
        );
        Accounts {
            org: org["org_id"].parse().unwrap(),
            project: project["project_id"].clone(),
        }
    }

    /// A new API key of the project: (id, secret).
    pub fn key(&self, data_dir: &Path, name: &str) -> (ApiKeyId, String) {
        let key = admin(
            &[
                "key",
                "create",
                "--project",
                &self.project,
                "--name",
                name,
                "--created-by",
                OWNER_EMAIL,
            ],
            data_dir,
            "",
        );
        assert!(key["key"].starts_with("tly_"), "{key:?}");
        (key["key_id"].parse().unwrap(), key["key"].clone())
    }
}

/// An HTTP client that never goes through a proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
