//! The core path (issue: a real bot in an encrypted admin room that deactivates users safely):
//! help, ping, user lookup, deactivation with its confirmations and refusals, the gate, restarts.

use std::time::Duration;

use matrix_sdk::ruma::push::RuleKind;
use matrix_sdk::ruma::{OwnedUserId, UserId};

use crate::support::bot::{Fixture, QUIET, Spec, confirm_code};
use crate::support::{DEFAULT_TIMEOUT, Human};

fn uid(s: &str) -> OwnedUserId {
    UserId::parse(s).expect("user id")
}

async fn is_deactivated(fx: &Fixture, user: &str) -> (bool, bool) {
    let u = fx.user_on_server(user).await;
    (
        u["deactivated"].as_bool().unwrap_or(false),
        u["erased"].as_bool().unwrap_or(false),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_ping_and_user_answer_from_the_server() {
    let fx = Fixture::start(|_| Spec::default()).await;

    let help = fx.ask("!help").await;
    assert_eq!(help.msgtype, "m.notice");
    assert!(
        help.was_encrypted,
        "replies in an encrypted room are encrypted"
    );
    for cmd in [
        "!help",
        "!ping",
        "!user",
        "!deactivate",
        "!confirm",
        "!cancel",
    ] {
        assert!(help.body.contains(cmd), "{cmd} missing from {}", help.body);
    }
    let accounts = fx.ask("!help accounts").await;
    assert!(
        accounts.body.contains("!deactivate — ") && !accounts.body.contains("!purge-media"),
        "{}",
        accounts.body
    );
    let usage = fx.ask("!help deactivate").await;
    assert!(
        usage
            .body
            .contains("!deactivate [users…] [--regex RE] [--registered-since AGE] [--inactive AGE] [--erase] [--force] [--dry-run]"),
        "{}",
        usage.body
    );
    assert!(
        usage
            .body
            .contains("Example: !deactivate @spammer:example.org --erase"),
        "{}",
        usage.body
    );

    let version = fx.admin_get("/_synapse/admin/v1/server_version").await;
    let ping = fx.ask("!ping").await;
    let synapse_version = version["server_version"].as_str().expect("version");
    assert!(
        ping.body.contains(synapse_version),
        "{} lacks {synapse_version}",
        ping.body
    );
    assert!(
        ping.body.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        ping.body
    );

    // A user with a display name, looked up by bare localpart.
    let localpart = fx.synapse.unique_localpart("carol");
    let carol = fx
        .synapse
        .register_with_display_name(&localpart, "pw-carol-1234", false, Some("Carol Example"))
        .await;
    // One request with her token: Synapse keeps it in memory for up to 5 s before writing it to
    // the table its user details read, and `!user` still shows it.
    let (status, _) = crate::accounts::as_user(
        &fx,
        reqwest::Method::GET,
        "/_matrix/client/v3/account/whoami",
        &carol.access_token,
        &serde_json::Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let info = fx.ask(&format!("!user {localpart}")).await;
    assert!(info.body.contains(&carol.user_id), "{}", info.body);
    assert!(!info.body.contains("Last seen: never"), "{}", info.body);
    assert!(info.body.contains("Carol Example"), "{}", info.body);
    assert!(info.body.contains("Admin: no"), "{}", info.body);
    assert!(info.body.contains("Deactivated: no"), "{}", info.body);
    // Registration made one device, and the account is in no room.
    assert!(info.body.contains("Devices: 1 · Rooms: 0"), "{}", info.body);
    let formatted = info.formatted_body.as_deref().unwrap_or_default();
    assert!(
        formatted.contains(&format!("<code>{}</code>", carol.user_id)),
        "{formatted}"
    );

    let missing = fx.ask("!user nobody-here-at-all").await;
    assert!(missing.body.contains("does not exist"), "{}", missing.body);

    let typo = fx.ask("!deactivat x").await;
    assert_eq!(
        typo.body,
        "unknown command !deactivat (did you mean deactivate?); type !help for the list"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivate_and_erase_after_a_reaction_and_after_confirm() {
    let fx = Fixture::start(|_| Spec::default()).await;

    // 1. As Element sends it: a pill in formatted_body, the display name in body, an em-dash.
    let localpart = fx.synapse.unique_localpart("spam");
    let spammer = fx
        .synapse
        .register_with_display_name(&localpart, "pw-spam-1234", false, Some("Spam Bot"))
        .await;
    let spammer_id = uid(&spammer.user_id);
    let cmd = fx
        .admin
        .send_command_with_pill(
            &fx.room_id,
            "!deactivate ",
            &spammer_id,
            "Spam Bot",
            " —erase",
        )
        .await;
    let preview = fx.reply_to(&fx.admin, &cmd).await;
    assert!(
        preview.body.contains("Deactivate and erase"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains(&spammer.user_id), "{}", preview.body);
    assert!(preview.body.contains("Irreversible"), "{}", preview.body);
    let code = confirm_code(&preview);
    assert_eq!(code.len(), 6, "{}", preview.body);
    assert!(
        preview.body.contains("within 10 min to go ahead"),
        "{}",
        preview.body
    );
    assert_eq!(
        is_deactivated(&fx, &spammer.user_id).await,
        (false, false),
        "nothing happens before confirmation"
    );

    fx.admin.react(&fx.room_id, &preview.event_id, "✅").await;
    let done = fx.reply_to(&fx.admin, &preview.event_id).await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(is_deactivated(&fx, &spammer.user_id).await, (true, true));
    fx.admin
        .wait_for_reaction(&fx.room_id, &cmd, "✅", DEFAULT_TIMEOUT)
        .await;

    // 2. With !confirm <code>, and a bare localpart.
    let target = fx.plain_user("spam2").await;
    let localpart = target
        .trim_start_matches('@')
        .split(':')
        .next()
        .expect("localpart")
        .to_owned();
    let preview = fx.ask(&format!("!deactivate {localpart} --erase")).await;
    let code = confirm_code(&preview);
    let done = fx.ask(&format!("!confirm {}", code.to_lowercase())).await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(is_deactivated(&fx, &target).await, (true, true));
    // The same code does nothing a second time.
    let again = fx.ask(&format!("!confirm {code}")).await;
    assert!(
        again.body.starts_with("No pending command has code"),
        "{}",
        again.body
    );

    // 3. Without --erase: deactivated, not erased.
    let target = fx.plain_user("quiet").await;
    let preview = fx.ask(&format!("!deactivate {target}")).await;
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert_eq!(is_deactivated(&fx, &target).await, (true, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_cancelled_and_foreign_confirmations_change_nothing() {
    let synapse = crate::support::Synapse::shared();
    let colleague = Human::new(synapse, "colleague").await;
    let colleague_id = colleague.user_id();
    let fx = Fixture::start_with(
        |_| Spec::default().role("second-admin", &[&colleague_id], &["*"]),
        vec![&colleague],
    )
    .await;
    fx.admin
        .wait_for_join(&fx.room_id, &colleague_id, DEFAULT_TIMEOUT)
        .await;
    let target = fx.plain_user("target").await;

    let dry = fx
        .ask(&format!("!deactivate {target} --erase --dry-run"))
        .await;
    assert!(
        dry.body.contains("Dry run: nothing was changed."),
        "{}",
        dry.body
    );
    assert!(
        !dry.body.contains("!confirm"),
        "a dry run offers no code: {}",
        dry.body
    );

    // Cancelled, by command and by ❌.
    let preview = fx.ask(&format!("!deactivate {target} --erase")).await;
    let code = confirm_code(&preview);
    let cancelled = fx.ask(&format!("!cancel {code}")).await;
    assert!(
        cancelled.body.starts_with("Cancelled"),
        "{}",
        cancelled.body
    );
    let after = fx.ask(&format!("!confirm {code}")).await;
    assert!(
        after.body.starts_with("No pending command"),
        "{}",
        after.body
    );
    let preview = fx.ask(&format!("!deactivate {target}")).await;
    fx.admin.react(&fx.room_id, &preview.event_id, "❌").await;
    let cancelled = fx.reply_to(&fx.admin, &preview.event_id).await;
    assert!(
        cancelled.body.starts_with("Cancelled"),
        "{}",
        cancelled.body
    );

    // Another admin can neither confirm by code nor by ✅; the owner still can afterwards.
    let preview = fx.ask(&format!("!deactivate {target}")).await;
    let code = confirm_code(&preview);
    let foreign = fx.ask_as(&colleague, &format!("!confirm {code}")).await;
    assert!(
        foreign
            .body
            .contains(&format!("Only {} can confirm", fx.admin.user_id())),
        "{}",
        foreign.body
    );
    colleague.react(&fx.room_id, &preview.event_id, "✅").await;
    let foreign = fx.reply_to(&colleague, &preview.event_id).await;
    assert!(foreign.body.starts_with("Only"), "{}", foreign.body);
    assert_eq!(
        is_deactivated(&fx, &target).await,
        (false, false),
        "nothing changed"
    );
    let cancelled = fx.ask(&format!("!cancel {code}")).await;
    assert!(
        cancelled.body.starts_with("Cancelled"),
        "{}",
        cancelled.body
    );
    assert_eq!(
        is_deactivated(&fx, &target).await,
        (false, false),
        "nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_changes_nothing() {
    let fx = Fixture::start(|_| Spec::default().bot_line("confirm_timeout = \"2s\"")).await;
    let target = fx.plain_user("late").await;
    let preview = fx.ask(&format!("!deactivate {target} --erase")).await;
    assert!(
        preview.body.contains("within 2s to go ahead"),
        "{}",
        preview.body
    );
    let code = confirm_code(&preview);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = fx.ask(&format!("!confirm {code}")).await;
    assert!(late.body.contains("expired"), "{}", late.body);
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));
    // Gone for good: a second try is an unknown code.
    let again = fx.ask(&format!("!confirm {code}")).await;
    assert!(
        again.body.starts_with("No pending command"),
        "{}",
        again.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_get_nothing_and_roles_are_enforced() {
    let synapse = crate::support::Synapse::shared();
    let stranger = Human::new(synapse, "stranger").await;
    let helpdesk = Human::new(synapse, "helpdesk").await;
    let deactivator = Human::new(synapse, "deactivator").await;
    let (helpdesk_id, deactivator_id) = (helpdesk.user_id(), deactivator.user_id());
    let fx = Fixture::start_with(
        |_| {
            Spec::default()
                .role("helpdesk", &[&helpdesk_id], &["help", "user.info"])
                .role("deactivators", &[&deactivator_id], &["user.deactivate"])
        },
        vec![&stranger, &helpdesk, &deactivator],
    )
    .await;
    let target = fx.plain_user("victim").await;

    // A sender with no role: no reply, no reaction, nothing done.
    let mark = fx.admin.mark();
    stranger.send_text(&fx.room_id, "!help").await;
    stranger
        .send_text(&fx.room_id, &format!("!deactivate {target} --erase"))
        .await;
    fx.admin
        .assert_no_message_from_after(mark, &fx.room_id, &fx.bot_user_id, QUIET)
        .await;

    // A role without the permission: a refusal.
    let refused = fx.ask_as(&helpdesk, &format!("!deactivate {target}")).await;
    assert_eq!(
        refused.body,
        "Refused: your role does not allow this (needs permission user.deactivate)."
    );
    let help = fx.ask_as(&helpdesk, "!help").await;
    assert!(
        help.body.contains("!user") && !help.body.contains("!deactivate"),
        "{}",
        help.body
    );
    let info = fx.ask_as(&helpdesk, &format!("!user {target}")).await;
    assert!(info.body.contains("Deactivated: no"), "{}", info.body);
    // Help for a command one may not run says so instead of teaching its usage.
    let usage = fx.ask_as(&helpdesk, "!help deactivate").await;
    assert_eq!(
        usage.body,
        "You may not run !deactivate (it needs permission user.deactivate); type !help for yours."
    );

    // user.deactivate without user.erase: --erase is refused, plain deactivation is allowed.
    let refused = fx
        .ask_as(&deactivator, &format!("!deactivate {target} --erase"))
        .await;
    assert!(
        refused.body.contains("needs permission user.erase"),
        "{}",
        refused.body
    );
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));
    let preview = fx
        .ask_as(&deactivator, &format!("!deactivate {target}"))
        .await;
    let done = fx
        .ask_as(
            &deactivator,
            &format!("!confirm {}", confirm_code(&preview)),
        )
        .await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(is_deactivated(&fx, &target).await, (true, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_for_self_bot_protected_admins_remote_and_unknown_users() {
    let synapse = crate::support::Synapse::shared();
    let boss_local = synapse.unique_localpart("boss");
    let boss = synapse.register(&boss_local, "pw-boss-1234", false).await;
    let other_admin_local = synapse.unique_localpart("otheradmin");
    let other_admin = synapse
        .register(&other_admin_local, "pw-admin-1234", true)
        .await;
    let boss_id = boss.user_id.clone();
    let fx = Fixture::start(move |_| Spec::default().protect(&boss_id)).await;

    let cases = [
        (fx.bot_user_id.to_string(), "I will not deactivate myself"),
        (
            fx.admin.user_id().to_string(),
            "you cannot deactivate your own account",
        ),
        (boss.user_id.clone(), "is a protected user"),
        (
            other_admin.user_id.clone(),
            "is a server admin; add --force",
        ),
        ("@someone:matrix.org".to_owned(), "is on another server"),
        (
            format!("@nobody-{}:localhost", boss_local),
            "does not exist",
        ),
    ];
    for (target, reason) in &cases {
        let reply = fx.ask(&format!("!deactivate {target} --erase")).await;
        assert!(reply.body.contains(reason), "{target}: {}", reply.body);
        assert!(
            !reply.body.contains("!confirm"),
            "{target}: refusals carry no code: {}",
            reply.body
        );
    }
    for user in [&boss.user_id, &other_admin.user_id] {
        assert_eq!(is_deactivated(&fx, user).await, (false, false), "{user}");
    }
    // An admin with --force gets a preview.
    let preview = fx
        .ask(&format!("!deactivate {} --force", other_admin.user_id))
        .await;
    assert!(
        preview.body.contains("Server admin: yes"),
        "{}",
        preview.body
    );
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(
        is_deactivated(&fx, &other_admin.user_id).await,
        (true, false)
    );
    // Already deactivated.
    let again = fx
        .ask(&format!("!deactivate {} --force", other_admin.user_id))
        .await;
    assert!(again.body.contains("already deactivated"), "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_replays_nothing_and_keeps_pending_confirmations() {
    let mut fx = Fixture::start(|_| Spec::default().bot_line("max_event_age = \"6s\"")).await;
    let target = fx.plain_user("later").await;
    let ping = fx.ask("!ping").await;
    assert!(ping.body.starts_with("Pong"), "{}", ping.body);
    let preview = fx.ask(&format!("!deactivate {target}")).await;
    let code = confirm_code(&preview);

    fx.stop_bot().await;
    // Sent while the bot is down and too old when it comes back: ignored.
    fx.say("!ping").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let mark = fx.admin.mark();
    fx.start_bot().await;
    fx.admin
        .assert_no_message_from_after(mark, &fx.room_id, &fx.bot_user_id, QUIET)
        .await;

    // The preview made before the restart can still be confirmed, once.
    let done = fx.ask(&format!("!confirm {code}")).await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(is_deactivated(&fx, &target).await, (true, false));
    let ping = fx.ask("!ping").await;
    assert!(ping.body.starts_with("Pong"), "{}", ping.body);

    // Restart again right away: nothing that was answered is answered again.
    fx.stop_bot().await;
    let mark = fx.admin.mark();
    fx.start_bot().await;
    fx.admin
        .assert_no_message_from_after(mark, &fx.room_id, &fx.bot_user_id, QUIET)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_made_before_a_role_was_narrowed_cannot_be_confirmed_after() {
    let mut fx = Fixture::start(|_| Spec::default()).await;
    let target = fx.plain_user("narrowed").await;
    let preview = fx.ask(&format!("!deactivate {target}")).await;
    let code = confirm_code(&preview);

    // The admin's role is narrowed to look-ups, and the bot restarted with it.
    fx.stop_bot().await;
    let config = std::fs::read_to_string(&fx.config_path).expect("read config");
    let narrowed = config.replacen("allow = [\"*\"]", "allow = [\"user.info\", \"help\"]", 1);
    assert_ne!(config, narrowed, "the admin role was found");
    std::fs::write(&fx.config_path, narrowed).expect("write config");
    fx.start_bot().await;

    let refused = fx.ask(&format!("!confirm {code}")).await;
    assert!(
        refused.body.starts_with("Refused: ") && refused.body.contains("user.deactivate"),
        "{}",
        refused.body
    );
    assert_eq!(
        is_deactivated(&fx, &target).await,
        (false, false),
        "the narrowed role must not complete the old preview"
    );
    // The code is gone: it cannot be tried again once the role is restored either.
    let again = fx.ask(&format!("!confirm {code}")).await;
    assert!(again.body.contains("No pending command"), "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_its_owner_never_verified_can_neither_command_nor_confirm() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let target = fx.plain_user("stolen-password-target").await;
    // The admin's password, logged in as another session nobody verified (a stolen password).
    let second = Human::login(fx.synapse, &fx.admin.user).await;
    let sent = second
        .send_text(&fx.room_id, &format!("!deactivate {target} --force"))
        .await;
    let refused = fx.reply_to(&fx.admin, &sent).await;
    assert!(
        refused.body.starts_with("Verify this session first"),
        "{}",
        refused.body
    );
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));

    // A preview made from the verified session cannot be confirmed from the other one.
    let preview = fx.ask(&format!("!deactivate {target}")).await;
    let code = confirm_code(&preview);
    let sent = second
        .send_text(&fx.room_id, &format!("!confirm {code}"))
        .await;
    let refused = fx.reply_to(&fx.admin, &sent).await;
    assert!(
        refused.body.starts_with("Verify this session first"),
        "{}",
        refused.body
    );
    assert_eq!(
        is_deactivated(&fx, &target).await,
        (false, false),
        "an unverified session must not confirm"
    );
    // The verified session still can.
    let done = fx.ask(&format!("!confirm {code}")).await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(is_deactivated(&fx, &target).await, (true, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_confirm_with_code_a_reaction_does_not_confirm() {
    let fx = Fixture::start(|_| Spec::default().safety_line("confirm_with = \"code\"")).await;
    let target = fx.plain_user("code-only").await;
    let preview = fx.ask(&format!("!deactivate {target}")).await;
    assert!(!preview.body.contains("React ✅"), "{}", preview.body);
    fx.admin.react(&fx.room_id, &preview.event_id, "✅").await;
    let answer = fx.reply_to(&fx.admin, &preview.event_id).await;
    assert!(answer.body.starts_with("Send !confirm"), "{}", answer.body);
    assert_eq!(
        is_deactivated(&fx, &target).await,
        (false, false),
        "a reaction proves the account, not the session"
    );
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.starts_with("Deactivated"), "{}", done.body);
    assert_eq!(is_deactivated(&fx, &target).await, (true, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_unencrypted_and_undecryptable_messages_do_nothing() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let target = fx.plain_user("edit-target").await;
    let hello = fx.say("hello").await;

    let mark = fx.admin.mark();
    // An edit that turns a message into a command.
    fx.admin
        .edit(&fx.room_id, &hello, &format!("!deactivate {target}"))
        .await;
    // A plain-text event injected into the encrypted room.
    fx.admin.send_unencrypted_raw(&fx.room_id, "!ping").await;
    // An encrypted event nobody can decrypt.
    fx.admin.send_undecryptable(&fx.room_id).await;
    fx.admin
        .assert_no_message_from_after(mark, &fx.room_id, &fx.bot_user_id, QUIET)
        .await;
    assert_eq!(is_deactivated(&fx, &target).await, (false, false));

    // The bot is still fine.
    let ping = fx.ask("!ping").await;
    assert!(ping.body.starts_with("Pong"), "{}", ping.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_reports_each_problem_with_what_to_fix() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let run = crate::support::bot::check_config;

    let (ok, text) = run(&fx.config_path);
    assert!(ok, "{text}");
    assert!(
        text.contains("ok   Admin API answers (Synapse 1."),
        "{text}"
    );
    assert!(
        text.contains(&format!("ok   {} is a server admin", fx.bot_user_id)),
        "{text}"
    );
    assert!(
        text.contains(&format!("ok   bot.rooms {}: joined, encrypted", fx.room_id)),
        "{text}"
    );

    // A room the bot was never invited to, in a config with no saved session (a fresh login probe).
    let elsewhere = fx.admin.create_encrypted_room(&[], "not for the bot").await;
    let dir = tempfile::tempdir().expect("tmp");
    let original = std::fs::read_to_string(&fx.config_path).expect("config");
    let other = original.replace(fx.room_id.as_str(), elsewhere.room_id().as_str());
    let path = dir.path().join("bot.toml");
    std::fs::write(&path, &other).expect("write");
    let devices_before = fx
        .admin_get(&format!(
            "/_synapse/admin/v2/users/{}/devices",
            fx.bot_user_id
        ))
        .await["total"]
        .clone();
    let (ok, text) = run(&path);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!(
            "FAIL bot.rooms {}: the bot is not in this room and not invited: invite {}",
            elsewhere.room_id(),
            fx.bot_user_id
        )),
        "{text}"
    );
    let devices_after = fx
        .admin_get(&format!(
            "/_synapse/admin/v2/users/{}/devices",
            fx.bot_user_id
        ))
        .await["total"]
        .clone();
    assert_eq!(
        devices_before, devices_after,
        "the probe's login is logged out again"
    );

    // A wrong password.
    let wrong = other.replace(&fx.bot_user.password, "wrong-password");
    std::fs::write(&path, wrong).expect("write");
    let (ok, text) = run(&path);
    assert!(!ok && text.contains("cannot log in"), "{text}");

    // A broken file: the line and the key.
    std::fs::write(&path, original.replace("store_path", "store_pth")).expect("write");
    let (ok, text) = run(&path);
    assert!(
        !ok && text.contains("bot.toml:") && text.contains("store_pth"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_survives_a_homeserver_outage_and_stops_on_a_revoked_token() {
    let proxy = crate::support::proxy::Proxy::start(&crate::support::Synapse::shared().url()).await;
    let url = proxy.url().clone();
    let mut fx = Fixture::start(move |_| Spec {
        homeserver_url: Some(url),
        ..Spec::default()
    })
    .await;
    assert!(fx.ask("!ping").await.body.starts_with("Pong"));

    // The homeserver goes away for a while; a command sent meanwhile is answered once it is back.
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let during = fx.say("!ping").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore();
    let late = fx.reply_to(&fx.admin, &during).await;
    assert!(late.body.starts_with("Pong"), "{}", late.body);

    // The bot's device is deleted: a clear fatal error, not an endless retry.
    let device = fx.bot().client().device_id().expect("device").to_string();
    fx.synapse
        .admin_post(
            &format!("/_synapse/admin/v2/users/{}/delete_devices", fx.bot_user_id),
            &serde_json::json!({"devices": [device]}),
        )
        .await;
    let end = fx.wait_for_bot_to_stop(Duration::from_secs(90)).await;
    let message = format!("{:#}", end.expect_err("a fatal error"));
    assert!(
        message.contains("no longer accepts the bot's access token"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_is_verified_by_its_owner_and_its_recovery_key_restores_it_on_a_new_store() {
    let mut fx = Fixture::start(|_| Spec::default()).await;
    let first = fx.bot().client().device_id().expect("device").to_string();
    assert!(
        fx.cross_signed_by_owner(&first, DEFAULT_TIMEOUT).await,
        "the first device is cross-signed"
    );
    let key_file = fx.store.path().join("recovery-key.txt");
    let key = std::fs::read_to_string(&key_file)
        .expect("the recovery key was written to recovery_key_file");
    assert!(key.trim().len() > 40, "a recovery key");

    // Invites to rooms that are not admin rooms are ignored.
    let other = fx
        .admin
        .create_encrypted_room(&[fx.bot_user_id.clone()], "not an admin room")
        .await;

    // The store is lost; the recovery key file is given back.
    fx.stop_bot().await;
    std::fs::remove_dir_all(fx.store.path().join("data")).expect("remove store");
    fx.start_bot().await;
    let second = fx.bot().client().device_id().expect("device").to_string();
    assert_ne!(first, second, "a new store means a new device");
    assert!(
        fx.cross_signed_by_owner(&second, DEFAULT_TIMEOUT).await,
        "the recovery key restored the identity"
    );
    let ping = fx.ask("!ping").await;
    assert!(ping.body.starts_with("Pong"), "{}", ping.body);
    let members = fx
        .admin_get(&format!(
            "/_synapse/admin/v1/rooms/{}/members",
            other.room_id()
        ))
        .await;
    assert!(
        !members["members"]
            .as_array()
            .expect("members")
            .iter()
            .any(|m| m == fx.bot_user_id.as_str()),
        "{members}"
    );
}

/// Bidi overrides and isolates, zero-width characters, a right-to-left mark and a BOM.
const HIDDEN: [char; 6] = [
    '\u{202E}', '\u{200B}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{FEFF}',
];

/// The bot's notice `event_id` as the admin's client reads it back from the room (decrypted,
/// with the admin's push rules applied, as Element would): it mentions nobody, would not
/// highlight, and carries no hidden character. Returns its body.
async fn assert_quiet_notice(fx: &Fixture, event_id: &matrix_sdk::ruma::EventId) -> String {
    let event = fx
        .admin
        .room(&fx.room_id)
        .event(event_id, None)
        .await
        .unwrap_or_else(|e| panic!("reading {event_id}: {e}"));
    let raw: serde_json::Value =
        serde_json::from_str(event.raw().json().get()).expect("event JSON");
    let content = &raw["content"];
    assert_eq!(content["msgtype"], "m.notice", "{raw}");
    assert_eq!(
        content["m.mentions"],
        serde_json::json!({}),
        "a notice mentions nobody, not the room: {raw}"
    );
    let actions = event.push_actions().expect("push actions computed");
    assert!(
        !actions.iter().any(|a| a.is_highlight()),
        "the admin's client would highlight it: {actions:?} for {raw}"
    );
    let body = content["body"].as_str().expect("body").to_owned();
    let html = content["formatted_body"].as_str().unwrap_or_default();
    for c in HIDDEN {
        assert!(
            !body.contains(c) && !html.contains(c),
            "U+{:04X} in {raw}",
            u32::from(c)
        );
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_name_with_at_room_and_hidden_characters_neither_pings_nor_reorders() {
    let synapse = crate::support::Synapse::shared();
    let owner = Human::new(synapse, "pinger").await;
    let fx = Fixture::start(|_| Spec::default()).await;
    // The admin wants to hear about notices (the default rules mute them all), and the bot may
    // notify the whole admin room: only `m.mentions: {}` keeps `@room` quiet now.
    fx.admin
        .client
        .notification_settings()
        .await
        .set_push_rule_enabled(RuleKind::Override, ".m.rule.suppress_notices", false)
        .await
        .expect("unmute notices");
    fx.admin
        .room(&fx.room_id)
        .update_power_levels(vec![(&fx.bot_user_id, 100.into())])
        .await
        .expect("raise the bot's power level");
    let deadline = tokio::time::Instant::now() + DEFAULT_TIMEOUT;
    while fx
        .admin
        .client
        .account()
        .push_rules()
        .await
        .expect("push rules")
        .get(RuleKind::Override, ".m.rule.suppress_notices")
        .is_some_and(|r| r.enabled())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the unmuted rule never synced"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let marker = synapse.unique_localpart("hall");
    let name = format!("@room {marker} \u{202E}exe.txt\u{200B}\u{2066}x\u{2069}");
    let room = owner.create_plain_room(&[], &name).await;
    let room_id = room.room_id().to_owned();
    room.set_room_topic("@room read \u{200F}this\u{FEFF} now")
        .await
        .expect("topic");
    // Synapse's room details lag a little behind the room's state.
    let deadline = tokio::time::Instant::now() + DEFAULT_TIMEOUT;
    loop {
        let d = fx
            .admin_get(&format!("/_synapse/admin/v1/rooms/{room_id}"))
            .await;
        if d["name"] == name.as_str() && d["topic"].as_str().is_some_and(|t| t.contains("read")) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "details: {d}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let info = fx.ask(&format!("!room {room_id}")).await;
    let body = assert_quiet_notice(&fx, &info.event_id).await;
    assert!(
        body.starts_with(&format!("@room {marker} exe.txtx")),
        "the name is shown, without its hidden characters: {body}"
    );
    assert!(body.contains("Topic: @room read this now"), "{body}");

    let list = fx.ask(&format!("!rooms --search {marker}")).await;
    let body = assert_quiet_notice(&fx, &list.event_id).await;
    assert!(body.contains(&format!("@room {marker} exe.txtx")), "{body}");
}
