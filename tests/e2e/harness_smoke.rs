//! Proves the harness itself: Synapse starts, users register, two E2EE clients exchange a
//! pill message and an encrypted file, and the admin API sees the users.

use std::time::Instant;

use crate::support::{DEFAULT_TIMEOUT, Human, Synapse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_humans_exchange_a_pill_and_an_encrypted_file() {
    // Files sent here must not be purged by a media test running meanwhile.
    let _media = crate::support::bot::media_shared().await;
    let started = Instant::now();
    let hs = Synapse::shared();
    let synapse_ready = started.elapsed();

    let alice = Human::new(hs, "alice").await;
    let bob = Human::new(hs, "bob").await;
    let logged_in = started.elapsed();

    let room = alice
        .create_encrypted_room(&[bob.user_id()], "harness smoke")
        .await;
    bob.join(room.room_id()).await;
    alice
        .wait_for_join(&room, &bob.user_id(), DEFAULT_TIMEOUT)
        .await;

    // A command with a pill, as Element sends it.
    let pill_event = alice
        .send_command_with_pill(&room, "!deactivate ", &bob.user_id(), "Bob <B>", " now")
        .await;
    let received = bob
        .wait_for_message(&room, |m| m.event_id == pill_event, DEFAULT_TIMEOUT)
        .await;
    assert!(
        received.was_encrypted,
        "the room is encrypted: {received:?}"
    );
    assert_eq!(received.sender, alice.user_id());
    assert_eq!(received.body, "!deactivate Bob <B> now");
    assert_eq!(
        received.formatted_body.as_deref(),
        Some(
            format!(
                "!deactivate <a href=\"https://matrix.to/#/{}\">Bob &lt;B&gt;</a> now",
                bob.user_id()
            )
            .as_str()
        )
    );
    assert_eq!(received.mentioned_user_ids, vec![bob.user_id()]);

    // An encrypted file with a caption, the other way round.
    let csv: Vec<u8> = (0..5000u32)
        .flat_map(|i| format!("@user{i}:localhost,{}\n", i % 7).into_bytes())
        .collect();
    let file_event = bob
        .send_file(
            &room,
            "users.csv",
            &csv,
            "text/csv",
            Some("deactivate these"),
        )
        .await;
    let received = alice
        .wait_for_message(&room, |m| m.event_id == file_event, DEFAULT_TIMEOUT)
        .await;
    assert_eq!(received.msgtype, "m.file");
    assert_eq!(received.body, "deactivate these");
    assert!(received.was_encrypted);
    assert!(
        received.content["file"].is_object(),
        "the attachment itself is encrypted: {}",
        received.content
    );
    let file = received
        .file
        .unwrap_or_else(|| panic!("no file downloaded: {:?}", received.file_error));
    assert_eq!(file.filename, "users.csv");
    assert_eq!(file.mimetype.as_deref(), Some("text/csv"));
    assert!(
        file.bytes == csv,
        "the decrypted file differs from what was sent"
    );

    // The server's view, through the admin API.
    let user = hs
        .admin_get(&format!("/_synapse/admin/v2/users/{}", alice.user_id()))
        .await;
    assert_eq!(user["name"], alice.user_id().as_str());
    assert_eq!(user["deactivated"], false);

    eprintln!(
        "harness smoke: Synapse ready after {:.1} s, two logins after {:.1} s, done after {:.1} s",
        synapse_ready.as_secs_f32(),
        logged_in.as_secs_f32(),
        started.elapsed().as_secs_f32()
    );
}
