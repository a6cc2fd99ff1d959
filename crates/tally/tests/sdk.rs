//! The official `openai` and `anthropic` Python SDKs against the real
//! `tally serve` in front of the real `tally mock-provider`: whole and
//! streamed chat, embeddings, whole and streamed messages, injected upstream
//! errors and a revoked key (`tests/sdk/test_sdk.py` drives the SDKs). Then
//! every recorded event is checked exactly against what the SDKs sent.
//!
//! Needs a Python with the pinned SDKs (`tests/sdk/requirements.txt`):
//! `TALLY_TEST_PYTHON`, else `<repo>/.venv/bin/python`. `scripts/test`
//! prepares both. Without one this test fails; it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tally_catalog::Catalog;
use tally_core::{ActivityEvent, ApiKeyId, Endpoint, Money, Outcome, Usage};
use tally_mock_provider::{MockUsage, expected_usage, reply_text};
use tally_store::ActivityStore;
use tally_store::sqlite::SqliteStore;

use support::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The Python to run the SDKs with; failing (never skipping) without one.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TALLY_TEST_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "TALLY_TEST_PYTHON={} does not exist; run scripts/test, which prepares a Python with the SDKs",
            p.display()
        );
        return p;
    }
    let venv = repo_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the openai and anthropic SDKs: set TALLY_TEST_PYTHON or run scripts/test, \
         which creates {} from tests/sdk/requirements.txt",
        venv.display()
    );
    venv
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Key {
    Main,
    Second,
}

/// One call the Python script makes, and what tally must make of it.
struct Expected {
    name: &'static str,
    key: Key,
    endpoint: Endpoint,
    stream: bool,
    /// `None`: refused before anything is recorded.
    outcome: Option<Outcome>,
    status: u16,
    provider: &'static str,
    /// The model as sent upstream (and priced).
    model: &'static str,
}

#[allow(clippy::too_many_arguments)]
const fn call(
    name: &'static str,
    key: Key,
    endpoint: Endpoint,
    stream: bool,
    outcome: Option<Outcome>,
    status: u16,
    provider: &'static str,
    model: &'static str,
) -> Expected {
    Expected {
        name,
        key,
        endpoint,
        stream,
        outcome,
        status,
        provider,
        model,
    }
}

/// In the order the script makes them.
#[rustfmt::skip]
const CALLS: [Expected; 15] = {
    use Endpoint::{ChatCompletions as Chat, Embeddings, Messages};
    use Key::{Main, Second};
    use Outcome::{Blocked, ClientError, Success, UpstreamError};
    [
        call("openai-chat",               Main,   Chat,       false, Some(Success),       200, "openai",    "gpt-4o-mini"),
        call("openai-chat-stream",        Main,   Chat,       true,  Some(Success),       200, "openai",    "gpt-4o"),
        call("openai-chat-stream-usage",  Main,   Chat,       true,  Some(Success),       200, "openai",    "gpt-4o-mini"),
        call("openai-embeddings",         Main,   Embeddings, false, Some(Success),       200, "openai",    "text-embedding-3-small"),
        call("openai-upstream-429",       Main,   Chat,       false, Some(UpstreamError), 429, "openai",    "gpt-4o-mini"),
        call("anthropic-messages",        Main,   Messages,   false, Some(Success),       200, "anthropic", "claude-sonnet-4-5"),
        call("anthropic-messages-stream", Main,   Messages,   true,  Some(Success),       200, "anthropic", "claude-haiku-4-5"),
        call("anthropic-upstream-500",    Main,   Messages,   false, Some(UpstreamError), 500, "anthropic", "claude-sonnet-4-5"),
        call("second-key-before-revoke",  Second, Chat,       false, Some(Success),       200, "openai",    "gpt-4o-mini"),
        call("limited-openai",            Second, Chat,       false, Some(ClientError),   429, "openai",    "gpt-4o-mini"),
        call("limited-anthropic",         Second, Messages,   false, Some(ClientError),   429, "anthropic", "claude-sonnet-4-5"),
        call("budget-openai",             Second, Chat,       false, Some(Blocked),       429, "openai",    "gpt-4o-mini"),
        call("budget-anthropic",          Second, Messages,   false, Some(Blocked),       429, "anthropic", "claude-sonnet-4-5"),
        call("revoked-openai",            Second, Chat,       false, None,                401, "openai",    "gpt-4o-mini"),
        call("revoked-anthropic",         Second, Messages,   false, None,                401, "anthropic", "claude-sonnet-4-5"),
    ]
};

/// The usage tally must record for a successful call, in the shape each
/// wire format reports it (what a format does not report stays `None`).
fn recorded_usage(endpoint: Endpoint, u: MockUsage) -> Usage {
    match endpoint {
        Endpoint::ChatCompletions => Usage {
            input: Some(u.input),
            cached_input: Some(u.cached_input),
            cache_write: None,
            output: Some(u.output),
            reasoning: Some(u.reasoning),
        },
        Endpoint::Embeddings => Usage {
            input: Some(u.input),
            cached_input: None,
            cache_write: None,
            output: Some(0),
            reasoning: None,
        },
        Endpoint::Messages => Usage {
            input: Some(u.input),
            cached_input: Some(u.cached_input),
            cache_write: Some(u.cache_write),
            output: Some(u.output),
            reasoning: None,
        },
        Endpoint::Models => Usage::default(),
    }
}

