//! `scripts/bench-scale [N]`: Syndic on a server with N users (default 20,000), made directly in
//! Synapse's SQLite database in one transaction (no passwords, so no bcrypt: seconds, not hours),
//! with media rows for about 300 of them. Measures `!users --search` (p50), `!export-users` (the
//! bot's peak RSS while it streams every user), `!purge-media`'s preview (how many users its
//! 8-second budget lists and how far its estimate is from the truth) and a bulk `!suspend` of 500
//! users against the same calls sent directly. Writes `target/bench/scale-results.json`.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::params;
use serde_json::json;

use super::support::env::Env;
use super::support::stats::{Summary, ms, round2, verdict};
use super::support::synapse::Synapse;
use super::{REPLY_TIMEOUT, bulk_suspend, header, keep_synapse_log, mb, write_results};

const SEARCHES: usize = 20;
const MEDIA_USERS: usize = 300;
/// Files per media user: half of them last accessed 400 days ago, half today.
const FILES_PER_MEDIA_USER: usize = 4;
const SUSPEND_USERS: usize = 500;
const GOAL_SEARCH_P50_MS: f64 = 300.0;
const GOAL_EXPORT_PEAK_MB: f64 = 60.0;
const GOAL_SUSPEND_VS_DIRECT: f64 = 0.9;

/// What the seeded media really are: the old files `!purge-media 90d` would delete.
struct Truth {
    old_files: u64,
    old_bytes: u64,
}

