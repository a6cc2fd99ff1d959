//! What a `kill -9` of `tally serve` under load can lose, measured.
//!
//! Four clients send chat requests (two whole, two streamed) through the
//! real binary to the real mock provider, each request tagged with a unique
//! `X-Title` (recorded as the event's app). After a number of answered requests the process gets
//! SIGKILL while requests are in flight. Then `tally serve` starts again on
//! the same data directory (SQLite recovers its WAL), and the recorded
//! events are compared with the responses the clients received:
//!
//! * every recorded event belongs to a request that was sent;
//! * at most one event per client was recorded without its response
//!   arriving (the request in flight at the kill);
//! * answered requests without an event (the loss) are at most what the
//!   writer can hold in memory: its queue plus the batch being written.
//!
//! * the events the killed process had not yet counted into the rollups
//!   are counted after the restart: analytics count every recorded event once.
//!
//! The numbers are printed (`cargo test --test kill -- --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashSet;
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;
use tally_core::Outcome;
use tally_server::gateway::writer::{DEFAULT_QUEUE, MAX_BATCH};
use tally_store::sqlite::SqliteStore;
use tally_store::{ActivityStore, AnalyticsStore, Scope, UsageQuery};
use tokio::sync::{Mutex, Notify};

use support::*;

const CLIENTS: usize = 4;
/// Answered requests before the kill.
const KILL_AFTER: u64 = 1_500;
/// A bound on each client's requests, should the kill never come.
const MAX_PER_CLIENT: u64 = 5_000;

#[derive(Default)]
struct Tally {
    sent: HashSet<String>,
    answered: HashSet<String>,
    /// Responses other than 200 before the kill (there should be none).
    other: Vec<String>,
}

async fn client(
    n: usize,
    url: String,
    key: String,
    answered: Arc<AtomicU64>,
    kill_now: Arc<Notify>,
    tally: Arc<Mutex<Tally>>,
) {
    let http = http();
    let stream = n % 2 == 1;
    for i in 0..MAX_PER_CLIENT {
        let tag = format!("kill-{n}-{i}");
        tally.lock().await.sent.insert(tag.clone());
        let body = json!({
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": format!("request {tag}: count my tokens")}],
            "max_tokens": 4,
            "stream": stream,
        });
        let sent = http
            .post(format!("{url}/v1/chat/completions"))
            .bearer_auth(&key)
            .header("x-title", &tag)
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            // The server is gone: this client is done.
            Err(_) => break,
        };
        let status = response.status();
        let Ok(bytes) = response.bytes().await else { break };
        if status != 200 {
            tally
                .lock()
                .await
                .other
                .push(format!("{tag}: {status} {}", String::from_utf8_lossy(&bytes)));
            break;
        }
        // A stream counts as answered once it arrived whole.
        if stream && !String::from_utf8_lossy(&bytes).contains("data: [DONE]") {
            break;
        }
        tally.lock().await.answered.insert(tag);
        if answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
            kill_now.notify_one();
        }
    }
    // However this client ended, the kill must not wait for it.
    kill_now.notify_one();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_at_most_the_in_memory_queue() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let accounts = Accounts::create(&data);
    let (_, key) = accounts.key(&data, "load");
    let mock = start_mock(dir.path());
    let config = write_config(dir.path(), mock.addr());
    let mut server = start_serve(&config, &data, dir.path(), "serve-1");

    let answered = Arc::new(AtomicU64::new(0));
    let kill_now = Arc::new(Notify::new());
    let tally = Arc::new(Mutex::new(Tally::default()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client(
                n,
                server.url.clone(),
                key.clone(),
                answered.clone(),
                kill_now.clone(),
                tally.clone(),
            ))
        })
        .collect();

    kill_now.notified().await;
    let at_kill = answered.load(Ordering::SeqCst);
    let status = server.kill9();
    assert_eq!(status.signal(), Some(9), "tally serve died of SIGKILL: {status:?}");
    for c in clients {
        c.await.unwrap();
    }
    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner();
    assert!(tally.other.is_empty(), "non-200 answers: {:?}", tally.other);
    assert!(
        at_kill >= KILL_AFTER,
        "the clients stopped after {at_kill} answers, before the kill; tally's log:\n{}",
        server.log_text()
    );

    // Start again on the same data directory: the store must open (SQLite
    // recovers the WAL the killed process left behind) and serve.
    let mut restarted = start_serve(&config, &data, dir.path(), "serve-2");
    let store = SqliteStore::open(&data).unwrap();
    let events = store.recent_events(accounts.org, 100_000).await.unwrap();
    let mut recorded = HashSet::new();
    for e in &events {
        assert_eq!(e.outcome, Outcome::Success, "{e:?}");
        let tag = e.app.clone().unwrap();
        assert!(tally.sent.contains(&tag), "an event for a request never sent: {e:?}");
        assert!(recorded.insert(tag), "two events for one request: {e:?}");
    }
    let lost = tally.answered.difference(&recorded).count();
    let unanswered = recorded.difference(&tally.answered).count();
    eprintln!(
        "kill -9 under load ({CLIENTS} clients): sent {}, answered 200 {}, recorded {}, \
         lost (answered, not recorded) {lost}, recorded but never answered {unanswered}",
        tally.sent.len(),
        tally.answered.len(),
        recorded.len(),
    );
    assert!(recorded.len() <= tally.sent.len());
    assert!(
        unanswered <= CLIENTS,
        "at most the request in flight per client is recorded unanswered"
    );
    assert!(
        lost <= DEFAULT_QUEUE + MAX_BATCH,
        "lost {lost}: more than the writer's queue ({DEFAULT_QUEUE}) plus one batch ({MAX_BATCH})"
    );

    // The restarted server records again, beside the recovered events.
    let http = http();
    let resp = http
        .post(format!("{}/v1/chat/completions", restarted.url))
        .bearer_auth(&key)
        .header("x-title", "after-restart")
        .json(&json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "again"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let status = restarted.terminate();
    assert!(status.success(), "graceful stop after recovery: {status:?}");
    let after = store.recent_events(accounts.org, 100_000).await.unwrap();
    assert_eq!(after.len(), events.len() + 1);
    let ids: HashSet<_> = after.iter().map(|e| e.id).collect();
    assert!(events.iter().all(|e| ids.contains(&e.id)), "recovered events stay");
    assert!(after.iter().any(|e| e.app.as_deref() == Some("after-restart")));

    // The killed process may have left events after the rollups'
    // watermark; they are counted after the restart (and read from the raw
    // events until then), so analytics count every recorded event exactly once.
    let totals = store
        .usage(UsageQuery {
            scope: Scope::Org(accounts.org),
            from_bucket: 0,
            to_bucket: i64::MAX / 2,
            group_by: Vec::new(),
            cuts: Vec::new(),
        })
        .await
        .unwrap();
    let requests: u64 = totals.iter().map(|(_, t)| t.requests).sum();
    let cost: i64 = totals.iter().map(|(_, t)| t.cost.nanos()).sum();
    assert_eq!(requests, after.len() as u64);
    assert_eq!(cost, after.iter().map(|e| e.cost.nanos()).sum::<i64>());
}
