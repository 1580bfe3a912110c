//! Contract test: MAS's documented answers, decoded by the types the client uses.
//!
//! Every JSON document below is copied verbatim from the `example` of a response in MAS's
//! OpenAPI description of its admin API (`/api/spec.json`, element-hq/matrix-authentication-service
//! `docs/api/spec.json`): MAS's documented examples, for every endpoint this client has, success
//! and error answers alike. Each case goes through [`answer`], which decodes the way
//! [`MasClient::send`](super::MasClient::send) does (the endpoint's `decode` for a 2xx, the one
//! error mapping otherwise); running the same cases against a live MAS stand-in only needs
//! another `answer`.

use chrono::{TimeZone as _, Utc};
use reqwest::StatusCode;

use super::emails::{AddUserEmail, ListUpstreamOAuthLinks, ListUserEmails};
use super::sessions::{
    FinishCompatSession, FinishOAuth2Session, FinishUserSession, GetOAuth2Client,
    ListCompatSessions, ListOAuth2Sessions, ListUserSessions,
};
use super::site::{GetSiteConfig, GetVersion};
use super::tokens::{AddRegistrationToken, ListRegistrationTokens, RevokeRegistrationToken};
use super::users::{
    CreateUser, DeactivateUser, GetUserByUsername, ListUsers, LockUser, ReactivateUser, SetAdmin,
    SetPassword, UnlockUser,
};
use super::{Endpoint, Ulid};
use crate::admin_api::AdminError;
use crate::admin_api::error::{self, Service};

/// The answer `example` with `status` would give through the client.
fn answer<E: Endpoint>(ep: &E, status: u16, example: &str) -> Result<E::Response, AdminError> {
    if (200..300).contains(&status) {
        let code = StatusCode::from_u16(status).expect("a status code");
        Ok(ep
            .decode(code, example.as_bytes())
            .unwrap_or_else(|e| panic!("{} ({status}) does not decode: {e}", ep.path())))
    } else {
        Err(error::map_error_response(
            Service::Mas,
            status,
            example.as_bytes(),
            &ep.subject(),
            "mas.example",
            None,
        ))
    }
}

/// A successful answer.
fn ok<E: Endpoint>(ep: &E, status: u16, example: &str) -> E::Response {
    answer(ep, status, example).unwrap_or_else(|e| panic!("{}: {e}", ep.path()))
}

/// An error answer, as its one-line message.
fn err<E: Endpoint>(ep: &E, status: u16, example: &str) -> AdminError {
    match answer(ep, status, example) {
        Ok(_) => panic!("{} ({status}) decoded as a success", ep.path()),
        Err(e) => {
            assert!(!e.to_string().contains('\n'));
            e
        }
    }
}

fn id(s: &str) -> Ulid {
    s.parse().expect("a ULID")
}

fn epoch() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(0, 0).single().expect("the epoch")
}

const ZERO: &str = "00000000000000000000000000";
const ID_1: &str = "01040G2081040G2081040G2081";
const ID_2: &str = "02081040G2081040G2081040G2";
const ID_3: &str = "030C1G60R30C1G60R30C1G60R3";
const ID_4: &str = "040G2081040G2081040G208104";
const ID_5: &str = "050M2GA1850M2GA1850M2GA185";
const ID_6: &str = "060R30C1G60R30C1G60R30C1G6";

#[test]
fn site_config_and_version() {
    let site = ok(&GetSiteConfig, 200, SITE_CONFIG_200);
    assert_eq!(site.server_name, "example.com");
    assert_eq!(site.minimum_password_complexity, 3);
    assert!(site.password_login_enabled);
    assert!(site.password_registration_token_required);
    assert!(site.captcha_enabled);
    assert_eq!(ok(&GetVersion, 200, VERSION_200).version, "v1.0.0");
}

#[test]
fn users() {
    let page = ok(&ListUsers::default(), 200, LIST_USERS_200);
    assert_eq!(page.count(), Some(42));
    assert!(page.has_next());
    assert_eq!(page.last_id(), Some(id(ID_3)));
    let names: Vec<&str> = page
        .data
        .iter()
        .map(|r| r.attributes.username.as_str())
        .collect();
    assert_eq!(names, ["alice", "bob", "charlie"]);
    assert!(page.data[1].attributes.admin);
    let charlie = &page.data[2].attributes;
    assert_eq!(charlie.locked_at, Some(epoch()));
    assert!(charlie.legacy_guest);
    assert_eq!(charlie.deactivated_at, None);

    let ep = GetUserByUsername {
        username: "alice".into(),
    };
    assert_eq!(ok(&ep, 200, GET_USER_BY_USERNAME_200).data.id, id(ID_1));
    let e = err(&ep, 404, GET_USER_BY_USERNAME_404);
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "MAS user alice does not exist");

    let ep = CreateUser {
        username: "alice".into(),
        displayname: None,
        avatar_url: None,
        skip_homeserver_check: false,
    };
    assert_eq!(
        ok(&ep, 201, CREATE_USER_201).data.attributes.username,
        "alice"
    );
    assert_eq!(
        err(&ep, 400, CREATE_USER_400).to_string(),
        "MAS refused the request: Username is not valid (HTTP 400)"
    );
    let e = err(&ep, 409, CREATE_USER_409);
    assert!(e.is_conflict());
    assert_eq!(
        e.to_string(),
        "MAS refused the request: Username is reserved by the homeserver (HTTP 409)"
    );

    let ep = SetPassword {
        id: id(ID_1),
        password: zeroize::Zeroizing::new("hunter2".to_owned()),
        skip_check: false,
    };
    // 204 No Content.
    ok(&ep, 204, "");
    assert_eq!(
        err(&ep, 400, SET_USER_PASSWORD_400).to_string(),
        "MAS refused the request: Password is too weak (HTTP 400)"
    );
    let e = err(&ep, 403, SET_USER_PASSWORD_403);
    assert!(e.is_forbidden());
    assert_eq!(e.to_string(), "MAS refused: Password auth is disabled");

    let bob = ok(
        &SetAdmin {
            id: id(ID_2),
            admin: true,
        },
        200,
        USER_SET_ADMIN_200,
    );
    assert_eq!(bob.data.id, id(ID_2));
    assert!(bob.data.attributes.admin);

    let locked = ok(&LockUser { id: id(ID_3) }, 200, LOCK_USER_200);
    assert_eq!(locked.data.attributes.locked_at, Some(epoch()));
    let unlocked = ok(&UnlockUser { id: id(ID_1) }, 200, UNLOCK_USER_200);
    assert_eq!(unlocked.data.attributes.locked_at, None);
    let ep = DeactivateUser {
        id: id(ID_3),
        skip_erase: false,
    };
    assert_eq!(
        ok(&ep, 200, DEACTIVATE_USER_200).data.attributes.username,
        "charlie"
    );
    let reactivated = ok(&ReactivateUser { id: id(ID_1) }, 200, REACTIVATE_USER_200);
    assert_eq!(reactivated.data.attributes.deactivated_at, None);
}

