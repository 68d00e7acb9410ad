//! A throwaway PostgreSQL for the test suite.
//!
//! Every storage test runs on SQLite and on PostgreSQL. [`fresh_database`]
//! hands each test its own empty PostgreSQL database, from one of:
//!
//! 1. nothing, when `RELATA_SKIP_PG` is `1`/`true`/`yes`/`on` (the caller
//!    skips the PostgreSQL half, and a `SKIPPED:` line says so, see
//!    [`crate::skip`]; refused when `CI` is set, CI never skips);
//! 2. the server named by `RELATA_TEST_PG_URL` (a URL of a maintenance
//!    database, for example `postgres://postgres:pw@localhost:5432/postgres`);
//! 3. otherwise a shared throwaway cluster that this module provisions itself
//!    from the PostgreSQL server binaries installed on the machine.
//!
//! The throwaway cluster lives in `<temp dir>/relata-test-pg-<uid>/`:
//! `data/` is the cluster, `lock` serialises start-up across test processes,
//! `postgres.log` is the server log, and the server listens only on the Unix
//! socket `.s.PGSQL.5432` in that directory (no TCP), with `trust`
//! authentication for the superuser `postgres`. The directory is private
//! (mode 0700). When the tests run as root, the cluster runs as the
//! `postgres` system user (`initdb` refuses root) and the directory belongs
//! to it. The cluster keeps running after the tests so that later test
//! processes reuse it; `.ci/run` stops it, or by hand:
//! `pg_ctl -D <temp dir>/relata-test-pg-<uid>/data stop -m fast`
//! (as `postgres` when root).
//!
//! The database URL handed out for the throwaway cluster has the form
//! `postgres://postgres@localhost:5432/relata_t_<uuid>?host=<socket dir>`,
//! which sqlx and libpq both read as "Unix socket in `<socket dir>`".

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context as _};
use fs2::FileExt as _;
use sqlx::{Connection as _, Executor as _, PgConnection, Row as _};
use tokio::sync::OnceCell;

/// Port of the throwaway cluster. It only names the socket file
/// (`.s.PGSQL.5432`) in the private directory, so it cannot clash with
/// another server.
const PORT: u16 = 5432;

/// Prefix of every database this module creates.
const DB_PREFIX: &str = "relata_t_";

/// Databases of this harness older than this are dropped (when unused) the
/// first time a test process reaches the server, so that repeated local runs
/// do not fill the disk. On the throwaway cluster, the databases of test
/// processes that have ended are dropped then too, whatever their age (the
/// maker's process id is part of the name).
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// Set to 1/true/yes/on: the PostgreSQL half of every test is skipped.
pub const SKIP_VAR: &str = "RELATA_SKIP_PG";

/// What to tell someone whose machine cannot run the PostgreSQL half.
const HOW_TO_FIX: &str = "\
The Relata test suite runs every storage test on SQLite and on PostgreSQL. To provide PostgreSQL, do one of:
  * install the PostgreSQL server binaries, e.g. `apt-get install postgresql` (Debian/Ubuntu; any version, \
the tests start a private throwaway cluster from /usr/lib/postgresql/<version>/bin or `pg_config --bindir`);
  * set RELATA_TEST_PG_URL to a server the tests may create databases on, \
e.g. RELATA_TEST_PG_URL=postgres://postgres:secret@localhost:5432/postgres;
  * set RELATA_SKIP_PG=1 to skip the PostgreSQL half of the tests (local use only, never in CI).";

/// A fresh, empty PostgreSQL database URL for one test, or an error saying how to fix the environment.
///
/// `Ok(None)` means `RELATA_SKIP_PG` is set (the skip is reported): the caller skips the PostgreSQL half of the test.
/// Each call creates a new database `relata_t_<uuid>` (from `template1`); it is not
/// dropped by this process, but by the next one (see [`STALE_AFTER`]).
pub async fn fresh_database() -> anyhow::Result<Option<String>> {
    if crate::skip::requested(SKIP_VAR) {
        crate::skip::report(SKIP_VAR, "the PostgreSQL half of this test")?;
        return Ok(None);
    }
    let server = server().await?;
    let name = format!("{DB_PREFIX}{}_p{}", uuid::Uuid::now_v7().simple(), std::process::id());
    let mut conn = connect(&server.admin_url).await?;
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await
        .with_context(|| format!("CREATE DATABASE {name} on {}", server.describe()))?;
    conn.close().await.ok();
    Ok(Some(server.database_url(&name)))
}

/// Where [`fresh_database`] creates its databases, checked once per process.
struct Server {
    /// URL of the maintenance database, used to create databases.
    admin_url: String,
    /// Where the URL came from, for error messages.
    origin: Origin,
}

