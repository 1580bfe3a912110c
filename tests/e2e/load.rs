//! Under load (issue: fast, small and observable): five admins sending `!user` at once, each
//! command answered exactly once, about the user asked, within 10 s of it; and the check that
//! no secret the run used reached the bots' log can find one.

use std::collections::HashMap;
use std::time::Duration;

use matrix_sdk::ruma::OwnedEventId;

use crate::support::bot::{Fixture, Spec};
use crate::support::{Human, secrets};

const SENDERS: usize = 5;
const COMMANDS_EACH: usize = 20;
/// Distinct accounts looked up; each sender asks about all of them, in its own order.
const TARGETS: usize = 20;
const ANSWER_WITHIN_MS: u64 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_admins_sending_twenty_commands_each_get_every_answer_once() {
    let synapse = crate::support::Synapse::shared();
    let mut others = Vec::new();
    for _ in 1..SENDERS {
        others.push(Human::new(synapse, "load-admin").await);
    }
    let ids: Vec<_> = others.iter().map(Human::user_id).collect();
    // Alone on the shared Synapse: the bound is on the bot under its own load, not the suite's.
    let fx = Fixture::start_exclusive(
        |_| {
            let refs: Vec<_> = ids.iter().map(|id| id.as_ref()).collect();
            Spec::default().role("helpdesk", &refs, &["user.info"])
        },
        others.iter().collect(),
    )
    .await;
    let mut senders: Vec<&Human> = vec![&fx.admin];
    senders.extend(others.iter());
    // Their own message rate limits lifted, as the measurement did.
    for human in &senders {
        let path = format!(
            "/_synapse/admin/v1/users/{}/override_ratelimit",
            human.user_id()
        );
        synapse
            .admin_post(
                &path,
                &serde_json::json!({"messages_per_second": 0, "burst_count": 0}),
            )
            .await;
    }
    let mut targets = Vec::new();
    for _ in 0..TARGETS {
        let localpart = synapse.unique_localpart("load-target");
        let password = format!("pw-{localpart}-load");
        targets.push(synapse.register(&localpart, &password, false).await.user_id);
    }
    // The bot answers one command first, so every sender's client has its room key by now.
    fx.ask("!ping").await;

    let sends = senders.iter().enumerate().map(|(s, human)| {
        let targets = &targets;
        let room = &fx.room_id;
        async move {
            let mut sent = Vec::new();
            for i in 0..COMMANDS_EACH {
                let target = &targets[(i * (s + 1) + s) % TARGETS];
                let id = human.send_text(room, &format!("!user {target}")).await;
                sent.push((id, target.clone(), s));
            }
            sent
        }
    });
    let sent: Vec<(OwnedEventId, String, usize)> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(sent.len(), SENDERS * COMMANDS_EACH);

    // Every reply, as the first admin's client sees the room.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let replies = loop {
        let by_command = replies_by_command(&fx);
        let answered = sent
            .iter()
            .filter(|(id, ..)| by_command.contains_key(id))
            .count();
        if answered == sent.len() || tokio::time::Instant::now() > deadline {
            break by_command;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // Give a duplicate a moment to show up before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let replies = {
        let again = replies_by_command(&fx);
        if again.len() >= replies.len() {
            again
        } else {
            replies
        }
    };

    let mut problems = Vec::new();
    for (id, target, s) in &sent {
        let Some(answers) = replies.get(id) else {
            problems.push(format!("sender {s}: no answer to !user {target} ({id})"));
            continue;
        };
        if answers.len() != 1 {
            problems.push(format!("sender {s}: {} answers to {id}", answers.len()));
        }
        let (body, reply_ts) = &answers[0];
        if !body.contains(target.as_str()) {
            problems.push(format!(
                "sender {s}: the answer to !user {target} is about something else: {body:?}"
            ));
        }
        let command_ts = senders[*s]
            .messages(&fx.room_id)
            .into_iter()
            .find(|m| &m.event_id == id)
            .map(|m| m.origin_server_ts);
        match command_ts {
            Some(ts) if reply_ts.saturating_sub(ts) > ANSWER_WITHIN_MS => problems.push(format!(
                "sender {s}: !user {target} answered after {} ms",
                reply_ts - ts
            )),
            Some(_) => {}
            None => problems.push(format!("sender {s}: its own command {id} never came back")),
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} commands went wrong:\n{}",
        problems.len(),
        sent.len(),
        problems.join("\n")
    );
}

/// The bot's answers (not edits) by the command they reply to: body and Synapse's timestamp.
fn replies_by_command(fx: &Fixture) -> HashMap<OwnedEventId, Vec<(String, u64)>> {
    let mut by_command: HashMap<OwnedEventId, Vec<(String, u64)>> = HashMap::new();
    for m in fx.admin.messages(&fx.room_id) {
        if m.sender == fx.bot_user_id
            && m.replaces.is_none()
            && let Some(to) = m.in_reply_to.clone()
        {
            by_command
                .entry(to)
                .or_default()
                .push((m.body.clone(), m.origin_server_ts));
        }
    }
    by_command
}

/// The secrets check finds a secret that was logged: it is not one that can never fail.
#[test]
fn the_secrets_check_finds_a_logged_secret() {
    crate::support::bot::init_logging();
    let canary = format!("canary-{}-{}", std::process::id(), rand_suffix());
    assert!(!secrets::logged(&canary));
    tracing::warn!(target: "syndic::e2e_canary", "logging {canary} on purpose");
    assert!(
        secrets::logged(&canary),
        "the check reads the log the bots write"
    );
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
