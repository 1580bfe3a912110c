//! The inbox (issue: the admin room as an inbox): reports made through the client API become cards;
//! the card's buttons act as their commands, with their permissions; a restart neither re-posts
//! nor loses a card.

use std::time::Duration;

use serde_json::{Value, json};

use crate::accounts::{as_user, log_in};
use crate::moderation::{flag, room_with_messages};
use crate::support::bot::{Fixture, Spec};
use crate::support::{Human, ReceivedMessage};

const CARD_WAIT: Duration = Duration::from_secs(60);

/// The card (first version, not an edit) whose text contains `needle`.
async fn card(fx: &Fixture, needle: &str) -> ReceivedMessage {
    let bot = fx.bot_user_id.clone();
    let needle = needle.to_owned();
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| {
                m.sender == bot
                    && m.replaces.is_none()
                    && m.body.starts_with("Report #")
                    && m.body.contains(&needle)
            },
            CARD_WAIT,
        )
        .await
}

/// Waits for an edit of `card` that contains `needle`.
async fn edited(fx: &Fixture, card: &ReceivedMessage, needle: &str) -> ReceivedMessage {
    let bot = fx.bot_user_id.clone();
    let (id, needle) = (card.event_id.clone(), needle.to_owned());
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| {
                m.sender == bot && m.replaces.as_ref() == Some(&id) && m.body.contains(&needle)
            },
            CARD_WAIT,
        )
        .await
}

/// Synapse's open reports of a list (`event_reports` / `user_reports`), by ID.
async fn listed(fx: &Fixture, list: &str) -> Vec<i64> {
    let page = fx
        .admin_get(&format!("/_synapse/admin/v1/{list}?limit=1000"))
        .await;
    page[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_i64())
        .collect()
}