enum Origin {
    /// `RELATA_TEST_PG_URL`.
    Env,
    /// The throwaway cluster with its socket in this directory.
    Throwaway(PathBuf),
}

impl Server {
    fn describe(&self) -> String {
        match &self.origin {
            Origin::Env => format!("the server of RELATA_TEST_PG_URL ({})", redact(&self.admin_url)),
            Origin::Throwaway(dir) => format!("the throwaway cluster in {}", dir.display()),
        }
    }

    fn database_url(&self, name: &str) -> String {
        match &self.origin {
            Origin::Env => with_database(&self.admin_url, name),
            Origin::Throwaway(dir) => socket_url(dir, name),
        }
    }
}

/// The server, found or started once per process. A failure is remembered
/// too, so every test of the process reports the same message quickly.
async fn server() -> anyhow::Result<&'static Server> {
    static SERVER: OnceCell<Result<Server, String>> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async { find_server().await.map_err(|e| format!("{e:#}")) })
        .await
        .as_ref()
        .map_err(|e| anyhow!("{e}"))
}

async fn find_server() -> anyhow::Result<Server> {
    let server = match std::env::var("RELATA_TEST_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Server {
            admin_url: url.trim().to_owned(),
            origin: Origin::Env,
        },
        _ => {
            let dir = tokio::task::spawn_blocking(ensure_cluster)
                .await
                .context("the task starting the throwaway PostgreSQL panicked")??;
            Server {
                admin_url: socket_url(&dir, "postgres"),
                origin: Origin::Throwaway(dir),
            }
        }
    };
    let mut conn = connect(&server.admin_url)
        .await
        .map_err(|e| anyhow!("{e:#}\n\n{HOW_TO_FIX}"))?;
    let local = matches!(server.origin, Origin::Throwaway(_));
    drop_stale_databases(&mut conn, local).await;
    conn.close().await.ok();
    Ok(server)
}

async fn connect(url: &str) -> anyhow::Result<PgConnection> {
    PgConnection::connect(url)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))
}

/// Drops this harness's databases older than [`STALE_AFTER`] (by the time in
/// their UUIDv7) and, on the throwaway cluster (`local`: only processes of
/// this machine use it), those whose maker process has ended. Databases
/// still in use are left alone (PostgreSQL refuses to drop them); errors
/// are ignored.
async fn drop_stale_databases(conn: &mut PgConnection, local: bool) {
    let Ok(rows) = sqlx::query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
        .bind(DB_PREFIX)
        .fetch_all(&mut *conn)
        .await
    else {
        return;
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String, _>(0) else {
            continue;
        };
        let Some((created, maker)) = parse_name(&name) else {
            continue;
        };
        let maker_ended = local && maker.is_some_and(|pid| !process_alive(pid));
        if maker_ended || now.saturating_sub(created) > STALE_AFTER {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\"").as_str())
                .await;
        }
    }
}

/// The creation time and maker process of a database of this harness
/// (`relata_t_<uuid v7>[_p<pid>]`).
fn parse_name(name: &str) -> Option<(Duration, Option<u32>)> {
    let rest = name.strip_prefix(DB_PREFIX)?;
    let (id, pid) = match rest.split_once("_p") {
        Some((id, pid)) => (id, Some(pid.parse::<u32>().ok()?)),
        None => (rest, None),
    };
    let (secs, nanos) = uuid::Uuid::try_parse(id).ok()?.get_timestamp()?.to_unix();
    Some((Duration::new(secs, nanos), pid))
}

/// Whether the process `pid` of this machine is still running.
fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

// ---------------------------------------------------------------------------
// The throwaway cluster
// ---------------------------------------------------------------------------

/// The directory of the throwaway cluster of the current user.
fn cluster_dir(uid: u32) -> PathBuf {
    std::env::temp_dir().join(format!("relata-test-pg-{uid}"))
}

