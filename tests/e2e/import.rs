//! CSV import and export (issue: bulk user registration from a CSV attachment), driven by an admin
//! uploading files in the encrypted room, asserted on Synapse.

use std::time::Duration;

use matrix_sdk::ruma::OwnedEventId;
use serde_json::json;

use crate::support::bot::{Fixture, Spec, confirm_code};
use crate::support::{DEFAULT_TIMEOUT, Human, ReceivedMessage};

const LONG: Duration = Duration::from_secs(120);

/// Uploads `csv` as `name` with an optional caption and returns the upload's event ID and the bot's
/// first reply (the preview or an error).
async fn upload(
    fx: &Fixture,
    name: &str,
    csv: &[u8],
    caption: Option<&str>,
) -> (OwnedEventId, ReceivedMessage) {
    let id = fx
        .admin
        .send_file(&fx.room_id, name, csv, "text/csv", caption)
        .await;
    let reply = fx.reply_to(&fx.admin, &id).await;
    (id, reply)
}

/// Confirms a preview with `!confirm` and waits for the import's summary.
async fn confirm_and_wait(fx: &Fixture, preview: &ReceivedMessage) -> ReceivedMessage {
    let started = fx.ask(&format!("!confirm {}", confirm_code(preview))).await;
    assert!(started.body.contains("started"), "{}", started.body);
    wait_summary(fx, &job_number(preview)).await
}

fn job_number(preview: &ReceivedMessage) -> String {
    let at = preview
        .body
        .rfind("Job #")
        .unwrap_or_else(|| panic!("no job number in {}", preview.body));
    preview.body[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

async fn wait_summary(fx: &Fixture, job: &str) -> ReceivedMessage {
    let bot = fx.bot_user_id.clone();
    let needle = format!("Import #{job} ");
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| {
                m.sender == bot
                    && m.body.starts_with(&needle)
                    && (m.body.contains(" finished.") || m.body.contains(" cancelled."))
                    && m.replaces.is_none()
            },
            LONG,
        )
        .await
}

async fn attached(fx: &Fixture, name: &str) -> Vec<u8> {
    let bot = fx.bot_user_id.clone();
    let name = name.to_owned();
    let msg = fx
        .admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.file.as_ref().is_some_and(|f| f.filename == name),
            DEFAULT_TIMEOUT,
        )
        .await;
    assert!(msg.was_encrypted, "files are sent encrypted");
    msg.file.expect("file").bytes
}

async fn exists(fx: &Fixture, user_id: &str) -> bool {
    let (status, _) = fx
        .synapse
        .admin_request(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v2/users/{user_id}"),
            None,
        )
        .await;
    status == 200
}

async fn can_log_in(fx: &Fixture, user_id: &str, password: &str) -> bool {
    crate::support::secrets::remember(password);
    let body = json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user_id}, "password": password});
    let (status, _) = fx
        .synapse
        .admin_request(
            reqwest::Method::POST,
            "/_matrix/client/v3/login",
            Some(&body),
        )
        .await;
    status == 200
}

