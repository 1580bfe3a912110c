//! Benchmarks of Syndic against a real, local Synapse. Not part of `cargo test`; run them with
//! `scripts/bench` and `scripts/bench-import [N]`, which build the release binary first.
//!
//! The bot runs as a separate process (`target/release/syndic run`), so its memory and CPU time
//! are read from `/proc/<pid>`; the admin is a real matrix-sdk client in an encrypted room (the
//! end-to-end test harness, `tests/e2e/support/`, reused unchanged).
//!
//! * `cargo bench --bench bot` (or `-- roundtrip`): `!user` one at a time, bot-side (Synapse's
//!   timestamps) and at the client, next to a minimal matrix-sdk pong bot ([`support::pong`],
//!   this binary in `pong-bot` mode) and a matrix-nio bot doing the same lookup
//!   (`benches/nio_bot.py`), each as its own process with its CPU and memory; the Admin API
//!   called directly and `synadm`; memory during a 2,000-row import; start-up on a warm store;
//!   a pass with `SYNDIC_PROFILE_SPANS=1` that says where the time goes. Writes
//!   `target/bench/results.json`.
//! * `cargo bench --bench bot -- import [N]`: bulk import of N users with passwords, against the
//!   same PUTs sent directly with the bot's concurrency and against synapse-admin's sequential
//!   GET + PUT. Writes `target/bench/import-results.json`.
#![recursion_limit = "256"]
// Test support is shared between modules of one binary: `pub` there means "for the tests".
#![allow(unreachable_pub)]

#[path = "bot/scale.rs"]
mod scale;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use matrix_sdk::ruma::{OwnedUserId, UserId};

use support::client::ReceivedMessage;
use support::env::{Env, confirm_code, count_after, http, job_number, target_dir};
use support::pong::PongConfig;
use support::process::{BotProcess, Memory, OtherLoad, clock_ticks_per_second, synapse_pids};
use support::stats::{Summary, ms, round2, verdict, wall_ms};
use support::synapse::{RegisteredUser, SYNAPSE_VERSION, Synapse};

const WARMUP: usize = 10;
// What `scripts/bench` measures; `SYNDIC_BENCH_QUICK=1` measures much less, to try the harness
// (its figures are then not the benchmark's).
const COMMANDS: usize = 990;
/// Commands for each comparison bot (the pong bot, the matrix-nio bot).
const COMPARED_COMMANDS: usize = 200;
/// Commands of the pass with SYNDIC_PROFILE_SPANS=1.
const SPAN_COMMANDS: usize = 100;
/// The spans of the message path, in its order (the report's).
const SPAN_ORDER: &[&str] = &[
    "sync",
    "handler",
    "gate",
    "command",
    "claim",
    "parse",
    "plan",
    "admin_api",
    "audit",
    "reply",
    "react",
];
/// How long a comparison bot may take to log in, join and sync.
const FIRST_START: Duration = Duration::from_secs(120);
const DIRECT_CALLS: usize = 200;
const SYNADM_RUNS: usize = 50;
const MEMORY_IMPORT_ROWS: usize = 2000;
const RESTARTS: usize = 5;
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// The bot's `[import] concurrency` in the import benchmark (its default).
const IMPORT_CONCURRENCY: usize = 4;

// Goals (README; issue 12).
const GOAL_P50_OVER_PONG_MS: f64 = 15.0;
const GOAL_P95_OVER_PONG_MS: f64 = 30.0;
const GOAL_VS_NIO: f64 = 0.6;
const GOAL_CPU_MS: f64 = 5.0;
const GOAL_IDLE_RSS_MB: f64 = 30.0;
const GOAL_RSS_AFTER_MB: f64 = 35.0;
const GOAL_BINARY_MB: f64 = 30.0;
const GOAL_STARTUP_MS: f64 = 500.0;
const GOAL_VS_DIRECT: f64 = 0.9;
const GOAL_VS_SEQUENTIAL: f64 = 1.8;

