//! Contract test against the live MAS stand-in: every request the bot sends to MAS, sent by the
//! real [`MasClient`] (client credentials, paging, the one error mapping) to the stand-in the
//! end-to-end tests use (`tests/e2e/support/mas_standin.py`, run without a homeserver), and every
//! answer decoded by the types the bot parses. Together with `contract_tests.rs` (MAS's documented
//! examples) it pins the stand-in and the client to the same shapes.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use url::Url;

use super::emails::{AddUserEmail, ListUpstreamOAuthLinks, ListUserEmails};
use super::sessions::{
    FinishCompatSession, FinishOAuth2Session, FinishUserSession, GetOAuth2Client,
    ListCompatSessions, ListOAuth2Sessions, ListUserSessions, SessionStatus,
};
use super::site::{GetSiteConfig, GetVersion};
use super::tokens::{AddRegistrationToken, ListRegistrationTokens, RevokeRegistrationToken};
use super::users::{
    CreateUser, DeactivateUser, GetUserByUsername, ListUsers, LockUser, ReactivateUser, SetAdmin,
    SetPassword, UnlockUser, UserStatus,
};
use super::{MasClient, PageRequest, Ulid};

const CLIENT_ID: &str = "01J44RKQYM4G3TNVANTMTDYTX6";
const CLIENT_SECRET: &str = "contract-test-client-secret";

