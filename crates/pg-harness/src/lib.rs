//! Test support: a throwaway PostgreSQL server, started from the installed
//! binaries (`initdb`, `postgres`) in a temporary folder, reachable only
//! through a Unix socket in that folder, and removed when the last test
//! using it is done.
//!
//! Every test gets a database of its own ([`fresh_database`]); the tests of
//! one test binary share one server while any of them holds a database. That
//! server runs without fsync or synchronous commit; benchmarks take
//! [`durable_database`] instead, on a server of its own that keeps them.
//!
//! Finding the binaries: `TALLY_PG_BINDIR` if set, else `initdb` on `PATH`,
//! else `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`
//! (Debian's layout, which does not put them on `PATH`). Missing binaries are
//! an error naming what was searched, never a silent skip.
//!
//! Running as root (as CI does): `initdb` and `postgres` refuse to run as
//! root, so both run under an unprivileged account (`postgres` when the
//! Debian package created it, else `nobody`) through `setpriv`, which
//! changes the user ids and then *execs* the program. Unlike `su` or
//! `runuser` it leaves no intermediate process or PAM session behind, so the
//! process we spawn is the postmaster itself and stopping it is a signal to
//! that pid. The temporary folder is handed to that account (`chown`).
//!
//! Cleanup: the server is stopped (SIGQUIT, an immediate shutdown; SIGKILL
//! if it lingers) and its folder deleted when the last [`TestDb`] is
//! dropped, including when a test fails. As a safety net for a test process
//! that dies without unwinding, the postmaster is started with a parent-death
//! signal (`setpriv --pdeathsig KILL`) from a thread that lives exactly as
//! long as the server, so it cannot outlive the test process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// The superuser created by `initdb` (trust authentication, socket only).
pub const SUPERUSER: &str = "tally";

/// Why a server or database could not be had.
#[derive(Debug)]
pub struct HarnessError(pub String);

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HarnessError {}

fn fail<T>(message: impl Into<String>) -> Result<T, HarnessError> {
    Err(HarnessError(message.into()))
}

/// A database of its own on the shared throwaway server. The server stays
/// up while any `TestDb` exists.
pub struct TestDb {
    url: String,
    name: String,
    server: Arc<Server>,
}

impl TestDb {
    /// `postgresql:///t_…?host=<socket dir>&port=…&user=tally`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of another database on the same server.
    pub fn url_of(&self, database: &str) -> String {
        self.server.url(database)
    }

    /// Creates another fresh database on the same server.
    pub async fn another(&self) -> Result<TestDb, HarnessError> {
        create_database(self.server.clone()).await
    }
}

/// A fresh, empty database (`CREATE DATABASE t_<unique>`), starting the
/// shared server first when none is running.
pub async fn fresh_database() -> Result<TestDb, HarnessError> {
    database_on(shared_server).await
}

/// A fresh database on a server of its own that keeps PostgreSQL's
/// durability settings (fsync, synchronous commit and full-page writes on),
/// for benchmarks: what a production server commits. The server stops when
/// the database is dropped.
pub async fn durable_database() -> Result<TestDb, HarnessError> {
    database_on(|| Server::start(true).map(Arc::new)).await
}

/// A fresh database on the server `server` gives (started off the async
/// runtime: `initdb` and the postmaster's start block).
async fn database_on(
    server: impl FnOnce() -> Result<Arc<Server>, HarnessError> + Send + 'static,
) -> Result<TestDb, HarnessError> {
    let server = tokio::task::spawn_blocking(server)
        .await
        .map_err(|e| HarnessError(format!("starting PostgreSQL failed: {e}")))??;
    create_database(server).await
}

/// The same as [`fresh_database`], for tests: a missing PostgreSQL fails the
/// test with the reason.
#[allow(clippy::panic)]
pub async fn database() -> TestDb {
    match fresh_database().await {
        Ok(db) => db,
        Err(e) => panic!("cannot get a PostgreSQL database for this test: {e}"),
    }
}

static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn shared_server() -> Result<Arc<Server>, HarnessError> {
    // A test that panicked while holding the lock leaves it poisoned; the
    // Weak inside is still sound.
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(server) = shared.upgrade() {
        return Ok(server);
    }
    let server = Arc::new(Server::start(false)?);
    *shared = Arc::downgrade(&server);
    Ok(server)
}

