//! Tests of the Admin API client against a mock homeserver: paths, retries, errors, secrecy.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use matrix_sdk::ruma::RoomOrAliasId;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::media::{DeleteLocalMediaBefore, QuarantineMedia};
use super::rooms::{DeleteRoom, RoomDetails};
use super::server::{ResolveRoomAlias, ServerVersion};
use super::users::{DeactivateUser, ListUsers, QueryUser, UpsertUser, UpsertUserBody};
use super::*;

const TOKEN: &str = "syt_c2VjcmV0_TOPSECRETTOKEN_1a2b3c";

fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_total_wait: Duration::from_secs(2),
    }
}

fn client_for(server: &MockServer) -> AdminClient {
    let url = Url::parse(&server.uri()).unwrap();
    AdminClient::new(url, TOKEN.to_owned())
        .unwrap()
        .with_retry_policy(fast_policy())
}

fn assert_no_secret(e: &AdminError) {
    let shown = format!("{e} / {e:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
    assert!(!shown.contains("TOPSECRET"), "token leaked: {shown}");
    assert!(!e.to_string().contains('\n'), "multi-line: {e}");
}

#[test]
fn segments_are_percent_encoded() {
    assert_eq!(encode_segment("@a:b"), "%40a%3Ab");
    assert_eq!(encode_segment("!r:s"), "%21r%3As");
    assert_eq!(encode_segment("#alias:s"), "%23alias%3As");
    assert_eq!(encode_segment("a/b?c"), "a%2Fb%3Fc");
    assert_eq!(encode_segment("é"), "%C3%A9");
    // Dot segments must not climb the path: `mxc://../delete` is not `POST /v1/media/delete`.
    assert_eq!(encode_segment(".."), "%2E%2E");
    assert_eq!(encode_segment("."), "%2E");
    assert_eq!(encode_segment("a..b"), "a..b");
    assert_eq!(encode_segment("AZaz09-._~"), "AZaz09-._~");
    // Every ASCII character inside a segment: unreserved ones kept, all others escaped with
    // upper-case hex.
    for b in 0u8..128 {
        let c = char::from(b);
        let want = if c.is_ascii_alphanumeric() || "-._~".contains(c) {
            c.to_string()
        } else {
            format!("%{b:02X}")
        };
        assert_eq!(
            encode_segment(&format!("a{c}")),
            format!("a{want}"),
            "byte {b:#04x}"
        );
    }

    let ep = QueryUser {
        user_id: "@a:b".into(),
    };
    assert_eq!(ep.path(), "/_synapse/admin/v2/users/%40a%3Ab");
    assert_eq!(
        ResolveRoomAlias {
            alias: "#alias:s".into()
        }
        .path(),
        "/_matrix/client/v3/directory/room/%23alias%3As"
    );
}

#[test]
fn patient_policy_backoff_sequence() {
    let p = RetryPolicy::patient();
    assert_eq!(p.max_attempts, 9);
    let waits: Vec<Duration> = (1..p.max_attempts).map(|a| p.backoff(a)).collect();
    let want: Vec<Duration> = [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        .into_iter()
        .map(Duration::from_millis)
        .collect();
    assert_eq!(waits, want);
    // All eight waits fit in the total budget, so a restart of up to ~90 s is ridden out.
    let total: Duration = waits.iter().sum();
    assert_eq!(total, Duration::from_millis(91_500));
    assert!(total <= p.max_total_wait);
    assert_eq!(p.max_total_wait, Duration::from_secs(120));
    // Far attempts stay capped instead of overflowing.
    assert_eq!(p.backoff(40), Duration::from_secs(30));
}

#[test]
fn url_keeps_prefix_and_encoding() {
    let client = AdminClient::new(
        Url::parse("https://hs.example/matrix/?x=1#frag").unwrap(),
        TOKEN.to_owned(),
    )
    .unwrap();
    let url = client.url_for(&RoomDetails {
        room_id: "!r:s".into(),
    });
    assert_eq!(
        url.as_str(),
        "https://hs.example/matrix/_synapse/admin/v1/rooms/%21r%3As"
    );
    let url = client.url_for(&DeleteLocalMediaBefore {
        before_ts: 1_700_000_000_000,
        size_gt: Some(1024),
        keep_profiles: false,
    });
    assert_eq!(
        url.as_str(),
        "https://hs.example/matrix/_synapse/admin/v1/media/delete?before_ts=1700000000000&size_gt=1024&keep_profiles=false"
    );
}

#[test]
fn debug_never_shows_token() {
    let client =
        AdminClient::new(Url::parse("https://hs.example").unwrap(), TOKEN.to_owned()).unwrap();
    let dbg = format!("{client:?}");
    assert!(!dbg.contains(TOKEN));
    assert!(dbg.contains("redacted"));
    assert!(dbg.contains("hs.example"));
}

#[test]
fn bad_config_is_rejected_without_echoing_token() {
    let e = AdminClient::new(
        Url::parse("https://hs.example").unwrap(),
        "bad\ntoken TOPSECRET".to_owned(),
    )
    .unwrap_err();
    assert_no_secret(&e);
    let e = AdminClient::new(Url::parse("mailto:a@b").unwrap(), TOKEN.to_owned()).unwrap_err();
    assert!(matches!(e, AdminError::InvalidConfig { .. }));
    let e =
        AdminClient::new(Url::parse("https://hs.example").unwrap(), "  ".to_owned()).unwrap_err();
    assert!(matches!(e, AdminError::InvalidConfig { .. }));
}

#[tokio::test]
async fn sends_token_and_encoded_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v2/users/%40a%3Ab"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "@a:b", "admin": 1, "creation_ts": 1560432506
        })))
        .expect(1)
        .mount(&server)
        .await;
    let user = client_for(&server)
        .send(&QueryUser {
            user_id: "@a:b".into(),
        })
        .await
        .unwrap();
    assert_eq!(user.name, "@a:b");
    assert!(user.admin);
}