pub(super) async fn bench_scale(synapse: &'static Synapse, n: usize) {
    let Some(db) = synapse.sqlite_path() else {
        panic!(
            "bench-scale makes its users in Synapse's SQLite database: run it without SYNDIC_TEST_DATABASE"
        );
    };
    let env = Env::set_up(synapse, "").await;
    header(&format!("Syndic benchmark: a server with {n} users"), &env);
    let prefix = format!("scale{}", std::process::id());
    let t0 = Instant::now();
    let truth = seed(&db, &prefix, n, synapse.server_name());
    println!(
        "made {n} users and {} media rows in Synapse's database in {:.1} s",
        MEDIA_USERS * FILES_PER_MEDIA_USER,
        t0.elapsed().as_secs_f64()
    );
    let mut bot = env.start_bot("bot-scale.log").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = bot.memory();

    // 1. `!users --search`, each term matching one account.
    println!("{SEARCHES} × `!users --search <name>`...");
    let http = super::support::env::http();
    let (mut round_trips, mut sides) = (Vec::new(), Vec::new());
    for i in 0..SEARCHES {
        let name = format!("{prefix}-{:05}", (i * 997 + 13) % n);
        let mark = env.admin.mark();
        let t = Instant::now();
        let id = env.say(&format!("!users --search {name}")).await;
        let reply = env.reply_to(mark, &id, REPLY_TIMEOUT).await;
        round_trips.push(t.elapsed());
        assert!(reply.body.contains(&name), "{}", reply.body);
        sides.push(env.origin_ts(&http, &reply.event_id).await - env.origin_ts(&http, &id).await);
    }
    let search = Summary::of(&round_trips);
    let search_side = Summary::of_ms(&sides);

    // 2. `!purge-media`'s preview: what the budget covers, and its estimate against the truth.
    println!("`!purge-media 90d --local-only --dry-run`...");
    let t = Instant::now();
    let preview = env
        .ask(
            "!purge-media 90d --local-only --dry-run",
            Duration::from_secs(120),
        )
        .await;
    let preview_time = t.elapsed();
    let preview_line = preview
        .body
        .lines()
        .find(|l| l.contains("Local uploads:"))
        .unwrap_or_else(|| panic!("no local uploads line in: {}", preview.body))
        .trim()
        .to_owned();
    let numbers = numbers_in(&preview_line);
    // "at least A files, …, about B files, … (estimate: S of T users …)" or "A files, …".
    let (found, estimated, scanned, total) = if preview_line.contains("estimate") {
        let at = |i: usize| numbers.get(i).copied().unwrap_or(0.0);
        (at(0), at(2), at(4), at(5))
    } else {
        let all = numbers.first().copied().unwrap_or(0.0);
        (all, all, f64::NAN, f64::NAN)
    };
    let estimate_off = (estimated - truth.old_files as f64) / truth.old_files as f64 * 100.0;

    // 3. `!export-users`: every user, streamed a page at a time; the bot's peak memory.
    println!("`!export-users` ({n}+ users; each user's details are read)...");
    let peak_reset = bot.reset_peak();
    let t = Instant::now();
    let export = env.ask("!export-users", Duration::from_secs(3600)).await;
    let export_time = t.elapsed();
    assert!(export.body.starts_with("Exported "), "{}", export.body);
    let exported = numbers_in(&export.body).first().copied().unwrap_or(0.0);
    assert!(exported >= n as f64, "{}", export.body);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let export_memory = bot.memory();
    bot.stop();

    // 4. A bulk `!suspend` of 500 users among them, against the same PUTs sent directly.
    let suspend = bulk_suspend(&env, SUSPEND_USERS).await;
    // The job's own time (Synapse's stamps on "started" and the summary) against the same PUTs
    // sent directly; the client-side ratio is printed beside it.
    let suspend_ratio = suspend["ratio_bot_side_job_to_direct"]
        .as_f64()
        .unwrap_or(0.0);

    println!();
    println!("A server with {n} users");
    println!(
        "  {:<66} {:>8} {:>8}",
        "`!users --search <name>` (ms)", "p50", "p95"
    );
    println!(
        "  {:<66} {:>8.1} {:>8.1}",
        "  bot-side (reply stamped − command stamped)", search_side.p50, search_side.p95
    );
    println!(
        "  {:<66} {:>8.1} {:>8.1}",
        "  round trip at the client", search.p50, search.p95
    );
    println!(
        "  `!export-users`: {exported:.0} users in {:.1} s; bot peak RSS (VmHWM{}) {:.1} MB (idle before: {:.1} MB)",
        export_time.as_secs_f64(),
        if peak_reset {
            ", reset before"
        } else {
            " since start"
        },
        mb(export_memory.hwm_kib),
        mb(idle.rss_kib)
    );
    println!(
        "  `!purge-media 90d` preview in {:.1} s: {preview_line}",
        preview_time.as_secs_f64()
    );
    println!(
        "    truth: {} old files, {:.1} MB; the budget listed {scanned:.0} of {total:.0} users; found {found:.0}, estimated {estimated:.0} ({estimate_off:+.0} %)",
        truth.old_files,
        truth.old_bytes as f64 / 1e6
    );
    println!(
        "  bulk `!suspend` of {SUSPEND_USERS}: job (bot-side) / direct = {suspend_ratio:.2}×, at the client {:.2}×",
        suspend["ratio_job_to_direct"].as_f64().unwrap_or(0.0)
    );
    println!();
    let goals = [
        (
            "`!users --search` p50 ≤ 300 ms (bot-side)",
            format!("{:.0} ms", search_side.p50),
            search_side.p50 <= GOAL_SEARCH_P50_MS,
        ),
        (
            "`!export-users` peak RSS ≤ 60 MB",
            format!("{:.1} MB", mb(export_memory.hwm_kib)),
            mb(export_memory.hwm_kib) <= GOAL_EXPORT_PEAK_MB,
        ),
        (
            "bulk `!suspend` of 500 ≥ 0.9× direct",
            format!("{suspend_ratio:.2}×"),
            suspend_ratio >= GOAL_SUSPEND_VS_DIRECT,
        ),
    ];
    println!("Goals");
    for (goal, value, ok) in &goals {
        println!("  {goal:<70} {value:>10}  {}", verdict(*ok));
    }
    write_results(
        "scale-results.json",
        &json!({
            "users": n,
            "search": { "bot_side": search_side.json(), "round_trip": search.json() },
            "export": {
                "users": exported,
                "seconds": round2(export_time.as_secs_f64()),
                "peak_rss_mb": round2(mb(export_memory.hwm_kib)),
                "peak_reset_before": peak_reset,
                "idle_rss_mb": round2(mb(idle.rss_kib)),
            },
            "purge_media_preview": {
                "seconds": round2(ms(preview_time) / 1000.0),
                "line": preview_line,
                "users_listed": scanned,
                "users_total": total,
                "files_found": found,
                "files_estimated": estimated,
                "files_true": truth.old_files,
                "bytes_true": truth.old_bytes,
                "estimate_off_percent": round2(estimate_off),
            },
            "bulk_suspend": suspend,
            "goals": goals.iter().map(|(g, v, ok)| json!({"goal": g, "value": v, "met": ok})).collect::<Vec<_>>(),
        }),
    );
    keep_synapse_log(synapse, "synapse-scale.log");
}

