//! `syndic audit verify` and `syndic audit export`: the audit trail from the command line. They
//! open the store read-only (beside a running bot) and need no Matrix login.

use std::io::Write;
use std::path::Path;

use crate::config::Config;
use crate::store::{AuditFilter, Store};

fn open(config: &Path) -> Result<Store, String> {
    let config = Config::load(config).map_err(|e| e.to_string())?;
    let file = config.store_path.join("syndic.sqlite3");
    if !file.exists() {
        return Err(format!(
            "{} does not exist: bot.store_path holds no store yet",
            file.display()
        ));
    }
    // A bot closing its store at the same moment (checkpointing its log) can make a read-only
    // open fail briefly: try a few times before giving up.
    let mut attempt = 0;
    loop {
        match Store::open_read_only(&config.store_path) {
            Ok(store) => return Ok(store),
            Err(e) if attempt >= 10 => return Err(format!("{}: {e}", file.display())),
            Err(_) => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        }
    }
}

/// Checks the hash chain; prints each altered or removed row. True when the chain is intact.
pub fn verify(config: &Path) -> bool {
    let store = match open(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    let report = match store.verify_audit() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    for problem in &report.problems {
        println!("FAIL {problem}");
    }
    let legacy = if report.legacy > 0 {
        format!(
            " ({} older row(s) from before the chain, unchecked)",
            report.legacy
        )
    } else {
        String::new()
    };
    let head = report
        .head
        .as_ref()
        .map(|(id, hash)| format!("; newest row #{id}, hash {hash}"))
        .unwrap_or_default();
    if report.problems.is_empty() {
        println!(
            "ok   audit chain intact: {} row(s){legacy}{head}",
            report.chained
        );
        true
    } else {
        println!(
            "FAIL audit chain broken: {} problem(s) in {} row(s){legacy}{head}",
            report.problems.len(),
            report.chained
        );
        false
    }
}

/// Writes the rows newer than `since` (all when `None`) to stdout, one JSON object per line,
/// oldest first, each with its hash. True on success.
pub fn export(config: &Path, since: Option<&str>) -> bool {
    let since = match since.map(crate::units::parse_age).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("--since: {e}");
            return false;
        }
    };
    let store = match open(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return false;
        }
    };
    let filter = AuditFilter {
        since: since.map(|age| {
            crate::store::now_secs()
                .saturating_sub(i64::try_from(age.as_secs()).unwrap_or(i64::MAX))
        }),
        ..AuditFilter::default()
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut write_error = None;
    let result = store.audit_rows(&filter, |row| {
        let mut value = serde_json::to_value(row)?;
        if let (Some(obj), Some(t)) = (
            value.as_object_mut(),
            chrono::DateTime::from_timestamp(row.at, 0),
        ) {
            obj.insert("time".into(), t.to_rfc3339().into());
        }
        if write_error.is_none()
            && let Err(e) = writeln!(out, "{value}")
        {
            write_error = Some(e);
        }
        Ok(())
    });
    let flushed = out.flush();
    match (result, write_error.map_or(flushed, Err)) {
        (Ok(()), Ok(())) => true,
        (Err(e), _) => {
            eprintln!("{e}");
            false
        }
        (_, Err(e)) => {
            eprintln!("cannot write the export: {e}");
            false
        }
    }
}