#[test]
fn sessions() {
    let page = ok(
        &ListCompatSessions::default(),
        200,
        LIST_COMPAT_SESSIONS_200,
    );
    assert_eq!(page.count(), Some(42));
    assert_eq!(page.data.len(), 3);
    assert_eq!(page.last_id(), Some(id(ID_3)));
    assert!(page.has_next());
    let first = &page.data[0].attributes;
    assert_eq!(first.user_id, id(ID_1));
    assert_eq!(first.device_id.as_deref(), Some("AABBCCDDEE"));
    assert_eq!(
        first.user_session_id,
        Some(id("0H248H248H248H248H248H248H"))
    );
    assert_eq!(first.last_active_ip.as_deref(), Some("1.2.3.4"));
    assert_eq!(first.human_name.as_deref(), Some("Laptop"));
    assert_eq!(first.finished_at, None);
    assert_eq!(page.data[1].attributes.finished_at, Some(epoch()));
    assert_eq!(page.data[2].attributes.device_id, None);

    let ep = FinishCompatSession { id: id(ID_2) };
    let finished = ok(&ep, 200, FINISH_COMPAT_SESSION_200);
    assert_eq!(finished.data.id, id(ID_2));
    assert_eq!(finished.data.attributes.finished_at, Some(epoch()));
    let e = err(
        &FinishCompatSession { id: id(ZERO) },
        400,
        FINISH_COMPAT_SESSION_400,
    );
    assert!(e.is_already_finished(), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("MAS compatibility session {ZERO} is already finished")
    );
    let e = err(
        &FinishCompatSession { id: id(ZERO) },
        404,
        FINISH_COMPAT_SESSION_404,
    );
    assert!(e.is_not_found());
    assert!(!e.is_already_finished());

    let ep = ListOAuth2Sessions::default();
    let page = ok(&ep, 200, LIST_OAUTH2_SESSIONS_200);
    assert_eq!(page.data.len(), 3);
    let first = &page.data[0].attributes;
    assert_eq!(first.user_id, Some(id(ID_2)));
    assert_eq!(first.client_id, id(ID_4));
    assert_eq!(first.scope, "openid");
    // A client-credentials session has no user.
    assert_eq!(page.data[1].attributes.user_id, None);
    assert_eq!(page.data[1].attributes.scope, "urn:mas:admin");
    assert_eq!(page.data[2].attributes.finished_at, Some(epoch()));
    assert_eq!(
        err(&ep, 400, LIST_OAUTH2_SESSIONS_400).to_string(),
        "MAS refused the request: Invalid scope \"not a valid scope\" in filter parameters \
         (HTTP 400)"
    );

    let finished = ok(
        &FinishOAuth2Session { id: id(ID_3) },
        200,
        FINISH_OAUTH2_SESSION_200,
    );
    assert_eq!(finished.data.attributes.client_id, id(ID_6));
    assert_eq!(finished.data.attributes.user_session_id, Some(id(ID_5)));
    let e = err(
        &FinishOAuth2Session { id: id(ZERO) },
        400,
        FINISH_OAUTH2_SESSION_400,
    );
    assert!(e.is_already_finished(), "{e:?}");

    let page = ok(&ListUserSessions::default(), 200, LIST_USER_SESSIONS_200);
    assert_eq!(page.data.len(), 3);
    assert_eq!(page.data[0].attributes.user_id, id(ID_2));
    assert_eq!(
        page.data[0].attributes.user_agent.as_deref(),
        Some("Mozilla/5.0")
    );
    assert_eq!(page.data[1].attributes.last_active_at, None);
    let finished = ok(
        &FinishUserSession { id: id(ID_3) },
        200,
        FINISH_USER_SESSION_200,
    );
    assert_eq!(finished.data.attributes.user_id, id(ID_4));
    let e = err(
        &FinishUserSession { id: id(ZERO) },
        400,
        FINISH_USER_SESSION_400,
    );
    assert!(e.is_already_finished(), "{e:?}");

    let ep = GetOAuth2Client { id: id(ID_1) };
    let client = ok(&ep, 200, GET_OAUTH2_CLIENT_200);
    assert_eq!(
        client.data.attributes.client_name.as_deref(),
        Some("Example dynamic client")
    );
    assert_eq!(client.data.attributes.client_id, ID_1);
    assert_eq!(
        client.data.attributes.grant_types,
        ["authorization_code", "refresh_token"]
    );
    assert!(!client.data.attributes.is_static);
    let e = err(
        &GetOAuth2Client { id: id(ZERO) },
        404,
        GET_OAUTH2_CLIENT_404,
    );
    assert!(e.is_not_found());
    assert_eq!(
        e.to_string(),
        format!("MAS OAuth 2.0 client {ZERO} does not exist")
    );
}