/// Makes `n` accounts `@<prefix>-00000…` (no password) with display names, and media rows for
/// [`MEDIA_USERS`] of them spread over the whole list, in one transaction.
fn seed(db: &Path, prefix: &str, n: usize, server: &str) -> Truth {
    let mut conn = rusqlite::Connection::open(db).expect("opening Synapse's database");
    conn.busy_timeout(Duration::from_secs(30))
        .expect("a busy timeout");
    let tx = conn.transaction().expect("a transaction");
    let now_ms = super::support::stats::wall_ms() as i64;
    let old_ms = now_ms - 400 * 24 * 3600 * 1000;
    let every = (n / MEDIA_USERS).max(1);
    let mut truth = Truth {
        old_files: 0,
        old_bytes: 0,
    };
    {
        let mut users = tx
            .prepare("INSERT INTO users (name, password_hash, creation_ts, admin, is_guest, deactivated, approved) VALUES (?1, NULL, ?2, 0, 0, 0, 1)")
            .expect("Synapse's users table");
        let mut profiles = tx
            .prepare(
                "INSERT INTO profiles (full_user_id, user_id, displayname) VALUES (?1, ?2, ?3)",
            )
            .expect("Synapse's profiles table");
        let mut media = tx
            .prepare("INSERT INTO local_media_repository (media_id, media_type, media_length, created_ts, upload_name, user_id, last_access_ts, safe_from_quarantine) VALUES (?1, 'image/png', ?2, ?3, 'seed.png', ?4, ?3, 0)")
            .expect("Synapse's local_media_repository table");
        for i in 0..n {
            let localpart = format!("{prefix}-{i:05}");
            let user_id = format!("@{localpart}:{server}");
            users
                .execute(params![user_id, now_ms / 1000])
                .expect("inserting a user");
            profiles
                .execute(params![user_id, localpart, format!("Scale User {i}")])
                .expect("inserting a profile");
            if i % every == 0 && i / every < MEDIA_USERS {
                for f in 0..FILES_PER_MEDIA_USER {
                    let old = f % 2 == 0;
                    // Sizes spread evenly whatever the user's place in the list, so a scan
                    // of the first users is a fair sample.
                    let length = 50_000 + ((i * 7919 + f * 104_729) % 100_000) as i64;
                    media
                        .execute(params![
                            format!("{prefix}{i:05}m{f}"),
                            length,
                            if old { old_ms } else { now_ms },
                            user_id
                        ])
                        .expect("inserting a media row");
                    if old {
                        truth.old_files += 1;
                        truth.old_bytes += length as u64;
                    }
                }
            }
        }
    }
    tx.commit().expect("committing the seed");
    truth
}

/// The numbers in `text`, in order (thousands separators and units dropped).
fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map(|w| w.replace(',', ""))
        .map(|w| w.trim_matches('.').to_owned())
        .filter_map(|w| w.parse::<f64>().ok())
        .collect()
}