fn main() {
    // `cargo bench` passes `--bench`; everything else is ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mode = args.first().map(String::as_str).unwrap_or("roundtrip");
    if mode == "pong-bot" {
        // The comparison bot, started by the benchmark itself (no Synapse of its own).
        let config = PathBuf::from(args.get(1).unwrap_or_else(|| usage()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(support::pong::run(&config));
        return;
    }
    let rows = match (mode, args.get(1)) {
        ("import", Some(n)) => n.parse().unwrap_or_else(|_| usage()),
        ("import", None) => 500,
        ("suspend", Some(n)) => n.parse().unwrap_or_else(|_| usage()),
        ("suspend", None) => 500,
        ("scale", Some(n)) => n.parse().unwrap_or_else(|_| usage()),
        ("scale", None) => 20_000,
        ("roundtrip", None) => 0,
        _ => usage(),
    };
    let synapse = Synapse::shared();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match mode {
        "import" => runtime.block_on(bench_import(synapse, rows)),
        "suspend" => runtime.block_on(bench_suspend(synapse, rows)),
        "scale" => runtime.block_on(scale::bench_scale(synapse, rows)),
        _ => runtime.block_on(bench_bot(synapse)),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench bot [-- roundtrip | -- import [N] | -- suspend [N] | -- scale [N]]"
    );
    std::process::exit(2)
}

fn header(what: &str, env: &Env) {
    let cpus = cpus();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!();
    println!("== {what} ==");
    println!(
        "Synapse {SYNAPSE_VERSION} (SQLite, harness config) on {}; bot: {} (source {commit}) as a separate process; {cpus} CPUs, load average {}",
        env.synapse.url(),
        env.bin.display(),
        load.join(" ")
    );
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

// ---------------------------------------------------------------------------------------------
// scripts/bench: round trip, memory, CPU, start-up
// ---------------------------------------------------------------------------------------------

/// One timed `!user` command.
struct Sample {
    command: matrix_sdk::ruma::OwnedEventId,
    reply: matrix_sdk::ruma::OwnedEventId,
    sent_wall_ms: f64,
    received_wall_ms: f64,
    round_trip: Duration,
    send_call: Duration,
}

async fn bench_bot(synapse: &'static Synapse) {
    let quick = std::env::var_os("SYNDIC_BENCH_QUICK").is_some_and(|v| v != "0");
    let scale = |n: usize| if quick { n.div_ceil(10) } else { n };
    let (commands, direct_calls, synadm_runs) =
        (scale(COMMANDS), scale(DIRECT_CALLS), scale(SYNADM_RUNS));
    let (import_rows, restarts) = (scale(MEMORY_IMPORT_ROWS), scale(RESTARTS));
    let (compared, span_commands) = (scale(COMPARED_COMMANDS), scale(SPAN_COMMANDS));
    let env = Env::set_up(synapse, "").await;
    header(
        if quick {
            "Syndic benchmark, QUICK pass (SYNDIC_BENCH_QUICK): fewer samples, not comparable"
        } else {
            "Syndic benchmark: latency against a pong bot and a matrix-nio bot, memory, CPU, start-up"
        },
        &env,
    );
    let binary_bytes = std::fs::metadata(&env.bin).map_or(0, |m| m.len());
    let target = synapse
        .register(
            &synapse.unique_localpart("bench-target"),
            "bench-target-password",
            false,
        )
        .await;
    let command = format!("!user {}", target.user_id);
    let user_reply = |reply: &ReceivedMessage| check_user_reply(reply, &target.user_id);

    println!("starting the bot (fresh store: login, cross-signing, recovery)...");
    let mut bot = env.start_bot("bot.log").await;
    let first_ready = bot.wait_ready(Duration::ZERO).await;
    println!(
        "bot pid {} ready after {:.2} s",
        bot.pid(),
        first_ready.as_secs_f64()
    );

    // 1. Syndic: `!user`, one at a time.
    println!("{WARMUP} warm-up + {commands} × `{command}` (one at a time)...");
    let syndic = timed_commands(
        &env,
        &bot,
        &env.bot_user_id,
        &command,
        commands,
        &user_reply,
    )
    .await;
    let syndic_side = bot_side(&env, &syndic.samples).await;
    // Where the time goes: Synapse's origin_server_ts of the command, of the bot's ⏳ reaction
    // and of its reply split each round trip into legs (same clock: all on this machine).
    let phases = phases(&env, &syndic.samples).await;

    // 2. The floor: the same lookup sent directly to the Admin API.
    let server_admin = env.server_admin().await;
    let user_path = format!("/_synapse/admin/v2/users/{}", target.user_id);
    let direct = {
        let http = http();
        let url = synapse.endpoint(&user_path);
        let mut times = Vec::with_capacity(direct_calls);
        for i in 0..WARMUP + direct_calls {
            let t0 = Instant::now();
            let response = http
                .get(url.clone())
                .bearer_auth(&server_admin.access_token)
                .send()
                .await
                .expect("GET the user");
            let status = response.status();
            let body = response.bytes().await.expect("the body");
            assert!(status.is_success(), "GET {url}: {status}");
            assert!(!body.is_empty());
            if i >= WARMUP {
                times.push(t0.elapsed());
            }
        }
        Summary::of(&times)
    };

    // 3. synadm user details, a process per lookup as an admin would run it.
    let synadm = run_synadm(&env, &server_admin, &target.user_id, synadm_runs);

    // 4. Memory during a 2,000-row import (no passwords: Synapse's bcrypt is not measured here).
    println!("importing {import_rows} users without passwords (memory)...");
    let mut csv = String::from("id,displayname\n");
    for i in 0..import_rows {
        csv.push_str(&format!("bench-mem-{i:05},Bench Memory {i}\n"));
    }
    let peak_was_reset = bot.reset_peak();
    let import_started = Instant::now();
    let (_, preview) = env
        .upload_csv(
            "users-2000.csv",
            csv.as_bytes(),
            "!import-users --no-generate",
            Duration::from_secs(300),
        )
        .await;
    let mark = env.admin.mark();
    let started = env
        .ask(
            &format!("!confirm {}", confirm_code(&preview)),
            REPLY_TIMEOUT,
        )
        .await;
    assert!(started.body.contains("started"), "{}", started.body);
    let summary = env
        .import_summary(mark, &job_number(&preview), Duration::from_secs(900))
        .await;
    let import_time = import_started.elapsed();
    // The summary reaches the client before the bot has marked the job done: let it finish, so
    // the restarts below do not resume it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let created = count_after(&summary.body, "Created:");
    assert_eq!(
        created,
        Some(import_rows as u64),
        "summary: {}",
        summary.body
    );
    let during_import = bot.memory();

    // 5. Start-up on the warm store: SIGTERM, start again, `!ping` sent right after the spawn
    // (the bot answers messages that arrived while it was starting).
    println!("{restarts} restarts on the warm store (SIGTERM, start, `!ping` right away)...");
    let log = env.out_dir.join("bot.log");
    let mut startups = Vec::with_capacity(restarts);
    for _ in 0..restarts {
        let shutdown = bot.stop();
        let mark = env.admin.mark();
        bot = BotProcess::spawn(&env.bin, &env.config_path, &log);
        let id = env.say("!ping").await;
        let reply = env.reply_to(mark, &id, Duration::from_secs(60)).await;
        let answered = bot.started.elapsed();
        let ready = bot.wait_ready(Duration::from_secs(60)).await;
        assert!(reply.body.starts_with("Pong"), "{}", reply.body);
        startups.push((ready, answered, shutdown));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_warm = bot.memory();
    let shutdown_last = bot.stop();
    let ready_s = Summary::of(&startups.iter().map(|s| s.0).collect::<Vec<_>>());
    let answered_s = Summary::of(&startups.iter().map(|s| s.1).collect::<Vec<_>>());
    let shutdown_s = Summary::of(
        &startups
            .iter()
            .map(|s| s.2)
            .chain([shutdown_last])
            .collect::<Vec<_>>(),
    );

    // 6. Where Syndic's time goes: a separate pass with SYNDIC_PROFILE_SPANS=1 (its log lines
    // cost a little, so the figures above are taken without it).
    println!("{span_commands} × `{command}` with SYNDIC_PROFILE_SPANS=1 (where the time goes)...");
    let (spans, legs) = span_breakdown(&env, &command, span_commands, &user_reply).await;

    // 7. The same `!user` answered by the comparison bots, each alone in the room with the
    // admin's client (Syndic is stopped), measured the same way.
    println!(
        "{WARMUP} warm-up + {compared} × the same command answered by a minimal matrix-sdk pong bot..."
    );
    let pong = run_pong_bot(&env, &command, compared).await;
    let nio = run_nio_bot(&env, &command, compared, &user_reply).await;

    // Report.
    let mut bots: Vec<(&str, &TimedRun, &Summary)> = vec![
        ("Syndic", &syndic, &syndic_side),
        ("pong bot (matrix-sdk, no Admin API)", &pong.0, &pong.1),
    ];
    if let Some((run, side)) = &nio {
        bots.push(("matrix-nio bot, same lookup", run, side));
    }
    println!();
    println!(
        "Bot-side latency: the reply's origin_server_ts − the command's (Synapse's clock; the client's own costs left out)"
    );
    println!(
        "  {:<62} {:>8} {:>8} {:>8}",
        "(ms, one command at a time)", "p50", "p95", "max"
    );
    for (name, run, side) in &bots {
        row3(&format!("{name} ×{}", run.samples.len()), side);
    }
    println!();
    println!("Round trip at the admin's client: sends `!user <id>` → has the reply");
    for (name, run, _) in &bots {
        row3(&format!("{name} ×{}", run.samples.len()), &run.round_trip);
    }
    row3(
        "  of which Syndic's commands: the client's send call (encrypt + PUT)",
        &syndic.send_call,
    );
    row3(
        &format!("Admin API GET /v2/users/<id> direct (reqwest, keep-alive) ×{direct_calls}"),
        &direct,
    );
    if let Some(s) = &synadm {
        row3(
            &format!("synadm user details <id> ×{synadm_runs} (process start → exit)"),
            s,
        );
    }
    println!(
        "  other processes used {:.2} of {} cores during Syndic's commands",
        syndic.others_cores,
        cpus()
    );
    println!(
        "  where Syndic's round trip goes (split at Synapse's origin_server_ts; p50 / p95 ms):"
    );
    for (name, s) in &phases {
        println!("    {name:<76} {:>7.1} {:>7.1}", s.p50, s.p95);
    }
    println!();
    println!(
        "Syndic's spans ({span_commands} commands, SYNDIC_PROFILE_SPANS=1; busy = CPU, wall = busy + idle)"
    );
    println!(
        "  {:<14} {:>6} {:>10} {:>10} {:>10} {:>10}",
        "span", "count", "busy p50", "busy p95", "wall p50", "wall p95"
    );
    for s in &spans {
        println!(
            "  {:<14} {:>6} {:>10.2} {:>10.2} {:>10.2} {:>10.2}",
            s.name, s.busy.n, s.busy.p50, s.busy.p95, s.wall.p50, s.wall.p95
        );
    }
    println!("  Syndic's bot-side latency in that pass, split at its span starts (p50 / p95 ms):");
    for (name, s) in &legs {
        println!("    {name:<96} {:>7.1} {:>7.1}", s.p50, s.p95);
    }
    println!();
    println!("CPU and memory of each bot's process (/proc/<pid>; MB = 10^6 bytes)");
    println!(
        "  {:<44} {:>10} {:>12} {:>12}",
        "", "CPU/cmd", "idle RSS", "RSS after"
    );
    for (name, run, _) in &bots {
        println!(
            "  {:<44} {:>7.2} ms {:>9.1} MB {:>9.1} MB",
            name,
            run.cpu_ms_per_command,
            mb(run.idle.rss_kib),
            mb(run.after.rss_kib)
        );
    }
    println!(
        "  Syndic idle: {:.1} MB anonymous (heap, stacks; {} threads), {:.1} MB file-backed (code)",
        mb(syndic.idle.anon_kib),
        syndic.idle.threads,
        mb(syndic.idle.file_kib)
    );
    println!(
        "  Syndic peak RSS (VmHWM{}) during a {import_rows}-row import ({:.1} s): {:.1} MB",
        if peak_was_reset {
            ", reset before"
        } else {
            " since start"
        },
        import_time.as_secs_f64(),
        mb(during_import.hwm_kib)
    );
    println!(
        "  Syndic idle RSS after a restart on the warm store: {:.1} MB",
        mb(idle_warm.rss_kib)
    );
    println!(
        "  release binary: {:.1} MB ({})",
        binary_bytes as f64 / 1e6,
        env.bin.display()
    );
    println!();
    println!("Start-up on the warm store ({restarts} restarts; median / max)");
    println!(
        "  {:<62} {:>8.0} {:>8.0} ms",
        "process start → \"ready\" logged", ready_s.p50, ready_s.max
    );
    println!(
        "  {:<62} {:>8.0} {:>8.0} ms",
        "process start → reply to `!ping` (sent at spawn) received", answered_s.p50, answered_s.max
    );
    println!(
        "  {:<62} {:>8.0} {:>8.0} ms",
        "SIGTERM → exit", shutdown_s.p50, shutdown_s.max
    );
    println!();
    let pong_side = &pong.1;
    let mut goals = vec![
        (
            "bot-side p50 within 15 ms of the pong bot's".to_owned(),
            format!("{:+.1} ms", syndic_side.p50 - pong_side.p50),
            syndic_side.p50 - pong_side.p50 <= GOAL_P50_OVER_PONG_MS,
        ),
        (
            "bot-side p95 within 30 ms of the pong bot's".to_owned(),
            format!("{:+.1} ms", syndic_side.p95 - pong_side.p95),
            syndic_side.p95 - pong_side.p95 <= GOAL_P95_OVER_PONG_MS,
        ),
    ];
    if let Some((_, nio_side)) = &nio {
        goals.push((
            "bot-side p50 ≤ 0.6× the matrix-nio bot's".to_owned(),
            format!("{:.2}×", syndic_side.p50 / nio_side.p50),
            syndic_side.p50 / nio_side.p50 <= GOAL_VS_NIO,
        ));
    }
    goals.extend([
        (
            "CPU per command ≤ 5 ms".to_owned(),
            format!("{:.2} ms", syndic.cpu_ms_per_command),
            syndic.cpu_ms_per_command <= GOAL_CPU_MS,
        ),
        (
            "idle RSS ≤ 30 MB".to_owned(),
            format!("{:.1} MB", mb(syndic.idle.rss_kib)),
            mb(syndic.idle.rss_kib) <= GOAL_IDLE_RSS_MB,
        ),
        (
            format!("RSS after {} commands ≤ 35 MB", WARMUP + commands),
            format!("{:.1} MB", mb(syndic.after.rss_kib)),
            mb(syndic.after.rss_kib) <= GOAL_RSS_AFTER_MB,
        ),
        (
            "release binary ≤ 30 MB".to_owned(),
            format!("{:.1} MB", binary_bytes as f64 / 1e6),
            binary_bytes as f64 / 1e6 <= GOAL_BINARY_MB,
        ),
        (
            "start-up ≤ 0.5 s, warm store (start → first command answered, median)".to_owned(),
            format!("{:.0} ms", answered_s.p50),
            answered_s.p50 <= GOAL_STARTUP_MS,
        ),
    ]);
    println!("Goals");
    for (goal, value, ok) in &goals {
        println!("  {goal:<70} {value:>10}  {}", verdict(*ok));
    }

    let bot_json = |run: &TimedRun, side: &Summary| {
        json!({
            "bot_side": side.json(),
            "round_trip": run.round_trip.json(),
            "cpu_ms_per_command": round2(run.cpu_ms_per_command),
            "idle_rss_mb": round2(mb(run.idle.rss_kib)),
            "rss_after_mb": round2(mb(run.after.rss_kib)),
            "commands": run.samples.len(),
        })
    };
    let results = json!({
        "synapse": SYNAPSE_VERSION,
        "command": "!user <id>",
        "syndic": bot_json(&syndic, &syndic_side),
        "pong_bot": bot_json(&pong.0, &pong.1),
        "nio_bot": nio.as_ref().map(|(run, side)| bot_json(run, side)),
        "ratio_syndic_to_nio_bot_side_p50": nio.as_ref().map(|(_, side)| round2(syndic_side.p50 / side.p50)),
        "syndic_send_call": syndic.send_call.json(),
        "direct_admin_api": direct.json(),
        "synadm": synadm.as_ref().map(Summary::json),
        "other_processes_cores": round2(syndic.others_cores),
        "phases": phases.iter().map(|(n, s)| json!({"phase": n, "summary": s.json()})).collect::<Vec<_>>(),
        "span_legs": legs.iter().map(|(n, s)| json!({"leg": n, "summary": s.json()})).collect::<Vec<_>>(),
        "spans": spans.iter().map(|s| json!({"span": s.name, "busy": s.busy.json(), "wall": s.wall.json()})).collect::<Vec<_>>(),
        "memory_mb": {
            "idle_rss_anon": round2(mb(syndic.idle.anon_kib)),
            "idle_rss_file": round2(mb(syndic.idle.file_kib)),
            "idle_threads": syndic.idle.threads,
            "import_peak_hwm": round2(mb(during_import.hwm_kib)),
            "import_peak_reset_before": peak_was_reset,
            "import_rows": import_rows,
            "import_seconds": round2(import_time.as_secs_f64()),
            "idle_rss_warm_restart": round2(mb(idle_warm.rss_kib)),
        },
        "binary_mb": round2(binary_bytes as f64 / 1e6),
        "startup_warm_store": {
            "ready": ready_s.json(),
            "first_command_answered": answered_s.json(),
            "shutdown": shutdown_s.json(),
            "first_start_fresh_store_ready_ms": round2(ms(first_ready)),
        },
        "goals": goals.iter().map(|(g, v, ok)| json!({"goal": g, "value": v, "met": ok})).collect::<Vec<_>>(),
    });
    write_results("results.json", &results);
    keep_synapse_log(synapse, "synapse.log");
}

/// What one bot did for a run of timed commands.
struct TimedRun {
    samples: Vec<Sample>,
    round_trip: Summary,
    send_call: Summary,
    cpu_ms_per_command: f64,
    /// Cores the other processes (Synapse, the client) used meanwhile.
    others_cores: f64,
    /// Before the warm-up, 2 s after the bot was ready.
    idle: Memory,
    after: Memory,
}

/// `WARMUP` untimed, then `n` timed `command`s, one at a time, each answered by `bot_id`
/// (checked with `check`); CPU and memory of `bot` around them.
async fn timed_commands(
    env: &Env,
    bot: &BotProcess,
    bot_id: &UserId,
    command: &str,
    n: usize,
    check: &dyn Fn(&ReceivedMessage),
) -> TimedRun {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = bot.memory();
    for _ in 0..WARMUP {
        let mark = env.admin.mark();
        let id = env.say(command).await;
        check(&env.reply_from(mark, &id, bot_id, REPLY_TIMEOUT).await);
    }
    // Let the warm-up's trailing work (reactions) finish before the CPU count starts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ticks = clock_ticks_per_second();
    let synapse_pids = synapse_pids(env.synapse.log_path());
    let others = OtherLoad::start(&[&synapse_pids[..], &[bot.pid()]].concat());
    let cpu_before = bot.cpu_ticks();
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let mark = env.admin.mark();
        let sent_wall_ms = wall_ms();
        let t0 = Instant::now();
        let id = env.say(command).await;
        let send_call = t0.elapsed();
        let reply = env.reply_from(mark, &id, bot_id, REPLY_TIMEOUT).await;
        let round_trip = t0.elapsed();
        check(&reply);
        samples.push(Sample {
            command: id,
            reply: reply.event_id,
            sent_wall_ms,
            received_wall_ms: sent_wall_ms + ms(round_trip),
            round_trip,
            send_call,
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu_after = bot.cpu_ticks();
    TimedRun {
        round_trip: Summary::of(&samples.iter().map(|s| s.round_trip).collect::<Vec<_>>()),
        send_call: Summary::of(&samples.iter().map(|s| s.send_call).collect::<Vec<_>>()),
        cpu_ms_per_command: (cpu_after - cpu_before) as f64 / ticks as f64 / n as f64 * 1000.0,
        others_cores: others.cores(),
        after: bot.memory(),
        idle,
        samples,
    }
}

/// Reply stamped − command stamped, by Synapse's clock.
async fn bot_side(env: &Env, samples: &[Sample]) -> Summary {
    let http = http();
    let mut sides = Vec::with_capacity(samples.len());
    for s in samples {
        let command_ts = env.origin_ts(&http, &s.command).await;
        let reply_ts = env.origin_ts(&http, &s.reply).await;
        sides.push(reply_ts - command_ts);
    }
    Summary::of_ms(&sides)
}

/// A comparison bot's account, invited to the benchmark room; its store directory.
async fn comparison_account(
    env: &Env,
    prefix: &str,
    server_admin: bool,
) -> (RegisteredUser, PathBuf) {
    let localpart = env.synapse.unique_localpart(prefix);
    let user = env
        .synapse
        .register(&localpart, &format!("pw-{localpart}"), server_admin)
        .await;
    let user_id = OwnedUserId::try_from(user.user_id.as_str()).expect("a user id");
    // Syndic lifts its own rate limit at start; the comparison bots get the same.
    env.synapse
        .admin_post(
            &format!("/_synapse/admin/v1/users/{user_id}/override_ratelimit"),
            &json!({ "messages_per_second": 0, "burst_count": 0 }),
        )
        .await;
    env.admin.invite(&env.room_id, &user_id).await;
    let dir = env.synapse.scratch_dir().join(format!("{prefix}-store"));
    std::fs::create_dir_all(&dir).expect("the comparison bot's store directory");
    (user, dir)
}

/// The minimal matrix-sdk bot ([`support::pong`]), as its own process.
async fn run_pong_bot(env: &Env, command: &str, n: usize) -> (TimedRun, Summary) {
    let (user, dir) = comparison_account(env, "pong-bot", false).await;
    let config = PongConfig {
        homeserver: env.synapse.url().to_string(),
        user_id: OwnedUserId::try_from(user.user_id.as_str()).expect("a user id"),
        localpart: user.localpart.clone(),
        password: user.password.clone(),
        room_id: env.room_id.clone(),
        store_path: dir.join("store"),
    };
    let config_path = dir.join("pong.json");
    std::fs::write(&config_path, serde_json::to_vec(&config).expect("JSON"))
        .expect("writing the pong bot's config");
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let mut bot = BotProcess::spawn_program(
        &exe,
        &["pong-bot".as_ref(), config_path.as_os_str()],
        &[],
        &env.out_dir.join("pong-bot.log"),
    );
    bot.wait_ready(FIRST_START).await;
    env.admin
        .wait_for_join(&env.room_id, &config.user_id, Duration::from_secs(60))
        .await;
    let pong = |reply: &ReceivedMessage| assert_eq!(reply.body, "pong");
    let run = timed_commands(env, &bot, &config.user_id, command, n, &pong).await;
    bot.stop();
    let side = bot_side(env, &run.samples).await;
    (run, side)
}

/// The matrix-nio bot (`benches/nio_bot.py`) from the bench's venv, as its own process; `None`
/// (said) if that venv is missing (`scripts/bench` installs it).
async fn run_nio_bot(
    env: &Env,
    command: &str,
    n: usize,
    check: &dyn Fn(&ReceivedMessage),
) -> Option<(TimedRun, Summary)> {
    let python = std::env::var_os("NIO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("bench/nio-venv/bin/python"));
    if !python.exists() {
        println!(
            "matrix-nio not found at {} (scripts/bench installs it): its row is skipped",
            python.display()
        );
        return None;
    }
    println!("{WARMUP} warm-up + {n} × the same command answered by a matrix-nio bot...");
    let (user, dir) = comparison_account(env, "nio-bot", true).await;
    let config = json!({
        "homeserver": env.synapse.url().as_str(),
        "user_id": user.user_id,
        "password": user.password,
        "room_id": env.room_id.as_str(),
        "store_path": dir.display().to_string(),
    });
    let config_path = dir.join("nio.json");
    std::fs::write(&config_path, config.to_string()).expect("writing the nio bot's config");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/nio_bot.py");
    let mut bot = BotProcess::spawn_program(
        &python,
        &[script.as_os_str(), config_path.as_os_str()],
        &[("PYTHONUNBUFFERED", "1")],
        &env.out_dir.join("nio-bot.log"),
    );
    bot.wait_ready(FIRST_START).await;
    let user_id = OwnedUserId::try_from(user.user_id.as_str()).expect("a user id");
    env.admin
        .wait_for_join(&env.room_id, &user_id, Duration::from_secs(60))
        .await;
    let run = timed_commands(env, &bot, &user_id, command, n, check).await;
    bot.stop();
    let side = bot_side(env, &run.samples).await;
    Some((run, side))
}

/// Busy (CPU) and wall (busy + idle) time of one span of the message path, in ms.
struct SpanTimes {
    name: String,
    busy: Summary,
    wall: Summary,
}

/// Syndic restarted with `SYNDIC_PROFILE_SPANS=1` and JSON logs for `n` commands; the span
/// lines of its log, by span name, in the order of the message path.
async fn span_breakdown(
    env: &Env,
    command: &str,
    n: usize,
    check: &dyn Fn(&ReceivedMessage),
) -> (Vec<SpanTimes>, Vec<(&'static str, Summary)>) {
    let config = std::fs::read_to_string(&env.config_path).expect("bot.toml");
    let config_path = env.config_path.with_file_name("bot-spans.toml");
    std::fs::write(
        &config_path,
        format!("{config}\n[log]\nformat = \"json\"\n"),
    )
    .expect("writing bot-spans.toml");
    let log = env.out_dir.join("bot-spans.log");
    let _ = std::fs::remove_file(&log);
    let mut bot = BotProcess::spawn_program(
        &env.bin,
        &["run".as_ref(), "--config".as_ref(), config_path.as_os_str()],
        &[("SYNDIC_PROFILE_SPANS", "1")],
        &log,
    );
    bot.wait_ready(Duration::from_secs(60)).await;
    let run = timed_commands(env, &bot, &env.bot_user_id, command, n, check).await;
    bot.stop();
    let text = std::fs::read_to_string(&log).expect("bot-spans.log");
    let mut by_name: Vec<(String, Vec<f64>, Vec<f64>)> = Vec::new();
    // Per command event: when its `command` and `reply` spans started (ms since the epoch).
    let mut starts: std::collections::HashMap<(String, &'static str), f64> =
        std::collections::HashMap::new();
    for line in text.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let fields = &entry["fields"];
        if fields["message"] != "close" {
            continue;
        }
        let (Some(name), Some(busy), Some(idle)) = (
            entry["span"]["name"].as_str(),
            fields["time.busy"].as_str().and_then(duration_ms),
            fields["time.idle"].as_str().and_then(duration_ms),
        ) else {
            continue;
        };
        let closed_ms = entry["timestamp"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_micros() as f64 / 1000.0);
        let event = std::iter::once(&entry["span"])
            .chain(entry["spans"].as_array().into_iter().flatten())
            .find(|s| s["name"] == "command")
            .and_then(|s| s["event_id"].as_str());
        if let (Some(closed), Some(event)) = (closed_ms, event) {
            for leg in ["command", "reply"] {
                if name == leg {
                    starts.insert((event.to_owned(), leg), closed - busy - idle);
                }
            }
        }
        match by_name.iter_mut().find(|(n, _, _)| n == name) {
            Some((_, b, w)) => {
                b.push(busy);
                w.push(busy + idle);
            }
            None => by_name.push((name.to_owned(), vec![busy], vec![busy + idle])),
        }
    }
    let order = |name: &str| {
        SPAN_ORDER
            .iter()
            .position(|s| *s == name)
            .unwrap_or(usize::MAX)
    };
    by_name.sort_by_key(|(name, _, _)| order(name));
    // Only the message path's spans are reported (matrix-sdk's own push-rule spans are not).
    by_name.retain(|(name, _, _)| order(name) != usize::MAX);
    let spans = by_name
        .into_iter()
        .map(|(name, busy, wall)| SpanTimes {
            name,
            busy: Summary::of_ms(&busy),
            wall: Summary::of_ms(&wall),
        })
        .collect();

    // Each command's bot-side latency split at the span starts (the bot's clock is Synapse's:
    // the same machine).
    let http = http();
    let (mut to_start, mut to_send, mut to_stamp) = (Vec::new(), Vec::new(), Vec::new());
    for s in &run.samples {
        let key = |leg| (s.command.to_string(), leg);
        let (Some(started), Some(sending)) =
            (starts.get(&key("command")), starts.get(&key("reply")))
        else {
            continue;
        };
        let command_ts = env.origin_ts(&http, &s.command).await;
        let reply_ts = env.origin_ts(&http, &s.reply).await;
        to_start.push(started - command_ts);
        to_send.push(sending - started);
        to_stamp.push(reply_ts - sending);
    }
    let legs = if to_start.is_empty() {
        Vec::new()
    } else {
        vec![
            (
                "command stamped → bot starts it (Synapse wakes the sync; matrix-sdk receives, decrypts; gate)",
                Summary::of_ms(&to_start),
            ),
            (
                "bot: claim, parse, plan (the Admin API reads), audit → the reply's send starts",
                Summary::of_ms(&to_send),
            ),
            (
                "reply send starts → Synapse stamps it (encrypt, PUT)",
                Summary::of_ms(&to_stamp),
            ),
        ]
    };
    (spans, legs)
}

/// tracing's span durations (`1.23ms`, `456µs`, `7.8s`, `12ns`) in ms.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "s" => 1000.0,
        "ms" => 1.0,
        "µs" | "us" => 1e-3,
        "ns" => 1e-6,
        _ => return None,
    };
    Some(number * factor)
}

fn row3(name: &str, s: &Summary) {
    println!("  {name:<62} {:>8.1} {:>8.1} {:>8.1}", s.p50, s.p95, s.max);
}

fn check_user_reply(reply: &ReceivedMessage, user_id: &str) {
    assert_eq!(reply.msgtype, "m.notice", "{}", reply.body);
    assert!(
        reply.body.contains(user_id),
        "expected the account {user_id}, got: {}",
        reply.body
    );
}

/// Splits every round trip at Synapse's timestamps of the command, the bot's ⏳ reaction (if
/// it sent one for every command) and the bot's reply.
async fn phases(env: &Env, samples: &[Sample]) -> Vec<(&'static str, Summary)> {
    let http = http();
    let seen = env.admin.seen();
    let (mut to_command, mut to_reply, mut to_client) = (Vec::new(), Vec::new(), Vec::new());
    let (mut to_working, mut working_to_reply) = (Vec::new(), Vec::new());
    for s in samples {
        let command_ts = env.origin_ts(&http, &s.command).await;
        let reply_ts = env.origin_ts(&http, &s.reply).await;
        to_command.push(command_ts - s.sent_wall_ms);
        to_reply.push(reply_ts - command_ts);
        to_client.push(s.received_wall_ms - reply_ts);
        if let Some(working) = env.working_reaction(&seen, &s.command) {
            let working_ts = env.origin_ts(&http, &working).await;
            to_working.push(working_ts - command_ts);
            working_to_reply.push(reply_ts - working_ts);
        }
    }
    let mut legs = vec![
        (
            "client: encrypt, PUT /send → Synapse stamps the command",
            Summary::of_ms(&to_command),
        ),
        (
            "command stamped → reply stamped (Synapse → bot's sync → bot → Synapse)",
            Summary::of_ms(&to_reply),
        ),
    ];
    if to_working.len() == samples.len() {
        legs.push((
            "  Synapse stores, wakes the bot's sync; bot decrypts, gates, sends ⏳",
            Summary::of_ms(&to_working),
        ));
        legs.push((
            "  bot: Admin API lookup, renders, encrypts, sends the reply",
            Summary::of_ms(&working_to_reply),
        ));
    }
    legs.push((
        "reply stamped → client has it (Synapse stores, client's sync, decrypt)",
        Summary::of_ms(&to_client),
    ));
    let stores = command_store_ms(env);
    if !stores.is_empty() {
        legs.push((
            "floor: Synapse storing a command (its PUT /send, access log)",
            Summary::of_ms(&stores),
        ));
    }
    legs
}

/// How long each of the admin's `PUT /send` requests took in Synapse (its access log): the
/// command is stamped as the request starts and reaches no bot's sync before the request ends,
/// so no bot answers sooner than this.
fn command_store_ms(env: &Env) -> Vec<f64> {
    let Ok(log) = std::fs::read_to_string(env.synapse.log_path()) else {
        return Vec::new();
    };
    let who = format!("{{{}}}", env.admin.user_id());
    log.lines()
        .filter(|l| {
            l.contains(&who)
                && l.contains("\"PUT /_matrix/client/v3/rooms/")
                && l.contains("/send/")
        })
        .filter_map(|l| {
            let rest = l.split("Processed request: ").nth(1)?;
            let secs: f64 = rest.split("sec").next()?.parse().ok()?;
            Some(secs * 1000.0)
        })
        .collect()
}

/// Times `synadm user details <id>` (a new process each time, as an admin runs it), after a few
/// untimed runs that compile its Python. `None` if synadm is not installed.
fn run_synadm(env: &Env, admin: &RegisteredUser, user_id: &str, runs: usize) -> Option<Summary> {
    let synadm = std::env::var_os("SYNADM")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("bench/synadm-venv/bin/synadm"));
    if !synadm.exists() {
        println!(
            "synadm not found at {} (scripts/bench installs it): skipped",
            synadm.display()
        );
        return None;
    }
    println!("{runs} × synadm user details...");
    // Its token goes into the scratch dir, which the harness deletes; HOME too (synadm writes a
    // debug log under ~/.local/share).
    let home = env.synapse.scratch_dir().join("synadm-home");
    std::fs::create_dir_all(&home).expect("synadm's HOME");
    let config = home.join("synadm.yaml");
    let base_url = env.synapse.url().as_str().trim_end_matches('/').to_owned();
    let yaml = json!({
        "user": admin.user_id,
        "token": admin.access_token,
        "protocol": "http",
        "base_url": base_url,
        "admin_path": "/_synapse/admin",
        "matrix_path": "/_matrix",
        "timeout": 30,
        "server_discovery": "well-known",
        "homeserver": env.synapse.server_name(),
        "ssl_verify": false,
        "format": "json",
    });
    std::fs::write(&config, yaml.to_string()).expect("writing synadm's config");
    let run = || {
        let t0 = Instant::now();
        let output = Command::new(&synadm)
            .arg("-c")
            .arg(&config)
            .args(["user", "details", user_id])
            .env("HOME", &home)
            .stdin(Stdio::null())
            .output()
            .expect("running synadm");
        let took = t0.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains(user_id),
            "synadm failed ({}): {stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        took
    };
    for _ in 0..3 {
        run();
    }
    let times: Vec<Duration> = (0..runs).map(|_| run()).collect();
    Some(Summary::of(&times))
}

/// Copies Synapse's log (deleted with Synapse) next to the results, for digging.
fn keep_synapse_log(synapse: &Synapse, name: &str) {
    let _ = std::fs::copy(synapse.log_path(), target_dir().join("bench").join(name));
}

fn write_results(name: &str, results: &Value) {
    let path = target_dir().join("bench").join(name);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(results).expect("JSON") + "\n",
    )
    .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    println!();
    println!("results written to {}", path.display());
}

// ---------------------------------------------------------------------------------------------
// scripts/bench-import: bulk import with passwords
// ---------------------------------------------------------------------------------------------

/// A row of the import: localpart, display name, password.
type Row = (String, String, String);

fn rows(prefix: &str, n: usize) -> Vec<Row> {
    use rand::distr::{Alphanumeric, SampleString};
    (0..n)
        .map(|i| {
            (
                format!("{prefix}-{i:05}"),
                format!("Bench User {i}"),
                Alphanumeric.sample_string(&mut rand::rng(), 16),
            )
        })
        .collect()
}

/// The body the bot's import sends for a new user of such a row (`create_body`).
fn create_body(row: &Row) -> Value {
    json!({ "password": row.2, "displayname": row.1, "admin": false, "deactivated": false })
}

async fn bench_import(synapse: &'static Synapse, n: usize) {
    let env = Env::set_up(
        synapse,
        &format!("[import]\nconcurrency = {IMPORT_CONCURRENCY}\n"),
    )
    .await;
    header(
        &format!("Syndic benchmark: bulk import of {n} users with passwords"),
        &env,
    );
    let ticks = clock_ticks_per_second();
    println!("starting the bot...");
    let bot = env.start_bot("bot-import.log").await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The bot: upload → preview → !confirm → summary.
    let bot_rows = rows("bench-bot", n);
    let mut csv = String::from("id,displayname,password\n");
    for (id, name, password) in &bot_rows {
        csv.push_str(&format!("{id},{name},{password}\n"));
    }
    println!("Syndic: uploading {n} rows with `!import-users`, then `!confirm`...");
    let peak_was_reset = bot.reset_peak();
    let synapse_pids = synapse_pids(synapse.log_path());
    let others = OtherLoad::start(&[&synapse_pids[..], &[bot.pid()]].concat());
    let cpu_before = bot.cpu_ticks();
    let t_upload = Instant::now();
    let (_, preview) = env
        .upload_csv(
            "users.csv",
            csv.as_bytes(),
            "!import-users",
            Duration::from_secs(300),
        )
        .await;
    let to_preview = t_upload.elapsed();
    let mark = env.admin.mark();
    let t_confirm = Instant::now();
    let started = env
        .ask(
            &format!("!confirm {}", confirm_code(&preview)),
            REPLY_TIMEOUT,
        )
        .await;
    assert!(started.body.contains("started"), "{}", started.body);
    let summary = env
        .import_summary(
            mark,
            &job_number(&preview),
            Duration::from_secs(120 + 2 * n as u64),
        )
        .await;
    let job_only = t_confirm.elapsed();
    let end_to_end = t_upload.elapsed();
    let bot_memory: Memory = bot.memory();
    let bot_cpu = (bot.cpu_ticks() - cpu_before) as f64 / ticks as f64;
    let others_bot = others.cores();
    assert_eq!(
        count_after(&summary.body, "Created:"),
        Some(n as u64),
        "summary: {}",
        summary.body
    );
    drop(bot);

    let admin_token = env.server_admin().await.access_token;
    let http = http();
    let user_url = |localpart: &str| {
        synapse.endpoint(&format!(
            "/_synapse/admin/v2/users/@{localpart}:{}",
            synapse.server_name()
        ))
    };

    // (a) The same PUTs, sent directly with the bot's concurrency: the server's own limit.
    println!(
        "(a) direct: {n} × PUT /_synapse/admin/v2/users/<id>, {IMPORT_CONCURRENCY} at a time..."
    );
    let direct_rows = rows("bench-direct", n);
    let others = OtherLoad::start(&synapse_pids);
    let t0 = Instant::now();
    let mut puts = futures_util::stream::iter(direct_rows.iter())
        .map(|row| {
            let http = http.clone();
            let url = user_url(&row.0);
            let token = admin_token.clone();
            async move {
                let r = http
                    .put(url.clone())
                    .bearer_auth(token)
                    .json(&create_body(row))
                    .send()
                    .await
                    .expect("PUT");
                assert_eq!(r.status().as_u16(), 201, "PUT {url}");
            }
        })
        .buffer_unordered(IMPORT_CONCURRENCY);
    while puts.next().await.is_some() {}
    let direct = t0.elapsed();
    let others_direct = others.cores();

    // (b) What synapse-admin does: for each row, GET (does it exist?) then PUT, one at a time.
    println!("(b) sequential: {n} × (GET + PUT), one row at a time...");
    let sequential_rows = rows("bench-seq", n);
    let others = OtherLoad::start(&synapse_pids);
    let t0 = Instant::now();
    for row in &sequential_rows {
        let url = user_url(&row.0);
        let r = http
            .get(url.clone())
            .bearer_auth(&admin_token)
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status().as_u16(), 404, "GET {url}");
        let r = http
            .put(url.clone())
            .bearer_auth(&admin_token)
            .json(&create_body(row))
            .send()
            .await
            .expect("PUT");
        assert_eq!(r.status().as_u16(), 201, "PUT {url}");
    }
    let sequential = t0.elapsed();
    let others_sequential = others.cores();

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let (e2e_rate, job_rate) = (rate(end_to_end), rate(job_only));
    let (direct_rate, sequential_rate) = (rate(direct), rate(sequential));
    println!();
    println!("Import of {n} users with passwords (Synapse bcrypt-hashes each one)");
    println!(
        "  {:<76} {:>8} {:>9} {:>8}",
        "", "seconds", "users/s", "others*"
    );
    let line = |name: &str, d: Duration, r: Option<f64>, others: Option<f64>| {
        println!(
            "  {name:<76} {:>8.1} {:>9} {:>8}",
            d.as_secs_f64(),
            r.map(|r| format!("{r:.2}")).unwrap_or_default(),
            others.map(|o| format!("{o:.2}")).unwrap_or_default()
        );
    };
    line(
        "Syndic end to end: upload → `Import #N finished.`",
        end_to_end,
        Some(e2e_rate),
        Some(others_bot),
    );
    line(
        "  of which upload → preview (download, parse, 1 GET per row, 8 at a time)",
        to_preview,
        None,
        None,
    );
    line(
        &format!(
            "Syndic job only: `!confirm` → summary (GET + PUT per row, {IMPORT_CONCURRENCY} at a time)"
        ),
        job_only,
        Some(job_rate),
        None,
    );
    line(
        &format!("(a) PUT per row sent directly, {IMPORT_CONCURRENCY} at a time (server's limit)"),
        direct,
        Some(direct_rate),
        Some(others_direct),
    );
    line(
        "(b) GET + PUT per row, sequential (as synapse-admin)",
        sequential,
        Some(sequential_rate),
        Some(others_sequential),
    );
    println!(
        "  * cores (of {}) used by other processes on the machine meanwhile: the figures compare only if these are alike and low",
        cpus()
    );
    println!(
        "  ratios: end to end / (a) = {:.2}, job only / (a) = {:.2}, end to end / (b) = {:.2}, job only / (b) = {:.2}",
        e2e_rate / direct_rate,
        job_rate / direct_rate,
        e2e_rate / sequential_rate,
        job_rate / sequential_rate
    );
    println!(
        "  bot: peak RSS (VmHWM{}) {:.1} MB; CPU {:.1} s for the import",
        if peak_was_reset {
            ", reset before the upload"
        } else {
            " since start"
        },
        mb(bot_memory.hwm_kib),
        bot_cpu
    );
    let goals = [
        (
            "≥ 0.9 × (a), end to end".to_owned(),
            e2e_rate / direct_rate,
            e2e_rate / direct_rate >= GOAL_VS_DIRECT,
        ),
        (
            "≥ 0.9 × (a), job only".to_owned(),
            job_rate / direct_rate,
            job_rate / direct_rate >= GOAL_VS_DIRECT,
        ),
        (
            "≥ 1.8 × (b), end to end".to_owned(),
            e2e_rate / sequential_rate,
            e2e_rate / sequential_rate >= GOAL_VS_SEQUENTIAL,
        ),
        (
            "≥ 1.8 × (b), job only".to_owned(),
            job_rate / sequential_rate,
            job_rate / sequential_rate >= GOAL_VS_SEQUENTIAL,
        ),
    ];
    println!(
        "Goals (set for N = 500{})",
        if n == 500 { "" } else { "; this run is not" }
    );
    for (goal, value, ok) in &goals {
        println!("  {goal:<40} {value:>6.2}×  {}", verdict(*ok));
    }
    let results = json!({
        "synapse": SYNAPSE_VERSION,
        "rows": n,
        "concurrency": IMPORT_CONCURRENCY,
        "bot_end_to_end": { "seconds": round2(end_to_end.as_secs_f64()), "users_per_s": round2(e2e_rate) },
        "bot_upload_to_preview_seconds": round2(to_preview.as_secs_f64()),
        "bot_job_only": { "seconds": round2(job_only.as_secs_f64()), "users_per_s": round2(job_rate) },
        "direct_concurrent": { "seconds": round2(direct.as_secs_f64()), "users_per_s": round2(direct_rate) },
        "sequential_get_put": { "seconds": round2(sequential.as_secs_f64()), "users_per_s": round2(sequential_rate) },
        "bot_peak_rss_mb": round2(mb(bot_memory.hwm_kib)),
        "bot_peak_reset_before": peak_was_reset,
        "bot_cpu_seconds": round2(bot_cpu),
        "other_processes_cores": { "bot": round2(others_bot), "direct_concurrent": round2(others_direct), "sequential_get_put": round2(others_sequential) },
        "goals": goals.iter().map(|(g, v, ok)| json!({"goal": g, "value": round2(*v), "met": ok})).collect::<Vec<_>>(),
    });
    write_results("import-results.json", &results);
    keep_synapse_log(synapse, "synapse-import.log");
}

// ---------------------------------------------------------------------------------------------
// scripts/bench suspend: a set of users suspended as one job
// ---------------------------------------------------------------------------------------------

/// Accounts the users job works on at once (`crate::jobs::users`).
const USERS_JOB_CONCURRENCY: usize = 4;

/// Creates `n` accounts `<prefix>-<i>` for each prefix, without passwords (no bcrypt: only the
/// suspension is measured), in the order `a-0, b-0, a-1, b-1, …`. Interleaved because Synapse
/// caches its last 500 account lookups (`get_user_by_id`, 1,000 × the default cache factor 0.5),
/// which the suspend endpoint reads: a set created last would be served from that cache and the
/// other from the database.
async fn create_accounts(
    synapse: &Synapse,
    token: &str,
    prefixes: [&str; 2],
    n: usize,
) -> [Vec<String>; 2] {
    let http = http();
    let ids: Vec<(usize, usize)> = (0..n).flat_map(|i| [(0, i), (1, i)]).collect();
    let created: Vec<(usize, String)> = futures_util::stream::iter(ids)
        .map(|(set, i)| {
            let http = http.clone();
            let id = format!("@{}-{i}:{}", prefixes[set], synapse.server_name());
            let url = synapse.endpoint(&format!("/_synapse/admin/v2/users/{id}"));
            let token = token.to_owned();
            async move {
                let r = http
                    .put(url)
                    .bearer_auth(token)
                    .json(&json!({ "displayname": format!("Spam {i}") }))
                    .send()
                    .await
                    .expect("PUT");
                assert!(r.status().is_success(), "create {id}: {}", r.status());
                (set, id)
            }
        })
        .buffered(8)
        .collect()
        .await;
    let mut sets = [Vec::with_capacity(n), Vec::with_capacity(n)];
    for (set, id) in created {
        sets[set].push(id);
    }
    sets
}

async fn bench_suspend(synapse: &'static Synapse, n: usize) {
    let env = Env::set_up(synapse, "").await;
    header(
        &format!("Syndic benchmark: a bulk !suspend of {n} users"),
        &env,
    );
    let results = bulk_suspend(&env, n).await;
    write_results("suspend-results.json", &results);
    keep_synapse_log(synapse, "synapse-suspend.log");
}

/// A bulk `!suspend` of `n` new accounts through the bot (which it starts and stops), then the
/// same suspensions sent directly; prints the comparison and returns it as JSON.
async fn bulk_suspend(env: &Env, n: usize) -> Value {
    let synapse = env.synapse;
    let admin_token = env.server_admin().await.access_token;
    let tag = std::process::id();
    let bot_prefix = format!("bsus-bot-{tag}");
    let direct_prefix = format!("bsus-direct-{tag}");
    println!("creating 2 × {n} accounts...");
    let [_, direct_users] =
        create_accounts(synapse, &admin_token, [&bot_prefix, &direct_prefix], n).await;
    println!("starting the bot...");
    let bot = env.start_bot("bot-suspend.log").await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The bot: preview (the set resolved from the user list) → !confirm → summary.
    println!("Syndic: `!suspend --regex '^@{bot_prefix}-' --force`, then `!confirm`...");
    let synapse_pids = synapse_pids(synapse.log_path());
    let others = OtherLoad::start(&[&synapse_pids[..], &[bot.pid()]].concat());
    let t_ask = Instant::now();
    let preview = env
        .ask(
            &format!("!suspend --regex '^@{bot_prefix}-' --force"),
            Duration::from_secs(300),
        )
        .await;
    let to_preview = t_ask.elapsed();
    assert!(
        preview.body.contains(&format!("Suspending {n} users")),
        "{}",
        preview.body
    );
    let job = job_number(&preview);
    let mark = env.admin.mark();
    let t_confirm = Instant::now();
    let started = env
        .ask(
            &format!("!confirm {}", confirm_code(&preview)),
            REPLY_TIMEOUT,
        )
        .await;
    assert!(started.body.contains("started"), "{}", started.body);
    let bot_user = env.bot_user_id.clone();
    let head = format!("Job #{job} finished");
    let summary = env
        .admin
        .wait_for_message_after(
            mark,
            &env.room_id,
            move |m| m.sender == bot_user && m.replaces.is_none() && m.body.starts_with(&head),
            Duration::from_secs(120 + n as u64),
        )
        .await;
    let job_only = t_confirm.elapsed();
    let end_to_end = t_ask.elapsed();
    // The job as the bot ran it: from Synapse's stamp on "Job #N started" (sent as the job
    // starts) to its stamp on the summary, so neither client's sync delay is counted.
    let bot_side = Duration::from_millis(
        summary
            .origin_server_ts
            .saturating_sub(started.origin_server_ts),
    );
    let others_bot = others.cores();
    assert_eq!(
        count_after(&summary.body, "Done:"),
        Some(n as u64),
        "summary: {}",
        summary.body
    );
    drop(bot);

    // Direct: the same PUT /_synapse/admin/v1/suspend/<id> per user, at the job's concurrency.
    println!(
        "direct: {n} × PUT /_synapse/admin/v1/suspend/<id>, {USERS_JOB_CONCURRENCY} at a time..."
    );
    let http = http();
    let others = OtherLoad::start(&synapse_pids);
    let t0 = Instant::now();
    let mut puts = futures_util::stream::iter(direct_users.iter())
        .map(|id| {
            let http = http.clone();
            let url = synapse.endpoint(&format!("/_synapse/admin/v1/suspend/{id}"));
            let token = admin_token.clone();
            async move {
                let r = http
                    .put(url)
                    .bearer_auth(token)
                    .json(&json!({ "suspend": true }))
                    .send()
                    .await
                    .expect("PUT");
                assert!(r.status().is_success(), "suspend: {}", r.status());
            }
        })
        .buffer_unordered(USERS_JOB_CONCURRENCY);
    while puts.next().await.is_some() {}
    let direct = t0.elapsed();
    let others_direct = others.cores();

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!();
    println!("Bulk suspension of {n} users, {USERS_JOB_CONCURRENCY} at a time");
    println!(
        "  {:<70} {:>8} {:>9} {:>8}",
        "", "seconds", "users/s", "others*"
    );
    let line = |name: &str, d: Duration, others: Option<f64>| {
        println!(
            "  {name:<70} {:>8.1} {:>9.1} {:>8}",
            d.as_secs_f64(),
            rate(d),
            others.map(|o| format!("{o:.2}")).unwrap_or_default()
        );
    };
    line(
        "Syndic end to end: command → `Job #N finished`",
        end_to_end,
        Some(others_bot),
    );
    println!(
        "  {:<70} {:>8.1}",
        "  of which command → preview (list all users, match, rules)",
        to_preview.as_secs_f64()
    );
    line(
        "Syndic job only, at the client: `!confirm` sent → summary received",
        job_only,
        None,
    );
    line(
        "Syndic job, bot-side: `Job #N started` → summary (Synapse's stamps)",
        bot_side,
        None,
    );
    line(
        "direct: PUT per user, same concurrency",
        direct,
        Some(others_direct),
    );
    println!(
        "  * cores (of {}) used by other processes meanwhile",
        cpus()
    );
    println!(
        "  ratios: job bot-side / direct = {:.2}, job at the client / direct = {:.2}, end to end / direct = {:.2}",
        rate(bot_side) / rate(direct),
        rate(job_only) / rate(direct),
        rate(end_to_end) / rate(direct)
    );
    json!({
        "synapse": SYNAPSE_VERSION,
        "users": n,
        "concurrency": USERS_JOB_CONCURRENCY,
        "bot_end_to_end": { "seconds": round2(end_to_end.as_secs_f64()), "users_per_s": round2(rate(end_to_end)) },
        "bot_preview_seconds": round2(to_preview.as_secs_f64()),
        "bot_job_only": { "seconds": round2(job_only.as_secs_f64()), "users_per_s": round2(rate(job_only)) },
        "direct": { "seconds": round2(direct.as_secs_f64()), "users_per_s": round2(rate(direct)) },
        "other_processes_cores": { "bot": round2(others_bot), "direct": round2(others_direct) },
        "bot_job_bot_side": { "seconds": round2(bot_side.as_secs_f64()), "users_per_s": round2(rate(bot_side)) },
        "ratio_job_to_direct": round2(rate(job_only) / rate(direct)),
        "ratio_bot_side_job_to_direct": round2(rate(bot_side) / rate(direct)),
    })
}
