//! The `syndic` command: run the bot, check a configuration, or verify and export the audit trail.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use syndic::config::LogFormat;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Chat-ops bot for Synapse administrators.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the bot.
    Run {
        /// Configuration file.
        #[arg(long, short, default_value = "bot.toml")]
        config: PathBuf,
    },
    /// Validate the configuration and probe the homeserver; exits non-zero on any failure.
    CheckConfig {
        /// Configuration file.
        #[arg(long, short, default_value = "bot.toml")]
        config: PathBuf,
    },
    /// The audit trail: verify its hash chain, or export it (reads the store; no Matrix login).
    Audit {
        #[command(subcommand)]
        action: AuditCmd,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; names each altered or removed row and exits non-zero if any.
    Verify {
        /// Configuration file (for bot.store_path).
        #[arg(long, short, default_value = "bot.toml")]
        config: PathBuf,
    },
    /// Write rows to stdout as JSON lines (one row per line, with its hash), oldest first.
    Export {
        /// Only rows newer than this age, e.g. 30d.
        #[arg(long, value_name = "AGE")]
        since: Option<String>,
        /// Configuration file (for bot.store_path).
        #[arg(long, short, default_value = "bot.toml")]
        config: PathBuf,
    },
}

/// Default log filter: matrix-sdk's HTTP client logs expected 404s at ERROR, which would drown
/// real problems, so it is silenced; the crate's own errors carry what matters. Ruma's push-rule
/// evaluation opens INFO spans (14 for each event the bot receives), which log nothing yet cost a
/// formatting each: warnings only.
const DEFAULT_FILTER: &str = "info,matrix_sdk=warn,matrix_sdk::http_client=off,matrix_sdk_crypto=warn,matrix_sdk_base=warn,matrix_sdk_sqlite=warn,ruma_common=warn,ruma=warn";

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` logs as its config says (read first); everything else as text.
    if !matches!(cli.command, Cmd::Run { .. }) {
        init_logging(LogFormat::Text);
    }
    if let Cmd::Audit { action } = &cli.command {
        let ok = match action {
            AuditCmd::Verify { config } => syndic::audit_cli::verify(config),
            AuditCmd::Export { since, config } => {
                syndic::audit_cli::export(config, since.as_deref())
            }
        };
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    limit_malloc_arenas();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Cmd::Run { config } => runtime.block_on(run(config)),
        // Answered above, without a runtime.
        Cmd::Audit { .. } => ExitCode::SUCCESS,
        Cmd::CheckConfig { config } => {
            if runtime.block_on(syndic::check::check_config(&config)) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("SYNDIC_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // SYNDIC_PROFILE_SPANS=1: a line per closed span of the message path (sync, handler, gate,
    // claim, parse, plan, admin_api, audit, reply, react) with its busy and idle time.
    let spans = if std::env::var_os("SYNDIC_PROFILE_SPANS").is_some_and(|v| v == "1") {
        FmtSpan::CLOSE
    } else {
        FmtSpan::NONE
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(spans)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

/// glibc gives every thread that allocates its own malloc arena (up to 8 per core), which mostly
/// holds freed memory: two are plenty for a bot and keep its resident memory small.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before any thread is started.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

async fn run(path: PathBuf) -> ExitCode {
    let config = match syndic::config::Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(config.log_format);
    let mut handle = match syndic::app::start(config).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("cannot start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let reloader = handle.roles_reloader();
    let mut hangups = hangups();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let result = loop {
        tokio::select! {
            r = handle.wait() => break r,
            _ = &mut stop => {
                tracing::info!("shutting down");
                break Ok(());
            }
            _ = next_hangup(&mut hangups) => match reloader.reload(&path) {
                Ok(n) => tracing::info!("SIGHUP: {n} roles in force"),
                Err(e) => tracing::error!("SIGHUP: the file was not applied, the roles in force stay: {e}"),
            },
        }
    };
    handle.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = ();

#[cfg(unix)]
fn hangups() -> Hangups {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangups() -> Hangups {}

/// The next SIGHUP (never, where there are none).
async fn next_hangup(h: &mut Hangups) {
    #[cfg(unix)]
    if let Some(h) = h
        && h.recv().await.is_some()
    {
        return;
    }
    #[cfg(not(unix))]
    let _ = h;
    std::future::pending::<()>().await
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