#[test]
fn emails_and_upstream_links() {
    let ep = ListUserEmails {
        user: Some(id(ID_2)),
        ..ListUserEmails::default()
    };
    let page = ok(&ep, 200, LIST_USER_EMAILS_200);
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].attributes.email, "alice@example.com");
    assert_eq!(page.data[0].attributes.user_id, id(ID_2));
    assert!(page.has_next());

    let ep = AddUserEmail {
        user_id: id(ID_2),
        email: "alice@example.com".into(),
    };
    let added = ok(&ep, 201, ADD_USER_EMAIL_201);
    assert_eq!(added.data.id, id(ID_1));
    assert_eq!(added.data.attributes.email, "alice@example.com");
    let e = err(&ep, 409, ADD_USER_EMAIL_409);
    assert!(e.is_conflict());
    assert_eq!(
        e.to_string(),
        "MAS refused the request: User email \"alice@example.com\" already in use (HTTP 409)"
    );
    assert_eq!(
        err(&ep, 400, ADD_USER_EMAIL_400).to_string(),
        "MAS refused the request: Email \"not a valid email\" is not valid; Missing domain or \
         user (HTTP 400)"
    );

    let page = ok(
        &ListUpstreamOAuthLinks::default(),
        200,
        LIST_UPSTREAM_OAUTH_LINKS_200,
    );
    assert_eq!(page.data.len(), 3);
    let first = &page.data[0].attributes;
    assert_eq!(first.provider_id, id(ID_2));
    assert_eq!(first.subject, "john-42");
    assert_eq!(first.user_id, Some(id(ID_3)));
    assert_eq!(
        first.human_account_name.as_deref(),
        Some("john.doe@example.com")
    );
    assert_eq!(page.data[1].attributes.user_id, None);
}

#[test]
fn registration_tokens() {
    let page = ok(
        &ListRegistrationTokens::default(),
        200,
        LIST_USER_REGISTRATION_TOKENS_200,
    );
    assert_eq!(page.data.len(), 2);
    let first = &page.data[0].attributes;
    assert_eq!(first.token, "abc123def456");
    assert!(first.valid);
    assert_eq!(first.usage_limit, Some(10));
    assert_eq!(first.times_used, 5);
    assert_eq!(
        first.expires_at,
        Some(Utc.with_ymd_and_hms(1970, 1, 31, 0, 0, 0).unwrap())
    );
    let second = &page.data[1].attributes;
    assert!(!second.valid);
    assert_eq!(second.usage_limit, None);
    assert_eq!(second.revoked_at, Some(epoch()));

    let added = ok(
        &AddRegistrationToken::default(),
        201,
        ADD_USER_REGISTRATION_TOKEN_201,
    );
    assert_eq!(added.data.attributes.token, "abc123def456");
    let revoked = ok(
        &RevokeRegistrationToken { id: id(ID_2) },
        200,
        REVOKE_USER_REGISTRATION_TOKEN_200,
    );
    assert_eq!(revoked.data.attributes.revoked_at, Some(epoch()));
    let e = err(
        &RevokeRegistrationToken { id: id(ZERO) },
        400,
        REVOKE_USER_REGISTRATION_TOKEN_400,
    );
    assert!(e.is_already_revoked(), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("MAS registration token {ZERO} is already revoked")
    );
}

// ---------------------------------------------------------------------------------------------
// MAS's documented examples (docs/api/spec.json), verbatim.
// ---------------------------------------------------------------------------------------------

/// `GET /api/admin/v1/site-config`, 200.
const SITE_CONFIG_200: &str = r#"{
  "server_name": "example.com",
  "password_login_enabled": true,
  "password_registration_enabled": true,
  "password_registration_email_required": true,
  "password_registration_token_required": true,
  "registration_token_required": true,
  "email_change_allowed": true,
  "displayname_change_allowed": true,
  "password_change_allowed": true,
  "account_recovery_allowed": true,
  "account_deactivation_allowed": true,
  "captcha_enabled": true,
  "minimum_password_complexity": 3
}"#;

/// `GET /api/admin/v1/version`, 200.
const VERSION_200: &str = r#"{
  "version": "v1.0.0"
}"#;

/// `GET /api/admin/v1/users`, 200.
const LIST_USERS_200: &str = r#"{
  "meta": {
    "count": 42
  },
  "data": [
    {
      "type": "user",
      "id": "01040G2081040G2081040G2081",
      "attributes": {
        "username": "alice",
        "created_at": "1970-01-01T00:00:00Z",
        "locked_at": null,
        "deactivated_at": null,
        "admin": false,
        "legacy_guest": false
      },
      "links": {
        "self": "/api/admin/v1/users/01040G2081040G2081040G2081"
      },
      "meta": {
        "page": {
          "cursor": "01040G2081040G2081040G2081"
        }
      }
    },
    {
      "type": "user",
      "id": "02081040G2081040G2081040G2",
      "attributes": {
        "username": "bob",
        "created_at": "1970-01-01T00:00:00Z",
        "locked_at": null,
        "deactivated_at": null,
        "admin": true,
        "legacy_guest": false
      },
      "links": {
        "self": "/api/admin/v1/users/02081040G2081040G2081040G2"
      },
      "meta": {
        "page": {
          "cursor": "02081040G2081040G2081040G2"
        }
      }
    },
    {
      "type": "user",
      "id": "030C1G60R30C1G60R30C1G60R3",
      "attributes": {
        "username": "charlie",
        "created_at": "1970-01-01T00:00:00Z",
        "locked_at": "1970-01-01T00:00:00Z",
        "deactivated_at": null,
        "admin": false,
        "legacy_guest": true
      },
      "links": {
        "self": "/api/admin/v1/users/030C1G60R30C1G60R30C1G60R3"
      },
      "meta": {
        "page": {
          "cursor": "030C1G60R30C1G60R30C1G60R3"
        }
      }
    }
  ],
  "links": {
    "self": "/api/admin/v1/users?page[first]=3",
    "first": "/api/admin/v1/users?page[first]=3",
    "last": "/api/admin/v1/users?page[last]=3",
    "next": "/api/admin/v1/users?page[after]=030C1G60R30C1G60R30C1G60R3&page[first]=3"
  }
}"#;

