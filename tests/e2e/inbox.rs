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
    let dismiss = fx.ask_as(&viewer, "!dismiss 1").await;
    assert!(dismiss.body.contains("report.handle"), "{}", dismiss.body);
}