/// The usage the SDK parsed must be the mock's, in the protocol's terms.
fn check_sdk_usage(e: &Expected, sdk: &Value, u: MockUsage) {
    let name = e.name;
    let expected = match e.endpoint {
        Endpoint::ChatCompletions => json!({
            "prompt_tokens": u.input, "completion_tokens": u.output,
            "total_tokens": u.total(), "cached_tokens": u.cached_input,
        }),
        Endpoint::Embeddings => json!({"prompt_tokens": u.input, "total_tokens": u.input}),
        Endpoint::Messages => json!({
            "input_tokens": u.uncached_input(), "output_tokens": u.output,
            "cache_read_input_tokens": u.cached_input, "cache_creation_input_tokens": u.cache_write,
        }),
        Endpoint::Models => Value::Null,
    };
    assert_eq!(sdk, &expected, "{name}: usage as the SDK parsed it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_sdks_through_the_gateway_are_recorded_exactly() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let accounts = Accounts::create(&data);
    let (main_id, main_key) = accounts.key(&data, "sdk");
    let (second_id, second_key) = accounts.key(&data, "sdk-revoked");

    let mock = start_mock(dir.path());
    let config = write_config(dir.path(), mock.addr());
    let mut server = start_serve(&config, &data, dir.path(), "serve");

    // A personal access token for the management API, to revoke a key.
    let client = signed_in(&server.url, OWNER_EMAIL, OWNER_PASSWORD).await;
    let token = client
        .post(format!("{}/api/me/tokens", server.url))
        .json(&json!({"name": "sdk-test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 201);
    let token: Value = token.json().await.unwrap();
    let admin_token = token["tokenSecret"].as_str().unwrap().to_owned();

    let script = repo_root().join("tests/sdk/test_sdk.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .env("TALLY_SDK_BASE_URL", &server.url)
        .env("TALLY_SDK_KEY", &main_key)
        .env("TALLY_SDK_SECOND_KEY", &second_key)
        .env("TALLY_SDK_SECOND_KEY_ID", second_id.to_string())
        .env("TALLY_SDK_ADMIN_TOKEN", &admin_token)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    // Nothing from the environment may redirect or re-authenticate the SDKs.
    for (var, _) in std::env::vars_os() {
        let upper = var.to_string_lossy().to_ascii_uppercase();
        if upper.starts_with("OPENAI_") || upper.starts_with("ANTHROPIC_") || upper.ends_with("_PROXY") {
            cmd.env_remove(var);
        }
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} {} failed ({}):\n{stderr}\n{stdout}\n--- tally log:\n{}",
        python.display(),
        script.display(),
        out.status,
        server.log_text()
    );
    let summary: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("summary: {e}: {stdout}"));
    eprintln!(
        "sdk: openai {}, anthropic {}",
        summary["sdk"]["openai"], summary["sdk"]["anthropic"]
    );

    // Graceful stop: every queued event is written before the exit.
    let status = server.terminate();
    assert!(status.success(), "tally serve exited with {status}");

    let store = SqliteStore::open(&data).unwrap();
    let events = store.recent_events(accounts.org, 10_000).await.unwrap();
    check_calls(&summary, &events, main_id, second_id);
    // The calls the script found in the request log carry the end user
    // they sent, under the id the gateway answered with.
    let logged = summary["logged"].as_array().unwrap();
    assert_eq!(logged.len(), 2);
    for l in logged {
        let id = l["requestId"].as_str().unwrap();
        let ev = events
            .iter()
            .find(|e| e.id.to_string() == id)
            .unwrap_or_else(|| panic!("{l}: no event"));
        assert_eq!(ev.end_user.as_deref(), l["endUser"].as_str(), "{l}");
        let name = l["name"].as_str().unwrap();
        assert_eq!(
            ev.tags.as_ref().map(ToString::to_string),
            Some(format!("feature={name},team=sdk")),
            "{l}"
        );
        assert_eq!(
            ev.app.as_deref(),
            Some(format!("sdk-{}", l["name"].as_str().unwrap()).as_str())
        );
    }
}

fn check_calls(summary: &Value, events: &[ActivityEvent], main_id: ApiKeyId, second_id: ApiKeyId) {
    let calls = summary["calls"].as_array().unwrap();
    let names: Vec<&str> = calls.iter().map(|c| c["name"].as_str().unwrap()).collect();
    let expected_names: Vec<&str> = CALLS.iter().map(|c| c.name).collect();
    assert_eq!(names, expected_names, "the calls the script made");

    let catalog = Catalog::builtin();
    let mut matched = HashSet::new();
    for (e, c) in CALLS.iter().zip(calls) {
        let name = e.name;
        assert_eq!(c["status"], e.status, "{name}: HTTP status the SDK saw");
        let path = c["path"].as_str().unwrap();
        let endpoint_path = match e.endpoint {
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Embeddings => "/v1/embeddings",
            Endpoint::Messages => "/v1/messages",
            Endpoint::Models => "/v1/models",
        };
        assert_eq!(path, endpoint_path, "{name}: path");
        let body = &c["body"];
        assert_eq!(body["stream"].as_bool().unwrap_or(false), e.stream, "{name}: stream");
        let mock = expected_usage(path, body);

        let app = format!("sdk-{name}");
        let recorded: Vec<&ActivityEvent> = events.iter().filter(|ev| ev.app.as_deref() == Some(&app)).collect();
        let Some(outcome) = e.outcome else {
            assert!(recorded.is_empty(), "{name}: a refused key recorded {recorded:?}");
            continue;
        };
        assert_eq!(recorded.len(), 1, "{name}: events recorded");
        let ev = recorded[0];
        matched.insert(ev.id);

        let key = if e.key == Key::Main { main_id } else { second_id };
        assert_eq!(ev.api_key_id, key, "{name}: key");
        assert_eq!(ev.endpoint, e.endpoint, "{name}: endpoint");
        assert_eq!(ev.stream, e.stream, "{name}: stream");
        assert_eq!(ev.outcome, outcome, "{name}: outcome");
        assert_eq!(ev.http_status, e.status, "{name}: http_status");
        assert_eq!(
            ev.requested_model.as_deref(),
            body["model"].as_str(),
            "{name}: requested model"
        );
        if outcome == Outcome::ClientError {
            // Refused by the key's rate limit before it was routed.
            assert_eq!(ev.provider, None, "{name}: never routed");
            assert_eq!((ev.usage, ev.cost), (Usage::default(), Money::ZERO), "{name}");
            assert!(
                ev.error.as_deref().is_some_and(|m| m.contains("rate limit")),
                "{name}: {:?}",
                ev.error
            );
            continue;
        }
        assert_eq!(ev.provider.as_deref(), Some(e.provider), "{name}: provider");
        let routed = format!("{}/{}", e.provider, e.model);
        assert_eq!(
            ev.routed_model.as_deref(),
            Some(routed.as_str()),
            "{name}: routed model"
        );
        assert_eq!(ev.canonical_model.as_deref(), Some(e.model), "{name}: canonical model");
        assert!(!ev.estimated, "{name}: usage was reported, not estimated");
        assert!(!ev.unpriced, "{name}: the catalog prices {routed}");

        if outcome == Outcome::Success {
            let usage = recorded_usage(e.endpoint, mock);
            assert_eq!(ev.usage, usage, "{name}: usage");
            let prices = catalog.prices(e.provider, e.model).unwrap();
            let cost = tally_catalog::cost(prices, &usage);
            assert!(cost > Money::ZERO, "{name}: a priced model costs something");
            assert_eq!(ev.cost, cost, "{name}: cost");
            assert!(ev.error.is_none(), "{name}: {:?}", ev.error);
            if e.endpoint != Endpoint::Embeddings {
                assert_eq!(
                    c["text"].as_str(),
                    Some(reply_text(mock.output).as_str()),
                    "{name}: reply text"
                );
            }
            match &c["usage"] {
                // The client did not ask for usage in its stream, so it got none.
                Value::Null => assert_eq!(name, "openai-chat-stream", "{name}: the SDK saw no usage"),
                sdk => check_sdk_usage(e, sdk, mock),
            }
        } else if outcome == Outcome::Blocked {
            // Routed, then refused by the key's budget: never forwarded.
            assert_eq!((ev.usage, ev.cost), (Usage::default(), Money::ZERO), "{name}");
            assert!(
                ev.error.as_deref().is_some_and(|m| m.contains("API key budget")),
                "{name}: {:?}",
                ev.error
            );
        } else {
            assert_eq!(ev.usage, Usage::default(), "{name}: an error reports no usage");
            assert_eq!(ev.cost, Money::ZERO, "{name}: an error costs nothing");
            assert!(
                ev.error.as_deref().is_some_and(|m| m.contains("mock:error")),
                "{name}: the provider's message is kept: {:?}",
                ev.error
            );
        }
    }

    // The scenarios that exercise cache accounting did.
    for name in ["openai-chat-stream-usage", "anthropic-messages-stream"] {
        let ev = events
            .iter()
            .find(|ev| ev.app.as_deref() == Some(&*format!("sdk-{name}")))
            .unwrap();
        assert!(ev.usage.cached_input.is_some_and(|n| n > 0), "{name}: {:?}", ev.usage);
    }

    // Exactly one event per recorded call: nothing else, nothing twice.
    let recorded_calls = CALLS.iter().filter(|c| c.outcome.is_some()).count();
    assert_eq!(events.len(), recorded_calls, "events recorded: {events:#?}");
    assert_eq!(matched.len(), recorded_calls);
    let second_events = events.iter().filter(|ev| ev.api_key_id == second_id).count();
    assert_eq!(
        second_events, 5,
        "the second key: one call, two refused by its limit and two by its budget before its revocation, none after"
    );
}