/// `GET /api/admin/v1/users/by-username/{username}`, 200.
const GET_USER_BY_USERNAME_200: &str = r#"{
  "data": {
    "type": "user",
    "id": "01040G2081040G2081040G2081",
    "attributes": {
      "username": "alice",
      "created_at": "1970-01-01T00:00:00Z",
      "locked_at": null,
      "deactivated_at": null,
      "admin": false,
      "legacy_guest": false
    },
    "links": {
      "self": "/api/admin/v1/users/01040G2081040G2081040G2081"
    }
  },
  "links": {
    "self": "/api/admin/v1/users/by-username/alice"
  }
}"#;

/// `GET /api/admin/v1/users/by-username/{username}`, 404.
const GET_USER_BY_USERNAME_404: &str = r#"{
  "errors": [
    {
      "title": "User with username \"alice\" not found"
    }
  ]
}"#;

/// `POST /api/admin/v1/users`, 201.
const CREATE_USER_201: &str = r#"{
  "data": {
    "type": "user",
    "id": "01040G2081040G2081040G2081",
    "attributes": {
      "username": "alice",
      "created_at": "1970-01-01T00:00:00Z",
      "locked_at": null,
      "deactivated_at": null,
      "admin": false,
      "legacy_guest": false
    },
    "links": {
      "self": "/api/admin/v1/users/01040G2081040G2081040G2081"
    }
  },
  "links": {
    "self": "/api/admin/v1/users/01040G2081040G2081040G2081"
  }
}"#;

/// `POST /api/admin/v1/users`, 400.
const CREATE_USER_400: &str = r#"{
  "errors": [
    {
      "title": "Username is not valid"
    }
  ]
}"#;

/// `POST /api/admin/v1/users`, 409.
const CREATE_USER_409: &str = r#"{
  "errors": [
    {
      "title": "Username is reserved by the homeserver"
    }
  ]
}"#;

/// `POST /api/admin/v1/users/{id}/set-password`, 400.
const SET_USER_PASSWORD_400: &str = r#"{
  "errors": [
    {
      "title": "Password is too weak"
    }
  ]
}"#;

/// `POST /api/admin/v1/users/{id}/set-password`, 403.
const SET_USER_PASSWORD_403: &str = r#"{
  "errors": [
    {
      "title": "Password auth is disabled"
    }
  ]
}"#;

/// `POST /api/admin/v1/users/{id}/set-admin`, 200.
const USER_SET_ADMIN_200: &str = r#"{
  "data": {
    "type": "user",
    "id": "02081040G2081040G2081040G2",
    "attributes": {
      "username": "bob",
      "created_at": "1970-01-01T00:00:00Z",
      "locked_at": null,
      "deactivated_at": null,
      "admin": true,
      "legacy_guest": false
    },
    "links": {
      "self": "/api/admin/v1/users/02081040G2081040G2081040G2"
    }
  },
  "links": {
    "self": "/api/admin/v1/users/02081040G2081040G2081040G2/set-admin"
  }
}"#;

/// `POST /api/admin/v1/users/{id}/lock`, 200.
const LOCK_USER_200: &str = r#"{
  "data": {
    "type": "user",
    "id": "030C1G60R30C1G60R30C1G60R3",
    "attributes": {
      "username": "charlie",
      "created_at": "1970-01-01T00:00:00Z",
      "locked_at": "1970-01-01T00:00:00Z",
      "deactivated_at": null,
      "admin": false,
      "legacy_guest": true
    },
    "links": {
      "self": "/api/admin/v1/users/030C1G60R30C1G60R30C1G60R3"
    }
  },
  "links": {
    "self": "/api/admin/v1/users/030C1G60R30C1G60R30C1G60R3/lock"
  }
}"#;

/// `POST /api/admin/v1/users/{id}/unlock`, 200.
const UNLOCK_USER_200: &str = r#"{
  "data": {
    "type": "user",
    "id": "01040G2081040G2081040G2081",
    "attributes": {
      "username": "alice",
      "created_at": "1970-01-01T00:00:00Z",
      "locked_at": null,
      "deactivated_at": null,
      "admin": false,
      "legacy_guest": false
    },
    "links": {
      "self": "/api/admin/v1/users/01040G2081040G2081040G2081"
    }
  },
  "links": {
    "self": "/api/admin/v1/users/01040G2081040G2081040G2081/unlock"
  }
}"#;

/// `POST /api/admin/v1/users/{id}/deactivate`, 200.
const DEACTIVATE_USER_200: &str = r#"{
  "data": {
    "type": "user",
    "id": "030C1G60R30C1G60R30C1G60R3",
    "attributes": {
      "username": "charlie",
      "created_at": "1970-01-01T00:00:00Z",
      "locked_at": "1970-01-01T00:00:00Z",
      "deactivated_at": null,
      "admin": false,
      "legacy_guest": true
    },
    "links": {
      "self": "/api/admin/v1/users/030C1G60R30C1G60R30C1G60R3"
    }
  },
  "links": {
    "self": "/api/admin/v1/users/030C1G60R30C1G60R30C1G60R3/deactivate"
  }
}"#;

