//! Moderation (issue: accounts and moderation): passwords delivered as files and redacted, new
//! accounts, devices, server notices, the account list, redactions, offboarding, and sets of
//! users as jobs: each asserted on Synapse, with the refusals an admin meets.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::accounts::{as_user, log_in};
use crate::support::bot::{Fixture, Spec, confirm_code};
use crate::support::synapse::http_client;
use crate::support::{DEFAULT_TIMEOUT, Human, ReceivedMessage};

const LONG: Duration = Duration::from_secs(180);

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

/// Confirms a set's preview and waits for its job's summary.
async fn run_job(fx: &Fixture, preview: &ReceivedMessage) -> ReceivedMessage {
    let job = job_number(preview);
    let started = fx.ask(&format!("!confirm {}", confirm_code(preview))).await;
    assert!(started.body.contains("started"), "{}", started.body);
    summary(fx, &job).await
}

async fn summary(fx: &Fixture, job: &str) -> ReceivedMessage {
    let bot = fx.bot_user_id.clone();
    let needle = format!("Job #{job} finished");
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with(&needle) && m.replaces.is_none(),
            LONG,
        )
        .await
}

async fn attached(fx: &Fixture, name: &str) -> ReceivedMessage {
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
    msg
}

/// The password in a `password-<name>.txt` the bot sent: (user ID, password).
fn password_in(msg: &ReceivedMessage) -> (String, String) {
    let text = String::from_utf8(msg.file.as_ref().expect("file").bytes.clone()).expect("utf-8");
    let mut lines = text.lines();
    let user = lines.next().expect("user line").to_owned();
    let password = lines.next().expect("password line").to_owned();
    (user, password)
}

