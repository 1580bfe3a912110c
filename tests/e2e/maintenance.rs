//! Media and room maintenance and schedules (issue: !purge-media with a preview, room deletion
//! tracked to the end, scheduled cleanups), asserted on Synapse.

use std::time::Duration;

use matrix_sdk::ruma::OwnedRoomId;
use serde_json::{Value, json};

use crate::support::bot::{Fixture, QUIET, Spec, confirm_code};
use crate::support::synapse::http_client;
use crate::support::{
    DEFAULT_TIMEOUT, Human, Mark, ReceivedMessage, RegisteredUser, Seen, Synapse,
};

/// Uploads bytes as `user` and returns the `mxc://` URI.
async fn upload(hs: &Synapse, user: &RegisteredUser, name: &str, bytes: Vec<u8>) -> String {
    let url = hs.endpoint(&format!("/_matrix/media/v3/upload?filename={name}"));
    let r = http_client()
        .post(url)
        .bearer_auth(&user.access_token)
        .header("Content-Type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("upload");
    let v: Value = r.json().await.expect("upload json");
    v["content_uri"]
        .as_str()
        .unwrap_or_else(|| panic!("no content_uri: {v}"))
        .to_owned()
}

/// Whether the file can still be downloaded.
async fn downloadable(hs: &Synapse, user: &RegisteredUser, mxc: &str) -> bool {
    let path = mxc.trim_start_matches("mxc://");
    let r = http_client()
        .get(hs.endpoint(&format!("/_matrix/client/v1/media/download/{path}")))
        .bearer_auth(&user.access_token)
        .send()
        .await
        .expect("download");
    r.status().is_success()
}

/// Whether Synapse still has the file (asked through the Admin API, which does not count as an
/// access: downloads would move `last_access_ts` and change what a purge deletes).
async fn stored(fx: &Fixture, mxc: &str) -> bool {
    let path = mxc.trim_start_matches("mxc://");
    let (status, _) = fx
        .synapse
        .admin_request(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v1/media/{path}"),
            None,
        )
        .await;
    status == 200
}

async fn set_avatar(hs: &Synapse, user: &RegisteredUser, mxc: &str) {
    let r = http_client()
        .put(hs.endpoint(&format!(
            "/_matrix/client/v3/profile/{}/avatar_url",
            user.user_id
        )))
        .bearer_auth(&user.access_token)
        .json(&json!({"avatar_url": mxc}))
        .send()
        .await
        .expect("set avatar");
    assert!(r.status().is_success(), "avatar: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_media_previews_respects_age_size_and_avatars_then_deletes() {
    let fx = Fixture::start_exclusive(|_| Spec::default(), vec![]).await;
    let hs = fx.synapse;
    let user = hs
        .register(&hs.unique_localpart("uploader"), "pw-uploader-1", false)
        .await;
    let small = upload(hs, &user, "small.txt", vec![b's'; 100]).await;
    let big = upload(hs, &user, "big.bin", vec![b'b'; 20 * 1024]).await;
    let avatar = upload(hs, &user, "me.png", vec![b'a'; 30 * 1024]).await;
    set_avatar(hs, &user, &avatar).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Under a day without --force: refused, nothing deleted.
    let refused = fx.ask("!purge-media 1s").await;
    assert!(
        refused.body.contains("less than a day") && refused.body.contains("--force"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("!confirm"), "{}", refused.body);
    let bad = fx.ask("!purge-media 30x").await;
    assert!(
        bad.body.contains("is not an age") && bad.body.contains("30d"),
        "{}",
        bad.body
    );

    // Dry run: a preview that counts the big file but not the avatar, and deletes nothing.
    let dry = fx
        .ask("!purge-media 1s --force --local-only --larger-than 10K --dry-run")
        .await;
    assert!(
        dry.body.contains("Dry run: nothing was changed."),
        "{}",
        dry.body
    );
    assert!(
        dry.body.contains("Local uploads: ") && dry.body.contains("files"),
        "{}",
        dry.body
    );
    assert!(
        dry.body.contains("Only files larger than 10.0 KiB"),
        "{}",
        dry.body
    );
    assert!(
        dry.body
            .contains("Profile pictures and room avatars are kept"),
        "{}",
        dry.body
    );
    assert!(stored(&fx, &big).await && stored(&fx, &small).await);

    // Larger than 10K: the big file goes, the small one and the avatar stay.
    let preview = fx
        .ask("!purge-media 1s --force --local-only --larger-than 10K")
        .await;
    fx.admin.react(&fx.room_id, &preview.event_id, "✅").await;
    let done = fx.reply_to(&fx.admin, &preview.event_id).await;
    assert!(
        done.body.contains("Media purged") && done.body.contains("Local: "),
        "{}",
        done.body
    );
    assert!(done.body.contains("freed"), "{}", done.body);
    assert!(
        !done.body.contains("Remote cache"),
        "--local-only: {}",
        done.body
    );
    assert!(!stored(&fx, &big).await, "the big upload is deleted");
    assert!(
        !downloadable(hs, &user, &big).await,
        "and cannot be downloaded"
    );
    assert!(stored(&fx, &small).await, "the small upload is kept");
    assert!(stored(&fx, &avatar).await, "the avatar is kept");

    // Everything old, both kinds: the small file goes, the avatar still stays.
    let preview = fx.ask("!purge-media 1s --force").await;
    assert!(
        preview.body.contains("Cached media from other servers"),
        "{}",
        preview.body
    );
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(
        done.body.contains("Remote cache: 0 files deleted"),
        "{}",
        done.body
    );
    assert!(!stored(&fx, &small).await);
    assert!(stored(&fx, &avatar).await);
    assert!(downloadable(hs, &user, &avatar).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_media_listing_deletion_and_quarantine() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let hs = fx.synapse;
    let user = hs
        .register(&hs.unique_localpart("hoarder"), "pw-hoarder-1", false)
        .await;
    let mut files = Vec::new();
    for i in 0..3 {
        files.push(upload(hs, &user, &format!("f{i}.bin"), vec![b'x'; 1000 + i]).await);
    }

    let list = fx.ask(&format!("!user-media {}", user.user_id)).await;
    assert!(list.body.contains("Files: 3"), "{}", list.body);
    assert!(list.body.contains("Size: 2.9 KiB"), "{}", list.body);

    // Quarantine one file: it can no longer be downloaded; release it: it can again.
    let q = fx.ask(&format!("!quarantine {}", files[0])).await;
    assert!(q.body.starts_with("Quarantined"), "{}", q.body);
    assert!(!downloadable(hs, &user, &files[0]).await);
    fx.ask(&format!("!unquarantine {}", files[0])).await;
    assert!(downloadable(hs, &user, &files[0]).await);
    let p = fx.ask(&format!("!protect-media {}", files[1])).await;
    assert!(p.body.starts_with("Protected"), "{}", p.body);
    let media_id = files[1].rsplit('/').next().expect("id");
    let info = fx
        .admin_get(&format!(
            "/_synapse/admin/v1/media/{}/{media_id}",
            hs.server_name()
        ))
        .await;
    let safe = &info["media_info"]["safe_from_quarantine"];
    assert!(*safe == json!(true) || *safe == json!(1), "{info}");
    let bad = fx.ask("!quarantine bob").await;
    assert!(bad.body.contains("is not mxc://"), "{}", bad.body);
    // A crafted URI cannot reach another endpoint: `mxc://../delete` is refused, one line.
    let crafted = fx.ask("!unquarantine mxc://../delete").await;
    assert!(
        crafted.body.contains("is not a media URI"),
        "{}",
        crafted.body
    );

    // All of a user's uploads: a preview with the count, and nothing quarantined before ✅.
    let other = hs
        .register(&hs.unique_localpart("spammy"), "pw-spammy-1", false)
        .await;
    let theirs = [
        upload(hs, &other, "a.bin", vec![b'a'; 10]).await,
        upload(hs, &other, "b.bin", vec![b'b'; 10]).await,
    ];
    let preview = fx.ask(&format!("!quarantine {}", other.user_id)).await;
    assert!(
        preview.body.contains("Quarantine all uploads of") && preview.body.contains("Files: 2"),
        "{}",
        preview.body
    );
    assert!(
        downloadable(hs, &other, &theirs[0]).await,
        "nothing before ✅"
    );
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.contains("Quarantined 2 files"), "{}", done.body);
    for f in &theirs {
        assert!(!downloadable(hs, &other, f).await, "{f}");
    }

    // Delete them all, after confirmation.
    let preview = fx
        .ask(&format!("!user-media {} --delete", user.user_id))
        .await;
    assert!(
        preview.body.contains("Delete all uploads of"),
        "{}",
        preview.body
    );
    assert!(
        downloadable(hs, &user, &files[2]).await,
        "nothing deleted before confirmation"
    );
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(
        done.body.contains("Deleted 3 files") && done.body.contains("0 left"),
        "{}",
        done.body
    );
    for f in &files {
        assert!(!downloadable(hs, &user, f).await, "{f}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_info_list_block_and_make_admin() {
    let synapse = Synapse::shared();
    let owner = Human::new(synapse, "owner").await;
    let fx = Fixture::start(|_| Spec::default()).await;
    let name = synapse.unique_localpart("Lobby");
    let room = owner.create_plain_room(&[], &name).await;
    let room_id = room.room_id().to_owned();
    room.set_room_topic("all about testing")
        .await
        .expect("topic");
    tokio::time::sleep(Duration::from_secs(1)).await;

    let info = fx.ask(&format!("!room {room_id}")).await;
    assert!(info.body.starts_with(&name), "{}", info.body);
    assert!(
        info.body.contains("Topic: all about testing"),
        "{}",
        info.body
    );
    assert!(
        info.body.contains("Members: 1 (1 local, 0 remote)"),
        "{}",
        info.body
    );
    assert!(
        info.body.contains(&format!("Creator: {}", owner.user_id())),
        "{}",
        info.body
    );
    assert!(info.body.contains("Blocked: no"), "{}", info.body);

    let list = fx.ask(&format!("!rooms --search {name}")).await;
    assert!(
        list.body.contains("page 1 of 1 (1 in all)") && list.body.contains(room_id.as_str()),
        "{}",
        list.body
    );
    let paged = fx.ask("!rooms --sort name --page 1").await;
    assert!(paged.body.starts_with("Rooms, page 1 of"), "{}", paged.body);
    assert!(
        paged.body.lines().count() <= 13,
        "one page fits a phone: {}",
        paged.body
    );

    let blocked = fx.ask(&format!("!block-room {room_id}")).await;
    assert!(blocked.body.contains("is now blocked"), "{}", blocked.body);
    assert_eq!(
        fx.admin_get(&format!("/_synapse/admin/v1/rooms/{room_id}/block"))
            .await["block"],
        true
    );
    fx.ask(&format!("!unblock-room {room_id}")).await;
    assert_eq!(
        fx.admin_get(&format!("/_synapse/admin/v1/rooms/{room_id}/block"))
            .await["block"],
        false
    );

    // make-room-admin: the bot's admin gets power level 100 in the owner's room.
    let target = fx.admin.user_id();
    let made = fx
        .ask(&format!("!make-room-admin {room_id} {target}"))
        .await;
    assert!(made.body.contains("highest power level"), "{}", made.body);
    let state = fx
        .admin_get(&format!("/_synapse/admin/v1/rooms/{room_id}/state"))
        .await;
    let levels = state["state"]
        .as_array()
        .expect("state")
        .iter()
        .find(|e| e["type"] == "m.room.power_levels")
        .expect("power levels")
        .clone();
    assert_eq!(levels["content"]["users"][target.as_str()], 100, "{levels}");

    // The bot's own admin room is never deleted or blocked by it.
    let refused = fx.ask(&format!("!delete-room {}", fx.room_id)).await;
    assert!(refused.body.contains("admin rooms"), "{}", refused.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_room_is_followed_to_the_end_across_a_restart() {
    let synapse = Synapse::shared();
    let owner = Human::new(synapse, "doomed-owner").await;
    let member = Human::new(synapse, "doomed-member").await;
    let mut fx = Fixture::start(|_| Spec::default()).await;
    let room = owner
        .create_plain_room(&[member.user_id()], "spam room")
        .await;
    let room_id = room.room_id().to_owned();
    member.join(&room_id).await;
    owner
        .wait_for_join(&room_id, &member.user_id(), DEFAULT_TIMEOUT)
        .await;

    let preview = fx
        .ask(&format!(
            "!delete-room {room_id} --block --message \"Closed for spam\""
        ))
        .await;
    assert!(
        preview.body.contains("Local members who will be removed:"),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains(owner.user_id().as_str())
            && preview.body.contains(member.user_id().as_str()),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("Message to members: Closed for spam"),
        "{}",
        preview.body
    );
    let members = fx
        .admin_get(&format!("/_synapse/admin/v1/rooms/{room_id}/members"))
        .await;
    assert_eq!(members["total"], 2, "nothing happens before confirmation");

    let started = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(started.body.contains("started (job #"), "{}", started.body);
    let job: String = started.body[started.body.find("job #").expect("job") + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    // Synapse runs a deletion to its end: the bot says so instead of pretending to cancel it.
    let cancel = fx.ask(&format!("!cancel-job {job}")).await;
    assert_eq!(
        cancel.body,
        format!(
            "Job #{job} follows a task Synapse runs to the end; it cannot be stopped from here."
        )
    );
    // Restart right away: the job is picked up again and followed to the end.
    fx.stop_bot().await;
    fx.start_bot().await;
    let bot = fx.bot_user_id.clone();
    let needle = format!("Room {room_id} deleted.");
    let done = fx
        .admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with(&needle),
            Duration::from_secs(60),
        )
        .await;
    assert!(done.body.contains("Members removed: 2"), "{}", done.body);
    let (status, _) = synapse
        .admin_request(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v1/rooms/{room_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "the room is gone from Synapse");
    assert_eq!(
        fx.admin_get(&format!("/_synapse/admin/v1/rooms/{room_id}/block"))
            .await["block"],
        true
    );
    let jobs = fx.ask("!jobs").await;
    assert!(jobs.body.contains("room_delete · done"), "{}", jobs.body);

    // --message: each removed member finds it, from the bot, in the room Synapse made for them.
    for who in [&owner, &member] {
        let deadline = tokio::time::Instant::now() + DEFAULT_TIMEOUT;
        loop {
            let told = who.seen().into_iter().any(|s| {
                matches!(s, Seen::Message(m) if m.sender == fx.bot_user_id
                    && m.room_id != room_id
                    && m.room_id != fx.room_id
                    && m.body == "Closed for spam")
            });
            if told {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} never got the message",
                who.user_id()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_history_removes_old_events() {
    let synapse = Synapse::shared();
    let talker = Human::new(synapse, "talker").await;
    let fx = Fixture::start(|_| Spec::default()).await;
    let room = talker.create_plain_room(&[], "chatty").await;
    let room_id = room.room_id().to_owned();
    for i in 0..5 {
        talker.send_text(&room_id, &format!("message {i}")).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    talker.send_text(&room_id, "the latest").await;
    let count = |v: Value| {
        v["chunk"]
            .as_array()
            .map(|c| c.iter().filter(|e| e["type"] == "m.room.message").count())
            .unwrap_or(0)
    };
    let path = format!("/_synapse/admin/v1/rooms/{room_id}/messages?dir=b&limit=100");
    assert_eq!(count(fx.admin_get(&path).await), 6);

    // An age under a day is refused without --force (`3m` typed for three months must not wipe
    // a room), and nothing is purged.
    let refused = fx
        .ask(&format!("!purge-history {room_id} 1s --include-local"))
        .await;
    assert!(
        refused.body.contains("less than a day") && refused.body.contains("--force"),
        "{}",
        refused.body
    );
    assert_eq!(count(fx.admin_get(&path).await), 6);
    // The bot's own admin room is never purged.
    let own = fx
        .ask(&format!("!purge-history {} 365d --force", fx.room_id))
        .await;
    assert!(
        own.body.contains("one of the bot's admin rooms"),
        "{}",
        own.body
    );

    let preview = fx
        .ask(&format!(
            "!purge-history {room_id} 1s --include-local --force"
        ))
        .await;
    assert!(
        preview.body.contains("everyone's events"),
        "{}",
        preview.body
    );
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    let bot = fx.bot_user_id.clone();
    let needle = format!("History of {room_id} purged.");
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with(&needle),
            Duration::from_secs(60),
        )
        .await;
    let left = count(fx.admin_get(&path).await);
    assert!(left < 6, "old messages are gone ({left} left)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_fire_report_and_stop_and_destructive_ones_are_confirmed_once() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let made = fx.ask("!schedule every 5s !ping").await;
    assert!(made.body.starts_with("Schedule #"), "{}", made.body);
    let id: String = made.body["Schedule #".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let bot = fx.bot_user_id.clone();
    let head = format!("Schedule #{id} (every 5s: !ping)");
    let h = head.clone();
    let run = fx
        .admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with(&h),
            Duration::from_secs(20),
        )
        .await;
    assert!(run.body.contains("Pong"), "{}", run.body);
    let list = fx.ask("!schedules").await;
    assert!(
        list.body.contains(&format!("#{id} every 5s: !ping")),
        "{}",
        list.body
    );

    let runs = || {
        fx.admin
            .messages(&fx.room_id)
            .into_iter()
            .filter(|m| m.body.starts_with(&head))
            .count()
    };
    let removed = fx.ask(&format!("!unschedule {id}")).await;
    assert_eq!(removed.body, format!("Schedule #{id} removed."));
    let before = runs();
    tokio::time::sleep(Duration::from_secs(7)).await;
    // A run already under way when it was removed may still report; nothing after that.
    assert!(runs() <= before + 1, "no more runs after !unschedule");

    // A destructive command is confirmed once, at creation.
    let preview = fx
        .ask("!schedule every 1d at 03:00 !purge-media 90d --remote-only")
        .await;
    assert!(
        preview.body.contains("confirm it once now"),
        "{}",
        preview.body
    );
    assert!(
        !fx.ask("!schedules").await.body.contains("purge-media"),
        "not active before confirmation"
    );
    let ok = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(ok.body.ends_with("is active."), "{}", ok.body);
    let list = fx.ask("!schedules").await;
    assert!(
        list.body
            .contains("every 1d at 03:00 UTC: !purge-media 90d --remote-only"),
        "{}",
        list.body
    );
    let bad = fx.ask("!schedule every 1d !confirm ABCDEF").await;
    assert!(bad.body.contains("cannot be scheduled"), "{}", bad.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_needs_its_permissions() {
    let synapse = Synapse::shared();
    let helpdesk = Human::new(synapse, "helper").await;
    let helpdesk_id = helpdesk.user_id();
    let fx = Fixture::start_with(
        |_| {
            Spec::default().role(
                "helpdesk",
                &[&helpdesk_id],
                &["help", "room.info", "media.list"],
            )
        },
        vec![&helpdesk],
    )
    .await;
    let owner = synapse
        .register(&synapse.unique_localpart("keep"), "pw-keep-1234", false)
        .await;
    let file = upload(synapse, &owner, "keep.bin", vec![1; 2000]).await;
    let room = helpdesk.create_plain_room(&[], "kept room").await;

    for (cmd, perm) in [
        ("!purge-media 1s --force".to_owned(), "media.purge"),
        (
            format!("!user-media {} --delete", owner.user_id),
            "media.delete",
        ),
        (format!("!quarantine {file}"), "media.quarantine"),
        (format!("!delete-room {}", room.room_id()), "room.delete"),
        (format!("!block-room {}", room.room_id()), "room.block"),
        (
            format!("!purge-history {} 1d", room.room_id()),
            "room.purge-history",
        ),
        ("!schedule every 1d !ping".to_owned(), "schedule"),
    ] {
        let reply = fx.ask_as(&helpdesk, &cmd).await;
        assert!(
            reply.body.contains(&format!("needs permission {perm}")),
            "{cmd}: {}",
            reply.body
        );
    }
    assert!(downloadable(synapse, &owner, &file).await);
    let (status, _) = synapse
        .admin_request(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v1/rooms/{}", room.room_id()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        fx.admin_get(&format!(
            "/_synapse/admin/v1/rooms/{}/block",
            room.room_id()
        ))
        .await["block"],
        false
    );
    // What the role allows works.
    let listed = fx
        .ask_as(&helpdesk, &format!("!user-media {}", owner.user_id))
        .await;
    assert!(listed.body.contains("Files: 1"), "{}", listed.body);
    let _ = QUIET;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_catches_up_once_and_rechecks_its_authors_permissions() {
    let synapse = Synapse::shared();
    let scheduler = Human::new(synapse, "scheduler").await;
    let sid = scheduler.user_id();
    let mut fx = Fixture::start_with(
        |_| Spec::default().role("ops", &[&sid], &["schedule", "ping", "help"]),
        vec![&scheduler],
    )
    .await;
    let made = fx.ask_as(&scheduler, "!schedule every 5s !ping").await;
    let id: String = made.body["Schedule #".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let head = format!("Schedule #{id} (every 5s: !ping)");
    let runs = |fx: &Fixture| {
        fx.admin
            .messages(&fx.room_id)
            .into_iter()
            .filter(|m| m.body.starts_with(&head))
            .count()
    };
    let bot = fx.bot_user_id.clone();
    let h = head.clone();
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with(&h),
            Duration::from_secs(20),
        )
        .await;

    // Down for three intervals: one catch-up run on start, not three.
    fx.stop_bot().await;
    tokio::time::sleep(Duration::from_secs(17)).await;
    let before = runs(&fx);
    fx.start_bot().await;
    let deadline = tokio::time::Instant::now() + DEFAULT_TIMEOUT;
    while runs(&fx) == before {
        assert!(tokio::time::Instant::now() < deadline, "no catch-up run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let caught_up = runs(&fx) - before;
    assert!(
        (1..=2).contains(&caught_up),
        "{caught_up} runs right after the restart: missed runs must collapse into one"
    );

    // The author loses the permission: the next run is skipped, and says why.
    fx.stop_bot().await;
    let config = std::fs::read_to_string(&fx.config_path).expect("config");
    std::fs::write(
        &fx.config_path,
        config.replace(
            "[\"schedule\", \"ping\", \"help\"]",
            "[\"schedule\", \"help\"]",
        ),
    )
    .expect("config");
    fx.start_bot().await;
    let bot = fx.bot_user_id.clone();
    let h = head.clone();
    let skipped = fx
        .admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.body.starts_with(&h) && m.body.contains("Skipped"),
            DEFAULT_TIMEOUT,
        )
        .await;
    assert!(
        skipped.body.contains("needs permission ping"),
        "{}",
        skipped.body
    );
}

/// The next report of a schedule (its message starts with `head`) in `room` after `mark`.
async fn schedule_run(fx: &Fixture, room: &OwnedRoomId, head: &str, mark: Mark) -> ReceivedMessage {
    let bot = fx.bot_user_id.clone();
    let head = head.to_owned();
    fx.admin
        .wait_for_message_after(
            mark,
            room,
            move |m| m.sender == bot && m.body.starts_with(&head),
            Duration::from_secs(20),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_pauses_while_its_room_is_no_admin_room_and_runs_again_once_it_is() {
    let mut fx = Fixture::start(|_| Spec::default().extra_rooms(1)).await;
    let second = fx.extra_rooms[0].clone();
    let bot = fx.bot_user_id.clone();
    let made = fx.ask_in(&second, "!schedule every 5s !ping").await;
    assert!(made.body.starts_with("Schedule #"), "{}", made.body);
    let id: String = made.body["Schedule #".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let head = format!("Schedule #{id} (every 5s: !ping)");
    let first = schedule_run(&fx, &second, &head, fx.admin.mark()).await;
    assert!(first.body.contains("Pong"), "{}", first.body);

    // The room is taken out of bot.rooms: the schedule is paused, listed as such, and posts
    // nothing there (nor does the bot answer there), also not the run it missed while down.
    fx.stop_bot().await;
    fx.set_admin_rooms(&[&fx.room_id]);
    let quiet_from = fx.admin.mark();
    fx.start_bot().await;
    let list = fx.ask("!schedules").await;
    assert!(
        list.body.contains(&format!(
            "#{id} every 5s: !ping · paused: {second} is no longer an admin room"
        )),
        "{}",
        list.body
    );
    fx.admin.send_text(&second, "!ping").await;
    fx.admin
        .assert_no_message_from_after(quiet_from, &second, &bot, Duration::from_secs(7))
        .await;

    // Configured again: it runs again in its room, and is listed with its next run.
    fx.stop_bot().await;
    fx.set_admin_rooms(&[&fx.room_id, &second]);
    let back = fx.admin.mark();
    fx.start_bot().await;
    let again = schedule_run(&fx, &second, &head, back).await;
    assert!(again.body.contains("Pong"), "{}", again.body);
    let list = fx.ask("!schedules").await;
    assert!(
        list.body
            .contains(&format!("#{id} every 5s: !ping · next ")),
        "{}",
        list.body
    );
}