async fn create_database(server: Arc<Server>) -> Result<TestDb, HarnessError> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!("t_{}_{n}_{nanos:x}", std::process::id());
    let (client, connection) = tokio_postgres::connect(&server.url("postgres"), tokio_postgres::NoTls)
        .await
        .map_err(|e| HarnessError(format!("cannot connect to the test server: {e}")))?;
    let conn = tokio::spawn(connection);
    // A natural-language (ICU) collation where the build has ICU, so that a
    // query relying on the database's collation for its order shows up as a
    // difference from SQLite; plain UTF-8 otherwise.
    let icu = format!(
        "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
    );
    if client.batch_execute(&icu).await.is_err() {
        client
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"))
            .await
            .map_err(|e| HarnessError(format!("cannot create database {name}: {e}")))?;
    }
    drop(client);
    let _ = conn.await;
    Ok(TestDb {
        url: server.url(&name),
        name,
        server,
    })
}

/// A running postmaster in its own temporary folder.
struct Server {
    pid: u32,
    port: u16,
    socket_dir: PathBuf,
    /// Set by the keeper thread when the postmaster has exited.
    exited: Arc<Mutex<Option<std::process::ExitStatus>>>,
    keeper: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Removed (with the data and the socket) after the server stopped.
    _dir: tempfile::TempDir,
}

