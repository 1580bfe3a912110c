//! Every password, access token, recovery key and registration token the e2e run used, and the
//! log the bots wrote meanwhile: whenever a fixture ends, none of those secrets may be in it.
//!
//! The log is the run's whole bot log at debug level (`target/e2e-logs/run-<pid>.log`), so a
//! secret logged by any bot, in any test, is found by the next fixture that ends.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

/// What goes into the file: the bot at debug (more than an admin would log), matrix-sdk's warnings.
pub const LOG_FILTER: &str = "syndic=debug,matrix_sdk=warn,matrix_sdk_crypto=warn";

/// Shorter strings could be in a log by chance.
const MIN_LEN: usize = 8;

fn secrets() -> &'static Mutex<BTreeSet<String>> {
    static SECRETS: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    SECRETS.get_or_init(Mutex::default)
}

/// Records a secret the run used or was given.
pub fn remember(secret: &str) {
    let secret = secret.trim();
    if secret.len() >= MIN_LEN {
        secrets()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(secret.to_owned());
    }
}

/// The run's log file.
pub fn log_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = super::synapse::target_dir().join("e2e-logs");
        std::fs::create_dir_all(&dir).expect("creating target/e2e-logs");
        dir.join(format!("run-{}.log", std::process::id()))
    })
    .clone()
}

/// A writer for the tracing layer that fills [`log_path`].
pub fn log_writer() -> Mutex<File> {
    Mutex::new(File::create(log_path()).expect("creating the e2e log file"))
}

/// Panics if any secret recorded so far is in the log written so far (naming only the secret's
/// first characters and the line it is on, clipped).
pub fn assert_none_logged() {
    let Ok(log) = std::fs::read_to_string(log_path()) else {
        return;
    };
    let known = secrets()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let found: Vec<String> = known
        .iter()
        .filter_map(|secret| {
            let line = log.lines().find(|l| l.contains(secret.as_str()))?;
            let shown: String = secret.chars().take(3).collect();
            let context: String = line
                .replace(secret.as_str(), "<SECRET>")
                .chars()
                .take(300)
                .collect();
            Some(format!("{shown}… in: {context}"))
        })
        .collect();
    assert!(
        found.is_empty(),
        "{} secret(s) in the bots' log {}:\n{}",
        found.len(),
        log_path().display(),
        found.join("\n")
    );
}

/// Whether `text` is in the log written so far (for the test that the check can fail).
pub fn logged(text: &str) -> bool {
    std::fs::read_to_string(log_path()).is_ok_and(|log| log.contains(text))
}

/// How many secrets are known, for the test that the check itself works.
pub fn known() -> usize {
    secrets()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len()
}