/// `POST /api/admin/v1/users/{id}/reactivate`, 200.
const REACTIVATE_USER_200: &str = r#"{
  "data": {
    "type": "user",
    "id": "01040G2081040G2081040G2081",
    "attributes": {
      "username": "alice",
      "created_at": "1970-01-01T00:00:00Z",
      "locked_at": null,
      "deactivated_at": null,
      "admin": false,
      "legacy_guest": false
    },
    "links": {
      "self": "/api/admin/v1/users/01040G2081040G2081040G2081"
    }
  },
  "links": {
    "self": "/api/admin/v1/users/01040G2081040G2081040G2081/reactivate"
  }
}"#;

/// `GET /api/admin/v1/compat-sessions`, 200.
const LIST_COMPAT_SESSIONS_200: &str = r#"{
  "meta": {
    "count": 42
  },
  "data": [
    {
      "type": "compat-session",
      "id": "01040G2081040G2081040G2081",
      "attributes": {
        "user_id": "01040G2081040G2081040G2081",
        "device_id": "AABBCCDDEE",
        "user_session_id": "0H248H248H248H248H248H248H",
        "redirect_uri": "https://example.com/redirect",
        "created_at": "1970-01-01T00:00:00Z",
        "user_agent": "Mozilla/5.0",
        "last_active_at": "1970-01-01T00:00:00Z",
        "last_active_ip": "1.2.3.4",
        "finished_at": null,
        "human_name": "Laptop"
      },
      "links": {
        "self": "/api/admin/v1/compat-sessions/01040G2081040G2081040G2081"
      },
      "meta": {
        "page": {
          "cursor": "01040G2081040G2081040G2081"
        }
      }
    },
    {
      "type": "compat-session",
      "id": "02081040G2081040G2081040G2",
      "attributes": {
        "user_id": "01040G2081040G2081040G2081",
        "device_id": "FFGGHHIIJJ",
        "user_session_id": "0J289144GJ289144GJ289144GJ",
        "redirect_uri": null,
        "created_at": "1970-01-01T00:00:00Z",
        "user_agent": "Mozilla/5.0",
        "last_active_at": "1970-01-01T00:00:00Z",
        "last_active_ip": "1.2.3.4",
        "finished_at": "1970-01-01T00:00:00Z",
        "human_name": null
      },
      "links": {
        "self": "/api/admin/v1/compat-sessions/02081040G2081040G2081040G2"
      },
      "meta": {
        "page": {
          "cursor": "02081040G2081040G2081040G2"
        }
      }
    },
    {
      "type": "compat-session",
      "id": "030C1G60R30C1G60R30C1G60R3",
      "attributes": {
        "user_id": "01040G2081040G2081040G2081",
        "device_id": null,
        "user_session_id": null,
        "redirect_uri": null,
        "created_at": "1970-01-01T00:00:00Z",
        "user_agent": null,
        "last_active_at": null,
        "last_active_ip": null,
        "finished_at": null,
        "human_name": null
      },
      "links": {
        "self": "/api/admin/v1/compat-sessions/030C1G60R30C1G60R30C1G60R3"
      },
      "meta": {
        "page": {
          "cursor": "030C1G60R30C1G60R30C1G60R3"
        }
      }
    }
  ],
  "links": {
    "self": "/api/admin/v1/compat-sessions?page[first]=3",
    "first": "/api/admin/v1/compat-sessions?page[first]=3",
    "last": "/api/admin/v1/compat-sessions?page[last]=3",
    "next": "/api/admin/v1/compat-sessions?page[after]=030C1G60R30C1G60R30C1G60R3&page[first]=3"
  }
}"#;

/// `POST /api/admin/v1/compat-sessions/{id}/finish`, 200.
const FINISH_COMPAT_SESSION_200: &str = r#"{
  "data": {
    "type": "compat-session",
    "id": "02081040G2081040G2081040G2",
    "attributes": {
      "user_id": "01040G2081040G2081040G2081",
      "device_id": "FFGGHHIIJJ",
      "user_session_id": "0J289144GJ289144GJ289144GJ",
      "redirect_uri": null,
      "created_at": "1970-01-01T00:00:00Z",
      "user_agent": "Mozilla/5.0",
      "last_active_at": "1970-01-01T00:00:00Z",
      "last_active_ip": "1.2.3.4",
      "finished_at": "1970-01-01T00:00:00Z",
      "human_name": null
    },
    "links": {
      "self": "/api/admin/v1/compat-sessions/02081040G2081040G2081040G2"
    }
  },
  "links": {
    "self": "/api/admin/v1/compat-sessions/02081040G2081040G2081040G2/finish"
  }
}"#;

/// `POST /api/admin/v1/compat-sessions/{id}/finish`, 400.
const FINISH_COMPAT_SESSION_400: &str = r#"{
  "errors": [
    {
      "title": "Compatibility session with ID 00000000000000000000000000 is already finished"
    }
  ]
}"#;

/// `POST /api/admin/v1/compat-sessions/{id}/finish`, 404.
const FINISH_COMPAT_SESSION_404: &str = r#"{
  "errors": [
    {
      "title": "Compatibility session with ID 00000000000000000000000000 not found"
    }
  ]
}"#;

