//! Tests of the MAS client against a mock MAS: the client-credentials token (cached, shared,
//! renewed, replaced after a 401), paging, error mapping, retries, request shapes and secrecy.

use std::time::Duration;

use chrono::TimeZone as _;
use futures_util::future::join_all;
use serde_json::json;
use wiremock::matchers::{
    body_json, body_string, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zeroize::Zeroizing;

use super::emails::{AddUserEmail, ListUpstreamOAuthLinks, ListUserEmails};
use super::sessions::{
    FinishCompatSession, GetOAuth2Client, ListCompatSessions, ListOAuth2Sessions, ListUserSessions,
    SessionStatus,
};
use super::site::GetVersion;
use super::tokens::{AddRegistrationToken, ListRegistrationTokens, RevokeRegistrationToken};
use super::users::{
    CreateUser, DeactivateUser, GetUserByUsername, ListUsers, LockUser, SetAdmin, SetPassword,
    UserStatus,
};
use super::*;
use crate::admin_api::Service;
use crate::admin_api::error::{self, MasCredentialProblem};

const CLIENT_ID: &str = "01J44RKQYM4G3TNVANTMTDYTX6";
const SECRET: &str = "phoo8ahneir3ohY2eigh4xuu6Oodaewi-TOPSECRET";
/// `Basic base64(CLIENT_ID:SECRET)`.
const BASIC: &str = "Basic \
     MDFKNDRSS1FZTTRHM1ROVkFOVE1URFlUWDY6cGhvbzhhaG5laXIzb2hZMmVpZ2g0eHV1Nk9vZGFld2ktVE9QU0VDUkVU";
const TOKEN_1: &str = "mat_FIRSTSECRETTOKEN_aaaa";
const TOKEN_2: &str = "mat_SECONDSECRETTOKEN_bbbb";
const FORM: &str = "grant_type=client_credentials&scope=urn%3Amas%3Aadmin";

const USER_ID: &str = "01040G2081040G2081040G2081";

fn id(s: &str) -> Ulid {
    s.parse().unwrap()
}

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_total_wait: Duration::from_secs(2),
    }
}

fn client_for(server: &MockServer) -> MasClient {
    MasClient::new(
        Url::parse(&server.uri()).unwrap(),
        CLIENT_ID.to_owned(),
        SECRET.to_owned(),
    )
    .unwrap()
    .with_retry_policy(fast_policy())
}

fn token_response(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": "urn:mas:admin",
    }))
}

/// The token endpoint, as MAS expects to be called: Basic auth and the client-credentials form.
fn token_mock() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(header("authorization", BASIC))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(FORM))
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn version_mock(token: &str) -> wiremock::MockBuilder {
    Mock::given(method("GET"))
        .and(path("/api/admin/v1/version"))
        .and(header("authorization", bearer(token).as_str()))
}

fn user_json(id: &str, username: &str) -> serde_json::Value {
    json!({
        "type": "user",
        "id": id,
        "attributes": {
            "username": username,
            "created_at": "2024-07-12T12:11:46.911578Z",
            "locked_at": null,
            "deactivated_at": null,
            "admin": false,
            "legacy_guest": false
        },
        "links": {"self": format!("/api/admin/v1/users/{id}")}
    })
}

fn mas_error(status: u16, title: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"errors": [{"title": title}]}))
}

fn assert_no_secret(shown: &str) {
    for secret in [SECRET, "TOPSECRET", TOKEN_1, TOKEN_2, "SECRETTOKEN", BASIC] {
        assert!(!shown.contains(secret), "secret leaked: {shown}");
    }
}

fn assert_clean_error(e: &AdminError) {
    assert_no_secret(&format!("{e} / {e:?}"));
    assert!(!e.to_string().contains('\n'), "multi-line: {e}");
}

// ---------------------------------------------------------------------------------------------
// The token
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn one_token_fetch_serves_concurrent_requests() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(token_response(TOKEN_1, 3600).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&server)
        .await;
    version_mock(TOKEN_1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "v1.0.0"})))
        .expect(8)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let answers = join_all((0..8).map(|_| {
        let client = client.clone();
        async move { client.send(&GetVersion).await }
    }))
    .await;
    for answer in answers {
        assert_eq!(answer.unwrap().version, "v1.0.0");
    }
}