fn results(bytes: &[u8]) -> Vec<(String, String, String, String)> {
    let mut r = csv::Reader::from_reader(bytes);
    r.records()
        .map(|rec| {
            let rec = rec.expect("results row");
            (
                rec[0].to_owned(),
                rec[1].to_owned(),
                rec[2].to_owned(),
                rec[3].to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_formed_file_creates_exactly_its_users_and_returns_working_passwords() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let p = fx.synapse.unique_localpart("imp");
    let csv = format!(
        "id,displayname,password,is_guest,admin,deactivated\n{p}-jane,Jane Doe,secretpassword-1,false,false,false\n{p}-joe,\"Doe, Joe\",,false,true,false\n@{p}-ann:localhost,Ann,,no,no,no\n"
    );
    let (upload_id, preview) = upload(&fx, "users.csv", csv.as_bytes(), None).await;
    assert!(
        preview.body.contains("Rows in the file: 3"),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains("To create: 3 (1 admins, 0 deactivated)"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("Passwords to generate: 2"),
        "{}",
        preview.body
    );
    for who in ["jane", "joe", "ann"] {
        assert!(
            !exists(&fx, &format!("@{p}-{who}:localhost")).await,
            "nothing exists before confirmation"
        );
    }

    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(summary.body.contains("Created: 3"), "{}", summary.body);
    assert!(summary.body.contains("Failed: 0"), "{}", summary.body);
    assert_eq!(summary.in_reply_to.as_ref(), Some(&upload_id));

    let jane = fx.user_on_server(&format!("@{p}-jane:localhost")).await;
    assert_eq!(jane["displayname"], "Jane Doe");
    assert_eq!(jane["admin"], false);
    let joe = fx.user_on_server(&format!("@{p}-joe:localhost")).await;
    assert_eq!(joe["displayname"], "Doe, Joe");
    assert_eq!(joe["admin"], true);
    assert!(
        can_log_in(&fx, &format!("@{p}-jane:localhost"), "secretpassword-1").await,
        "the file's password works"
    );

    let rows = results(&attached(&fx, "import-results.csv").await);
    assert_eq!(rows.len(), 3);
    let jane_row = rows.iter().find(|r| r.0.contains("-jane")).expect("jane");
    assert_eq!(
        (jane_row.1.as_str(), jane_row.2.as_str()),
        ("created", ""),
        "file passwords are not sent back"
    );
    for who in ["-joe", "-ann"] {
        let row = rows.iter().find(|r| r.0.contains(who)).expect("row");
        assert_eq!(row.1, "created");
        assert!(row.2.len() >= 16, "generated password for {who}: {row:?}");
        assert!(
            can_log_in(&fx, &row.0, &row.2).await,
            "the generated password of {} works",
            row.0
        );
    }
    // Wiped once delivered.
    let jobs = fx.ask("!jobs").await;
    assert!(jobs.body.contains("import · done · 3/3"), "{}", jobs.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semicolons_bom_crlf_and_bad_rows_are_handled_and_reported_by_line() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let p = fx.synapse.unique_localpart("semi");
    let csv = format!(
        "\u{feff}ID;DisplayName;Admin\r\n{p}-a;\"A; with semicolon\";yes\r\n{p}-B;Upper;no\r\n@{p}-c:elsewhere.org;Remote;no\r\n{p}-a;Duplicate;no\r\n{p}-d;Bad bool;maybe\r\n{p}-e;Fine;0\r\n"
    );
    let (_, preview) = upload(
        &fx,
        "semi.csv",
        csv.as_bytes(),
        Some("!import-users --no-generate"),
    )
    .await;
    assert!(
        preview.body.contains("Rows in the file: 6"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("To create: 2"), "{}", preview.body);
    assert!(
        preview.body.contains("Invalid rows (not imported): 4"),
        "{}",
        preview.body
    );
    for line in [3, 4, 5, 6] {
        assert!(
            preview.body.contains(&format!("line {line}: ")),
            "line {line} missing: {}",
            preview.body
        );
    }
    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(summary.body.contains("Created: 2"), "{}", summary.body);
    let a = fx.user_on_server(&format!("@{p}-a:localhost")).await;
    assert_eq!(a["displayname"], "A; with semicolon");
    assert_eq!(a["admin"], true);
    assert!(exists(&fx, &format!("@{p}-e:localhost")).await);
    for bad in [format!("@{p}-b:localhost"), format!("@{p}-d:localhost")] {
        assert!(!exists(&fx, &bad).await, "{bad} must not be created");
    }
    // The rows to fix come back in the input format: same header, same delimiter.
    let failed = String::from_utf8(attached(&fx, "import-failed.csv").await).expect("utf-8");
    assert!(failed.starts_with("ID;DisplayName;Admin"), "{failed}");
    assert_eq!(failed.lines().count(), 5, "{failed}");

    // A broken file gets one line and creates nothing.
    let (_, reply) = upload(
        &fx,
        "broken.csv",
        b"\x00\x01\x02binary",
        Some("!import-users"),
    )
    .await;
    assert!(reply.body.contains("broken.csv:"), "{}", reply.body);
    assert!(!reply.body.contains('\n'), "one line: {}", reply.body);
    let (_, reply) = upload(&fx, "noid.csv", b"name,admin\nx,true\n", None).await;
    assert!(
        reply.body.contains("no `id` column") || reply.body.contains("no id column"),
        "{}",
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_modes_skip_update_and_stop() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let p = fx.synapse.unique_localpart("conf");
    let old = fx
        .synapse
        .register_with_display_name(
            &format!("{p}-old"),
            "old-password-1",
            false,
            Some("Old Name"),
        )
        .await;
    let csv = |n: &str| {
        format!("id,displayname,password\n{p}-old,New Name,\n{p}-{n},Newcomer,newcomer-pass-1\n")
    };

    // stop: refused, nothing created.
    let (_, reply) = upload(
        &fx,
        "stop.csv",
        csv("s").as_bytes(),
        Some("!import-users --on-conflict stop"),
    )
    .await;
    assert!(
        reply.body.contains("already exist") && !reply.body.contains("!confirm"),
        "{}",
        reply.body
    );
    assert!(!exists(&fx, &format!("@{p}-s:localhost")).await);

    // skip: the existing user is untouched, the new one created.
    let (_, preview) = upload(&fx, "skip.csv", csv("k").as_bytes(), None).await;
    assert!(
        preview.body.contains("Already exist: 1 → left alone"),
        "{}",
        preview.body
    );
    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(
        summary.body.contains("Created: 1") && summary.body.contains("Skipped: 1"),
        "{}",
        summary.body
    );
    assert_eq!(
        fx.user_on_server(&old.user_id).await["displayname"],
        "Old Name"
    );
    assert!(exists(&fx, &format!("@{p}-k:localhost")).await);

    // update: only the given fields change; the empty password cell resets nothing.
    let (_, preview) = upload(
        &fx,
        "update.csv",
        csv("u").as_bytes(),
        Some("!import-users --on-conflict update"),
    )
    .await;
    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(
        summary.body.contains("Created: 1") && summary.body.contains("Updated: 1"),
        "{}",
        summary.body
    );
    assert_eq!(
        fx.user_on_server(&old.user_id).await["displayname"],
        "New Name"
    );
    assert!(
        can_log_in(&fx, &old.user_id, "old-password-1").await,
        "the password was not reset"
    );
    assert!(can_log_in(&fx, &format!("@{p}-u:localhost"), "newcomer-pass-1").await);

    // --dry-run: preview only.
    let (_, preview) = upload(
        &fx,
        "dry.csv",
        csv("dry").as_bytes(),
        Some("!import-users --dry-run"),
    )
    .await;
    assert!(
        preview.body.contains("Dry run: nothing was changed."),
        "{}",
        preview.body
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!exists(&fx, &format!("@{p}-dry:localhost")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unencrypted_room_refuses_generated_passwords() {
    // No session can be verified in an unencrypted room: this test is about what is refused there
    // beyond that.
    let fx = Fixture::start(|_| Spec {
        unencrypted_room: true,
        ..Spec::default().safety_line("require_verified_devices = false")
    })
    .await;
    let p = fx.synapse.unique_localpart("plain");
    let csv = format!("id,displayname\n{p}-x,X\n");
    let (_, reply) = upload(&fx, "plain.csv", csv.as_bytes(), None).await;
    assert!(reply.body.contains("not encrypted"), "{}", reply.body);
    assert!(!reply.body.contains("!confirm"), "{}", reply.body);
    assert!(!exists(&fx, &format!("@{p}-x:localhost")).await);
    // A password from the file is refused too, even with --no-generate.
    let with_pw = format!("id,password\n{p}-y,file-password-1\n");
    let (_, reply) = upload(
        &fx,
        "plain-pw.csv",
        with_pw.as_bytes(),
        Some("!import-users --no-generate"),
    )
    .await;
    assert!(
        reply.body.contains("not encrypted") && !reply.body.contains("!confirm"),
        "{}",
        reply.body
    );
    assert!(!exists(&fx, &format!("@{p}-y:localhost")).await);

    // Registration tokens are secrets too: none is made or shown here.
    let tokens = |v: serde_json::Value| v["registration_tokens"].as_array().map_or(0, Vec::len);
    let before = tokens(fx.admin_get("/_synapse/admin/v1/registration_tokens").await);
    let refused = fx.ask("!token-create --uses 1").await;
    assert!(
        refused.body.contains("only in an encrypted room"),
        "{}",
        refused.body
    );
    let refused = fx.ask("!tokens").await;
    assert!(
        refused.body.contains("only in an encrypted room"),
        "{}",
        refused.body
    );
    assert_eq!(
        tokens(fx.admin_get("/_synapse/admin/v1/registration_tokens").await),
        before
    );

    let (_, preview) = upload(
        &fx,
        "plain.csv",
        csv.as_bytes(),
        Some("!import-users --no-generate"),
    )
    .await;
    let started = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(started.body.contains("started"), "{}", started.body);
    let summary = wait_summary(&fx, &job_number(&preview)).await;
    assert!(summary.body.contains("Created: 1"), "{}", summary.body);
    assert!(exists(&fx, &format!("@{p}-x:localhost")).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_import_applies_every_row_exactly_once() {
    let mut fx = Fixture::start(|_| Spec {
        tail: "[import]\nconcurrency = 1\n".into(),
        ..Spec::default()
    })
    .await;
    let p = fx.synapse.unique_localpart("resume");
    let n = 30;
    let mut csv = String::from("id,displayname\n");
    for i in 0..n {
        csv.push_str(&format!("{p}-{i},User {i}\n"));
    }
    let (_, preview) = upload(&fx, "many.csv", csv.as_bytes(), None).await;
    let job = job_number(&preview);
    let started = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(started.body.contains("started"), "{}", started.body);
    // Let some rows land, then stop the bot as a crash would.
    tokio::time::sleep(Duration::from_secs(3)).await;
    fx.stop_bot().await;
    let mut before = 0;
    for i in 0..n {
        before += usize::from(exists(&fx, &format!("@{p}-{i}:localhost")).await);
    }
    assert!(
        before < n,
        "the restart must happen mid-import (all {n} rows were done already)"
    );

    fx.start_bot().await;
    let bot = fx.bot_user_id.clone();
    let resumed_prefix = format!("Resuming import #{job} after a restart");
    let resumed = fx
        .admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with(&resumed_prefix),
            DEFAULT_TIMEOUT,
        )
        .await;
    assert!(
        resumed.body.contains(&format!("/{n} rows were done")),
        "{}",
        resumed.body
    );
    let summary = wait_summary(&fx, &job).await;
    assert!(
        summary.body.contains(&format!("Created: {n}")),
        "{}",
        summary.body
    );
    assert!(
        summary.body.contains("Skipped: 0"),
        "rows created before the restart are not counted as skipped: {}",
        summary.body
    );
    let rows = results(&attached(&fx, "import-results.csv").await);
    assert_eq!(rows.len(), n);
    let mut ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "each row once");
    for (id, status, password, _) in &rows {
        assert_eq!(status, "created", "{id}");
        assert!(
            can_log_in(&fx, id, password).await,
            "{id} logs in with the password in the results"
        );
    }
    let shown = fx.ask(&format!("!job {job}")).await;
    assert!(shown.body.contains("State: done"), "{}", shown.body);
    // Once the results are delivered, the bot keeps no password.
    let db = rusqlite::Connection::open(fx.store.path().join("data").join("syndic.sqlite3"))
        .expect("state db");
    let kept: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM job_rows WHERE secret IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(kept, 0, "generated passwords are wiped after delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_round_trips_and_replies_to_files_work() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let p = fx.synapse.unique_localpart("exp");
    fx.synapse
        .register_with_display_name(
            &format!("{p}-one"),
            "pw-one-12345",
            false,
            Some("One, \"the first\""),
        )
        .await;
    fx.synapse
        .register_with_display_name(&format!("{p}-two"), "pw-two-12345", true, Some("Twö"))
        .await;

    let reply = fx.ask("!export-users").await;
    assert!(reply.body.starts_with("Exported "), "{}", reply.body);
    let export = attached(&fx, "users-export.csv").await;
    let text = String::from_utf8(export.clone()).expect("utf-8");
    assert!(
        text.contains(&format!("@{p}-one:localhost,\"One, \"\"the first\"\"\"")),
        "{text}"
    );
    let exported_rows = text.lines().count() - 1;

    // The whole export parses cleanly (dry run: other tests' users are not touched).
    let (_, preview) = upload(
        &fx,
        "users-export.csv",
        &export,
        Some("!import-users --dry-run"),
    )
    .await;
    // Only the rows about the sender and the bot are refused (never changed by an import).
    assert!(
        preview.body.contains("Invalid rows (not imported): 2"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("your own account") && preview.body.contains("the bot's own account"),
        "{}",
        preview.body
    );
    assert!(
        preview
            .body
            .contains(&format!("Already exist: {}", exported_rows - 2)),
        "{}",
        preview.body
    );

    // Our two users drift on the server; re-importing their exported rows puts them back.
    let mut ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&format!("@{p}-")))
        .collect();
    ours.insert(0, text.lines().next().expect("header"));
    let ours = ours.join("\n") + "\n";
    fx.synapse
        .admin_put(
            &format!("/_synapse/admin/v2/users/@{p}-one:localhost"),
            &json!({"displayname": "Drifted"}),
        )
        .await;
    fx.synapse
        .admin_put(
            &format!("/_synapse/admin/v2/users/@{p}-two:localhost"),
            &json!({"admin": false}),
        )
        .await;

    // Upload without a caption under a non-CSV name (ignored), then reply to it.
    let file_id = fx
        .admin
        .send_file(&fx.room_id, "ours.txt", ours.as_bytes(), "text/plain", None)
        .await;
    fx.admin
        .assert_no_message_from(&fx.room_id, &fx.bot_user_id, Duration::from_secs(2))
        .await;
    let reply_id = fx
        .admin
        .reply_to(
            &fx.room_id,
            &file_id,
            "!import-users --on-conflict update --no-generate",
        )
        .await;
    let preview = fx.reply_to(&fx.admin, &reply_id).await;
    assert!(
        preview.body.contains("Already exist: 2"),
        "{}",
        preview.body
    );
    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(
        summary.body.contains("Updated: 2") && summary.body.contains("Failed: 0"),
        "{}",
        summary.body
    );
    assert_eq!(
        fx.user_on_server(&format!("@{p}-one:localhost")).await["displayname"],
        "One, \"the first\""
    );
    assert_eq!(
        fx.user_on_server(&format!("@{p}-two:localhost")).await["admin"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limit_many_bad_rows_and_cancel_job() {
    let fx = Fixture::start(|_| Spec {
        tail: "[import]\nconcurrency = 1\nmax_file_size = \"4K\"\n".into(),
        ..Spec::default()
    })
    .await;
    let p = fx.synapse.unique_localpart("lim");

    // Over the size limit: refused before download, nothing created.
    let big = format!("id,displayname\n{p}-big,{}\n", "x".repeat(5000));
    let (_, reply) = upload(&fx, "big.csv", big.as_bytes(), None).await;
    assert!(
        reply
            .body
            .contains("the limit is 4.0 KiB (import.max_file_size)"),
        "{}",
        reply.body
    );
    assert!(!exists(&fx, &format!("@{p}-big:localhost")).await);

    // 25 invalid rows: 20 listed, all attached.
    let mut csv = String::from("id,displayname\n");
    for i in 0..25 {
        csv.push_str(&format!("Bad{i},x\n"));
    }
    for i in 0..20 {
        csv.push_str(&format!("{p}-{i},User {i}\n"));
    }
    let (_, preview) = upload(&fx, "mixed.csv", csv.as_bytes(), Some("!import-users")).await;
    assert!(
        preview
            .body
            .contains("…and 5 more, all listed in import-errors.csv."),
        "{}",
        preview.body
    );
    let errors = attached(&fx, "import-errors.csv").await;
    assert_eq!(
        String::from_utf8_lossy(&errors).lines().count(),
        26,
        "header + 25 rows"
    );

    // Cancel it while it runs: rows done stay done, the rest are not started.
    let job = job_number(&preview);
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    let cancel = fx.ask(&format!("!cancel-job {job}")).await;
    assert!(
        cancel.body.starts_with(&format!("Cancelling job #{job}")),
        "{}",
        cancel.body
    );
    let summary = wait_summary(&fx, &job).await;
    assert!(summary.body.contains("cancelled."), "{}", summary.body);
    let created: usize = summary
        .body
        .lines()
        .find_map(|l| l.strip_prefix("• Created: "))
        .and_then(|n| n.parse().ok())
        .expect("created count");
    assert!(created < 20, "{}", summary.body);
    assert!(
        summary
            .body
            .contains(&format!("Not started: {}", 20 - created)),
        "{}",
        summary.body
    );
    let mut on_server = 0;
    for i in 0..20 {
        on_server += usize::from(exists(&fx, &format!("@{p}-{i}:localhost")).await);
    }
    assert_eq!(on_server, created, "the report says exactly what was done");
    let again = fx.ask(&format!("!cancel-job {job}")).await;
    assert!(again.body.contains("not running"), "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_survives_a_homeserver_outage() {
    let proxy = crate::support::proxy::Proxy::start(&crate::support::Synapse::shared().url()).await;
    let url = proxy.url().clone();
    let fx = Fixture::start(move |_| Spec {
        homeserver_url: Some(url),
        tail: "[import]\nconcurrency = 1\n".into(),
        ..Spec::default()
    })
    .await;
    let p = fx.synapse.unique_localpart("outage");
    let n = 12;
    let mut csv = String::from("id,password\n");
    for i in 0..n {
        csv.push_str(&format!("{p}-{i},password-{i}-long-enough\n"));
    }
    let (_, preview) = upload(&fx, "outage.csv", csv.as_bytes(), None).await;
    let job = job_number(&preview);
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(5)).await;
    proxy.restore();
    let summary = wait_summary(&fx, &job).await;
    assert!(
        summary.body.contains(&format!("Created: {n}")) && summary.body.contains("Failed: 0"),
        "{}",
        summary.body
    );
    for i in 0..n {
        assert!(
            can_log_in(
                &fx,
                &format!("@{p}-{i}:localhost"),
                &format!("password-{i}-long-enough")
            )
            .await,
            "row {i}"
        );
    }
}

/// Uploads `csv` as `who` and returns the bot's first reply.
async fn upload_as(
    fx: &Fixture,
    who: &Human,
    name: &str,
    csv: &[u8],
    caption: Option<&str>,
) -> ReceivedMessage {
    let id = who
        .send_file(&fx.room_id, name, csv, "text/csv", caption)
        .await;
    fx.reply_to(who, &id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_only_role_cannot_take_over_an_admin_or_create_one() {
    let synapse = crate::support::Synapse::shared();
    let importer = Human::new(synapse, "importer").await;
    let updater = Human::new(synapse, "updater").await;
    let (importer_id, updater_id) = (importer.user_id(), updater.user_id());
    let fx = Fixture::start_with(
        |_| {
            Spec::default()
                .role("importers", &[&importer_id], &["user.import"])
                .role("updaters", &[&updater_id], &["user.import", "user.update"])
        },
        vec![&importer, &updater],
    )
    .await;
    for id in [&importer_id, &updater_id] {
        fx.admin
            .wait_for_join(&fx.room_id, id, DEFAULT_TIMEOUT)
            .await;
    }
    let p = fx.synapse.unique_localpart("trust");
    let victim = fx
        .synapse
        .register_with_display_name(&format!("{p}-boss"), "boss-old-pw-1", true, Some("Boss"))
        .await;
    let before = fx.user_on_server(&victim.user_id).await;

    // Only the attack: refused as a whole, in one line.
    let attack = format!("id,password,admin\n{},Pwned123,true\n", victim.user_id);
    let reply = upload_as(
        &fx,
        &importer,
        "attack.csv",
        attack.as_bytes(),
        Some("!import-users --on-conflict update"),
    )
    .await;
    assert!(
        reply.body.contains("othing to import") && !reply.body.contains("!confirm"),
        "{}",
        reply.body
    );

    // With an ordinary row beside it: the attack rows are invalid, the ordinary row goes ahead.
    let csv = format!(
        "id,password,admin\n{},Pwned123,true\n{p}-newadmin,NewAdmin-pw-1,true\n{p}-plain,Plain-pw-123,false\n",
        victim.user_id
    );
    let preview = upload_as(
        &fx,
        &importer,
        "attack2.csv",
        csv.as_bytes(),
        Some("!import-users --on-conflict update"),
    )
    .await;
    assert!(
        preview.body.contains("Invalid rows (not imported): 2"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("user.update"), "{}", preview.body);
    assert!(preview.body.contains("user.admin"), "{}", preview.body);
    importer.react(&fx.room_id, &preview.event_id, "✅").await;
    let summary = wait_summary(&fx, &job_number(&preview)).await;
    assert!(summary.body.contains("Created: 1"), "{}", summary.body);
    assert!(summary.body.contains("Updated: 0"), "{}", summary.body);

    assert!(
        can_log_in(&fx, &victim.user_id, "boss-old-pw-1").await,
        "the admin's own password still works"
    );
    assert!(
        !can_log_in(&fx, &victim.user_id, "Pwned123").await,
        "the attacker's password does not"
    );
    let after = fx.user_on_server(&victim.user_id).await;
    for field in ["admin", "deactivated", "displayname", "threepids"] {
        assert_eq!(after[field], before[field], "{field} unchanged");
    }
    assert!(
        !exists(&fx, &format!("@{p}-newadmin:localhost")).await,
        "no admin created by user.import alone"
    );
    assert!(exists(&fx, &format!("@{p}-plain:localhost")).await);

    // user.import + user.update may change an ordinary account; the preview says what changes.
    let bob = fx
        .synapse
        .register_with_display_name(&format!("{p}-bob"), "bob-pw-12345", false, Some("Bob"))
        .await;
    let csv = format!("id,displayname\n{},Robert\n", bob.user_id);
    let preview = upload_as(
        &fx,
        &updater,
        "rename.csv",
        csv.as_bytes(),
        Some("!import-users --on-conflict update"),
    )
    .await;
    assert!(
        preview.body.contains("Existing accounts that change")
            && preview.body.contains("displayname"),
        "{}",
        preview.body
    );
    let started = fx
        .ask_as(&updater, &format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(started.body.contains("started"), "{}", started.body);
    let summary = wait_summary(&fx, &job_number(&preview)).await;
    assert!(summary.body.contains("Updated: 1"), "{}", summary.body);
    assert_eq!(
        fx.user_on_server(&bob.user_id).await["displayname"],
        "Robert"
    );
    assert!(can_log_in(&fx, &bob.user_id, "bob-pw-12345").await);
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_is_left_in_the_store_files_after_an_import() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let p = fx.synapse.unique_localpart("wipe");
    let csv = format!(
        "id,password,admin\n{p}-a,FilePassword-Alpha-1,false\n{p}-b,,false\n{p}-c,FilePassword-Invalid-3,maybe\n"
    );
    let (_, preview) = upload(&fx, "wipe.csv", csv.as_bytes(), None).await;
    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(summary.body.contains("Created: 2"), "{}", summary.body);
    let rows = results(&attached(&fx, "import-results.csv").await);
    let generated = rows
        .iter()
        .find(|r| r.0.contains("-b"))
        .map(|r| r.2.clone())
        .expect("generated password");
    assert!(generated.len() >= 16);

    let dir = fx.store.path().join("data");
    let mut bytes = std::fs::read(dir.join("syndic.sqlite3")).expect("state db");
    if let Ok(wal) = std::fs::read(dir.join("syndic.sqlite3-wal")) {
        bytes.extend(wal);
    }
    for secret in [
        "FilePassword-Alpha-1",
        "FilePassword-Invalid-3",
        generated.as_str(),
    ] {
        assert!(
            !contains(&bytes, secret),
            "{secret} is still in the store files"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_update_keeps_threepids() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let p = fx.synapse.unique_localpart("tp");
    let user = fx
        .synapse
        .register_with_display_name(&format!("{p}-mail"), "mail-pw-12345", false, Some("Mail"))
        .await;
    let email = format!("{p}@example.org");
    let (status, _) = fx
        .synapse
        .admin_request(
            reqwest::Method::PUT,
            &format!("/_synapse/admin/v2/users/{}", user.user_id),
            Some(&json!({"threepids": [{"medium": "email", "address": email}]})),
        )
        .await;
    assert!(status.is_success(), "{status}");

    let export = fx.ask("!export-users").await;
    assert!(export.body.contains("Exported"), "{}", export.body);
    let csv = attached(&fx, "users-export.csv").await;
    let text = String::from_utf8(csv).expect("utf-8");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    // Only this test's user: the shared Synapse holds other tests' users.
    let row = lines
        .find(|l| l.starts_with(&format!("{},", user.user_id)))
        .unwrap_or_else(|| panic!("{} not exported: {text}", user.user_id));
    assert!(row.contains(&email), "threepids are exported: {row}");

    // Also a hand-made file with an empty threepids cell: not given, not "none".
    let file = format!("{header}\n{row}\n");
    let (_, preview) = upload(
        &fx,
        "users-export.csv",
        file.as_bytes(),
        Some("!import-users --on-conflict update"),
    )
    .await;
    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(summary.body.contains("Updated: 1"), "{}", summary.body);
    let blank = format!("id,displayname,threepids\n{},Mail Renamed,\n", user.user_id);
    let (_, preview) = upload(
        &fx,
        "blank.csv",
        blank.as_bytes(),
        Some("!import-users --on-conflict update"),
    )
    .await;
    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(summary.body.contains("Updated: 1"), "{}", summary.body);

    let now = fx.user_on_server(&user.user_id).await;
    assert_eq!(now["displayname"], "Mail Renamed");
    let threepids = now["threepids"].as_array().cloned().unwrap_or_default();
    assert!(
        threepids
            .iter()
            .any(|t| t["medium"] == "email" && t["address"] == email.as_str()),
        "the e-mail survived: {threepids:?}"
    );
    assert!(can_log_in(&fx, &user.user_id, "mail-pw-12345").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_bigger_than_it_says_is_refused_and_creates_nobody() {
    let fx = Fixture::start(|_| Spec {
        tail: "[import]\nmax_file_size = \"4K\"\n".into(),
        ..Spec::default()
    })
    .await;
    let p = fx.synapse.unique_localpart("liar");
    let csv = format!("id,displayname\n{p}-big,{}\n", "x".repeat(5000));
    // Says 60 bytes; the encrypted attachment holds more than 5000.
    let id = fx
        .admin
        .send_file_declaring_size(&fx.room_id, "small.csv", csv.as_bytes(), 60)
        .await;
    let reply = fx.reply_to(&fx.admin, &id).await;
    assert!(
        reply.body.contains("has more bytes than the limit allows")
            && reply
                .body
                .contains("the limit is 4.0 KiB (import.max_file_size)"),
        "{}",
        reply.body
    );
    assert_eq!(reply.body.lines().count(), 1, "one line: {}", reply.body);
    assert!(!exists(&fx, &format!("@{p}-big:localhost")).await);

    // The same lie under the limit is read (the limit is on the bytes, not the claim).
    let small = format!("id,displayname\n{p}-ok,Fine\n");
    let id = fx
        .admin
        .send_file_declaring_size(&fx.room_id, "ok.csv", small.as_bytes(), 1)
        .await;
    let preview = fx.reply_to(&fx.admin, &id).await;
    assert!(preview.body.contains("To create: 1"), "{}", preview.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_from_someone_without_a_role_or_sent_in_the_clear_is_not_read() {
    let synapse = crate::support::Synapse::shared();
    let stranger = Human::new(synapse, "stranger").await;
    let fx = Fixture::start_with(|_| Spec::default(), vec![&stranger]).await;
    let p = fx.synapse.unique_localpart("foreign");

    // A member without a role posts a CSV; the bot ignores it, and an admin replying
    // !import-users to it is refused.
    let csv = format!("id,displayname,admin\n{p}-planted,Planted,false\n");
    let planted = stranger
        .send_file(&fx.room_id, "users.csv", csv.as_bytes(), "text/csv", None)
        .await;
    let ask = fx
        .admin
        .reply_to(&fx.room_id, &planted, "!import-users")
        .await;
    let reply = fx.reply_to(&fx.admin, &ask).await;
    assert!(
        reply
            .body
            .starts_with("Refused: that file was sent by someone without a role here"),
        "{}",
        reply.body
    );
    assert_eq!(reply.body.lines().count(), 1, "one line: {}", reply.body);

    // An admin's file, but sent in the clear into the encrypted room (not vouched for).
    let clear = format!("id,displayname\n{p}-clear,Clear\n");
    let plain = fx
        .admin
        .send_unencrypted_file_raw(&fx.room_id, "clear.csv", clear.as_bytes())
        .await;
    let ask = fx
        .admin
        .reply_to(&fx.room_id, &plain, "!import-users")
        .await;
    let reply = fx.reply_to(&fx.admin, &ask).await;
    assert!(
        reply
            .body
            .starts_with("Refused: that file was sent unencrypted in an encrypted room"),
        "{}",
        reply.body
    );

    // Nothing was created, and nothing waits for a confirmation.
    assert!(!exists(&fx, &format!("@{p}-planted:localhost")).await);
    assert!(!exists(&fx, &format!("@{p}-clear:localhost")).await);
    let jobs = fx.ask("!jobs").await;
    assert!(jobs.body.contains("No jobs yet"), "{}", jobs.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_made_after_the_preview_is_a_conflict_and_keeps_its_password() {
    let synapse = crate::support::Synapse::shared();
    let importer = Human::new(synapse, "creator").await;
    let importer_id = importer.user_id();
    let fx = Fixture::start_with(
        |_| Spec::default().role("importers", &[&importer_id], &["user.import"]),
        vec![&importer],
    )
    .await;
    fx.admin
        .wait_for_join(&fx.room_id, &importer_id, DEFAULT_TIMEOUT)
        .await;
    let p = fx.synapse.unique_localpart("race");
    let csv = format!("id,displayname\n{p}-newuser,From The File\n{p}-other,Other\n");
    let preview = upload_as(&fx, &importer, "race.csv", csv.as_bytes(), None).await;
    assert!(
        preview
            .body
            .contains("To create: 2 (0 admins, 0 deactivated)"),
        "{}",
        preview.body
    );

    // Between the preview and the confirmation, someone makes @newuser on Synapse with their own
    // password.
    let theirs = fx
        .synapse
        .register_with_display_name(
            &format!("{p}-newuser"),
            "their-own-pw-1",
            false,
            Some("Theirs"),
        )
        .await;
    importer.react(&fx.room_id, &preview.event_id, "✅").await;
    let summary = wait_summary(&fx, &job_number(&preview)).await;
    for line in [
        "Created: 1",
        "Skipped: 1",
        "Conflicts: 1 created by someone else after the preview; left unchanged",
        theirs.user_id.as_str(),
    ] {
        assert!(summary.body.contains(line), "{line:?} in {}", summary.body);
    }
    let rows = results(&attached(&fx, "import-results.csv").await);
    let raced = rows
        .iter()
        .find(|r| r.0 == theirs.user_id)
        .unwrap_or_else(|| panic!("no row for {} in {rows:?}", theirs.user_id));
    assert_eq!(
        (raced.1.as_str(), raced.2.as_str()),
        ("conflict", ""),
        "reported as a conflict, no password handed out: {raced:?}"
    );
    let other = rows
        .iter()
        .find(|r| r.0 == format!("@{p}-other:localhost"))
        .expect("the other row");
    assert_eq!(other.1, "created", "{other:?}");
    assert!(can_log_in(&fx, &other.0, &other.2).await);

    assert!(
        can_log_in(&fx, &theirs.user_id, "their-own-pw-1").await,
        "the account's own password still works"
    );
    assert_eq!(
        fx.user_on_server(&theirs.user_id).await["displayname"],
        "Theirs",
        "the file's display name was not written over it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_rows_are_refused_and_deactivated_rows_are_created_deactivated() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let p = fx.synapse.unique_localpart("guest");
    let csv = format!(
        "id,is_guest,deactivated\n{p}-guest,true,false\n{p}-gone,false,true\n{p}-plain,false,false\n"
    );
    let (_, preview) = upload(&fx, "guests.csv", csv.as_bytes(), None).await;
    for line in [
        "To create: 2 (0 admins, 1 deactivated)",
        "Invalid rows (not imported): 1",
        "line 2: `is_guest`: Synapse's Admin API cannot create guest accounts; leave it false or empty",
    ] {
        assert!(preview.body.contains(line), "{line:?} in {}", preview.body);
    }
    let summary = confirm_and_wait(&fx, &preview).await;
    assert!(summary.body.contains("Created: 2"), "{}", summary.body);
    assert!(
        !exists(&fx, &format!("@{p}-guest:localhost")).await,
        "no account for the guest row"
    );
    let gone = fx.user_on_server(&format!("@{p}-gone:localhost")).await;
    assert_eq!(gone["deactivated"], true, "{gone}");
    let plain = fx.user_on_server(&format!("@{p}-plain:localhost")).await;
    assert_eq!(
        (&plain["deactivated"], &plain["is_guest"]),
        (&json!(false), &json!(false)),
        "{plain}"
    );
}
