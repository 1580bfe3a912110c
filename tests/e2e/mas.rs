//! Servers with MAS (issue: Matrix Authentication Service): the account commands on a Synapse
//! that delegates accounts to the MAS stand-in, each asserted on Synapse and in MAS, with the
//! boundaries that must hold there too; and the start-up that refuses a back end that does not
//! match bot.toml.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::bot::{Fixture, Spec, confirm_code};
use crate::support::synapse::http_client;
use crate::support::{DEFAULT_TIMEOUT, Human, Mas, ReceivedMessage, Synapse};

/// Import jobs and deactivations may take a while on a loaded machine.
const LONG: Duration = Duration::from_secs(60);

fn mas_of(fx: &Fixture) -> &'static Mas {
    fx.synapse.mas().expect("a MAS-mode fixture")
}

/// A password login through MAS's compat layer (what a legacy client does): the token, or the
/// status and error code.
async fn log_in(mas: &Mas, localpart: &str, password: &str) -> Result<String, String> {
    crate::support::secrets::remember(password);
    let body = json!({
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": localpart},
        "password": password,
    });
    let response = http_client()
        .post(mas.endpoint("/_matrix/client/v3/login"))
        .json(&body)
        .send()
        .await
        .expect("login request");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match (status.is_success(), body["access_token"].as_str()) {
        (true, Some(token)) => {
            crate::support::secrets::remember(token);
            Ok(token.to_owned())
        }
        _ => Err(format!(
            "{status} {}",
            body["errcode"].as_str().unwrap_or("?")
        )),
    }
}