/// Waits until the event's content is gone (redacted), as the admin's client sees it.
async fn wait_redacted(fx: &Fixture, event_id: &str) -> bool {
    let path = format!(
        "/_matrix/client/v3/rooms/{}/event/{}",
        fx.room_id,
        urlencoding(event_id)
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        let (status, body) = as_user(
            fx,
            reqwest::Method::GET,
            &path,
            &fx.admin.access_token(),
            &Value::Null,
        )
        .await;
        if status == 200 && body["unsigned"]["redacted_because"].is_object() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

fn urlencoding(s: &str) -> String {
    s.replace('$', "%24").replace(':', "%3A")
}

pub(crate) async fn flag(fx: &Fixture, user: &str, key: &str) -> bool {
    fx.user_on_server(user).await[key]
        .as_bool()
        .unwrap_or(false)
}

async fn devices_of(fx: &Fixture, user: &str) -> Vec<String> {
    fx.admin_get(&format!("/_synapse/admin/v2/users/{user}/devices"))
        .await["devices"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(|x| x["device_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Registers `n` users named `<prefix>-<i>`, a few at a time; their IDs in order.
async fn register_many(fx: &Fixture, prefix: &str, n: usize) -> Vec<String> {
    let synapse = fx.synapse;
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let localpart = format!("{prefix}-{i}");
            synapse
                .register(&localpart, &format!("pw-{localpart}-x"), false)
                .await
                .user_id
        })
        .buffered(4)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_arrives_as_a_file_that_is_redacted_and_logs_in() {
    let synapse = crate::support::Synapse::shared();
    let helpdesk = Human::new(synapse, "pw-helpdesk").await;
    let helpdesk_id = helpdesk.user_id();
    let fx = Fixture::start_with(
        |_| {
            Spec::default()
                .role("helpdesk", &[&helpdesk_id], &["user.create"])
                .safety_line("secret_ttl = \"5s\"")
        },
        vec![&helpdesk],
    )
    .await;
    let localpart = fx.synapse.unique_localpart("reset");
    let old = format!("pw-{localpart}-old");
    let target = fx.synapse.register(&localpart, &old, false).await;
    let user = target.user_id.as_str();

    // Bad input: one line each, nothing changes.
    let remote = fx.ask("!reset-password @someone:elsewhere.org").await;
    assert!(remote.body.contains("another server"), "{}", remote.body);
    let missing = fx.ask("!reset-password").await;
    assert!(missing.body.contains("missing"), "{}", missing.body);
    let other_flag = fx.ask(&format!("!reset-password {user} --erase")).await;
    assert!(other_flag.body.contains("--erase"), "{}", other_flag.body);
    let unknown = fx.ask("!reset-password nobody-at-all-here").await;
    assert!(
        unknown.body.contains("nobody-at-all-here"),
        "{}",
        unknown.body
    );

    let preview = fx.ask(&format!("!reset-password {user}")).await;
    assert!(
        preview.body.contains("Reset the password of") && preview.body.contains("all logged out"),
        "{}",
        preview.body
    );
    assert!(
        log_in(&fx, user, &old).await.is_ok(),
        "nothing changes before the confirmation"
    );
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.contains("has a new password"), "{}", done.body);
    let file = attached(&fx, &format!("password-{localpart}.txt")).await;
    let (named, password) = password_in(&file);
    assert_eq!(named, user);
    assert_eq!(password.chars().count(), 20, "{password}");
    assert!(!done.body.contains(&password), "never in the text");
    assert!(
        log_in(&fx, user, &password).await.is_ok(),
        "the new password logs in"
    );
    assert!(
        log_in(&fx, user, &old).await.is_err(),
        "the old password no longer does"
    );
    assert!(
        wait_redacted(&fx, file.event_id.as_str()).await,
        "the bot redacts the password file after safety.secret_ttl"
    );

    // A new account: its generated password logs in; the name cannot be taken twice.
    let name = fx.synapse.unique_localpart("new");
    let new_id = format!("@{name}:{}", fx.synapse.server_name());
    let bad = fx.ask("!create-user Bad!Name").await;
    assert!(bad.body.contains("not a valid name"), "{}", bad.body);
    // A role with user.create alone cannot make an admin.
    let crossing = fx
        .ask_as(&helpdesk, &format!("!create-user {name} --admin"))
        .await;
    assert!(crossing.body.contains("user.admin"), "{}", crossing.body);
    let (status, _) = fx
        .synapse
        .admin_request(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v2/users/{new_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "nothing was created");
    let preview = fx
        .ask_as(
            &helpdesk,
            &format!("!create-user {name} --displayname Newcomer"),
        )
        .await;
    assert!(preview.body.contains("Create"), "{}", preview.body);
    let created = fx
        .ask_as(&helpdesk, &format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(created.body.contains("Created"), "{}", created.body);
    let file = attached(&fx, &format!("password-{name}.txt")).await;
    let (_, password) = password_in(&file);
    assert!(log_in(&fx, &new_id, &password).await.is_ok());
    let on_server = fx.user_on_server(&new_id).await;
    assert_eq!(on_server["displayname"], json!("Newcomer"), "{on_server}");
    assert_eq!(on_server["admin"], json!(false), "{on_server}");
    let again = fx.ask(&format!("!create-user {name}")).await;
    assert!(again.body.contains("already exists"), "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_are_deleted_notices_arrive_and_the_list_finds_new_accounts() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let localpart = fx.synapse.unique_localpart("dev");
    let password = format!("pw-{localpart}-long");
    let target = fx.synapse.register(&localpart, &password, false).await;
    let user = target.user_id.as_str();
    log_in(&fx, user, &password).await.expect("login");
    log_in(&fx, user, &password).await.expect("login");
    let before = devices_of(&fx, user).await;
    assert_eq!(before.len(), 3, "{before:?}");

    let vague = fx.ask(&format!("!delete-devices {user}")).await;
    assert!(vague.body.contains("say which devices"), "{}", vague.body);
    let no_such = fx
        .ask(&format!("!delete-devices {user} NOSUCHDEVICE"))
        .await;
    assert!(
        no_such.body.contains("no device NOSUCHDEVICE"),
        "{}",
        no_such.body
    );
    let one = &before[0];
    let preview = fx.ask(&format!("!delete-devices {user} {one}")).await;
    assert!(preview.body.contains(one.as_str()), "{}", preview.body);
    assert_eq!(devices_of(&fx, user).await.len(), 3, "nothing before ✅");
    let done = run_job(&fx, &preview).await;
    assert!(done.body.contains("Done: 1"), "{}", done.body);
    let after = devices_of(&fx, user).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(!after.contains(one), "{after:?}");
    let preview = fx.ask(&format!("!delete-devices {user} --all")).await;
    run_job(&fx, &preview).await;
    assert!(devices_of(&fx, user).await.is_empty());

    // A server notice, read from the account's own server-notices room.
    let missing = fx.ask(&format!("!notice {user}")).await;
    assert!(missing.body.contains("text"), "{}", missing.body);
    let sent = fx
        .ask(&format!("!notice {user} Maintenance tonight at 22:00"))
        .await;
    assert!(sent.body.contains("Server notice sent"), "{}", sent.body);
    let token = log_in(&fx, user, &password).await.expect("login");
    let notices = notices_for(&fx, &token).await;
    assert!(
        notices.iter().any(|b| b == "Maintenance tonight at 22:00"),
        "{notices:?}"
    );

    // The list: found by name and by age; bad ages refused.
    let listed = fx
        .ask(&format!(
            "!users --search {localpart} --registered-since 1h"
        ))
        .await;
    assert!(
        listed.body.contains(user) && listed.body.contains("1 match"),
        "{}",
        listed.body
    );
    let old = fx
        .ask(&format!("!users --search {localpart} --inactive 30d"))
        .await;
    assert!(old.body.contains("No accounts match"), "{}", old.body);
    let bad = fx.ask("!users --registered-since soon").await;
    assert!(bad.body.contains("soon"), "{}", bad.body);
}

/// The bodies of the messages in the account's server-notices room (joined first).
async fn notices_for(fx: &Fixture, token: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let (_, sync) = as_user(
            fx,
            reqwest::Method::GET,
            "/_matrix/client/v3/sync?timeout=0",
            token,
            &Value::Null,
        )
        .await;
        let mut rooms: Vec<String> = Vec::new();
        for kind in ["invite", "join"] {
            if let Some(map) = sync["rooms"][kind].as_object() {
                rooms.extend(map.keys().cloned());
            }
        }
        let mut bodies = Vec::new();
        for room in rooms {
            as_user(
                fx,
                reqwest::Method::POST,
                &format!("/_matrix/client/v3/rooms/{room}/join"),
                token,
                &json!({}),
            )
            .await;
            let (_, messages) = as_user(
                fx,
                reqwest::Method::GET,
                &format!("/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=20"),
                token,
                &Value::Null,
            )
            .await;
            for e in messages["chunk"].as_array().into_iter().flatten() {
                if let Some(b) = e["content"]["body"].as_str() {
                    bodies.push(b.to_owned());
                }
            }
        }
        if !bodies.is_empty() {
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Vec::new()
}

/// A public room the account makes, with `n` messages from it; the room ID.
pub(crate) async fn room_with_messages(fx: &Fixture, token: &str, n: usize) -> String {
    let (status, room) = as_user(
        fx,
        reqwest::Method::POST,
        "/_matrix/client/v3/createRoom",
        token,
        &json!({"preset": "public_chat", "name": "spam"}),
    )
    .await;
    assert_eq!(status, 200, "{room}");
    let room_id = room["room_id"].as_str().expect("room id").to_owned();
    for i in 0..n {
        send_message(fx, token, &room_id, &format!("buy now {i}")).await;
    }
    room_id
}

pub(crate) async fn send_message(fx: &Fixture, token: &str, room_id: &str, body: &str) {
    let txn = format!("t{}", rand_suffix());
    let (status, sent) = as_user(
        fx,
        reqwest::Method::PUT,
        &format!("/_matrix/client/v3/rooms/{room_id}/send/m.room.message/{txn}"),
        token,
        &json!({"msgtype": "m.text", "body": body}),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// The bodies of the account's messages in the room, as the Admin API sees them now (empty
/// content: redacted).
async fn messages_of(fx: &Fixture, room_id: &str, user: &str) -> Vec<Value> {
    let page = fx
        .admin_get(&format!(
            "/_synapse/admin/v1/rooms/{room_id}/messages?dir=b&limit=50"
        ))
        .await;
    page["chunk"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "m.room.message" && e["sender"] == user)
        .map(|e| e["content"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redactions_and_offboarding_run_to_the_end_on_synapse() {
    let synapse = crate::support::Synapse::shared();
    let narrow = Human::new(synapse, "ob-narrow").await;
    let narrow_id = narrow.user_id();
    let fx = Fixture::start_with(
        |_| Spec::default().role("deactivators", &[&narrow_id], &["user.deactivate"]),
        vec![&narrow],
    )
    .await;
    let localpart = fx.synapse.unique_localpart("spam");
    let password = format!("pw-{localpart}-long");
    let target = fx.synapse.register(&localpart, &password, false).await;
    let user = target.user_id.as_str();
    let token = log_in(&fx, user, &password).await.expect("login");
    let room = room_with_messages(&fx, &token, 3).await;

    let bad_age = fx.ask(&format!("!redact-user {user} --since 2x")).await;
    assert!(bad_age.body.contains("2x"), "{}", bad_age.body);
    let both = fx
        .ask(&format!(
            "!redact-user {user} --since 1d --before 2026-01-01"
        ))
        .await;
    assert!(both.body.contains("--since"), "{}", both.body);
    let preview = fx
        .ask(&format!("!redact-user {user} --since 1h --reason spam"))
        .await;
    assert!(
        preview.body.contains("Redacting the messages of 1 user")
            && preview.body.contains("the 1 rooms it is in"),
        "{}",
        preview.body
    );
    let done = run_job(&fx, &preview).await;
    assert!(
        done.body.contains("Done: 1") && done.body.contains("messages redacted"),
        "{}",
        done.body
    );
    let contents = messages_of(&fx, &room, user).await;
    assert_eq!(contents.len(), 3, "{contents:?}");
    assert!(
        contents
            .iter()
            .all(|c| c.as_object().is_some_and(|o| o.is_empty())),
        "every message redacted: {contents:?}"
    );

    // Offboarding: a narrower role may not; the whole playbook after one confirmation.
    send_message(&fx, &token, &room, "one more").await;
    let upload = http_client()
        .post(
            fx.synapse
                .endpoint("/_matrix/media/v3/upload?filename=spam.txt"),
        )
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("spam spam spam")
        .send()
        .await
        .expect("upload");
    assert!(upload.status().is_success());
    let refused = fx.ask_as(&narrow, &format!("!offboard {user}")).await;
    assert!(refused.body.contains("user.redact"), "{}", refused.body);
    assert!(!flag(&fx, user, "suspended").await, "nothing changed");
    let missing = fx.ask("!offboard").await;
    assert!(missing.body.contains("name the user"), "{}", missing.body);
    let preview = fx.ask(&format!("!offboard {user} --erase")).await;
    assert!(
        preview.body.contains("1. suspend") && preview.body.contains("4. deactivate and erase"),
        "{}",
        preview.body
    );
    let done = run_job(&fx, &preview).await;
    assert!(
        done.body
            .contains("suspended; messages redacted; 1 media deleted; deactivated and erased"),
        "{}",
        done.body
    );
    let on_server = fx.user_on_server(user).await;
    assert_eq!(on_server["deactivated"], json!(true), "{on_server}");
    assert_eq!(on_server["erased"], json!(true), "{on_server}");
    let media = fx
        .admin_get(&format!("/_synapse/admin/v1/users/{user}/media"))
        .await;
    assert_eq!(media["total"], json!(0), "{media}");
    assert!(
        messages_of(&fx, &room, user)
            .await
            .iter()
            .all(|c| c.as_object().is_some_and(|o| o.is_empty())),
        "the last message too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_of_thirty_leaves_protected_and_remote_users_alone() {
    let synapse = crate::support::Synapse::shared();
    let p1 = synapse.unique_localpart("prot");
    let p2 = synapse.unique_localpart("prot");
    synapse.register(&p1, "pw-protected-1", false).await;
    synapse.register(&p2, "pw-protected-2", false).await;
    let server = synapse.server_name().to_owned();
    let (prot1, prot2) = (format!("@{p1}:{server}"), format!("@{p2}:{server}"));
    let fx = Fixture::start(|_| Spec::default().protect(&prot1).protect(&prot2)).await;
    let prefix = fx.synapse.unique_localpart("wave");
    let users = register_many(&fx, &prefix, 27).await;
    let mut body = String::from("!suspend\n```\n");
    for u in &users {
        body.push_str(&format!("{u}\n"));
    }
    body.push_str(&format!("{prot1}\n{prot2}\n@spammer:elsewhere.org\n```"));
    let preview = fx.ask(&body).await;
    assert!(
        preview.body.contains("Suspending 27 users")
            && preview.body.contains("Refused, left alone (3)"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("protected user") && preview.body.contains("another server"),
        "{}",
        preview.body
    );
    // Between the preview and ✅ one account becomes a server admin and one is deactivated: the
    // job checks again before each write, and leaves both alone.
    let (promoted, gone) = (&users[0], &users[1]);
    fx.synapse
        .admin_put(
            &format!("/_synapse/admin/v2/users/{promoted}"),
            &json!({"admin": true}),
        )
        .await;
    fx.synapse
        .admin_post(&format!("/_synapse/admin/v1/deactivate/{gone}"), &json!({}))
        .await;
    let done = run_job(&fx, &preview).await;
    assert!(
        done.body.contains("Done: 25")
            && done.body.contains("Skipped: 2")
            && done.body.contains("Failed: 0"),
        "{}",
        done.body
    );
    for u in &users[2..] {
        assert!(flag(&fx, u, "suspended").await, "{u}");
    }
    assert!(
        !flag(&fx, promoted, "suspended").await,
        "an admin, since the preview"
    );
    assert!(
        !flag(&fx, gone, "suspended").await,
        "deactivated since the preview"
    );
    assert!(!flag(&fx, &prot1, "suspended").await);
    assert!(!flag(&fx, &prot2, "suspended").await);
    let job = job_number(&preview);
    let results = attached(&fx, &format!("job-{job}-results.csv")).await;
    let text = String::from_utf8(results.file.expect("file").bytes).expect("utf-8");
    assert_eq!(text.lines().count(), 28, "{text}");
    assert_eq!(text.lines().filter(|l| l.contains(",done,")).count(), 25);
    assert!(
        text.lines()
            .any(|l| l.starts_with(promoted.as_str()) && l.contains("server admin")),
        "{text}"
    );

    // Only refused users, an empty set, a regex that does not compile: one line, nothing runs.
    let only = fx.ask(&format!("!suspend\n{prot1}\n{prot2}")).await;
    assert!(
        only.body.contains("all 2 users of the set are refused"),
        "{}",
        only.body
    );
    let bad = fx.ask("!suspend --regex \"(\"").await;
    assert!(
        bad.body.contains("not a regular expression"),
        "{}",
        bad.body
    );
    let none = fx.ask("!lock --regex '^@nobody-matches-this-xyz'").await;
    assert!(none.body.contains("no users"), "{}", none.body);

    // Sixty by a regex: over safety.max_bulk without --force.
    let many = fx.synapse.unique_localpart("rx");
    register_many(&fx, &many, 60).await;
    let over = fx.ask(&format!("!lock --regex '^@{many}-'")).await;
    assert!(over.body.contains("safety.max_bulk (50)"), "{}", over.body);
    let forced = fx
        .ask(&format!("!lock --regex '^@{many}-' --force --dry-run"))
        .await;
    assert!(forced.body.contains("Locking 60 users"), "{}", forced.body);
    assert!(!flag(&fx, &format!("@{many}-0:{server}"), "locked").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_offboarding_resumes_and_repeats_nothing() {
    let mut fx = Fixture::start(|_| Spec::default()).await;
    let prefix = fx.synapse.unique_localpart("crash");
    let n = 24;
    let users = register_many(&fx, &prefix, n).await;
    let preview = fx.ask(&format!("!offboard --regex '^@{prefix}-'")).await;
    assert!(
        preview.body.contains(&format!("Offboarding {n} users")),
        "{}",
        preview.body
    );
    let job = job_number(&preview);
    let started = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(started.body.contains("started"), "{}", started.body);
    // Stop the bot as a crash would, as soon as the first account is through.
    let deadline = tokio::time::Instant::now() + LONG;
    'first: while tokio::time::Instant::now() < deadline {
        for u in &users {
            if flag(&fx, u, "deactivated").await {
                break 'first;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fx.stop_bot().await;
    let mut before = 0;
    for u in &users {
        before += usize::from(flag(&fx, u, "deactivated").await);
    }
    assert!(
        before < n,
        "the restart must happen mid-job (all {n} were done already)"
    );
    fx.start_bot().await;
    let done = summary(&fx, &job).await;
    // The room is told the job resumed, whether or not it had shown progress before the stop.
    let bot = fx.bot_user_id.clone();
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.contains("(resumed after a restart)"),
            LONG,
        )
        .await;
    assert!(
        done.body.contains(&format!("Done: {n}"))
            && done.body.contains("Skipped: 0")
            && done.body.contains("Failed: 0"),
        "nothing skipped, nothing failed, each done once: {}",
        done.body
    );
    for u in &users {
        assert!(flag(&fx, u, "deactivated").await, "{u}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_come_from_a_csv_file_and_notices_go_to_many() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let prefix = fx.synapse.unique_localpart("set");
    let users = register_many(&fx, &prefix, 4).await;

    // A CSV file's id column, the command as its caption.
    let csv = format!("id,displayname\n{},A\n{},B\n", users[0], users[1]);
    let upload = fx
        .admin
        .send_file(
            &fx.room_id,
            "spam.csv",
            csv.as_bytes(),
            "text/csv",
            Some("!shadow-ban"),
        )
        .await;
    let preview = fx.reply_to(&fx.admin, &upload).await;
    assert!(
        preview.body.contains("Shadow-banning 2 users"),
        "{}",
        preview.body
    );
    let done = run_job(&fx, &preview).await;
    assert!(done.body.contains("Done: 2"), "{}", done.body);
    assert!(flag(&fx, &users[0], "shadow_banned").await);
    assert!(flag(&fx, &users[1], "shadow_banned").await);
    assert!(
        !flag(&fx, &users[2], "shadow_banned").await,
        "not in the file"
    );

    // A command for one user in reply to a file nobody with a role sent (the bot's own results):
    // the file is left out, the user is acted on.
    let job = job_number(&preview);
    let results = attached(&fx, &format!("job-{job}-results.csv")).await;
    let reply = fx
        .admin
        .reply_to(
            &fx.room_id,
            &results.event_id,
            &format!("!lock {}", users[0]),
        )
        .await;
    let locked = fx.reply_to(&fx.admin, &reply).await;
    assert!(locked.body.contains("is now locked"), "{}", locked.body);
    assert!(flag(&fx, &users[0], "locked").await);

    // A notice to many: the recipients in the preview, the notice in each one's room.
    let preview = fx
        .ask(&format!(
            "!notice --to {},{} Welcome to the server",
            users[2], users[3]
        ))
        .await;
    assert!(
        preview.body.contains("Sending a server notice to 2 users")
            && preview.body.contains(&users[3]),
        "{}",
        preview.body
    );
    let done = run_job(&fx, &preview).await;
    assert!(done.body.contains("Done: 2"), "{}", done.body);
    let token = log_in(&fx, &users[3], &format!("pw-{prefix}-3-x"))
        .await
        .expect("login");
    let notices = notices_for(&fx, &token).await;
    assert!(
        notices.iter().any(|b| b == "Welcome to the server"),
        "{notices:?}"
    );

    // Deactivating a list in the body: both gone, the one not listed untouched.
    let preview = fx
        .ask(&format!("!deactivate\n- {}\n- {}", users[2], users[3]))
        .await;
    assert!(
        preview.body.contains("Deactivating 2 users"),
        "{}",
        preview.body
    );
    assert!(
        !flag(&fx, &users[2], "deactivated").await,
        "nothing before ✅"
    );
    let done = run_job(&fx, &preview).await;
    assert!(done.body.contains("Done: 2"), "{}", done.body);
    assert!(flag(&fx, &users[2], "deactivated").await);
    assert!(flag(&fx, &users[3], "deactivated").await);
    assert!(!flag(&fx, &users[0], "deactivated").await);
}
