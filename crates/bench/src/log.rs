//! The request log on the queries dataset: first pages over 30 days (plain,
//! filtered by model and by outcome, by cost), one request's detail, and the
//! streamed export's rows per second with the process's peak memory.

use std::time::Instant;

use futures_util::StreamExt;

use crate::stats::{Samples, ms};

/// The peak resident memory of this process (the server runs in it), MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn get(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<serde_json::Value> {
    let resp = client.get(url).bearer_auth(token).send().await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    if !status.is_success() {
        anyhow::bail!("{url}: {status} {}", String::from_utf8_lossy(&body));
    }
    Ok(serde_json::from_slice(&body)?)
}

async fn timed(client: &reqwest::Client, url: &str, token: &str, reps: u32) -> anyhow::Result<(Samples, usize)> {
    let mut samples = Samples::default();
    let mut rows = 0;
    for rep in 0..=reps {
        let began = Instant::now();
        let v = get(client, url, token).await?;
        if rep > 0 {
            samples.push(began.elapsed());
        }
        rows = v["data"].as_array().map_or(1, Vec::len);
    }
    Ok((samples, rows))
}

pub async fn measure(
    client: &reqwest::Client,
    base: &str,
    project: &str,
    token: &str,
    reps: u32,
    export_days: i64,
) -> anyhow::Result<()> {
    let today = jiff::Zoned::now().date();
    let from = today.checked_sub(jiff::Span::new().days(29))?;
    let scope = format!("{base}/api/activity?projectId={project}&from={from}&to={today}");
    let first = get(client, &scope, token).await?;
    let model = first["data"][0]["model"].as_str().unwrap_or("gpt-4o").to_owned();
    let id = first["data"][0]["id"].as_str().unwrap_or_default().to_owned();
    println!("| request log (project, 30 d) | p50 | p95 | rows |");
    println!("|---|---|---|---|");
    for (name, url) in [
        ("first page, newest", scope.clone()),
        ("first page, model filter", format!("{scope}&model={model}")),
        (
            "first page, outcome=upstream_error",
            format!("{scope}&outcome=upstream_error"),
        ),
        (
            "first page, outcome=gateway_error,canceled",
            format!("{scope}&outcome=gateway_error,canceled"),
        ),
        ("first page, most expensive", format!("{scope}&sort=cost")),
        ("first page, slowest", format!("{scope}&sort=latency")),
        ("page 20, newest (cursor)", String::new()),
        ("detail of one request", format!("{base}/api/activity/{id}")),
    ] {
        let url = if url.is_empty() {
            // Follow 19 cursors, then time the 20th page.
            let mut cursor = String::new();
            for _ in 0..19 {
                let v = get(client, &format!("{scope}&limit=200{cursor}"), token).await?;
                cursor = format!("&cursor={}", v["nextCursor"].as_str().unwrap_or_default());
            }
            format!("{scope}&limit=200{cursor}")
        } else {
            url
        };
        let (mut s, rows) = timed(client, &url, token, reps).await?;
        println!("| {name} | {} | {} | {rows} |", ms(s.pct(50.0)), ms(s.pct(95.0)));
    }

    let from = today.checked_sub(jiff::Span::new().days(export_days - 1))?;
    let url = format!("{base}/api/activity/export.csv?projectId={project}&from={from}&to={today}");
    let before = peak_rss_mib();
    let began = Instant::now();
    let resp = client.get(&url).bearer_auth(token).send().await?;
    let mut body = resp.bytes_stream();
    let (mut lines, mut bytes) = (0_u64, 0_u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let secs = began.elapsed().as_secs_f64();
    let rows = lines.saturating_sub(1);
    println!(
        "export.csv, project, {export_days} d: {rows} rows, {:.1} MiB in {secs:.2} s: {:.0} rows/s; peak RSS of the process {before:.0} MiB before, {:.0} MiB after",
        bytes as f64 / (1024.0 * 1024.0),
        rows as f64 / secs,
        peak_rss_mib()
    );
    Ok(())
}