#[tokio::test]
async fn rate_limit_honours_retry_after_ms_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v1/server_version"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 50
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v1/server_version"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"server_version": "1.163.2"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let start = Instant::now();
    let v = client_for(&server).send(&ServerVersion).await.unwrap();
    assert_eq!(v.server_version, "1.163.2");
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "did not wait retry_after_ms"
    );
}

#[tokio::test]
async fn rate_limited_write_is_retried_too() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_synapse/admin/v1/deactivate/%40a%3Ab"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests"}))
                .insert_header("Retry-After", "0"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/_synapse/admin/v1/deactivate/%40a%3Ab"))
        .and(body_json(json!({"erase": true})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id_server_unbind_result": "success"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let r = client_for(&server)
        .send(&DeactivateUser {
            user_id: "@a:b".into(),
            erase: true,
        })
        .await
        .unwrap();
    assert_eq!(r.id_server_unbind_result.as_deref(), Some("success"));
}

#[tokio::test]
async fn rate_limit_gives_up_when_wait_too_long() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({
            "errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 600_000
        })))
        .expect(1)
        .mount(&server)
        .await;
    let e = client_for(&server).send(&ServerVersion).await.unwrap_err();
    assert_eq!(
        e,
        AdminError::RateLimited {
            service: Service::Synapse,
            retry_after_ms: Some(600_000)
        }
    );
    assert_no_secret(&e);
}

#[tokio::test]
async fn a_huge_retry_after_gives_up_without_overflow() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_string("not json")
                .insert_header("Retry-After", "18446744073709551615"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let e = client_for(&server).send(&ServerVersion).await.unwrap_err();
    assert!(matches!(e, AdminError::RateLimited { .. }), "{e:?}");
}

#[tokio::test]
async fn write_getting_502_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/_synapse/admin/v2/rooms/%21r%3As"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let e = client_for(&server)
        .send(&DeleteRoom::new("!r:s"))
        .await
        .unwrap_err();
    assert!(matches!(e, AdminError::Unreachable { .. }), "{e:?}");
    assert_no_secret(&e);
    // `expect(1)` is verified when `server` drops.
}

#[tokio::test]
async fn read_getting_503_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v1/rooms/%21r%3As"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v1/rooms/%21r%3As"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "room_id": "!r:s", "name": "R", "joined_members": 3
        })))
        .expect(1)
        .mount(&server)
        .await;
    let room = client_for(&server)
        .send(&RoomDetails {
            room_id: "!r:s".into(),
        })
        .await
        .unwrap();
    assert_eq!(room.joined_members, 3);
}