/// `GET /api/admin/v1/oauth2-sessions`, 200.
const LIST_OAUTH2_SESSIONS_200: &str = r#"{
  "meta": {
    "count": 42
  },
  "data": [
    {
      "type": "oauth2-session",
      "id": "01040G2081040G2081040G2081",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "finished_at": null,
        "user_id": "02081040G2081040G2081040G2",
        "user_session_id": "030C1G60R30C1G60R30C1G60R3",
        "client_id": "040G2081040G2081040G208104",
        "scope": "openid",
        "user_agent": "Mozilla/5.0",
        "last_active_at": "1970-01-01T00:00:00Z",
        "last_active_ip": "127.0.0.1",
        "human_name": "Laptop"
      },
      "links": {
        "self": "/api/admin/v1/oauth2-sessions/01040G2081040G2081040G2081"
      },
      "meta": {
        "page": {
          "cursor": "01040G2081040G2081040G2081"
        }
      }
    },
    {
      "type": "oauth2-session",
      "id": "02081040G2081040G2081040G2",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "finished_at": null,
        "user_id": null,
        "user_session_id": null,
        "client_id": "050M2GA1850M2GA1850M2GA185",
        "scope": "urn:mas:admin",
        "user_agent": null,
        "last_active_at": null,
        "last_active_ip": null,
        "human_name": null
      },
      "links": {
        "self": "/api/admin/v1/oauth2-sessions/02081040G2081040G2081040G2"
      },
      "meta": {
        "page": {
          "cursor": "02081040G2081040G2081040G2"
        }
      }
    },
    {
      "type": "oauth2-session",
      "id": "030C1G60R30C1G60R30C1G60R3",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "finished_at": "1970-01-01T00:00:00Z",
        "user_id": "040G2081040G2081040G208104",
        "user_session_id": "050M2GA1850M2GA1850M2GA185",
        "client_id": "060R30C1G60R30C1G60R30C1G6",
        "scope": "urn:matrix:client:api:*",
        "user_agent": "Mozilla/5.0",
        "last_active_at": "1970-01-01T00:00:00Z",
        "last_active_ip": "127.0.0.1",
        "human_name": null
      },
      "links": {
        "self": "/api/admin/v1/oauth2-sessions/030C1G60R30C1G60R30C1G60R3"
      },
      "meta": {
        "page": {
          "cursor": "030C1G60R30C1G60R30C1G60R3"
        }
      }
    }
  ],
  "links": {
    "self": "/api/admin/v1/oauth2-sessions?page[first]=3",
    "first": "/api/admin/v1/oauth2-sessions?page[first]=3",
    "last": "/api/admin/v1/oauth2-sessions?page[last]=3",
    "next": "/api/admin/v1/oauth2-sessions?page[after]=030C1G60R30C1G60R30C1G60R3&page[first]=3"
  }
}"#;

/// `GET /api/admin/v1/oauth2-sessions`, 400.
const LIST_OAUTH2_SESSIONS_400: &str = r#"{
  "errors": [
    {
      "title": "Invalid scope \"not a valid scope\" in filter parameters"
    }
  ]
}"#;

/// `POST /api/admin/v1/oauth2-sessions/{id}/finish`, 200.
const FINISH_OAUTH2_SESSION_200: &str = r#"{
  "data": {
    "type": "oauth2-session",
    "id": "030C1G60R30C1G60R30C1G60R3",
    "attributes": {
      "created_at": "1970-01-01T00:00:00Z",
      "finished_at": "1970-01-01T00:00:00Z",
      "user_id": "040G2081040G2081040G208104",
      "user_session_id": "050M2GA1850M2GA1850M2GA185",
      "client_id": "060R30C1G60R30C1G60R30C1G6",
      "scope": "urn:matrix:client:api:*",
      "user_agent": "Mozilla/5.0",
      "last_active_at": "1970-01-01T00:00:00Z",
      "last_active_ip": "127.0.0.1",
      "human_name": null
    },
    "links": {
      "self": "/api/admin/v1/oauth2-sessions/030C1G60R30C1G60R30C1G60R3"
    }
  },
  "links": {
    "self": "/api/admin/v1/oauth2-sessions/030C1G60R30C1G60R30C1G60R3/finish"
  }
}"#;

/// `POST /api/admin/v1/oauth2-sessions/{id}/finish`, 400.
const FINISH_OAUTH2_SESSION_400: &str = r#"{
  "errors": [
    {
      "title": "OAuth 2.0 session with ID 00000000000000000000000000 is already finished"
    }
  ]
}"#;

/// `GET /api/admin/v1/user-sessions`, 200.
const LIST_USER_SESSIONS_200: &str = r#"{
  "meta": {
    "count": 42
  },
  "data": [
    {
      "type": "user-session",
      "id": "01040G2081040G2081040G2081",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "finished_at": null,
        "user_id": "02081040G2081040G2081040G2",
        "user_agent": "Mozilla/5.0",
        "last_active_at": "1970-01-01T00:00:00Z",
        "last_active_ip": "127.0.0.1"
      },
      "links": {
        "self": "/api/admin/v1/user-sessions/01040G2081040G2081040G2081"
      },
      "meta": {
        "page": {
          "cursor": "01040G2081040G2081040G2081"
        }
      }
    },
    {
      "type": "user-session",
      "id": "02081040G2081040G2081040G2",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "finished_at": null,
        "user_id": "030C1G60R30C1G60R30C1G60R3",
        "user_agent": null,
        "last_active_at": null,
        "last_active_ip": null
      },
      "links": {
        "self": "/api/admin/v1/user-sessions/02081040G2081040G2081040G2"
      },
      "meta": {
        "page": {
          "cursor": "02081040G2081040G2081040G2"
        }
      }
    },
    {
      "type": "user-session",
      "id": "030C1G60R30C1G60R30C1G60R3",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "finished_at": "1970-01-01T00:00:00Z",
        "user_id": "040G2081040G2081040G208104",
        "user_agent": "Mozilla/5.0",
        "last_active_at": "1970-01-01T00:00:00Z",
        "last_active_ip": "127.0.0.1"
      },
      "links": {
        "self": "/api/admin/v1/user-sessions/030C1G60R30C1G60R30C1G60R3"
      },
      "meta": {
        "page": {
          "cursor": "030C1G60R30C1G60R30C1G60R3"
        }
      }
    }
  ],
  "links": {
    "self": "/api/admin/v1/user-sessions?page[first]=3",
    "first": "/api/admin/v1/user-sessions?page[first]=3",
    "last": "/api/admin/v1/user-sessions?page[last]=3",
    "next": "/api/admin/v1/user-sessions?page[after]=030C1G60R30C1G60R30C1G60R3&page[first]=3"
  }
}"#;

