//! A throwaway PostgreSQL for the e2e Synapse when `SYNDIC_TEST_DATABASE=postgres` (the
//! `postgres` test binary runs the suite that way): `initdb` into a temporary directory, the
//! server started under the harness watchdog on 127.0.0.1 and a free port (as the `postgres`
//! user when the tests run as root, which PostgreSQL refuses), and one database with the C
//! collation Synapse requires. Durability is off: it lives as long as the test process.

use std::ffi::CString;
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The database and role Synapse uses.
pub const DATABASE: &str = "synapse";

/// A running PostgreSQL.
#[derive(Debug)]
pub struct Postgres {
    pub port: u16,
}

/// Where PostgreSQL's programs are: beside `initdb` on the PATH, else Debian's
/// `/usr/lib/postgresql/<version>/bin` (newest version). `None` when it is not installed.
pub fn bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("initdb"))
            .find(|p| p.is_file())
    });
    if let Some(initdb) = on_path {
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        return real.parent().map(Path::to_path_buf);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The account PostgreSQL runs as: ours, or `postgres` when we are root.
fn run_as() -> Result<Option<(String, u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").expect("no NUL");
    // SAFETY: getpwnam is given a valid C string; the record is copied out at once, and the
    // harness starts PostgreSQL once, from one thread.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return Err(
            "the tests run as root and there is no `postgres` user to run PostgreSQL as".into(),
        );
    }
    // SAFETY: checked non-null above.
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some(("postgres".to_owned(), uid, gid)))
}

/// Initialises and starts PostgreSQL in `dir` (which the watchdog deletes), waits for it, and
/// creates [`DATABASE`].
pub fn start(python: &Path, watchdog: &str, dir: &Path, port: u16) -> Result<Postgres, String> {
    let bin = bin_dir().ok_or("PostgreSQL is not installed (no initdb)")?;
    let user = run_as()?;
    if let Some((_, uid, gid)) = &user {
        std::os::unix::fs::chown(dir, Some(*uid), Some(*gid))
            .map_err(|e| format!("handing {} to the postgres user: {e}", dir.display()))?;
    }
    let data = dir.join("data");
    let as_user = |command: &mut Command| {
        if let Some((_, uid, gid)) = &user {
            command.uid(*uid).gid(*gid);
        }
    };
    let log_path = dir.join("postgres.log");
    let mut initdb = Command::new(bin.join("initdb"));
    initdb
        .arg("-D")
        .arg(&data)
        .args(["--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        .arg(format!("--username={DATABASE}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    as_user(&mut initdb);
    let out = initdb
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }

    let log =
        File::create(&log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let mut server = Command::new(python);
    server
        .arg("-c")
        .arg(watchdog)
        .arg(std::process::id().to_string())
        .arg(dir)
        .arg(bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(dir)
        .args([
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0);
    if let Some((name, ..)) = &user {
        server.env("SYNDIC_WATCHDOG_USER", name);
    }
    server
        .spawn()
        .map_err(|e| format!("starting PostgreSQL: {e}"))?;

    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!(
                "PostgreSQL did not listen on {address} within 30 s: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Listening is not yet accepting logins: createdb retries while the server starts up.
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(30) {
        let out = Command::new(bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", DATABASE])
            .args(["-E", "UTF8", "--locale=C", "-T", "template0", DATABASE])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running createdb: {e}"))?;
        if out.status.success() {
            return Ok(Postgres { port });
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("createdb failed: {last}"))
}