/// Finds or starts the throwaway cluster; returns its directory (which is
/// also the socket directory). Blocking.
fn ensure_cluster() -> anyhow::Result<PathBuf> {
    let bin = find_bindir().ok_or_else(|| {
        anyhow!(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in /usr/lib/postgresql/*/bin \
             nor in `pg_config --bindir`, and RELATA_TEST_PG_URL is not set.\n\n{HOW_TO_FIX}"
        )
    })?;
    let uid = current_uid()?;
    let runner = if uid == 0 { Runner::as_postgres()? } else { Runner::Me };
    let dir = cluster_dir(uid);
    start_cluster(&bin, &dir, &runner).map_err(|e| {
        anyhow!(
            "cannot start the throwaway PostgreSQL cluster in {} with the binaries in {}: {e:#}\n\n{HOW_TO_FIX}",
            dir.display(),
            bin.display()
        )
    })?;
    Ok(dir)
}

fn start_cluster(bin: &Path, dir: &Path, runner: &Runner) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    // Private: the server trusts whoever reaches its socket.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("chmod 700 {}", dir.display()))?;
    if let Runner::Postgres { uid, gid, .. } = runner {
        let meta = fs::metadata(dir)?;
        if meta.uid() != *uid {
            std::os::unix::fs::chown(dir, Some(*uid), Some(*gid))
                .with_context(|| format!("chown postgres {}", dir.display()))?;
        }
    }

    let lock_path = dir.join("lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("open {}", lock_path.display()))?;
    lock.lock_exclusive()
        .with_context(|| format!("lock {}", lock_path.display()))?;

    let data = dir.join("data");
    let pg_ctl = bin.join("pg_ctl");
    let status = runner.run(dir, &pg_ctl, &[arg("-D"), data.clone().into(), arg("status")])?;
    if status.status.success() {
        return Ok(()); // already running: reuse (the lock is released on return)
    }

    // Not running. Throw away what cannot be started: a half-made cluster
    // (initdb interrupted) or one of another major version.
    let version_file = data.join("PG_VERSION");
    if data.exists() {
        let cluster_version = fs::read_to_string(&version_file).ok();
        let binary_version = major_version(bin, runner);
        let usable = match (&cluster_version, &binary_version) {
            (Some(c), Some(b)) => c.trim() == b,
            (Some(_), None) => true, // cannot tell: try it
            (None, _) => false,
        };
        if !usable {
            fs::remove_dir_all(&data).with_context(|| format!("remove the unusable cluster {}", data.display()))?;
        }
    }

    if !version_file.exists() {
        let out = runner.run(
            dir,
            &bin.join("initdb"),
            &[
                arg("-D"),
                data.clone().into(),
                arg("-A"),
                arg("trust"),
                arg("-U"),
                arg("postgres"),
                arg("-E"),
                arg("UTF8"),
                arg("--locale=C"),
                arg("--no-sync"),
            ],
        )?;
        if !out.status.success() {
            anyhow::bail!("initdb failed ({}):\n{}", out.status, output_text(&out));
        }
        // Appending keeps the file's owner (postgres when root).
        let conf_path = data.join("postgresql.conf");
        let mut conf = fs::OpenOptions::new()
            .append(true)
            .open(&conf_path)
            .with_context(|| format!("open {}", conf_path.display()))?;
        write!(
            conf,
            "\n# Relata test harness: Unix socket only, no durability (throwaway).\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{}'\n\
             unix_socket_permissions = 0700\n\
             port = {PORT}\n\
             max_connections = 300\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             # Small on disk: little write-ahead log kept (the default keeps up to 1 GB).\n\
             wal_level = minimal\n\
             max_wal_senders = 0\n\
             max_wal_size = 96MB\n\
             min_wal_size = 32MB\n",
            dir.display().to_string().replace('\'', "''")
        )
        .with_context(|| format!("write {}", conf_path.display()))?;
    }

    let log = dir.join("postgres.log");
    let out = runner.run(
        dir,
        &pg_ctl,
        &[
            arg("-D"),
            data.clone().into(),
            arg("-l"),
            log.clone().into(),
            arg("-w"),
            arg("-t"),
            arg("120"),
            arg("start"),
        ],
    )?;
    if !out.status.success() {
        let tail = fs::read_to_string(&log)
            .map(|text| {
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(30)..].join("\n")
            })
            .unwrap_or_default();
        anyhow::bail!(
            "pg_ctl start failed ({}):\n{}\nend of {}:\n{tail}",
            out.status,
            output_text(&out),
            log.display()
        );
    }
    drop(lock);
    Ok(())
}

fn arg(s: &str) -> std::ffi::OsString {
    s.into()
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The major version of the server binaries ("15", "16", ...).
fn major_version(bin: &Path, runner: &Runner) -> Option<String> {
    let out = runner
        .run(Path::new("/"), &bin.join("postgres"), &[arg("--version")])
        .ok()?;
    // "postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)"
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(2)?;
    let major = version.split(['.', 'b', 'r', 'd']).next()?;
    (!major.is_empty()).then(|| major.to_owned())
}

/// The directory of `initdb`, `pg_ctl` and `postgres`: the highest version
/// under `/usr/lib/postgresql` (Debian's layout), else `pg_config --bindir`.
fn find_bindir() -> Option<PathBuf> {
    let has_server = |dir: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file());
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let key: Vec<u32> = name.split('.').map(|part| part.parse().ok()).collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((key, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    has_server(&bin).then_some(bin)
}

/// The effective uid of this process (owner of `/proc/self`, else `id -u`).
fn current_uid() -> anyhow::Result<u32> {
    if let Ok(meta) = fs::metadata("/proc/self") {
        return Ok(meta.uid());
    }
    let out = Command::new("id").arg("-u").output().context("run `id -u`")?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("parse the output of `id -u`")
}

/// How the cluster's commands run: as ourselves, or (when we are root, which
/// initdb and pg_ctl refuse) as the `postgres` system user.
enum Runner {
    Me,
    Postgres {
        uid: u32,
        gid: u32,
        /// `runuser`, when available; otherwise `su`.
        runuser: Option<PathBuf>,
    },
}

impl Runner {
    fn as_postgres() -> anyhow::Result<Self> {
        let id = |flag: &str| -> Option<u32> {
            let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
            if !out.status.success() {
                return None;
            }
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        };
        let (Some(uid), Some(gid)) = (id("-u"), id("-g")) else {
            anyhow::bail!(
                "running as root, so the throwaway PostgreSQL must run as the `postgres` system user \
                 (initdb refuses root), but there is no such user (installing the `postgresql` package creates it).\n\n{HOW_TO_FIX}"
            );
        };
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file());
        Ok(Runner::Postgres { uid, gid, runuser })
    }

    /// Runs `program args` in `cwd` (a directory the cluster user can enter).
    fn run(&self, cwd: &Path, program: &Path, args: &[std::ffi::OsString]) -> anyhow::Result<Output> {
        let mut cmd = match self {
            Runner::Me => {
                let mut cmd = Command::new(program);
                cmd.args(args);
                cmd
            }
            Runner::Postgres {
                runuser: Some(runuser), ..
            } => {
                let mut cmd = Command::new(runuser);
                cmd.args(["-u", "postgres", "--"]).arg(program).args(args);
                cmd
            }
            Runner::Postgres { runuser: None, .. } => {
                let line = std::iter::once(program.as_os_str())
                    .chain(args.iter().map(|a| a.as_os_str()))
                    .map(|a| shell_quote(&a.to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut cmd = Command::new("su");
                cmd.args(["-s", "/bin/sh", "postgres", "-c"]).arg(line);
                cmd
            }
        };
        cmd.current_dir(cwd).stdin(std::process::Stdio::null());
        // The server's settings come from its own postgresql.conf.
        for var in ["PGDATA", "PGPORT", "PGHOST", "PGOPTIONS"] {
            cmd.env_remove(var);
        }
        cmd.output().with_context(|| format!("run {}", program.display()))
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

// ---------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------

/// `postgres://postgres@localhost:5432/<db>?host=<dir>`: the Unix socket
/// `<dir>/.s.PGSQL.5432` (sqlx and libpq take a `host` starting with `/` as
/// a socket directory).
fn socket_url(dir: &Path, database: &str) -> String {
    format!(
        "postgres://postgres@localhost:{PORT}/{database}?host={}",
        percent_encode(&dir.to_string_lossy())
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` with its database (path) replaced by `database`, and any `dbname`
/// query parameter (which would override the path) removed.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    let mut out = format!("{scheme}://{authority}/{database}");
    let query: Vec<&str> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("dbname"))
        .collect();
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query.join("&"));
    }
    out
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_tell_their_age_and_maker() {
        let id = uuid::Uuid::now_v7().simple();
        let (_, maker) = parse_name(&format!("{DB_PREFIX}{id}_p4242")).expect("a name with a maker");
        assert_eq!(maker, Some(4242));
        let (_, maker) = parse_name(&format!("{DB_PREFIX}{id}")).expect("an older name");
        assert_eq!(maker, None);
        assert!(parse_name("postgres").is_none());
        assert!(parse_name(&format!("{DB_PREFIX}{id}_pnope")).is_none());
        assert!(process_alive(std::process::id()));
    }

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://u:p@h:5433/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5433/x?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://u@h", "x"), "postgresql://u@h/x");
        assert_eq!(
            with_database("postgres:///postgres?host=/run/pg&dbname=postgres", "x"),
            "postgres:///x?host=/run/pg"
        );
    }

    #[test]
    fn socket_urls_encode_the_directory() {
        assert_eq!(
            socket_url(Path::new("/tmp/a b+c"), "d"),
            "postgres://postgres@localhost:5432/d?host=/tmp/a%20b%2Bc"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h:1/db?x=y"), "postgres://u:***@h:1/db?x=y");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