/// `POST /api/admin/v1/user-sessions/{id}/finish`, 200.
const FINISH_USER_SESSION_200: &str = r#"{
  "data": {
    "type": "user-session",
    "id": "030C1G60R30C1G60R30C1G60R3",
    "attributes": {
      "created_at": "1970-01-01T00:00:00Z",
      "finished_at": "1970-01-01T00:00:00Z",
      "user_id": "040G2081040G2081040G208104",
      "user_agent": "Mozilla/5.0",
      "last_active_at": "1970-01-01T00:00:00Z",
      "last_active_ip": "127.0.0.1"
    },
    "links": {
      "self": "/api/admin/v1/user-sessions/030C1G60R30C1G60R30C1G60R3"
    }
  },
  "links": {
    "self": "/api/admin/v1/user-sessions/030C1G60R30C1G60R30C1G60R3/finish"
  }
}"#;

/// `POST /api/admin/v1/user-sessions/{id}/finish`, 400.
const FINISH_USER_SESSION_400: &str = r#"{
  "errors": [
    {
      "title": "User session with ID 00000000000000000000000000 is already finished"
    }
  ]
}"#;

/// `GET /api/admin/v1/oauth2-clients/{id}`, 200.
const GET_OAUTH2_CLIENT_200: &str = r#"{
  "data": {
    "type": "oauth2-client",
    "id": "01040G2081040G2081040G2081",
    "attributes": {
      "client_id": "01040G2081040G2081040G2081",
      "client_name": "Example dynamic client",
      "client_uri": "https://example.com/",
      "logo_uri": "https://example.com/logo.png",
      "redirect_uris": [
        "https://example.com/oauth/callback"
      ],
      "grant_types": [
        "authorization_code",
        "refresh_token"
      ],
      "is_static": false
    },
    "links": {
      "self": "/api/admin/v1/oauth2-clients/01040G2081040G2081040G2081"
    }
  },
  "links": {
    "self": "/api/admin/v1/oauth2-clients/01040G2081040G2081040G2081"
  }
}"#;

/// `GET /api/admin/v1/oauth2-clients/{id}`, 404.
const GET_OAUTH2_CLIENT_404: &str = r#"{
  "errors": [
    {
      "title": "OAuth 2.0 client ID 00000000000000000000000000 not found"
    }
  ]
}"#;

/// `GET /api/admin/v1/user-emails`, 200.
const LIST_USER_EMAILS_200: &str = r#"{
  "meta": {
    "count": 42
  },
  "data": [
    {
      "type": "user-email",
      "id": "01040G2081040G2081040G2081",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "user_id": "02081040G2081040G2081040G2",
        "email": "alice@example.com"
      },
      "links": {
        "self": "/api/admin/v1/user-emails/01040G2081040G2081040G2081"
      },
      "meta": {
        "page": {
          "cursor": "01040G2081040G2081040G2081"
        }
      }
    }
  ],
  "links": {
    "self": "/api/admin/v1/user-emails?page[first]=1",
    "first": "/api/admin/v1/user-emails?page[first]=1",
    "last": "/api/admin/v1/user-emails?page[last]=1",
    "next": "/api/admin/v1/user-emails?page[after]=01040G2081040G2081040G2081&page[first]=1"
  }
}"#;

/// `POST /api/admin/v1/user-emails`, 201.
const ADD_USER_EMAIL_201: &str = r#"{
  "data": {
    "type": "user-email",
    "id": "01040G2081040G2081040G2081",
    "attributes": {
      "created_at": "1970-01-01T00:00:00Z",
      "user_id": "02081040G2081040G2081040G2",
      "email": "alice@example.com"
    },
    "links": {
      "self": "/api/admin/v1/user-emails/01040G2081040G2081040G2081"
    }
  },
  "links": {
    "self": "/api/admin/v1/user-emails/01040G2081040G2081040G2081"
  }
}"#;

/// `POST /api/admin/v1/user-emails`, 409.
const ADD_USER_EMAIL_409: &str = r#"{
  "errors": [
    {
      "title": "User email \"alice@example.com\" already in use"
    }
  ]
}"#;

/// `POST /api/admin/v1/user-emails`, 400.
const ADD_USER_EMAIL_400: &str = r#"{
  "errors": [
    {
      "title": "Email \"not a valid email\" is not valid"
    },
    {
      "title": "Missing domain or user"
    }
  ]
}"#;