/// The stand-in, killed when dropped.
struct StandIn {
    child: Child,
    url: Url,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_standin() -> StandIn {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/support/mas_standin.py"
    );
    let python = std::env::var("SYNDIC_E2E_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .arg(script)
        .args(["--port", "0", "--synapse-url", "", "--secret", "unused"])
        .args(["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
        .args(["--min-password-complexity", "0", "--token-ttl", "300"])
        .args(["--server-name", "localhost"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the stand-in");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the stand-in says where it listens");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    StandIn {
        child,
        url: Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url"),
    }
}

/// A call to the stand-in's control API (what the tests, not the bot, do).
async fn control(standin: &StandIn, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(standin.url.join(path).expect("url"))
        .json(&body)
        .send()
        .await
        .expect("control API")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn every_request_the_bot_sends_to_mas_decodes_from_the_standin() {
    let standin = start_standin();
    let mas = MasClient::new(standin.url.clone(), CLIENT_ID.into(), CLIENT_SECRET.into())
        .expect("client");

    // Site and version (the start-up's probe, !ping).
    let site = mas.send(&GetSiteConfig).await.expect("site config");
    assert_eq!(site.server_name, "localhost");
    assert_eq!(site.minimum_password_complexity, 0);
    assert!(
        !mas.send(&GetVersion)
            .await
            .expect("version")
            .version
            .is_empty()
    );

    // Users: create (and a taken name), look up, page, count.
    let mut ids = Vec::new();
    for name in ["contract-a", "contract-b", "contract-c"] {
        let created = mas
            .send(&CreateUser {
                username: name.into(),
                displayname: Some(format!("User {name}")),
                avatar_url: None,
                skip_homeserver_check: false,
            })
            .await
            .expect("create");
        assert_eq!(created.data.attributes.username, name);
        assert!(!created.data.attributes.admin);
        ids.push(created.data.id);
    }
    let taken = mas
        .send(&CreateUser {
            username: "contract-a".into(),
            displayname: None,
            avatar_url: None,
            skip_homeserver_check: false,
        })
        .await
        .expect_err("a taken name");
    assert!(taken.is_conflict(), "{taken}");
    let a = ids[0];
    let found = mas
        .send(&GetUserByUsername {
            username: "contract-a".into(),
        })
        .await
        .expect("by username");
    assert_eq!(found.data.id, a);
    let missing = mas
        .send(&GetUserByUsername {
            username: "nobody".into(),
        })
        .await
        .expect_err("unknown");
    assert!(missing.is_not_found(), "{missing}");
    let listing = mas
        .all(
            &ListUsers {
                search: Some("contract-".into()),
                page: PageRequest::first(2),
                ..ListUsers::default()
            },
            10,
        )
        .await
        .expect("all users, two a page");
    assert_eq!(listing.items.len(), 3);
    assert!(!listing.truncated);
    let counted = mas
        .send(
            &ListUsers {
                status: Some(UserStatus::Active),
                ..ListUsers::default()
            }
            .count_only(),
        )
        .await
        .expect("count");
    assert_eq!(counted.count(), Some(3));
    let admins = mas
        .all(
            &ListUsers {
                admin: Some(true),
                ..ListUsers::default()
            },
            10,
        )
        .await
        .expect("admins");
    assert!(admins.items.is_empty());

    // The account's flags.
    mas.send(&SetPassword {
        id: a,
        password: zeroize::Zeroizing::new("a long enough password".into()),
        skip_check: false,
    })
    .await
    .expect("set password");
    let admin = mas
        .send(&SetAdmin { id: a, admin: true })
        .await
        .expect("set admin");
    assert!(admin.data.attributes.admin);
    let locked = mas.send(&LockUser { id: a }).await.expect("lock");
    assert!(locked.data.attributes.locked_at.is_some());
    let unlocked = mas.send(&UnlockUser { id: a }).await.expect("unlock");
    assert!(unlocked.data.attributes.locked_at.is_none());
    let b = ids[1];
    let gone = mas
        .send(&DeactivateUser {
            id: b,
            skip_erase: true,
        })
        .await
        .expect("deactivate");
    assert!(gone.data.attributes.deactivated_at.is_some());
    let back = mas
        .send(&ReactivateUser { id: b })
        .await
        .expect("reactivate");
    assert!(back.data.attributes.deactivated_at.is_none());

    // E-mail addresses and upstream links.
    mas.send(&AddUserEmail {
        user_id: a,
        email: "a@example.org".into(),
    })
    .await
    .expect("add e-mail");
    let again = mas
        .send(&AddUserEmail {
            user_id: ids[2],
            email: "a@example.org".into(),
        })
        .await
        .expect_err("in use");
    assert!(again.is_conflict(), "{again}");
    let emails = mas
        .all(
            &ListUserEmails {
                user: Some(a),
                email: None,
                page: PageRequest::default(),
            },
            10,
        )
        .await
        .expect("e-mails");
    assert_eq!(emails.items[0].attributes.email, "a@example.org");
    control(
        &standin,
        "_standin/upstream-link",
        json!({"username": "contract-a", "subject": "sub-1", "human_account_name": "a@idp"}),
    )
    .await;
    let links = mas
        .all(
            &ListUpstreamOAuthLinks {
                user: Some(a),
                page: PageRequest::default(),
            },
            10,
        )
        .await
        .expect("links");
    assert_eq!(links.items[0].attributes.subject, "sub-1");
    assert_eq!(
        links.items[0].attributes.human_account_name.as_deref(),
        Some("a@idp")
    );

    // Sessions of the three kinds: list, name the client, finish (twice).
    control(
        &standin,
        "_standin/compat-token",
        json!({"username": "contract-a", "device_id": "PHONE"}),
    )
    .await;
    let oauth2 = control(
        &standin,
        "_standin/oauth2-session",
        json!({"username": "contract-a", "user_agent": "Element X", "ip": "10.0.0.1"}),
    )
    .await;
    control(
        &standin,
        "_standin/user-session",
        json!({"username": "contract-a", "user_agent": "Firefox"}),
    )
    .await;
    let active = Some(SessionStatus::Active);
    let compat = mas
        .all(
            &ListCompatSessions {
                user: Some(a),
                status: active,
                page: PageRequest::default(),
            },
            10,
        )
        .await
        .expect("compat sessions");
    assert_eq!(
        compat.items[0].attributes.device_id.as_deref(),
        Some("PHONE")
    );
    let oauth2_sessions = mas
        .all(
            &ListOAuth2Sessions {
                user: Some(a),
                status: active,
                page: PageRequest::default(),
            },
            10,
        )
        .await
        .expect("OAuth 2.0 sessions");
    let session = &oauth2_sessions.items[0];
    assert_eq!(session.id.to_string(), oauth2["id"].as_str().expect("id"));
    assert!(
        session
            .attributes
            .scope
            .contains("urn:matrix:client:device:")
    );
    let client = mas
        .send(&GetOAuth2Client {
            id: session.attributes.client_id,
        })
        .await
        .expect("client");
    assert_eq!(
        client.data.attributes.client_name.as_deref(),
        Some("Element X")
    );
    let browser = mas
        .all(
            &ListUserSessions {
                user: Some(a),
                status: active,
                page: PageRequest::default(),
            },
            10,
        )
        .await
        .expect("browser sessions");
    assert_eq!(
        browser.items[0].attributes.user_agent.as_deref(),
        Some("Firefox")
    );
    let compat_id = compat.items[0].id;
    mas.send(&FinishCompatSession { id: compat_id })
        .await
        .expect("finish compat");
    let twice = mas
        .send(&FinishCompatSession { id: compat_id })
        .await
        .expect_err("finished already");
    assert!(twice.is_already_finished(), "{twice}");
    let done = mas
        .send(&FinishOAuth2Session { id: session.id })
        .await
        .expect("finish OAuth 2.0");
    assert!(done.data.attributes.finished_at.is_some());
    let done = mas
        .send(&FinishUserSession {
            id: browser.items[0].id,
        })
        .await
        .expect("finish browser");
    assert!(done.data.attributes.finished_at.is_some());

    // Registration tokens.
    let token = mas
        .send(&AddRegistrationToken {
            token: Some("ContractToken123".into()),
            usage_limit: Some(3),
            expires_at: None,
        })
        .await
        .expect("add token");
    assert_eq!(token.data.attributes.token, "ContractToken123");
    assert_eq!(token.data.attributes.usage_limit, Some(3));
    assert!(token.data.attributes.valid);
    let valid = mas
        .all(
            &ListRegistrationTokens {
                valid: Some(true),
                page: PageRequest::default(),
            },
            10,
        )
        .await
        .expect("tokens");
    assert!(valid.items.iter().any(|t| t.id == token.data.id));
    let revoked = mas
        .send(&RevokeRegistrationToken { id: token.data.id })
        .await
        .expect("revoke");
    assert!(revoked.data.attributes.revoked_at.is_some());
    let twice = mas
        .send(&RevokeRegistrationToken { id: token.data.id })
        .await
        .expect_err("revoked already");
    assert!(twice.is_already_revoked(), "{twice}");

    // An ID that is not there is MAS's 404, mapped like any other.
    let nobody: Ulid = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().expect("ulid");
    let e = mas
        .send(&LockUser { id: nobody })
        .await
        .expect_err("no user");
    assert!(e.is_not_found(), "{e}");
}
