//! Team safety (issue: trust): a second approver for the permissions `safety.two_person` lists,
//! and roles granted by power level in the admin room. Each test tries to cross the boundary as
//! a team member would from a client, and checks the account on Synapse.

use std::time::Duration;

use matrix_sdk::ruma::Int;

use crate::support::Human;
use crate::support::bot::{Fixture, QUIET, Spec, confirm_code};

async fn is_deactivated(fx: &Fixture, user: &str) -> (bool, bool) {
    let u = fx.user_on_server(user).await;
    (
        u["deactivated"].as_bool().unwrap_or(false),
        u["erased"].as_bool().unwrap_or(false),
    )
}

/// The code in `!approve ABC123`.
fn approve_code(preview: &str) -> Option<String> {
    let at = preview.find("!approve ")?;
    Some(
        preview[at + 9..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_person_command_needs_a_different_approver_who_may_run_it() {
    let synapse = crate::support::Synapse::shared();
    let moderator = Human::new(synapse, "moderator").await;
    let helpdesk = Human::new(synapse, "helpdesk").await;
    let (moderator_id, helpdesk_id) = (moderator.user_id(), helpdesk.user_id());
    let fx = Fixture::start_with(
        |_| {
            Spec::default()
                .role(
                    "moderators",
                    &[&moderator_id],
                    &["user.deactivate", "user.erase", "help"],
                )
                .role("helpdesk", &[&helpdesk_id], &["user.info", "help"])
                .safety_line("two_person = [\"user.erase\"]")
                // The author's second session must reach the approval rules, not be stopped
                // earlier for being unverified.
                .safety_line("require_verified_devices = false")
        },
        vec![&moderator, &helpdesk],
    )
    .await;
    let target = fx.plain_user("wave").await;

    let preview = fx.ask(&format!("!deactivate {target} --erase")).await;
    let code = confirm_code(&preview);
    assert_eq!(
        approve_code(&preview.body).as_deref(),
        Some(code.as_str()),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("Needs a second approver")
            && preview.body.contains(moderator_id.as_str()),
        "the preview names who may approve: {}",
        preview.body
    );
    assert!(
        !preview.body.contains(helpdesk_id.as_str()),
        "the helpdesk may not run it, so it is not offered: {}",
        preview.body
    );

    // The author confirms: recorded, nothing runs.
    let waiting = fx.ask(&format!("!confirm {code}")).await;
    assert!(
        waiting.body.starts_with(&format!("Confirmed {code}")),
        "{}",
        waiting.body
    );
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));

    // The author alone never completes it, not from another session, not with ✅, not by
    // approving their own command.
    let second = Human::login(fx.synapse, &fx.admin.user).await;
    let own = second
        .send_text(&fx.room_id, &format!("!approve {code}"))
        .await;
    let refused = fx.reply_to(&fx.admin, &own).await;
    assert!(
        refused
            .body
            .contains("a different role holder must approve"),
        "{}",
        refused.body
    );
    second.react(&fx.room_id, &preview.event_id, "✅").await;
    let again = fx.reply_to(&fx.admin, &preview.event_id).await;
    assert!(
        again.body.starts_with(&format!("Confirmed {code}")),
        "{}",
        again.body
    );
    assert_eq!(
        is_deactivated(&fx, &target).await,
        (false, false),
        "the author's two sessions are one person"
    );

    // A role holder whose roles do not allow the command cannot approve it.
    let refused = fx.ask_as(&helpdesk, &format!("!approve {code}")).await;
    assert!(
        refused.body.contains("cannot approve it"),
        "{}",
        refused.body
    );
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));

    // The moderator's approval runs it.
    let done = fx.ask_as(&moderator, &format!("!approve {code}")).await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(is_deactivated(&fx, &target).await, (true, true));

    // The other order, with ✅: the approver first, then the author. Without --erase no
    // approver is needed at all.
    let target = fx.plain_user("wave2").await;
    let plain = fx.ask(&format!("!deactivate {target}")).await;
    assert!(approve_code(&plain.body).is_none(), "{}", plain.body);
    let refused = fx
        .ask_as(&moderator, &format!("!approve {}", confirm_code(&plain)))
        .await;
    assert!(
        refused.body.contains("needs no second approver"),
        "{}",
        refused.body
    );
    fx.ask(&format!("!cancel {}", confirm_code(&plain))).await;

    let preview = fx.ask(&format!("!deactivate {target} --erase")).await;
    let code = confirm_code(&preview);
    moderator.react(&fx.room_id, &preview.event_id, "✅").await;
    let approved = fx.reply_to(&moderator, &preview.event_id).await;
    assert!(
        approved.body.starts_with(&format!("Approved {code}")),
        "{}",
        approved.body
    );
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));
    let done = fx.ask(&format!("!confirm {code}")).await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(is_deactivated(&fx, &target).await, (true, true));

    // Both steps are in the audit trail.
    let audit = fx.ask("!audit --command deactivate").await;
    assert!(audit.body.contains("approved"), "{}", audit.body);
    assert!(audit.body.contains(moderator_id.as_str()), "{}", audit.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_person_command_nobody_else_may_approve_is_refused() {
    let fx = Fixture::start(|_| {
        Spec::default().safety_line("two_person = [\"user.erase\", \"room.block\"]")
    })
    .await;
    let target = fx.plain_user("alone").await;
    let refused = fx.ask(&format!("!deactivate {target} --erase")).await;
    assert!(
        refused
            .body
            .starts_with("Refused: this needs a second approver"),
        "{}",
        refused.body
    );
    // A reversible command cannot wait for an approver: refused rather than run unapproved.
    let room = fx
        .admin
        .create_plain_room(&[], "two-person block target")
        .await;
    let refused = fx.ask(&format!("!block-room {}", room.room_id())).await;
    assert!(
        refused.body.contains("needs a second approver"),
        "{}",
        refused.body
    );
    let blocked = fx
        .admin_get(&format!(
            "/_synapse/admin/v1/rooms/{}/block",
            room.room_id()
        ))
        .await;
    assert_eq!(blocked["block"], false, "{blocked}");
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_level_roles_come_and_go_with_the_room_state() {
    let synapse = crate::support::Synapse::shared();
    let member = Human::new(synapse, "pl-member").await;
    let member_id = member.user_id();
    let fx = Fixture::start_with(
        |_| Spec {
            tail: "[[roles]]\nname = \"moderators\"\nmin_power_level = 50\nallow = [\"help\", \"ping\", \"user.info\", \"schedule\"]\n".into(),
            ..Spec::default()
        },
        vec![&member],
    )
    .await;
    let target = fx.plain_user("pl-target").await;
    let admin_room = fx.admin.room(&fx.room_id);

    // At the default power level the member holds no role: ignored, as a stranger is.
    let mark = fx.admin.mark();
    member.send_text(&fx.room_id, "!ping").await;
    fx.admin
        .assert_no_message_from_after(mark, &fx.room_id, &fx.bot_user_id, QUIET)
        .await;

    // Raised to 50 in Element: the role is theirs, within its permissions only.
    admin_room
        .update_power_levels(vec![(&member_id, Int::from(50))])
        .await
        .expect("raise power level");
    let user = fx.ask_as(&member, &format!("!user {target}")).await;
    assert!(user.body.contains(&target), "{}", user.body);
    let refused = fx
        .ask_as(&member, &format!("!deactivate {target} --force"))
        .await;
    assert!(
        refused.body.contains("needs permission user.deactivate"),
        "{}",
        refused.body
    );
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));

    // A schedule runs with its author's roles of the moment.
    let made = fx.ask_as(&member, "!schedule every 5s ping").await;
    assert!(made.body.starts_with("Schedule #"), "{}", made.body);
    let schedule: String = made.body["Schedule #".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let bot = fx.bot_user_id.clone();
    fx.admin
        .wait_for_message(
            &fx.room_id,
            |m| m.sender == bot && m.body.contains("Pong"),
            Duration::from_secs(20),
        )
        .await;

    // Leaving the room takes the role away at once: the next run is skipped.
    member
        .room(&fx.room_id)
        .leave()
        .await
        .expect("leave the admin room");
    let mark = fx.admin.mark();
    let bot = fx.bot_user_id.clone();
    let member_str = member_id.to_string();
    let skipped = fx
        .admin
        .wait_for_message_after(
            mark,
            &fx.room_id,
            |m| m.sender == bot && m.body.contains("Skipped:"),
            Duration::from_secs(20),
        )
        .await;
    assert!(
        skipped.body.contains(&member_str) && skipped.body.contains("no role"),
        "{}",
        skipped.body
    );

    let gone = fx.ask(&format!("!unschedule {schedule}")).await;
    assert!(gone.body.contains(&schedule), "{}", gone.body);

    // Demoted while still joined: the same.
    fx.admin.invite(&fx.room_id, &member_id).await;
    member.join(&fx.room_id).await;
    admin_room
        .update_power_levels(vec![(&member_id, Int::from(0))])
        .await
        .expect("lower power level");
    let mark = fx.admin.mark();
    member.send_text(&fx.room_id, "!ping").await;
    fx.admin
        .assert_no_message_from_after(mark, &fx.room_id, &fx.bot_user_id, QUIET)
        .await;
}