/// `GET /api/admin/v1/upstream-oauth-links`, 200.
const LIST_UPSTREAM_OAUTH_LINKS_200: &str = r#"{
  "meta": {
    "count": 42
  },
  "data": [
    {
      "type": "upstream-oauth-link",
      "id": "01040G2081040G2081040G2081",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "provider_id": "02081040G2081040G2081040G2",
        "subject": "john-42",
        "user_id": "030C1G60R30C1G60R30C1G60R3",
        "human_account_name": "john.doe@example.com"
      },
      "links": {
        "self": "/api/admin/v1/upstream-oauth-links/01040G2081040G2081040G2081"
      },
      "meta": {
        "page": {
          "cursor": "01040G2081040G2081040G2081"
        }
      }
    },
    {
      "type": "upstream-oauth-link",
      "id": "02081040G2081040G2081040G2",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "provider_id": "030C1G60R30C1G60R30C1G60R3",
        "subject": "jane-123",
        "user_id": null,
        "human_account_name": null
      },
      "links": {
        "self": "/api/admin/v1/upstream-oauth-links/02081040G2081040G2081040G2"
      },
      "meta": {
        "page": {
          "cursor": "02081040G2081040G2081040G2"
        }
      }
    },
    {
      "type": "upstream-oauth-link",
      "id": "030C1G60R30C1G60R30C1G60R3",
      "attributes": {
        "created_at": "1970-01-01T00:00:00Z",
        "provider_id": "040G2081040G2081040G208104",
        "subject": "bob@social.example.com",
        "user_id": "050M2GA1850M2GA1850M2GA185",
        "human_account_name": "bob"
      },
      "links": {
        "self": "/api/admin/v1/upstream-oauth-links/030C1G60R30C1G60R30C1G60R3"
      },
      "meta": {
        "page": {
          "cursor": "030C1G60R30C1G60R30C1G60R3"
        }
      }
    }
  ],
  "links": {
    "self": "/api/admin/v1/upstream-oauth-links?page[first]=3",
    "first": "/api/admin/v1/upstream-oauth-links?page[first]=3",
    "last": "/api/admin/v1/upstream-oauth-links?page[last]=3",
    "next": "/api/admin/v1/upstream-oauth-links?page[after]=030C1G60R30C1G60R30C1G60R3&page[first]=3"
  }
}"#;

/// `GET /api/admin/v1/user-registration-tokens`, 200.
const LIST_USER_REGISTRATION_TOKENS_200: &str = r#"{
  "meta": {
    "count": 42
  },
  "data": [
    {
      "type": "user-registration_token",
      "id": "01040G2081040G2081040G2081",
      "attributes": {
        "token": "abc123def456",
        "valid": true,
        "usage_limit": 10,
        "times_used": 5,
        "created_at": "1970-01-01T00:00:00Z",
        "last_used_at": "1970-01-01T00:00:00Z",
        "expires_at": "1970-01-31T00:00:00Z",
        "revoked_at": null
      },
      "links": {
        "self": "/api/admin/v1/user-registration-tokens/01040G2081040G2081040G2081"
      },
      "meta": {
        "page": {
          "cursor": "01040G2081040G2081040G2081"
        }
      }
    },
    {
      "type": "user-registration_token",
      "id": "02081040G2081040G2081040G2",
      "attributes": {
        "token": "xyz789abc012",
        "valid": false,
        "usage_limit": null,
        "times_used": 0,
        "created_at": "1970-01-01T00:00:00Z",
        "last_used_at": null,
        "expires_at": null,
        "revoked_at": "1970-01-01T00:00:00Z"
      },
      "links": {
        "self": "/api/admin/v1/user-registration-tokens/02081040G2081040G2081040G2"
      },
      "meta": {
        "page": {
          "cursor": "02081040G2081040G2081040G2"
        }
      }
    }
  ],
  "links": {
    "self": "/api/admin/v1/user-registration-tokens?page[first]=2",
    "first": "/api/admin/v1/user-registration-tokens?page[first]=2",
    "last": "/api/admin/v1/user-registration-tokens?page[last]=2",
    "next": "/api/admin/v1/user-registration-tokens?page[after]=02081040G2081040G2081040G2&page[first]=2"
  }
}"#;

/// `POST /api/admin/v1/user-registration-tokens`, 201.
const ADD_USER_REGISTRATION_TOKEN_201: &str = r#"{
  "data": {
    "type": "user-registration_token",
    "id": "01040G2081040G2081040G2081",
    "attributes": {
      "token": "abc123def456",
      "valid": true,
      "usage_limit": 10,
      "times_used": 5,
      "created_at": "1970-01-01T00:00:00Z",
      "last_used_at": "1970-01-01T00:00:00Z",
      "expires_at": "1970-01-31T00:00:00Z",
      "revoked_at": null
    },
    "links": {
      "self": "/api/admin/v1/user-registration-tokens/01040G2081040G2081040G2081"
    }
  },
  "links": {
    "self": "/api/admin/v1/user-registration-tokens/01040G2081040G2081040G2081"
  }
}"#;

/// `POST /api/admin/v1/user-registration-tokens/{id}/revoke`, 200.
const REVOKE_USER_REGISTRATION_TOKEN_200: &str = r#"{
  "data": {
    "type": "user-registration_token",
    "id": "02081040G2081040G2081040G2",
    "attributes": {
      "token": "xyz789abc012",
      "valid": false,
      "usage_limit": null,
      "times_used": 0,
      "created_at": "1970-01-01T00:00:00Z",
      "last_used_at": null,
      "expires_at": null,
      "revoked_at": "1970-01-01T00:00:00Z"
    },
    "links": {
      "self": "/api/admin/v1/user-registration-tokens/02081040G2081040G2081040G2"
    }
  },
  "links": {
    "self": "/api/admin/v1/user-registration-tokens/02081040G2081040G2081040G2/revoke"
  }
}"#;

/// `POST /api/admin/v1/user-registration-tokens/{id}/revoke`, 400.
const REVOKE_USER_REGISTRATION_TOKEN_400: &str = r#"{
  "errors": [
    {
      "title": "Registration token with ID 00000000000000000000000000 is already revoked"
    }
  ]
}"#;