#[tokio::test]
async fn the_token_is_reused_then_renewed_near_expiry() {
    let server = MockServer::start().await;
    // 11 s of life, renewed when 10 s are left: usable for one second.
    token_mock()
        .respond_with(token_response(TOKEN_1, 11))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock()
        .respond_with(token_response(TOKEN_2, 3600))
        .expect(1)
        .mount(&server)
        .await;
    version_mock(TOKEN_1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "1"})))
        .expect(2)
        .mount(&server)
        .await;
    version_mock(TOKEN_2)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "2"})))
        .expect(2)
        .mount(&server)
        .await;
    let client = client_for(&server);
    assert_eq!(client.send(&GetVersion).await.unwrap().version, "1");
    // A clone shares the token.
    assert_eq!(client.clone().send(&GetVersion).await.unwrap().version, "1");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(client.send(&GetVersion).await.unwrap().version, "2");
    assert_eq!(client.send(&GetVersion).await.unwrap().version, "2");
}

#[tokio::test]
async fn a_token_of_ten_seconds_or_less_is_fetched_for_each_request() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(token_response(TOKEN_1, 10))
        .expect(2)
        .mount(&server)
        .await;
    version_mock(TOKEN_1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "1"})))
        .expect(2)
        .mount(&server)
        .await;
    let client = client_for(&server);
    client.send(&GetVersion).await.unwrap();
    client.send(&GetVersion).await.unwrap();
}

#[tokio::test]
async fn a_401_fetches_one_new_token_and_repeats_once() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(token_response(TOKEN_1, 3600))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock()
        .respond_with(token_response(TOKEN_2, 3600))
        .expect(1)
        .mount(&server)
        .await;
    // Even a request that is not retry-safe: a 401 means MAS did not process it.
    Mock::given(method("POST"))
        .and(path("/api/admin/v1/users"))
        .and(header("authorization", bearer(TOKEN_1).as_str()))
        .respond_with(mas_error(401, "Invalid access token"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/admin/v1/users"))
        .and(header("authorization", bearer(TOKEN_2).as_str()))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"data": user_json(USER_ID, "alice")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let user = client
        .send(&CreateUser {
            username: "alice".into(),
            displayname: None,
            avatar_url: None,
            skip_homeserver_check: false,
        })
        .await
        .unwrap();
    assert_eq!(user.data.id, id(USER_ID));
    assert_eq!(user.data.attributes.username, "alice");
}

#[tokio::test]
async fn a_second_401_is_the_answer() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(token_response(TOKEN_1, 3600))
        .expect(2)
        .mount(&server)
        .await;
    version_mock(TOKEN_1)
        .respond_with(mas_error(401, "Missing urn:mas:admin scope"))
        .expect(2)
        .mount(&server)
        .await;
    let e = client_for(&server).send(&GetVersion).await.unwrap_err();
    assert!(
        matches!(
            e,
            AdminError::MasCredentials {
                problem: MasCredentialProblem::TokenRejected,
                status: 401,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "MAS rejected the bot's access token (HTTP 401): Missing urn:mas:admin scope"
    );
    assert_clean_error(&e);
}

#[tokio::test]
async fn wrong_credentials_give_one_line_without_the_secret() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .expect(2)
        .mount(&server)
        .await;
    version_mock(TOKEN_1)
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let e = client.send(&GetVersion).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "MAS did not accept the bot's client credentials ([mas] client_id / client_secret_file; \
         the client must be listed in MAS's policy.data.admin_clients)"
    );
    assert_clean_error(&e);
    // Not retried, and the next request tries again (the admin may have fixed MAS meanwhile).
    let e = client.send(&GetVersion).await.unwrap_err();
    assert!(
        matches!(
            e,
            AdminError::MasCredentials {
                problem: MasCredentialProblem::InvalidClient,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn concurrent_callers_share_a_failed_fetch() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({
                    "error": "invalid_scope",
                    "error_description": "client is not allowed to request urn:mas:admin"
                }))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let answers = join_all((0..4).map(|_| {
        let client = client.clone();
        async move { client.send(&GetVersion).await }
    }))
    .await;
    for answer in answers {
        let e = answer.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("MAS did not grant the bot's client the urn:mas:admin scope"),
            "{e}"
        );
        assert_clean_error(&e);
    }
}

#[tokio::test]
async fn a_transient_token_failure_is_retried_even_for_a_creation() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock()
        .respond_with(token_response(TOKEN_1, 3600))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/admin/v1/user-registration-tokens"))
        .and(header("authorization", bearer(TOKEN_1).as_str()))
        .and(body_json(json!({"usage_limit": 3})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"data": {
            "type": "user-registration_token",
            "id": USER_ID,
            "attributes": {
                "token": "abc", "valid": true, "usage_limit": 3, "times_used": 0,
                "created_at": "2025-01-01T00:00:00Z"
            }
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let token = client_for(&server)
        .send(&AddRegistrationToken {
            usage_limit: Some(3),
            ..AddRegistrationToken::default()
        })
        .await
        .unwrap();
    assert_eq!(token.data.attributes.usage_limit, Some(3));
    assert!(token.data.attributes.valid);
}

#[tokio::test]
async fn a_non_bearer_token_is_refused() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": TOKEN_1, "token_type": "mac", "expires_in": 300
        })))
        .mount(&server)
        .await;
    let e = client_for(&server).send(&GetVersion).await.unwrap_err();
    assert!(
        matches!(
            e,
            AdminError::UnexpectedResponse {
                service: Service::Mas,
                status: 200,
                ..
            }
        ),
        "{e:?}"
    );
    assert_clean_error(&e);
}

