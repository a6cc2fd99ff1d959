//! The README's commands work as printed: every `tally …` line of its `sh`
//! blocks is run, in order, in a fresh directory (so `./tally-data` and
//! `tally.toml` are fresh too), with `<name>` placeholders filled from the
//! `name=value` lines earlier commands printed. Each must exit 0 and print
//! what its comment says (`# prints name=…`); then the store must hold
//! what the commands made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;

use support::{printed, run, tally};
use tally_core::{ApiKeyId, Email, Plan, Role};
use tally_server::KeyHasher;
use tally_store::sqlite::SqliteStore;
use tally_store::{AccountStore, BudgetStore, StoreError, WebhookStore};

const README: &str = include_str!("../../../README.md");

/// Commands the README prints that this test does not run, and why.
const NOT_RUN: &[(&str, &str)] = &[
    ("migrate", "needs a PostgreSQL server: tests/postgres.rs runs it"),
    ("serve", "a server, not a set-up command: tests/cli.rs runs it"),
    ("demo", "a server, not a set-up command: tests/cli.rs runs it"),
];

/// One printed command: its words, the line fed to its standard input (from
/// `echo '…' |`) and the output names its comment promises.
#[derive(Debug)]
struct Printed {
    words: Vec<String>,
    stdin: String,
    prints: Vec<String>,
}

/// Shell words, with single and double quotes.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn printed_commands() -> Vec<Printed> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in README.lines() {
        if let Some(fence) = line.strip_prefix("```") {
            in_sh = !in_sh && fence.trim() == "sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let (command, comment) = line.split_once(" #").unwrap_or((line, ""));
        let (stdin, command) = match command.split_once('|') {
            Some((echo, rest)) => {
                let echoed = words(echo);
                assert_eq!(echoed.first().map(String::as_str), Some("echo"), "{line}");
                (format!("{}\n", echoed[1..].join(" ")), rest)
            }
            None => (String::new(), command),
        };
        let words = words(command);
        if words.first().map(String::as_str) != Some("tally") {
            continue;
        }
        let prints = comment
            .split_whitespace()
            .skip_while(|w| *w != "prints")
            .skip(1)
            .filter_map(|w| w.split_once('=').map(|(k, _)| k.to_owned()))
            .collect();
        out.push(Printed {
            words: words[1..].to_vec(),
            stdin,
            prints,
        });
    }
    out
}

/// `w` with each `<name>` in it replaced by what an earlier command printed.
fn fill(w: &str, seen: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = w;
    while let Some((before, after)) = rest.split_once('<') {
        let Some((name, tail)) = after.split_once('>') else {
            break;
        };
        let value = seen
            .get(name)
            .unwrap_or_else(|| panic!("{w}: no earlier command printed {name}="));
        out.push_str(before);
        out.push_str(value);
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_readme_commands_work_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    // What `--config tally.toml` reads: the data directory the others use by default.
    std::fs::write(dir.path().join("tally.toml"), "data_dir = \"./tally-data\"\n").unwrap();
    let commands = printed_commands();
    let mut ran = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for c in &commands {
        if let Some((_, why)) = NOT_RUN.iter().find(|(name, _)| c.words[0] == *name) {
            assert!(!why.is_empty());
            continue;
        }
        let args: Vec<String> = c.words.iter().map(|w| fill(w, &seen)).collect();
        let printed = printed(&args, run(tally().args(&args).current_dir(dir.path()), &c.stdin));
        for name in &c.prints {
            assert!(
                printed.contains_key(name),
                "tally {args:?} printed {printed:?}, not {name}="
            );
        }
        seen.extend(printed);
        ran.push(c.words[..2].join(" "));
    }
    for expected in [
        "user create",
        "org create",
        "project create",
        "key create",
        "key limit",
        "key revoke",
        "budget create",
        "budget list",
        "webhook create",
        "events prune",
    ] {
        assert!(
            ran.iter().any(|r| r == expected),
            "the README no longer runs {expected}: {ran:?}"
        );
    }

    // What the commands say they did.
    let data = dir.path().join("tally-data");
    let store = SqliteStore::open(&data).unwrap();
    let hasher = KeyHasher::load_or_create(&data).unwrap();
    let ops = store
        .user_by_email(&Email::parse("ops@example.com").unwrap())
        .await
        .unwrap();
    let orgs = store.orgs_of_user(ops.id).await.unwrap();
    let [(org, role)] = orgs.as_slice() else {
        panic!("{orgs:?}")
    };
    assert_eq!(
        (org.name.as_str(), org.plan, *role),
        ("Example", Plan::Enterprise, Role::Owner)
    );
    assert_eq!(org.id.to_string(), seen["org_id"]);
    let projects = store.projects(org.id).await.unwrap();
    assert_eq!(projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Main"]);
    let key_id: ApiKeyId = seen["key_id"].parse().unwrap();
    let key = store.api_key(key_id).await.unwrap();
    assert_eq!((key.name.as_str(), key.created_by), ("ci", ops.id));
    assert!(key.revoked_at.is_some());
    assert!(matches!(
        store.active_key_by_hash(&hasher.hash(&seen["key"])).await,
        Err(StoreError::NotFound)
    ));
    let budgets = store.budgets(org.id).await.unwrap();
    let [budget] = budgets.as_slice() else {
        panic!("{budgets:?}")
    };
    assert_eq!(budget.id.to_string(), seen["budget_id"]);
    assert_eq!(budget.scope, tally_core::BudgetScope::Project(projects[0].id));
    assert_eq!(budget.amount.money().to_string(), "50.000000000");
    assert_eq!(
        (budget.period, budget.timezone.name()),
        (tally_core::Period::Month, "Asia/Kolkata")
    );
    assert_eq!(budget.thresholds.percents(), [50, 80, 100]);
    assert_eq!(seen["spent"], "0.000000000");
    let hooks = store.webhooks(org.id).await.unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].id.to_string(), seen["webhook_id"]);
    assert_eq!(hooks[0].url, "https://hooks.example.com/tally");
    assert!(seen["secret"].starts_with("whsec_") && seen["secret"].len() == 70);
}

#[test]
fn shell_words() {
    assert_eq!(
        words(r#"tally org create --name "Example Co" --plan 'a b' x"#),
        ["tally", "org", "create", "--name", "Example Co", "--plan", "a b", "x"]
    );
    assert_eq!(words("echo '' "), ["echo", ""]);
}
