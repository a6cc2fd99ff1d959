//! Gateway overhead: the same open-loop load sent straight to the mock
//! provider, through a pass-through proxy (`passthrough.rs`: the floor any
//! gateway pays here) and through tally (recording on, embedded store),
//! interleaved in slices after a warm-up. Each runs as its own process
//! (`tally mock-provider`, `tally-bench passthrough`, `tally serve`), so the
//! gateway's RSS is its own.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::cpu::process_seconds;
use crate::stats::{Samples, ms, us};

#[derive(clap::Args)]
pub struct Args {
    /// The tally binary (build it with `cargo build --release -p tally`).
    #[arg(long, default_value = "target/release/tally")]
    tally: PathBuf,
    /// Fixed rates to measure, requests per second.
    #[arg(long, value_delimiter = ',', default_value = "500,2000,5000")]
    rates: Vec<u32>,
    /// Seconds per slice; slices alternate direct / gateway.
    #[arg(long, default_value_t = 3)]
    slice_secs: u64,
    /// Slices of each kind per rate.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Rate of the streaming measurement.
    #[arg(long, default_value_t = 500)]
    stream_rate: u32,
    /// Also search for the highest sustainable rate.
    #[arg(long)]
    find_max: bool,
    /// Run the gateway on these CPUs only (`taskset -c LIST`), e.g. `1`
    /// with the benchmark itself started under `taskset -c 0`, so the load
    /// generator and the mock do not share the gateway's core.
    #[arg(long)]
    gateway_cpus: Option<String>,
    /// The layers of the pass-through proxy (`passthrough --stack`):
    /// tally's by default.
    #[arg(long, value_enum, default_value_t = crate::passthrough::Stack::AxumReqwest)]
    floor_stack: crate::passthrough::Stack,
    /// Label every request as clients do: an OpenAI `user` and an
    /// `x-tally-tags` header (the same on all three paths).
    #[arg(long)]
    labels: bool,
    /// Spend controls against their absence in one run: the pass-through
    /// is replaced by a second tally without them, and the measured tally
    /// has three blocking budgets (organization, project, key; never
    /// reached) and both rate limits (never reached) on every request.
    #[arg(long)]
    controls: bool,
}

/// The tags `--labels` sends.
const TAGS: &str = "team=search,feature=rerank";

const PROVIDER_KEY: &str = "bench-provider-key";

struct Proc {
    child: Child,
    url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Starts a command and waits for its "… is listening on http://ADDR/" line.
fn start(mut cmd: Command) -> anyhow::Result<Proc> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start process")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let Some(line) = lines.next() else {
            bail!("process exited before listening")
        };
        let line = line?;
        if let Some(rest) = line.split("is listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines.by_ref() {});
    Ok(Proc { child, url })
}