/// Whether Synapse accepts `token` (it asks MAS).
async fn token_works(fx: &Fixture, token: &str) -> bool {
    http_client()
        .get(fx.synapse.endpoint("/_matrix/client/v3/account/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .expect("whoami")
        .status()
        == StatusCode::OK
}

/// The user as MAS has it (its attributes), by localpart.
async fn in_mas(mas: &Mas, localpart: &str) -> Option<Value> {
    let (status, body) = mas
        .request(
            reqwest::Method::GET,
            &format!("/users/by-username/{localpart}"),
            None,
        )
        .await;
    (status == StatusCode::OK).then(|| body["data"].clone())
}

async fn mas_attr(mas: &Mas, localpart: &str, key: &str) -> Value {
    in_mas(mas, localpart).await.expect("a MAS user")["attributes"][key].clone()
}

/// A user made in MAS with a password (not in the admin room): its localpart and password.
async fn mas_user(fx: &Fixture, prefix: &str) -> (String, String) {
    let localpart = fx.synapse.unique_localpart(prefix);
    let password = format!("Pw-{localpart}-Correct-Horse-9");
    fx.synapse.register(&localpart, &password, false).await;
    (localpart, password)
}

async fn attached(fx: &Fixture, name: &str) -> ReceivedMessage {
    let bot = fx.bot_user_id.clone();
    let name = name.to_owned();
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| m.sender == bot && m.file.as_ref().is_some_and(|f| f.filename == name),
            DEFAULT_TIMEOUT,
        )
        .await
}

/// The bot's summary of a job (an import, a set of users) that says `also`.
async fn finished(fx: &Fixture, also: &str) -> ReceivedMessage {
    let bot = fx.bot_user_id.clone();
    let also = also.to_owned();
    fx.admin
        .wait_for_message(
            &fx.room_id,
            move |m| {
                m.sender == bot
                    && m.body.contains(" finished")
                    && m.body.contains(&also)
                    && m.replaces.is_none()
            },
            LONG,
        )
        .await
}

/// The password in a `password-<name>.txt` the bot sent.
fn password_in(msg: &ReceivedMessage) -> String {
    let text = String::from_utf8(msg.file.as_ref().expect("file").bytes.clone()).expect("utf-8");
    text.lines().nth(1).expect("password line").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_admin_flag_and_user_go_through_mas() {
    let fx = Fixture::start(|_| Spec::mas()).await;
    let mas = mas_of(&fx);
    let (localpart, password) = mas_user(&fx, "mas-flags").await;
    let user = fx.synapse.user_id(&localpart);

    let ping = fx.ask("!ping").await;
    assert!(
        ping.body.contains("Accounts: MAS") && ping.body.contains(mas.url().as_str()),
        "{}",
        ping.body
    );

    // MAS holds the e-mail addresses; !user reads them there.
    let id = mas.user_id_of(&localpart).await;
    mas.post(
        "/user-emails",
        &json!({"user_id": id, "email": format!("{localpart}@example.org")}),
    )
    .await;
    let info = fx.ask(&format!("!user {user}")).await;
    assert!(
        info.body
            .contains(&format!("E-mail (MAS): {localpart}@example.org")),
        "{}",
        info.body
    );
    assert!(info.body.contains("Admin: no"), "{}", info.body);

    // The admin flag is MAS's: Synapse's stays false, MAS's changes.
    let preview = fx.ask(&format!("!make-admin {user}")).await;
    assert!(preview.body.contains("Set in MAS"), "{}", preview.body);
    assert_eq!(mas_attr(mas, &localpart, "admin").await, json!(false));
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.contains("is now a server admin"), "{}", done.body);
    assert_eq!(mas_attr(mas, &localpart, "admin").await, json!(true));
    assert!(
        fx.ask(&format!("!user {user}"))
            .await
            .body
            .contains("Admin: yes")
    );
    // Lists and the export read MAS's flag too: Synapse's says false.
    assert_eq!(fx.user_on_server(&user).await["admin"], json!(false));
    let listed = fx.ask("!users --admins").await;
    assert!(
        listed.body.contains(&format!("{user} ")) && listed.body.contains("[admin"),
        "{}",
        listed.body
    );
    let reply = fx.ask("!export-users").await;
    assert!(reply.body.starts_with("Exported "), "{}", reply.body);
    let export = attached(&fx, "users-export.csv").await;
    let text = String::from_utf8(export.file.expect("file").bytes).expect("utf-8");
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let admin_column = rows
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "admin")
        .expect("an admin column");
    let row = rows
        .records()
        .map(|r| r.expect("a CSV row"))
        .find(|r| r.get(0) == Some(user.as_str()))
        .expect("the user's row");
    assert_eq!(row.get(admin_column), Some("true"), "{text}");
    // An admin needs --force, as on Synapse: MAS's flag is the one the rules read.
    let refused = fx.ask(&format!("!lock {user}")).await;
    assert!(refused.body.contains("--force"), "{}", refused.body);
    assert_eq!(mas_attr(mas, &localpart, "locked_at").await, Value::Null);
    let preview = fx.ask(&format!("!revoke-admin {user}")).await;
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert_eq!(mas_attr(mas, &localpart, "admin").await, json!(false));

    // Locked in MAS, and Synapse's copy of the lock follows.
    assert!(log_in(mas, &localpart, &password).await.is_ok());
    let locked = fx.ask(&format!("!lock {user}")).await;
    assert!(locked.body.contains("is now locked"), "{}", locked.body);
    assert!(locked.body.contains("Locked in MAS"), "{}", locked.body);
    assert_ne!(mas_attr(mas, &localpart, "locked_at").await, Value::Null);
    assert_eq!(fx.user_on_server(&user).await["locked"], json!(true));
    assert_eq!(
        log_in(mas, &localpart, &password).await,
        Err("401 Unauthorized M_USER_LOCKED".into())
    );
    let unlocked = fx.ask(&format!("!unlock {user}")).await;
    assert!(unlocked.body.contains("not locked"), "{}", unlocked.body);
    assert_eq!(mas_attr(mas, &localpart, "locked_at").await, Value::Null);
    assert_eq!(fx.user_on_server(&user).await["locked"], json!(false));
    assert!(log_in(mas, &localpart, &password).await.is_ok());

    // MAS failing is one line, and nothing changes.
    mas.fail(
        "POST",
        &format!("/api/admin/v1/users/{id}/lock"),
        500,
        "database is on fire",
        1,
    )
    .await;
    let failed = fx.ask(&format!("!lock {user}")).await;
    assert!(
        failed
            .body
            .contains("MAS refused the request: database is on fire"),
        "{}",
        failed.body
    );
    assert!(!failed.body.trim().contains('\n'), "{}", failed.body);
    assert_eq!(mas_attr(mas, &localpart, "locked_at").await, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivate_erases_only_when_asked_and_erasing_waits_for_a_second_approver() {
    let hs = Synapse::shared_mas();
    let helpdesk = Human::new(hs, "mas-deact-helpdesk").await;
    let second = Human::new(hs, "mas-deact-second").await;
    let (helpdesk_id, second_id) = (helpdesk.user_id(), second.user_id());
    let fx = Fixture::start_with(
        |_| {
            Spec::mas()
                .role("helpdesk", &[&helpdesk_id], &["user.deactivate"])
                .role("admins", &[&second_id], &["*"])
                .safety_line("two_person = [\"user.erase\"]")
        },
        vec![&helpdesk, &second],
    )
    .await;
    let mas = mas_of(&fx);
    let (kept, _) = mas_user(&fx, "mas-kept").await;
    let (erased, _) = mas_user(&fx, "mas-erased").await;
    let (kept_id, erased_id) = (fx.synapse.user_id(&kept), fx.synapse.user_id(&erased));

    // Without --erase: deactivated in MAS and Synapse, not erased (MAS would erase by default).
    let preview = fx.ask(&format!("!deactivate {kept_id}")).await;
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(
        done.body
            .contains("Synapse now reports: deactivated yes, erased no"),
        "{}",
        done.body
    );
    assert_ne!(mas_attr(mas, &kept, "deactivated_at").await, Value::Null);
    let on_synapse = fx.user_on_server(&kept_id).await;
    assert_eq!(on_synapse["deactivated"], json!(true));
    assert_eq!(on_synapse["erased"], json!(false));

    // A role without user.erase cannot erase, on MAS as on Synapse.
    let refused = fx
        .ask_as(&helpdesk, &format!("!deactivate {erased_id} --erase"))
        .await;
    assert!(refused.body.contains("user.erase"), "{}", refused.body);
    assert_eq!(mas_attr(mas, &erased, "deactivated_at").await, Value::Null);

    // Erasing needs a second approver: the author's ✓ alone changes nothing.
    let preview = fx.ask(&format!("!deactivate {erased_id} --erase")).await;
    let code = confirm_code(&preview);
    let waiting = fx.ask(&format!("!confirm {code}")).await;
    assert!(
        waiting.body.starts_with(&format!("Confirmed {code}")),
        "{}",
        waiting.body
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mas_attr(mas, &erased, "deactivated_at").await, Value::Null);
    let approved = fx.ask_as(&second, &format!("!approve {code}")).await;
    assert!(approved.body.contains("and erased"), "{}", approved.body);
    assert_ne!(mas_attr(mas, &erased, "deactivated_at").await, Value::Null);
    let on_synapse = fx.user_on_server(&erased_id).await;
    assert_eq!(on_synapse["deactivated"], json!(true));
    assert_eq!(on_synapse["erased"], json!(true));

    // The audit trail has both steps, as on Synapse.
    let audit = fx.ask("!audit --command deactivate").await;
    assert!(audit.body.contains("approved"), "{}", audit.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_import_creates_mas_accounts_that_log_in_with_their_passwords() {
    let fx = Fixture::start(|_| Spec::mas()).await;
    let mas = mas_of(&fx);
    let p = fx.synapse.unique_localpart("masimp");
    let given = format!("Given-{p}-Battery-Staple-7");
    let csv = format!(
        "id,displayname,password,admin,threepids\n\
         {p}-given,Given Person,{given},false,email:{p}-given@example.org\n\
         {p}-gen,Generated Person,,true,\n\
         {p}-weak,Weak Person,password1,false,\n\
         {p}-phone,Phone Person,,false,msisdn:4915112345678\n"
    );
    let id = fx
        .admin
        .send_file(
            &fx.room_id,
            "mas.csv",
            csv.as_bytes(),
            "text/csv",
            Some("!import-users"),
        )
        .await;
    let preview = fx.reply_to(&fx.admin, &id).await;
    assert!(preview.body.contains("To create: 2"), "{}", preview.body);
    assert!(
        preview.body.contains("weaker than MAS's policy"),
        "the preview says which rows MAS would refuse: {}",
        preview.body
    );
    assert!(
        preview.body.contains("e-mail addresses only"),
        "{}",
        preview.body
    );
    assert!(
        in_mas(mas, &format!("{p}-given")).await.is_none(),
        "nothing before ✅"
    );

    let started = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(started.body.contains("started"), "{}", started.body);
    let summary = finished(&fx, "").await;
    assert!(summary.body.contains("Created: 2"), "{}", summary.body);
    assert!(summary.body.contains("Failed: 0"), "{}", summary.body);

    // In MAS, with its admin flag and e-mail; provisioned in Synapse.
    assert_eq!(
        mas_attr(mas, &format!("{p}-gen"), "admin").await,
        json!(true)
    );
    assert_eq!(
        mas_attr(mas, &format!("{p}-given"), "admin").await,
        json!(false)
    );
    let given_id = mas.user_id_of(&format!("{p}-given")).await;
    let emails = mas
        .get(&format!("/user-emails?filter[user]={given_id}"))
        .await;
    assert_eq!(
        emails["data"][0]["attributes"]["email"],
        json!(format!("{p}-given@example.org"))
    );
    let on_synapse = fx
        .user_on_server(&fx.synapse.user_id(&format!("{p}-given")))
        .await;
    assert_eq!(on_synapse["displayname"], "Given Person");
    // The refused rows made nothing, anywhere.
    for row in ["weak", "phone"] {
        assert!(in_mas(mas, &format!("{p}-{row}")).await.is_none(), "{row}");
    }

    // Both log in through MAS: the file's password, and the generated one from the results.
    assert!(log_in(mas, &format!("{p}-given"), &given).await.is_ok());
    let results = attached(&fx, "import-results.csv").await;
    let mut reader =
        csv::Reader::from_reader(results.file.as_ref().expect("file").bytes.as_slice());
    let generated = reader
        .records()
        .map(|r| r.expect("row"))
        .find(|r| r[0].ends_with(&format!("{p}-gen:localhost")))
        .map(|r| r[2].to_owned())
        .expect("the generated password");
    assert!(log_in(mas, &format!("{p}-gen"), &generated).await.is_ok());

    // An update changes the password through MAS; the old one stops working.
    let newer = format!("Newer-{p}-Horse-Battery-8");
    let csv = format!("id,password\n{p}-given,{newer}\n");
    let id = fx
        .admin
        .send_file(
            &fx.room_id,
            "update.csv",
            csv.as_bytes(),
            "text/csv",
            Some("!import-users --on-conflict update"),
        )
        .await;
    let preview = fx.reply_to(&fx.admin, &id).await;
    assert!(preview.body.contains("password"), "{}", preview.body);
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    let summary = finished(&fx, "Updated: 1").await;
    assert!(summary.body.contains("Failed: 0"), "{}", summary.body);
    assert!(log_in(mas, &format!("{p}-given"), &newer).await.is_ok());
    assert!(log_in(mas, &format!("{p}-given"), &given).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_import_on_mas_creates_every_account_exactly_once() {
    let mut fx = Fixture::start(|_| Spec {
        tail: "[import]\nconcurrency = 1\n".into(),
        ..Spec::mas()
    })
    .await;
    let mas = mas_of(&fx);
    let p = fx.synapse.unique_localpart("masres");
    let n = 24;
    let mut csv = String::from("id,displayname\n");
    for i in 0..n {
        csv.push_str(&format!("{p}-{i},User {i}\n"));
    }
    let id = fx
        .admin
        .send_file(
            &fx.room_id,
            "many.csv",
            csv.as_bytes(),
            "text/csv",
            Some("!import-users"),
        )
        .await;
    let preview = fx.reply_to(&fx.admin, &id).await;
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    // Stop as a crash would, as soon as the first account is in MAS.
    let deadline = tokio::time::Instant::now() + LONG;
    while in_mas(mas, &format!("{p}-0")).await.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no account made");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fx.stop_bot().await;
    let mut before = 0;
    for i in 0..n {
        before += usize::from(in_mas(mas, &format!("{p}-{i}")).await.is_some());
    }
    assert!(before < n, "the restart must happen mid-import");

    fx.start_bot().await;
    let summary = finished(&fx, "").await;
    assert!(
        summary.body.contains(&format!("Created: {n}")),
        "{}",
        summary.body
    );
    assert!(summary.body.contains("Skipped: 0"), "{}", summary.body);
    assert!(summary.body.contains("Failed: 0"), "{}", summary.body);
    let listed = mas
        .get(&format!("/users?filter[search]={p}-&page[first]=100"))
        .await;
    assert_eq!(
        listed["data"].as_array().expect("data").len(),
        n,
        "each account once: {listed}"
    );
    for i in 0..n {
        let results = fx
            .user_on_server(&fx.synapse.user_id(&format!("{p}-{i}")))
            .await;
        assert_eq!(results["displayname"], json!(format!("User {i}")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_tokens_are_made_and_revoked_in_mas() {
    let fx = Fixture::start(|_| Spec::mas()).await;
    let mas = mas_of(&fx);
    let made = fx
        .ask("!token-create --uses 2 --expires 7d --length 20")
        .await;
    assert!(
        made.body.contains("New registration token"),
        "{}",
        made.body
    );
    let list = mas.get("/user-registration-tokens?page[first]=100").await;
    let ours = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|t| {
            t["attributes"]["token"]
                .as_str()
                .is_some_and(|tok| tok.len() == 20 && made.body.contains(tok))
        })
        .cloned()
        .unwrap_or_else(|| panic!("the token is not in MAS: {list}"));
    let token = ours["attributes"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    crate::support::secrets::remember(&token);
    assert_eq!(ours["attributes"]["usage_limit"], json!(2));
    assert_ne!(ours["attributes"]["expires_at"], Value::Null);

    let shown = fx.ask(&format!("!token {token}")).await;
    assert!(shown.body.contains("0 of 2 used"), "{}", shown.body);
    let all = fx.ask("!tokens --valid").await;
    assert!(all.body.contains(&token), "{}", all.body);
    let unknown = fx.ask("!token NoSuchTokenAnywhere").await;
    assert!(unknown.body.contains("does not exist"), "{}", unknown.body);

    let revoked = fx.ask(&format!("!token-delete {token}")).await;
    assert!(revoked.body.contains("Revoked token"), "{}", revoked.body);
    let after = mas
        .get(&format!(
            "/user-registration-tokens/{}",
            ours["id"].as_str().expect("id")
        ))
        .await;
    assert_ne!(after["data"]["attributes"]["revoked_at"], Value::Null);
    assert_eq!(after["data"]["attributes"]["valid"], json!(false));
    let shown = fx.ask(&format!("!token {token}")).await;
    assert!(shown.body.contains("revoked"), "{}", shown.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_and_ended_in_mas_and_a_narrower_role_cannot() {
    let hs = Synapse::shared_mas();
    let helpdesk = Human::new(hs, "mas-sess-helpdesk").await;
    let helpdesk_id = helpdesk.user_id();
    let fx = Fixture::start_with(
        |_| Spec::mas().role("helpdesk", &[&helpdesk_id], &["user.info"]),
        vec![&helpdesk],
    )
    .await;
    let mas = mas_of(&fx);
    let (localpart, password) = mas_user(&fx, "mas-sess").await;
    let user = fx.synapse.user_id(&localpart);
    let phone = log_in(mas, &localpart, &password)
        .await
        .expect("compat login");
    let element_x = mas
        .oauth2_session(
            &localpart,
            None,
            None,
            Some("Element X/1.0"),
            Some("10.0.0.7"),
        )
        .await;
    let browser = mas
        .user_session(&localpart, Some("Firefox/130.0"), Some("10.0.0.8"))
        .await;
    assert!(token_works(&fx, &phone).await && token_works(&fx, &element_x.access_token).await);

    // A role with user.info sees them (the registration's own session too); it cannot end them.
    let listed = fx.ask_as(&helpdesk, &format!("!sessions {user}")).await;
    assert!(listed.body.contains("4 active sessions"), "{}", listed.body);
    assert!(listed.body.contains("Element X"), "{}", listed.body);
    assert!(listed.body.contains(&element_x.id), "{}", listed.body);
    assert!(listed.body.contains(&browser), "{}", listed.body);
    assert!(listed.body.contains("compat"), "{}", listed.body);
    let refused = fx
        .ask_as(&helpdesk, &format!("!end-sessions {user} --all"))
        .await;
    assert!(refused.body.contains("user.devices"), "{}", refused.body);
    assert!(token_works(&fx, &phone).await, "nothing ended");

    // Bad input: one line, nothing ends.
    let bad = fx.ask(&format!("!end-sessions {user} not-an-id")).await;
    assert!(bad.body.contains("is not a session ID"), "{}", bad.body);
    let neither = fx.ask(&format!("!end-sessions {user}")).await;
    assert!(
        neither.body.contains("say which sessions"),
        "{}",
        neither.body
    );

    // One session, by ID: its token stops working, the others go on.
    let preview = fx
        .ask(&format!("!end-sessions {user} {}", element_x.id))
        .await;
    assert!(preview.body.contains("End 1 of 4"), "{}", preview.body);
    assert!(
        token_works(&fx, &element_x.access_token).await,
        "not before ✅"
    );
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.contains("Ended 1 session"), "{}", done.body);
    assert!(!token_works(&fx, &element_x.access_token).await);
    assert!(token_works(&fx, &phone).await);
    let ended = mas.get(&format!("/oauth2-sessions/{}", element_x.id)).await;
    assert_ne!(ended["data"]["attributes"]["finished_at"], Value::Null);

    // !delete-devices on MAS ends the session that holds the device.
    let whoami: Value = http_client()
        .get(fx.synapse.endpoint("/_matrix/client/v3/account/whoami"))
        .bearer_auth(&phone)
        .send()
        .await
        .expect("whoami")
        .json()
        .await
        .expect("json");
    let device = whoami["device_id"]
        .as_str()
        .expect("the phone's device")
        .to_owned();
    let preview = fx.ask(&format!("!delete-devices {user} {device}")).await;
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    finished(&fx, "").await;
    assert!(
        !token_works(&fx, &phone).await,
        "the device's session ended"
    );

    // The rest, with --all.
    let preview = fx.ask(&format!("!end-sessions {user} --all")).await;
    assert!(preview.body.contains("End 2 of 2"), "{}", preview.body);
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    let left = fx.ask(&format!("!sessions {user}")).await;
    assert!(left.body.contains("0 active sessions"), "{}", left.body);
    let all = fx.ask(&format!("!sessions {user} --all")).await;
    assert!(all.body.contains("4 sessions"), "{}", all.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_passwords_and_accounts_are_made_in_mas() {
    let fx = Fixture::start(|_| Spec::mas()).await;
    let mas = mas_of(&fx);
    let (localpart, old) = mas_user(&fx, "mas-reset").await;
    let user = fx.synapse.user_id(&localpart);
    let session = log_in(mas, &localpart, &old).await.expect("login");

    let preview = fx.ask(&format!("!reset-password {user}")).await;
    assert!(preview.body.contains("all logged out"), "{}", preview.body);
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.contains("has a new password"), "{}", done.body);
    let new = password_in(&attached(&fx, &format!("password-{localpart}.txt")).await);
    assert!(
        log_in(mas, &localpart, &new).await.is_ok(),
        "the new one logs in"
    );
    assert!(
        log_in(mas, &localpart, &old).await.is_err(),
        "the old one does not"
    );
    assert!(!token_works(&fx, &session).await, "its sessions were ended");

    let name = fx.synapse.unique_localpart("mas-new");
    let preview = fx.ask(&format!("!create-user {name} --admin")).await;
    assert!(in_mas(mas, &name).await.is_none());
    let done = fx
        .ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    assert!(done.body.contains("a server admin"), "{}", done.body);
    assert_eq!(mas_attr(mas, &name, "admin").await, json!(true));
    let password = password_in(&attached(&fx, &format!("password-{name}.txt")).await);
    assert!(log_in(mas, &name, &password).await.is_ok());
    let again = fx.ask(&format!("!create-user {name}")).await;
    assert!(again.body.contains("already exists"), "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_stops_when_bot_toml_and_synapse_disagree_about_mas() {
    // Synapse delegates, bot.toml has no [mas].
    let mut fx = Fixture::prepare(|_| Spec::mas()).await;
    let config = std::fs::read_to_string(&fx.config_path).expect("config");
    let at = config.find("[mas]").expect("a [mas] table");
    let end = config[at..].find("\n\n").map_or(config.len(), |e| at + e);
    std::fs::write(
        &fx.config_path,
        format!("{}{}", &config[..at], &config[end..]),
    )
    .expect("write config");
    let e = fx.try_start_bot().await.expect_err("must not start");
    assert!(e.to_string().contains("no [mas] section"), "{e:#}");

    // bot.toml has [mas], Synapse does not delegate.
    let mut fx = Fixture::prepare(|_| Spec::default()).await;
    let dir = fx.config_path.parent().expect("dir").to_owned();
    std::fs::write(dir.join("token"), &fx.bot_user.access_token).expect("token");
    std::fs::write(dir.join("secret"), "not-used").expect("secret");
    let config = std::fs::read_to_string(&fx.config_path).expect("config");
    let config = config.replace(
        &format!("password = \"{}\"\n", fx.bot_user.password),
        &format!(
            "access_token_file = \"token\"\ndevice_id = \"{}\"\n",
            fx.bot_user.device_id
        ),
    ) + "\n[mas]\nurl = \"http://127.0.0.1:9/\"\nclient_id = \"X\"\nclient_secret_file = \"secret\"\n";
    std::fs::write(&fx.config_path, config).expect("write config");
    let e = fx.try_start_bot().await.expect_err("must not start");
    assert!(
        e.to_string().contains("does not delegate accounts to MAS"),
        "{e:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mas_the_session_commands_say_so_and_help_leaves_them_out() {
    let fx = Fixture::start(|_| Spec::default()).await;
    let user = fx.plain_user("nomas").await;
    let sessions = fx.ask(&format!("!sessions {user}")).await;
    assert!(sessions.body.contains("has no MAS"), "{}", sessions.body);
    assert!(!sessions.body.trim().contains('\n'), "{}", sessions.body);
    let help = fx.ask("!help").await;
    assert!(!help.body.contains("!sessions"), "{}", help.body);
    let ping = fx.ask("!ping").await;
    assert!(ping.body.contains("Accounts: Synapse."), "{}", ping.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_says_the_login_mode_and_whether_mas_takes_the_credentials() {
    let fx = Fixture::start(|_| Spec::mas()).await;
    let run = crate::support::bot::check_config;
    let (ok, text) = run(&fx.config_path);
    assert!(ok, "{text}");
    assert!(
        text.contains("access token (bot.access_token_file), device SYNDICBOT"),
        "{text}"
    );
    assert!(
        text.contains("ok   the access token carries the Synapse admin scope"),
        "{text}"
    );
    assert!(
        text.contains("ok   accounts are owned by MAS (")
            && text.contains("its admin API accepts the bot's client credentials"),
        "{text}"
    );

    // A wrong client secret: one line saying what to fix, without the secret.
    let dir = fx.config_path.parent().expect("dir");
    std::fs::write(dir.join("mas-client-secret"), "not-the-secret").expect("secret");
    let (ok, text) = run(&fx.config_path);
    assert!(!ok, "{text}");
    assert!(
        text.contains("FAIL MAS's admin API") && text.contains("client credentials"),
        "{text}"
    );
    assert!(!text.contains("not-the-secret"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_suspends_in_synapse_and_deactivates_in_mas() {
    let fx = Fixture::start(|_| Spec::mas()).await;
    let mas = mas_of(&fx);
    let (localpart, password) = mas_user(&fx, "mas-off").await;
    let user = fx.synapse.user_id(&localpart);
    let preview = fx.ask(&format!("!offboard {user}")).await;
    assert!(
        preview.body.contains("1. suspend") && preview.body.contains("4. deactivate"),
        "{}",
        preview.body
    );
    assert_eq!(
        mas_attr(mas, &localpart, "deactivated_at").await,
        Value::Null
    );
    fx.ask(&format!("!confirm {}", confirm_code(&preview)))
        .await;
    let done = finished(&fx, "").await;
    assert!(done.body.contains("Done: 1"), "{}", done.body);
    // Suspension is Synapse's; deactivation MAS's, without erasing (no --erase).
    let on_synapse = fx.user_on_server(&user).await;
    assert_eq!(on_synapse["suspended"], json!(true), "{on_synapse}");
    assert_eq!(on_synapse["deactivated"], json!(true), "{on_synapse}");
    assert_eq!(on_synapse["erased"], json!(false), "{on_synapse}");
    assert_ne!(
        mas_attr(mas, &localpart, "deactivated_at").await,
        Value::Null
    );
    assert!(log_in(mas, &localpart, &password).await.is_err());
}