async fn report_event(fx: &Fixture, token: &str, room: &str, event: &str, reason: &str) {
    let (status, body) = as_user(
        fx,
        reqwest::Method::POST,
        &format!("/_matrix/client/v3/rooms/{room}/report/{event}"),
        token,
        &json!({"reason": reason, "score": -100}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn last_event_of(fx: &Fixture, token: &str, room: &str) -> String {
    let (_, messages) = as_user(
        fx,
        reqwest::Method::GET,
        &format!("/_matrix/client/v3/rooms/{room}/messages?dir=b&limit=1"),
        token,
        &Value::Null,
    )
    .await;
    messages["chunk"][0]["event_id"]
        .as_str()
        .expect("event id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_become_cards_whose_buttons_act_and_a_restart_loses_none() {
    let synapse = crate::support::Synapse::shared();
    let viewer = Human::new(synapse, "inbox-viewer").await;
    let viewer_id = viewer.user_id();
    let mut fx = Fixture::start_with(
        |_| Spec {
            tail: "[inbox]\npoll_interval = \"1s\"\n".into(),
            ..Spec::default().role("viewers", &[&viewer_id], &["report.view", "help"])
        },
        vec![&viewer],
    )
    .await;
    let spam_local = fx.synapse.unique_localpart("inbox-spam");
    let spam_pw = format!("pw-{spam_local}-x");
    let spammer = fx.synapse.register(&spam_local, &spam_pw, false).await;
    let spam_token = log_in(&fx, &spammer.user_id, &spam_pw)
        .await
        .expect("login");
    let room = room_with_messages(&fx, &spam_token, 1).await;
    let event = last_event_of(&fx, &spam_token, &room).await;
    let rep_local = fx.synapse.unique_localpart("inbox-rep");
    let rep_pw = format!("pw-{rep_local}-x");
    let reporter = fx.synapse.register(&rep_local, &rep_pw, false).await;
    let rep_token = log_in(&fx, &reporter.user_id, &rep_pw)
        .await
        .expect("login");
    as_user(
        &fx,
        reqwest::Method::POST,
        &format!("/_matrix/client/v3/rooms/{room}/join"),
        &rep_token,
        &json!({}),
    )
    .await;
    let tag = format!("pills from {spam_local}");
    report_event(&fx, &rep_token, &room, &event, &tag).await;
    let (status, body) = as_user(
        &fx,
        reqwest::Method::POST,
        &format!("/_matrix/client/v3/users/{}/report", spammer.user_id),
        &rep_token,
        &json!({"reason": format!("bot account {spam_local}")}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // One card each, within a poll: who, whom, where, the text, the reason.
    let event_card = card(&fx, &tag).await;
    assert!(
        event_card.body.contains(&reporter.user_id)
            && event_card.body.contains(&spammer.user_id)
            && event_card.body.contains("Text: buy now 0")
            && event_card.body.contains("m.room.message"),
        "{}",
        event_card.body
    );
    assert_eq!(
        event_card.content["m.mentions"],
        json!({}),
        "a card pings nobody"
    );
    let user_card = card(&fx, &format!("bot account {spam_local}")).await;
    assert!(
        user_card.body.contains("Earlier reports naming"),
        "{}",
        user_card.body
    );
    let user_reports_before = listed(&fx, "user_reports").await;
    assert!(!user_reports_before.is_empty());

    // A role without report.handle: ✅ does nothing (the report stays on Synapse), and is audited.
    viewer.react(&fx.room_id, &user_card.event_id, "✅").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(listed(&fx, "user_reports").await, user_reports_before);
    let trail = fx
        .ask(&format!("!audit --actor {viewer_id} --command dismiss"))
        .await;
    assert!(trail.body.contains("refused"), "{}", trail.body);

    // ✅ by the admin dismisses: Synapse no longer lists it; the card says who.
    fx.admin.react(&fx.room_id, &user_card.event_id, "✅").await;
    let done = edited(&fx, &user_card, "Handled by").await;
    assert!(
        done.body.contains(fx.admin.user_id().as_str()) && done.body.contains("dismissed"),
        "{}",
        done.body
    );
    assert!(
        listed(&fx, "user_reports").await.len() < user_reports_before.len(),
        "dismissed on Synapse"
    );

    // ☣ on an image's card quarantines its file on Synapse.
    let upload = crate::support::synapse::http_client()
        .post(
            fx.synapse
                .endpoint("/_matrix/media/v3/upload?filename=spam.png"),
        )
        .bearer_auth(&spam_token)
        .header("content-type", "image/png")
        .body("not really a png")
        .send()
        .await
        .expect("upload");
    let mxc: Value = upload.json().await.expect("upload reply");
    let mxc = mxc["content_uri"].as_str().expect("content uri").to_owned();
    let (status, sent) = as_user(
        &fx,
        reqwest::Method::PUT,
        &format!("/_matrix/client/v3/rooms/{room}/send/m.room.message/img-{spam_local}"),
        &spam_token,
        &json!({"msgtype": "m.image", "body": "spam.png", "url": mxc}),
    )
    .await;
    assert_eq!(status, 200, "{sent}");
    let image = sent["event_id"].as_str().expect("event id").to_owned();
    let image_tag = format!("image from {spam_local}");
    report_event(&fx, &rep_token, &room, &image, &image_tag).await;
    let image_card = card(&fx, &image_tag).await;
    assert!(
        image_card.body.contains("☣ quarantine media"),
        "{}",
        image_card.body
    );
    fx.admin.react(&fx.room_id, &image_card.event_id, "☣").await;
    edited(&fx, &image_card, "media quarantined").await;
    let media_path = mxc.trim_start_matches("mxc://");
    let info = fx
        .admin_get(&format!("/_synapse/admin/v1/media/{media_path}"))
        .await;
    assert!(info["media_info"]["quarantined_by"].is_string(), "{info}");

    // 🗑 previews the redaction of exactly that event; confirmed, it is redacted on Synapse.
    let bot = fx.bot_user_id.clone();
    let card_id = event_card.event_id.clone();
    let mark = fx.admin.mark();
    fx.admin.react(&fx.room_id, &event_card.event_id, "🗑").await;
    let preview = fx
        .admin
        .wait_for_message_after(
            mark,
            &fx.room_id,
            move |m| m.sender == bot && m.in_reply_to.as_ref() == Some(&card_id),
            CARD_WAIT,
        )
        .await;
    assert!(
        preview.body.contains("Redacting the messages of 1 user")
            && preview.body.contains(&format!("the event {event}")),
        "{}",
        preview.body
    );
    let at = preview.body.rfind("Job #").expect("job number");
    let job: String = preview.body[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    fx.ask(&format!(
        "!confirm {}",
        crate::support::bot::confirm_code(&preview)
    ))
    .await;
    let bot = fx.bot_user_id.clone();
    let needle = format!("Job #{job} finished");
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with(&needle) && m.replaces.is_none(),
            CARD_WAIT,
        )
        .await;
    let after = fx
        .admin_get(&format!(
            "/_synapse/admin/v1/rooms/{room}/context/{event}?limit=0"
        ))
        .await;
    assert!(
        after["event"]["content"]
            .as_object()
            .is_some_and(|c| c.is_empty()),
        "the reported event is redacted: {after}"
    );
    let image_now = fx
        .admin_get(&format!(
            "/_synapse/admin/v1/rooms/{room}/context/{image}?limit=0"
        ))
        .await;
    assert!(
        image_now["event"]["content"]["url"].is_string(),
        "only that event: {image_now}"
    );

    // ⏸ suspends the sender.
    fx.admin.react(&fx.room_id, &event_card.event_id, "⏸").await;
    edited(&fx, &event_card, "sender suspended").await;
    assert!(flag(&fx, &spammer.user_id, "suspended").await);

    // A restart: nothing re-posted, and a report made while the bot was down gets its card.
    fx.stop_bot().await;
    let late = format!("while down {spam_local}");
    report_event(&fx, &rep_token, &room, &event, &late).await;
    fx.start_bot().await;
    card(&fx, &late).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cards_of_first = fx
        .admin
        .messages(&fx.room_id)
        .into_iter()
        .filter(|m| m.sender == fx.bot_user_id && m.replaces.is_none() && m.body.contains(&tag))
        .count();
    assert_eq!(cards_of_first, 1, "not re-posted after the restart");

    let list = fx.ask_as(&viewer, "!reports --open").await;
    assert!(list.body.contains("Reports, page 1"), "{}", list.body);
    let number: String = user_card.body["Report #".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let one = fx.ask_as(&viewer, &format!("!report {number}")).await;
    assert!(
        one.body.starts_with(&format!("Report #{number} "))
            && one.body.contains("Handled by")
            && one.body.contains(&format!("bot account {spam_local}")),
        "{}",
        one.body
    );

    let dismiss = fx.ask_as(&viewer, "!dismiss 1").await;
    assert!(dismiss.body.contains("report.handle"), "{}", dismiss.body);
}

/// Registers `n` accounts named `<prefix>-<i>`, four at a time.
async fn register_burst(fx: &Fixture, prefix: &str, n: usize) {
    use futures_util::StreamExt;
    let synapse = fx.synapse;
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            let localpart = format!("{prefix}-{i}");
            let name = format!("Spammy {i}");
            synapse
                .register_with_display_name(
                    &localpart,
                    &format!("pw-{localpart}-x"),
                    false,
                    Some(&name),
                )
                .await
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
}

fn bot_messages_after(
    fx: &Fixture,
    mark: crate::support::Mark,
    needle: &str,
) -> Vec<ReceivedMessage> {
    fx.admin
        .messages_after(mark, &fx.room_id)
        .into_iter()
        .filter(|m| m.sender == fx.bot_user_id && m.replaces.is_none() && m.body.contains(needle))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_thirty_sign_ups_raises_exactly_one_wave_alert_and_is_told_flagged() {
    // Alone: nobody else registers meanwhile, so the window holds only this burst.
    let fx = Fixture::start_exclusive(
        |_| Spec {
            tail: "[inbox]\npoll_interval = \"1s\"\nwave_threshold = 25\nwave_window = \"15s\"\nsignups_every = \"5s\"\nsuspicious_names = [\"^Spammy \"]\n"
                .into(),
            ..Spec::default()
        },
        Vec::new(),
    )
    .await;
    // Accounts made before (other tests, this fixture) leave the window first.
    tokio::time::sleep(Duration::from_secs(17)).await;
    let mark = fx.admin.mark();
    let prefix = fx.synapse.unique_localpart("burst");
    register_burst(&fx, &prefix, 30).await;
    let bot = fx.bot_user_id.clone();
    let alert = fx
        .admin
        .wait_for_message_after(
            mark,
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with("Sign-up wave:"),
            CARD_WAIT,
        )
        .await;
    assert!(
        alert.body.contains("!suspend --registered-since 15s")
            && alert.body.contains("!users --registered-since 15s")
            && alert.body.contains(&prefix),
        "{}",
        alert.body
    );
    // The sign-ups notice: the new accounts, flagged.
    let bot = fx.bot_user_id.clone();
    let told = fx
        .admin
        .wait_for_message_after(
            mark,
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with("New accounts since"),
            CARD_WAIT,
        )
        .await;
    assert!(
        told.body.contains(&prefix)
            && told.body.contains("no e-mail")
            && told.body.contains("suspicious name"),
        "{}",
        told.body
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        bot_messages_after(&fx, mark, "Sign-up wave:").len(),
        1,
        "exactly one alert for one wave"
    );
}

/// The number after `label` in `body`.
fn number_after(body: &str, label: &str) -> Option<u64> {
    let at = body.find(label)? + label.len();
    body[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digest_counts_what_the_admin_api_reports() {
    let synapse = crate::support::Synapse::shared();
    let viewer = Human::new(synapse, "digest-viewer").await;
    let viewer_id = viewer.user_id();
    // Alone, so no account appears between the digest and the check.
    let fx = Fixture::start_exclusive(
        |_| Spec::default().role("viewers", &[&viewer_id], &["report.view"]),
        vec![&viewer],
    )
    .await;
    let refused = fx.ask_as(&viewer, "!digest").await;
    assert!(refused.body.contains("digest.view"), "{}", refused.body);
    // Tests that have not reached their fixture yet may still make accounts and reports: the
    // digest's count lies between Synapse's totals read just before and just after it.
    let totals = || async {
        let users = fx
            .admin_get("/_synapse/admin/v2/users?deactivated=true&locked=true&guests=false&limit=1")
            .await;
        let events = fx
            .admin_get("/_synapse/admin/v1/event_reports?limit=1")
            .await;
        let user_reports = fx
            .admin_get("/_synapse/admin/v1/user_reports?limit=1")
            .await;
        [users, events, user_reports].map(|page| page["total"].as_u64().expect("a total"))
    };
    let before = totals().await;
    let digest = fx.ask("!digest").await;
    let after = totals().await;
    let within = |n: Option<u64>, i: usize| n.is_some_and(|n| before[i] <= n && n <= after[i]);
    // The harness's Synapse is younger than a day: every account is new.
    assert!(
        within(number_after(&digest.body, "New accounts (24 h):"), 0),
        "{before:?}..{after:?}: {}",
        digest.body
    );
    assert!(
        within(number_after(&digest.body, "Reports on Synapse:"), 1)
            && within(number_after(&digest.body, " event,"), 2),
        "{before:?}..{after:?}: {}",
        digest.body
    );
    let tasks = fx
        .admin_get("/_synapse/admin/v1/scheduled_tasks?status=failed")
        .await;
    let day_ago = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64)
        - 86_400_000;
    let failed = tasks["scheduled_tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["timestamp_ms"].as_i64().is_some_and(|ts| ts >= day_ago))
        .count() as u64;
    assert_eq!(
        number_after(&digest.body, "Failed scheduled tasks (24 h):"),
        Some(failed),
        "{}",
        digest.body
    );
    assert!(
        digest.body.contains("Federation: 0 destinations")
            && digest.body.contains("Background updates:"),
        "{}",
        digest.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_told_once_synapse_answers_again() {
    let proxy = crate::support::proxy::Proxy::start(&crate::support::Synapse::shared().url()).await;
    let url = proxy.url().clone();
    let fx = Fixture::start(move |_| Spec {
        homeserver_url: Some(url),
        tail: "[inbox]\npoll_interval = \"1s\"\noutage_alert_after = \"2s\"\nwave_threshold = 100000\n"
            .into(),
        ..Spec::default()
    })
    .await;
    let mark = fx.admin.mark();
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(6)).await;
    proxy.restore();
    let bot = fx.bot_user_id.clone();
    let told = fx
        .admin
        .wait_for_message_after(
            mark,
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with("Synapse could not be reached from"),
            CARD_WAIT,
        )
        .await;
    assert!(told.body.contains("Delayed meanwhile"), "{}", told.body);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        bot_messages_after(&fx, mark, "Synapse could not be reached").len(),
        1,
        "said once"
    );
}