#[tokio::test]
async fn the_base_path_prefix_is_kept_for_the_token_and_the_api() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/oauth2/token"))
        .respond_with(token_response(TOKEN_1, 3600))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/api/admin/v1/version"))
        .and(header("authorization", bearer(TOKEN_1).as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "v1"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = MasClient::new(
        Url::parse(&format!("{}/auth/?x=1#f", server.uri())).unwrap(),
        CLIENT_ID.to_owned(),
        SECRET.to_owned(),
    )
    .unwrap();
    assert_eq!(client.send(&GetVersion).await.unwrap().version, "v1");
}

// ---------------------------------------------------------------------------------------------
// Secrecy and configuration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debug_never_shows_the_secret_or_the_token() {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(token_response(TOKEN_1, 3600))
        .mount(&server)
        .await;
    version_mock(TOKEN_1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "1"})))
        .mount(&server)
        .await;
    let client = client_for(&server);
    client.send(&GetVersion).await.unwrap();
    let dbg = format!("{client:?}");
    assert_no_secret(&dbg);
    assert!(dbg.contains(CLIENT_ID), "{dbg}");
    assert!(dbg.contains("redacted"), "{dbg}");
    assert!(dbg.contains("Mas"), "{dbg}");

    let ep = SetPassword {
        id: id(USER_ID),
        password: Zeroizing::new("hunter2-TOPSECRET".to_owned()),
        skip_check: false,
    };
    let dbg = format!("{ep:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    assert!(dbg.contains(USER_ID), "{dbg}");
}

#[test]
fn bad_configuration_is_refused_without_the_secret() {
    let url = Url::parse("https://auth.example").unwrap();
    let bad = [
        (url.clone(), "", SECRET),
        (url.clone(), "a:b", SECRET),
        (url.clone(), CLIENT_ID, "  \n"),
        (url.clone(), CLIENT_ID, "TOPSECRET\u{7}"),
        (Url::parse("mailto:a@b").unwrap(), CLIENT_ID, SECRET),
    ];
    for (url, client_id, secret) in bad {
        let e = MasClient::new(url, client_id.to_owned(), secret.to_owned()).unwrap_err();
        assert!(matches!(e, AdminError::InvalidConfig { .. }), "{e:?}");
        assert_clean_error(&e);
    }
    // Surrounding whitespace (a secret file's newline) is not part of the secret.
    MasClient::new(url, CLIENT_ID.to_owned(), format!("{SECRET}\n")).unwrap();
}

