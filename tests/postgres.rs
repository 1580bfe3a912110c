//! The e2e suite once more, on a Synapse backed by PostgreSQL, as production Synapse runs: this
//! runs the e2e test binary of the same build with `SYNDIC_TEST_DATABASE=postgres` (its harness
//! then starts a throwaway PostgreSQL under Synapse). Skipped, and says so, where PostgreSQL is
//! not installed (Debian: `apt-get install postgresql`; `.ci/run` installs it) or
//! `SYNDIC_TEST_POSTGRES=0`.

#[path = "e2e/support/postgres.rs"]
#[allow(dead_code, unreachable_pub)]
mod postgres;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// Past libtest's output capture: a skipped tier must be visible in a passing run.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The newest `e2e-<hash>` test binary beside this one.
fn e2e_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    std::fs::read_dir(deps)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("e2e-") && !name.contains('.')
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, path)| path)
}

#[test]
fn the_e2e_suite_passes_on_postgresql() {
    if std::env::var("SYNDIC_TEST_POSTGRES").as_deref() == Ok("0") {
        say("e2e on PostgreSQL: SKIPPED (SYNDIC_TEST_POSTGRES=0)");
        return;
    }
    if postgres::bin_dir().is_none() {
        say(
            "e2e on PostgreSQL: SKIPPED, PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run installs it)",
        );
        return;
    }
    let e2e = e2e_binary().expect(
        "no e2e test binary beside this one: build it with `cargo test --test e2e --no-run`",
    );
    say(&format!("e2e on PostgreSQL: running {}", e2e.display()));
    let status = Command::new(&e2e)
        .env("SYNDIC_TEST_DATABASE", "postgres")
        .status()
        .expect("running the e2e test binary");
    assert!(status.success(), "the e2e suite failed on PostgreSQL");
}