#[tokio::test]
async fn read_retries_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(504))
        .expect(4)
        .mount(&server)
        .await;
    let e = client_for(&server).send(&ServerVersion).await.unwrap_err();
    assert!(matches!(e, AdminError::Unreachable { .. }), "{e:?}");
}

#[tokio::test]
async fn upsert_reports_created_vs_updated_and_sends_body() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/_synapse/admin/v2/users/%40new%3As"))
        .and(body_json(json!({"displayname": "New", "admin": false})))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"name": "@new:s", "displayname": "New"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let out = client_for(&server)
        .send(&UpsertUser {
            user_id: "@new:s".into(),
            body: UpsertUserBody {
                displayname: Some("New".into()),
                admin: Some(false),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    assert!(out.created);
    assert_eq!(out.user.displayname.as_deref(), Some("New"));
}

#[tokio::test]
async fn upsert_of_existing_account_reports_not_created() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/_synapse/admin/v2/users/%40old%3As"))
        .and(body_json(json!({"locked": true})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"name": "@old:s", "locked": true, "admin": 0})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let out = client_for(&server)
        .send(&UpsertUser {
            user_id: "@old:s".into(),
            body: UpsertUserBody {
                locked: Some(true),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    assert!(!out.created);
    assert_eq!(out.user.name, "@old:s");
    assert!(out.user.locked);
}

#[tokio::test]
async fn upsert_getting_503_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/_synapse/admin/v2/users/%40new%3As"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/_synapse/admin/v2/users/%40new%3As"))
        .and(body_json(json!({"displayname": "New"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "@new:s"})))
        .expect(1)
        .mount(&server)
        .await;
    let out = client_for(&server)
        .send(&UpsertUser {
            user_id: "@new:s".into(),
            body: UpsertUserBody {
                displayname: Some("New".into()),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    assert!(!out.created);
}

#[tokio::test]
async fn post_without_body_sends_empty_object() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_synapse/admin/v1/media/quarantine/s.org/abc%2Fdef"))
        .and(body_json(json!({})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    client_for(&server)
        .send(&QuarantineMedia {
            server_name: "s.org".into(),
            media_id: "abc/def".into(),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn query_parameters_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/_synapse/admin/v1/media/delete"))
        .and(query_param("before_ts", "1700000000000"))
        .and(query_param("keep_profiles", "true"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"deleted_media": ["a"], "total": 1})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let r = client_for(&server)
        .send(&DeleteLocalMediaBefore {
            before_ts: 1_700_000_000_000,
            size_gt: None,
            keep_profiles: true,
        })
        .await
        .unwrap();
    assert_eq!(r.total, 1);
}

#[tokio::test]
async fn errors_map_and_never_leak_the_token() {
    let server = MockServer::start().await;
    let cases = [
        (
            "/_synapse/admin/v2/users/%40gone%3As",
            ResponseTemplate::new(404)
                .set_body_json(json!({"errcode": "M_NOT_FOUND", "error": "User not found"})),
        ),
        (
            "/_synapse/admin/v2/users/%40forbidden%3As",
            ResponseTemplate::new(403).set_body_json(
                json!({"errcode": "M_FORBIDDEN", "error": "You are not a server admin"}),
            ),
        ),
        (
            "/_synapse/admin/v2/users/%40token%3As",
            ResponseTemplate::new(401).set_body_json(
                json!({"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token passed."}),
            ),
        ),
        (
            "/_synapse/admin/v2/users/%40remote%3Aelsewhere",
            ResponseTemplate::new(400).set_body_json(
                json!({"errcode": "M_UNKNOWN", "error": "Can only look up local users"}),
            ),
        ),
        (
            "/_synapse/admin/v2/users/%40html%3As",
            ResponseTemplate::new(500).set_body_string("<html>Internal Server Error</html>"),
        ),
        (
            "/_synapse/admin/v2/users/%40garbage%3As",
            ResponseTemplate::new(200).set_body_string("{\"name\": 42}"),
        ),
        (
            "/_synapse/admin/v2/users/%40redirect%3As",
            ResponseTemplate::new(301).insert_header("Location", "https://elsewhere.example/"),
        ),
    ];
    for (p, resp) in cases {
        Mock::given(method("GET"))
            .and(path(p))
            .respond_with(resp)
            .mount(&server)
            .await;
    }
    let client = client_for(&server);
    let get = |u: &str| {
        let client = client.clone();
        let ep = QueryUser { user_id: u.into() };
        async move { client.send(&ep).await.unwrap_err() }
    };

    let e = get("@gone:s").await;
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "user @gone:s does not exist");
    assert_no_secret(&e);

    let e = get("@forbidden:s").await;
    assert_eq!(e.to_string(), "the bot's account is not a server admin");
    assert_no_secret(&e);

    let e = get("@token:s").await;
    assert!(matches!(e, AdminError::Unauthorized { .. }));
    assert_no_secret(&e);

    let e = get("@remote:elsewhere").await;
    assert_eq!(e.errcode(), Some("M_UNKNOWN"));
    assert!(e.to_string().contains("Can only look up local users"));
    assert_no_secret(&e);

    let e = get("@html:s").await;
    assert!(matches!(
        e,
        AdminError::UnexpectedResponse { status: 500, .. }
    ));
    assert_no_secret(&e);

    let e = get("@garbage:s").await;
    assert!(
        matches!(e, AdminError::UnexpectedResponse { status: 200, .. }),
        "{e:?}"
    );
    assert_no_secret(&e);

    let e = get("@redirect:s").await;
    assert!(matches!(
        e,
        AdminError::UnexpectedResponse { status: 301, .. }
    ));
    assert_no_secret(&e);
}

#[tokio::test]
async fn unreachable_homeserver() {
    // Bind then drop a listener: connecting to its port is refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = Url::parse(&format!("http://127.0.0.1:{port}/?access_token={TOKEN}")).unwrap();
    let client = AdminClient::new(url, TOKEN.to_owned())
        .unwrap()
        .with_retry_policy(fast_policy());
    let e = client.send(&ServerVersion).await.unwrap_err();
    match &e {
        AdminError::Unreachable {
            service,
            host,
            reason,
        } => {
            assert_eq!(*service, Service::Synapse);
            assert_eq!(host, &format!("127.0.0.1:{port}"));
            assert!(reason.starts_with("connection failed"), "{reason}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(e.to_string().contains("could not be reached"));
    assert!(!e.to_string().contains("access_token"));
    assert_no_secret(&e);
}

// ---------------------------------------------------------------------------------------------
// Multi-request helpers (paging.rs)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn all_users_follows_next_token_page_by_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v2/users"))
        .and(query_param_is_missing("from"))
        .and(query_param("limit", "2"))
        .and(query_param("deactivated", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [{"name": "@a:s"}, {"name": "@b:s"}], "next_token": "2", "total": 3
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v2/users"))
        .and(query_param("from", "2"))
        .and(query_param("limit", "2"))
        .and(query_param("deactivated", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [{"name": "@c:s"}], "total": 3
        })))
        .expect(2)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let query = ListUsers {
        limit: 2,
        deactivated: true,
        ..ListUsers::default()
    };
    let pages: Vec<_> = client.all_users(query.clone()).try_collect().await.unwrap();
    let names: Vec<Vec<&str>> = pages
        .iter()
        .map(|p| p.users.iter().map(|u| u.name.as_str()).collect())
        .collect();
    assert_eq!(names, vec![vec!["@a:s", "@b:s"], vec!["@c:s"]]);

    // The caller's `from` is where the stream starts.
    let pages: Vec<_> = client
        .all_users(ListUsers {
            from: Some("2".into()),
            ..query
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].users[0].name, "@c:s");
}

#[tokio::test]
async fn all_users_stops_at_an_empty_token_and_yields_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v2/users"))
        .and(query_param_is_missing("from"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [{"name": "@a:s"}], "next_token": "", "total": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let pages: Vec<_> = client
        .all_users(ListUsers::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);

    let e = client
        .all_users(ListUsers {
            from: Some("9".into()),
            ..ListUsers::default()
        })
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(e, AdminError::UnexpectedResponse { status: 404, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn all_user_media_pages_until_an_empty_page() {
    let server = MockServer::start().await;
    let media_path = "/_synapse/admin/v1/users/%40u%3As/media";
    let page = |from: &str, ids: &[&str], next: u64| {
        let media: Vec<_> = ids
            .iter()
            .map(|id| json!({"media_id": id, "media_length": 10}))
            .collect();
        Mock::given(method("GET"))
            .and(path(media_path))
            .and(query_param("from", from))
            .and(query_param("limit", "500"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "media": media, "next_token": next, "total": 3
            })))
            .expect(1)
    };
    page("0", &["m1", "m2"], 2).mount(&server).await;
    page("2", &["m3"], 3).mount(&server).await;
    // An empty page still carrying a token ends the listing.
    page("3", &[], 3).mount(&server).await;
    let media = client_for(&server).all_user_media("@u:s").await.unwrap();
    let ids: Vec<&str> = media.iter().map(|m| m.media_id.as_str()).collect();
    assert_eq!(ids, ["m1", "m2", "m3"]);
}

#[tokio::test]
async fn all_user_media_stops_without_next_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v1/users/%40u%3As/media"))
        .and(query_param("from", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "media": [{"media_id": "m1"}], "total": 1
        })))
        .expect(1)
        .mount(&server)
        .await;
    let media = client_for(&server).all_user_media("@u:s").await.unwrap();
    assert_eq!(media.len(), 1);
}

/// Mounts `GET /_synapse/admin/v2/users/<id>`: 200 when `exists`, else 404 `M_NOT_FOUND`.
async fn mount_user(server: &MockServer, encoded_id: &str, exists: bool) {
    let resp = if exists {
        ResponseTemplate::new(200).set_body_json(json!({"name": "x"}))
    } else {
        ResponseTemplate::new(404)
            .set_body_json(json!({"errcode": "M_NOT_FOUND", "error": "User not found"}))
    };
    Mock::given(method("GET"))
        .and(path(format!("/_synapse/admin/v2/users/{encoded_id}")))
        .respond_with(resp)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn user_existence_404_is_absent_200_is_present() {
    let server = MockServer::start().await;
    mount_user(&server, "%40here%3As", true).await;
    mount_user(&server, "%40gone%3As", false).await;
    let client = client_for(&server);
    assert!(client.user_exists("@here:s").await.unwrap());
    assert!(!client.user_exists("@gone:s").await.unwrap());
}

#[tokio::test]
async fn existing_users_checks_each_and_returns_other_errors() {
    let server = MockServer::start().await;
    mount_user(&server, "%40a%3As", true).await;
    mount_user(&server, "%40b%3As", false).await;
    mount_user(&server, "%40c%3As", true).await;
    let client = client_for(&server);
    let ids = ["@a:s", "@b:s", "@c:s"].map(String::from).to_vec();
    let found = client.existing_users(ids).await.unwrap();
    let want: std::collections::HashSet<String> =
        ["@a:s", "@c:s"].into_iter().map(String::from).collect();
    assert_eq!(found, want);
    assert!(client.existing_users(Vec::new()).await.unwrap().is_empty());

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_synapse/admin/v2/users/%40x%3As"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"errcode": "M_FORBIDDEN", "error": "You are not a server admin"}),
        ))
        .mount(&server)
        .await;
    let e = client_for(&server)
        .existing_users(vec!["@x:s".into()])
        .await
        .unwrap_err();
    assert!(matches!(e, AdminError::Forbidden { .. }), "{e:?}");
}

#[tokio::test]
async fn resolve_room_id_as_is_and_alias_via_directory() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/_matrix/client/v3/directory/room/%23good%3As"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "room_id": "!r:s", "servers": ["s"]
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/_matrix/client/v3/directory/room/%23bad%3As"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"room_id": "nonsense"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/_matrix/client/v3/directory/room/%23missing%3As"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"errcode": "M_NOT_FOUND", "error": "Room alias not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server);
    let room = |s: &'static str| <&RoomOrAliasId>::try_from(s).unwrap();

    // An ID needs no request (any request to it would fail: nothing is mounted for it).
    assert_eq!(client.resolve_room(room("!id:s")).await.unwrap(), "!id:s");
    assert_eq!(client.resolve_room(room("#good:s")).await.unwrap(), "!r:s");
    let e = client.resolve_room(room("#bad:s")).await.unwrap_err();
    assert!(
        matches!(&e, AdminError::UnexpectedResponse { status: 200, reason, .. } if reason.contains("#bad:s")),
        "{e:?}"
    );
    let e = client.resolve_room(room("#missing:s")).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}