impl Server {
    fn url(&self, database: &str) -> String {
        format!(
            "postgresql:///{database}?host={}&port={}&user={SUPERUSER}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// A new server; `durable` keeps PostgreSQL's own durability settings
    /// (fsync, synchronous commit, full-page writes) and gives it 256 MB of
    /// shared buffers, for benchmarks; otherwise they are off, for tests.
    fn start(durable: bool) -> Result<Server, HarnessError> {
        let bin = find_bindir()?;
        let run_as = if effective_uid()? == 0 {
            Some(unprivileged_account()?)
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("tally-pg-")
            .tempdir()
            .map_err(|e| HarnessError(format!("cannot create a temporary folder: {e}")))?;
        if let Some(account) = &run_as {
            std::os::unix::fs::chown(dir.path(), Some(account.uid), Some(account.gid))
                .map_err(|e| HarnessError(format!("cannot hand {} to {}: {e}", dir.path().display(), account.name)))?;
        }
        let data = dir.path().join("data");
        let log = dir.path().join("postgres.log");

        let initdb_log = dir.path().join("initdb.log");
        let status = wrapped(&run_as, false, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(create(&initdb_log)?))
            .stderr(Stdio::from(create(&initdb_log)?.try_clone().map_err(io("log"))?))
            .status()
            .map_err(|e| HarnessError(format!("cannot run {}: {e}", bin.join("initdb").display())))?;
        if !status.success() {
            return fail(format!(
                "initdb failed ({status}):\n{}",
                std::fs::read_to_string(&initdb_log).unwrap_or_default()
            ));
        }

        // The port only names the socket (`.s.PGSQL.<port>`) and keys the
        // server's System V shared memory: no TCP is opened. A currently
        // free TCP port number keeps it distinct from other servers anyway.
        let port = free_port()?;
        let mut cmd = wrapped(&run_as, true, &bin.join("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses="])
            .args(if durable {
                &[][..]
            } else {
                &[
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ][..]
            })
            .args(["-c", "max_connections=200", "-c"])
            .arg(if durable {
                "shared_buffers=256MB"
            } else {
                "shared_buffers=32MB"
            })
            .stdin(Stdio::null())
            .stdout(Stdio::from(create(&log)?))
            .stderr(Stdio::from(create(&log)?.try_clone().map_err(io("log"))?));

        // The keeper thread spawns the postmaster and waits for it, so the
        // parent-death signal fires exactly when this process goes away.
        let exited = Arc::new(Mutex::new(None));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let keeper_exited = exited.clone();
        let keeper = std::thread::Builder::new()
            .name("postgres-keeper".into())
            .spawn(move || match cmd.spawn() {
                Ok(mut child) => {
                    let _ = started_tx.send(Ok(child.id()));
                    let status = child.wait();
                    if let Ok(mut slot) = keeper_exited.lock() {
                        *slot = status.ok();
                    }
                }
                Err(e) => {
                    let _ = started_tx.send(Err(e.to_string()));
                }
            })
            .map_err(|e| HarnessError(format!("cannot start a thread: {e}")))?;
        let pid = match started_rx.recv() {
            Ok(Ok(pid)) => pid,
            Ok(Err(e)) => return fail(format!("cannot run {}: {e}", bin.join("postgres").display())),
            Err(_) => return fail("the postgres keeper thread ended early"),
        };
        let server = Server {
            pid,
            port,
            socket_dir: dir.path().to_owned(),
            exited,
            keeper: Mutex::new(Some(keeper)),
            _dir: dir,
        };
        server.wait_ready(&data, &log)?;
        Ok(server)
    }

    /// Polls `postmaster.pid`, whose status line reads `ready` once the
    /// server accepts connections, with a deadline.
    fn wait_ready(&self, data: &Path, log: &Path) -> Result<(), HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.exited.lock().ok().and_then(|s| *s) {
                return fail(format!(
                    "postgres exited during start-up ({status}):\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            let pidfile = std::fs::read_to_string(data.join("postmaster.pid")).unwrap_or_default();
            if pidfile.lines().nth(7).is_some_and(|l| l.trim() == "ready") {
                return Ok(());
            }
            if Instant::now() > deadline {
                return fail(format!(
                    "postgres did not become ready within 60 s:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn has_exited(&self) -> bool {
        self.exited.lock().map(|s| s.is_some()).unwrap_or(true)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Immediate shutdown: nothing here needs to survive.
        signal(self.pid, "QUIT");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.has_exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !self.has_exited() {
            signal(self.pid, "KILL");
        }
        if let Some(keeper) = self.keeper.lock().ok().and_then(|mut k| k.take()) {
            let _ = keeper.join();
        }
        // The TempDir field is dropped after this: the folder goes.
    }
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> HarnessError {
    move |e| HarnessError(format!("{what}: {e}"))
}

fn create(path: &Path) -> Result<std::fs::File, HarnessError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| HarnessError(format!("cannot create {}: {e}", path.display())))
}

/// `program`, run as `account` when given (through `setpriv`), with a
/// parent-death signal when `pdeathsig` is set and `setpriv` is available.
fn wrapped(account: &Option<Account>, pdeathsig: bool, program: &Path) -> Command {
    let setpriv = which("setpriv");
    match (account, setpriv) {
        (Some(account), Some(setpriv)) => {
            let mut cmd = Command::new(setpriv);
            cmd.arg(format!("--reuid={}", account.uid))
                .arg(format!("--regid={}", account.gid))
                .arg("--clear-groups");
            if pdeathsig {
                cmd.arg("--pdeathsig=KILL");
            }
            cmd.arg("--").arg(program);
            cmd
        }
        (None, Some(setpriv)) if pdeathsig => {
            let mut cmd = Command::new(setpriv);
            cmd.arg("--pdeathsig=KILL").arg("--").arg(program);
            cmd
        }
        // As root without setpriv the program itself refuses and says so.
        _ => Command::new(program),
    }
}

struct Account {
    name: String,
    uid: u32,
    gid: u32,
}

/// `postgres` (created by Debian's package) or else `nobody`.
fn unprivileged_account() -> Result<Account, HarnessError> {
    if which("setpriv").is_none() {
        return fail(
            "running as root, and initdb/postgres refuse root: `setpriv` (util-linux) is needed to run them \
             as an unprivileged user",
        );
    }
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(io("/etc/passwd"))?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4
                && fields[0] == wanted
                && let (Ok(uid), Ok(gid)) = (fields[2].parse::<u32>(), fields[3].parse::<u32>())
                && uid != 0
            {
                return Ok(Account {
                    name: wanted.to_owned(),
                    uid,
                    gid,
                });
            }
        }
    }
    fail("running as root and found neither a `postgres` nor a `nobody` account to run PostgreSQL as")
}

fn effective_uid() -> Result<u32, HarnessError> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(io("/proc/self/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| HarnessError("cannot read the effective uid from /proc/self/status".into()))
}

fn free_port() -> Result<u16, HarnessError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("picking a port"))?;
    Ok(listener.local_addr().map_err(io("picking a port"))?.port())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The folder holding `initdb` and `postgres`.
pub fn find_bindir() -> Result<PathBuf, HarnessError> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    let mut searched = Vec::new();
    if let Some(dir) = std::env::var_os("TALLY_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        if has_both(&dir) {
            return Ok(dir);
        }
        return fail(format!(
            "TALLY_PG_BINDIR={} does not hold both initdb and postgres",
            dir.display()
        ));
    }
    if let Some(dir) = which("initdb").and_then(|p| p.parent().map(Path::to_owned)) {
        if has_both(&dir) {
            return Ok(dir);
        }
        searched.push(dir.display().to_string());
    } else {
        searched.push("PATH".to_owned());
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").stderr(Stdio::null()).output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_both(&dir) {
            return Ok(dir);
        }
        searched.push(dir.display().to_string());
    } else {
        searched.push("pg_config --bindir".to_owned());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, dir)| has_both(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    searched.push("/usr/lib/postgresql/*/bin".to_owned());
    fail(format!(
        "PostgreSQL server binaries (initdb and postgres) not found; searched {}. \
         Install them (Debian: `apt-get install -y postgresql`) or set TALLY_PG_BINDIR",
        searched.join(", ")
    ))
}