#[tokio::test]
async fn an_unreachable_mas_is_named() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = MasClient::new(
        Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
        CLIENT_ID.to_owned(),
        SECRET.to_owned(),
    )
    .unwrap()
    .with_retry_policy(fast_policy());
    let e = client.send(&GetVersion).await.unwrap_err();
    match &e {
        AdminError::Unreachable {
            service: Service::Mas,
            host,
            reason,
        } => {
            assert_eq!(host, &format!("127.0.0.1:{port}"));
            assert!(reason.starts_with("connection failed"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().starts_with("MAS 127.0.0.1:"), "{e}");
    assert_clean_error(&e);
}

// ---------------------------------------------------------------------------------------------
// Retries and errors
// ---------------------------------------------------------------------------------------------

/// A mock MAS whose token endpoint always answers.
async fn mas_with_token() -> MockServer {
    let server = MockServer::start().await;
    token_mock()
        .respond_with(token_response(TOKEN_1, 3600))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_read_is_retried_on_503() {
    let server = mas_with_token().await;
    version_mock(TOKEN_1)
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    version_mock(TOKEN_1)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": "v1"})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(
        client_for(&server).send(&GetVersion).await.unwrap().version,
        "v1"
    );
}

#[tokio::test]
async fn a_creation_is_not_retried_on_503() {
    let server = mas_with_token().await;
    Mock::given(method("POST"))
        .and(path("/api/admin/v1/users"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let e = client_for(&server)
        .send(&CreateUser {
            username: "bob".into(),
            displayname: Some("Bob".into()),
            avatar_url: None,
            skip_homeserver_check: false,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AdminError::Unreachable {
                service: Service::Mas,
                ..
            }
        ),
        "{e:?}"
    );
    assert_clean_error(&e);
}

#[tokio::test]
async fn a_429_is_retried_for_a_creation() {
    let server = mas_with_token().await;
    Mock::given(method("POST"))
        .and(path("/api/admin/v1/user-emails"))
        .respond_with(mas_error(429, "Too many requests").insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/admin/v1/user-emails"))
        .and(body_json(json!({"user_id": USER_ID, "email": "a@example.org"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"data": {
            "type": "user-email", "id": "02081040G2081040G2081040G2",
            "attributes": {"created_at": "2025-01-01T00:00:00Z", "user_id": USER_ID, "email": "a@example.org"}
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let email = client_for(&server)
        .send(&AddUserEmail {
            user_id: id(USER_ID),
            email: "a@example.org".into(),
        })
        .await
        .unwrap();
    assert_eq!(email.data.attributes.email, "a@example.org");
}

#[tokio::test]
async fn mas_errors_are_mapped() {
    let server = mas_with_token().await;
    let user = "/api/admin/v1/users/01040G2081040G2081040G2081";
    Mock::given(method("GET"))
        .and(path("/api/admin/v1/users/by-username/nobody"))
        .respond_with(mas_error(404, "User with username \"nobody\" not found"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/admin/v1/user-emails"))
        .respond_with(mas_error(
            409,
            "User email \"a@example.org\" already in use",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(
            "/api/admin/v1/compat-sessions/02081040G2081040G2081040G2/finish",
        ))
        .respond_with(mas_error(
            400,
            "Compatibility session with ID 02081040G2081040G2081040G2 is already finished",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{user}/set-password")))
        .respond_with(mas_error(403, "Password auth is disabled"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{user}/lock")))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{user}/set-admin")))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "https://x.example/"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/api/admin/v1/oauth2-clients/030C1G60R30C1G60R30C1G60R3",
        ))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let client = client_for(&server);

    let e = client
        .send(&GetUserByUsername {
            username: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "MAS user nobody does not exist");
    assert_clean_error(&e);

    let e = client
        .send(&AddUserEmail {
            user_id: id(USER_ID),
            email: "a@example.org".into(),
        })
        .await
        .unwrap_err();
    assert!(e.is_conflict(), "{e:?}");
    assert_eq!(
        e.to_string(),
        "MAS refused the request: User email \"a@example.org\" already in use (HTTP 409)"
    );

    let e = client
        .send(&FinishCompatSession {
            id: id("02081040G2081040G2081040G2"),
        })
        .await
        .unwrap_err();
    assert!(e.is_already_finished(), "{e:?}");
    assert_eq!(
        e.to_string(),
        "MAS compatibility session 02081040G2081040G2081040G2 is already finished"
    );

    let e = client
        .send(&SetPassword {
            id: id(USER_ID),
            password: Zeroizing::new("correct horse battery staple".to_owned()),
            skip_check: false,
        })
        .await
        .unwrap_err();
    assert!(e.is_forbidden(), "{e:?}");
    assert_eq!(e.to_string(), "MAS refused: Password auth is disabled");
    assert!(!format!("{e:?}").contains("horse"));

    let e = client
        .send(&LockUser { id: id(USER_ID) })
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AdminError::UnexpectedResponse {
                service: Service::Mas,
                status: 500,
                ..
            }
        ),
        "{e:?}"
    );

    let e = client
        .send(&SetAdmin {
            id: id(USER_ID),
            admin: true,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e, AdminError::UnexpectedResponse { status: 302, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("MAS redirected the request"), "{e}");

    // An older MAS without the endpoint.
    let e = client
        .send(&GetOAuth2Client {
            id: id("030C1G60R30C1G60R30C1G60R3"),
        })
        .await
        .unwrap_err();
    assert!(e.is_unrecognized(), "{e:?}");
    assert!(!e.is_not_found());
}

// ---------------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------------

const IDS: [&str; 5] = [
    "01040G2081040G2081040G2081",
    "02081040G2081040G2081040G2",
    "030C1G60R30C1G60R30C1G60R3",
    "040G2081040G2081040G208104",
    "050M2GA1850M2GA1850M2GA185",
];

fn users_page(ids: &[&str], next: bool) -> ResponseTemplate {
    let data: Vec<_> = ids.iter().map(|i| user_json(i, &format!("u{i}"))).collect();
    let mut links = json!({"self": "/api/admin/v1/users"});
    if next {
        links["next"] = json!("/api/admin/v1/users?page[after]=x");
    }
    ResponseTemplate::new(200).set_body_json(json!({
        "meta": {"count": 5}, "data": data, "links": links
    }))
}

#[tokio::test]
async fn all_follows_page_after_and_stops_without_next() {
    let server = mas_with_token().await;
    let users = || {
        Mock::given(method("GET"))
            .and(path("/api/admin/v1/users"))
            .and(query_param("filter[status]", "active"))
    };
    users()
        .and(query_param("page[first]", "2"))
        .and(query_param_is_missing("page[after]"))
        .respond_with(users_page(&IDS[0..2], true))
        .expect(1)
        .mount(&server)
        .await;
    users()
        .and(query_param("page[first]", "2"))
        .and(query_param("page[after]", IDS[1]))
        .respond_with(users_page(&IDS[2..4], true))
        .expect(1)
        .mount(&server)
        .await;
    users()
        .and(query_param("page[first]", "2"))
        .and(query_param("page[after]", IDS[3]))
        .respond_with(users_page(&IDS[4..5], false))
        .expect(1)
        .mount(&server)
        .await;
    let ep = ListUsers {
        page: PageRequest::first(2),
        status: Some(UserStatus::Active),
        ..ListUsers::default()
    };
    let listing = client_for(&server).all(&ep, 100).await.unwrap();
    let got: Vec<String> = listing.items.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(got, IDS);
    assert!(!listing.truncated);
    assert_eq!(listing.items[4].attributes.username, format!("u{}", IDS[4]));
}

#[tokio::test]
async fn all_stops_at_the_bound_asking_only_for_what_is_missing() {
    let server = mas_with_token().await;
    Mock::given(method("GET"))
        .and(path("/api/admin/v1/users"))
        .and(query_param("page[first]", "2"))
        .and(query_param_is_missing("page[after]"))
        .respond_with(users_page(&IDS[0..2], true))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/admin/v1/users"))
        .and(query_param("page[first]", "1"))
        .and(query_param("page[after]", IDS[1]))
        .respond_with(users_page(&IDS[2..3], true))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let ep = ListUsers {
        page: PageRequest::first(2),
        ..ListUsers::default()
    };
    let listing = client.all(&ep, 3).await.unwrap();
    assert_eq!(listing.items.len(), 3);
    assert!(listing.truncated);
    // Nothing asked, nothing sent.
    let listing = client.all(&ep, 0).await.unwrap();
    assert!(listing.items.is_empty());
}

#[tokio::test]
async fn all_stops_when_the_cursor_does_not_move() {
    let server = mas_with_token().await;
    // A page claiming a next page but holding nothing.
    Mock::given(method("GET"))
        .and(path("/api/admin/v1/user-emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": null, "links": {"self": "x", "next": "y"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let listing = client_for(&server)
        .all(&ListUserEmails::default(), 50)
        .await
        .unwrap();
    assert!(listing.items.is_empty());
    assert!(listing.truncated);
}

#[tokio::test]
async fn counting_users_asks_for_the_count_only() {
    let server = mas_with_token().await;
    Mock::given(method("GET"))
        .and(path("/api/admin/v1/users"))
        .and(query_param("count", "only"))
        .and(query_param("filter[status]", "active"))
        .and(query_param_is_missing("page[first]"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "meta": {"count": 42}, "links": {"self": "/api/admin/v1/users?count=only"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = client_for(&server)
        .send(
            &ListUsers {
                status: Some(UserStatus::Active),
                ..ListUsers::default()
            }
            .count_only(),
        )
        .await
        .unwrap();
    assert_eq!(page.count(), Some(42));
    assert!(page.data.is_empty());
    assert!(!page.has_next());
}

// ---------------------------------------------------------------------------------------------
// Request shapes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn set_password_sends_the_password_and_takes_204() {
    let server = mas_with_token().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/admin/v1/users/{USER_ID}/set-password")))
        .and(body_json(
            json!({"password": "s3cret pass", "skip_password_check": true}),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client_for(&server)
        .send(&SetPassword {
            id: id(USER_ID),
            password: Zeroizing::new("s3cret pass".to_owned()),
            skip_check: true,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn lookup_by_username_encodes_the_segment() {
    let server = mas_with_token().await;
    Mock::given(method("GET"))
        .and(path("/api/admin/v1/users/by-username/a%2F..%3Fb"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": user_json(USER_ID, "a/..?b")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let user = client_for(&server)
        .send(&GetUserByUsername {
            username: "a/..?b".into(),
        })
        .await
        .unwrap();
    assert_eq!(user.data.attributes.username, "a/..?b");
}

#[test]
fn paths_queries_and_bodies() {
    let user = id(USER_ID);
    let after = Some(id(IDS[1]));
    let page = PageRequest { first: 10, after };
    let q = |pairs: Vec<(&'static str, String)>| -> Vec<(String, String)> {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };

    let ep = ListUsers {
        page,
        admin: Some(true),
        status: Some(UserStatus::Active),
        search: Some("ali".into()),
        count: None,
    };
    assert_eq!(ep.path(), "/api/admin/v1/users");
    assert_eq!(
        q(ep.query()),
        pairs(&[
            ("page[first]", "10"),
            ("page[after]", IDS[1]),
            ("filter[admin]", "true"),
            ("filter[status]", "active"),
            ("filter[search]", "ali"),
        ])
    );

    let sessions = [
        (
            ListCompatSessions {
                user: Some(user),
                status: Some(SessionStatus::Active),
                page,
            }
            .path(),
            "/api/admin/v1/compat-sessions",
        ),
        (
            ListOAuth2Sessions::default().path(),
            "/api/admin/v1/oauth2-sessions",
        ),
        (
            ListUserSessions::default().path(),
            "/api/admin/v1/user-sessions",
        ),
    ];
    for (got, want) in sessions {
        assert_eq!(got, want);
    }
    let ep = ListOAuth2Sessions {
        user: Some(user),
        status: Some(SessionStatus::Active),
        page: PageRequest::first(5),
    };
    assert_eq!(
        q(ep.query()),
        pairs(&[
            ("page[first]", "5"),
            ("filter[user]", USER_ID),
            ("filter[status]", "active"),
        ])
    );
    assert_eq!(ep.subject(), format!("MAS user {USER_ID}"));
    assert_eq!(
        ListUserSessions::default().subject(),
        "MAS browser sessions"
    );

    let ep = ListUserEmails {
        user: None,
        email: Some("a+b@example.org".into()),
        page: PageRequest::default(),
    };
    assert_eq!(
        q(ep.query()),
        pairs(&[("page[first]", "100"), ("filter[email]", "a+b@example.org")])
    );
    let ep = ListUpstreamOAuthLinks {
        user: Some(user),
        page: PageRequest::first(1),
    };
    assert_eq!(ep.path(), "/api/admin/v1/upstream-oauth-links");
    assert_eq!(
        q(ep.query()),
        pairs(&[("page[first]", "1"), ("filter[user]", USER_ID)])
    );
    let ep = ListRegistrationTokens {
        valid: Some(false),
        page: PageRequest::first(3),
    };
    assert_eq!(
        q(ep.query()),
        pairs(&[("page[first]", "3"), ("filter[valid]", "false")])
    );

    let ep = AddRegistrationToken {
        token: Some("welcome".into()),
        usage_limit: Some(5),
        expires_at: Some(chrono::Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()),
    };
    assert_eq!(
        ep.body(),
        Some(json!({"token": "welcome", "usage_limit": 5, "expires_at": "2030-01-02T03:04:05Z"}))
    );
    assert_eq!(AddRegistrationToken::default().body(), Some(json!({})));
    assert_eq!(ep.subject(), "a new MAS registration token");
    let ep = RevokeRegistrationToken { id: user };
    assert_eq!(
        ep.path(),
        format!("/api/admin/v1/user-registration-tokens/{USER_ID}/revoke")
    );

    let ep = CreateUser {
        username: "alice".into(),
        displayname: Some("Alice".into()),
        avatar_url: None,
        skip_homeserver_check: true,
    };
    assert_eq!(
        ep.body(),
        Some(json!({"username": "alice", "displayname": "Alice", "skip_homeserver_check": true}))
    );
    let ep = DeactivateUser {
        id: user,
        skip_erase: true,
    };
    assert_eq!(
        ep.path(),
        format!("/api/admin/v1/users/{USER_ID}/deactivate")
    );
    assert_eq!(ep.body(), Some(json!({"skip_erase": true})));
    assert_eq!(
        SetAdmin {
            id: user,
            admin: false
        }
        .body(),
        Some(json!({"admin": false}))
    );
    assert_eq!(
        LockUser { id: user }.path(),
        format!("/api/admin/v1/users/{USER_ID}/lock")
    );
    assert_eq!(LockUser { id: user }.body(), None);
    assert_eq!(
        GetOAuth2Client { id: user }.path(),
        format!("/api/admin/v1/oauth2-clients/{USER_ID}")
    );
    assert_eq!(
        FinishCompatSession { id: user }.path(),
        format!("/api/admin/v1/compat-sessions/{USER_ID}/finish")
    );
}

#[test]
fn retry_safety_is_declared() {
    fn safe<E: Endpoint>(_: &E) -> bool {
        E::RETRY_SAFE
    }
    let user = id(USER_ID);
    assert!(safe(&ListUsers::default()));
    assert!(safe(&LockUser { id: user }));
    assert!(safe(&DeactivateUser {
        id: user,
        skip_erase: false
    }));
    assert!(safe(&FinishCompatSession { id: user }));
    assert!(safe(&RevokeRegistrationToken { id: user }));
    assert!(safe(&SetPassword {
        id: user,
        password: Zeroizing::new("x".into()),
        skip_check: false
    }));
    assert!(!safe(&CreateUser {
        username: "a".into(),
        displayname: None,
        avatar_url: None,
        skip_homeserver_check: false
    }));
    assert!(!safe(&AddRegistrationToken::default()));
    assert!(!safe(&AddUserEmail {
        user_id: user,
        email: "a@b".into()
    }));
}

// ---------------------------------------------------------------------------------------------
// IDs and metric labels
// ---------------------------------------------------------------------------------------------

#[test]
fn ulids_are_validated_and_normalised() {
    let u: Ulid = "01arz3ndektsv4rrffq69g5fav".parse().unwrap();
    assert_eq!(u.to_string(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    assert_eq!(u, "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().unwrap());
    assert_eq!(format!("{u:?}"), "Ulid(01ARZ3NDEKTSV4RRFFQ69G5FAV)");
    assert!("7ZZZZZZZZZZZZZZZZZZZZZZZZZ".parse::<Ulid>().is_ok());

    let err = |s: &str| s.parse::<Ulid>().unwrap_err();
    assert_eq!(err(""), UlidError::Length(0));
    assert_eq!(err("01ARZ3NDEKTSV4RRFFQ69G5FA"), UlidError::Length(25));
    assert_eq!(err("01ARZ3NDEKTSV4RRFFQ69G5FAVV"), UlidError::Length(27));
    // I, L, O and U are not in the alphabet, in either case.
    for bad in ['I', 'L', 'O', 'U', 'i', 'l', 'o', 'u', '-', 'é', ' '] {
        let s = format!("01ARZ3NDEKTSV4RRFFQ69G5FA{bad}");
        assert_eq!(err(&s), UlidError::Character(bad), "{s}");
    }
    assert_eq!(err("8ZZZZZZZZZZZZZZZZZZZZZZZZZ"), UlidError::Overflow);
    // The message does not repeat the input.
    let msg = err("@alice:example.org").to_string();
    assert!(!msg.contains("alice"), "{msg}");
    assert_eq!(msg, "a MAS ID is 26 characters long, not 18");

    // Serde: a string, normalised on the way in.
    let u: Ulid = serde_json::from_str("\"01arz3ndektsv4rrffq69g5fav\"").unwrap();
    assert_eq!(
        serde_json::to_string(&u).unwrap(),
        "\"01ARZ3NDEKTSV4RRFFQ69G5FAV\""
    );
    assert!(serde_json::from_str::<Ulid>("\"nope\"").is_err());
    assert!(serde_json::from_str::<Ulid>("42").is_err());
}

#[test]
fn metric_labels_fold_ids_and_names() {
    let cases = [
        (
            "/api/admin/v1/users/01ARZ3NDEKTSV4RRFFQ69G5FAV/set-password",
            "/api/admin/v1/users/{}/set-password",
        ),
        (
            "/api/admin/v1/users/by-username/alice",
            "/api/admin/v1/users/by-username/{}",
        ),
        (
            "/api/admin/v1/users/by-username/%40weird",
            "/api/admin/v1/users/by-username/{}",
        ),
        (
            "/api/admin/v1/oauth2-sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV/finish",
            "/api/admin/v1/oauth2-sessions/{}/finish",
        ),
        (
            "/api/admin/v1/user-registration-tokens/01ARZ3NDEKTSV4RRFFQ69G5FAV/revoke",
            "/api/admin/v1/user-registration-tokens/{}/revoke",
        ),
        ("/api/admin/v1/site-config", "/api/admin/v1/site-config"),
        ("/oauth2/token", "/oauth2/token"),
        ("/auth/api/admin/v1/users", "/auth/api/admin/v1/users"),
        ("/Prefix/api/admin/v1/users", "/{}/api/admin/v1/users"),
    ];
    for (p, want) in cases {
        assert_eq!(endpoint_label(p), want, "{p}");
    }
}

#[tokio::test]
async fn metrics_record_labels_not_names_or_tokens() {
    let server = mas_with_token().await;
    Mock::given(method("GET"))
        .and(path("/api/admin/v1/users/by-username/zorglub-metrics"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": user_json(USER_ID, "zorglub-metrics")})),
        )
        .mount(&server)
        .await;
    client_for(&server)
        .send(&GetUserByUsername {
            username: "zorglub-metrics".into(),
        })
        .await
        .unwrap();
    let text = crate::metrics::get().render(&[], 0);
    assert!(
        text.contains("endpoint=\"/api/admin/v1/users/by-username/{}\""),
        "{text}"
    );
    assert!(text.contains("endpoint=\"/oauth2/token\""), "{text}");
    assert!(!text.contains("zorglub"), "{text}");
    assert_no_secret(&text);
}

#[test]
fn token_errors_map_in_one_place() {
    // The client's token failures come from error.rs; spot-check the one it is built on.
    let e = error::map_token_error_response(400, br#"{"error":"invalid_client"}"#, "h", None);
    assert!(matches!(
        e,
        AdminError::MasCredentials {
            problem: MasCredentialProblem::InvalidClient,
            status: 400,
            ..
        }
    ));
}
