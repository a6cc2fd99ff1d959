//! CPU time of this process's threads, by thread name, from `/proc` (Linux):
//! what each part of the store costs per event, a steadier measure than
//! throughput on a shared machine.

use std::collections::BTreeMap;

/// CPU seconds (user + system) per thread name, and for the whole process.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    by_name: BTreeMap<String, f64>,
    process: f64,
}

/// Clock ticks per second of `/proc`'s times (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
const TICKS: f64 = 100.0;

/// User + system ticks from a `stat` line (fields 14 and 15, after the name).
fn ticks(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS)
}

/// CPU seconds in the `stat` file of a process or thread folder of `/proc`.
fn seconds_in(dir: &std::path::Path) -> Option<f64> {
    std::fs::read_to_string(dir.join("stat"))
        .ok()
        .as_deref()
        .and_then(ticks)
}

/// CPU seconds (user + system) used so far by process `pid`; 0 where
/// `/proc` cannot be read.
pub fn process_seconds(pid: u32) -> f64 {
    seconds_in(std::path::Path::new(&format!("/proc/{pid}"))).unwrap_or(0.0)
}

/// CPU seconds used so far by the processes named `name` (their `comm`),
/// living ones only: e.g. a PostgreSQL server's backends.
pub fn processes_named(name: &str) -> f64 {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    procs
        .flatten()
        .filter(|p| p.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| std::fs::read_to_string(p.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|p| seconds_in(&p.path()))
        .sum()
}

impl Snapshot {
    /// Now; empty where `/proc` cannot be read.
    pub fn take() -> Snapshot {
        let mut snap = Snapshot {
            process: seconds_in(std::path::Path::new("/proc/self")).unwrap_or(0.0),
            ..Snapshot::default()
        };
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return snap;
        };
        for task in tasks.flatten() {
            let dir = task.path();
            let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let Some(t) = seconds_in(&dir) else {
                continue;
            };
            *snap.by_name.entry(name.trim().to_owned()).or_default() += t;
        }
        snap
    }

    /// CPU microseconds per event since `before`, busiest thread names first,
    /// e.g. `process 21.3 µs (tally-rollups 11.0, tokio-runtime-w 7.9, ...)`.
    pub fn per_event_since(&self, before: &Snapshot, events: u64) -> String {
        let per = |s: f64| s * 1e6 / events.max(1) as f64;
        let mut threads: Vec<(&String, f64)> = self
            .by_name
            .iter()
            .map(|(n, t)| (n, t - before.by_name.get(n).copied().unwrap_or(0.0)))
            .filter(|(_, t)| *t > 0.0)
            .collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        let list: Vec<String> = threads.iter().map(|(n, t)| format!("{n} {:.1}", per(*t))).collect();
        format!(
            "process {:.1} µs ({})",
            per(self.process - before.process),
            list.join(", ")
        )
    }
}