fn admin(tally: &PathBuf, data: &std::path::Path, args: &[&str], stdin: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut child = Command::new(tally)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child.stdin.take().context("stdin")?.write_all(stdin.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("{args:?} failed");
    }
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn get(pairs: &[(String, String)], key: &str) -> anyhow::Result<String> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .context("missing output")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[derive(Clone)]
struct Target {
    url: String,
    key: String,
    body: Value,
    /// The `x-tally-tags` header, when labelling.
    tags: Option<&'static str>,
}

struct Outcome {
    latency: Samples,
    ttft: Samples,
    errors: u64,
    sent: u64,
    elapsed: Duration,
}

/// Open loop: request `i` is due at `start + i / rate`; latency is measured
/// from when it was due, so a gateway that falls behind is charged for it.
/// Requests are started by a pacing thread that sleeps until each one is
/// due (the kernel's timer, tens of microseconds late at most) rather than
/// by tokio timers, whose millisecond ticks would send them in bursts.
async fn slice(client: &reqwest::Client, target: &Target, rate: u32, secs: u64, stream: bool) -> Outcome {
    let n = u64::from(rate) * secs;
    let target = Arc::new(target.clone());
    let client = client.clone();
    let runtime = tokio::runtime::Handle::current();
    let began = Instant::now();
    let paced = tokio::task::spawn_blocking(move || {
        let start = Instant::now() + Duration::from_millis(20);
        let mut tasks = Vec::with_capacity(n as usize);
        for i in 0..n {
            let due = start + Duration::from_secs_f64(i as f64 / f64::from(rate));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let (client, target) = (client.clone(), target.clone());
            tasks.push(runtime.spawn(request(client, target, due)));
        }
        tasks
    });
    let tasks = paced.await.unwrap_or_default();
    let mut out = Outcome {
        latency: Samples::default(),
        ttft: Samples::default(),
        errors: 0,
        sent: n,
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        match t.await.ok().flatten() {
            Some((latency, ttft)) => {
                out.latency.push(latency);
                if stream {
                    out.ttft.push(ttft);
                }
            }
            None => out.errors += 1,
        }
    }
    out.elapsed = began.elapsed();
    out
}

/// One request; its latency and time to first byte, counted from `due`.
async fn request(client: reqwest::Client, target: Arc<Target>, due: Instant) -> Option<(Duration, Duration)> {
    let mut builder = client.post(&target.url).bearer_auth(&target.key).json(&target.body);
    if let Some(tags) = target.tags {
        builder = builder.header("x-tally-tags", tags);
    }
    let sent = builder.send().await;
    let Ok(resp) = sent else { return None };
    if !resp.status().is_success() {
        return None;
    }
    let mut body = resp.bytes_stream();
    let first = body.next().await;
    let ttft = due.elapsed();
    let mut ok = matches!(first, Some(Ok(_)));
    while let Some(chunk) = body.next().await {
        ok &= chunk.is_ok();
    }
    ok.then(|| (due.elapsed(), ttft))
}

/// What one proxy (the pass-through or tally) showed at a rate.
#[derive(Default)]
struct Through {
    latency: Samples,
    ttft: Samples,
    errors: u64,
    sent: u64,
    /// Highest RSS seen after a slice.
    rss_kib: u64,
    /// CPU seconds the proxy used in the timed slices.
    cpu: f64,
    /// Requests per second answered, per slice.
    achieved: Vec<f64>,
}

impl Through {
    /// A timed slice through the proxy with process id `pid`.
    async fn slice(&mut self, client: &reqwest::Client, target: &Target, pid: u32, rate: u32, secs: u64, stream: bool) {
        let cpu = process_seconds(pid);
        let o = slice(client, target, rate, secs, stream).await;
        self.cpu += process_seconds(pid) - cpu;
        self.rss_kib = self.rss_kib.max(rss_kib(pid));
        self.achieved
            .push((o.sent - o.errors) as f64 / o.elapsed.as_secs_f64().max(secs as f64));
        self.errors += o.errors;
        self.sent += o.sent;
        self.latency.extend(o.latency);
        self.ttft.extend(o.ttft);
    }
}

struct Row {
    rate: u32,
    direct: Samples,
    direct_ttft: Samples,
    floor: Through,
    gateway: Through,
}

/// The three paths a load goes: straight to the mock, through the
/// pass-through proxy, through tally.
struct Paths {
    direct: Target,
    floor: Target,
    gateway: Target,
    floor_pid: u32,
    gateway_pid: u32,
}

async fn measure(client: &reqwest::Client, paths: &Paths, rate: u32, a: &Args, stream: bool) -> Row {
    // Warm-up: connections, caches, the writer.
    for t in [&paths.direct, &paths.floor, &paths.gateway] {
        slice(client, t, rate, 1, stream).await;
    }
    let mut row = Row {
        rate,
        direct: Samples::default(),
        direct_ttft: Samples::default(),
        floor: Through::default(),
        gateway: Through::default(),
    };
    let secs = a.slice_secs;
    for _ in 0..a.rounds {
        let d = slice(client, &paths.direct, rate, secs, stream).await;
        row.direct.extend(d.latency);
        row.direct_ttft.extend(d.ttft);
        row.floor
            .slice(client, &paths.floor, paths.floor_pid, rate, secs, stream)
            .await;
        row.gateway
            .slice(client, &paths.gateway, paths.gateway_pid, rate, secs, stream)
            .await;
    }
    row
}

/// The names of the two proxies: the floor's and the measured tally's.
fn names(a: &Args) -> [&'static str; 2] {
    if a.controls {
        ["tally", "tally + controls"]
    } else {
        ["passthrough", "tally"]
    }
}

fn print_row(r: &mut Row, stream: bool, [floor, tally]: [&str; 2]) {
    let d = if stream { &mut r.direct_ttft } else { &mut r.direct };
    let (f, g) = if stream {
        (&mut r.floor.ttft, &mut r.gateway.ttft)
    } else {
        (&mut r.floor.latency, &mut r.gateway.latency)
    };
    let three = |p: f64, d: &mut Samples, f: &mut Samples, g: &mut Samples| {
        format!("{} / {} / {}", us(d.pct(p)), us(f.pct(p)), us(g.pct(p)))
    };
    let added = |p: f64, d: &mut Samples, x: &mut Samples| us(x.pct(p).saturating_sub(d.pct(p)));
    let achieved = r.gateway.achieved.iter().sum::<f64>() / r.gateway.achieved.len().max(1) as f64;
    println!(
        "| {} | {} | {} | {} | {} | {} / {} / {} | {} / {} | {:.0} | {} | {:.1} MiB |",
        r.rate,
        if stream { "stream (TTFT)" } else { "whole" },
        three(50.0, d, f, g),
        three(90.0, d, f, g),
        three(99.0, d, f, g),
        ms(d.pct(100.0)),
        ms(f.pct(100.0)),
        ms(g.pct(100.0)),
        us(f.mean().saturating_sub(d.mean())),
        us(g.mean().saturating_sub(d.mean())),
        achieved,
        r.gateway.errors,
        r.gateway.rss_kib as f64 / 1024.0,
    );
    for (name, x) in [(floor, &mut *f), (tally, &mut *g)] {
        println!(
            "|   | added by {name} | p50 {} | p90 {} | p99 {} | | | | | |",
            added(50.0, d, x),
            added(90.0, d, x),
            added(99.0, d, x),
        );
    }
    let per_request = |cpu: f64, sent: u64| us(Duration::from_secs_f64(cpu / sent.max(1) as f64));
    println!(
        "|   | CPU per request | {floor} {} | {tally} {} | | | | | | {floor} {:.1} MiB |",
        per_request(r.floor.cpu, r.floor.sent),
        per_request(r.gateway.cpu, r.gateway.sent),
        r.floor.rss_kib as f64 / 1024.0,
    );
}

/// A user, organization, project and key in `data`; with `controls`, three
/// blocking budgets that are never reached and the key's two rate limits.
/// The key's secret, and a line saying what was set.
fn accounts(tally: &PathBuf, data: &std::path::Path, controls: bool) -> anyhow::Result<(String, String)> {
    const EMAIL: &str = "bench@example.com";
    admin(
        tally,
        data,
        &["user", "create", "--email", EMAIL, "--name", "Bench"],
        "bench-password\n",
    )?;
    let org = admin(
        tally,
        data,
        &[
            "org",
            "create",
            "--name",
            "Bench",
            "--plan",
            "enterprise",
            "--owner",
            EMAIL,
        ],
        "",
    )?;
    let org = get(&org, "org_id")?;
    let project = admin(tally, data, &["project", "create", "--org", &org, "--name", "P"], "")?;
    let project = get(&project, "project_id")?;
    let key = admin(
        tally,
        data,
        &[
            "key",
            "create",
            "--project",
            &project,
            "--name",
            "bench",
            "--created-by",
            EMAIL,
        ],
        "",
    )?;
    let (secret, key_id) = (get(&key, "key")?, get(&key, "key_id")?);
    if !controls {
        return Ok((secret, String::new()));
    }
    for scope in [
        "organization".to_owned(),
        format!("project:{project}"),
        format!("api-key:{key_id}"),
    ] {
        admin(
            tally,
            data,
            &[
                "budget",
                "create",
                "--org",
                &org,
                "--scope",
                &scope,
                "--amount",
                "1000000",
                "--period",
                "month",
                "--timezone",
                "Asia/Kolkata",
                "--action",
                "block",
                "--thresholds",
                "50,80,100",
                "--created-by",
                EMAIL,
            ],
            "",
        )?;
    }
    let limits = [
        "--requests-per-minute",
        "1000000000",
        "--tokens-per-minute",
        "1000000000",
    ];
    let mut args = vec!["key", "limit", "--key", key_id.as_str()];
    args.extend(limits);
    admin(tally, data, &args, "")?;
    Ok((
        secret,
        "controls: 3 blocking budgets (organization, project, key; 1,000,000 USD a month, Asia/Kolkata) and 1e9 requests and tokens a minute on the measured tally's key".to_owned(),
    ))
}

/// `program`, under `taskset -c CPUS` when given (taskset execs it, so
/// the pid stays the program's).
fn pinned(cpus: &Option<String>, program: &std::path::Path) -> Command {
    match cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

pub async fn run(a: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut mock_cmd = Command::new(&a.tally);
    mock_cmd.args(["mock-provider", "--listen", "127.0.0.1:0", "--api-key", PROVIDER_KEY]);
    let mock = start(mock_cmd)?;
    let config = dir.path().join("tally.toml");
    std::fs::write(
        &config,
        format!(
            "log = \"warn\"\n[providers.openai]\nkind = \"openai\"\nbase_url = \"{}/v1\"\napi_key_env = \"BENCH_PROVIDER_KEY\"\n",
            mock.url
        ),
    )?;
    let data = dir.path().join("data");
    let (key, controls) = accounts(&a.tally, &data, a.controls)?;
    let mut serve = pinned(&a.gateway_cpus, &a.tally);
    serve
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .env("BENCH_PROVIDER_KEY", PROVIDER_KEY);
    let gateway_proc = start(serve)?;
    // With --controls the floor is tally itself, without them.
    let plain = dir.path().join("plain");
    let floor_key = if a.controls {
        accounts(&a.tally, &plain, false)?.0
    } else {
        String::new()
    };
    let floor_proc = if a.controls {
        let mut plain_serve = pinned(&a.gateway_cpus, &a.tally);
        plain_serve
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&plain)
            .env("BENCH_PROVIDER_KEY", PROVIDER_KEY);
        start(plain_serve)?
    } else {
        let mut floor_cmd = pinned(&a.gateway_cpus, &std::env::current_exe()?);
        floor_cmd.args(["passthrough", "--upstream", &mock.url, "--api-key", PROVIDER_KEY]);
        if let Some(stack) = clap::ValueEnum::to_possible_value(&a.floor_stack) {
            floor_cmd.args(["--stack", stack.get_name()]);
        }
        start(floor_cmd)?
    };
    if a.controls {
        println!("{controls}");
    }

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()?;
    let body = |model: &str, stream: bool| {
        let mut b = json!({"model": model, "stream": stream, "max_tokens": 8, "messages": [{"role": "user", "content": "Say hello."}]});
        if a.labels {
            b["user"] = json!("customer-042");
        }
        b
    };
    let tags = a.labels.then_some(TAGS);
    let paths = |stream: bool| Paths {
        direct: Target {
            url: format!("{}/v1/chat/completions", mock.url),
            key: PROVIDER_KEY.into(),
            body: body("gpt-4o-mini", stream),
            tags,
        },
        floor: Target {
            url: format!("{}/v1/chat/completions", floor_proc.url),
            key: if a.controls { floor_key.clone() } else { "unused".into() },
            body: body(
                if a.controls {
                    "openai/gpt-4o-mini"
                } else {
                    "gpt-4o-mini"
                },
                stream,
            ),
            tags,
        },
        gateway: Target {
            url: format!("{}/v1/chat/completions", gateway_proc.url),
            key: key.clone(),
            body: body("openai/gpt-4o-mini", stream),
            tags,
        },
        floor_pid: floor_proc.child.id(),
        gateway_pid: gateway_proc.child.id(),
    };

    let [floor_name, tally_name] = names(&a);
    println!(
        "| rate (req/s) | kind | p50 direct / {floor_name} / {tally_name} | p90 | p99 | max | mean added {floor_name} / {tally_name} | {tally_name} achieved req/s | errors | {tally_name} RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let whole = paths(false);
    for &rate in &a.rates {
        let mut row = measure(&client, &whole, rate, &a, false).await;
        print_row(&mut row, false, names(&a));
    }
    let mut row = measure(&client, &paths(true), a.stream_rate, &a, true).await;
    print_row(&mut row, true, names(&a));
    let gateway = whole.gateway;

    if a.find_max {
        // Upwards from the lowest fixed rate, by a quarter each step.
        let mut rate = a.rates.iter().copied().min().unwrap_or(500);
        let mut best = 0;
        loop {
            let g = slice(&client, &gateway, rate, a.slice_secs, false).await;
            let mut lat = g.latency;
            let ok_rate = (g.sent - g.errors) as f64 / g.elapsed.as_secs_f64().max(a.slice_secs as f64);
            let sustained = g.errors * 1000 <= g.sent
                && ok_rate >= 0.95 * f64::from(rate)
                && lat.pct(99.0) < Duration::from_millis(50);
            println!(
                "max-rate probe: {rate} req/s → achieved {ok_rate:.0}, p99 {}, errors {} → {}",
                ms(lat.pct(99.0)),
                g.errors,
                if sustained { "sustained" } else { "not sustained" }
            );
            if !sustained {
                break;
            }
            best = rate;
            rate = rate * 5 / 4;
        }
        println!("highest sustained rate (p99 < 50 ms, ≥ 95 % achieved, ≤ 0.1 % errors): {best} req/s");
    }
    drop(gateway_proc);
    drop(floor_proc);
    drop(mock);
    Ok(())
}
